//! `wagon lock ARCHIVE`: add a PEP 751 `pylock.toml` to an archive that has none (made by wagon
//! 1.0 or an earlier Wagon), or remake it, without touching the wheels.

use std::path::PathBuf;
use std::process::ExitCode;

use wagon_core::journeys::lock::relock;

use super::Context;
use crate::interpreter_args::InterpreterArgs;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
// The shared interpreter flags speak of installing; lock installs nothing.
#[command(
    mut_arg("python", |arg| arg.help("The interpreter whose platform the lock is made for")),
    mut_arg("venv", |arg| arg.help("The virtualenv whose interpreter the lock is made for"))
)]
pub struct Args {
    /// The wagon archive: a file, or an http(s) URL to download it from.
    archive: PathBuf,

    /// The interpreter (or virtualenv) whose platform the lock is made for.
    #[command(flatten)]
    target: InterpreterArgs,

    /// Write the locked archive here instead of replacing the original.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(context: &Context, args: &Args) -> anyhow::Result<ExitCode> {
    if args.output.is_none() && crate::remote::is_url(&args.archive) {
        anyhow::bail!(
            "{} is a URL, so the locked archive cannot replace it: pass -o FILE to say where \
             it goes",
            crate::remote::shown(&args.archive)
        );
    }
    let archive = context.open(&args.archive)?;
    let stage = Stage::start("probing the target interpreter", context.quiet);
    let target = args.target.probe()?;
    stage.set(format!(
        "locking {} for {}",
        crate::remote::shown(&args.archive),
        target.describe()
    ));
    let destination = args.output.clone().unwrap_or_else(|| args.archive.clone());
    let lock = relock(&archive, &target, &archive.output_format(), &destination)?;
    drop(stage);
    let environments = lock.environments.unwrap_or_default();
    if args.json {
        let report = serde_json::json!({
            "archive": destination,
            "packages": lock.packages.len(),
            "environments": environments,
        });
        crate::ui::output::line(format_args!("{report}"))?;
    } else {
        crate::ui::output::line(format_args!("{}", destination.display()))?;
        if !context.quiet {
            eprintln!(
                "locked {} packages for `{}`",
                lock.packages.len(),
                environments.join(" or ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
