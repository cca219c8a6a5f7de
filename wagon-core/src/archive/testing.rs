//! Fixtures for the archive layer's unit tests: gzip and zstd compressors (the real ones are
//! plugins, which depend on this crate), a registry holding them, and a small layout on disk.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use sha2::Digest;

use super::{ArchiveLayout, OutputFormat};
use crate::plugin::{Compressor, Encoder, Registry};

pub struct Gzip;

struct GzipEncoder<W: Write>(flate2::write::GzEncoder<W>);

impl<W: Write> Write for GzipEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Encoder for GzipEncoder<W> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.flush()
    }
}

impl Compressor for Gzip {
    fn name(&self) -> &str {
        "gzip"
    }

    fn extension(&self) -> &str {
        "gz"
    }

    fn magic(&self) -> &[u8] {
        &[0x1f, 0x8b]
    }

    fn default_level(&self) -> i32 {
        6
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        0..=9
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        let level = flate2::Compression::new(u32::try_from(level).unwrap());
        Ok(Box::new(GzipEncoder(
            flate2::GzBuilder::new().mtime(0).write(output, level),
        )))
    }

    fn decoder<'a>(&self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(input)))
    }
}

pub struct Zstd;

struct ZstdEncoder<'a>(zstd::Encoder<'a, Box<dyn Write + 'a>>);

impl Write for ZstdEncoder<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Encoder for ZstdEncoder<'_> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.flush()
    }
}

impl Compressor for Zstd {
    fn name(&self) -> &str {
        "zstd"
    }

    fn extension(&self) -> &str {
        "zst"
    }

    fn magic(&self) -> &[u8] {
        &[0x28, 0xb5, 0x2f, 0xfd]
    }

    fn default_level(&self) -> i32 {
        3
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        1..=19
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        Ok(Box::new(ZstdEncoder(zstd::Encoder::new(output, level)?)))
    }

    fn decoder<'a>(&self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        Ok(Box::new(zstd::Decoder::new(input)?))
    }
}

/// A registry with gzip and zstd.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register_compressor(Arc::new(Gzip))
        .register_compressor(Arc::new(Zstd));
    registry
}

/// Every format the writer writes, with the name [`super::Archive::format_name`] gives it.
pub fn formats() -> Vec<(OutputFormat, &'static str)> {
    vec![
        (
            OutputFormat::Tar {
                compressor: Arc::new(Gzip),
                level: 6,
            },
            "tar.gz",
        ),
        (
            OutputFormat::Tar {
                compressor: Arc::new(Zstd),
                level: 3,
            },
            "tar.zst",
        ),
        (OutputFormat::PlainTar, "tar"),
        (OutputFormat::Zip, "zip"),
    ]
}

/// A layout of top folder `demo` with a manifest, a lock file, two "wheels" and one added file,
/// each given out of name order; their content lies in `dir`.
pub fn layout(dir: &Path) -> ArchiveLayout {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        (name.to_string(), path)
    };
    ArchiveLayout {
        top: "demo".to_string(),
        manifest: br#"{"package_name": "demo"}"#.to_vec(),
        metadata_files: vec![(
            "pylock.toml".to_string(),
            b"lock-version = \"1.0\"\n".to_vec(),
        )],
        wheels: vec![
            write("zeta-1.0-py3-none-any.whl", &[7u8; 3000]),
            write("alpha-2.0-py3-none-any.whl", b"not really a wheel"),
        ],
        files: vec![write("notes.txt", b"remember the wagon\n")],
    }
}

/// What [`layout`] holds, by path below the top folder, in the order the writer stores it.
pub fn expected_files(layout: &ArchiveLayout) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        ("package.json".to_string(), layout.manifest.clone()),
        (
            "pylock.toml".to_string(),
            layout.metadata_files[0].1.clone(),
        ),
    ];
    let mut wheels = layout.wheels.clone();
    wheels.sort();
    for (name, path) in wheels {
        files.push((format!("wheels/{name}"), std::fs::read(path).unwrap()));
    }
    for (name, path) in &layout.files {
        files.push((format!("files/{name}"), std::fs::read(path).unwrap()));
    }
    files
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// An uncompressed tar of raw `(name, Some(bytes) | None for a folder)` entries, written as
/// given, for archives the writer would never make.
pub fn raw_tar(path: &Path, entries: &[(&str, Option<&[u8]>)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        match content {
            Some(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, name, *bytes).unwrap();
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, name, io::empty()).unwrap();
            }
        }
    }
    builder.into_inner().unwrap().flush().unwrap();
}
