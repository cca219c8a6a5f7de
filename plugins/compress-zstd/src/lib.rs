//! The zstd compressor plugin: `tar.zst` wagons, smaller and faster to unpack than `tar.gz`.

use std::io::{self, Read, Write};

use wagon_core::plugin::{Compressor, Encoder};

/// The level when none is asked for, chosen by measurement (README, "Create speed"): wheels are
/// already deflated, so higher levels cost up to 100 times the time for under 1 % of size; what
/// shrinks a wheelhouse is the long window below.
pub const DEFAULT_LEVEL: i32 = 3;

/// The window, as a power of two (128 MiB): long-distance matching finds the stored files and
/// identical deflate streams that recur across wheels (12 % of jupyterlab's wheelhouse). 27 is
/// the largest window zstd decoders accept without being told (`--long`), and the one this
/// plugin's decoder allows.
pub const WINDOW_LOG: u32 = 27;

/// At most this many compression threads by default; more gain little on wheels.
const MAX_WORKERS: u32 = 8;

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
        DEFAULT_LEVEL
    }

    fn levels(&self) -> std::ops::RangeInclusive<i32> {
        1..=22
    }

    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>> {
        encoder(output, level, default_workers())
    }

    fn decoder<'a>(&self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        let mut decoder = zstd::stream::read::Decoder::new(input)?;
        // Bounds the decoder's window so a hostile frame cannot demand gigabytes of memory.
        decoder.window_log_max(WINDOW_LOG)?;
        Ok(Box::new(decoder))
    }
}

/// The worker threads used by default: one per core, at least one and at most eight.
#[must_use]
pub fn default_workers() -> u32 {
    std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok())
        .unwrap_or(1)
        .clamp(1, MAX_WORKERS)
}

/// A zstd encoder at `level`, with long-distance matching over a [`WINDOW_LOG`] window, on
/// `workers` compression threads (at least one).
///
/// Always zstd's multithreaded mode, even with one worker: its frame is cut into jobs whose size
/// depends on the level alone, so the bytes are the same for any number of workers (a unit test
/// checks it) and archives stay reproducible across machines. The single-threaded mode (zero
/// workers) would give different bytes, so it is never used.
///
/// # Errors
/// When zstd refuses a parameter.
pub fn encoder<'a>(
    output: Box<dyn Write + 'a>,
    level: i32,
    workers: u32,
) -> io::Result<Box<dyn Encoder + 'a>> {
    let mut encoder = zstd::stream::write::Encoder::new(output, level.clamp(1, 22))?;
    encoder.include_checksum(true)?;
    encoder.long_distance_matching(true)?;
    encoder.window_log(WINDOW_LOG)?;
    encoder.multithread(workers.max(1))?;
    Ok(Box::new(ZstdEncoder(encoder)))
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Bytes that compress somewhat and span several zstd jobs at levels 1 and 3 (jobs of
    /// 4 window sizes: 8 MiB at level 3), so the workers really split the frame. Higher levels
    /// have larger jobs; `examples/levels.rs` checks them on a real wheelhouse.
    fn sample() -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut data = Vec::with_capacity(24 << 20);
        while data.len() < 24 << 20 {
            // xorshift: pseudo-random, with runs of text in between so matches exist.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state.is_multiple_of(4) {
                data.extend_from_slice(b"Requires-Dist: packaging>=23; python_version >= '3.9'\n");
            } else {
                data.extend_from_slice(&state.to_le_bytes());
            }
        }
        data
    }

    fn compress(data: &[u8], level: i32, workers: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = encoder(Box::new(&mut out), level, workers).unwrap();
            for chunk in data.chunks(64 * 1024) {
                encoder.write_all(chunk).unwrap();
            }
            encoder.finish().unwrap();
        }
        out
    }

    #[test]
    fn any_worker_count_gives_the_same_bytes() {
        let data = sample();
        for level in [1, 3] {
            let one = compress(&data, level, 1);
            assert!(one.len() < data.len(), "level {level} did not compress");
            for workers in [2, 4] {
                assert!(
                    compress(&data, level, workers) == one,
                    "level {level}: {workers} workers gave other bytes than 1"
                );
            }
        }
    }

    #[test]
    fn zero_workers_still_uses_the_multithreaded_format() {
        let data = sample();
        assert!(compress(&data, 3, 0) == compress(&data, 3, 2));
    }

    #[test]
    fn what_it_writes_reads_back() {
        let data = &sample()[..1 << 20];
        let packed = compress(data, DEFAULT_LEVEL, default_workers());
        let mut back = Vec::new();
        Zstd.decoder(Box::new(packed.as_slice()))
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data);
    }
}
