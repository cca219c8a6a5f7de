//! The gzip compressor plugin: `tar.gz` wagons, the format wagon 1.0 wrote and the default.

mod parallel;

use std::io::{self, Read, Write};

use flate2::read::MultiGzDecoder;
use wagon_core::plugin::{Compressor, Encoder};

use crate::parallel::ParallelGzEncoder;

/// gzip through flate2.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gzip;

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

    /// wagon 1.0's format keeps wagon 1.0's plain `.wgn`.
    fn archive_suffix(&self) -> String {
        ".wgn".to_string()
    }

    /// Level 2: a wagon is mostly wheels, which are already deflated, so higher levels cost
    /// time and save almost nothing. On jupyterlab's 48 MB wheelhouse tar (zlib-rs, see
    /// `examples/levels.rs`) level 2 took 0.37× the time of level 6 for a 0.1 % larger file;
    /// level 1 (zlib-rs's quick mode) was 5 % larger.
    fn default_level(&self) -> i32 {
        2
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        0..=9
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        let level = u32::try_from(level.clamp(0, 9)).unwrap_or(2);
        // Blocks deflated on every core, the bytes the same on any machine (see `parallel`).
        Ok(Box::new(GzipEncoder(ParallelGzEncoder::new(
            output, level,
        )?)))
    }

    fn decoder<'a>(&self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        Ok(Box::new(MultiGzDecoder::new(input)))
    }
}

struct GzipEncoder<W: Write>(ParallelGzEncoder<W>);

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
