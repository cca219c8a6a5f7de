//! The checks a zip (a wheel, or a wagon packed as zip) passes before any of its entries is
//! read: every name once, entries that do not share bytes, and declared sizes that real
//! compression could produce. The zip crate keeps only the last of two same-named entries and
//! lets entries overlap, so both are checked on the central directory itself; [`Exact`] then
//! holds each entry to its declared size while it is read.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Deflate cannot expand past about 1032:1; a member claiming more is not a real file.
pub const MAX_MEMBER_RATIO: u64 = 1100;
/// Members this small are never refused for their ratio (a run of zeros compresses well).
const MEMBER_RATIO_FLOOR: u64 = 1 << 20;
/// A whole zip expanding more than this, past `ARCHIVE_RATIO_FLOOR` (256 MiB), is a bomb: real
/// wheels and wagons expand 2–20×.
pub const MAX_ARCHIVE_RATIO: u64 = 250;
const ARCHIVE_RATIO_FLOOR: u64 = 256 << 20;

/// Why a zip is refused before it is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipProblem {
    #[error(
        "two entries are named `{0}`: readers disagree on which one counts, so the zip is refused"
    )]
    Duplicate(String),
    #[error("entries `{0}` and `{1}` overlap: one set of bytes would be read as two files")]
    Overlap(String, String),
    #[error(
        "entry `{name}` claims {size} bytes from {compressed} compressed bytes, more than any \
         real compression gives (a decompression bomb)"
    )]
    MemberRatio {
        name: String,
        size: u64,
        compressed: u64,
    },
    #[error(
        "its entries claim {total} bytes from a {file_size}-byte file, more than any real \
         compression gives (a decompression bomb)"
    )]
    ArchiveRatio { total: u64, file_size: u64 },
    #[error("its entries unpack to more than {}", crate::size::Size(*.max))]
    TooLarge { max: u64 },
    #[error("its central directory cannot be read: {0}")]
    Directory(String),
    #[error(
        "its end-of-central-directory record is ambiguous ({0}): zip readers would disagree on \
         which files it holds"
    )]
    Ambiguous(&'static str),
    #[error("it cannot be opened: {0}")]
    Open(String),
    #[error("it is not a valid zip: {0}")]
    NotZip(String),
}

/// Opens the zip at `path` and [`check`]s it.
pub fn open(path: &Path, max_total: u64) -> Result<zip::ZipArchive<BufReader<File>>, ZipProblem> {
    let open = || File::open(path).map_err(|e| ZipProblem::Open(e.to_string()));
    let file = open()?;
    let file_size = file
        .metadata()
        .map_err(|e| ZipProblem::Open(e.to_string()))?
        .len();
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| ZipProblem::NotZip(e.to_string()))?;
    // The central directory is re-read through a second handle: the crate lends its own
    // reader only by value.
    check(&mut zip, &mut BufReader::new(open()?), file_size, max_total)?;
    Ok(zip)
}

/// Checks `zip`, read from a file of `file_size` bytes, whose entries may unpack to at most
/// `max_total` bytes.
pub fn check<R: Read + Seek, D: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    raw: &mut D,
    file_size: u64,
    max_total: u64,
) -> Result<(), ZipProblem> {
    let directory = |e: &dyn std::fmt::Display| ZipProblem::Directory(e.to_string());
    let mut spans = Vec::with_capacity(zip.len());
    let mut total = 0u64;
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(|e| directory(&e))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if size > MEMBER_RATIO_FLOOR && size / MAX_MEMBER_RATIO > compressed {
            return Err(ZipProblem::MemberRatio {
                name,
                size,
                compressed,
            });
        }
        total = total.saturating_add(size);
        let end = entry.data_start().saturating_add(compressed);
        spans.push((entry.header_start(), end, name));
    }
    if total > max_total {
        return Err(ZipProblem::TooLarge { max: max_total });
    }
    if total > ARCHIVE_RATIO_FLOOR && total / MAX_ARCHIVE_RATIO > file_size {
        return Err(ZipProblem::ArchiveRatio { total, file_size });
    }
    spans.sort();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(ZipProblem::Overlap(pair[0].2.clone(), pair[1].2.clone()));
        }
    }
    end_record_is_unambiguous(raw, file_size)?;
    if zip.offset() != 0 {
        return Err(ZipProblem::Ambiguous("data precedes the first entry"));
    }
    let names = central_names(raw, zip.central_directory_start(), zip.len())?;
    if names.len() != zip.len() {
        // The crate merged same-named records.
        let mut seen = std::collections::HashSet::new();
        let twice = names
            .into_iter()
            .find(|name| !seen.insert(name.clone()))
            .unwrap_or_default();
        return Err(ZipProblem::Duplicate(twice));
    }
    Ok(())
}

const CENTRAL_SIGNATURE: [u8; 4] = *b"PK\x01\x02";
const END_SIGNATURE: &[u8; 4] = b"PK\x05\x06";
const END_RECORD: usize = 22;

/// The last end-of-central-directory signature must be the record, and its comment must end
/// exactly at the end of the file. Readers pick the record differently (Python's `zipfile`
/// takes the last signature as it is; the zip crate skips one whose comment overruns the file
/// and falls back to an earlier one), so a file built to be read two ways is refused.
fn end_record_is_unambiguous<D: Read + Seek>(
    raw: &mut D,
    file_size: u64,
) -> Result<(), ZipProblem> {
    let io = |e: io::Error| ZipProblem::Directory(e.to_string());
    let tail_len = file_size.min((END_RECORD + usize::from(u16::MAX)) as u64);
    raw.seek(SeekFrom::Start(file_size - tail_len))
        .map_err(io)?;
    let mut tail = Vec::new();
    raw.by_ref()
        .take(tail_len)
        .read_to_end(&mut tail)
        .map_err(io)?;
    let at = tail
        .windows(4)
        .rposition(|w| w == END_SIGNATURE)
        .ok_or(ZipProblem::Ambiguous("no end record"))?;
    let comment = tail
        .get(at + 20..at + 22)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or(ZipProblem::Ambiguous("a truncated end record"))?;
    if at + END_RECORD + comment != tail.len() {
        return Err(ZipProblem::Ambiguous(
            "the last end record does not end the file",
        ));
    }
    Ok(())
}

/// The raw names of the central directory's records, in order, read past the zip crate.
fn central_names<D: Read + Seek>(
    reader: &mut D,
    start: u64,
    known: usize,
) -> Result<Vec<String>, ZipProblem> {
    let io = |e: io::Error| ZipProblem::Directory(e.to_string());
    reader.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut names = Vec::new();
    let mut fixed = [0u8; 46];
    loop {
        match reader.read_exact(&mut fixed) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io(e)),
        }
        if fixed[..4] != CENTRAL_SIGNATURE {
            break;
        }
        let field = |at: usize| u64::from(u16::from_le_bytes([fixed[at], fixed[at + 1]]));
        let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
        let mut name = Vec::new();
        reader
            .by_ref()
            .take(name_len)
            .read_to_end(&mut name)
            .map_err(io)?;
        let skip = i64::try_from(extra_len + comment_len).unwrap_or(i64::MAX);
        reader.seek(SeekFrom::Current(skip)).map_err(io)?;
        names.push(String::from_utf8_lossy(&name).into_owned());
        // More records than the crate kept, by any amount, is already the answer.
        if names.len() > known {
            break;
        }
    }
    Ok(names)
}

/// A reader that yields at most `declared` bytes of an entry and fails if the entry holds
/// more: a member is stopped at its declared size while it is written, not after.
pub struct Exact<R> {
    inner: R,
    remaining: u64,
    name: String,
}

impl<R: Read> Exact<R> {
    pub fn new(inner: R, declared: u64, name: impl Into<String>) -> Self {
        Self {
            inner,
            remaining: declared,
            name: name.into(),
        }
    }
}

/// The error [`Exact`] raises when an entry holds more than it declared.
#[derive(Debug, thiserror::Error)]
#[error("{0} holds more bytes than its zip header and RECORD declare")]
pub struct Overflow(pub String);

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    Overflow(self.name.clone()),
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..want])?;
        self.remaining -= read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(data).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn checked(bytes: &[u8]) -> Result<(), ZipProblem> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        check(
            &mut zip,
            &mut Cursor::new(bytes),
            bytes.len() as u64,
            u64::MAX,
        )
    }

    #[test]
    fn a_plain_zip_passes() {
        let bytes = zip_of(
            &[("a.py", b"A = 1\n"), ("b.py", b"B = 2\n")],
            zip::CompressionMethod::Deflated,
        );
        assert_eq!(checked(&bytes), Ok(()));
    }

    #[test]
    fn two_entries_with_one_name_are_refused() {
        let bytes = zip_of(
            &[("x/a.py", b"good\n"), ("x/b.py", b"evil\n")],
            zip::CompressionMethod::Stored,
        );
        // Rename the second entry, in its local and central headers, to the first's name.
        let mut patched = bytes.clone();
        for at in 0..patched.len() - 6 {
            if &patched[at..at + 6] == b"x/b.py" {
                patched[at..at + 6].copy_from_slice(b"x/a.py");
            }
        }
        assert_eq!(
            checked(&patched),
            Err(ZipProblem::Duplicate("x/a.py".into()))
        );
    }

    #[test]
    fn entries_sharing_bytes_are_refused() {
        let mut bytes = zip_of(
            &[("a.txt", b"aaaa"), ("b.txt", b"bbbb")],
            zip::CompressionMethod::Stored,
        );
        // Point the second central record's local-header offset at the first entry.
        let second = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == CENTRAL_SIGNATURE)
            .nth(1)
            .map(|(i, _)| i)
            .unwrap();
        bytes[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(checked(&bytes), Err(ZipProblem::Overlap(..))));
    }

    #[test]
    fn an_impossible_ratio_is_refused_and_limits_hold() {
        let zeros = vec![0u8; 4 << 20];
        let bytes = zip_of(&[("z", &zeros)], zip::CompressionMethod::Deflated);
        assert_eq!(
            checked(&bytes),
            Ok(()),
            "real deflate stays below the ceiling"
        );
        // Claim a 1000x larger size in both headers.
        let size = (zeros.len() as u32).to_le_bytes();
        let claimed = (zeros.len() as u32 * 1000).to_le_bytes();
        let mut patched = bytes.clone();
        for at in 0..patched.len() - 4 {
            if patched[at..at + 4] == size {
                patched[at..at + 4].copy_from_slice(&claimed);
            }
        }
        assert!(matches!(
            checked(&patched),
            Err(ZipProblem::MemberRatio { .. })
        ));
        let mut zip = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(
            check(&mut zip, &mut Cursor::new(&bytes), bytes.len() as u64, 1000),
            Err(ZipProblem::TooLarge { max: 1000 })
        );
    }

    #[test]
    fn an_end_record_that_does_not_end_the_file_is_refused() {
        let bytes = zip_of(&[("a.py", b"A = 1\n")], zip::CompressionMethod::Stored);
        // A comment length running past the end: the zip crate would look for an earlier record.
        let mut overrun = bytes.clone();
        let end = overrun.len() - END_RECORD;
        overrun[end + 20..end + 22].copy_from_slice(&0x200u16.to_le_bytes());
        let mut doubled = bytes.clone();
        doubled.extend_from_slice(&overrun);
        let mut zip = zip::ZipArchive::new(Cursor::new(&doubled)).unwrap();
        assert!(matches!(
            check(
                &mut zip,
                &mut Cursor::new(&doubled),
                doubled.len() as u64,
                u64::MAX
            ),
            Err(ZipProblem::Ambiguous(_))
        ));
        // Bytes after the record are no better.
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(b"junk");
        assert!(matches!(
            end_record_is_unambiguous(&mut Cursor::new(&trailing), trailing.len() as u64),
            Err(ZipProblem::Ambiguous(_))
        ));
    }

    #[test]
    fn exact_stops_at_the_declared_size() {
        let mut out = Vec::new();
        let err = Exact::new(&b"0123456789"[..], 4, "m")
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("m holds more bytes"), "{err}");
        assert_eq!(out, b"0123");
        let mut out = Vec::new();
        Exact::new(&b"0123"[..], 4, "m")
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"0123");
    }
}
