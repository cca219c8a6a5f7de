//! The unpack installer: Wagon installs wheels itself, so a target needs only a Python
//! interpreter — no pip, no network.
//!
//! It follows the binary distribution format and the recording-installed-projects spec: it
//! checks `Wheel-Version`, verifies every file against the wheel's RECORD while unpacking, places
//! files by `Root-Is-Purelib` and the `.data/{purelib,platlib,headers,scripts,data}` schemes,
//! rewrites `#!python` shebangs, generates `console_scripts`/`gui_scripts` launchers exactly as pip
//! does, and writes `INSTALLER`, `REQUESTED` and a RECORD of what was really installed.
//!
//! Installs are all or nothing (the `transaction` module): wheels unpack, on all cores, into a
//! staging folder inside site-packages, and only when every one has unpacked and verified are
//! they renamed into place (a folder the environment lacks in one rename, files one by one into
//! existing folders) — older versions moved aside, and everything put back on any error. A lock
//! file in the environment serialises concurrent installs.

mod commit;
mod compile;
mod env_lock;
mod faults;
mod installed;
mod journal;
mod launcher;
mod layout;
mod plan;
mod pool;
mod recovery;
mod rollback;
mod staging;
#[cfg(test)]
mod testing;
mod transaction;
mod unpack;

use std::path::PathBuf;

use wagon_core::path_error::PathIoError;
use wagon_core::plugin::{InstallOutcome, InstallRequest, Installer, InstallerError};

pub use layout::Layout;

/// Installs by unpacking wheels directly.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unpack;

const NAME: &str = "unpack";

impl Installer for Unpack {
    fn name(&self) -> &str {
        NAME
    }

    fn install(&self, request: &InstallRequest<'_>) -> Result<InstallOutcome, InstallerError> {
        let fail = |message: String| InstallerError::Failed {
            installer: NAME.to_string(),
            python: request.target.python.display().to_string(),
            message,
        };
        let layout = Layout::of(request.target).map_err(|e| fail(e.to_string()))?;
        let wheels: Vec<(PathBuf, bool)> = request
            .plan
            .wheels
            .iter()
            .map(|w| (request.wheel_dir.join(&w.file_name), w.requested))
            .collect();
        let installed = transaction::install(&layout, &wheels, request.reinstall, request.compile)
            .map_err(|e| fail(e.to_string()))?;
        Ok(InstallOutcome { installed })
    }
}

/// Why an install failed; each message names the wheel or file.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{wheel}: {message}")]
    Wheel { wheel: String, message: String },
    #[error(transparent)]
    Io(#[from] PathIoError),
    #[error("{0}")]
    Other(String),
}

impl UnpackError {
    fn wheel(wheel: &str, message: impl Into<String>) -> Self {
        Self::Wheel {
            wheel: wheel.to_string(),
            message: message.into(),
        }
    }

    fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self + use<> {
        let error = PathIoError::doing(action, path);
        move |source| Self::Io(error(source))
    }
}
