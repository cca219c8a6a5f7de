//! Output files appear only by rename: each is written as a locked `.wagon-partial-*` beside its
//! destination, registered for removal on interrupt, and renamed into place when whole. Partial
//! files of killed writers (their lock can be taken) are removed by the next writer in the
//! folder.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::scratch;

/// The name of every partial output starts with this.
pub const PARTIAL_PREFIX: &str = ".wagon-partial-";

/// An output being written; removed on drop unless [`PartialFile::persist`]ed.
#[derive(Debug)]
pub struct PartialFile {
    // Field order is drop order: the file goes before the interrupt handler forgets it.
    temp: tempfile::NamedTempFile,
    _registration: scratch::Registration,
}

impl PartialFile {
    /// A new partial file in `destination`'s folder, for an ordinary file (0644 before the
    /// umask, not a temporary file's 0600).
    pub fn beside(destination: &Path) -> io::Result<PartialFile> {
        let dir = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        builder.prefix(PARTIAL_PREFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        // An interrupt between the file appearing and its registration would leave it behind:
        // it waits until the file is registered (microseconds).
        let deferred = scratch::defer_interrupts();
        let temp = builder.tempfile_in(dir)?;
        let registration = scratch::register_partial(temp.path());
        drop(deferred);
        // Held until the file is closed, after the rename: tells later writers this one lives.
        temp.as_file().lock()?;
        sweep_dead_partials(dir, temp.path());
        Ok(PartialFile {
            temp,
            _registration: registration,
        })
    }

    pub fn as_file(&self) -> &File {
        self.temp.as_file()
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Flushes the file to disk and renames it to `destination`, replacing what is there.
    pub fn persist(self, destination: &Path) -> io::Result<()> {
        self.temp.as_file().sync_all()?;
        self.temp
            .persist(destination)
            .map_err(|err| err.error)
            .map(drop)
    }
}

/// Removes the partial files in `dir` whose writer is gone. Links, other users' files and files
/// too young to be locked yet are left alone; nothing is followed.
fn sweep_dead_partials(dir: &Path, ours: &Path) {
    for (path, meta) in scratch::leftovers(dir, PARTIAL_PREFIX, ours) {
        // A writer locks right after creating; a young unlocked file may be in that gap.
        if !meta.is_file() || !scratch::is_stale(&meta) {
            continue;
        }
        let Ok(file) = scratch::open_no_follow(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::debug!("removed {}, left by a killed run", path.display()),
                Err(err) => tracing::debug!("cannot remove {}: {err}", path.display()),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn age(path: &Path) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn a_new_writer_removes_dead_partials_and_keeps_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(".wagon-partial-dead");
        std::fs::write(&dead, b"half").unwrap();
        age(&dead);
        let live = PartialFile::beside(&dir.path().join("a.wgn")).unwrap();
        age(live.path());
        let other = dir.path().join("keep.wgn");
        std::fs::write(&other, b"x").unwrap();

        let mut second = PartialFile::beside(&dir.path().join("b.wgn")).unwrap();
        assert!(!dead.exists());
        assert!(live.path().exists(), "its writer holds the lock");
        assert!(other.exists());

        second.temp.write_all(b"whole").unwrap();
        second.persist(&dir.path().join("b.wgn")).unwrap();
        drop(live);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b.wgn", "keep.wgn"]);
    }
}
