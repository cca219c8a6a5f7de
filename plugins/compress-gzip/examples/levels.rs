//! Times gzip (flate2 over zlib-rs, as the plugin uses it) at several levels on one file, the
//! median of three runs each: `cargo run --release -p wagon-compress-gzip --example levels --
//! FILE.tar [LEVELS]` (LEVELS comma-separated, default `1,2,3,4,5,6,9`).

use std::io::Write;
use std::time::Instant;

use flate2::{Compression, GzBuilder};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: levels FILE [LEVELS]");
        std::process::exit(2);
    };
    let levels = args.next().unwrap_or_else(|| "1,2,3,4,5,6,9".to_string());
    let input = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!("cannot read {path}: {err}");
            std::process::exit(1);
        }
    };
    println!("| gzip level | s (median of 3) | size |");
    println!("|---|---|---|");
    for level in levels
        .split(',')
        .filter_map(|l| l.trim().parse::<u32>().ok())
    {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let mut encoder = GzBuilder::new()
                .mtime(0)
                .write(Vec::with_capacity(input.len()), Compression::new(level));
            let written = encoder
                .write_all(&input)
                .and_then(|()| encoder.finish())
                .map(|out| out.len());
            match written {
                Ok(len) => size = len,
                Err(err) => {
                    eprintln!("level {level}: {err}");
                    std::process::exit(1);
                }
            }
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {level} | {:.2} | {:.2} MB |",
            times[1],
            size as f64 / 1e6
        );
    }
}
