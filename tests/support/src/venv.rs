//! Throwaway Python virtual environments to install into and inspect.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::python::{python3, run_checked, run_unchecked, stdout_text};

/// A virtual environment created by the host interpreter's `venv` module.
///
/// Creating one without pip takes about a tenth of a second, so that is what most
/// tests should use; [`Venv::pip_install_host`] still installs into it by pointing
/// the host's pip at it.
pub struct Venv {
    root: PathBuf,
    /// Keeps the environment's temporary directory alive; `None` when the caller owns the path.
    _dir: Option<TempDir>,
}

impl Venv {
    /// Creates a venv in a fresh temporary directory, deleted when the `Venv` drops.
    pub fn new(with_pip: bool) -> Venv {
        let dir = tempfile::Builder::new()
            .prefix("wagon-venv-")
            .tempdir()
            .expect("cannot create a temporary directory for a venv");
        let root = dir.path().to_path_buf();
        create(&root, with_pip);
        Venv {
            root,
            _dir: Some(dir),
        }
    }

    /// Creates a venv at `path`, which the caller owns and cleans up.
    pub fn at(path: impl Into<PathBuf>, with_pip: bool) -> Venv {
        let root = path.into();
        create(&root, with_pip);
        Venv { root, _dir: None }
    }

    /// The environment's directory (`sys.prefix`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory holding the interpreter and installed scripts.
    pub fn bin_dir(&self) -> PathBuf {
        if cfg!(windows) {
            self.root.join("Scripts")
        } else {
            self.root.join("bin")
        }
    }

    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.bin_dir().join(exe("python"))
    }

    /// Path a console script called `name` gets when installed here.
    pub fn script(&self, name: &str) -> PathBuf {
        self.bin_dir().join(exe(name))
    }

    /// The directory pure-Python packages install into, as the interpreter reports it.
    pub fn site_packages(&self) -> PathBuf {
        let out = self.run(&[
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]);
        PathBuf::from(stdout_text(&out))
    }

    /// Runs the environment's interpreter with `args`.
    ///
    /// # Panics
    ///
    /// When it exits non-zero; the panic shows its stdout and stderr.
    pub fn run(&self, args: &[&str]) -> Output {
        run_checked(Command::new(self.python()).args(args))
    }

    /// Runs the environment's interpreter with `args`, whatever its exit status.
    pub fn try_run(&self, args: &[&str]) -> Output {
        run_unchecked(Command::new(self.python()).args(args))
    }

    /// Whether `module` imports in this environment.
    pub fn can_import(&self, module: &str) -> bool {
        self.try_run(&[
            "-c",
            "import importlib, sys; importlib.import_module(sys.argv[1])",
            module,
        ])
        .status
        .success()
    }

    /// Version of the installed distribution `dist_name`, or `None` when it is not installed.
    pub fn installed(&self, dist_name: &str) -> Option<String> {
        // Exit code 3 means "not installed", so any other failure still panics.
        const SCRIPT: &str = "import sys, importlib.metadata as m\n\
            try:\n    print(m.version(sys.argv[1]))\n\
            except m.PackageNotFoundError:\n    sys.exit(3)\n";
        let mut command = Command::new(self.python());
        command.args(["-c", SCRIPT, dist_name]);
        let out = run_unchecked(&mut command);
        match out.status.code() {
            Some(0) => Some(stdout_text(&out)),
            Some(3) => None,
            _ => panic!("{}", crate::python::describe_failure(&command, &out)),
        }
    }

    /// Runs `python3 -m pip --python <this venv> install <args...>` with the host's pip.
    ///
    /// This populates environments created without pip.
    ///
    /// # Panics
    ///
    /// When pip fails; the panic shows its output.
    pub fn pip_install_host(&self, args: &[&str]) -> Output {
        let mut full = vec!["install"];
        full.extend_from_slice(args);
        self.pip_host(&full)
    }

    /// Runs `python3 -m pip --python <this venv> <args...>` with the host's pip, for any
    /// pip subcommand (`list`, `uninstall -y`, ...).
    ///
    /// # Panics
    ///
    /// When pip fails; the panic shows its output.
    pub fn pip_host(&self, args: &[&str]) -> Output {
        run_checked(
            Command::new(python3())
                .args(["-m", "pip", "--python"])
                .arg(self.python())
                .args(args),
        )
    }
}

fn create(root: &Path, with_pip: bool) {
    let mut command = Command::new(python3());
    command.args(["-m", "venv"]);
    if !with_pip {
        command.arg("--without-pip");
    }
    run_checked(command.arg(root));
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venv_without_pip_is_isolated_and_usable() {
        let venv = Venv::new(false);
        assert!(venv.python().is_file());
        let prefix = stdout_text(&venv.run(&["-c", "import sys; print(sys.prefix)"]));
        assert_eq!(
            Path::new(&prefix).canonicalize().unwrap(),
            venv.root().canonicalize().unwrap()
        );
        assert!(venv.site_packages().starts_with(&prefix));
        assert!(venv.site_packages().is_dir());
        assert!(venv.can_import("json"));
        assert!(!venv.can_import("pip"));
        assert!(!venv.can_import("no_such_module_wagon"));
        assert_eq!(venv.installed("pip"), None);
        assert!(
            !venv
                .try_run(&["-c", "raise SystemExit(4)"])
                .status
                .success()
        );
    }

    #[test]
    fn venv_at_caller_path_survives_drop() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("env");
        drop(Venv::at(&root, false));
        assert!(root.join("pyvenv.cfg").is_file());
    }
}
