//! Writing archives reproducibly: the same content always gives the same bytes.
//!
//! `package.json` goes first (so readers find it in the archive's head), then the wheels and the
//! added files in name order, each with a fixed timestamp, owner and mode. The archive is written
//! to a [`PartialFile`] beside the destination and renamed into place, so a reader never sees a
//! torn archive and a failure, an interrupt or a kill leaves nothing behind for long.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ArchiveError, FILES_DIR, WHEELS_DIR};
use crate::manifest::MANIFEST_FILE;
use crate::partial::PartialFile;
use crate::plugin::Compressor;

/// 1980-01-01T00:00:00Z: the earliest time zip can store, used for every entry unless
/// `SOURCE_DATE_EPOCH` says otherwise.
pub const DEFAULT_EPOCH: u64 = 315_532_800;

/// The content of an archive to write.
#[derive(Debug, Clone)]
pub struct ArchiveLayout {
    /// The single top folder (the package name).
    pub top: String,
    /// The serialised `package.json`.
    pub manifest: Vec<u8>,
    /// Other small metadata files beside `package.json` (e.g. `pylock.toml`), by name.
    pub metadata_files: Vec<(String, Vec<u8>)>,
    /// Wheels to store under `wheels/`, by file name.
    pub wheels: Vec<(String, PathBuf)>,
    /// Files to store under `files/`, by name.
    pub files: Vec<(String, PathBuf)>,
}

/// How to pack the archive.
#[derive(Clone)]
pub enum OutputFormat {
    /// A tar stream through a compressor at a level.
    Tar {
        compressor: Arc<dyn Compressor>,
        level: i32,
    },
    /// A zip with every entry stored: wheels are already compressed, and stored entries can be
    /// read in place.
    Zip,
}

impl OutputFormat {
    /// The archive's usual suffix (`tar.gz`, `zip`).
    pub fn extension(&self) -> String {
        match self {
            Self::Tar { compressor, .. } => format!("tar.{}", compressor.extension()),
            Self::Zip => "zip".to_string(),
        }
    }
}

/// The entry timestamp: `SOURCE_DATE_EPOCH` when set (reproducible-builds.org), else 1980.
pub fn entry_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map_or(DEFAULT_EPOCH, |epoch| epoch.max(DEFAULT_EPOCH))
}

/// Writes `layout` to `destination` atomically.
pub fn write_archive(
    layout: &ArchiveLayout,
    format: &OutputFormat,
    destination: &Path,
) -> Result<(), ArchiveError> {
    let write_error = |source| ArchiveError::Write {
        path: destination.to_path_buf(),
        source,
    };
    let partial = PartialFile::beside(destination).map_err(write_error)?;
    let file = partial.as_file().try_clone().map_err(write_error)?;
    let entries = ordered_entries(layout);
    match format {
        OutputFormat::Tar { compressor, level } => {
            write_tar(file, compressor.as_ref(), *level, &entries)
        }
        OutputFormat::Zip => write_zip(file, &entries),
    }
    .map_err(write_error)?;
    partial.persist(destination).map_err(write_error)?;
    Ok(())
}

enum Content<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

fn ordered_entries(layout: &ArchiveLayout) -> Vec<(String, Content<'_>)> {
    let top = &layout.top;
    let mut entries = vec![(
        format!("{top}/{MANIFEST_FILE}"),
        Content::Bytes(&layout.manifest),
    )];
    let mut metadata: Vec<_> = layout.metadata_files.iter().collect();
    metadata.sort_by(|a, b| a.0.cmp(&b.0));
    entries.extend(
        metadata
            .into_iter()
            .map(|(name, bytes)| (format!("{top}/{name}"), Content::Bytes(bytes))),
    );
    let mut wheels: Vec<_> = layout.wheels.iter().collect();
    wheels.sort_by(|a, b| a.0.cmp(&b.0));
    entries.extend(
        wheels
            .into_iter()
            .map(|(name, path)| (format!("{top}/{WHEELS_DIR}/{name}"), Content::File(path))),
    );
    let mut files: Vec<_> = layout.files.iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    entries.extend(
        files
            .into_iter()
            .map(|(name, path)| (format!("{top}/{FILES_DIR}/{name}"), Content::File(path))),
    );
    entries
}

fn write_tar(
    file: File,
    compressor: &dyn Compressor,
    level: i32,
    entries: &[(String, Content<'_>)],
) -> io::Result<()> {
    let encoder =
        compressor.encoder(Box::new(BufWriter::with_capacity(256 * 1024, file)), level)?;
    let mut builder = tar::Builder::new(encoder);
    builder.mode(tar::HeaderMode::Deterministic);
    let epoch = entry_epoch();
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_mtime(epoch);
        header.set_uid(0);
        header.set_gid(0);
        match content {
            Content::Bytes(bytes) => {
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, name, *bytes)?;
            }
            Content::File(path) => {
                let source = File::open(path).map_err(|e| annotate(e, path))?;
                header.set_size(source.metadata()?.len());
                builder.append_data(&mut header, name, source)?;
            }
        }
    }
    let encoder = builder.into_inner()?;
    encoder.finish()
}

fn write_zip(file: File, entries: &[(String, Content<'_>)]) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    for (name, content) in entries {
        let large = match content {
            Content::Bytes(bytes) => bytes.len() as u64 >= u32::MAX as u64,
            Content::File(path) => {
                std::fs::metadata(path)
                    .map_err(|e| annotate(e, path))?
                    .len()
                    >= u32::MAX as u64
            }
        };
        zip.start_file(name.as_str(), options.large_file(large))
            .map_err(io::Error::other)?;
        match content {
            Content::Bytes(bytes) => zip.write_all(bytes)?,
            Content::File(path) => {
                let mut source = File::open(path).map_err(|e| annotate(e, path))?;
                io::copy(&mut source, &mut zip)?;
            }
        }
    }
    let mut out = zip.finish().map_err(io::Error::other)?;
    out.flush()
}

fn annotate(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}
