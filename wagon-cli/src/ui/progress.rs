//! Spinners naming the running stage, drawn only where nothing else writes, with log lines
//! lifted above them.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner redraws its line: only on a terminal, and only when nothing else writes there as
/// it spins (log lines from `-v` or `WAGON_LOG`), and never for a JSON reader.
pub(super) fn spinners_allowed(
    verbose: u8,
    quiet: bool,
    json: bool,
    logging: bool,
    terminal: bool,
) -> bool {
    terminal && verbose == 0 && !quiet && !json && !logging
}

/// The spinner now drawn, if any: log lines (warnings show even without `-v`) are written
/// above it rather than over it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active_spinner() -> Option<ProgressBar> {
    ACTIVE.lock().ok().and_then(|active| active.clone())
}

/// Stderr, with a running spinner lifted out of the way for each write (tracing writes each
/// event in one `write_all`).
pub(super) struct AboveSpinner;

impl Write for AboveSpinner {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match active_spinner() {
            Some(bar) => bar.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match active_spinner() {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A spinner naming the running stage, shown only on a terminal when nothing else writes to it
/// (no `-q`, `-v`, `WAGON_LOG` or `--json`); the stage is logged at info level either way.
pub struct Stage(Option<ProgressBar>);

impl Stage {
    pub fn start(message: impl Into<String>, quiet: bool) -> Self {
        let message = message.into();
        tracing::info!("{message}");
        if quiet || !super::settings().spinners {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner:.cyan} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(bar.clone());
        }
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
            if let Ok(mut active) = ACTIVE.lock() {
                *active = None;
            }
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spinners_only_when_nothing_else_writes() {
        assert!(spinners_allowed(0, false, false, false, true));
        assert!(!spinners_allowed(0, false, false, false, false));
        assert!(!spinners_allowed(1, false, false, false, true));
        assert!(!spinners_allowed(0, true, false, false, true));
        assert!(!spinners_allowed(0, false, true, false, true));
        assert!(!spinners_allowed(0, false, false, true, true));
    }
}
