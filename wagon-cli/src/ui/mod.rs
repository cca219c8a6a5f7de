//! Terminal behaviour for one run, settled once from the global flags: colour, logging,
//! spinners and how errors are printed, each in its own module.

mod color;
mod errors;
mod logging;
pub mod output;
mod progress;

use std::io::IsTerminal;
use std::sync::OnceLock;

pub use color::ColorChoice;
pub use errors::{print_error, print_json_error, report_interrupt};
pub use progress::Stage;

/// What the whole run decided about the terminal, set once before the command runs.
#[derive(Debug, Clone, Copy)]
struct Settings {
    /// Colour on stderr (logs, errors, spinners).
    color: bool,
    /// Spinners allowed: stderr is a terminal, and nothing else writes there as they spin.
    spinners: bool,
    /// The command prints JSON on stdout; errors are printed there as JSON too.
    json: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or(Settings {
        color: false,
        spinners: false,
        json: false,
    })
}

/// Settles colour, logging and spinners for this run, from the global flags.
pub fn init(verbose: u8, quiet: bool, color: ColorChoice, json: bool) {
    let stderr_color = color.colors(std::io::stderr().is_terminal());
    console::set_colors_enabled_stderr(stderr_color);
    console::set_colors_enabled(color.colors(std::io::stdout().is_terminal()));
    let logging_env = std::env::var_os("WAGON_LOG").is_some_and(|v| !v.is_empty());
    let _ = SETTINGS.set(Settings {
        color: stderr_color,
        spinners: progress::spinners_allowed(
            verbose,
            quiet,
            json,
            logging_env,
            std::io::stderr().is_terminal(),
        ),
        json,
    });
    logging::init(verbose, quiet, stderr_color);
}
