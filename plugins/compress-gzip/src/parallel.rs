//! gzip on several threads with output that does not depend on how many: the stream is cut into
//! fixed 1 MiB blocks, each deflated on its own and ended with a sync flush (pigz's layout
//! without the shared dictionary), so the same input and level always give the same bytes.
//! Within a block, 64 KiB pieces that already look compressed are stored rather than searched.

use std::io::{self, Write};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use rayon::prelude::*;

/// Input bytes per independently deflated block. Part of the output's definition: changing it
/// changes every archive's bytes.
const BLOCK: usize = 1 << 20;

/// A gzip stream written by blocks deflated in parallel.
pub struct ParallelGzEncoder<W: Write> {
    output: W,
    level: u32,
    /// Blocks waiting to be deflated together, the last one perhaps not yet full.
    pending: Vec<Vec<u8>>,
    /// How many full blocks to gather before deflating them at once.
    batch: usize,
    crc: Crc,
}

impl<W: Write> ParallelGzEncoder<W> {
    /// Starts the stream: a gzip header with no name and a zero mtime, so archives stay
    /// reproducible.
    pub fn new(mut output: W, level: u32) -> io::Result<Self> {
        let extra_flags = match level {
            9 => 2,
            1 => 4,
            _ => 0,
        };
        // ID1 ID2, deflate, no flags, mtime 0, XFL, OS unknown.
        output.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extra_flags, 255])?;
        Ok(Self {
            output,
            level: level.min(9),
            pending: Vec::new(),
            batch: rayon::current_num_threads().max(1) * 2,
            crc: Crc::new(),
        })
    }

    /// Deflates every pending block (in parallel) and writes them in order.
    fn deflate_pending(&mut self) -> io::Result<()> {
        let level = self.level;
        let blocks = std::mem::take(&mut self.pending);
        let deflated: Vec<io::Result<Vec<u8>>> = blocks
            .par_iter()
            .map(|block| deflate_block(block, level))
            .collect();
        for block in deflated {
            self.output.write_all(&block?)?;
        }
        Ok(())
    }

    /// Ends the stream: the rest of the input, an empty final block and the gzip trailer.
    pub fn finish(mut self) -> io::Result<W> {
        self.deflate_pending()?;
        let mut last = Compress::new(Compression::new(self.level), false);
        let mut end = Vec::with_capacity(64);
        while last.compress_vec(&[], &mut end, FlushCompress::Finish)? != Status::StreamEnd {
            end.reserve(64);
        }
        self.output.write_all(&end)?;
        self.output.write_all(&self.crc.sum().to_le_bytes())?;
        self.output.write_all(&self.crc.amount().to_le_bytes())?;
        self.output.flush()?;
        Ok(self.output)
    }
}

impl<W: Write> Write for ParallelGzEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.crc.update(buf);
        let mut rest = buf;
        while !rest.is_empty() {
            match self.pending.last_mut() {
                Some(block) if block.len() < BLOCK => {
                    let take = rest.len().min(BLOCK - block.len());
                    block.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                }
                _ => {
                    if self.pending.len() >= self.batch {
                        self.deflate_pending()?;
                    }
                    self.pending.push(Vec::with_capacity(BLOCK));
                }
            }
        }
        Ok(buf.len())
    }

    /// Passes on what is already deflated; a block is never cut short here, since where blocks
    /// end is part of the output.
    fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }
}

/// Bytes per piece of a block judged on its own: deflated, or stored when already compressed.
const PIECE: usize = 64 << 10;

/// One block as raw deflate ending in a sync flush, so blocks simply concatenate. A wagon is
/// mostly wheels, which are zip files of deflated members: a piece that already looks random
/// (over 7.9 bits of entropy per byte) is stored, not searched for matches it will not have.
fn deflate_block(block: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(block.len() + block.len() / 8 + 64);
    for piece in block.chunks(PIECE) {
        let level = if level > 0 && looks_compressed(piece) {
            0
        } else {
            level
        };
        deflate_piece(piece, level, &mut out)?;
    }
    Ok(out)
}

/// Whether `piece` has the byte entropy of data already compressed.
fn looks_compressed(piece: &[u8]) -> bool {
    let mut counts = [0u32; 256];
    for &byte in piece {
        counts[usize::from(byte)] += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let total = piece.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = f64::from(n) / total;
            -p * p.log2()
        })
        .sum();
    bits > 7.9
}

/// Appends `piece` deflated at `level` and sync-flushed to `out`.
fn deflate_piece(piece: &[u8], level: u32, out: &mut Vec<u8>) -> io::Result<()> {
    let mut deflater = Compress::new(Compression::new(level), false);
    out.reserve(piece.len() + piece.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(deflater.total_in()).map_err(io::Error::other)?;
        deflater.compress_vec(&piece[consumed..], out, FlushCompress::Sync)?;
        let done = deflater.total_in() == piece.len() as u64;
        // Output room left over means the sync flush is complete.
        if done && out.len() < out.capacity() {
            return Ok(());
        }
        out.reserve(out.capacity().max(4096));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::MultiGzDecoder;

    use super::*;

    /// Input that deflates a little, like a tar of wheels: text with some noise.
    fn sample(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if i % 3 == 0 {
                    (state & 0xff) as u8
                } else {
                    b"wheel metadata "[i % 15]
                }
            })
            .collect()
    }

    fn encode(data: &[u8], level: u32, threads: usize, piece: usize) -> Vec<u8> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut encoder = ParallelGzEncoder::new(Vec::new(), level).unwrap();
            for part in data.chunks(piece) {
                encoder.write_all(part).unwrap();
                encoder.flush().unwrap();
            }
            encoder.finish().unwrap()
        })
    }

    #[test]
    fn the_bytes_do_not_depend_on_threads_or_write_sizes() {
        let data = sample(5 * BLOCK + 12_345);
        let one = encode(&data, 2, 1, 7_000);
        for (threads, piece) in [(2, 1 << 16), (4, 3 * BLOCK), (3, 1)] {
            if piece == 1 {
                // Byte-at-a-time writes on a smaller input (keeps the test fast).
                let small = &data[..BLOCK + 10];
                assert_eq!(encode(small, 2, 1, 4096), encode(small, 2, threads, piece));
            } else {
                assert_eq!(one, encode(&data, 2, threads, piece), "{threads} threads");
            }
        }
    }

    #[test]
    fn compressed_pieces_are_stored_and_text_is_deflated() {
        let mut state = 0x9e37_79b9_u32;
        let mut noise: Vec<u8> = (0..2 * BLOCK)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        let text = b"Name: demo\nVersion: 1.0\n".repeat(PIECE / 8);
        noise.extend_from_slice(&text);
        let encoded = encode(&noise, 2, 2, 1 << 16);
        // The noise costs a few bytes per stored block, the text far less than its size.
        let bound = 2 * BLOCK + 2 * BLOCK / PIECE * 16 + text.len() / 4;
        assert!(encoded.len() < bound, "{} bytes", encoded.len());
        let mut decoded = Vec::new();
        MultiGzDecoder::new(&encoded[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, noise);
    }

    #[test]
    fn any_gzip_reader_gets_the_input_back() {
        for (len, level) in [(0, 2), (10, 0), (BLOCK, 9), (3 * BLOCK + 1, 2)] {
            let data = sample(len);
            let encoded = encode(&data, level, 2, 50_000);
            let mut decoded = Vec::new();
            MultiGzDecoder::new(&encoded[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, data, "{len} bytes at level {level}");
        }
    }
}
