//! The install journey, shared by `install` and `validate`: read and check the manifest → unpack
//! with every digest verified (the archive and its lock checked against `package.json`) → plan on
//! the probed interpreter → installer.

use crate::archive::{Archive, ArchiveError, FILES_DIR, WHEELS_DIR};
use crate::interpreter::Interpreter;
use crate::manifest::{Manifest, ManifestError};
use crate::plan::{InstallPlan, PlanError, PlanOptions};
use crate::plugin::{InstallOutcome, InstallRequest, Installer, InstallerError};
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::python::PythonSyntaxError;
use crate::wheel::{WheelError, WheelInfo};

/// Choices the user makes about an install.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// What to plan: extras, and whether to ignore the platform.
    pub plan: PlanOptions,
    pub upgrade: bool,
    pub reinstall: bool,
    /// Byte-compile the installed `.py` files.
    pub compile: bool,
    /// Install even into an interpreter its distribution manages (PEP 668).
    pub break_system_packages: bool,
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
    #[error(transparent)]
    Installer(#[from] InstallerError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot create a scratch directory: {0}")]
    Scratch(#[source] std::io::Error),
    #[error("cannot read {path} of the unpacked archive: {source}")]
    ReadUnpacked {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
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

pub(crate) fn unpack_with(archive: &Archive, with_files: bool) -> Result<Unpacked, JourneyError> {
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
    let problems = crate::check::archive::problems(&manifest, &digested.contents, &digested.sha256);
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
            let disagreements = crate::check::lock::disagreements(&lock, &manifest, &digested);
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
            target: target.describe().to_string(),
            error: managed.error.clone(),
        });
    }
    let started = std::time::Instant::now();
    let plan = crate::plan::plan(
        &unpacked.manifest,
        &unpacked.wheels,
        unpacked.lock.as_ref(),
        &target.env,
        &options.plan,
    )?;
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
