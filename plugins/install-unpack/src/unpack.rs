//! Unpacking one wheel into the staging folder: every file checked against the wheel's RECORD
//! as it streams through, placed by scheme, scripts' shebangs rewritten, launchers generated, and
//! the installed RECORD composed. Nothing here touches the environment itself.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use wagon_core::archive::zip_check::Exact;
use wagon_core::archive::{EntryPath, Limits};
use wagon_core::containment::Destination;
use wagon_core::entry_points::Script;
use wagon_core::python::PackageName;
use wagon_core::record::{self, Expected, Hasher};
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
    let mut staged = WheelStaging {
        wheel: &file_name,
        layout,
        lib_dir: &lib_dir,
        stage: Stager::new(staging, roots.roots()),
        files: Vec::new(),
        rows: String::new(),
    };

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
        let executable = entry.unix_mode().is_some_and(|mode| mode & 0o111 != 0);
        // Never more than the zip header (and RECORD, checked equal) declares: a member that
        // inflates past it is refused at that size, before the disk fills.
        let reader = Exact::new(&mut entry, declared, path.as_str());
        let install = Install {
            path: &path,
            dest,
            is_script,
            expected: expected.as_ref(),
            executable,
        };
        let (file, row) = staged.copy_entry(reader, install, &mut buffer)?;
        staged.rows.push_str(&row);
        staged.files.push(file);
    }

    let dist_info_dir = roots
        .join(facts.lib_scheme(), &facts.dist_info)
        .map_err(|e| bad(e.to_string()))?
        .path;
    let files = staged.write_generated(&scripts, requested, &dist_info_dir)?;
    Ok(StagedWheel {
        name: facts.filename.name.clone(),
        version: facts.filename.version.to_string(),
        dist_info: dist_info_dir,
        lib_dir,
        files,
    })
}

/// One entry of the wheel to install, as the wheel's RECORD and zip header describe it.
struct Install<'a> {
    path: &'a EntryPath,
    dest: Destination,
    is_script: bool,
    /// The wheel RECORD's hash and size; `None` only for signatures.
    expected: Option<&'a Expected>,
    /// Whether the zip gives the entry an execute bit.
    executable: bool,
}

/// One wheel's staging under way: where its files are staged, and the installed RECORD's rows
/// for those staged so far.
struct WheelStaging<'a> {
    /// The wheel's file name, which errors name.
    wheel: &'a str,
    layout: &'a Layout,
    /// The folder the installed RECORD's paths are relative to.
    lib_dir: &'a Path,
    stage: Stager<'a>,
    files: Vec<StagedFile>,
    rows: String,
}

impl WheelStaging<'_> {
    fn bad(&self, message: impl Into<String>) -> UnpackError {
        UnpackError::wheel(self.wheel, message)
    }

    /// Copies one entry to its staged path, verifying it against the wheel's RECORD as it
    /// streams through (`reader` stops it at its declared size); returns the staged file and
    /// its row of the installed RECORD.
    fn copy_entry(
        &mut self,
        reader: impl Read,
        install: Install<'_>,
        buffer: &mut [u8],
    ) -> Result<(StagedFile, String), UnpackError> {
        let Install {
            path,
            dest,
            is_script,
            expected,
            executable,
        } = install;
        let (staged, root) = self.stage.place(&dest).map_err(|e| self.bad(e))?;
        let mut digests = Digests::new(path, expected, is_script).map_err(|e| self.bad(e))?;
        let out = File::create(&staged).map_err(UnpackError::io("create", &staged))?;
        let mut out = BufWriter::with_capacity(COPY_BUFFER, out);
        let copied = if is_script {
            copy_script(reader, &mut out, &self.layout.python, &mut digests)
        } else {
            copy_stream(reader, &mut out, buffer, &mut digests)
        };
        let (size, installed_size) = copied.map_err(|e| match e {
            CopyError::Read(e) => self.bad(format!("{path} cannot be read: {e}")),
            CopyError::Write(e) => UnpackError::io("write", &staged)(e),
        })?;
        out.flush().map_err(UnpackError::io("write", &staged))?;
        drop(out);
        let installed_digest = digests
            .finish(path, expected, size)
            .map_err(|e| self.bad(e))?;
        if executable {
            set_executable(&staged)?;
        }
        let row = record::row(
            self.lib_dir,
            &dest.path,
            Some(&installed_digest),
            Some(installed_size),
        );
        let file = StagedFile {
            staged,
            dest: dest.path,
            root,
        };
        Ok((file, row))
    }

    /// Writes the files the installer makes itself — launchers for the wheel's entry points,
    /// `INSTALLER`, `REQUESTED` when asked for, and last the installed RECORD listing every
    /// staged file — and returns all the staged files.
    fn write_generated(
        mut self,
        scripts: &[(Script, Destination)],
        requested: bool,
        dist_info_dir: &Path,
    ) -> Result<Vec<StagedFile>, UnpackError> {
        let python = self.layout.python.display().to_string();
        for (script, dest) in scripts {
            self.write_file(dest, &launcher::launcher(script, &python), true)?;
        }
        let (layout, wheel) = (self.layout, self.wheel);
        let in_dist_info = |name: &str| {
            layout
                .roots
                .contain(&dist_info_dir.join(name))
                .map_err(|e| UnpackError::wheel(wheel, e.to_string()))
        };
        let installer = in_dist_info("INSTALLER")?;
        self.write_file(&installer, b"wagon\n", false)?;
        if requested {
            let requested = in_dist_info("REQUESTED")?;
            self.write_file(&requested, b"", false)?;
        }
        let record_dest = in_dist_info("RECORD")?;
        self.rows
            .push_str(&record::row(self.lib_dir, &record_dest.path, None, None));
        let (staged, root) = self.stage.place(&record_dest).map_err(|e| self.bad(e))?;
        std::fs::write(&staged, &self.rows).map_err(UnpackError::io("write", &staged))?;
        self.files.push(StagedFile {
            staged,
            dest: record_dest.path,
            root,
        });
        Ok(self.files)
    }

    /// Stages one generated file of `bytes` to install at `dest`, with its RECORD row.
    fn write_file(
        &mut self,
        dest: &Destination,
        bytes: &[u8],
        executable: bool,
    ) -> Result<(), UnpackError> {
        let (staged, root) = self.stage.place(dest).map_err(|e| self.bad(e))?;
        std::fs::write(&staged, bytes).map_err(UnpackError::io("write", &staged))?;
        if executable {
            set_executable(&staged)?;
        }
        self.rows.push_str(&record::row(
            self.lib_dir,
            &dest.path,
            Some(&record::sha256(bytes)),
            Some(bytes.len() as u64),
        ));
        self.files.push(StagedFile {
            staged,
            dest: dest.path.clone(),
            root,
        });
        Ok(())
    }
}

/// The hashes one entry is copied through: the wheel RECORD's algorithm over what is read, to
/// verify it, and sha256 over what is written, for the installed RECORD.
struct Digests {
    verify: Option<Hasher>,
    installed: Option<Hasher>,
}

impl Digests {
    /// The hashers `path` needs; refuses a RECORD hash algorithm Wagon does not know.
    fn new(path: &EntryPath, expected: Option<&Expected>, is_script: bool) -> Result<Self, String> {
        let verify =
            match expected {
                Some(e) => Some(Hasher::new(&e.algorithm).ok_or_else(|| {
                    format!("RECORD uses unknown hash `{}` for {path}", e.algorithm)
                })?),
                None => None,
            };
        // The installed RECORD wants each file's sha256. A file copied unchanged whose wheel
        // RECORD is sha256 already has it verified; only rewritten scripts and other hashes
        // need a second digest.
        let reuses_verified = !is_script && expected.is_some_and(|e| e.algorithm == "sha256");
        let installed = if reuses_verified {
            None
        } else {
            Some(Hasher::new("sha256").ok_or_else(|| "sha256 missing".to_string())?)
        };
        Ok(Self { verify, installed })
    }

    /// Feeds bytes as read from the wheel.
    fn read(&mut self, bytes: &[u8]) {
        if let Some(hasher) = self.verify.as_mut() {
            hasher.update(bytes);
        }
    }

    /// Feeds bytes as written to staging.
    fn written(&mut self, bytes: &[u8]) {
        if let Some(hasher) = self.installed.as_mut() {
            hasher.update(bytes);
        }
    }

    /// Checks the `size` bytes read against the wheel's RECORD, and returns the sha256 of what
    /// was written.
    fn finish(
        self,
        path: &EntryPath,
        expected: Option<&Expected>,
        size: u64,
    ) -> Result<String, String> {
        let mut verified = None;
        if let (Some(expectation), Some(hasher)) = (expected, self.verify) {
            let actual = hasher.finish();
            if actual != expectation.digest || expectation.size.is_some_and(|s| s != size) {
                return Err(format!(
                    "{path} does not match the wheel's RECORD ({}={} expected, {actual} found): the wheel is damaged or was altered",
                    expectation.algorithm, expectation.digest
                ));
            }
            verified = Some(actual);
        }
        match (self.installed, verified) {
            (Some(hasher), _) => Ok(hasher.finish()),
            (None, Some(verified)) => Ok(verified),
            (None, None) => Err(format!("{path} was not hashed")),
        }
    }
}

/// Which side of a copy failed.
enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Copies a script, its `#!python` line rewritten; returns the bytes read and written.
fn copy_script(
    mut reader: impl Read,
    out: &mut impl Write,
    python: &Path,
    digests: &mut Digests,
) -> Result<(u64, u64), CopyError> {
    // Scripts are small: read whole, so the `#!python` line is seen entire.
    let mut all = Vec::new();
    reader.read_to_end(&mut all).map_err(CopyError::Read)?;
    digests.read(&all);
    let size = all.len() as u64;
    let written = rewrite_shebang(all, python);
    digests.written(&written);
    out.write_all(&written).map_err(CopyError::Write)?;
    Ok((size, written.len() as u64))
}

/// Copies any other file unchanged, a buffer at a time; returns the bytes read and written.
fn copy_stream(
    mut reader: impl Read,
    out: &mut impl Write,
    buffer: &mut [u8],
    digests: &mut Digests,
) -> Result<(u64, u64), CopyError> {
    let mut size = 0u64;
    loop {
        let read = reader.read(buffer).map_err(CopyError::Read)?;
        if read == 0 {
            break;
        }
        let chunk = &buffer[..read];
        digests.read(chunk);
        digests.written(chunk);
        size += read as u64;
        out.write_all(chunk).map_err(CopyError::Write)?;
    }
    Ok((size, size))
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
