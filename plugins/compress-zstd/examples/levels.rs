//! Measures zstd levels and worker counts on a tar (time, size, bytes identical across workers).
//!
//! `cargo run --release -p wagon-compress-zstd --example levels -- FILE.tar [LEVELS] [WORKERS]`
//! (defaults `3,6,9,12,15,19` and `1,2,4`; workers `0` is zstd's single-threaded mode, the
//! plugin's encoder before worker threads, with its long window when `LONG` is set); the gzip
//! plugin at its default level is the baseline. Each cell is the median of three runs; the output
//! is a Markdown table.

use std::io::{self, Write};
use std::time::Instant;

use wagon_core::plugin::{Compressor, Encoder};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Makes an encoder around the output it is given.
type MakeEncoder<'m> = dyn Fn(Box<dyn Write + '_>) -> io::Result<Box<dyn Encoder + '_>> + 'm;

fn parse<T: std::str::FromStr>(list: Option<&str>, default: &str) -> Vec<T> {
    list.unwrap_or(default)
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// Compresses `data` three times with `make`; returns the median seconds and the bytes.
fn measure(data: &[u8], make: &MakeEncoder<'_>) -> Result<(f64, Vec<u8>)> {
    let mut times = Vec::new();
    let mut out = Vec::new();
    for _ in 0..3 {
        out = Vec::with_capacity(data.len());
        let start = Instant::now();
        {
            let mut encoder = make(Box::new(&mut out))?;
            // The archive writer feeds the encoder in chunks of this order of size.
            for chunk in data.chunks(64 * 1024) {
                encoder.write_all(chunk)?;
            }
            encoder.finish()?;
        }
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok((times[1], out))
}

/// zstd's single-threaded mode (workers `0`).
struct SingleThread<'a>(zstd::stream::write::Encoder<'a, Box<dyn Write + 'a>>);

impl Write for SingleThread<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Encoder for SingleThread<'_> {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.flush()
    }
}

fn single_thread<'a>(output: Box<dyn Write + 'a>, level: i32) -> io::Result<Box<dyn Encoder + 'a>> {
    let mut encoder = zstd::stream::write::Encoder::new(output, level)?;
    encoder.include_checksum(true)?;
    if std::env::var_os("LONG").is_some() {
        encoder.long_distance_matching(true)?;
        encoder.window_log(wagon_compress_zstd::WINDOW_LOG)?;
    }
    Ok(Box::new(SingleThread(encoder)))
}

#[allow(clippy::cast_precision_loss)] // sizes in MB for a table
fn mb(n: usize) -> f64 {
    n as f64 / 1e6
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: levels FILE.tar [LEVELS] [WORKERS]")?;
    let levels: Vec<i32> = parse(args.get(1).map(String::as_str), "3,6,9,12,15,19");
    let workers: Vec<u32> = parse(args.get(2).map(String::as_str), "1,2,4");
    let data = std::fs::read(path)?;
    println!(
        "input {path}: {:.1} MB; {} cores",
        mb(data.len()),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!();
    let gzip = wagon_compress_gzip::Gzip;
    let (gz_time, gz) = measure(&data, &|out| gzip.encoder(out, gzip.default_level()))?;
    println!(
        "| format | level | workers | s | MB/s | size MB | vs gz size | vs gz time | same bytes as 1 worker |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| gz | {} | 1 | {gz_time:.2} | {:.0} | {:.2} | 1.000 | 1.00 | — |",
        gzip.default_level(),
        mb(data.len()) / gz_time,
        mb(gz.len())
    );
    for &level in &levels {
        let mut first: Option<Vec<u8>> = None;
        for &n in &workers {
            let (time, bytes) = measure(&data, &|out| {
                if n == 0 {
                    single_thread(out, level)
                } else {
                    wagon_compress_zstd::encoder(out, level, n)
                }
            })?;
            let same = match &first {
                _ if n == 0 => "(single-threaded mode)",
                None => "—",
                Some(one) if *one == bytes => "yes",
                Some(_) => "NO",
            };
            println!(
                "| zst | {level} | {n} | {time:.2} | {:.0} | {:.2} | {:.3} | {:.2} | {same} |",
                mb(data.len()) / time,
                mb(bytes.len()),
                mb(bytes.len()) / mb(gz.len()),
                time / gz_time
            );
            if first.is_none() && n != 0 {
                first = Some(bytes);
            }
        }
    }
    Ok(())
}
