//! `wagon validate ARCHIVE`: prove an archive is whole and installable, reporting every problem.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use wagon_core::archive::Archive;
use wagon_core::archive::Digested;
use wagon_core::interpreter::{Interpreter, venv_python};
use wagon_core::journey::{self, InstallOptions};
use wagon_core::manifest::Manifest;
use wagon_core::pylock::{LOCK_FILE, PyLock};

use super::Context;
use crate::interpreter_args::resolve_program;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wagon archive.
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

pub fn run(context: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let stage = Stage::start(
        format!("checking {}", args.archive.display()),
        context.quiet,
    );
    let python = resolve_program(&args.python)?;
    let install_check =
        (!args.no_install_check).then_some((python.as_path(), args.installer.as_str()));
    let findings = check(context, &args.archive, install_check);
    let (manifest, problems) = (&findings.manifest, &findings.problems);
    drop(stage);
    let valid = problems.is_empty();
    if args.json {
        let report = serde_json::json!({
            "archive": args.archive,
            "package": manifest.as_ref().map(|m| &m.package_name),
            "version": manifest.as_ref().map(|m| &m.package_version),
            "valid": valid,
            "install_checked": !args.no_install_check && valid,
            "problems": problems,
            "locked": findings.unused_wheels.is_some(),
            "unused_wheels": findings.unused_wheels.clone().unwrap_or_default(),
        });
        println!("{report}");
    } else if valid {
        if !context.quiet {
            println!("{}: valid", args.archive.display());
            match &findings.unused_wheels {
                None => eprintln!("note: no pylock.toml (`wagon lock` adds one)"),
                Some(unused) if !unused.is_empty() => {
                    eprintln!("note: pylock.toml leaves unused: {}", unused.join(", "))
                }
                Some(_) => {}
            }
        }
    } else {
        eprintln!(
            "{}: {} problem(s) found:",
            args.archive.display(),
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

/// Every problem with the archive at `path`: the static checks, then — when they pass and an
/// interpreter and installer are given — a trial install. Shared with `create --validate`.
pub fn check(context: &Context, path: &Path, install_check: Option<(&Path, &str)>) -> Findings {
    let mut findings = Findings::default();
    let archive = match context.open(path) {
        Ok(archive) => archive,
        Err(err) => {
            findings.problems.push(format!("{err:#}"));
            return findings;
        }
    };
    let checked = static_checks(&archive, &mut findings.problems);
    if let Some((manifest, digested)) = &checked {
        findings.unused_wheels = lock_checks(
            &archive,
            manifest,
            context.limits.max_metadata_bytes,
            digested,
            &mut findings.problems,
        );
    }
    findings.manifest = checked.map(|(manifest, _)| manifest);
    if let (Some(manifest), Some((python, installer)), true) = (
        &findings.manifest,
        install_check,
        findings.problems.is_empty(),
    ) && let Err(err) = trial_install(context, &archive, manifest, python, installer)
    {
        findings
            .problems
            .push(format!("install check failed: {err:#}"));
    }
    findings
}

/// What validation found.
#[derive(Debug, Default)]
pub struct Findings {
    pub manifest: Option<Manifest>,
    pub problems: Vec<String>,
    /// With a pylock.toml: the archive's wheels the lock does not use.
    pub unused_wheels: Option<Vec<String>>,
}

/// Metadata keys and types, then every wheel present, listed and matching its digest.
fn static_checks(archive: &Archive, problems: &mut Vec<String>) -> Option<(Manifest, Digested)> {
    let doc = match archive.read_manifest() {
        Ok(doc) => doc,
        Err(err) => {
            problems.push(err.to_string());
            return None;
        }
    };
    let value: serde_json::Value = match serde_json::from_slice(&doc.bytes) {
        Ok(value) => value,
        Err(err) => {
            problems.push(format!("package.json is not valid JSON: {err}"));
            return None;
        }
    };
    let key_problems = wagon_core::manifest::check(&value);
    if !key_problems.is_empty() {
        problems.extend(
            key_problems
                .into_iter()
                .map(|p| format!("package.json: {p}")),
        );
        return None;
    }
    let manifest = match Manifest::from_json(&doc.bytes) {
        Ok(manifest) => manifest,
        Err(err) => {
            problems.push(err.to_string());
            return None;
        }
    };
    match archive.digest() {
        Ok(digested) => {
            problems.extend(wagon_core::check::problems(
                &manifest,
                &digested.contents,
                &digested.sha256,
            ));
            Some((manifest, digested))
        }
        Err(err) => {
            problems.push(err.to_string());
            Some((manifest, Digested::default()))
        }
    }
}

/// The archive's pylock.toml checked against its manifest: problems, and the wheels it leaves
/// unused (not a problem: wheels for other platforms or extras). `None` when there is no lock.
fn lock_checks(
    archive: &Archive,
    manifest: &Manifest,
    limits: u64,
    digested: &Digested,
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let bytes = match archive.read_file(LOCK_FILE, limits) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(err) => {
            problems.push(err.to_string());
            return None;
        }
    };
    match PyLock::parse(&String::from_utf8_lossy(&bytes)) {
        Err(err) => {
            problems.push(err.to_string());
            Some(Vec::new())
        }
        Ok(lock) => {
            problems.extend(
                lock.disagreements(manifest, digested)
                    .into_iter()
                    .map(|p| format!("pylock.toml: {p}")),
            );
            Some(lock.unused(manifest))
        }
    }
}

/// Installs into a new virtualenv (made without pip: the installer brings its own) and checks
/// that the package's distribution is then present at the archive's version.
fn trial_install(
    context: &Context,
    archive: &Archive,
    manifest: &Manifest,
    base: &Path,
    installer: &str,
) -> anyhow::Result<()> {
    let installer = context
        .registry
        .installer(installer)
        .ok_or_else(|| anyhow::anyhow!("no installer named `{installer}`"))?;
    let scratch = wagon_core::scratch::tempdir("wagon-validate-")?;
    let venv = scratch.path().join("venv");
    let made = Command::new(base)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()?;
    if !made.status.success() {
        anyhow::bail!(
            "could not create a virtualenv with {}: {}",
            base.display(),
            String::from_utf8_lossy(&made.stderr).trim()
        );
    }
    let python = venv_python(&venv)?;
    let target = Interpreter::probe(&python)?;
    journey::install(
        archive,
        &target,
        installer.as_ref(),
        &InstallOptions::default(),
    )?;
    let found = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
        ])
        .arg(&manifest.package_name)
        .output()?;
    let version = String::from_utf8_lossy(&found.stdout).trim().to_string();
    if !found.status.success() {
        anyhow::bail!(
            "{} is not installed after the install",
            manifest.package_name
        );
    }
    if version != manifest.package_version {
        anyhow::bail!(
            "{} {} was installed, but package.json says {}",
            manifest.package_name,
            version,
            manifest.package_version
        );
    }
    Ok(())
}
