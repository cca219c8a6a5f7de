//! The zstd compressor plugin: `tar.zst` wagons, smaller and faster to unpack than `tar.gz`.

use std::io::{self, Read, Write};

use wagon_core::plugin::{Compressor, Encoder};

/// Zstandard through the reference C library.
#[derive(Debug, Default, Clone, Copy)]
pub struct Zstd;

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
        19
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        1..=22
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        // Single-threaded encoding with a fixed level gives the same bytes on every machine.
        let mut encoder = zstd::stream::write::Encoder::new(output, level.clamp(1, 22))?;
        encoder.include_checksum(true)?;
        Ok(Box::new(ZstdEncoder(encoder)))
    }

    fn decoder<'a>(&self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        let mut decoder = zstd::stream::read::Decoder::new(input)?;
        // Bounds the decoder's window so a hostile frame cannot demand gigabytes of memory.
        decoder.window_log_max(27)?;
        Ok(Box::new(decoder))
    }
}

struct ZstdEncoder<'a>(zstd::stream::write::Encoder<'a, Box<dyn Write + 'a>>);

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
