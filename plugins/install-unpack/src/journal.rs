//! The environment's install lock and the commit journal it names. The lock file
//! (`.wagon-install.lock` at the environment's root) serialises installs; while a commit runs it
//! also holds the random token of that commit's journal (`.wagon-journal-<token>.json` beside
//! it, renamed `.wagon-committed-<token>.json` at the commit point). Recovery reads only the
//! journal the lock names — a wheel can ship neither file (`.wagon-*` names are refused at every
//! scheme root) nor guess the token — and the plan it reads is checked against containment
//! before anything is moved ([`crate::transaction::CommitPlan::check`]).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::UnpackError;

/// The lock file that serialises installs into one environment.
pub const LOCK_FILE: &str = ".wagon-install.lock";
const PENDING_PREFIX: &str = ".wagon-journal-";
const COMMITTED_PREFIX: &str = ".wagon-committed-";
const SUFFIX: &str = ".json";
/// Tokens are what `tempfile` draws: a few alphanumerics. Anything else in the lock file is
/// not Wagon's and is ignored.
const MAX_TOKEN: usize = 64;

/// The held install lock of one environment.
pub struct EnvLock {
    file: File,
    prefix: PathBuf,
}

/// Where an interrupted commit had got to.
pub enum Interrupted {
    /// Killed before its commit point: to be rolled back.
    Pending(Vec<u8>),
    /// Killed after it: to be kept, and tidied.
    Committed(Vec<u8>),
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

    fn path(&self) -> PathBuf {
        self.prefix.join(LOCK_FILE)
    }

    /// The token the lock file records, when it is one Wagon could have written.
    fn token(&mut self) -> Option<String> {
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

    fn set_token(&mut self, token: &str) -> Result<(), UnpackError> {
        let path = self.path();
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(token.as_bytes()))
            .and_then(|()| self.file.sync_all())
            .map_err(UnpackError::io("write", &path))
    }

    fn journal_paths(&self, token: &str) -> (PathBuf, PathBuf) {
        (
            self.prefix.join(format!("{PENDING_PREFIX}{token}{SUFFIX}")),
            self.prefix
                .join(format!("{COMMITTED_PREFIX}{token}{SUFFIX}")),
        )
    }

    /// Writes `journal` to disk under a new random token, then records the token in the lock:
    /// from then on an interruption is recovered from this journal.
    pub fn begin(&mut self, journal: &[u8]) -> Result<Journal, UnpackError> {
        let mut file = tempfile::Builder::new()
            .prefix(PENDING_PREFIX)
            .suffix(SUFFIX)
            .rand_bytes(16)
            .tempfile_in(&self.prefix)
            .map_err(UnpackError::io(
                "create the install journal in",
                &self.prefix,
            ))?;
        let token = file
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .and_then(|n| {
                n.strip_prefix(PENDING_PREFIX)?
                    .strip_suffix(SUFFIX)
                    .map(str::to_string)
            })
            .ok_or_else(|| UnpackError::Other("the journal got an odd name".to_string()))?;
        file.write_all(journal)
            .and_then(|()| file.as_file().sync_all())
            .map_err(UnpackError::io("write", file.path()))?;
        let (pending, committed) = self.journal_paths(&token);
        file.persist(&pending)
            .map_err(|e| UnpackError::io("write", &pending)(e.error))?;
        self.set_token(&token)?;
        Ok(Journal { pending, committed })
    }

    /// The journal of an interrupted commit, if the lock names one; `None` otherwise.
    pub fn interrupted(&mut self) -> Option<Interrupted> {
        let token = self.token()?;
        let (pending, committed) = self.journal_paths(&token);
        if let Ok(bytes) = read_plain_file(&pending) {
            return Some(Interrupted::Pending(bytes));
        }
        read_plain_file(&committed).ok().map(Interrupted::Committed)
    }

    /// Forgets any journal: removes every journal file at the root (only the one the lock named
    /// was ever trusted) and clears the token.
    pub fn clear(&mut self) -> Result<(), UnpackError> {
        if let Ok(entries) = std::fs::read_dir(&self.prefix) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let ours = name.starts_with(PENDING_PREFIX) || name.starts_with(COMMITTED_PREFIX);
                if ours && entry.file_type().is_ok_and(|t| !t.is_dir()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        self.set_token("")
    }
}

/// A commit's journal on disk.
pub struct Journal {
    pending: PathBuf,
    committed: PathBuf,
}

impl Journal {
    /// The commit point: from here on a recovery keeps the install instead of undoing it.
    pub fn commit(&self) -> Result<(), UnpackError> {
        std::fs::rename(&self.pending, &self.committed)
            .map_err(UnpackError::io("complete", &self.pending))
    }

    /// Removes the pending journal of a commit that was rolled back in-process.
    pub fn abandon(&self) {
        let _ = std::fs::remove_file(&self.pending);
    }
}

/// Reads a regular file (never through a link), bounded: journals are Wagon's own and small.
fn read_plain_file(path: &Path) -> std::io::Result<Vec<u8>> {
    if !path.symlink_metadata()?.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    File::open(path)?.take(1 << 30).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_journal_the_lock_names_is_read() {
        let env = tempfile::tempdir().unwrap();
        let mut lock = EnvLock::acquire(env.path()).unwrap();
        assert!(lock.interrupted().is_none());
        // A planted journal without the lock's token is never read.
        std::fs::write(env.path().join(".wagon-journal-planted.json"), b"{}").unwrap();
        assert!(lock.interrupted().is_none());
        let journal = lock.begin(b"plan").unwrap();
        assert!(matches!(lock.interrupted(), Some(Interrupted::Pending(p)) if p == b"plan"));
        journal.commit().unwrap();
        assert!(matches!(lock.interrupted(), Some(Interrupted::Committed(p)) if p == b"plan"));
        lock.clear().unwrap();
        assert!(lock.interrupted().is_none());
        let left: Vec<_> = std::fs::read_dir(env.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec![LOCK_FILE.to_string()],
            "planted and used journals removed"
        );
    }

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
        assert!(lock.interrupted().is_none());
    }
}
