//! The commit journal: a plan written to `.wagon-journal-<token>.json` at the environment's root
//! before the commit starts, renamed `.wagon-committed-<token>.json` at its commit point, and read
//! back only under the token the install lock names.
//!
//! A wheel can ship neither file (`.wagon-*` names are refused at every scheme root) nor guess
//! the token, and the plan read back is checked against containment before anything is moved
//! ([`crate::plan::CommitPlan::check`], in [`crate::recovery`]).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::UnpackError;
use crate::env_lock::EnvLock;

const PENDING_PREFIX: &str = ".wagon-journal-";
const COMMITTED_PREFIX: &str = ".wagon-committed-";
const SUFFIX: &str = ".json";

/// Where an interrupted commit had got to.
pub enum Interrupted {
    /// Killed before its commit point: to be rolled back.
    Pending(Vec<u8>),
    /// Killed after it: to be kept, and tidied.
    Committed(Vec<u8>),
}

/// A commit's journal on disk.
pub struct Journal {
    pending: PathBuf,
    committed: PathBuf,
}

fn paths(prefix: &Path, token: &str) -> (PathBuf, PathBuf) {
    (
        prefix.join(format!("{PENDING_PREFIX}{token}{SUFFIX}")),
        prefix.join(format!("{COMMITTED_PREFIX}{token}{SUFFIX}")),
    )
}

/// Writes `journal` to disk under a new random token, then records the token in the lock: from
/// then on an interruption is recovered from this journal.
pub fn begin(lock: &mut EnvLock, journal: &[u8]) -> Result<Journal, UnpackError> {
    let prefix = lock.prefix().to_path_buf();
    let mut file = tempfile::Builder::new()
        .prefix(PENDING_PREFIX)
        .suffix(SUFFIX)
        .rand_bytes(16)
        .tempfile_in(&prefix)
        .map_err(UnpackError::io("create the install journal in", &prefix))?;
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
    let (pending, committed) = paths(&prefix, &token);
    file.persist(&pending)
        .map_err(|e| UnpackError::io("write", &pending)(e.error))?;
    lock.set_token(&token)?;
    Ok(Journal { pending, committed })
}

/// The journal of an interrupted commit, if the lock names one; `None` otherwise.
pub fn interrupted(lock: &mut EnvLock) -> Option<Interrupted> {
    let token = lock.token()?;
    let (pending, committed) = paths(lock.prefix(), &token);
    if let Ok(bytes) = read_plain_file(&pending) {
        return Some(Interrupted::Pending(bytes));
    }
    read_plain_file(&committed).ok().map(Interrupted::Committed)
}

/// Forgets any journal: removes every journal file at the root (only the one the lock named was
/// ever trusted) and clears the lock's token.
pub fn clear(lock: &mut EnvLock) -> Result<(), UnpackError> {
    if let Ok(entries) = std::fs::read_dir(lock.prefix()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.starts_with(PENDING_PREFIX) || name.starts_with(COMMITTED_PREFIX);
            if ours && entry.file_type().is_ok_and(|t| !t.is_dir()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    lock.set_token("")
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
    use crate::env_lock::LOCK_FILE;
    use crate::testing::names;

    #[test]
    fn only_the_journal_the_lock_names_is_read() {
        let env = tempfile::tempdir().unwrap();
        let mut lock = EnvLock::acquire(env.path()).unwrap();
        assert!(interrupted(&mut lock).is_none());
        // A planted journal without the lock's token is never read.
        std::fs::write(env.path().join(".wagon-journal-planted.json"), b"{}").unwrap();
        assert!(interrupted(&mut lock).is_none());
        let journal = begin(&mut lock, b"plan").unwrap();
        assert!(matches!(interrupted(&mut lock), Some(Interrupted::Pending(p)) if p == b"plan"));
        journal.commit().unwrap();
        assert!(matches!(interrupted(&mut lock), Some(Interrupted::Committed(p)) if p == b"plan"));
        clear(&mut lock).unwrap();
        assert!(interrupted(&mut lock).is_none());
        assert_eq!(
            names(env.path()),
            vec![LOCK_FILE.to_string()],
            "planted and used journals removed"
        );
    }

    #[test]
    fn a_journal_survives_the_process_that_wrote_it() {
        let env = tempfile::tempdir().unwrap();
        let journal = {
            let mut lock = EnvLock::acquire(env.path()).unwrap();
            let journal = begin(&mut lock, b"{\"plan\":1}").unwrap();
            // The lock is released here without clearing, as when a process is killed.
            journal
        };
        let pending = names(env.path())
            .into_iter()
            .find(|n| n.starts_with(PENDING_PREFIX))
            .unwrap();
        let mut lock = EnvLock::acquire(env.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(env.path().join(LOCK_FILE)).unwrap(),
            pending
                .strip_prefix(PENDING_PREFIX)
                .and_then(|n| n.strip_suffix(SUFFIX))
                .unwrap(),
            "the lock names the journal's token"
        );
        assert!(
            matches!(interrupted(&mut lock), Some(Interrupted::Pending(p)) if p == b"{\"plan\":1}")
        );
        journal.abandon();
        assert!(
            interrupted(&mut lock).is_none(),
            "an abandoned journal is gone"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_that_is_a_link_is_not_read() {
        let env = tempfile::tempdir().unwrap();
        let elsewhere = env.path().join("elsewhere.json");
        std::fs::write(&elsewhere, b"{}").unwrap();
        let mut lock = EnvLock::acquire(env.path()).unwrap();
        lock.set_token("Tok3n").unwrap();
        let (pending, _) = paths(env.path(), "Tok3n");
        std::os::unix::fs::symlink(&elsewhere, &pending).unwrap();
        assert!(interrupted(&mut lock).is_none());
        clear(&mut lock).unwrap();
        assert!(
            pending.symlink_metadata().is_err(),
            "the planted link is removed"
        );
        assert_eq!(
            std::fs::read(&elsewhere).unwrap(),
            b"{}",
            "not what it points to"
        );
    }
}
