//! Locates the host Python 3 interpreter and runs it with failures made loud.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Environment variable naming the interpreter to use instead of `python3` on `PATH`.
pub const PYTHON_ENV: &str = "WAGON_TEST_PYTHON";

/// Executable names tried on `PATH`, in order.
#[cfg(windows)]
const CANDIDATES: &[&str] = &["python3.exe", "python.exe"];
#[cfg(not(windows))]
const CANDIDATES: &[&str] = &["python3"];

/// The host Python 3 interpreter: `$WAGON_TEST_PYTHON` if set, else `python3` on `PATH`.
///
/// # Panics
///
/// When neither exists: Wagon's tests must fail, never skip, without Python.
pub fn python3() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(explicit) = env::var_os(PYTHON_ENV).filter(|v| !v.is_empty()) {
                return PathBuf::from(explicit);
            }
            find_on_path(env::var_os("PATH").as_deref(), CANDIDATES).unwrap_or_else(|| {
                panic!(
                    "Wagon's tests need a Python 3 interpreter: install python3 or set {PYTHON_ENV}"
                )
            })
        })
        .clone()
}

/// The first of `names` found as a file in one of the `path` directories.
fn find_on_path(path: Option<&OsStr>, names: &[&str]) -> Option<PathBuf> {
    let dirs: Vec<PathBuf> = env::split_paths(path?).collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs `python` with `args` and returns its output.
///
/// # Panics
///
/// When the interpreter cannot start or exits non-zero; the panic shows its stdout and stderr.
pub fn run_python(python: &Path, args: &[&str]) -> Output {
    run_checked(Command::new(python).args(args))
}

/// Runs `command` to completion and returns its output.
///
/// pip's version self-check is switched off because it hits the network and
/// clutters stderr, and pip is told never to prompt, since tests have no terminal.
///
/// # Panics
///
/// When the command cannot start or exits non-zero; the panic shows its stdout and stderr.
pub fn run_checked(command: &mut Command) -> Output {
    let output = run_unchecked(command);
    if !output.status.success() {
        panic!("{}", describe_failure(command, &output));
    }
    output
}

/// Like [`run_checked`] but hands back a failing command's output instead of panicking.
///
/// # Panics
///
/// Only when the command cannot be started at all.
pub fn run_unchecked(command: &mut Command) -> Output {
    command
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"))
}

/// A report of a failed command with everything it printed.
pub fn describe_failure(command: &Command, output: &Output) -> String {
    format!(
        "{command:?} failed with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// Stdout of a command as trimmed UTF-8 text.
pub fn stdout_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_python_is_python_3() {
        let out = run_python(
            &python3(),
            &["-c", "import sys; print(sys.version_info[0])"],
        );
        assert_eq!(stdout_text(&out), "3");
    }

    #[test]
    fn path_search_finds_only_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("python3"), b"").unwrap();
        let path = env::join_paths([Path::new("/nonexistent-wagon-dir"), dir.path()]).unwrap();
        assert_eq!(
            find_on_path(Some(&path), &["missing", "python3"]),
            Some(dir.path().join("python3"))
        );
        assert_eq!(find_on_path(Some(&path), &["missing"]), None);
        assert_eq!(find_on_path(None, &["python3"]), None);
    }

    #[test]
    #[should_panic(expected = "--- stderr ---\nboom")]
    fn failures_show_their_output() {
        run_python(
            &python3(),
            &["-c", "import sys; sys.stderr.write('boom'); sys.exit(2)"],
        );
    }
}
