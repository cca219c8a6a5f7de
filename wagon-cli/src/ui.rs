//! Terminal behaviour: logging through tracing, spinners only on a terminal, errors printed as
//! one readable paragraph, and the archive-reading limits users can raise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wagon_core::archive::Limits;
use wagon_core::scratch::Cleaned;

pub fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WAGON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
}

/// Prints an error and its causes, skipping a cause whose text the message already quotes.
/// The one line an interrupt prints, naming what it removed.
pub fn report_interrupt(_signal: wagon_core::scratch::Interrupt, cleaned: &Cleaned) {
    let mut removed: Vec<String> = Vec::new();
    if let Some(dir) = &cleaned.run_dir {
        removed.push(format!("temporary files in {}", dir.display()));
    }
    if !cleaned.partials.is_empty() {
        let names: Vec<String> = cleaned
            .partials
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        removed.push(format!("partial output {}", names.join(", ")));
    }
    if removed.is_empty() {
        eprintln!("wagon: interrupted; nothing to clean up");
    } else {
        eprintln!("wagon: interrupted; removed {}", removed.join(" and "));
    }
}

pub fn print_error(err: &anyhow::Error) {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
    }
    eprintln!("error: {message}");
}

/// A spinner naming the running stage, shown only when stderr is a terminal.
pub struct Stage(Option<ProgressBar>);

impl Stage {
    pub fn start(message: impl Into<String>, quiet: bool) -> Self {
        let message = message.into();
        tracing::info!("{message}");
        if quiet || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    pub fn set(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!("{message}");
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Bounds on reading an archive; defaults are generous, flags raise them for huge wagons.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Refuse archives that unpack to more than this many bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = Limits::default().max_unpacked_bytes)]
    max_unpacked_bytes: u64,

    /// Refuse archives with more entries than this.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_entries)]
    max_entries: u64,

    /// Refuse a package.json larger than this.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = Limits::default().max_metadata_bytes)]
    max_metadata_bytes: u64,
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_unpacked_bytes: self.max_unpacked_bytes,
            max_entries: self.max_entries,
            max_metadata_bytes: self.max_metadata_bytes,
        }
    }
}
