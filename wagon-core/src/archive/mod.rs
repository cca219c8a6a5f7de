//! The wagon archive: one top folder holding `package.json`, `wheels/*.whl` and optional
//! `files/*`, packed as zip or as a tar compressed by any registered [`Compressor`].
//!
//! [`read`] opens any such archive safely, whatever its extension; [`mod@write`] packs one
//! reproducibly.

pub mod read;
pub mod safety;
#[cfg(test)]
mod testing;
pub mod write;
pub mod zip_check;

use std::path::PathBuf;
use std::sync::Arc;

use crate::plugin::Compressor;

pub use read::{Archive, Contents, Digested, Flow, ManifestDoc};
pub use safety::{EntryPath, Limits};
pub use write::{ArchiveLayout, OutputFormat, write_archive, write_archive_at};

/// The folder inside the top folder that holds the wheels.
pub const WHEELS_DIR: &str = "wheels";
/// The folder inside the top folder that holds files added with `--add-file`.
pub const FILES_DIR: &str = "files";

/// How the archive's entries are stored.
#[derive(Clone)]
pub enum Container {
    Zip,
    /// A tar stream, compressed by the given compressor (or not at all).
    Tar(Option<Arc<dyn Compressor>>),
}

/// Why an archive could not be read or written. Messages name the archive and the entry.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot open {archive}: {source}")]
    Open {
        archive: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{archive} is not a wagon archive: its first bytes ({head}) are neither zip nor a tar \
         compressed with a known compressor ({known}). Check that the file is the archive you \
         meant and that it was copied completely."
    )]
    UnknownFormat {
        archive: PathBuf,
        head: String,
        known: String,
    },
    #[error(
        "{archive} is damaged or truncated ({detail}). Copy or download it again; `wagon \
         validate` checks a copy."
    )]
    Corrupt { archive: PathBuf, detail: String },
    #[error("{archive} holds no entries")]
    Empty { archive: PathBuf },
    #[error(
        "refusing {archive}: entry `{entry}` is unsafe: {reason}. Nothing was written outside \
         the destination; do not use this archive."
    )]
    UnsafeEntry {
        archive: PathBuf,
        entry: String,
        reason: String,
    },
    #[error(
        "refusing {archive}: {what}. If the archive is genuine, raise the limit (see `--help` \
         for the limit flags)."
    )]
    TooLarge { archive: PathBuf, what: String },
    #[error(
        "{archive} has no package.json in its top folder, so it is not a wagon archive (a wagon \
         holds TOP/package.json and TOP/wheels/*.whl)"
    )]
    NoManifest { archive: PathBuf },
    #[error(
        "{archive} is a wheel, not a wagon archive. A wagon holds a package together with all \
         its dependency wheels: make one from this wheel with `wagon create {archive}` (its \
         dependencies come from your package index), then install that archive"
    )]
    IsAWheel { archive: PathBuf },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Unpacks a downloaded or local source distribution into `dest` and says what it holds: a
/// wheel is passed on as it is; an archive (sdist, GitHub tarball, zip) is unpacked safely and
/// its single top folder is the project, read within the user's `limits` like any archive.
/// The error is a sentence for the user.
pub fn unpack_project(
    path: &std::path::Path,
    registry: &crate::plugin::Registry,
    limits: Limits,
    dest: &std::path::Path,
) -> Result<crate::plugin::Fetched, String> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("whl"))
    {
        return Ok(crate::plugin::Fetched::Wheels(
            crate::plugin::FetchedWheels::single(path.to_path_buf()),
        ));
    }
    let archive = Archive::open(path, registry, limits).map_err(|err| err.to_string())?;
    std::fs::create_dir_all(dest)
        .map_err(|err| format!("cannot create {}: {err}", dest.display()))?;
    let digested = archive.extract(dest).map_err(|err| err.to_string())?;
    let project = dest.join(&digested.contents.top);
    if !project.join("pyproject.toml").is_file() && !project.join("setup.py").is_file() {
        return Err(format!(
            "{} holds no Python project: its top folder `{}` has neither pyproject.toml nor setup.py",
            path.display(),
            digested.contents.top
        ));
    }
    Ok(crate::plugin::Fetched::Project(project))
}
