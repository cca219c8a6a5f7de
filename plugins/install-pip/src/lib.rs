//! The pip installer plugin: `pip install --no-index --find-links WHEELS` with every planned
//! wheel pinned, so pip installs exactly the archive's plan and never reaches an index.
//!
//! A target without pip is still served: a pip found elsewhere (the venv's base interpreter,
//! `WAGON_PIP_PYTHON`, or `python3` on PATH) drives it through pip's own `--python` option.

use std::path::{Path, PathBuf};
use std::process::Command;

use wagon_core::archive::Limits;
use wagon_core::containment::SchemeRoots;
use wagon_core::interpreter::Interpreter;
use wagon_core::plugin::{InstallOutcome, InstallRequest, Installer, InstallerError};
use wagon_core::process::render;
use wagon_core::wheel_contents::{self, WheelContents};

/// Installs with pip.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pip;

const NAME: &str = "pip";

impl Installer for Pip {
    fn name(&self) -> &str {
        NAME
    }

    fn install(&self, request: &InstallRequest<'_>) -> Result<InstallOutcome, InstallerError> {
        let target = request.target;
        // pip checks neither a wheel's RECORD nor where its files land against what this
        // environment must keep; Wagon does, before pip sees any wheel.
        let fail = |message: String| InstallerError::Failed {
            installer: NAME.to_string(),
            python: target.python.display().to_string(),
            message,
        };
        let roots = SchemeRoots::of(target).map_err(fail)?;
        let mut destinations = Vec::new();
        for wheel in &request.plan.wheels {
            let files = WheelContents::open(
                &request.wheel_dir.join(&wheel.file_name),
                Limits::default().max_unpacked_bytes,
            )
            .and_then(|contents| contents.verify(&roots))
            .map_err(|refused| fail(format!("{}: {refused}", wheel.file_name)))?;
            destinations.push((wheel.file_name.clone(), files));
        }
        // pip would install the first wheel, then fail on the second, leaving the first behind.
        if let Some(clash) = wheel_contents::file_over_folder(&destinations) {
            return Err(fail(clash));
        }
        // pip removes an old version by its installed RECORD, guarded only by a string prefix
        // test: a RECORD line leaving the environment is refused here before pip can follow it.
        for wheel in &request.plan.wheels {
            if let Some(problem) = installed_record_problem(&roots, &wheel.name) {
                return Err(fail(problem));
            }
        }
        let mut command = pip_command(target)?;
        isolate(&mut command);
        command
            .arg("install")
            .args(["--no-index", "--disable-pip-version-check", "--no-input"])
            .arg("--find-links")
            .arg(request.wheel_dir);
        if request.upgrade {
            command.arg("--upgrade");
        }
        command.arg(if request.compile {
            "--compile"
        } else {
            "--no-compile"
        });
        if request.reinstall {
            command.arg("--force-reinstall");
        }
        // pip (23.0.1+) refuses a marked interpreter itself; only a marked one, so older pips
        // never see an option they do not know.
        if request.break_system_packages && target.report.externally_managed.is_some() {
            command.arg("--break-system-packages");
        }
        // Pin every wheel of the plan: pip then installs exactly what Wagon selected.
        for wheel in &request.plan.wheels {
            let extras = if wheel.extras.is_empty() {
                String::new()
            } else {
                format!(
                    "[{}]",
                    wheel
                        .extras
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            command.arg(format!("{}{extras}=={}", wheel.name, wheel.version));
        }
        command.args(request.extra_args);
        let rendered = render(&command);
        tracing::info!("running {rendered}");
        let output = command.output().map_err(|source| InstallerError::Spawn {
            installer: NAME.to_string(),
            command: rendered.clone(),
            source,
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stdout.lines().chain(stderr.lines()) {
            tracing::debug!(target: "pip", "{line}");
        }
        if !output.status.success() {
            let tail: Vec<&str> = stderr
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(InstallerError::Failed {
                installer: NAME.to_string(),
                python: target.python.display().to_string(),
                message: format!(
                    "`{rendered}` failed ({}):\n{}",
                    output.status,
                    tail.join("\n")
                ),
            });
        }
        let installed = stdout
            .lines()
            .find_map(|line| line.strip_prefix("Successfully installed "))
            .map(|rest| rest.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        Ok(InstallOutcome { installed })
    }
}

/// An install from an archive must see the archive's wheels and nothing else: the user's pip
/// configuration (`find-links`, `index-url`, …, from files or `PIP_*` variables) is set aside.
/// Arguments after `--` still reach pip.
/// The first line of `name`'s installed RECORD (if installed) that lies outside the
/// environment or through a link, as a message.
fn installed_record_problem(
    roots: &SchemeRoots,
    name: &wagon_core::python::PackageName,
) -> Option<String> {
    use wagon_core::containment::Scheme;
    for lib in [Scheme::Purelib, Scheme::Platlib] {
        let base = roots.root(lib);
        let entries = std::fs::read_dir(base).ok()?;
        for entry in entries.flatten() {
            let folder = entry.file_name().to_string_lossy().into_owned();
            let Some((project, _)) = folder
                .strip_suffix(".dist-info")
                .and_then(|stem| stem.rsplit_once('-'))
            else {
                continue;
            };
            if wagon_core::python::package_name(project).ok().as_ref() != Some(name) {
                continue;
            }
            let record = entry.path().join("RECORD");
            let Ok(rows) = std::fs::read(&record).map(|b| wagon_core::record::parse(&b)) else {
                continue;
            };
            for listed in rows.unwrap_or_default().keys() {
                let checked = roots
                    .recorded(base, listed)
                    .and_then(|dest| roots.check_no_links(&dest));
                if let Err(why) = checked {
                    return Some(format!(
                        "{} lists `{}`: {why}. pip would delete it when replacing {name}; \
                         fix that RECORD, or install with the unpack installer, which leaves \
                         such files alone",
                        record.display(),
                        listed.escape_debug()
                    ));
                }
            }
        }
    }
    None
}

fn isolate(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PIP_") {
            command.env_remove(key);
        }
    }
    command.env(
        "PIP_CONFIG_FILE",
        if cfg!(windows) { "NUL" } else { "/dev/null" },
    );
}

/// `TARGET -m pip`, or `OTHER -m pip --python TARGET` when the target has no pip.
fn pip_command(target: &Interpreter) -> Result<Command, InstallerError> {
    if target.report.has_pip {
        let mut command = Command::new(&target.python);
        command.args(["-m", "pip"]);
        return Ok(command);
    }
    let host = pip_host(target).ok_or_else(|| InstallerError::Failed {
        installer: NAME.to_string(),
        python: target.python.display().to_string(),
        message: "the target has no pip and no other interpreter with pip was found (set \
                  WAGON_PIP_PYTHON to one, install pip into the target, or use the unpack \
                  installer)"
            .to_string(),
    })?;
    tracing::info!(
        "{} has no pip; driving it with the pip of {}",
        target.python.display(),
        host.display()
    );
    let mut command = Command::new(host);
    command.args(["-m", "pip", "--python"]).arg(&target.python);
    Ok(command)
}

/// An interpreter other than the target that can run pip.
fn pip_host(target: &Interpreter) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(explicit) = std::env::var_os("WAGON_PIP_PYTHON") {
        candidates.push(PathBuf::from(explicit));
    }
    candidates.push(target.report.base_executable.clone());
    candidates.extend(which::which_all("python3").into_iter().flatten());
    candidates
        .into_iter()
        .find(|python| python != &target.python && has_pip(python))
}

fn has_pip(python: &Path) -> bool {
    Command::new(python)
        .args(["-I", "-c", "import pip"])
        .output()
        .is_ok_and(|out| out.status.success())
}
