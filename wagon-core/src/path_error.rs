//! A file-system failure that says what was being done and to which path — the one form the core
//! and the installers give such errors (`cannot create /x/y: Permission denied`).

use std::io;
use std::path::{Path, PathBuf};

/// An I/O error with its action and path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {path}: {source}")]
pub struct PathIoError {
    /// What was being done, as a verb phrase (`create`, `read wheel`, `move a file to`).
    pub action: &'static str,
    /// The path it was done to.
    pub path: PathBuf,
    /// What the system said.
    #[source]
    pub source: io::Error,
}

impl PathIoError {
    /// A `map_err` adapter: `fs::create_dir(&dir).map_err(PathIoError::doing("create", &dir))`.
    pub fn doing(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self + use<> {
        let path = path.to_path_buf();
        move |source| Self {
            action,
            path,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_action_and_the_path() {
        let err = PathIoError::doing("create", Path::new("/x/y"))(io::Error::from(
            io::ErrorKind::PermissionDenied,
        ));
        assert_eq!(err.to_string(), "cannot create /x/y: permission denied");
    }
}
