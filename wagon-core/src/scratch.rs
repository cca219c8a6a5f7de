//! Everything a run leaves on disk before it finishes, and its removal when the run ends, fails,
//! is interrupted or was killed.
//!
//! All of one run's temporary folders and files live below one `$TMPDIR/wagon-run-*` folder,
//! made on first use. The run keeps `.lock` inside it flock'ed for as long as the folder is in
//! use, so a later run can tell a killed run's folder (its lock can be taken) from a live one,
//! and removes it. The folder goes away when the last [`ScratchDir`] or [`ScratchFile`] drops
//! (success and error alike), or on an interrupt.
//!
//! Interrupts: the embedder (the `wagon` CLI) watches the OS signals and calls [`interrupt`];
//! the core removes the run folder and every registered partial output ([`register_partial`])
//! and exits with 128 + the signal number. While an [`InterruptGuard`] from [`defer_interrupts`]
//! is alive the signal is only recorded, and handled when the last guard drops, so that a
//! critical section (moving files into an environment) is never cut in half.
//!
//! Folders of older Wagons (`wagon-unpack-*`, `wagon-create-*`, `wagon-validate-*` directly in
//! `$TMPDIR`) carry no lock, so nothing tells a killed run's folder from the one a long install
//! is reading right now: they are left alone rather than risk pulling files from under a live
//! run.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// The name of every run folder in `$TMPDIR` starts with this.
pub const RUN_PREFIX: &str = "wagon-run-";
/// The lock file inside a run folder.
const LOCK_NAME: &str = ".lock";
/// A folder or file this young may belong to a run that made it and is about to lock it.
pub(crate) const FRESH: Duration = Duration::from_secs(2);

/// The signals Wagon cleans up after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
}

impl Interrupt {
    /// The shell's convention: 128 + the signal number.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::Int => 130,
            Self::Term => 143,
        }
    }
}

/// What an interrupt removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// The run folder, if one was in use.
    pub run_dir: Option<PathBuf>,
    /// Partial output files.
    pub partials: Vec<PathBuf>,
}

/// The run folder: removed, then unlocked, when the last user drops it.
#[derive(Debug)]
struct Run {
    // Field order is drop order: the folder goes before the lock is released.
    dir: tempfile::TempDir,
    _lock: File,
}

impl Run {
    fn create() -> io::Result<Run> {
        let parent = std::env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix(RUN_PREFIX)
            .tempdir_in(&parent)
            .map_err(|err| annotate(&err, "create a scratch folder in", &parent))?;
        // The lock file appears under its name only once locked (a rename keeps the lock): a
        // concurrent sweep that found it unlocked would take this live run for a dead one.
        let unlocked_path = dir.path().join(format!("{LOCK_NAME}-new"));
        let lock = File::create_new(&unlocked_path)
            .map_err(|err| annotate(&err, "create", &unlocked_path))?;
        lock.lock()
            .map_err(|err| annotate(&err, "lock", &unlocked_path))?;
        let lock_path = dir.path().join(LOCK_NAME);
        std::fs::rename(&unlocked_path, &lock_path)
            .map_err(|err| annotate(&err, "create", &lock_path))?;
        sweep_dead_runs(&parent, dir.path());
        Ok(Run { dir, _lock: lock })
    }
}

/// A temporary folder below the run folder, removed on drop.
#[derive(Debug)]
pub struct ScratchDir {
    // Field order is drop order: this folder goes before the run folder may.
    dir: tempfile::TempDir,
    _run: Arc<Run>,
}

impl ScratchDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// A temporary file below the run folder, removed on drop.
#[derive(Debug)]
pub struct ScratchFile {
    file: tempfile::NamedTempFile,
    _run: Arc<Run>,
}

impl std::ops::Deref for ScratchFile {
    type Target = tempfile::NamedTempFile;

    fn deref(&self) -> &Self::Target {
        &self.file
    }
}

impl std::ops::DerefMut for ScratchFile {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.file
    }
}

impl io::Write for ScratchFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A new folder in this run's scratch folder, its name starting with `prefix`.
pub fn tempdir(prefix: &str) -> io::Result<ScratchDir> {
    let run = current_run()?;
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(run.dir.path())
        .map_err(|err| annotate(&err, "create a scratch folder in", run.dir.path()))?;
    Ok(ScratchDir { dir, _run: run })
}

/// A new file in this run's scratch folder.
pub fn tempfile() -> io::Result<ScratchFile> {
    let run = current_run()?;
    let file = tempfile::NamedTempFile::new_in(run.dir.path())
        .map_err(|err| annotate(&err, "create a scratch file in", run.dir.path()))?;
    Ok(ScratchFile { file, _run: run })
}

/// A path to remove if the run is interrupted before the returned registration drops.
pub fn register_partial(path: &Path) -> Registration {
    let mut state = state();
    state.next_id += 1;
    let id = state.next_id;
    state.partials.push((id, path.to_path_buf()));
    Registration { id }
}

/// Keeps a partial output registered for removal on interrupt; dropping it forgets the path.
#[derive(Debug)]
pub struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        state().partials.retain(|(id, _)| *id != self.id);
    }
}

/// Defers interrupts until the returned guard, and every other one alive, has dropped.
pub fn defer_interrupts() -> InterruptGuard {
    deferral().enter();
    InterruptGuard { _private: () }
}

/// While alive, an interrupt is recorded instead of handled.
#[derive(Debug)]
#[must_use = "interrupts are deferred only while the guard is alive"]
pub struct InterruptGuard {
    _private: (),
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        // Take the pending signal under the lock, handle it after releasing the lock.
        let pending = deferral().leave();
        if let Some(signal) = pending {
            handle(signal);
        }
    }
}

/// Sets what reports an interrupt to the user, after the cleanup and before the exit.
pub fn set_interrupt_reporter(report: Reporter) {
    if let Ok(mut reporter) = REPORTER.lock() {
        *reporter = Some(report);
    }
}

/// Called by the embedder when a signal arrives: cleans up and exits, unless interrupts are
/// deferred, in which case the last guard to drop does.
pub fn interrupt(signal: Interrupt) {
    let now = deferral().deliver(signal);
    if let Some(signal) = now {
        handle(signal);
    }
}

/// Removes the run folder and the registered partial outputs, and refuses new scratch from now
/// on (a thread still running must not make the folder again).
pub fn clean_up_for_exit() -> Cleaned {
    let (run, partials) = {
        let mut state = state();
        state.closed = true;
        let run = state
            .run
            .as_ref()
            .filter(|(_, weak)| weak.strong_count() > 0)
            .map(|(path, _)| path.clone());
        (run, std::mem::take(&mut state.partials))
    };
    let mut cleaned = Cleaned::default();
    if let Some(dir) = run {
        // Another thread may still be writing into it: a few tries beat a leftover.
        for _ in 0..5 {
            match std::fs::remove_dir_all(&dir) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => break,
            }
        }
        cleaned.run_dir = Some(dir);
    }
    for (_, path) in partials {
        if std::fs::remove_file(&path).is_ok() {
            cleaned.partials.push(path);
        }
    }
    cleaned
}

fn handle(signal: Interrupt) -> ! {
    let cleaned = clean_up_for_exit();
    let reporter = REPORTER.lock().ok().and_then(|r| *r);
    if let Some(report) = reporter {
        report(signal, &cleaned);
    }
    std::process::exit(signal.exit_code())
}

/// Whether interrupts are deferred and which one is waiting.
#[derive(Debug, Default)]
struct Deferral {
    depth: usize,
    pending: Option<Interrupt>,
}

impl Deferral {
    fn enter(&mut self) {
        self.depth += 1;
    }

    /// Leaves one deferred section; returns the signal to handle now, if any.
    fn leave(&mut self) -> Option<Interrupt> {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.pending.take()
        } else {
            None
        }
    }

    /// A signal arrived; returns it when it is to be handled now. The first signal wins: a
    /// second Ctrl-C while deferred does not change the exit code.
    fn deliver(&mut self, signal: Interrupt) -> Option<Interrupt> {
        if self.depth == 0 {
            return Some(signal);
        }
        self.pending.get_or_insert(signal);
        None
    }
}

#[derive(Debug, Default)]
struct State {
    /// The run folder's path and its owner, while in use.
    run: Option<(PathBuf, Weak<Run>)>,
    /// Set by an interrupt: no new scratch.
    closed: bool,
    partials: Vec<(u64, PathBuf)>,
    next_id: u64,
}

static STATE: Mutex<State> = Mutex::new(State {
    run: None,
    closed: false,
    partials: Vec::new(),
    next_id: 0,
});
static DEFERRAL: Mutex<Deferral> = Mutex::new(Deferral {
    depth: 0,
    pending: None,
});
/// Tells the user what an interrupt cleaned.
pub type Reporter = fn(Interrupt, &Cleaned);

static REPORTER: Mutex<Option<Reporter>> = Mutex::new(None);

// A panic while holding these leaves plain data behind; carrying on is right.
fn state() -> MutexGuard<'static, State> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn deferral() -> MutexGuard<'static, Deferral> {
    DEFERRAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn current_run() -> io::Result<Arc<Run>> {
    let mut state = state();
    if state.closed {
        return Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "the run was interrupted",
        ));
    }
    if let Some(run) = state.run.as_ref().and_then(|(_, weak)| weak.upgrade()) {
        return Ok(run);
    }
    let run = Arc::new(Run::create()?);
    state.run = Some((run.dir.path().to_path_buf(), Arc::downgrade(&run)));
    Ok(run)
}

/// The entries of `dir` named `prefix*` that may be a killed run's leftovers: not `ours`, not
/// another user's (on Unix), with their own metadata (links are not followed). Both sweeps, of
/// run folders and of partial outputs, start from here.
pub(crate) fn leftovers(
    dir: &Path,
    prefix: &str,
    ours: &Path,
) -> Vec<(std::path::PathBuf, std::fs::Metadata)> {
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    #[cfg(unix)]
    let Ok(our_uid) = std::fs::symlink_metadata(ours).map(|m| m.uid()) else {
        return Vec::new();
    };
    #[cfg(unix)]
    let same_owner = |meta: &std::fs::Metadata| meta.uid() == our_uid;
    #[cfg(not(unix))]
    let same_owner = |_: &std::fs::Metadata| true;
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .map(|entry| entry.path())
        .filter(|path| path != ours)
        .filter_map(|path| {
            std::fs::symlink_metadata(&path)
                .ok()
                .map(|meta| (path, meta))
        })
        .filter(|(_, meta)| same_owner(meta))
        .collect()
}

/// Removes the run folders in `parent` whose owner is gone: their lock can be taken. Folders of
/// other users, symbolic links and anything not a folder are left alone; nothing is followed.
fn sweep_dead_runs(parent: &Path, ours: &Path) {
    for (path, meta) in leftovers(parent, RUN_PREFIX, ours) {
        if !meta.is_dir() {
            continue;
        }
        // Held across the removal, so the lock proves the owner dead the whole time.
        let lock = match open_no_follow(&path.join(LOCK_NAME)) {
            Ok(file) => match file.try_lock() {
                Ok(()) => Some(file),
                Err(_) => continue,
            },
            // Killed between making the folder and locking it, or older than Wagon's locks.
            Err(err) if err.kind() == io::ErrorKind::NotFound && is_stale(&meta) => None,
            Err(_) => continue,
        };
        match std::fs::remove_dir_all(&path) {
            Ok(()) => tracing::debug!("removed {}, left by a killed run", path.display()),
            Err(err) => tracing::debug!("cannot remove {}: {err}", path.display()),
        }
        drop(lock);
    }
}

/// Older than [`FRESH`], by its modification time.
pub(crate) fn is_stale(meta: &std::fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|time| time.elapsed().ok())
        .is_some_and(|age| age > FRESH)
}

/// Opens `path` for reading, refusing a symbolic link in its last component.
pub(crate) fn open_no_follow(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

fn annotate(error: &io::Error, action: &str, path: &Path) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("cannot {action} {}: {error}", path.display()),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fake_run(parent: &Path, name: &str) -> (PathBuf, File) {
        let dir = parent.join(name);
        std::fs::create_dir_all(dir.join("wagon-unpack-x/top/wheels")).unwrap();
        std::fs::write(dir.join("wagon-unpack-x/top/wheels/a.whl"), b"x").unwrap();
        let lock = File::create(dir.join(LOCK_NAME)).unwrap();
        (dir, lock)
    }

    #[test]
    fn the_sweep_removes_a_dead_runs_folder_and_keeps_a_live_one() {
        let parent = tempfile::tempdir().unwrap();
        let ours = parent.path().join("wagon-run-ours");
        std::fs::create_dir(&ours).unwrap();
        let (dead, dead_lock) = fake_run(parent.path(), "wagon-run-dead");
        drop(dead_lock);
        let (live, live_lock) = fake_run(parent.path(), "wagon-run-live");
        live_lock.lock().unwrap();
        let legacy = parent.path().join("wagon-unpack-old");
        std::fs::create_dir(&legacy).unwrap();

        sweep_dead_runs(parent.path(), &ours);

        assert!(!dead.exists(), "a run whose lock is free is dead");
        assert!(live.join("wagon-unpack-x/top/wheels/a.whl").exists());
        assert!(ours.exists());
        assert!(legacy.exists(), "unlocked legacy folders are left alone");
    }

    #[cfg(unix)]
    #[test]
    fn the_sweep_follows_no_symbolic_link() {
        let parent = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("precious"), b"keep").unwrap();
        File::create(elsewhere.path().join(LOCK_NAME)).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), parent.path().join("wagon-run-link")).unwrap();
        // A dead-looking run whose lock file is a link to somewhere else.
        let dir = parent.path().join("wagon-run-linked-lock");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join(LOCK_NAME), dir.join(LOCK_NAME)).unwrap();
        let ours = parent.path().join("wagon-run-ours");
        std::fs::create_dir(&ours).unwrap();

        sweep_dead_runs(parent.path(), &ours);

        assert!(elsewhere.path().join("precious").exists());
        assert!(parent.path().join("wagon-run-link").is_symlink());
        assert!(dir.exists(), "a lock that is a link proves nothing");
    }

    #[test]
    fn a_fresh_unlocked_run_folder_is_kept() {
        let parent = tempfile::tempdir().unwrap();
        let young = parent.path().join("wagon-run-young");
        std::fs::create_dir(&young).unwrap();
        let ours = parent.path().join("wagon-run-ours");
        std::fs::create_dir(&ours).unwrap();
        sweep_dead_runs(parent.path(), &ours);
        assert!(young.exists(), "it may be a run between mkdir and lock");
    }

    #[test]
    fn a_signal_outside_any_guard_is_handled_at_once() {
        let mut deferral = Deferral::default();
        assert_eq!(deferral.deliver(Interrupt::Int), Some(Interrupt::Int));
        assert_eq!(deferral.leave(), None);
    }

    #[test]
    fn a_deferred_signal_waits_for_the_last_guard() {
        let mut deferral = Deferral::default();
        deferral.enter();
        deferral.enter();
        assert_eq!(deferral.deliver(Interrupt::Term), None);
        assert_eq!(deferral.deliver(Interrupt::Int), None);
        assert_eq!(deferral.leave(), None, "one guard is still alive");
        assert_eq!(
            deferral.leave(),
            Some(Interrupt::Term),
            "the first signal wins"
        );
        assert_eq!(deferral.leave(), None, "handled once");
        assert_eq!(deferral.deliver(Interrupt::Int), Some(Interrupt::Int));
    }

    #[test]
    fn guards_nest_without_a_signal() {
        let outer = defer_interrupts();
        let inner = defer_interrupts();
        drop(inner);
        drop(outer);
        assert_eq!(deferral().depth, 0);
    }

    #[test]
    fn scratch_shares_one_locked_run_folder_removed_with_its_last_user() {
        let first = tempdir("wagon-unpack-").unwrap();
        let second = tempfile().unwrap();
        let run = first.path().parent().unwrap().to_path_buf();
        assert_eq!(second.path().parent().unwrap(), run);
        assert!(
            run.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(RUN_PREFIX)
        );
        let probe = File::open(run.join(LOCK_NAME)).unwrap();
        assert!(probe.try_lock().is_err(), "the live run holds its lock");
        drop(probe);
        drop(first);
        assert!(run.exists());
        drop(second);
        assert!(!run.exists());
    }
}
