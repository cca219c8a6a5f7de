//! The environment's install lock: the file (`.wagon-install.lock` at the environment's root)
//! whose OS lock serialises installs, and which holds the token naming the live journal.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::UnpackError;

/// The lock file that serialises installs into one environment.
pub const LOCK_FILE: &str = ".wagon-install.lock";
/// Tokens are what `tempfile` draws: a few alphanumerics. Anything else in the lock file is
/// not Wagon's and is ignored.
const MAX_TOKEN: usize = 64;

/// The held install lock of one environment.
pub struct EnvLock {
    file: File,
    prefix: PathBuf,
}

impl EnvLock {
    /// Opens (creating) and locks the environment's lock file, waiting for another install.
    pub fn acquire(prefix: &Path) -> Result<Self, UnpackError> {
        let path = prefix.join(LOCK_FILE);
        let mut options = File::options();
        options.create(true).truncate(false).read(true).write(true);
        // The lock is written to: a link planted in its place must not aim that outside.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let file = options
            .open(&path)
            .map_err(UnpackError::io("create the install lock", &path))?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Err(UnpackError::Other(format!(
                "{} is not a regular file; remove it and install again",
                path.display()
            )));
        }
        file.lock().map_err(UnpackError::io("lock", &path))?;
        Ok(Self {
            file,
            prefix: prefix.to_path_buf(),
        })
    }

    /// The environment's root, where the lock and the journals live.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    fn path(&self) -> PathBuf {
        self.prefix.join(LOCK_FILE)
    }

    /// The token the lock file records, when it is one Wagon could have written.
    pub fn token(&mut self) -> Option<String> {
        let mut text = String::new();
        self.file.seek(SeekFrom::Start(0)).ok()?;
        (&mut self.file)
            .take(MAX_TOKEN as u64 + 1)
            .read_to_string(&mut text)
            .ok()?;
        let token = text.trim();
        (!token.is_empty()
            && token.len() <= MAX_TOKEN
            && token.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| token.to_string())
    }

    /// Records `token` (empty: none), durably, replacing what the file held.
    pub fn set_token(&mut self, token: &str) -> Result<(), UnpackError> {
        let path = self.path();
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(token.as_bytes()))
            .and_then(|()| self.file.sync_all())
            .map_err(UnpackError::io("write", &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_lock_file_that_is_a_link_is_refused_and_its_target_untouched() {
        let env = tempfile::tempdir().unwrap();
        let victim = env.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let venv = env.path().join("venv");
        std::fs::create_dir(&venv).unwrap();
        std::os::unix::fs::symlink(&victim, venv.join(LOCK_FILE)).unwrap();
        assert!(EnvLock::acquire(&venv).is_err());
        std::os::unix::fs::symlink(env.path().join("absent"), venv.join("x")).unwrap();
        std::fs::rename(venv.join("x"), venv.join(LOCK_FILE)).unwrap();
        assert!(EnvLock::acquire(&venv).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            !env.path().join("absent").exists(),
            "nothing created through a dangling link"
        );
    }

    #[test]
    fn a_lock_file_that_is_not_a_token_names_nothing() {
        let env = tempfile::tempdir().unwrap();
        std::fs::write(env.path().join(LOCK_FILE), "../../etc/passwd").unwrap();
        let mut lock = EnvLock::acquire(env.path()).unwrap();
        assert!(lock.token().is_none());
    }

    #[test]
    fn a_token_is_kept_until_replaced() {
        let env = tempfile::tempdir().unwrap();
        let mut lock = EnvLock::acquire(env.path()).unwrap();
        lock.set_token("abcdefghijklmnopqrstuvwxyz").unwrap();
        lock.set_token("Ab12").unwrap();
        assert_eq!(lock.token().as_deref(), Some("Ab12"));
        assert_eq!(
            std::fs::read_to_string(env.path().join(LOCK_FILE)).unwrap(),
            "Ab12",
            "a shorter token leaves nothing of the longer one"
        );
        lock.set_token("").unwrap();
        assert!(lock.token().is_none());
    }
}
