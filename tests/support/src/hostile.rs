//! Builds malformed and malicious archives for Wagon's error-path tests.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// One tar entry, its name written verbatim (`../evil`, `/abs` and all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEntry {
    /// A regular file.
    File { name: String, data: Vec<u8> },
    /// A directory.
    Dir { name: String },
    /// A symbolic link pointing at `target`.
    Symlink { name: String, target: String },
    /// A hard link to the earlier entry `target`.
    Hardlink { name: String, target: String },
}

impl RawEntry {
    /// A regular file entry.
    pub fn file(name: &str, data: impl Into<Vec<u8>>) -> RawEntry {
        RawEntry::File {
            name: name.to_owned(),
            data: data.into(),
        }
    }

    /// A directory entry.
    pub fn dir(name: &str) -> RawEntry {
        RawEntry::Dir {
            name: name.to_owned(),
        }
    }

    /// A symbolic link entry.
    pub fn symlink(name: &str, target: &str) -> RawEntry {
        RawEntry::Symlink {
            name: name.to_owned(),
            target: target.to_owned(),
        }
    }

    /// A hard link entry.
    pub fn hardlink(name: &str, target: &str) -> RawEntry {
        RawEntry::Hardlink {
            name: name.to_owned(),
            target: target.to_owned(),
        }
    }
}

/// Writes a tar.gz at `out` holding `entries` in order, names unsanitised.
///
/// The tar crate's `set_path` refuses `..` and absolute paths, so names go straight
/// into the header's name fields; each must fit in 100 bytes.
pub fn tar_gz_with_entries(out: &Path, entries: &[RawEntry]) {
    let file = File::create(out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_500_000_000);
        let (name, data, link): (&str, &[u8], Option<&str>) = match entry {
            RawEntry::File { name, data } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                (name, data, None)
            }
            RawEntry::Dir { name } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                (name, &[], None)
            }
            RawEntry::Symlink { name, target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                (name, &[], Some(target))
            }
            RawEntry::Hardlink { name, target } => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                (name, &[], Some(target))
            }
        };
        let old = header.as_old_mut();
        copy_raw(&mut old.name, name);
        if let Some(target) = link {
            copy_raw(&mut old.linkname, target);
        }
        header.set_size(data.len() as u64);
        header.set_cksum();
        tar.append(&header, data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn copy_raw(field: &mut [u8; 100], value: &str) {
    let bytes = value.as_bytes();
    assert!(
        bytes.len() <= field.len(),
        "raw tar names are limited to {} bytes: {value:?}",
        field.len()
    );
    field.fill(0);
    field[..bytes.len()].copy_from_slice(bytes);
}

/// Writes a zip at `out` holding `(name, data)` file entries in order, names verbatim.
pub fn zip_with_entries<N: AsRef<str>, D: AsRef<[u8]>>(out: &Path, entries: &[(N, D)]) {
    let file = File::create(out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        zip.start_file(name.as_ref(), options).unwrap();
        zip.write_all(data.as_ref()).unwrap();
    }
    zip.finish().unwrap();
}

/// Cuts the file at `path` down to `len` bytes, as an interrupted download would.
pub fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(len))
        .unwrap_or_else(|e| panic!("cannot truncate {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::GzDecoder;

    use super::*;

    #[test]
    fn tar_keeps_raw_names_and_links() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("evil.tar.gz");
        tar_gz_with_entries(
            &out,
            &[
                RawEntry::dir("pkg/"),
                RawEntry::file("../evil", "x"),
                RawEntry::file("/abs/path", "yy"),
                RawEntry::symlink("pkg/link", "../../etc/passwd"),
                RawEntry::hardlink("pkg/hard", "/etc/shadow"),
            ],
        );
        let mut archive = tar::Archive::new(GzDecoder::new(File::open(&out).unwrap()));
        let seen: Vec<(String, Option<String>, tar::EntryType, Vec<u8>)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
                let link = entry
                    .link_name_bytes()
                    .map(|l| String::from_utf8(l.into_owned()).unwrap());
                let kind = entry.header().entry_type();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                (name, link, kind, data)
            })
            .collect();
        use tar::EntryType::*;
        assert_eq!(
            seen,
            [
                ("pkg/".into(), None, Directory, vec![]),
                ("../evil".into(), None, Regular, b"x".to_vec()),
                ("/abs/path".into(), None, Regular, b"yy".to_vec()),
                (
                    "pkg/link".into(),
                    Some("../../etc/passwd".into()),
                    Symlink,
                    vec![]
                ),
                ("pkg/hard".into(), Some("/etc/shadow".into()), Link, vec![]),
            ]
        );
    }

    #[test]
    fn zip_keeps_raw_names() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("evil.zip");
        zip_with_entries(
            &out,
            &[("../evil", b"x".as_slice()), ("/abs", b"y".as_slice())],
        );
        let mut archive = zip::ZipArchive::new(File::open(&out).unwrap()).unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().to_owned())
            .collect();
        assert_eq!(names, ["../evil", "/abs"]);
    }

    #[test]
    fn truncate_shortens_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        truncate(&path, 4);
        assert_eq!(std::fs::read(&path).unwrap(), b"0123");
    }
}
