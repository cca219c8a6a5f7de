//! The install journey, shared by `install` and `validate`: the read stage ([`super::read`]) →
//! plan on the probed interpreter → the plan against what the environment has → installer,
//! after PEP 668's check.

use std::collections::BTreeMap;

pub use super::JourneyError;
pub use super::read::{Unpacked, unpack};
use crate::archive::Archive;
use crate::interpreter::Interpreter;
use crate::plan::{InstallPlan, PlanOptions};
use crate::plugin::{InstallOutcome, InstallRequest, Installer};
use crate::python::{PackageName, Version};

/// Choices the user makes about an install.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// What to plan: extras, and whether to ignore the platform.
    pub plan: PlanOptions,
    /// Replace installed versions that differ from the archive's (else they are an error).
    pub upgrade: bool,
    /// Reinstall projects installed at the archive's version (and replace other versions).
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
    let installed = crate::installed::installed_versions(target);
    check_environment(
        &plan,
        &installed,
        options.upgrade || options.reinstall,
        target.describe(),
    )?;
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

/// The plan against what `installed` holds: every excluded project the plan needs must be
/// there at a version its requirement accepts, and — unless `replace` — no project of the plan
/// may be there at another version (pip's `-U`: without it, an install neither replaces nor
/// silently keeps a different version).
fn check_environment(
    plan: &InstallPlan,
    installed: &BTreeMap<PackageName, Version>,
    replace: bool,
    target: &str,
) -> Result<(), JourneyError> {
    let unmet: Vec<String> = plan
        .external
        .iter()
        .filter_map(|external| {
            let why = match installed.get(&external.name) {
                None => "it is not installed".to_string(),
                Some(version)
                    if external
                        .specifiers
                        .as_ref()
                        .is_some_and(|spec| !spec.contains(version)) =>
                {
                    format!("{} {version} is installed", external.name)
                }
                Some(_) => return None,
            };
            Some(format!(
                "`{}` (required by {}): {why}",
                external.requirement, external.required_by
            ))
        })
        .collect();
    if !unmet.is_empty() {
        return Err(JourneyError::ExcludedNotProvided {
            target: target.to_string(),
            unmet,
        });
    }
    if replace {
        return Ok(());
    }
    let conflicts: Vec<String> = plan
        .wheels
        .iter()
        .filter_map(|wheel| {
            let version = installed.get(&wheel.name)?;
            (version != &wheel.version).then(|| {
                format!(
                    "{} {version} is installed; the archive has {}",
                    wheel.name, wheel.version
                )
            })
        })
        .collect();
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(JourneyError::OtherVersionsInstalled {
            target: target.to_string(),
            conflicts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{External, PlannedWheel};
    use crate::python::{package_name, specifiers, version};

    fn planned(name: &str, v: &str) -> PlannedWheel {
        PlannedWheel {
            file_name: format!("{name}-{v}-py3-none-any.whl"),
            name: package_name(name).unwrap(),
            version: version(v).unwrap(),
            requested: false,
            extras: Vec::new(),
            marker: None,
            dependencies: Vec::new(),
        }
    }

    fn installed(pairs: &[(&str, &str)]) -> BTreeMap<PackageName, Version> {
        pairs
            .iter()
            .map(|(n, v)| (package_name(n).unwrap(), version(v).unwrap()))
            .collect()
    }

    #[test]
    fn another_installed_version_needs_upgrade_the_same_one_does_not() {
        let plan = InstallPlan {
            wheels: vec![planned("app", "1.0"), planned("lib", "2.0")],
            ..InstallPlan::default()
        };
        let env = installed(&[("app", "0.9"), ("lib", "2.0")]);
        let err = check_environment(&plan, &env, false, "venv").unwrap_err();
        assert_eq!(
            err.to_string(),
            "venv has other versions of projects the archive installs:\n  - app 0.9 is \
             installed; the archive has 1.0\nPass -u/--upgrade to replace them with the \
             archive's versions."
        );
        assert!(check_environment(&plan, &env, true, "venv").is_ok());
        let same = installed(&[("app", "1.0")]);
        assert!(check_environment(&plan, &same, false, "venv").is_ok());
    }

    #[test]
    fn excluded_projects_must_be_provided_at_an_accepted_version() {
        let plan = InstallPlan {
            wheels: vec![planned("app", "1.0")],
            external: vec![
                External {
                    name: package_name("blinker").unwrap(),
                    requirement: "blinker>=1.6".to_string(),
                    specifiers: Some(specifiers(">=1.6").unwrap()),
                    required_by: "app 1.0".to_string(),
                },
                External {
                    name: package_name("other").unwrap(),
                    requirement: "other".to_string(),
                    specifiers: None,
                    required_by: "app 1.0".to_string(),
                },
            ],
            ..InstallPlan::default()
        };
        let good = installed(&[("blinker", "1.8.2"), ("other", "0.1")]);
        assert!(check_environment(&plan, &good, false, "venv").is_ok());
        let bad = installed(&[("blinker", "1.5")]);
        let err = check_environment(&plan, &bad, true, "venv").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("  - `blinker>=1.6` (required by app 1.0): blinker 1.5 is installed\n")
                && text.contains("  - `other` (required by app 1.0): it is not installed\n"),
            "{text}"
        );
    }
}
