//! Unpacking one wheel into the staging folder: every file checked against the wheel's RECORD
//! as it streams through, placed by scheme, scripts' shebangs rewritten, launchers generated, and
//! the installed RECORD composed. Nothing here touches the environment itself.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use wagon_core::archive::safety::safe_relative_path;
use wagon_core::python::{self, PackageName};

use crate::UnpackError;
use crate::entry_points;
use crate::layout::Layout;
use wagon_core::record::{self, Hasher};

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
/// numbered subfolders, by index in `roots`), each mirroring where its files go.
pub fn unpack(
    wheel: &Path,
    requested: bool,
    layout: &Layout,
    roots: &[PathBuf],
    staging: &Path,
) -> Result<StagedWheel, UnpackError> {
    let file_name = wheel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = |message: String| UnpackError::wheel(&file_name, message);
    let filename = python::parse_wheel_filename(&file_name).map_err(|e| bad(e.to_string()))?;
    std::fs::create_dir_all(staging).map_err(UnpackError::io("create", staging))?;
    let file = File::open(wheel).map_err(UnpackError::io("open", wheel))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| bad(format!("not a valid wheel (zip): {e}")))?;

    let dist_info = wagon_core::wheel::dist_info_dir(zip.file_names(), &filename.name, "WHEEL")
        .ok_or_else(|| {
            bad(format!(
                "no {}-{}.dist-info folder with a WHEEL file",
                filename.name.as_dist_info_name(),
                filename.version
            ))
        })?;
    let wheel_meta = read_small(&mut zip, &format!("{dist_info}/WHEEL")).map_err(&bad)?;
    let root_is_purelib = check_wheel_file(&String::from_utf8_lossy(&wheel_meta)).map_err(&bad)?;
    let record_name = format!("{dist_info}/RECORD");
    let expected =
        record::parse(&read_small(&mut zip, &record_name).map_err(&bad)?).map_err(&bad)?;
    let metadata = read_small(&mut zip, &format!("{dist_info}/METADATA")).map_err(&bad)?;
    let display_name = String::from_utf8_lossy(&metadata)
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Name:"))
        .map_or_else(|| filename.name.to_string(), |n| n.trim().to_string());
    let data_dir = format!("{}.data", dist_info.trim_end_matches(".dist-info"));
    let lib_dir = layout.lib_dir(root_is_purelib).to_path_buf();
    let mut stage = Stager::new(staging, roots);
    // Written by the installer itself, whatever the wheel carries.
    let generated_names = [
        format!("{dist_info}/INSTALLER"),
        format!("{dist_info}/REQUESTED"),
    ];

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
        let path = safe_relative_path(entry.name_raw()).map_err(|why| {
            bad(format!(
                "entry `{}` is unsafe: {why}",
                String::from_utf8_lossy(entry.name_raw()).escape_debug()
            ))
        })?;
        let path = path.as_str().to_string();
        if path == record_name || generated_names.contains(&path) {
            continue;
        }
        let is_signature =
            path == format!("{dist_info}/RECORD.jws") || path == format!("{dist_info}/RECORD.p7s");
        let expectation = match expected.get(&path) {
            Some(Some(expectation)) => Some(expectation),
            Some(None) | None if is_signature => None,
            Some(None) => return Err(bad(format!("RECORD lists {path} without a hash"))),
            None => return Err(bad(format!("{path} is in the wheel but not in its RECORD"))),
        };
        let (dest, is_script) =
            destination(&path, &data_dir, &lib_dir, layout, &display_name).map_err(&bad)?;
        let Some(dest) = dest else { continue };
        let (staged, root) = stage.place(&dest).map_err(&bad)?;
        let executable = entry.unix_mode().is_some_and(|mode| mode & 0o111 != 0);
        let mut verify = match expectation {
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
        let reuses_verified = !is_script && expectation.is_some_and(|e| e.algorithm == "sha256");
        let mut installed_hash = if reuses_verified {
            None
        } else {
            Some(Hasher::new("sha256").ok_or_else(|| bad("sha256 missing".into()))?)
        };
        let out = File::create(&staged).map_err(UnpackError::io("create", &staged))?;
        let mut out = BufWriter::with_capacity(COPY_BUFFER, out);
        let mut size = 0u64;
        let installed_size = if is_script {
            // Scripts are small: read whole, so the `#!python` line is seen entire.
            let mut all = Vec::new();
            entry
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
                let read = entry
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
        if let (Some(expectation), Some(hasher)) = (expectation, verify) {
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
            &dest,
            Some(&installed_digest),
            Some(installed_size),
        ));
        files.push(StagedFile { staged, dest, root });
    }

    let dist_info_dir = lib_dir.join(&dist_info);
    let mut generated = |name: &Path, bytes: &[u8], executable: bool| -> Result<(), UnpackError> {
        let (staged, root) = stage.place(name).map_err(&bad)?;
        std::fs::write(&staged, bytes).map_err(UnpackError::io("write", &staged))?;
        if executable {
            set_executable(&staged)?;
        }
        rows.push_str(&record::row(
            &lib_dir,
            name,
            Some(&record::sha256(bytes)),
            Some(bytes.len() as u64),
        ));
        files.push(StagedFile {
            staged,
            dest: name.to_path_buf(),
            root,
        });
        Ok(())
    };
    if let Ok(text) = read_small(&mut zip, &format!("{dist_info}/entry_points.txt")) {
        let python = layout.python.display().to_string();
        for script in entry_points::scripts(&String::from_utf8_lossy(&text)).map_err(&bad)? {
            generated(
                &layout.scripts.join(&script.name),
                &entry_points::launcher(&script, &python),
                true,
            )?;
        }
    }
    generated(&dist_info_dir.join("INSTALLER"), b"wagon\n", false)?;
    if requested {
        generated(&dist_info_dir.join("REQUESTED"), b"", false)?;
    }
    let record_dest = dist_info_dir.join("RECORD");
    rows.push_str(&record::row(&lib_dir, &record_dest, None, None));
    let (staged, root) = stage.place(&record_dest).map_err(&bad)?;
    std::fs::write(&staged, rows).map_err(UnpackError::io("write", &staged))?;
    files.push(StagedFile {
        staged,
        dest: record_dest,
        root,
    });

    Ok(StagedWheel {
        name: filename.name.clone(),
        version: filename.version.to_string(),
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
    fn place(&mut self, dest: &Path) -> Result<(PathBuf, usize), String> {
        let (root, relative) = Layout::root_of(self.roots, dest)
            .ok_or_else(|| format!("{} is outside the environment", dest.display()))?;
        if !self.destinations.insert(dest.to_path_buf()) {
            return Err(format!("two entries install to {}", dest.display()));
        }
        let staged = self.staging.join(root.to_string()).join(relative);
        if let Some(parent) = staged.parent()
            && !self.created.contains(parent)
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            self.created.insert(parent.to_path_buf());
        }
        Ok((staged, root))
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

/// Where a wheel entry goes (`None` to skip it) and whether it is a script.
fn destination(
    path: &str,
    data_dir: &str,
    lib_dir: &Path,
    layout: &Layout,
    project: &str,
) -> Result<(Option<PathBuf>, bool), String> {
    let Some(rest) = path
        .strip_prefix(data_dir)
        .and_then(|r| r.strip_prefix('/'))
    else {
        return Ok((Some(lib_dir.join(path)), false));
    };
    let (scheme, inner) = rest.split_once('/').unwrap_or((rest, ""));
    if inner.is_empty() {
        return Ok((None, false));
    }
    let dir = layout
        .scheme_dir(scheme, project)
        .ok_or_else(|| format!("{path} is in an unknown scheme `{scheme}` (expected purelib, platlib, headers, scripts or data)"))?;
    Ok((Some(dir.join(inner)), scheme == "scripts"))
}

fn read_small<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let mut entry = zip
        .by_name(name)
        .map_err(|_| format!("{name} is missing"))?;
    let mut bytes = Vec::new();
    (&mut entry)
        .take(16 * 1024 * 1024)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name} cannot be read: {e}"))?;
    Ok(bytes)
}

/// Checks `Wheel-Version` (major 1) and returns `Root-Is-Purelib`.
fn check_wheel_file(text: &str) -> Result<bool, String> {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    let version = field("Wheel-Version").ok_or("WHEEL has no Wheel-Version")?;
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(1) => {}
        _ => {
            return Err(format!(
                "Wheel-Version {version} is not supported (Wagon installs 1.x)"
            ));
        }
    }
    if version != "1.0" {
        tracing::warn!("Wheel-Version {version} is newer than 1.0; installing anyway");
    }
    Ok(field("Root-Is-Purelib").is_some_and(|v| v.eq_ignore_ascii_case("true")))
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
