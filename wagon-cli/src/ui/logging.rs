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
    // PubGrub logs each of its steps at info and debug: only -vvv shows them.
    let default = if verbose >= 3 {
        default.to_string()
    } else {
        format!("{default},pubgrub=warn")
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
