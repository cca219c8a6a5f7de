//! Log lines through tracing: the level from `-q`/`-v` or `WAGON_LOG`, written above any spinner.

use super::progress::AboveSpinner;

/// Installs the global subscriber: `WAGON_LOG` (an `EnvFilter`) when set, else the level the
/// flags ask for; ANSI only when stderr is coloured.
pub(super) fn init(verbose: u8, quiet: bool, ansi: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    // PubGrub logs each of its steps at info and debug: only -vvv shows them. uv's metadata
    // parser warns each time it mends another project's sloppy `Requires-Python`, which the user
    // can do nothing about: -v shows those.
    let default = match verbose {
        0 => format!("{default},pubgrub=warn,uv_pypi_types=error"),
        1 | 2 => format!("{default},pubgrub=warn"),
        _ => default.to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WAGON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| AboveSpinner)
        .with_target(false)
        .with_ansi(ansi)
        .without_time()
        .init();
}
