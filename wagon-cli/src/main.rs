//! `wagon`: pack a Python package and its whole dependency closure into one archive, and install
//! it later, offline. This binary parses arguments and wires the built-in plugins into the core;
//! the packaging logic lives in `wagon-core` and the plugins.

mod commands;
mod registry;
mod target;
mod ui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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

    #[command(flatten)]
    limits: ui::LimitArgs,

    #[command(subcommand)]
    command: Command,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ui::init_logging(cli.verbose, cli.quiet);
    let context = commands::Context {
        registry: registry::builtin(),
        limits: cli.limits.to_limits(),
        quiet: cli.quiet,
    };
    let result = match cli.command {
        Command::Create(args) => create::run(&context, *args),
        Command::Show(args) => show::run(&context, args),
        Command::ListFiles(args) => list_files::run(&context, args),
        Command::GetFile(args) => get_file::run(&context, args),
        Command::Validate(args) => validate::run(&context, args),
        Command::Install(args) => install::run(&context, args),
        Command::Lock(args) => lock::run(&context, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            ui::print_error(&err);
            ExitCode::FAILURE
        }
    }
}
