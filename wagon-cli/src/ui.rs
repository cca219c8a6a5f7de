//! Terminal behaviour: colour (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`), logging through
//! tracing, spinners only where nothing else writes, errors as one paragraph (and as JSON under
//! `--json`), and the archive-reading limits users can raise.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wagon_core::archive::Limits;
use wagon_core::scratch::Cleaned;

use wagon_core::size::Size;

/// The heading global options are listed under in every command's help.
pub const GLOBAL: &str = "Global options";

/// `--color`: whether output is coloured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set (CLICOLOR_FORCE colours anywhere).
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// The choice given on the command line, read before clap parses it so that clap's own
    /// help and errors follow it too; `auto` when absent or misspelt (clap then reports it).
    pub fn from_args(args: &[OsString]) -> Self {
        let mut choice = None;
        let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let value = if word == "--color" {
                words.next().map(|w| w.into_owned())
            } else {
                word.strip_prefix("--color=").map(str::to_string)
            };
            if let Some(value) = value {
                choice = <Self as clap::ValueEnum>::from_str(&value, true).ok();
            }
        }
        choice.unwrap_or_default()
    }

    /// The same choice for clap, whose `auto` already honours NO_COLOR and CLICOLOR_FORCE.
    pub fn to_clap(self) -> clap::ColorChoice {
        match self {
            Self::Auto => clap::ColorChoice::Auto,
            Self::Always => clap::ColorChoice::Always,
            Self::Never => clap::ColorChoice::Never,
        }
    }

    /// Whether a stream that is (or is not) a terminal gets colour, in this environment.
    pub fn colors(self, terminal: bool) -> bool {
        auto_colors(
            self,
            terminal,
            std::env::var_os("NO_COLOR"),
            std::env::var_os("CLICOLOR_FORCE"),
        )
    }
}

/// <https://no-color.org>: any non-empty NO_COLOR turns colour off in `auto` and wins over
/// CLICOLOR_FORCE (as in anstream, which colours clap's output); CLICOLOR_FORCE other than `0`
/// turns it on off a terminal. An explicit `--color` wins over both.
fn auto_colors(
    choice: ColorChoice,
    terminal: bool,
    no_color: Option<OsString>,
    force: Option<OsString>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                terminal
            }
        }
    }
}

/// What the whole run decided about the terminal, set once before the command runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Colour on stderr (logs, errors, spinners).
    pub color: bool,
    /// Spinners allowed: stderr is a terminal, and nothing else writes there as they spin.
    pub spinners: bool,
    /// The command prints JSON on stdout; errors are printed there as JSON too.
    pub json: bool,
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
        spinners: spinners_allowed(
            verbose,
            quiet,
            json,
            logging_env,
            std::io::stderr().is_terminal(),
        ),
        json,
    });
    init_logging(verbose, quiet, stderr_color);
}

/// A spinner redraws its line: only on a terminal, and only when nothing else writes there as
/// it spins (log lines from `-v` or `WAGON_LOG`), and never for a JSON reader.
fn spinners_allowed(verbose: u8, quiet: bool, json: bool, logging: bool, terminal: bool) -> bool {
    terminal && verbose == 0 && !quiet && !json && !logging
}

fn init_logging(verbose: u8, quiet: bool, ansi: bool) {
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
        .with_writer(|| AboveSpinner)
        .with_target(false)
        .with_ansi(ansi)
        .without_time()
        .init();
}

/// The spinner now drawn, if any: log lines (warnings show even without `-v`) are written
/// above it rather than over it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active_spinner() -> Option<ProgressBar> {
    ACTIVE.lock().ok().and_then(|active| active.clone())
}

/// Stderr, with a running spinner lifted out of the way for each write (tracing writes each
/// event in one `write_all`).
struct AboveSpinner;

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

/// An error and its causes as one line, skipping a cause whose text the message already quotes.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
    }
    message
}

/// What kind of failure an error is, for scripts reading `--json`: the first cause Wagon can
/// name, or none.
fn error_kind(err: &anyhow::Error) -> Option<&'static str> {
    err.chain().find_map(|cause| {
        if cause.is::<wagon_core::archive::ArchiveError>() {
            Some("archive")
        } else if cause.is::<wagon_core::interpreter::InterpreterError>() {
            Some("interpreter")
        } else if cause.is::<std::io::Error>() {
            Some("io")
        } else {
            None
        }
    })
}

/// Prints an error on stderr; under `--json` also as `{"error": {...}}` on stdout, so that a
/// script reading stdout always gets one JSON document.
pub fn print_error(err: &anyhow::Error) {
    let message = error_message(err);
    if settings().json {
        print_json_error(&message, error_kind(err));
    }
    eprintln!("{} {message}", error_label(settings().color));
}

/// `{"error": {"message": ..., "kind": ...}}` on stdout.
pub fn print_json_error(message: &str, kind: Option<&str>) {
    let mut error = serde_json::json!({ "message": message });
    if let Some(kind) = kind {
        error["kind"] = serde_json::json!(kind);
    }
    println!("{}", serde_json::json!({ "error": error }));
}

/// `error:`, in bold red when colour is on, as cargo and uv print it.
fn error_label(color: bool) -> String {
    if color {
        console::style("error:")
            .red()
            .bold()
            .force_styling(true)
            .to_string()
    } else {
        "error:".to_string()
    }
}

/// A spinner naming the running stage, shown only on a terminal when nothing else writes to it
/// (no `-q`, `-v`, `WAGON_LOG` or `--json`); the stage is logged at info level either way.
pub struct Stage(Option<ProgressBar>);

impl Stage {
    pub fn start(message: impl Into<String>, quiet: bool) -> Self {
        let message = message.into();
        tracing::info!("{message}");
        if quiet || !settings().spinners {
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

/// Bounds on reading an archive; defaults are generous, flags raise them for huge wagons.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    // Defaults written into the help by hand: clap would quote `"16 GiB"` for its space.
    #[arg(long, global = true, value_name = "SIZE", help_heading = GLOBAL,
          help = size_help("Refuse archives that unpack to more than this", Limits::default().max_unpacked_bytes),
          hide_default_value = true,
          default_value_t = Size(Limits::default().max_unpacked_bytes))]
    max_unpacked_bytes: Size,

    /// Refuse archives with more entries than this.
    #[arg(long, global = true, value_name = "N", help_heading = GLOBAL,
          default_value_t = Limits::default().max_entries)]
    max_entries: u64,

    #[arg(long, global = true, value_name = "SIZE", help_heading = GLOBAL,
          help = size_help("Refuse a package.json larger than this", Limits::default().max_metadata_bytes),
          hide_default_value = true,
          default_value_t = Size(Limits::default().max_metadata_bytes))]
    max_metadata_bytes: Size,
}

/// A size flag's help: what it bounds, the units it takes, its default in those units.
fn size_help(what: &str, default: u64) -> String {
    format!(
        "{what} (1234 bytes, 500M, 16GiB…) [default: {}]",
        Size(default)
    )
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_unpacked_bytes: self.max_unpacked_bytes.0,
            max_entries: self.max_entries,
            max_metadata_bytes: self.max_metadata_bytes.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn no_color_wins_in_auto_only() {
        let set = || Some(OsString::from("1"));
        assert!(!auto_colors(ColorChoice::Auto, true, set(), None));
        assert!(!auto_colors(ColorChoice::Auto, true, set(), set()));
        assert!(auto_colors(ColorChoice::Always, true, set(), None));
        // An empty NO_COLOR is no request.
        assert!(auto_colors(
            ColorChoice::Auto,
            true,
            Some(OsString::new()),
            None
        ));
    }

    #[test]
    fn clicolor_force_colours_off_a_terminal() {
        assert!(auto_colors(
            ColorChoice::Auto,
            false,
            None,
            Some("1".into())
        ));
        assert!(!auto_colors(
            ColorChoice::Auto,
            false,
            None,
            Some("0".into())
        ));
        assert!(!auto_colors(ColorChoice::Auto, false, None, None));
        assert!(!auto_colors(
            ColorChoice::Never,
            true,
            None,
            Some("1".into())
        ));
    }

    #[test]
    fn spinners_only_when_nothing_else_writes() {
        assert!(spinners_allowed(0, false, false, false, true));
        assert!(!spinners_allowed(0, false, false, false, false));
        assert!(!spinners_allowed(1, false, false, false, true));
        assert!(!spinners_allowed(0, true, false, false, true));
        assert!(!spinners_allowed(0, false, true, false, true));
        assert!(!spinners_allowed(0, false, false, true, true));
    }

    #[test]
    fn color_is_read_before_parsing() {
        let read = |words: &[&str]| ColorChoice::from_args(&args(words));
        assert_eq!(
            read(&["wagon", "--color", "never", "show"]),
            ColorChoice::Never
        );
        assert_eq!(
            read(&["wagon", "show", "--color=always"]),
            ColorChoice::Always
        );
        assert_eq!(read(&["wagon", "show", "x"]), ColorChoice::Auto);
        assert_eq!(read(&["wagon", "--color", "purple"]), ColorChoice::Auto);
        // After `--` the words belong to the installer.
        assert_eq!(
            read(&["wagon", "install", "x", "--", "--color", "always"]),
            ColorChoice::Auto
        );
    }
}
