//! An example third-party subcommand: `wagon hello ARGS` runs this `wagon-hello` executable, found
//! on PATH, with `WAGON` naming the wagon that launched it (so it can call back into it).
//! `--exit N` makes it exit with N, to show the exit code passes through.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wagon = std::env::var("WAGON").unwrap_or_else(|_| "(not run by wagon)".to_string());
    println!("hello from wagon-hello: {}", args.join(" "));
    println!("WAGON={wagon}");
    match args.iter().position(|a| a == "--exit") {
        Some(i) => ExitCode::from(args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(1)),
        None => ExitCode::SUCCESS,
    }
}
