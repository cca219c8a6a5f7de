//! `wagon`: pack a Python package and its whole dependency closure into one archive, and install
//! it later, offline. This binary parses arguments, merges them with wagon.toml, and wires the
//! built-in and configured plugins into the core; the packaging logic lives in `wagon-core` and
//! the plugins.

mod commands;
mod config;
mod external;
mod interpreter_args;
mod limits;
mod registry;
mod remote;
mod ui;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use commands::{completions, create, get_file, install, list_files, lock, repair, show, validate};

/// The heading global options are listed under in every command's help.
const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "wagon",
    version,
    about = "Pack a Python package with all its dependencies into one archive, and install it offline",
    long_about = "Pack a Python package with all its dependencies into one archive, and install it \
                  offline.\n\n\
                  `wagon create` builds a wheel for the package and every dependency and packs them, \
                  with their hashes, into one file; `wagon install` puts that file into a Python \
                  environment on a machine with no network, checking each hash first. Settings come \
                  from flags, then WAGON_* environment variables, then wagon.toml.",
    after_help = "Examples:\n  \
                  wagon create flask==3.0.3\n  \
                  wagon install ./flask-3.0.3-*.wgn --venv .venv\n  \
                  wagon completions bash > ~/.local/share/bash-completion/completions/wagon"
)]
struct Cli {
    /// Log more (-v: steps, -vv: debug, including pip's output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    verbose: u8,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    quiet: bool,

    /// When to colour the output; `auto` honours NO_COLOR and CLICOLOR_FORCE.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", help_heading = GLOBAL)]
    color: ui::ColorChoice,

    /// Use this wagon.toml instead of the one found in this or a parent directory.
    #[arg(long, global = true, value_name = "PATH", env = "WAGON_CONFIG", help_heading = GLOBAL)]
    config: Option<PathBuf>,

    /// List the built-in commands and the `wagon-*` commands found on PATH.
    #[arg(long)]
    list: bool,

    #[command(flatten)]
    limits: limits::LimitArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pack a package and its whole dependency closure into one archive.
    Create(Box<create::Args>),
    /// Print an archive's metadata (package.json).
    Show(show::Args),
    /// List the extra files packed with an archive.
    ListFiles(list_files::Args),
    /// Extract one extra file packed with an archive.
    GetFile(get_file::Args),
    /// Check that an archive is whole (every wheel, every hash) and installable.
    Validate(validate::Args),
    /// Install an archive into a Python environment, offline.
    Install(install::Args),
    /// Add a PEP 751 pylock.toml to an archive, without touching its wheels.
    Lock(lock::Args),
    /// Make an archive's linux_* wheels manylinux_* with auditwheel, and write it again.
    Repair(Box<repair::Args>),
    /// Print a shell's completion script for wagon (bash, zsh, fish, elvish, powershell).
    Completions(completions::Args),
    /// A `wagon-<name>` executable found in $WAGON_HOME/bin or on PATH.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

fn builtin_commands() -> Vec<(String, String)> {
    Cli::command()
        .get_subcommands()
        .map(|c| {
            (
                c.get_name().to_string(),
                c.get_about().map(ToString::to_string).unwrap_or_default(),
            )
        })
        .collect()
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // `wagon help NAME` of an external command is `wagon-NAME --help`, as cargo does.
    let builtins: Vec<String> = builtin_commands().into_iter().map(|(n, _)| n).collect();
    external::rewrite_help(&mut args, &builtins);
    // `--color` here and `--json` in `usage_error` are read from the raw words, not from clap's
    // result: clap prints its own help and errors before parsing completes (as cargo does), and
    // these must already honour both.
    let color = ui::ColorChoice::from_args(&args);
    let matches = match Cli::command()
        .color(color.to_clap())
        .try_get_matches_from(&args)
    {
        Ok(matches) => matches,
        Err(err) => return usage_error(&err, &args),
    };
    let json = asks_for_json(&matches);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err, &args),
    };
    ui::init(cli.verbose, cli.quiet, cli.color, json);
    watch_interrupts();
    match run(cli) {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): it had what it wanted.
        Err(err) if ui::output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            ui::print_error(&err);
            ExitCode::FAILURE
        }
    }
}

/// Whether the command given reports as JSON: its own `--json` flag, read here once so that
/// every error, whichever command it comes from, is reported as JSON too.
fn asks_for_json(matches: &ArgMatches) -> bool {
    matches.subcommand().is_some_and(|(_, sub)| {
        sub.try_get_one::<bool>("json")
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false)
    })
}

/// Clap's own message and exit status; when the words asked for `--json` (read from the words:
/// see `main`), the error is also printed on stdout as JSON, as every other error then is.
fn usage_error(err: &clap::Error, args: &[OsString]) -> ExitCode {
    let asked_json = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    if asked_json && err.use_stderr() {
        // Clap's rendering without its styling, first line only, without the `error: ` label.
        let rendered = err.render().to_string();
        let message = rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        ui::print_json_error(message, Some("usage"));
    }
    let _ = err.print();
    // Clap's codes: 0 for --help and --version, 2 for a usage error.
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
}

/// On SIGINT and SIGTERM the core removes this run's scratch folder and partial outputs and
/// exits 130 or 143; this thread only turns the OS signals into calls to the core, outside the
/// signal handler, where removing files is allowed.
fn watch_interrupts() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use wagon_core::scratch::{self, Interrupt};
    scratch::set_interrupt_reporter(ui::report_interrupt);
    // The handlers are registered by the thread that serves them, so that no signal is ever
    // swallowed by a handler nobody reads; the main thread waits until they are in place.
    let (ready, registered) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("interrupts".to_string())
        .spawn(move || {
            let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
                Ok(signals) => signals,
                Err(err) => {
                    let _ = ready.send(Err(err));
                    return;
                }
            };
            let _ = ready.send(Ok(()));
            for signal in signals.forever() {
                scratch::interrupt(if signal == SIGTERM {
                    Interrupt::Term
                } else {
                    Interrupt::Int
                });
            }
        });
    let outcome = match spawned {
        Ok(_) => registered
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the watcher stopped"))),
        Err(err) => Err(err),
    };
    if let Err(err) = outcome {
        tracing::warn!("cannot watch for Ctrl-C: {err}; an interrupt may leave scratch files");
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.list {
        crate::ui::output::line(format_args!("Built-in commands:"))?;
        for (name, about) in builtin_commands() {
            crate::ui::output::line(format_args!("    {name:<12} {about}"))?;
        }
        let found = external::discover();
        if !found.is_empty() {
            crate::ui::output::line(format_args!(
                "Installed commands (wagon-<name> on PATH or in $WAGON_HOME/bin):"
            ))?;
            let builtins: Vec<String> = builtin_commands().into_iter().map(|(n, _)| n).collect();
            for name in found {
                if builtins.contains(&name) {
                    crate::ui::output::line(format_args!(
                        "    {name:<12} (shadowed: the built-in `{name}` runs instead)"
                    ))?;
                } else {
                    crate::ui::output::line(format_args!("    {name}"))?;
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command else {
        Cli::command().color(cli.color.to_clap()).print_help()?;
        return Ok(ExitCode::from(2));
    };
    if let Command::External(args) = &command {
        let names: Vec<String> = builtin_commands().into_iter().map(|(n, _)| n).collect();
        return external::run(args, &names);
    }
    // Needs no wagon.toml: completions must work wherever the shell starts.
    if let Command::Completions(args) = &command {
        return completions::run(args, Cli::command());
    }
    let config = config::Loaded::discover(cli.config.as_deref())?;
    if config.path.is_none() {
        tracing::debug!("no {} in this directory or its parents", config::FILE_NAME);
    }
    let limits = cli.limits.to_limits();
    tracing::debug!(
        "reading archives up to {} unpacked in {} entries, package.json up to {}",
        wagon_core::size::Size(limits.max_unpacked_bytes),
        limits.max_entries,
        wagon_core::size::Size(limits.max_metadata_bytes)
    );
    let context = commands::Context {
        registry: registry::build(&config)?,
        limits,
        quiet: cli.quiet,
        config,
    };
    match command {
        Command::Create(args) => create::run(&context, *args),
        Command::Show(args) => show::run(&context, &args),
        Command::ListFiles(args) => list_files::run(&context, &args),
        Command::GetFile(args) => get_file::run(&context, &args),
        Command::Validate(args) => validate::run(&context, &args),
        Command::Install(args) => install::run(&context, args),
        Command::Lock(args) => lock::run(&context, &args),
        Command::Repair(args) => repair::run(&context, *args),
        Command::External(_) | Command::Completions(_) => unreachable!("handled above"),
    }
}
