//! The lock journey (`wagon lock`): add a `pylock.toml` to an archive — or replace its lock — with
//! the plan for an interpreter, carrying `package.json`, the wheels and the added files over byte
//! for byte.

use std::path::{Path, PathBuf};

use super::JourneyError;
use super::read::unpack_with;
use crate::archive::{Archive, ArchiveLayout, FILES_DIR, OutputFormat, WHEELS_DIR, write_archive};
use crate::interpreter::Interpreter;
use crate::manifest::MANIFEST_FILE;
use crate::plan::{roots, select};
use crate::pylock::{LOCK_FILE, PyLock};

/// Locks `archive` for `target`, writing the result to `destination` (which may be the archive
/// itself: the write is atomic).
pub fn relock(
    archive: &Archive,
    target: &Interpreter,
    format: &OutputFormat,
    destination: &Path,
) -> Result<PyLock, JourneyError> {
    let unpacked = unpack_with(archive, true)?;
    let roots = roots(&unpacked.manifest, &[])?;
    let excluded = crate::plan::excluded_projects(&unpacked.manifest);
    let plan = select(&unpacked.wheels, &roots, &excluded, &target.env, false)?;
    let lock = PyLock::from_plan(&plan, &unpacked.wheels, &unpacked.manifest, &target.env);
    let top = unpacked.dir.path().join(&unpacked.top);
    let manifest_path = top.join(MANIFEST_FILE);
    let manifest = std::fs::read(&manifest_path).map_err(|source| JourneyError::ReadUnpacked {
        path: manifest_path.clone(),
        source,
    })?;
    let layout = ArchiveLayout {
        top: unpacked.top.clone(),
        manifest,
        metadata_files: vec![(LOCK_FILE.to_string(), lock.to_toml()?.into_bytes())],
        wheels: files_in(&top.join(WHEELS_DIR))?,
        files: files_in(&top.join(FILES_DIR))?,
    };
    write_archive(&layout, format, destination)?;
    Ok(lock)
}

/// The files of an unpacked folder, by name, sorted; none when the archive has no such folder.
pub(crate) fn files_in(folder: &Path) -> Result<Vec<(String, PathBuf)>, JourneyError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JourneyError::ReadUnpacked {
                path: folder.to_path_buf(),
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| JourneyError::ReadUnpacked {
            path: folder.to_path_buf(),
            source,
        })?;
        if entry.path().is_file() {
            found.push((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            ));
        }
    }
    found.sort();
    Ok(found)
}
