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
use crate::plugin::{Compressor, Encoder};

/// 1980-01-01T00:00:00Z: the earliest time zip can store, used for every entry unless
/// `SOURCE_DATE_EPOCH` says otherwise.
pub const DEFAULT_EPOCH: u64 = 315_532_800;
/// 2107-12-31T23:59:58Z: the latest time zip's DOS timestamps can store.
pub const LATEST_ZIP_EPOCH: u64 = 4_354_819_198;

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
    /// An uncompressed tar: what `wagon lock` writes back when it was given one, so relocking
    /// never changes an archive's format.
    PlainTar,
    /// A zip with every entry stored: wheels are already compressed, and stored entries can be
    /// read in place.
    Zip,
}

impl OutputFormat {
    /// The archive's usual suffix (`tar.gz`, `tar`, `zip`).
    pub fn extension(&self) -> String {
        match self {
            Self::Tar { compressor, .. } => format!("tar.{}", compressor.extension()),
            Self::PlainTar => "tar".to_string(),
            Self::Zip => "zip".to_string(),
        }
    }
}

/// The entry timestamp: `SOURCE_DATE_EPOCH` when set (reproducible-builds.org), else 1980.
/// It is clamped to what both formats can store, 1980 to 2107, so a tar and a zip of the same
/// content carry the same time.
pub fn entry_epoch() -> u64 {
    epoch_from(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

/// [`entry_epoch`] for a given `SOURCE_DATE_EPOCH` value; an unparsable one is ignored, as
/// reproducible-builds.org asks of tools that cannot use it.
fn epoch_from(value: Option<&str>) -> u64 {
    value
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map_or(DEFAULT_EPOCH, |epoch| {
            epoch.clamp(DEFAULT_EPOCH, LATEST_ZIP_EPOCH)
        })
}

/// `epoch` (seconds since 1970, UTC, clamped to zip's range) as a zip DOS timestamp. DOS time has
/// no time zone, so the UTC fields are stored (as Python's `zipfile` and `SOURCE_DATE_EPOCH`
/// tooling do), and it counts in 2-second steps, so an odd second is rounded down.
fn zip_time(epoch: u64) -> zip::DateTime {
    // In range by the clamp (1980 to 2107 fits an i64, `time` and zip), so no fallback below is
    // ever taken.
    let seconds = i64::try_from(epoch.clamp(DEFAULT_EPOCH, LATEST_ZIP_EPOCH)).unwrap_or(i64::MAX);
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(seconds) else {
        return zip::DateTime::default();
    };
    zip::DateTime::from_date_and_time(
        u16::try_from(utc.year()).unwrap_or_default(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second() & !1,
    )
    .unwrap_or_default()
}

/// Writes `layout` to `destination` atomically, every entry dated [`entry_epoch`].
pub fn write_archive(
    layout: &ArchiveLayout,
    format: &OutputFormat,
    destination: &Path,
) -> Result<(), ArchiveError> {
    write_archive_at(layout, format, destination, entry_epoch())
}

/// [`write_archive`] with every entry dated `epoch` (seconds since 1970, clamped to 1980–2107).
pub fn write_archive_at(
    layout: &ArchiveLayout,
    format: &OutputFormat,
    destination: &Path,
    epoch: u64,
) -> Result<(), ArchiveError> {
    let epoch = epoch.clamp(DEFAULT_EPOCH, LATEST_ZIP_EPOCH);
    let write_error = |source| ArchiveError::Write {
        path: destination.to_path_buf(),
        source,
    };
    let partial = PartialFile::beside(destination).map_err(write_error)?;
    let file = partial.as_file().try_clone().map_err(write_error)?;
    let entries = ordered_entries(layout);
    match format {
        OutputFormat::Tar { compressor, level } => {
            write_tar(file, Some((compressor.as_ref(), *level)), &entries, epoch)
        }
        OutputFormat::PlainTar => write_tar(file, None, &entries, epoch),
        OutputFormat::Zip => write_zip(file, &entries, epoch),
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

/// The writer under an uncompressed tar: finishing it only flushes.
struct Uncompressed<W: Write>(W);

impl<W: Write> Write for Uncompressed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Encoder for Uncompressed<W> {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }
}

/// Writes a tar through `compression` (a compressor and its level), or uncompressed.
fn write_tar(
    file: File,
    compression: Option<(&dyn Compressor, i32)>,
    entries: &[(String, Content<'_>)],
    epoch: u64,
) -> io::Result<()> {
    let output = BufWriter::with_capacity(256 * 1024, file);
    let encoder: Box<dyn Encoder> = match compression {
        Some((compressor, level)) => compressor.encoder(Box::new(output), level)?,
        None => Box::new(Uncompressed(output)),
    };
    let mut builder = tar::Builder::new(encoder);
    builder.mode(tar::HeaderMode::Deterministic);
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
                let source = File::open(path).map_err(|e| annotate(&e, path))?;
                header.set_size(source.metadata()?.len());
                builder.append_data(&mut header, name, source)?;
            }
        }
    }
    let encoder = builder.into_inner()?;
    encoder.finish()
}

fn write_zip(file: File, entries: &[(String, Content<'_>)], epoch: u64) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip_time(epoch))
        .unix_permissions(0o644)
        .large_file(false);
    for (name, content) in entries {
        let large = match content {
            Content::Bytes(bytes) => bytes.len() as u64 >= u32::MAX as u64,
            Content::File(path) => {
                std::fs::metadata(path)
                    .map_err(|e| annotate(&e, path))?
                    .len()
                    >= u32::MAX as u64
            }
        };
        zip.start_file(name.as_str(), options.large_file(large))
            .map_err(io::Error::other)?;
        match content {
            Content::Bytes(bytes) => zip.write_all(bytes)?,
            Content::File(path) => {
                let mut source = File::open(path).map_err(|e| annotate(&e, path))?;
                io::copy(&mut source, &mut zip)?;
            }
        }
    }
    let mut out = zip.finish().map_err(io::Error::other)?;
    out.flush()
}

fn annotate(error: &io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::super::testing::{expected_files, formats, layout, registry};
    use super::*;

    const EPOCH: u64 = 1_700_000_000; // 2023-11-14T22:13:20Z

    fn write(dir: &Path, layout: &ArchiveLayout, format: &OutputFormat, epoch: u64) -> Vec<u8> {
        let path = dir.join(format!("{epoch}.{}", format.extension()));
        write_archive_at(layout, format, &path, epoch).unwrap();
        std::fs::read(path).unwrap()
    }

    /// The tar entries of an archive the writer made: (name, mode, uid, gid, mtime).
    fn tar_headers(path: &Path) -> Vec<(String, u32, u64, u64, u64)> {
        let compressor = registry().compressor_for_magic(&std::fs::read(path).unwrap());
        let file: Box<dyn Read> = Box::new(File::open(path).unwrap());
        let input = match compressor {
            Some(c) => c.decoder(file).unwrap(),
            None => file,
        };
        tar::Archive::new(input)
            .entries()
            .unwrap()
            .map(|entry| {
                let header = entry.unwrap().header().clone();
                (
                    String::from_utf8(header.path_bytes().into_owned()).unwrap(),
                    header.mode().unwrap(),
                    header.uid().unwrap(),
                    header.gid().unwrap(),
                    header.mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        for (format, name) in formats() {
            let dir = tempfile::tempdir().unwrap();
            let layout = layout(dir.path());
            let first = write(dir.path(), &layout, &format, EPOCH);
            // Given in another order, the same content still packs the same.
            let mut shuffled = layout.clone();
            shuffled.wheels.reverse();
            let other = tempfile::tempdir().unwrap();
            let second = write(other.path(), &shuffled, &format, EPOCH);
            assert!(first == second, "{name}: two writes differ");
            let later = write(dir.path(), &layout, &format, EPOCH + 3600);
            assert!(first != later, "{name}: the epoch changes nothing");
        }
    }

    #[test]
    fn tar_entries_are_ordered_and_owned_alike() {
        for (format, name) in formats() {
            if matches!(format, OutputFormat::Zip) {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let layout = layout(dir.path());
            let path = dir.path().join("out.wgn");
            write_archive_at(&layout, &format, &path, EPOCH).unwrap();
            let headers = tar_headers(&path);
            let names: Vec<String> = expected_files(&layout)
                .into_iter()
                .map(|(n, _)| format!("demo/{n}"))
                .collect();
            assert_eq!(
                headers.iter().map(|h| h.0.clone()).collect::<Vec<_>>(),
                names,
                "{name}"
            );
            for (entry, mode, uid, gid, mtime) in headers {
                assert_eq!(
                    (mode, uid, gid, mtime),
                    (0o644, 0, 0, EPOCH),
                    "{name} {entry}"
                );
            }
        }
    }

    #[test]
    fn zip_entries_are_stored_ordered_and_dated() {
        let dir = tempfile::tempdir().unwrap();
        let layout = layout(dir.path());
        let bytes = write(dir.path(), &layout, &OutputFormat::Zip, EPOCH);
        let mut zip = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        let expected = expected_files(&layout);
        assert_eq!(zip.len(), expected.len());
        for (index, (name, content)) in expected.iter().enumerate() {
            let mut entry = zip.by_index(index).unwrap();
            assert_eq!(entry.name(), format!("demo/{name}"));
            assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
            assert_eq!(entry.unix_mode(), Some(0o100_644), "{name}");
            let time = entry.last_modified().unwrap();
            assert_eq!(
                (time.year(), time.month(), time.day()),
                (2023, 11, 14),
                "{name}"
            );
            assert_eq!((time.hour(), time.minute(), time.second()), (22, 13, 20));
            let mut read = Vec::new();
            entry.read_to_end(&mut read).unwrap();
            assert_eq!(&read, content);
        }
    }

    #[test]
    fn source_date_epoch_is_parsed_and_clamped() {
        assert_eq!(epoch_from(None), DEFAULT_EPOCH);
        assert_eq!(epoch_from(Some("1700000000")), 1_700_000_000);
        assert_eq!(epoch_from(Some(" 1700000000\n")), 1_700_000_000);
        // Ignored when unusable, as reproducible-builds.org asks.
        assert_eq!(epoch_from(Some("yesterday")), DEFAULT_EPOCH);
        assert_eq!(epoch_from(Some("-5")), DEFAULT_EPOCH);
        // Before 1980 or after 2107, zip cannot say it; tar follows so both formats agree.
        assert_eq!(epoch_from(Some("0")), DEFAULT_EPOCH);
        assert_eq!(epoch_from(Some("99999999999")), LATEST_ZIP_EPOCH);
    }

    #[test]
    fn zip_times_are_the_epoch_in_utc_at_two_second_steps() {
        let fields = |epoch| {
            let t = zip_time(epoch);
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
        };
        assert_eq!(fields(DEFAULT_EPOCH), (1980, 1, 1, 0, 0, 0));
        assert_eq!(fields(0), (1980, 1, 1, 0, 0, 0));
        assert_eq!(fields(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(fields(1_700_000_001), (2023, 11, 14, 22, 13, 20));
        // 2024-02-29T12:00:00Z, a leap day; 2000-03-01 after a century leap year.
        assert_eq!(fields(1_709_208_000), (2024, 2, 29, 12, 0, 0));
        assert_eq!(fields(951_868_800), (2000, 3, 1, 0, 0, 0));
        assert_eq!(fields(LATEST_ZIP_EPOCH), (2107, 12, 31, 23, 59, 58));
        assert_eq!(fields(u64::MAX), (2107, 12, 31, 23, 59, 58));
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut layout = layout(dir.path());
        layout
            .files
            .push(("gone.txt".to_string(), dir.path().join("gone.txt")));
        let path = dir.path().join("out.wgn");
        for (format, name) in formats() {
            match write_archive_at(&layout, &format, &path, EPOCH) {
                Err(ArchiveError::Write { source, .. }) => {
                    assert!(source.to_string().contains("gone.txt"), "{name}: {source}");
                }
                other => panic!("{name}: {other:?}"),
            }
            assert!(!path.exists(), "{name}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("out"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
