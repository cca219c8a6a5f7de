//! The install journey shared by `install` and `validate`: open → read and check the manifest →
//! unpack with every digest verified → probe-derived selection → installer.

use std::path::Path;
use std::str::FromStr;

use crate::archive::{Archive, ArchiveError, FILES_DIR, WHEELS_DIR};
use crate::interpreter::Interpreter;
use crate::manifest::{Manifest, ManifestError};
use crate::plan::{InstallPlan, PlanError, RootRequest, select};
use crate::plugin::{InstallOutcome, InstallRequest, Installer, InstallerError};
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::python::{self, ExtraName, PythonSyntaxError};
use crate::wheel::{WheelError, WheelInfo};

/// Choices the user makes about an install.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Install even when wheels or `python_requires` do not fit the interpreter.
    pub ignore_platform: bool,
    pub upgrade: bool,
    pub reinstall: bool,
    /// Byte-compile the installed `.py` files.
    pub compile: bool,
    /// Install even into an interpreter its distribution manages (PEP 668).
    pub break_system_packages: bool,
    /// Extras of the archive's package to install too (`NAME[extra]`).
    pub extras: Vec<String>,
    /// Passed to the installer untouched.
    pub extra_args: Vec<String>,
}

/// Why an archive could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{archive}: {source}")]
    Manifest {
        archive: String,
        #[source]
        source: ManifestError,
    },
    #[error(
        "{archive} does not match its own package.json:\n{}\nThe archive was altered or damaged; do not install it.",
        .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Inconsistent {
        archive: String,
        problems: Vec<String>,
    },
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error(transparent)]
    Syntax(#[from] PythonSyntaxError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "{package} {version} requires Python {requires} (python_requires in package.json), but \
         the target is {target}. Use a matching interpreter with --python, or --ignore-platform \
         to try anyway."
    )]
    PythonRequires {
        package: String,
        version: String,
        requires: String,
        target: String,
    },
    #[error(transparent)]
    Installer(#[from] InstallerError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot create a scratch directory: {0}")]
    Scratch(#[source] std::io::Error),
    #[error(
        "{target} is externally managed (PEP 668): its packages belong to the system's package \
         manager, and installing into it can break the system.{}\nInstall into a virtualenv \
         instead (`python3 -m venv DIR`, then `wagon install ARCHIVE --venv DIR`), or pass \
         --break-system-packages if you really mean to install into this interpreter.",
        quoted(.error.as_deref())
    )]
    ExternallyManaged {
        target: String,
        /// The distribution's own words (`EXTERNALLY-MANAGED`'s `Error`).
        error: Option<String>,
    },
}

/// The distribution's message, indented, on lines of its own.
fn quoted(error: Option<&str>) -> String {
    error.map_or_else(String::new, |text| {
        let lines: Vec<String> = text.trim().lines().map(|l| format!("    {l}")).collect();
        format!("\nIts distribution says:\n{}", lines.join("\n"))
    })
}

/// An archive unpacked into a scratch directory, with its wheels read.
#[derive(Debug)]
pub struct Unpacked {
    pub dir: crate::scratch::ScratchDir,
    pub top: String,
    pub manifest: Manifest,
    pub wheels: Vec<WheelInfo>,
    /// The archive's `pylock.toml`, checked against the manifest.
    pub lock: Option<PyLock>,
}

impl Unpacked {
    /// The directory holding the wheels.
    pub fn wheel_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(&self.top).join(WHEELS_DIR)
    }
}

/// Reads the manifest (from the archive's head, so a bad one fails fast), then unpacks the
/// archive's metadata and wheels into a scratch directory verifying every recorded digest (the
/// added files too, without writing them), then reads each wheel.
pub fn unpack(archive: &Archive) -> Result<Unpacked, JourneyError> {
    unpack_with(archive, false)
}

fn unpack_with(archive: &Archive, with_files: bool) -> Result<Unpacked, JourneyError> {
    let started = std::time::Instant::now();
    let name = archive.path().display().to_string();
    let doc = archive.read_manifest()?;
    let manifest = doc.parse().map_err(|source| JourneyError::Manifest {
        archive: name.clone(),
        source,
    })?;
    let dir = crate::scratch::tempdir("wagon-unpack-").map_err(JourneyError::Scratch)?;
    // `files/*` are for the user (`get-file`), not the installer: hashed, never written.
    let digested = if with_files {
        archive.extract(dir.path())?
    } else {
        archive.extract_without(dir.path(), FILES_DIR)?
    };
    let problems = crate::check::problems(&manifest, &digested.contents, &digested.sha256);
    if !problems.is_empty() {
        return Err(JourneyError::Inconsistent {
            archive: name,
            problems,
        });
    }
    let wheel_dir = dir.path().join(&doc.top).join(WHEELS_DIR);
    let wheels = manifest
        .wheels
        .iter()
        .map(|file| WheelInfo::read(&wheel_dir.join(file)))
        .collect::<Result<Vec<_>, _>>()?;
    tracing::debug!("read and checked the archive in {:.3?}", started.elapsed());
    let lock_path = dir.path().join(&doc.top).join(LOCK_FILE);
    let lock = match std::fs::read_to_string(&lock_path) {
        Err(_) => None,
        Ok(text) => {
            let lock = PyLock::parse(&text)?;
            let disagreements = lock.disagreements(&manifest, &digested);
            if !disagreements.is_empty() {
                return Err(LockError::Disagrees(disagreements).into());
            }
            Some(lock)
        }
    };
    Ok(Unpacked {
        dir,
        top: doc.top,
        manifest,
        wheels,
        lock,
    })
}

/// Chooses what to install from an unpacked archive on `target`.
pub fn plan(
    unpacked: &Unpacked,
    target: &Interpreter,
    options: &InstallOptions,
) -> Result<InstallPlan, JourneyError> {
    let manifest = &unpacked.manifest;
    if !options.ignore_platform {
        check_python_requires(manifest, target)?;
    }
    let roots = roots(manifest, &options.extras)?;
    // The archive's lock is the plan, unless the user asks for extras it was not made with.
    if let Some(lock) = &unpacked.lock
        && options.extras.is_empty()
    {
        if !options.ignore_platform {
            lock.check_environment(target)?;
        }
        let names: Vec<_> = roots.iter().map(|r| r.name.clone()).collect();
        return Ok(lock.plan_for(&unpacked.wheels, target, &names, options.ignore_platform)?);
    }
    Ok(select(
        &unpacked.wheels,
        &roots,
        target,
        options.ignore_platform,
    )?)
}

/// What the user asked for: the archive's package at its version (with `extras`), or, for a
/// requirements-only archive, the top-level projects recorded in `root_packages`.
pub fn roots(manifest: &Manifest, extras: &[String]) -> Result<Vec<RootRequest>, JourneyError> {
    let extras = extras
        .iter()
        .map(|e| {
            ExtraName::from_str(e).map_err(|err| PythonSyntaxError::PackageName {
                input: e.clone(),
                reason: err.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(names) = manifest
        .extra
        .get("root_packages")
        .and_then(|v| v.as_array())
    {
        return names
            .iter()
            .filter_map(|name| name.as_str())
            .map(|name| {
                Ok(RootRequest {
                    name: python::package_name(name)?,
                    extras: Vec::new(),
                    version: None,
                })
            })
            .collect();
    }
    Ok(vec![RootRequest {
        name: python::package_name(&manifest.package_name)?,
        extras,
        version: python::version(&manifest.package_version).ok(),
    }])
}

/// wagon 1.0 joined every wheel's `Requires-Python` with `,`; honour all of them.
fn check_python_requires(manifest: &Manifest, target: &Interpreter) -> Result<(), JourneyError> {
    let Some(requires) = manifest
        .python_requires
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    else {
        return Ok(());
    };
    match python::specifiers(requires) {
        Ok(specifiers) if !specifiers.contains(&target.python_full_version) => {
            Err(JourneyError::PythonRequires {
                package: manifest.package_name.clone(),
                version: manifest.package_version.clone(),
                requires: requires.to_string(),
                target: target.describe(),
            })
        }
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::warn!("ignoring python_requires of package.json: {err}");
            Ok(())
        }
    }
}

/// The whole journey: unpack, plan, install.
pub fn install(
    archive: &Archive,
    target: &Interpreter,
    installer: &dyn Installer,
    options: &InstallOptions,
) -> Result<(InstallPlan, InstallOutcome), JourneyError> {
    let unpacked = unpack(archive)?;
    install_unpacked(&unpacked, target, installer, options)
}

/// Plans and installs an already unpacked archive (so a caller can unpack while the target
/// interpreter is being probed).
pub fn install_unpacked(
    unpacked: &Unpacked,
    target: &Interpreter,
    installer: &dyn Installer,
    options: &InstallOptions,
) -> Result<(InstallPlan, InstallOutcome), JourneyError> {
    // Before anything is installed: PEP 668 asks installers to leave the system's Python to
    // the system's package manager unless the user insists.
    if let Some(managed) = &target.report.externally_managed
        && !options.break_system_packages
    {
        return Err(JourneyError::ExternallyManaged {
            target: target.describe(),
            error: managed.error.clone(),
        });
    }
    let started = std::time::Instant::now();
    let plan = plan(unpacked, target, options)?;
    tracing::debug!(
        "planned {} wheels in {:.3?}",
        plan.wheels.len(),
        started.elapsed()
    );
    let wheel_dir = unpacked.wheel_dir();
    let outcome = installer.install(&InstallRequest {
        target,
        plan: &plan,
        wheel_dir: &wheel_dir,
        upgrade: options.upgrade,
        reinstall: options.reinstall,
        compile: options.compile,
        break_system_packages: options.break_system_packages,
        extra_args: &options.extra_args,
    })?;
    tracing::debug!(
        "{} installed in {:.3?}",
        installer.name(),
        started.elapsed()
    );
    Ok((plan, outcome))
}

/// Adds a `pylock.toml` to an archive — or replaces its lock — with the plan for `target`,
/// writing the result to `destination` (which may be the archive itself: the write is atomic).
/// `package.json`, the wheels and the added files are carried over byte for byte.
pub fn relock(
    archive: &Archive,
    target: &Interpreter,
    format: &crate::archive::OutputFormat,
    destination: &Path,
) -> Result<PyLock, JourneyError> {
    let unpacked = unpack_with(archive, true)?;
    let roots = roots(&unpacked.manifest, &[])?;
    let plan = select(&unpacked.wheels, &roots, target, false)?;
    let lock = PyLock::from_plan(&plan, &unpacked.wheels, &unpacked.manifest, target);
    let top = unpacked.dir.path().join(&unpacked.top);
    let manifest_path = top.join(crate::manifest::MANIFEST_FILE);
    let manifest = std::fs::read(&manifest_path).map_err(|source| ArchiveError::Write {
        path: manifest_path.clone(),
        source,
    })?;
    let list = |folder: &str| -> Vec<(String, std::path::PathBuf)> {
        let mut found: Vec<_> = std::fs::read_dir(top.join(folder))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let layout = crate::archive::ArchiveLayout {
        top: unpacked.top.clone(),
        manifest,
        metadata_files: vec![(LOCK_FILE.to_string(), lock.to_toml()?.into_bytes())],
        wheels: list(WHEELS_DIR),
        files: list(crate::archive::FILES_DIR),
    };
    crate::archive::write_archive(&layout, format, destination)?;
    Ok(lock)
}
