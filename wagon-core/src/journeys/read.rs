//! The read stage every journey that opens an archive shares: the manifest from the archive's
//! head (so a bad one fails fast), then the metadata and wheels unpacked into scratch with every
//! recorded digest verified, the archive and its lock checked against `package.json`, and each
//! wheel read.

use super::JourneyError;
use crate::archive::{Archive, FILES_DIR, WHEELS_DIR};
use crate::manifest::Manifest;
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::wheel::WheelInfo;

/// An archive unpacked into a scratch directory, with its wheels read.
#[derive(Debug)]
pub struct Unpacked {
    pub dir: crate::scratch::ScratchDir,
    pub top: String,
    pub manifest: Manifest,
    pub wheels: Vec<WheelInfo>,
    /// The archive's `pylock.toml`, checked against the manifest.
    pub lock: Option<PyLock>,
}

impl Unpacked {
    /// The directory holding the wheels.
    pub fn wheel_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(&self.top).join(WHEELS_DIR)
    }
}

/// Reads the manifest (from the archive's head, so a bad one fails fast), then unpacks the
/// archive's metadata and wheels into a scratch directory verifying every recorded digest (the
/// added files too, without writing them), then reads each wheel.
pub fn unpack(archive: &Archive) -> Result<Unpacked, JourneyError> {
    unpack_with(archive, false)
}

pub(crate) fn unpack_with(archive: &Archive, with_files: bool) -> Result<Unpacked, JourneyError> {
    let started = std::time::Instant::now();
    let name = archive.path().display().to_string();
    let doc = archive.read_manifest()?;
    let manifest = doc.parse().map_err(|source| JourneyError::Manifest {
        archive: name.clone(),
        source,
    })?;
    let dir = crate::scratch::tempdir("wagon-unpack-").map_err(JourneyError::Scratch)?;
    // `files/*` are for the user (`get-file`), not the installer: hashed, never written.
    let digested = if with_files {
        archive.extract(dir.path())?
    } else {
        archive.extract_without(dir.path(), FILES_DIR)?
    };
    let problems = crate::check::archive::problems(&manifest, &digested.contents, &digested.sha256);
    if !problems.is_empty() {
        return Err(JourneyError::Inconsistent {
            archive: name,
            problems,
        });
    }
    let wheel_dir = dir.path().join(&doc.top).join(WHEELS_DIR);
    let wheels = manifest
        .wheels
        .iter()
        .map(|file| WheelInfo::read(&wheel_dir.join(file)))
        .collect::<Result<Vec<_>, _>>()?;
    tracing::debug!("read and checked the archive in {:.3?}", started.elapsed());
    let lock_path = dir.path().join(&doc.top).join(LOCK_FILE);
    let lock = match std::fs::read_to_string(&lock_path) {
        Err(_) => None,
        Ok(text) => {
            let lock = PyLock::parse(&text)?;
            let disagreements = crate::check::lock::disagreements(&lock, &manifest, &digested);
            if !disagreements.is_empty() {
                return Err(LockError::Disagrees(disagreements).into());
            }
            Some(lock)
        }
    };
    Ok(Unpacked {
        dir,
        top: doc.top,
        manifest,
        wheels,
        lock,
    })
}
