//! `wagon completions SHELL`: print the shell's completion script, generated from the same clap
//! definition that parses the command line, so it never lags behind a new flag.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;

use clap_complete::Shell;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install it where the shell looks, for example:\n  \
    bash: wagon completions bash > ~/.local/share/bash-completion/completions/wagon\n  \
    zsh:  wagon completions zsh > ~/.zfunc/_wagon   (with `fpath+=~/.zfunc` before compinit)\n  \
    fish: wagon completions fish > ~/.config/fish/completions/wagon.fish")]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(args: &Args, mut command: clap::Command) -> anyhow::Result<ExitCode> {
    // Generated into memory first: the generator panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "wagon", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .context("cannot write the completion script")?;
    Ok(ExitCode::SUCCESS)
}
