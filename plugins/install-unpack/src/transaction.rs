//! All-or-nothing installs: under the environment's lock, finish or undo an interrupted install,
//! unpack every wheel into staging (in parallel), plan the commit, journal it, then move old
//! versions aside and new files into place, undoing every step if any fails.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wagon_core::containment::{Destination, SchemeRoots};
use wagon_core::python;

use crate::UnpackError;
use crate::installed::{self, Installed};
use crate::journal::{EnvLock, Interrupted};

use crate::layout::Layout;
use crate::unpack::{self, StagedWheel};

/// Staging folders are named so; they live directly in site-packages.
const STAGING_PREFIX: &str = ".wagon-staging-";

/// Installs `wheels` (path, requested) into `layout`; returns `name==version` of each installed.
pub fn install(
    layout: &Layout,
    wheels: &[(PathBuf, bool)],
    reinstall: bool,
    compile: bool,
) -> Result<Vec<String>, UnpackError> {
    let mut lock = EnvLock::acquire(&layout.prefix)?;
    // Ctrl-C or SIGTERM from here to the cleared journal waits for the environment to be whole
    // again (a few seconds at most); SIGKILL is what the journal is for.
    let interrupts = wagon_core::scratch::defer_interrupts();
    recover(layout, &mut lock);
    let installed = installed::scan(layout);
    let mut todo = Vec::new();
    for (wheel, requested) in wheels {
        let file = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name =
            python::parse_wheel_filename(&file).map_err(|e| UnpackError::Other(e.to_string()))?;
        let already = installed.get(name.name.as_str());
        if !reinstall
            && already
                .is_some_and(|i| python::version(&i.version).ok().as_ref() == Some(&name.version))
        {
            tracing::info!("{} {} is already installed", name.name, name.version);
            continue;
        }
        todo.push((wheel.clone(), *requested));
    }
    if todo.is_empty() {
        return Ok(Vec::new());
    }

    let purelib = layout.purelib();
    std::fs::create_dir_all(&purelib).map_err(UnpackError::io("create", &purelib))?;
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(&purelib)
        .map_err(UnpackError::io("create a staging folder in", &purelib))?;
    let started = std::time::Instant::now();
    let staged = unpack_all(layout, &todo, staging.path())?;
    tracing::debug!(
        "unpacked {} wheels into staging in {:.3?}",
        staged.len(),
        started.elapsed()
    );

    let plan = CommitPlan::new(layout, &staged, &installed, staging.path())?;
    plan.execute(&mut lock)?;
    tracing::debug!("moved into place in {:.3?}", started.elapsed());
    plan.prune_emptied(&layout.roots);
    drop(staging);
    lock.clear()?;
    drop(interrupts);
    tracing::debug!("cleaned up in {:.3?}", started.elapsed());

    if compile {
        crate::compile::compile_bytecode(layout, &staged)?;
    }
    Ok(staged
        .iter()
        .map(|w| format!("{}=={}", w.name, w.version))
        .collect())
}

/// Unpacks the wheels on all cores, largest first; the first failure wins.
fn unpack_all(
    layout: &Layout,
    wheels: &[(PathBuf, bool)],
    staging: &Path,
) -> Result<Vec<StagedWheel>, UnpackError> {
    let mut order: Vec<usize> = (0..wheels.len()).collect();
    let size = |i: &usize| {
        std::fs::metadata(&wheels[*i].0)
            .map(|m| m.len())
            .unwrap_or(0)
    };
    order.sort_by_key(|i| std::cmp::Reverse(size(i)));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<StagedWheel, UnpackError>>>> =
        Mutex::new((0..wheels.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(wheels.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let slot = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = order.get(slot) else { break };
                    let (wheel, requested) = &wheels[index];
                    let wheel_staging = staging.join(index.to_string());
                    let result = unpack::unpack(wheel, *requested, layout, &wheel_staging);
                    let failed = result.is_err();
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                    if failed {
                        // Stop handing out work: the install is going to fail anyway.
                        next.store(order.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| UnpackError::Other("an unpack thread panicked".to_string()))?;
    let mut staged = Vec::with_capacity(results.len());
    for result in results.into_iter().flatten() {
        staged.push(result?);
    }
    if staged.len() != wheels.len() {
        return Err(UnpackError::Other(
            "not every wheel was unpacked".to_string(),
        ));
    }
    Ok(staged)
}

/// Everything the commit will do, decided before it starts and journaled first, so that an
/// install killed at any point can be undone by the next one ([`recover`]).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CommitPlan {
    /// The staging folder (in site-packages) the staged files and the trash live in.
    staging: PathBuf,
    /// Files moved into the trash: old versions' files, and files a new one replaces.
    set_aside: Vec<(PathBuf, PathBuf)>,
    /// Folders to create, parents first.
    created_dirs: Vec<PathBuf>,
    /// Staged files (or whole staged folders) moved to their destinations.
    place: Vec<(PathBuf, PathBuf)>,
}

/// The folders strictly between `root` and `dest`, deepest first.
fn folders_below<'a>(dest: &'a Path, root: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
    dest.ancestors()
        .skip(1)
        .take_while(move |dir| *dir != root && dir.starts_with(root))
}

/// What stands at a path, as far as the commit cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Nothing,
    Folder,
    /// A file, or anything else that is not a folder.
    File,
    /// A symbolic link: never written through.
    Link,
}

fn found(path: &Path) -> Found {
    match path.symlink_metadata() {
        Err(_) => Found::Nothing,
        Ok(meta) if meta.file_type().is_symlink() => Found::Link,
        Ok(meta) if meta.is_dir() => Found::Folder,
        Ok(_) => Found::File,
    }
}

/// What stands at each folder the commit touches, asking the file system once per folder.
#[derive(Default)]
struct Folders {
    known: HashMap<PathBuf, Found>,
}

impl Folders {
    fn found(&mut self, dir: &Path) -> Found {
        *self
            .known
            .entry(dir.to_path_buf())
            .or_insert_with(|| found(dir))
    }

    fn create(&mut self, plan: &mut CommitPlan, dir: &Path) {
        if self.found(dir) != Found::Folder {
            plan.created_dirs.push(dir.to_path_buf());
            self.known.insert(dir.to_path_buf(), Found::Folder);
        }
    }

    /// Plans `dir` and its missing parents, parents first.
    fn create_missing(&mut self, plan: &mut CommitPlan, dir: &Path) {
        let missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|d| self.found(d) == Found::Nothing)
            .collect();
        for dir in missing.into_iter().rev() {
            self.create(plan, dir);
        }
    }
}

impl CommitPlan {
    /// Plans the commit. A folder the environment lacks and only one wheel fills moves into
    /// place whole, in one rename; elsewhere (existing folders, folders shared by several wheels)
    /// files move one by one, and whatever file already sits at a destination is set aside
    /// first. A file never replaces a folder, nor a folder a file, unless what is replaced
    /// belongs to a version being replaced; nothing is placed through a link.
    fn new(
        layout: &Layout,
        staged: &[StagedWheel],
        installed: &BTreeMap<String, Installed>,
        staging: &Path,
    ) -> Result<Self, UnpackError> {
        let roots = layout.roots.roots();
        let trash = staging.join("trash");
        let mut plan = Self {
            staging: staging.to_path_buf(),
            ..Self::default()
        };
        let mut aside: BTreeSet<PathBuf> = Default::default();
        let mut set_aside = |plan: &mut Self, file: PathBuf| {
            if aside.insert(file.clone()) {
                let kept = trash.join(plan.set_aside.len().to_string());
                plan.set_aside.push((file, kept));
            }
        };
        for wheel in staged {
            if let Some(old) = installed.get(wheel.name.as_str()) {
                tracing::info!("replacing {} {}", wheel.name, old.version);
                for file in installed::files(layout, old)? {
                    set_aside(&mut plan, file);
                }
            }
        }
        let replaced: HashSet<PathBuf> = plan.set_aside.iter().map(|(f, _)| f.clone()).collect();

        // The wheel filling each folder below a root, or `None` when several share it.
        let mut owners: HashMap<&Path, Option<usize>> = HashMap::new();
        for (index, wheel) in staged.iter().enumerate() {
            for file in &wheel.files {
                for dir in folders_below(&file.dest, &roots[file.root]) {
                    owners
                        .entry(dir)
                        .and_modify(|owner| {
                            if *owner != Some(index) {
                                *owner = None;
                            }
                        })
                        .or_insert(Some(index));
                }
            }
        }

        let mut dirs = Folders::default();
        let used_roots: BTreeSet<usize> = staged
            .iter()
            .flat_map(|w| &w.files)
            .map(|f| f.root)
            .collect();
        for root in used_roots {
            dirs.create_missing(&mut plan, &roots[root]);
        }
        let conflict = |wheel: &StagedWheel, message: String| {
            UnpackError::wheel(&format!("{} {}", wheel.name, wheel.version), message)
        };
        let mut moved: HashSet<&Path> = HashSet::new();
        for (index, wheel) in staged.iter().enumerate() {
            'files: for file in &wheel.files {
                let below: Vec<&Path> = folders_below(&file.dest, &roots[file.root]).collect();
                // Top-down: the first folder that is new and this wheel's alone moves whole.
                for (depth, dir) in below.iter().rev().enumerate() {
                    if moved.contains(dir) {
                        continue 'files;
                    }
                    match dirs.found(dir) {
                        Found::Folder => continue,
                        Found::Link => {
                            return Err(conflict(
                                wheel,
                                format!(
                                    "{} lies below {}, a symbolic link: Wagon does not install \
                                     through links in an environment",
                                    file.dest.display(),
                                    dir.display()
                                ),
                            ));
                        }
                        Found::File if !replaced.contains(*dir) => {
                            return Err(conflict(
                                wheel,
                                format!(
                                    "{} needs a folder at {}, where a file of another project \
                                     stands",
                                    file.dest.display(),
                                    dir.display()
                                ),
                            ));
                        }
                        Found::File | Found::Nothing => {}
                    }
                    if owners.get(dir) == Some(&Some(index)) {
                        // `staged` mirrors `dest` below the root: the folder's staged twin is
                        // as many levels above the staged file as `dir` is above `dest`.
                        let levels = below.len() - depth;
                        let Some(twin) = file.staged.ancestors().nth(levels) else {
                            break;
                        };
                        plan.place.push((twin.to_path_buf(), dir.to_path_buf()));
                        moved.insert(dir);
                        continue 'files;
                    }
                    dirs.create(&mut plan, dir);
                }
                if owners.contains_key(file.dest.as_path()) {
                    return Err(conflict(
                        wheel,
                        format!(
                            "{} is a folder of another wheel of this install; a file cannot \
                             replace it",
                            file.dest.display()
                        ),
                    ));
                }
                match found(&file.dest) {
                    Found::Nothing => {}
                    Found::Folder => {
                        return Err(conflict(
                            wheel,
                            format!(
                                "{} is a folder in the environment; a file cannot replace it",
                                file.dest.display()
                            ),
                        ));
                    }
                    Found::File | Found::Link => set_aside(&mut plan, file.dest.clone()),
                }
                plan.place.push((file.staged.clone(), file.dest.clone()));
            }
        }
        Ok(plan)
    }

    /// Journals the plan, then performs it; on any error undoes what was done.
    fn execute(&self, lock: &mut EnvLock) -> Result<(), UnpackError> {
        let text = serde_json::to_vec(self).map_err(|e| UnpackError::Other(e.to_string()))?;
        let journal = lock.begin(&text)?;
        if let Some(trash) = self.set_aside.first().and_then(|(_, kept)| kept.parent()) {
            std::fs::create_dir_all(trash).map_err(UnpackError::io("create", trash))?;
        }
        let fault = FaultPoint::from_env();
        let result = (|| {
            for (original, kept) in &self.set_aside {
                fault.step();
                move_file(original, kept)?;
            }
            for dir in &self.created_dirs {
                fault.step();
                match std::fs::create_dir(dir) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(UnpackError::io("create", dir)(err)),
                }
            }
            for (staged, dest) in &self.place {
                fault.step();
                move_file(staged, dest)?;
            }
            Ok(())
        })();
        if let Err(err) = result {
            self.roll_back();
            journal.abandon();
            return Err(err);
        }
        journal.commit()
    }

    /// Puts everything back as it was. Idempotent: it checks what each step left behind, so it
    /// also undoes a commit that was killed half-way.
    fn roll_back(&self) {
        for (staged, dest) in self.place.iter().rev() {
            if staged.symlink_metadata().is_err()
                && dest.symlink_metadata().is_ok()
                && let Err(err) = std::fs::rename(dest, staged)
            {
                tracing::error!("rolling back {}: {err}", dest.display());
            }
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        for (original, kept) in self.set_aside.iter().rev() {
            if kept.symlink_metadata().is_ok()
                && original.symlink_metadata().is_err()
                && let Err(err) = std::fs::rename(kept, original)
            {
                tracing::error!("restoring {}: {err}", original.display());
            }
        }
    }

    /// After a successful commit: remove folders that setting old files aside left empty.
    fn prune_emptied(&self, roots: &SchemeRoots) {
        for (original, _) in &self.set_aside {
            let mut dir = original.parent();
            while let Some(current) = dir {
                if roots.roots().iter().any(|root| root.starts_with(current))
                    || std::fs::remove_dir(current).is_err()
                {
                    break;
                }
                dir = current.parent();
            }
        }
    }

    /// Checks a journaled plan before recovery acts on it: the staging folder is one of
    /// Wagon's in site-packages, every staged or trashed path lies inside it, and every path
    /// in the environment passes the containment rule. A journal is Wagon's own, named by a
    /// token only the lock holds; this is the second line of defence.
    fn check(&self, layout: &Layout) -> Result<(), String> {
        let purelib = layout.purelib();
        let staging_ok = self.staging.parent() == Some(purelib.as_path())
            && self
                .staging
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(STAGING_PREFIX));
        // A real folder, not a link out of the environment that renames would follow.
        let staging_ok = staging_ok
            && self
                .staging
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_dir());
        if !staging_ok {
            return Err(format!(
                "its staging folder {} is not Wagon's",
                self.staging.display()
            ));
        }
        let in_staging = |path: &Path| {
            path.strip_prefix(&self.staging)
                .is_ok_and(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
        };
        let contained = |path: &Path| -> Result<Destination, String> {
            layout.roots.contain(path).map_err(|e| e.to_string())
        };
        for dir in &self.created_dirs {
            let is_root_or_above = layout.roots.roots().iter().any(|r| r.starts_with(dir));
            if !is_root_or_above {
                contained(dir)?;
            }
        }
        for (original, kept) in &self.set_aside {
            contained(original)?;
            if !in_staging(kept) {
                return Err(format!("{} is outside its staging folder", kept.display()));
            }
        }
        for (staged, dest) in &self.place {
            contained(dest)?;
            if !in_staging(staged) {
                return Err(format!(
                    "{} is outside its staging folder",
                    staged.display()
                ));
            }
        }
        Ok(())
    }
}

/// Finishes or undoes an install that was interrupted (killed, or the machine stopped): the
/// journal the lock names is checked, then rolled back (before its commit point) or tidied
/// (after); leftover staging folders and journals then go. Runs under the install lock, so no
/// other install is live.
pub fn recover(layout: &Layout, lock: &mut EnvLock) {
    if let Some(interrupted) = lock.interrupted() {
        let (bytes, committed) = match interrupted {
            Interrupted::Pending(bytes) => (bytes, false),
            Interrupted::Committed(bytes) => (bytes, true),
        };
        match serde_json::from_slice::<CommitPlan>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|plan| plan.check(layout).map(|()| plan))
        {
            Ok(plan) if committed => plan.prune_emptied(&layout.roots),
            Ok(plan) => {
                tracing::warn!(
                    "rolling back an interrupted install ({})",
                    plan.staging.display()
                );
                plan.roll_back();
            }
            Err(why) => tracing::error!("ignoring an install journal that is not Wagon's: {why}"),
        }
    }
    let purelib = layout.purelib();
    if let Ok(entries) = std::fs::read_dir(&purelib) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // `remove_dir_all` removes a link itself, never what it points to.
            if name.starts_with(STAGING_PREFIX)
                && let Err(err) = std::fs::remove_dir_all(entry.path())
            {
                tracing::error!("removing {}: {err}", entry.path().display());
            }
        }
    }
    if let Err(err) = lock.clear() {
        tracing::error!("{err}");
    }
}

/// Test hook for the interrupted-install tests: `WAGON_FAULT_ABORT_AT=N` aborts the process
/// (no clean-up runs, as with SIGKILL) just before the commit's N-th step.
struct FaultPoint {
    abort_at: Option<usize>,
    steps: std::cell::Cell<usize>,
}

impl FaultPoint {
    fn from_env() -> Self {
        Self {
            abort_at: std::env::var("WAGON_FAULT_ABORT_AT")
                .ok()
                .and_then(|v| v.parse().ok()),
            steps: std::cell::Cell::new(0),
        }
    }

    fn step(&self) {
        let step = self.steps.get();
        self.steps.set(step + 1);
        if self.abort_at == Some(step) {
            std::process::abort();
        }
    }
}

fn move_file(from: &Path, to: &Path) -> Result<(), UnpackError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        // Another file system (a scripts folder mounted elsewhere): copy, then remove.
        Err(err) if err.kind() == std::io::ErrorKind::CrossesDevices => {
            std::fs::copy(from, to).map_err(UnpackError::io("copy", to))?;
            std::fs::remove_file(from).map_err(UnpackError::io("remove", from))
        }
        Err(err) => Err(UnpackError::Io {
            action: "move a file to",
            path: to.to_path_buf(),
            source: err,
        }),
    }
}
