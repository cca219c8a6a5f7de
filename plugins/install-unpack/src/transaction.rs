//! All-or-nothing installs: lock the environment, unpack every wheel into staging (in
//! parallel), then move old versions aside and new files into place, undoing every step if any
//! fails.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wagon_core::python;

use crate::UnpackError;
use crate::layout::Layout;
use crate::record;
use crate::unpack::{self, StagedWheel};

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
    let staged = unpack_all(layout, &todo, staging.path())?;
    tracing::debug!(
        "unpacked {} wheels into staging in {:.3?}",
        staged.len(),
        started.elapsed()
    );

    let mut journal = Journal::new(staging.path().join("trash"));
    if let Err(err) = commit(&staged, &installed, &mut journal) {
        journal.roll_back();
        return Err(err);
    }
    tracing::debug!("moved into place in {:.3?}", started.elapsed());
    journal.prune_emptied(&[
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
                    let result =
                        unpack::unpack(wheel, *requested, layout, &staging.join(index.to_string()));
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

fn commit(
    staged: &[StagedWheel],
    installed: &BTreeMap<String, Installed>,
    journal: &mut Journal,
) -> Result<(), UnpackError> {
    for wheel in staged {
        if let Some(old) = installed.get(wheel.name.as_str()) {
            tracing::info!("removing {} {} first", wheel.name, old.version);
            remove_distribution(old, journal)?;
        }
    }
    for wheel in staged {
        for file in &wheel.files {
            journal.place(&file.staged, &file.dest)?;
        }
    }
    Ok(())
}

/// Moves every file an installed distribution's RECORD lists (and its dist-info) aside.
fn remove_distribution(old: &Installed, journal: &mut Journal) -> Result<(), UnpackError> {
    let lib_dir = old
        .dist_info
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let record_path = old.dist_info.join("RECORD");
    let rows = std::fs::read(&record_path)
        .map_err(UnpackError::io("read", &record_path))
        .and_then(|bytes| record::parse(&bytes).map_err(UnpackError::Other))?;
    let mut paths: Vec<&String> = rows.keys().collect();
    paths.sort();
    for path in paths {
        if let Some(file) = record::resolve(&lib_dir, path)
            && file.is_file()
        {
            journal.set_aside(&file)?;
        }
    }
    // Anything left in the dist-info (a stray file) goes too, so no stale metadata remains.
    if let Ok(entries) = std::fs::read_dir(&old.dist_info) {
        for entry in entries.flatten() {
            if entry.path().is_file() {
                journal.set_aside(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// What the commit did, so that it can be undone.
enum Step {
    CreatedDir(PathBuf),
    Placed(PathBuf),
    SetAside { original: PathBuf, kept: PathBuf },
}

struct Journal {
    trash: PathBuf,
    steps: Vec<Step>,
}

impl Journal {
    fn new(trash: PathBuf) -> Self {
        Self {
            trash,
            steps: Vec::new(),
        }
    }

    /// Moves `file` into the trash (same file system, so a rename).
    fn set_aside(&mut self, file: &Path) -> Result<(), UnpackError> {
        std::fs::create_dir_all(&self.trash).map_err(UnpackError::io("create", &self.trash))?;
        let kept = self.trash.join(self.steps.len().to_string());
        move_file(file, &kept)?;
        self.steps.push(Step::SetAside {
            original: file.to_path_buf(),
            kept,
        });
        Ok(())
    }

    /// Moves a staged file to `dest`, setting aside whatever was there.
    fn place(&mut self, staged: &Path, dest: &Path) -> Result<(), UnpackError> {
        if let Some(parent) = dest.parent() {
            self.create_dirs(parent)?;
        }
        if dest.symlink_metadata().is_ok() {
            self.set_aside(dest)?;
        }
        move_file(staged, dest)?;
        self.steps.push(Step::Placed(dest.to_path_buf()));
        Ok(())
    }

    fn create_dirs(&mut self, dir: &Path) -> Result<(), UnpackError> {
        if dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.create_dirs(parent)?;
        }
        std::fs::create_dir(dir).map_err(UnpackError::io("create", dir))?;
        self.steps.push(Step::CreatedDir(dir.to_path_buf()));
        Ok(())
    }

    /// Undoes every step, newest first, leaving the environment as it was.
    fn roll_back(&mut self) {
        while let Some(step) = self.steps.pop() {
            let result = match &step {
                Step::Placed(path) => std::fs::remove_file(path),
                Step::SetAside { original, kept } => std::fs::rename(kept, original),
                Step::CreatedDir(dir) => std::fs::remove_dir(dir),
            };
            if let Err(err) = result {
                tracing::error!("rolling back the install: {err}");
            }
        }
    }

    /// After a successful commit: remove folders that setting old files aside left empty.
    fn prune_emptied(&self, roots: &[&PathBuf]) {
        for step in &self.steps {
            let Step::SetAside { original, .. } = step else {
                continue;
            };
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
/// each taking its share of the files — and adds the `.pyc` files to each RECORD, so an
/// uninstall removes them too.
fn compile_bytecode(layout: &Layout, staged: &[StagedWheel]) -> Result<(), UnpackError> {
    const SCRIPT: &str = "import sys, py_compile, importlib.util\nfor line in sys.stdin:\n    path = line.rstrip('\\n')\n    try:\n        py_compile.compile(path, doraise=True)\n        print(importlib.util.cache_from_source(path))\n    except Exception:\n        print('')\n";
    let sources: Vec<(usize, &Path)> = staged
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.files.iter().map(move |f| (i, f.dest.as_path())))
        .filter(|(i, path)| {
            path.extension().is_some_and(|e| e == "py") && path.starts_with(&staged[*i].lib_dir)
        })
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(sources.len());
    let chunk = sources.len().div_ceil(workers);
    let outputs: Vec<Result<String, UnpackError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .chunks(chunk)
            .map(|part| scope.spawn(move || compile_chunk(&layout.python, SCRIPT, part)))
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
    for (part, output) in sources.chunks(chunk).zip(outputs) {
        for ((wheel, _), pyc) in part.iter().zip(output?.lines()) {
            if pyc.is_empty() {
                continue;
            }
            let pyc = PathBuf::from(pyc);
            if let Ok(bytes) = std::fs::read(&pyc) {
                extra_rows.entry(*wheel).or_default().push_str(&record::row(
                    &staged[*wheel].lib_dir,
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

/// Runs one compiling interpreter over `files`; returns one output line per file.
fn compile_chunk(
    python: &Path,
    script: &str,
    files: &[(usize, &Path)],
) -> Result<String, UnpackError> {
    use std::io::Write;
    let input: String = files
        .iter()
        .map(|(_, p)| format!("{}\n", p.display()))
        .collect();
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(UnpackError::io("run", python))?;
    // Feed the list from another thread: the child's output fills its pipe while we write.
    let stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(input.as_bytes());
        }
    });
    let output = child
        .wait_with_output()
        .map_err(UnpackError::io("run", python))?;
    let _ = feeder.join();
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
