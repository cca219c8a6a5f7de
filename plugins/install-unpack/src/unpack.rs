//! Unpacking one wheel into the staging folder: every file checked against the wheel's RECORD
//! as it streams through, placed by scheme, scripts' shebangs rewritten, launchers generated, and
//! the installed RECORD composed. Nothing here touches the environment itself.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use wagon_core::archive::Limits;
use wagon_core::archive::zip_check::Exact;
use wagon_core::containment::Destination;
use wagon_core::python::PackageName;
use wagon_core::record::{self, Hasher};
use wagon_core::wheel_contents::{EntryRole, Refused, WheelContents, WheelFacts};

use crate::UnpackError;
use crate::launcher;
use crate::layout::Layout;

/// A file unpacked into staging and where it goes.
#[derive(Debug)]
pub struct StagedFile {
    pub staged: PathBuf,
    pub dest: PathBuf,
    /// Which of the layout's roots `dest` lies in: below it, the staged tree mirrors the
    /// destination, so `staged` and `dest` have the same trailing components.
    pub root: usize,
}

/// A wheel unpacked into staging, ready to be moved into place.
#[derive(Debug)]
pub struct StagedWheel {
    pub name: PackageName,
    pub version: String,
    /// The installed `.dist-info` folder.
    pub dist_info: PathBuf,
    pub lib_dir: PathBuf,
    pub files: Vec<StagedFile>,
}

const COPY_BUFFER: usize = 128 * 1024;

/// Unpacks `wheel` into `staging` (a folder of its own) for `layout`: one tree per root (the
/// numbered subfolders, by index in the layout's roots), each mirroring where its files go.
/// Every entry is bounded by its declared size as it is written.
pub fn unpack(
    wheel: &Path,
    requested: bool,
    layout: &Layout,
    staging: &Path,
) -> Result<StagedWheel, UnpackError> {
    let file_name = wheel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = |message: String| UnpackError::wheel(&file_name, message);
    let refused = |refused: Refused| UnpackError::wheel(&file_name, refused.0);
    let roots = &layout.roots;
    let mut contents =
        WheelContents::open(wheel, Limits::default().max_unpacked_bytes).map_err(refused)?;
    let scripts = contents.scripts(roots).map_err(refused)?;
    let WheelContents { mut zip, facts } = contents;
    std::fs::create_dir_all(staging).map_err(UnpackError::io("create", staging))?;
    let lib_dir = layout.lib_dir(facts.lib_scheme());
    let mut stage = Stager::new(staging, roots.roots());

    let mut files = Vec::new();
    let mut rows = String::new();
    let mut buffer = vec![0u8; COPY_BUFFER];
    for index in 0..zip.len() {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| bad(format!("entry {index}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let path = WheelFacts::entry_path(entry.name_raw()).map_err(refused)?;
        let declared = entry.size();
        let EntryRole::Install {
            dest,
            is_script,
            expected,
        } = facts.role(&path, declared, roots).map_err(refused)?
        else {
            continue;
        };
        let (staged, root) = stage.place(&dest).map_err(&bad)?;
        let executable = entry.unix_mode().is_some_and(|mode| mode & 0o111 != 0);
        let mut verify = match &expected {
            Some(e) => Some(Hasher::new(&e.algorithm).ok_or_else(|| {
                bad(format!(
                    "RECORD uses unknown hash `{}` for {path}",
                    e.algorithm
                ))
            })?),
            None => None,
        };
        // The installed RECORD wants each file's sha256. A file copied unchanged whose wheel
        // RECORD is sha256 already has it verified; only rewritten scripts and other hashes
        // need a second digest.
        let reuses_verified =
            !is_script && expected.as_ref().is_some_and(|e| e.algorithm == "sha256");
        let mut installed_hash = if reuses_verified {
            None
        } else {
            Some(Hasher::new("sha256").ok_or_else(|| bad("sha256 missing".into()))?)
        };
        let out = File::create(&staged).map_err(UnpackError::io("create", &staged))?;
        let mut out = BufWriter::with_capacity(COPY_BUFFER, out);
        // Never more than the zip header (and RECORD, checked equal) declares: a member that
        // inflates past it is refused at that size, before the disk fills.
        let mut reader = Exact::new(&mut entry, declared, path.as_str());
        let mut size = 0u64;
        let installed_size = if is_script {
            // Scripts are small: read whole, so the `#!python` line is seen entire.
            let mut all = Vec::new();
            reader
                .read_to_end(&mut all)
                .map_err(|e| bad(format!("{path} cannot be read: {e}")))?;
            if let Some(hasher) = verify.as_mut() {
                hasher.update(&all);
            }
            size = all.len() as u64;
            let written = rewrite_shebang(all, &layout.python);
            if let Some(hasher) = installed_hash.as_mut() {
                hasher.update(&written);
            }
            out.write_all(&written)
                .map_err(UnpackError::io("write", &staged))?;
            written.len() as u64
        } else {
            loop {
                let read = reader
                    .read(&mut buffer)
                    .map_err(|e| bad(format!("{path} cannot be read: {e}")))?;
                if read == 0 {
                    break;
                }
                let chunk = &buffer[..read];
                if let Some(hasher) = verify.as_mut() {
                    hasher.update(chunk);
                }
                if let Some(hasher) = installed_hash.as_mut() {
                    hasher.update(chunk);
                }
                size += read as u64;
                out.write_all(chunk)
                    .map_err(UnpackError::io("write", &staged))?;
            }
            size
        };
        out.flush().map_err(UnpackError::io("write", &staged))?;
        drop(out);
        let mut verified = None;
        if let (Some(expectation), Some(hasher)) = (&expected, verify) {
            let actual = hasher.finish();
            if actual != expectation.digest || expectation.size.is_some_and(|s| s != size) {
                return Err(bad(format!(
                    "{path} does not match the wheel's RECORD ({}={} expected, {actual} found): the wheel is damaged or was altered",
                    expectation.algorithm, expectation.digest
                )));
            }
            verified = Some(actual);
        }
        let installed_digest = match (installed_hash, verified) {
            (Some(hasher), _) => hasher.finish(),
            (None, Some(verified)) => verified,
            (None, None) => return Err(bad(format!("{path} was not hashed"))),
        };
        if executable {
            set_executable(&staged)?;
        }
        rows.push_str(&record::row(
            &lib_dir,
            &dest.path,
            Some(&installed_digest),
            Some(installed_size),
        ));
        files.push(StagedFile {
            staged,
            dest: dest.path,
            root,
        });
    }

    let dist_info_dir = roots
        .join(facts.lib_scheme(), &facts.dist_info)
        .map_err(|e| bad(e.to_string()))?
        .path;
    let mut generated =
        |dest: &Destination, bytes: &[u8], executable: bool| -> Result<(), UnpackError> {
            let (staged, root) = stage.place(dest).map_err(&bad)?;
            std::fs::write(&staged, bytes).map_err(UnpackError::io("write", &staged))?;
            if executable {
                set_executable(&staged)?;
            }
            rows.push_str(&record::row(
                &lib_dir,
                &dest.path,
                Some(&record::sha256(bytes)),
                Some(bytes.len() as u64),
            ));
            files.push(StagedFile {
                staged,
                dest: dest.path.clone(),
                root,
            });
            Ok(())
        };
    let python = layout.python.display().to_string();
    for (script, dest) in &scripts {
        generated(dest, &launcher::launcher(script, &python), true)?;
    }
    let in_dist_info = |name: &str| {
        roots
            .contain(&dist_info_dir.join(name))
            .map_err(|e| bad(e.to_string()))
    };
    generated(&in_dist_info("INSTALLER")?, b"wagon\n", false)?;
    if requested {
        generated(&in_dist_info("REQUESTED")?, b"", false)?;
    }
    let record_dest = in_dist_info("RECORD")?;
    rows.push_str(&record::row(&lib_dir, &record_dest.path, None, None));
    let (staged, root) = stage.place(&record_dest).map_err(&bad)?;
    std::fs::write(&staged, rows).map_err(UnpackError::io("write", &staged))?;
    files.push(StagedFile {
        staged,
        dest: record_dest.path,
        root,
    });

    Ok(StagedWheel {
        name: facts.filename.name.clone(),
        version: facts.filename.version.to_string(),
        dist_info: dist_info_dir,
        lib_dir,
        files,
    })
}

/// Chooses each file's staged path, creating staging folders as needed (each once).
struct Stager<'a> {
    staging: &'a Path,
    roots: &'a [PathBuf],
    created: HashSet<PathBuf>,
    destinations: HashSet<PathBuf>,
}

impl<'a> Stager<'a> {
    fn new(staging: &'a Path, roots: &'a [PathBuf]) -> Self {
        Self {
            staging,
            roots,
            created: HashSet::new(),
            destinations: HashSet::new(),
        }
    }

    /// The staged path of the file installed at `dest`, and the index of its root.
    fn place(&mut self, dest: &Destination) -> Result<(PathBuf, usize), String> {
        let relative = dest
            .path
            .strip_prefix(&self.roots[dest.root])
            .map_err(|_| format!("{} is outside the environment", dest.path.display()))?;
        if !self.destinations.insert(dest.path.clone()) {
            return Err(format!("two entries install to {}", dest.path.display()));
        }
        let staged = self.staging.join(dest.root.to_string()).join(relative);
        if let Some(parent) = staged.parent()
            && !self.created.contains(parent)
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            self.created.insert(parent.to_path_buf());
        }
        Ok((staged, dest.root))
    }
}

/// pip's `fix_script`: a first line starting `#!python` becomes `#!<target interpreter>`.
fn rewrite_shebang(script: Vec<u8>, python: &Path) -> Vec<u8> {
    if !script.starts_with(b"#!python") {
        return script;
    }
    let rest = script
        .iter()
        .position(|b| *b == b'\n')
        .map_or(&[][..], |i| &script[i + 1..]);
    let mut rewritten = format!("#!{}\n", python.display()).into_bytes();
    rewritten.extend_from_slice(rest);
    rewritten
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), UnpackError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(UnpackError::io("read", path))?
        .permissions()
        .mode();
    // Like pip: the default mode plus execute wherever read is allowed.
    let mode = mode | ((mode & 0o444) >> 2);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(UnpackError::io("chmod", path))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<(), UnpackError> {
    Ok(())
}
