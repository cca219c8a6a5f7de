//! The install journey, shared by `install` and `validate`: the read stage ([`super::read`]) →
//! plan on the probed interpreter → installer, after PEP 668's check.

pub use super::JourneyError;
pub use super::read::{Unpacked, unpack};
use crate::archive::Archive;
use crate::interpreter::Interpreter;
use crate::plan::{InstallPlan, PlanOptions};
use crate::plugin::{InstallOutcome, InstallRequest, Installer};

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
