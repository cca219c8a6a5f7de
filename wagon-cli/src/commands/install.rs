//! `wagon install ARCHIVE`: check the archive fits the target interpreter, then install offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use wagon_core::journeys::install::{self as journey, InstallOptions};
use wagon_core::plan::PlanOptions;

use super::Context;
use crate::interpreter_args::InterpreterArgs;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wagon archive: a file, or an http(s) URL to download it from.
    archive: PathBuf,

    #[command(flatten)]
    target: InterpreterArgs,

    /// The installer plugin: `unpack` (Wagon's own, needs no pip; the default) or `pip`.
    #[arg(long, env = "WAGON_INSTALLER")]
    installer: Option<String>,

    /// Replace an installed version with the archive's.
    #[arg(short = 'u', long)]
    upgrade: bool,

    /// Reinstall even when the same version is installed.
    #[arg(long)]
    reinstall: bool,

    /// Byte-compile the installed `.py` files (off by default: Python compiles on first import).
    #[arg(long)]
    compile: bool,

    /// Install although the wheels or python_requires do not fit the interpreter.
    #[arg(long)]
    ignore_platform: bool,

    /// Install even into an interpreter its distribution manages (PEP 668's
    /// EXTERNALLY-MANAGED), which can break the system's own Python programs.
    // Not PIP_BREAK_SYSTEM_PACKAGES: that is pip's configuration, which Wagon sets aside (as uv
    // does, with its own UV_BREAK_SYSTEM_PACKAGES); a variable set for pip was a choice about pip.
    #[arg(
        long,
        env = "WAGON_BREAK_SYSTEM_PACKAGES",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    break_system_packages: bool,

    /// Extras of the package to install besides those the archive was made with (repeatable
    /// or comma-separated).
    #[arg(long, value_delimiter = ',')]
    extra: Vec<String>,

    /// Also install this project of the archive's wheels, `NAME` or `NAME==VERSION`
    /// (repeatable).
    #[arg(long = "with", value_name = "REQUIREMENT")]
    with: Vec<String>,

    /// Also install the projects this requirements file names, from the archive's wheels
    /// (repeatable).
    #[arg(
        short = 'r',
        long = "requirement",
        alias = "requirements-file",
        value_name = "FILE"
    )]
    requirement: Vec<PathBuf>,

    /// Print what was installed as JSON.
    #[arg(long)]
    json: bool,

    /// Arguments passed to the installer (e.g. pip) untouched.
    #[arg(last = true)]
    installer_args: Vec<String>,
}

pub fn run(context: &Context, mut args: Args) -> anyhow::Result<ExitCode> {
    let defaults = &context.config.config.install;
    let installer_name = args
        .installer
        .clone()
        .or_else(|| defaults.installer.clone())
        .unwrap_or_else(|| "unpack".to_string());
    if args.target.python.is_none() && args.target.venv.is_none() {
        args.target.python = defaults.python.as_deref().map(PathBuf::from);
        args.target.venv = defaults.venv.as_deref().map(|v| context.config.resolve(v));
    }
    let installer = context.registry.installer(&installer_name).ok_or_else(|| {
        anyhow!(
            "no installer named `{}` (available: {})",
            installer_name,
            context.registry.installer_names().join(", ")
        )
    })?;
    let mut with = args
        .with
        .iter()
        .map(|text| wagon_core::python::requirement(text))
        .collect::<Result<Vec<_>, _>>()?;
    for file in &args.requirement {
        with.extend(wagon_core::requirements_file::read(file)?);
    }
    let archive = context.open(&args.archive)?;
    let stage = Stage::start(
        format!("reading {}", crate::remote::shown(&args.archive)),
        context.quiet,
    );
    // Probe the interpreter while the archive is read: both take tens of milliseconds.
    let target_args = args.target.clone();
    let probe = std::thread::spawn(move || target_args.probe());
    let unpacked = journey::unpack(&archive);
    let target = probe
        .join()
        .map_err(|_| anyhow!("the interpreter probe panicked"))??;
    let unpacked = unpacked?;
    stage.set(format!(
        "installing {} into {}",
        crate::remote::shown(&args.archive),
        target.describe()
    ));
    let options = InstallOptions {
        plan: PlanOptions {
            ignore_platform: args.ignore_platform,
            extras: args.extra,
            with,
        },
        upgrade: args.upgrade,
        reinstall: args.reinstall,
        compile: args.compile,
        break_system_packages: args.break_system_packages,
        extra_args: args.installer_args,
    };
    let (plan, outcome) =
        journey::install_unpacked(&unpacked, &target, installer.as_ref(), &options)?;
    drop(stage);
    if args.json {
        let report = serde_json::json!({
            "python": target.python,
            "planned": plan.wheels.iter().map(|w| format!("{}=={}", w.name, w.version)).collect::<Vec<_>>(),
            "installed": outcome.installed,
        });
        crate::ui::output::line(format_args!("{report}"))?;
    } else if !context.quiet {
        let requested: Vec<String> = plan
            .requested()
            .map(|w| format!("{} {}", w.name, w.version))
            .collect();
        let installed = outcome.installed.len();
        let already = plan.wheels.len().saturating_sub(installed);
        if installed == 0 {
            eprintln!(
                "nothing to install: {} already installed in {}",
                requested.join(", "),
                target.python.display()
            );
        } else if already == 0 {
            eprintln!(
                "installed {} ({}) into {}",
                requested.join(", "),
                wheels(installed),
                target.python.display()
            );
        } else {
            eprintln!(
                "installed {} ({}; {already} already installed) into {}",
                requested.join(", "),
                wheels(installed),
                target.python.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `1 wheel`, `7 wheels`.
fn wheels(count: usize) -> String {
    if count == 1 {
        "1 wheel".to_string()
    } else {
        format!("{count} wheels")
    }
}
