//! `wagon`: pack a Python package and its whole dependency closure into one archive, and install
//! it later, offline. This binary parses arguments, merges them with wagon.toml, and wires the
//! built-in and configured plugins into the core; the packaging logic lives in `wagon-core` and
//! the plugins.

mod commands;
mod config;
mod external;
mod interpreter_args;
mod registry;
mod ui;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use commands::{create, get_file, install, list_files, lock, show, validate};

#[derive(Debug, Parser)]
#[command(name = "wagon", version, about, long_about = None)]
struct Cli {
    /// Log more (-v: steps, -vv: debug, including pip's output).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Print only errors.
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Use this wagon.toml instead of the one found in this or a parent directory.
    #[arg(long, global = true, value_name = "PATH", env = "WAGON_CONFIG")]
    config: Option<PathBuf>,

    /// List the built-in commands and the `wagon-*` commands found on PATH.
    #[arg(long)]
    list: bool,

    #[command(flatten)]
    limits: ui::LimitArgs,

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
    let cli = Cli::parse();
    ui::init_logging(cli.verbose, cli.quiet);
    watch_interrupts();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            ui::print_error(&err);
            ExitCode::FAILURE
        }
    }
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
        println!("Built-in commands:");
        for (name, about) in builtin_commands() {
            println!("    {name:<12} {about}");
        }
        let found = external::discover();
        if !found.is_empty() {
            println!("Installed commands (wagon-<name> on PATH or in $WAGON_HOME/bin):");
            for name in found {
                println!("    {name}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command else {
        Cli::command().print_help()?;
        return Ok(ExitCode::from(2));
    };
    if let Command::External(args) = &command {
        let names: Vec<String> = builtin_commands().into_iter().map(|(n, _)| n).collect();
        return external::run(args, &names);
    }
    let config = config::Loaded::discover(cli.config.as_deref())?;
    let context = commands::Context {
        registry: registry::build(&config)?,
        limits: cli.limits.to_limits(),
        quiet: cli.quiet,
        config,
    };
    match command {
        Command::Create(args) => create::run(&context, *args),
        Command::Show(args) => show::run(&context, args),
        Command::ListFiles(args) => list_files::run(&context, args),
        Command::GetFile(args) => get_file::run(&context, args),
        Command::Validate(args) => validate::run(&context, args),
        Command::Install(args) => install::run(&context, args),
        Command::Lock(args) => lock::run(&context, args),
        Command::External(_) => unreachable!("handled above"),
    }
}
