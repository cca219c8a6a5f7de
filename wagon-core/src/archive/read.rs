//! Reading archives safely: format detection by magic bytes, one streaming walk over the entries
//! that enforces [`super::safety`]'s rules, and extraction built on that walk.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::safety::{EntryKind, EntryPath, Limits, safe_relative_path};
use super::{ArchiveError, Container};
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::plugin::{Compressor, Registry};
use crate::size::Size;

/// Whether a walk goes on after an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// An opened archive file whose format is known.
pub struct Archive {
    path: PathBuf,
    container: Container,
    limits: Limits,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("path", &self.path)
            .field("format", &self.format_name())
            .finish()
    }
}

/// The raw `package.json` and the folder that holds it.
#[derive(Debug, Clone)]
pub struct ManifestDoc {
    /// The archive's single top folder (`package_name` in wagon 1.0 archives).
    pub top: String,
    pub bytes: Vec<u8>,
}

impl ManifestDoc {
    pub fn parse(&self) -> Result<Manifest, crate::manifest::ManifestError> {
        Manifest::from_json(&self.bytes)
    }
}

/// A full walk's findings plus the sha256 (lowercase hex) of every file, by path below the top.
#[derive(Debug, Clone, Default)]
pub struct Digested {
    pub contents: Contents,
    pub sha256: BTreeMap<String, String>,
}

/// Hashes what passes through it.
struct HashingReader<'r> {
    inner: &'r mut dyn Read,
    hasher: sha2::Sha256,
}

impl<'r> HashingReader<'r> {
    fn new(inner: &'r mut dyn Read) -> Self {
        use sha2::Digest;
        Self {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    fn finish(self) -> String {
        use sha2::Digest;
        hex::encode(self.hasher.finalize())
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use sha2::Digest;
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

/// What a full walk found: the top folder and every file below it with its size.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub top: String,
    /// Paths relative to the top folder (`package.json`, `wheels/x.whl`), with sizes.
    pub files: BTreeMap<String, u64>,
}

impl Contents {
    /// File names directly inside `folder` (e.g. `wheels`).
    pub fn files_in<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files.keys().filter_map(move |path| {
            path.strip_prefix(folder)
                .and_then(|rest| rest.strip_prefix('/'))
                .filter(|name| !name.contains('/'))
        })
    }
}

impl Archive {
    /// Opens `path` and detects its format from its first bytes, whatever its extension.
    pub fn open(path: &Path, registry: &Registry, limits: Limits) -> Result<Self, ArchiveError> {
        // A wheel is a zip too; its many top folders would otherwise be reported as an unsafe
        // entry, which tells the user nothing.
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("whl"))
            && path.is_file()
        {
            return Err(ArchiveError::IsAWheel {
                archive: path.to_path_buf(),
            });
        }
        let mut file = File::open(path).map_err(|source| ArchiveError::Open {
            archive: path.to_path_buf(),
            source,
        })?;
        let mut head = Vec::with_capacity(512);
        (&mut file)
            .take(512)
            .read_to_end(&mut head)
            .map_err(|source| ArchiveError::Open {
                archive: path.to_path_buf(),
                source,
            })?;
        let container = detect(&head, registry).ok_or_else(|| ArchiveError::UnknownFormat {
            archive: path.to_path_buf(),
            head: head
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            known: registry.compressor_names().join(", "),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            container,
            limits,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `zip`, `tar`, or `tar.<extension>` of the compressor.
    pub fn format_name(&self) -> String {
        match &self.container {
            Container::Zip => "zip".to_string(),
            Container::Tar(None) => "tar".to_string(),
            Container::Tar(Some(c)) => format!("tar.{}", c.extension()),
        }
    }

    /// The format to write this archive back in (at the compressor's default level).
    pub fn output_format(&self) -> super::OutputFormat {
        match &self.container {
            Container::Zip => super::OutputFormat::Zip,
            Container::Tar(Some(compressor)) => super::OutputFormat::Tar {
                compressor: Arc::clone(compressor),
                level: compressor.default_level(),
            },
            Container::Tar(None) => super::OutputFormat::PlainTar,
        }
    }

    /// Reads `TOP/package.json`, stopping as soon as it is found (it is the first entry in
    /// archives Wagon writes, so this reads only the head of a large archive).
    pub fn read_manifest(&self) -> Result<ManifestDoc, ArchiveError> {
        let mut found = None;
        let max = self.limits.max_metadata_bytes;
        self.walk(|top, entry, reader| {
            if entry.strip_top(top) == Some(MANIFEST_FILE) {
                found = Some(ManifestDoc {
                    top: top.to_string(),
                    bytes: read_bounded(reader, max, entry, &self.path)?,
                });
                return Ok(Flow::Stop);
            }
            Ok(Flow::Continue)
        })?;
        found.ok_or_else(|| ArchiveError::NoManifest {
            archive: self.path.clone(),
        })
    }

    /// Reads one file below the top folder (`files/x.yaml`) into memory, bounded by the
    /// metadata limit unless `max` says otherwise.
    pub fn read_file(&self, relative: &str, max: u64) -> Result<Option<Vec<u8>>, ArchiveError> {
        let mut found = None;
        self.walk(|top, entry, reader| {
            if entry.strip_top(top) == Some(relative) {
                found = Some(read_bounded(reader, max, entry, &self.path)?);
                return Ok(Flow::Stop);
            }
            Ok(Flow::Continue)
        })?;
        Ok(found)
    }

    /// Visits every regular file in archive order, after checking each entry against the safety
    /// rules: a refused entry ends the walk with an error naming it. The visitor receives the
    /// top folder, the entry's path and a reader of its bytes (bounded by the limits). Returns
    /// what the walk saw; after a [`Flow::Stop`] that is only the part walked.
    pub fn walk<F>(&self, mut visit: F) -> Result<Contents, ArchiveError>
    where
        F: FnMut(&str, &EntryPath, &mut dyn Read) -> Result<Flow, ArchiveError>,
    {
        let mut state = WalkState::new(&self.path, self.limits);
        match &self.container {
            Container::Zip => self.walk_zip(&mut state, &mut visit)?,
            Container::Tar(compressor) => {
                self.walk_tar(compressor.as_ref(), &mut state, &mut visit)?
            }
        }
        if state.top.is_none() {
            return Err(ArchiveError::Empty {
                archive: self.path.clone(),
            });
        }
        Ok(state.into_contents())
    }

    fn walk_tar<F>(
        &self,
        compressor: Option<&Arc<dyn Compressor>>,
        state: &mut WalkState<'_>,
        visit: &mut F,
    ) -> Result<(), ArchiveError>
    where
        F: FnMut(&str, &EntryPath, &mut dyn Read) -> Result<Flow, ArchiveError>,
    {
        let corrupt = |source: io::Error| self.corrupt(&source);
        let file = File::open(&self.path).map_err(|source| ArchiveError::Open {
            archive: self.path.clone(),
            source,
        })?;
        let input: Box<dyn Read> = Box::new(BufReader::with_capacity(256 * 1024, file));
        let input = match compressor {
            Some(c) => c.decoder(input).map_err(corrupt)?,
            None => input,
        };
        let mut tar = tar::Archive::new(input);
        for entry in tar.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let kind = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Directory,
                tar::EntryType::Symlink => EntryKind::Symlink,
                tar::EntryType::Link => EntryKind::Hardlink,
                // Extension headers are metadata of the next entry, which the tar crate applies.
                tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink => continue,
                _ => EntryKind::Special,
            };
            let raw_name = entry.path_bytes().into_owned();
            let size = entry.size();
            if self.step(state, &raw_name, kind, size, &mut entry, visit)? == Flow::Stop {
                return Ok(());
            }
        }
        // Read to the very end so the compressor checks its trailer: an archive cut just before
        // its checksum is damaged even when every entry arrived.
        io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(corrupt)?;
        Ok(())
    }

    /// One entry of a walk, whatever the format: admitted by the walk's rules (or skipped),
    /// visited through a reader bounded by its declared size, then read to its end — which makes
    /// the format check it (the zip crate checks the CRC there).
    fn step<F>(
        &self,
        state: &mut WalkState<'_>,
        raw_name: &[u8],
        kind: EntryKind,
        size: u64,
        entry: &mut dyn Read,
        visit: &mut F,
    ) -> Result<Flow, ArchiveError>
    where
        F: FnMut(&str, &EntryPath, &mut dyn Read) -> Result<Flow, ArchiveError>,
    {
        let Some(path) = state.admit(raw_name, kind, size)? else {
            return Ok(Flow::Continue);
        };
        let top = state.top_name().to_string();
        let mut bounded = state.bounded(entry, &path);
        let flow = visit(&top, &path, &mut bounded)?;
        bounded.drain().map_err(|source| self.corrupt(&source))?;
        Ok(flow)
    }

    fn walk_zip<F>(&self, state: &mut WalkState<'_>, visit: &mut F) -> Result<(), ArchiveError>
    where
        F: FnMut(&str, &EntryPath, &mut dyn Read) -> Result<Flow, ArchiveError>,
    {
        let mut zip = super::zip_check::open(&self.path, self.limits.max_unpacked_bytes).map_err(
            |problem| match problem {
                super::zip_check::ZipProblem::NotZip(_)
                | super::zip_check::ZipProblem::Open(_)
                | super::zip_check::ZipProblem::Directory(_) => {
                    self.corrupt(&io::Error::other(problem))
                }
                super::zip_check::ZipProblem::TooLarge { max } => ArchiveError::TooLarge {
                    archive: self.path.clone(),
                    what: format!(
                        "its entries unpack to more than {} (--max-unpacked-bytes)",
                        Size(max)
                    ),
                },
                refused => ArchiveError::UnsafeEntry {
                    archive: self.path.clone(),
                    entry: "(zip central directory)".to_string(),
                    reason: refused.to_string(),
                },
            },
        )?;
        for index in 0..zip.len() {
            let mut entry = zip
                .by_index(index)
                .map_err(|err| self.corrupt(&io::Error::other(err)))?;
            let mode = entry.unix_mode().unwrap_or(0);
            let kind = match mode & 0o170000 {
                0o120000 => EntryKind::Symlink,
                0o020000 | 0o060000 | 0o010000 | 0o140000 => EntryKind::Special,
                _ if entry.is_dir() => EntryKind::Directory,
                _ => EntryKind::File,
            };
            let raw_name = entry.name_raw().to_vec();
            let size = entry.size();
            if self.step(state, &raw_name, kind, size, &mut entry, visit)? == Flow::Stop {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Extracts every file below `dest` (which should be a new, empty directory), hashing each on
    /// the way. Nothing is written outside `dest`: names are checked before any byte lands.
    pub fn extract(&self, dest: &Path) -> Result<Digested, ArchiveError> {
        self.digest_walk(Some(dest), None)
    }

    /// [`Archive::extract`], but the files below `folder` (e.g. `files`, below the top folder)
    /// are only read and hashed, not written: the limits and digests still cover them.
    pub fn extract_without(&self, dest: &Path, folder: &str) -> Result<Digested, ArchiveError> {
        self.digest_walk(Some(dest), Some(folder))
    }

    /// Reads every file to hash it, writing nothing.
    pub fn digest(&self) -> Result<Digested, ArchiveError> {
        self.digest_walk(None, None)
    }

    fn digest_walk(
        &self,
        dest: Option<&Path>,
        skip: Option<&str>,
    ) -> Result<Digested, ArchiveError> {
        let mut sha256 = BTreeMap::new();
        let contents = self.walk(|top, entry, reader| {
            let skipped = skip.is_some_and(|folder| {
                entry
                    .strip_top(top)
                    .and_then(|relative| relative.strip_prefix(folder))
                    .is_some_and(|rest| rest.starts_with('/'))
            });
            let dest = dest.filter(|_| !skipped);
            let mut out: Box<dyn io::Write> = match dest {
                None => Box::new(io::sink()),
                Some(dest) => Box::new(io::BufWriter::new(self.create_inside(dest, entry)?)),
            };
            let mut tee = HashingReader::new(reader);
            io::copy(&mut tee, &mut out)
                .map_err(|source| self.read_or_write_error(source, dest, entry))?;
            out.flush()
                .map_err(|source| self.read_or_write_error(source, dest, entry))?;
            if let Some(relative) = entry.strip_top(top) {
                sha256.insert(relative.to_string(), tee.finish());
            }
            Ok(Flow::Continue)
        })?;
        Ok(Digested { contents, sha256 })
    }

    fn create_inside(&self, dest: &Path, entry: &EntryPath) -> Result<File, ArchiveError> {
        let Some(target) = super::safety::join_inside(dest, entry) else {
            return Err(ArchiveError::UnsafeEntry {
                archive: self.path.clone(),
                entry: entry.to_string(),
                reason: "it would land outside the destination".to_string(),
            });
        };
        let write_error = |source| ArchiveError::Write {
            path: target.clone(),
            source,
        };
        if let Some(parent) = target.parent() {
            create_dirs_below(dest, parent).map_err(write_error)?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(write_error)
    }

    fn read_or_write_error(
        &self,
        source: io::Error,
        dest: Option<&Path>,
        entry: &EntryPath,
    ) -> ArchiveError {
        // Errors raised while reading (a short entry, a bomb, bad data) are the archive's fault;
        // the rest happened writing to the destination.
        let from_reading = source
            .get_ref()
            .is_some_and(|inner| inner.is::<LimitExceeded>())
            || matches!(
                source.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
            );
        match dest {
            Some(dest) if !from_reading => ArchiveError::Write {
                path: dest.join(entry.to_path()),
                source,
            },
            _ => self.corrupt(&source),
        }
    }

    fn corrupt(&self, source: &io::Error) -> ArchiveError {
        // A limit breach surfaces from inside a reader as an io::Error carrying our error.
        if let Some(limit) = source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<LimitExceeded>())
        {
            return ArchiveError::TooLarge {
                archive: self.path.clone(),
                what: limit.0.clone(),
            };
        }
        ArchiveError::Corrupt {
            archive: self.path.clone(),
            detail: source.to_string(),
        }
    }
}

/// Makes the folders from `dest` (exclusive) down to `folder`. Unlike `create_dir_all`, never
/// makes `dest` itself: when an interrupt has removed the scratch folder under a running
/// extraction, the extraction fails instead of making the folder again.
fn create_dirs_below(dest: &Path, folder: &Path) -> io::Result<()> {
    let Ok(below) = folder.strip_prefix(dest) else {
        return Err(io::Error::other("not inside the destination"));
    };
    let mut current = dest.to_path_buf();
    for part in below.components() {
        current.push(part);
        match std::fs::create_dir(&current) {
            Err(err) if err.kind() != io::ErrorKind::AlreadyExists => return Err(err),
            _ => {}
        }
    }
    Ok(())
}

fn detect(head: &[u8], registry: &Registry) -> Option<Container> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Container::Zip);
    }
    if let Some(compressor) = registry.compressor_for_magic(head) {
        return Some(Container::Tar(Some(compressor)));
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some(Container::Tar(None));
    }
    None
}

fn read_bounded(
    reader: &mut dyn Read,
    max: u64,
    entry: &EntryPath,
    archive: &Path,
) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    reader
        // One byte past the limit tells "at the limit" from "over it"; saturating, because the
        // limit is the user's and may be u64::MAX.
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ArchiveError::Corrupt {
            archive: archive.to_path_buf(),
            detail: format!("reading {entry}: {source}"),
        })?;
    if bytes.len() as u64 > max {
        return Err(ArchiveError::TooLarge {
            archive: archive.to_path_buf(),
            what: format!(
                "{entry} is larger than the {} limit for metadata files \
                 (--max-metadata-bytes)",
                Size(max)
            ),
        });
    }
    Ok(bytes)
}

/// The bookkeeping of one walk: the top folder, names seen, and the budgets left.
struct WalkState<'a> {
    archive: &'a Path,
    limits: Limits,
    top: Option<String>,
    seen: HashSet<String>,
    files: BTreeMap<String, u64>,
    entries: u64,
    unpacked: u64,
}

#[derive(Debug)]
struct LimitExceeded(String);

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitExceeded {}

impl<'a> WalkState<'a> {
    fn new(archive: &'a Path, limits: Limits) -> Self {
        Self {
            archive,
            limits,
            top: None,
            seen: HashSet::new(),
            files: BTreeMap::new(),
            entries: 0,
            unpacked: 0,
        }
    }

    fn top_name(&self) -> &str {
        self.top.as_deref().unwrap_or_default()
    }

    fn unsafe_entry(&self, raw: &[u8], reason: impl Into<String>) -> ArchiveError {
        ArchiveError::UnsafeEntry {
            archive: self.archive.to_path_buf(),
            entry: String::from_utf8_lossy(raw).escape_debug().to_string(),
            reason: reason.into(),
        }
    }

    /// Checks one entry; returns its path when it is a file to visit, `None` for a directory.
    fn admit(
        &mut self,
        raw: &[u8],
        kind: EntryKind,
        size: u64,
    ) -> Result<Option<EntryPath>, ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooLarge {
                archive: self.archive.to_path_buf(),
                what: format!(
                    "it has more than {} entries (--max-entries)",
                    self.limits.max_entries
                ),
            });
        }
        let path =
            safe_relative_path(raw).map_err(|why| self.unsafe_entry(raw, why.to_string()))?;
        match kind {
            EntryKind::File | EntryKind::Directory => {}
            EntryKind::Symlink => {
                return Err(self.unsafe_entry(
                    raw,
                    "it is a symbolic link; wagon archives hold only files and folders",
                ));
            }
            EntryKind::Hardlink => {
                return Err(self.unsafe_entry(
                    raw,
                    "it is a hard link; wagon archives hold only files and folders",
                ));
            }
            EntryKind::Special => {
                return Err(self.unsafe_entry(raw, "it is a device, FIFO or other special file"));
            }
        }
        let first = path.components().next().unwrap_or_default().to_string();
        match &self.top {
            None => self.top = Some(first),
            Some(top) if *top == first => {}
            Some(top) => {
                return Err(self.unsafe_entry(
                    raw,
                    format!("it is outside the archive's single top folder `{top}`"),
                ));
            }
        }
        if kind == EntryKind::Directory {
            return Ok(None);
        }
        if path.strip_top(self.top_name()).is_none() {
            return Err(self.unsafe_entry(raw, "a file cannot stand beside the top folder"));
        }
        if !self.seen.insert(path.as_str().to_string()) {
            return Err(self.unsafe_entry(raw, "it appears twice in the archive"));
        }
        self.unpacked = self.unpacked.saturating_add(size);
        if self.unpacked > self.limits.max_unpacked_bytes {
            return Err(ArchiveError::TooLarge {
                archive: self.archive.to_path_buf(),
                what: format!(
                    "its entries unpack to more than {} (--max-unpacked-bytes)",
                    Size(self.limits.max_unpacked_bytes)
                ),
            });
        }
        if let Some(relative) = path.strip_top(self.top_name()) {
            self.files.insert(relative.to_string(), size);
        }
        Ok(Some(path))
    }

    /// A reader over an entry that refuses to yield more bytes than its header declared or the
    /// archive's remaining budget allows (a lying header cannot smuggle a bomb through).
    fn bounded<'r, R: Read + ?Sized>(&self, inner: &'r mut R, entry: &EntryPath) -> Bounded<'r, R> {
        let declared = self
            .files
            .get(entry.strip_top(self.top_name()).unwrap_or_default())
            .copied()
            .unwrap_or(0);
        Bounded {
            inner,
            remaining: declared,
            entry: entry.to_string(),
        }
    }

    fn into_contents(self) -> Contents {
        Contents {
            top: self.top.unwrap_or_default(),
            files: self.files,
        }
    }
}

struct Bounded<'r, R: Read + ?Sized> {
    inner: &'r mut R,
    remaining: u64,
    entry: String,
}

impl<R: Read + ?Sized> Bounded<'_, R> {
    /// Reads what the visitor left, so the next entry starts at the right place and checksums run.
    fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }
}

impl<R: Read + ?Sized> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Anything beyond the declared size is an attack or corruption.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(LimitExceeded(format!(
                    "{} holds more bytes than its header declares",
                    self.entry
                )))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} ends {} bytes early", self.entry, self.remaining),
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{expected_files, formats, layout, raw_tar, registry, sha256_hex};
    use super::super::{OutputFormat, write_archive_at};
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    /// Writes the test layout in `format` and opens it with `limits`.
    fn written(dir: &Path, format: &OutputFormat, limits: Limits) -> Archive {
        let layout = layout(dir);
        let path = dir.join(format!("demo.{}.wgn", format.extension()));
        write_archive_at(&layout, format, &path, 1_700_000_000).unwrap();
        Archive::open(&path, &registry(), limits).unwrap()
    }

    fn too_large(result: Result<impl std::fmt::Debug, ArchiveError>) -> String {
        match result {
            Err(ArchiveError::TooLarge { what, .. }) => what,
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    fn unsafe_entry(result: Result<impl std::fmt::Debug, ArchiveError>) -> (String, String) {
        match result {
            Err(ArchiveError::UnsafeEntry { entry, reason, .. }) => (entry, reason),
            other => panic!("expected UnsafeEntry, got {other:?}"),
        }
    }

    #[test]
    fn every_format_round_trips_through_the_writer() {
        for (format, name) in formats() {
            let dir = tempfile::tempdir().unwrap();
            let archive = written(dir.path(), &format, limits());
            let expected = expected_files(&layout(dir.path()));
            assert_eq!(archive.format_name(), name);

            let manifest = archive.read_manifest().unwrap();
            assert_eq!(manifest.top, "demo", "{name}");
            assert_eq!(manifest.bytes, expected[0].1, "{name}");

            // The walk sees every file once, in the writer's order, with its size.
            let mut order = Vec::new();
            let contents = archive
                .walk(|top, entry, _| {
                    order.push(entry.strip_top(top).unwrap().to_string());
                    Ok(Flow::Continue)
                })
                .unwrap();
            let names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
            assert_eq!(order, names, "{name}");
            assert_eq!(contents.top, "demo");
            let sizes: BTreeMap<String, u64> = expected
                .iter()
                .map(|(n, b)| (n.clone(), b.len() as u64))
                .collect();
            assert_eq!(contents.files, sizes, "{name}");
            assert_eq!(
                contents.files_in("wheels").collect::<Vec<_>>(),
                ["alpha-2.0-py3-none-any.whl", "zeta-1.0-py3-none-any.whl"]
            );

            // Extraction writes the same bytes and hashes them on the way.
            let dest = dir.path().join("out");
            std::fs::create_dir(&dest).unwrap();
            let digested = archive.extract(&dest).unwrap();
            for (relative, bytes) in &expected {
                assert_eq!(
                    &std::fs::read(dest.join("demo").join(relative)).unwrap(),
                    bytes,
                    "{name} {relative}"
                );
                assert_eq!(digested.sha256[relative], sha256_hex(bytes), "{relative}");
            }
            assert_eq!(digested.sha256.len(), expected.len());
            // digest() reads the same without writing.
            assert_eq!(archive.digest().unwrap().sha256, digested.sha256);

            assert_eq!(
                archive.read_file("files/notes.txt", 100).unwrap().unwrap(),
                b"remember the wagon\n"
            );
            assert_eq!(archive.read_file("files/absent.txt", 100).unwrap(), None);
        }
    }

    #[test]
    fn an_archive_is_written_back_in_its_own_format() {
        for (format, name) in formats() {
            let dir = tempfile::tempdir().unwrap();
            let archive = written(dir.path(), &format, limits());
            let again = archive.output_format();
            assert_eq!(again.extension(), format.extension(), "{name}");
            let copy = dir.path().join("copy.wgn");
            write_archive_at(&layout(dir.path()), &again, &copy, 1_700_000_000).unwrap();
            assert_eq!(
                Archive::open(&copy, &registry(), limits())
                    .unwrap()
                    .format_name(),
                name
            );
        }
    }

    #[test]
    fn the_format_comes_from_the_bytes_not_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let archive = written(dir.path(), &OutputFormat::Zip, limits());
        let renamed = dir.path().join("looks-like.tar.gz");
        std::fs::copy(archive.path(), &renamed).unwrap();
        let opened = Archive::open(&renamed, &registry(), limits()).unwrap();
        assert_eq!(opened.format_name(), "zip");

        let text = dir.path().join("notes.wgn");
        std::fs::write(&text, b"just some text, not an archive").unwrap();
        match Archive::open(&text, &registry(), limits()) {
            Err(ArchiveError::UnknownFormat { head, known, .. }) => {
                assert_eq!(head, "6a 75 73 74 20 73 6f 6d");
                assert_eq!(known, "gzip, zstd");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_top_folder_is_the_first_component_of_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, entries: &[(&str, Option<&[u8]>)]| {
            let path = dir.path().join(name);
            raw_tar(&path, entries);
            Archive::open(&path, &registry(), limits()).unwrap()
        };

        // `./` prefixes and folder entries, as GNU tar writes them, are fine.
        let archive = open(
            "dotted.tar",
            &[
                ("./pkg/", None),
                ("./pkg/package.json", Some(b"{}")),
                ("pkg/wheels/", None),
                ("pkg/wheels/a-1-py3-none-any.whl", Some(b"a")),
            ],
        );
        let contents = archive.walk(|_, _, _| Ok(Flow::Continue)).unwrap();
        assert_eq!(contents.top, "pkg");
        assert_eq!(
            contents.files.keys().collect::<Vec<_>>(),
            ["package.json", "wheels/a-1-py3-none-any.whl"]
        );
        assert_eq!(archive.read_manifest().unwrap().bytes, b"{}");

        let archive = open(
            "two-tops.tar",
            &[("pkg/package.json", Some(b"{}")), ("other/x", Some(b"x"))],
        );
        let (entry, reason) = unsafe_entry(archive.walk(|_, _, _| Ok(Flow::Continue)));
        assert_eq!(entry, "other/x");
        assert!(reason.contains("single top folder `pkg`"), "{reason}");

        let archive = open("loose.tar", &[("package.json", Some(b"{}"))]);
        let (_, reason) = unsafe_entry(archive.walk(|_, _, _| Ok(Flow::Continue)));
        assert!(reason.contains("beside the top folder"), "{reason}");

        let archive = open(
            "twice.tar",
            &[
                ("pkg/package.json", Some(b"{}")),
                ("./pkg/package.json", Some(b"[]")),
            ],
        );
        let (_, reason) = unsafe_entry(archive.walk(|_, _, _| Ok(Flow::Continue)));
        assert!(reason.contains("twice"), "{reason}");

        let archive = open("folders-only.tar", &[("pkg/", None)]);
        assert!(matches!(
            archive.read_manifest(),
            Err(ArchiveError::NoManifest { .. })
        ));
    }

    #[test]
    fn the_entry_limit_is_enforced() {
        for (format, name) in formats() {
            let dir = tempfile::tempdir().unwrap();
            // Five files: exactly at the limit passes, one below is refused.
            let at = written(
                dir.path(),
                &format,
                Limits {
                    max_entries: 5,
                    ..limits()
                },
            );
            at.digest().unwrap();
            let over = Archive::open(
                at.path(),
                &registry(),
                Limits {
                    max_entries: 4,
                    ..limits()
                },
            )
            .unwrap();
            let what = too_large(over.digest());
            assert_eq!(what, "it has more than 4 entries (--max-entries)", "{name}");
        }
    }

    #[test]
    fn the_unpacked_size_limit_is_enforced() {
        for (format, name) in formats() {
            let dir = tempfile::tempdir().unwrap();
            let total: u64 = expected_files(&layout(dir.path()))
                .iter()
                .map(|(_, b)| b.len() as u64)
                .sum();
            let at = written(
                dir.path(),
                &format,
                Limits {
                    max_unpacked_bytes: total,
                    ..limits()
                },
            );
            at.digest().unwrap();
            let over = Archive::open(
                at.path(),
                &registry(),
                Limits {
                    max_unpacked_bytes: total - 1,
                    ..limits()
                },
            )
            .unwrap();
            let what = too_large(over.digest());
            assert_eq!(
                what,
                format!(
                    "its entries unpack to more than {} (--max-unpacked-bytes)",
                    Size(total - 1)
                ),
                "{name}"
            );
            // Refused before a byte lands.
            let dest = dir.path().join("out");
            std::fs::create_dir(&dest).unwrap();
            too_large(over.extract(&dest));
            if name != "zip" {
                // Tar is checked entry by entry: the entry over the budget never lands.
                assert!(!dest.join("demo/files/notes.txt").exists());
            } else {
                // A zip's central directory is checked before any entry.
                assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
            }
        }
    }

    #[test]
    fn the_metadata_limit_bounds_package_json_and_read_file() {
        for (format, name) in formats() {
            let dir = tempfile::tempdir().unwrap();
            let size = layout(dir.path()).manifest.len() as u64;
            let with = |max_metadata_bytes| {
                let archive = written(
                    dir.path(),
                    &format,
                    Limits {
                        max_metadata_bytes,
                        ..limits()
                    },
                );
                archive.read_manifest()
            };
            assert_eq!(with(size).unwrap().bytes.len() as u64, size, "{name}");
            // The largest limit a user can type must not overflow (a debug build panicked).
            assert_eq!(with(u64::MAX).unwrap().bytes.len() as u64, size, "{name}");
            let what = too_large(with(size - 1));
            assert_eq!(
                what,
                format!(
                    "demo/package.json is larger than the {} limit for metadata files \
                     (--max-metadata-bytes)",
                    Size(size - 1)
                )
            );
            let archive = written(dir.path(), &format, limits());
            assert!(archive.read_file("files/notes.txt", u64::MAX).is_ok());
            too_large(archive.read_file("files/notes.txt", 5));
        }
    }

    #[test]
    fn a_truncated_tar_is_damaged() {
        // The last entry's header declares more than the stream still holds.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.tar");
        raw_tar(
            &path,
            &[
                ("pkg/package.json", Some(b"{}")),
                ("pkg/big", Some(&[1u8; 2000])),
            ],
        );
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(1024 + 512 + 1000);
        std::fs::write(&path, &bytes).unwrap();
        let archive = Archive::open(&path, &registry(), limits()).unwrap();
        match archive.digest() {
            Err(ArchiveError::Corrupt { detail, .. }) => assert!(!detail.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unpack_project_honours_the_limits() {
        let dir = tempfile::tempdir().unwrap();
        let sdist = dir.path().join("demo-1.0.tar");
        raw_tar(
            &sdist,
            &[
                (
                    "demo-1.0/pyproject.toml",
                    Some(b"[project]\nname = \"demo\"\n"),
                ),
                ("demo-1.0/demo.py", Some(&[b'#'; 500])),
            ],
        );
        let fetched =
            super::super::unpack_project(&sdist, &registry(), limits(), &dir.path().join("ok"))
                .unwrap();
        assert_eq!(
            fetched,
            crate::plugin::Fetched::Project(dir.path().join("ok/demo-1.0"))
        );
        let refused = super::super::unpack_project(
            &sdist,
            &registry(),
            Limits {
                max_unpacked_bytes: 100,
                ..limits()
            },
            &dir.path().join("refused"),
        )
        .unwrap_err();
        assert!(
            refused.contains("more than 100 bytes (--max-unpacked-bytes)"),
            "{refused}"
        );
        assert!(!dir.path().join("refused/demo-1.0/demo.py").exists());

        // A wheel is handed on untouched, whatever it holds.
        let wheel = dir.path().join("demo-1.0-py3-none-any.whl");
        std::fs::write(&wheel, b"unread").unwrap();
        assert_eq!(
            super::super::unpack_project(&wheel, &registry(), limits(), dir.path()).unwrap(),
            crate::plugin::Fetched::Wheels(crate::plugin::FetchedWheels::single(wheel))
        );
    }
}
