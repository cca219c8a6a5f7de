//! The validate journey (`wagon validate`, `create --validate`): every problem with an archive,
//! not only the first — `package.json`'s keys and types, the archive against its manifest, its
//! lock against both — then, when those pass, a trial install into a throwaway virtualenv.

use std::path::Path;
use std::process::Command;

use super::install::{InstallOptions, JourneyError, Unpacked, install_unpacked, unpack};
use crate::archive::{Archive, Digested, Limits};
use crate::error_chain::error_chain;
use crate::interpreter::{Interpreter, InterpreterError, venv_python};
use crate::manifest::{Manifest, ManifestError};
use crate::plugin::{Installer, Registry};
use crate::pylock::{LOCK_FILE, PyLock};

/// The trial install: a throwaway virtualenv of `python`, filled by `installer`.
#[derive(Clone, Copy)]
pub struct TrialInstall<'a> {
    pub python: &'a Path,
    pub installer: &'a dyn Installer,
}

/// What validation found.
#[derive(Debug, Default)]
pub struct Findings {
    /// The manifest, when `package.json` could be read.
    pub manifest: Option<Manifest>,
    /// Every problem, one message each; empty for a valid archive.
    pub problems: Vec<String>,
    /// With a `pylock.toml`: the archive's wheels it does not use (not a problem: wheels for
    /// other platforms or extras). `None` when there is no lock.
    pub unused_wheels: Option<Vec<String>>,
    /// Whether the trial install ran and passed.
    pub install_checked: bool,
}

/// Why the trial install failed.
#[derive(Debug, thiserror::Error)]
enum TrialError {
    #[error("cannot create a scratch directory: {0}")]
    Scratch(#[source] std::io::Error),
    #[error("could not run {python}: {source}")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not create a virtualenv with {python}: {stderr}")]
    Venv { python: String, stderr: String },
    #[error(transparent)]
    Interpreter(#[from] InterpreterError),
    #[error(transparent)]
    Journey(#[from] JourneyError),
    #[error("{0} is not installed after the install")]
    NotInstalled(String),
    #[error("{package} {installed} was installed, but package.json says {recorded}")]
    WrongVersion {
        package: String,
        installed: String,
        recorded: String,
    },
}

/// Every problem with the archive at `path`: the static checks, then — when they pass and a
/// trial install is asked for — a trial install.
pub fn validate(
    path: &Path,
    registry: &Registry,
    limits: Limits,
    trial: Option<TrialInstall<'_>>,
) -> Findings {
    let mut findings = Findings::default();
    let archive = match Archive::open(path, registry, limits) {
        Ok(archive) => archive,
        Err(err) => {
            findings.problems.push(error_chain(&err));
            return findings;
        }
    };
    let checked = static_checks(&archive, &mut findings.problems);
    if let Some((manifest, digested)) = &checked {
        findings.unused_wheels = lock_checks(
            &archive,
            manifest,
            limits.max_metadata_bytes,
            digested,
            &mut findings.problems,
        );
    }
    findings.manifest = checked.map(|(manifest, _)| manifest);
    let Some(manifest) = &findings.manifest else {
        return findings;
    };
    let multi_target = !manifest.targets.is_empty();
    if !findings.problems.is_empty() || (!multi_target && trial.is_none()) {
        return findings;
    }
    // One unpack serves the target checks and the trial install.
    let unpacked = match unpack(&archive) {
        Ok(unpacked) => unpacked,
        Err(err) if multi_target => {
            findings.problems.push(error_chain(&err));
            return findings;
        }
        Err(err) => {
            findings
                .problems
                .push(format!("install check failed: {}", error_chain(&err)));
            return findings;
        }
    };
    if multi_target {
        findings
            .problems
            .extend(crate::check::targets::problems(manifest, &unpacked.wheels));
    }
    if let (Some(trial), true) = (trial, findings.problems.is_empty()) {
        match trial_install(&unpacked, manifest, trial) {
            Ok(()) => findings.install_checked = true,
            Err(err) => findings
                .problems
                .push(format!("install check failed: {}", error_chain(&err))),
        }
    }
    findings
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
    let manifest = match Manifest::from_json(&doc.bytes) {
        Ok(manifest) => manifest,
        Err(ManifestError::Invalid(key_problems)) => {
            problems.extend(
                key_problems
                    .into_iter()
                    .map(|p| format!("package.json: {p}")),
            );
            return None;
        }
        Err(err) => {
            problems.push(err.to_string());
            return None;
        }
    };
    match archive.digest() {
        Ok(digested) => {
            problems.extend(crate::check::archive::problems(
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

/// The archive's `pylock.toml` checked against its manifest: problems, and the wheels it leaves
/// unused. `None` when there is no lock.
fn lock_checks(
    archive: &Archive,
    manifest: &Manifest,
    max_bytes: u64,
    digested: &Digested,
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let bytes = match archive.read_file(LOCK_FILE, max_bytes) {
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
                crate::check::lock::disagreements(&lock, manifest, digested)
                    .into_iter()
                    .map(|p| format!("pylock.toml: {p}")),
            );
            Some(crate::check::lock::unused_wheels(&lock, manifest))
        }
    }
}

/// Installs into a new virtualenv (made without pip: the installer brings its own) and checks
/// that the package's distribution is then present at the archive's version.
fn trial_install(
    unpacked: &Unpacked,
    manifest: &Manifest,
    trial: TrialInstall<'_>,
) -> Result<(), TrialError> {
    let scratch = crate::scratch::tempdir("wagon-validate-").map_err(TrialError::Scratch)?;
    let venv = scratch.path().join("venv");
    let spawn = |source| TrialError::Spawn {
        python: trial.python.display().to_string(),
        source,
    };
    let made = Command::new(trial.python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .map_err(spawn)?;
    if !made.status.success() {
        return Err(TrialError::Venv {
            python: trial.python.display().to_string(),
            stderr: String::from_utf8_lossy(&made.stderr).trim().to_string(),
        });
    }
    let python = venv_python(&venv)?;
    let target = Interpreter::probe(&python)?;
    install_unpacked(
        unpacked,
        &target,
        trial.installer,
        &InstallOptions::default(),
    )?;
    let found = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
        ])
        .arg(&manifest.package_name)
        .output()
        .map_err(spawn)?;
    if !found.status.success() {
        return Err(TrialError::NotInstalled(manifest.package_name.clone()));
    }
    let installed = String::from_utf8_lossy(&found.stdout).trim().to_string();
    if installed != manifest.package_version {
        return Err(TrialError::WrongVersion {
            package: manifest.package_name.clone(),
            installed,
            recorded: manifest.package_version.clone(),
        });
    }
    Ok(())
}
