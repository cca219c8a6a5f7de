//! `wagon validate ARCHIVE`: prove an archive is whole and installable, reporting every problem
//! (the validate journey in the core finds them; this renders them).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wagon_core::journeys::validate::{Findings, TrialInstall, validate};

use super::Context;
use crate::interpreter_args::resolve_program;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wagon archive: a file, or an http(s) URL to download it from.
    archive: PathBuf,

    /// Skip installing into a throwaway virtualenv.
    #[arg(long)]
    no_install_check: bool,

    /// The interpreter whose throwaway virtualenv the install check uses.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,

    /// The installer plugin the install check uses.
    #[arg(long, default_value = "unpack")]
    installer: String,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(context: &Context, args: &Args) -> anyhow::Result<ExitCode> {
    let stage = Stage::start(
        format!("checking {}", crate::remote::shown(&args.archive)),
        context.quiet,
    );
    let python = resolve_program(&args.python)?;
    let install_check =
        (!args.no_install_check).then_some((python.as_path(), args.installer.as_str()));
    let local = crate::remote::local_archive(&args.archive, context.limits)?;
    let findings = check(context, local.path(), install_check);
    let (manifest, problems) = (&findings.manifest, &findings.problems);
    drop(stage);
    let valid = problems.is_empty();
    if args.json {
        let report = serde_json::json!({
            "archive": crate::remote::shown(&args.archive),
            "package": manifest.as_ref().map(|m| &m.package_name),
            "version": manifest.as_ref().map(|m| &m.package_version),
            "valid": valid,
            "install_checked": findings.install_checked,
            "problems": problems,
            "locked": findings.unused_wheels.is_some(),
            "unused_wheels": findings.unused_wheels.clone().unwrap_or_default(),
        });
        crate::ui::output::line(format_args!("{report}"))?;
    } else if valid {
        if !context.quiet {
            crate::ui::output::line(format_args!(
                "{}: valid",
                crate::remote::shown(&args.archive)
            ))?;
            match &findings.unused_wheels {
                None => eprintln!("note: no pylock.toml (`wagon lock` adds one)"),
                Some(unused) if !unused.is_empty() => {
                    eprintln!("note: pylock.toml leaves unused: {}", unused.join(", "));
                }
                Some(_) => {}
            }
        }
    } else {
        eprintln!(
            "{}: {} problem(s) found:",
            crate::remote::shown(&args.archive),
            problems.len()
        );
        for problem in problems {
            eprintln!("  - {}", problem.replace('\n', "\n    "));
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the validate journey on `path`, with a trial install by the named installer into a
/// virtualenv of the given interpreter. Shared with `create --validate`. An unknown installer is
/// one more problem in the report, after the static checks, not a reason to skip them.
pub fn check(context: &Context, path: &Path, install_check: Option<(&Path, &str)>) -> Findings {
    let installer =
        install_check.map(|(python, name)| (python, name, context.registry.installer(name)));
    let trial = match &installer {
        Some((python, _, Some(installer))) => Some(TrialInstall {
            python,
            installer: installer.as_ref(),
        }),
        _ => None,
    };
    let mut findings = validate(path, &context.registry, context.limits, trial);
    if let Some((_, name, None)) = installer
        && findings.problems.is_empty()
    {
        findings.problems.push(format!(
            "install check failed: no installer named `{name}` (available: {})",
            context.registry.installer_names().join(", ")
        ));
    }
    findings
}
