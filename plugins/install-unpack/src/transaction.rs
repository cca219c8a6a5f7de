//! All-or-nothing installs: lock the environment, unpack every wheel into staging (in
//! parallel), then move old versions aside and new files into place, undoing every step if any
//! fails.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wagon_core::python;

use crate::UnpackError;
use crate::layout::Layout;
use crate::unpack::{self, StagedWheel};
use wagon_core::record;

/// The lock file that serialises installs into one environment.
pub const LOCK_FILE: &str = ".wagon-install.lock";

/// An installed distribution found in the environment.
#[derive(Debug, Clone)]
struct Installed {
    dist_info: PathBuf,
    version: String,
}

/// Installs `wheels` (path, requested) into `layout`; returns `name==version` of each installed.
pub fn install(
    layout: &Layout,
    wheels: &[(PathBuf, bool)],
    reinstall: bool,
    compile: bool,
) -> Result<Vec<String>, UnpackError> {
    let lock_path = layout.prefix.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(UnpackError::io("create the install lock", &lock_path))?;
    lock.lock().map_err(UnpackError::io("lock", &lock_path))?;

    recover(layout);
    let installed = scan_installed(layout);
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

    std::fs::create_dir_all(&layout.purelib).map_err(UnpackError::io("create", &layout.purelib))?;
    let staging = tempfile::Builder::new()
        .prefix(".wagon-staging-")
        .tempdir_in(&layout.purelib)
        .map_err(UnpackError::io(
            "create a staging folder in",
            &layout.purelib,
        ))?;
    let started = std::time::Instant::now();
    let roots = layout.roots();
    let staged = unpack_all(layout, &roots, &todo, staging.path())?;
    tracing::debug!(
        "unpacked {} wheels into staging in {:.3?}",
        staged.len(),
        started.elapsed()
    );

    let plan = CommitPlan::new(&staged, &installed, &roots, &staging.path().join("trash"))?;
    plan.execute(staging.path())?;
    tracing::debug!("moved into place in {:.3?}", started.elapsed());
    plan.prune_emptied(&[
        &layout.purelib,
        &layout.platlib,
        &layout.scripts,
        &layout.data,
    ]);
    drop(staging);
    tracing::debug!("cleaned up in {:.3?}", started.elapsed());

    if compile {
        compile_bytecode(layout, &staged)?;
    }
    Ok(staged
        .iter()
        .map(|w| format!("{}=={}", w.name, w.version))
        .collect())
}

/// Unpacks the wheels on all cores, largest first; the first failure wins.
fn unpack_all(
    layout: &Layout,
    roots: &[PathBuf],
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
                    let result = unpack::unpack(wheel, *requested, layout, roots, &wheel_staging);
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

/// The distributions installed in the environment, by normalised name.
fn scan_installed(layout: &Layout) -> BTreeMap<String, Installed> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![&layout.purelib];
    if layout.platlib != layout.purelib {
        dirs.push(&layout.platlib);
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".dist-info") else {
                continue;
            };
            let Some((project, version)) = stem.rsplit_once('-') else {
                continue;
            };
            let Ok(project) = python::package_name(project) else {
                continue;
            };
            found.insert(
                project.to_string(),
                Installed {
                    dist_info: entry.path(),
                    version: version.to_string(),
                },
            );
        }
    }
    found
}

/// Everything the commit will do, decided before it starts and written to disk first, so that
/// an install killed at any point can be undone by the next one ([`recover`]).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct CommitPlan {
    /// Folders to create, parents first.
    created_dirs: Vec<PathBuf>,
    /// Files moved into the trash: old versions' files, and files a new one replaces.
    set_aside: Vec<(PathBuf, PathBuf)>,
    /// Staged files moved to their destinations.
    place: Vec<(PathBuf, PathBuf)>,
}

/// The folders strictly between `root` and `dest`, deepest first.
fn folders_below<'a>(dest: &'a Path, root: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
    dest.ancestors()
        .skip(1)
        .take_while(move |dir| *dir != root && dir.starts_with(root))
}

/// Which folders exist or the plan creates, asking the file system once per folder.
#[derive(Default)]
struct Folders {
    known: HashMap<PathBuf, bool>,
}

impl Folders {
    fn exists(&mut self, dir: &Path) -> bool {
        if let Some(exists) = self.known.get(dir) {
            return *exists;
        }
        let exists = dir.is_dir();
        self.known.insert(dir.to_path_buf(), exists);
        exists
    }

    fn create(&mut self, plan: &mut CommitPlan, dir: &Path) {
        if !self.exists(dir) {
            plan.created_dirs.push(dir.to_path_buf());
            self.known.insert(dir.to_path_buf(), true);
        }
    }

    /// Plans `dir` and its missing parents, parents first.
    fn create_missing(&mut self, plan: &mut CommitPlan, dir: &Path) {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !self.exists(d)).collect();
        for dir in missing.into_iter().rev() {
            self.create(plan, dir);
        }
    }
}

/// The journal's name while the commit runs; renamed to [`COMMITTED`] once it is complete.
const JOURNAL: &str = "journal.json";
const COMMITTED: &str = "committed.json";

impl CommitPlan {
    /// Plans the commit. A folder the environment lacks and only one wheel fills moves into
    /// place whole, in one rename; elsewhere (existing folders, folders shared by several wheels)
    /// files move one by one, and whatever already sits at a destination is set aside first.
    fn new(
        staged: &[StagedWheel],
        installed: &BTreeMap<String, Installed>,
        roots: &[PathBuf],
        trash: &Path,
    ) -> Result<Self, UnpackError> {
        let mut plan = Self::default();
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
                for file in distribution_files(old)? {
                    set_aside(&mut plan, file);
                }
            }
        }

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
        let mut moved: HashSet<&Path> = HashSet::new();
        for (index, wheel) in staged.iter().enumerate() {
            'files: for file in &wheel.files {
                let below: Vec<&Path> = folders_below(&file.dest, &roots[file.root]).collect();
                // Top-down: the first folder that is new and this wheel's alone moves whole.
                for (depth, dir) in below.iter().rev().enumerate() {
                    if moved.contains(dir) {
                        continue 'files;
                    }
                    if dirs.exists(dir) {
                        continue;
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
                if file.dest.symlink_metadata().is_ok() {
                    set_aside(&mut plan, file.dest.clone());
                }
                plan.place.push((file.staged.clone(), file.dest.clone()));
            }
        }
        Ok(plan)
    }

    /// Writes the journal, then performs the plan; on any error undoes what was done.
    fn execute(&self, staging: &Path) -> Result<(), UnpackError> {
        let journal = staging.join(JOURNAL);
        let text = serde_json::to_vec(self).map_err(|e| UnpackError::Other(e.to_string()))?;
        write_synced(&journal, &text)?;
        if let Some(trash) = self.set_aside.first().and_then(|(_, kept)| kept.parent()) {
            std::fs::create_dir_all(trash).map_err(UnpackError::io("create", trash))?;
        }
        let fault = FaultPoint::from_env();
        let result = (|| {
            for dir in &self.created_dirs {
                fault.step();
                match std::fs::create_dir(dir) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(UnpackError::io("create", dir)(err)),
                }
            }
            for (original, kept) in &self.set_aside {
                fault.step();
                move_file(original, kept)?;
            }
            for (staged, dest) in &self.place {
                fault.step();
                move_file(staged, dest)?;
            }
            Ok(())
        })();
        if let Err(err) = result {
            self.roll_back();
            let _ = std::fs::remove_file(&journal);
            return Err(err);
        }
        // The commit point: from here on a recovery keeps the install instead of undoing it.
        std::fs::rename(&journal, staging.join(COMMITTED))
            .map_err(UnpackError::io("complete", &journal))?;
        Ok(())
    }

    /// Puts everything back as it was. Idempotent: it checks what each step left behind, so it
    /// also undoes a commit that was killed half-way.
    fn roll_back(&self) {
        for (staged, dest) in self.place.iter().rev() {
            if !staged.exists()
                && dest.symlink_metadata().is_ok()
                && let Err(err) = std::fs::rename(dest, staged)
            {
                tracing::error!("rolling back {}: {err}", dest.display());
            }
        }
        for (original, kept) in self.set_aside.iter().rev() {
            if kept.exists()
                && original.symlink_metadata().is_err()
                && let Err(err) = std::fs::rename(kept, original)
            {
                tracing::error!("restoring {}: {err}", original.display());
            }
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// After a successful commit: remove folders that setting old files aside left empty.
    fn prune_emptied(&self, roots: &[&PathBuf]) {
        for (original, _) in &self.set_aside {
            let mut dir = original.parent();
            while let Some(current) = dir {
                if roots.iter().any(|root| current == root.as_path())
                    || std::fs::remove_dir(current).is_err()
                {
                    break;
                }
                dir = current.parent();
            }
        }
    }
}

/// Finishes or undoes installs that were interrupted (killed, or the machine stopped): a staging
/// folder with a journal is rolled back, one with a committed journal is kept; either way the
/// staging folder then goes. Runs under the install lock, before any new install.
pub fn recover(layout: &Layout) {
    let Ok(entries) = std::fs::read_dir(&layout.purelib) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(".wagon-staging-") || !entry.path().is_dir() {
            continue;
        }
        let staging = entry.path();
        let journal = staging.join(JOURNAL);
        if let Ok(text) = std::fs::read(&journal) {
            match serde_json::from_slice::<CommitPlan>(&text) {
                Ok(plan) => {
                    tracing::warn!(
                        "rolling back an interrupted install ({})",
                        staging.display()
                    );
                    plan.roll_back();
                }
                Err(err) => {
                    tracing::error!("unreadable install journal {}: {err}", journal.display())
                }
            }
        } else if let Ok(text) = std::fs::read(staging.join(COMMITTED))
            && let Ok(plan) = serde_json::from_slice::<CommitPlan>(&text)
        {
            plan.prune_emptied(&[
                &layout.purelib,
                &layout.platlib,
                &layout.scripts,
                &layout.data,
            ]);
        }
        if let Err(err) = std::fs::remove_dir_all(&staging) {
            tracing::error!("removing {}: {err}", staging.display());
        }
    }
}

/// Writes and flushes a small file, so the journal is on disk before the first move.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), UnpackError> {
    use std::io::Write;
    let mut file = File::create(path).map_err(UnpackError::io("create", path))?;
    file.write_all(bytes)
        .map_err(UnpackError::io("write", path))?;
    file.sync_all().map_err(UnpackError::io("flush", path))
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

/// Every file an installed distribution's RECORD lists, and anything else in its dist-info.
fn distribution_files(old: &Installed) -> Result<Vec<PathBuf>, UnpackError> {
    let lib_dir = old
        .dist_info
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let record_path = old.dist_info.join("RECORD");
    let rows = std::fs::read(&record_path)
        .map_err(UnpackError::io("read", &record_path))
        .and_then(|bytes| record::parse(&bytes).map_err(UnpackError::Other))?;
    let mut files: Vec<PathBuf> = rows
        .keys()
        .filter_map(|path| record::resolve(&lib_dir, path))
        .filter(|file| file.is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir(&old.dist_info) {
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    files.sort();
    files.dedup();
    Ok(files)
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

/// Byte-compiles the installed `.py` files with the target interpreter — one process per core,
/// each asking for the next file as it finishes one, largest first, so the cores stay evenly
/// busy — and adds the `.pyc` files to each RECORD, so an uninstall removes them too.
fn compile_bytecode(layout: &Layout, staged: &[StagedWheel]) -> Result<(), UnpackError> {
    // One path per line in, the `.pyc` written (or an empty line) out, flushed per file.
    const SCRIPT: &str = "import sys, py_compile, importlib.util\nfor line in iter(sys.stdin.readline, ''):\n    path = line.rstrip('\\n')\n    try:\n        py_compile.compile(path, doraise=True)\n        out = importlib.util.cache_from_source(path)\n    except Exception:\n        out = ''\n    sys.stdout.write(out + '\\n')\n    sys.stdout.flush()\n";
    let mut sources: Vec<(usize, &Path, u64)> = staged
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.files.iter().map(move |f| (i, f.dest.as_path())))
        .filter(|(i, path)| {
            path.extension().is_some_and(|e| e == "py")
                && path.starts_with(&staged[*i].lib_dir)
                // The exchange is line by line.
                && !path.as_os_str().as_encoded_bytes().contains(&b'\n')
        })
        .map(|(i, path)| (i, path, std::fs::metadata(path).map_or(0, |m| m.len())))
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    sources.sort_by_key(|(_, _, size)| std::cmp::Reverse(*size));
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(sources.len());
    let next = AtomicUsize::new(0);
    let outputs: Vec<Result<Vec<(usize, String)>, UnpackError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| compile_worker(&layout.python, SCRIPT, &sources, &next)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(UnpackError::Other("a compile thread panicked".into())))
            })
            .collect()
    });
    let mut extra_rows: BTreeMap<usize, String> = BTreeMap::new();
    for output in outputs {
        for (source, pyc) in output? {
            let wheel = sources[source].0;
            let pyc = PathBuf::from(pyc);
            if let Ok(bytes) = std::fs::read(&pyc) {
                extra_rows.entry(wheel).or_default().push_str(&record::row(
                    &staged[wheel].lib_dir,
                    &pyc,
                    Some(&record::sha256(&bytes)),
                    Some(bytes.len() as u64),
                ));
            }
        }
    }
    for (wheel, rows) in extra_rows {
        let record_path = staged[wheel].dist_info.join("RECORD");
        let mut text =
            std::fs::read_to_string(&record_path).map_err(UnpackError::io("read", &record_path))?;
        text.push_str(&rows);
        std::fs::write(&record_path, text).map_err(UnpackError::io("write", &record_path))?;
    }
    Ok(())
}

/// Runs one compiling interpreter, feeding it the next source in `sources` each time it has
/// finished one; returns (index in `sources`, `.pyc` written) for each file it compiled.
fn compile_worker(
    python: &Path,
    script: &str,
    sources: &[(usize, &Path, u64)],
    next: &AtomicUsize,
) -> Result<Vec<(usize, String)>, UnpackError> {
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(UnpackError::io("run", python))?;
    let died = || UnpackError::Other(format!("{} stopped while compiling", python.display()));
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(died());
    };
    let mut stdout = std::io::BufReader::new(stdout);
    let mut compiled = Vec::new();
    let mut line = String::new();
    let result = loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some((_, path, _)) = sources.get(index) else {
            break Ok(());
        };
        let mut request = path.as_os_str().as_encoded_bytes().to_vec();
        request.push(b'\n');
        if stdin
            .write_all(&request)
            .and_then(|()| stdin.flush())
            .is_err()
        {
            break Err(died());
        }
        line.clear();
        match stdout.read_line(&mut line) {
            Ok(read) if read > 0 => {
                let pyc = line.trim_end_matches('\n');
                if !pyc.is_empty() {
                    compiled.push((index, pyc.to_string()));
                }
            }
            _ => break Err(died()),
        }
    };
    drop(stdin);
    let _ = child.wait();
    result.map(|()| compiled)
}
