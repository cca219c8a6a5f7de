//! Planning: which of an archive's wheels to install on an interpreter. One entry point,
//! [`plan`], whichever source of truth it reads — the archive's `pylock.toml` (`from_lock`) or
//! the wheels' own metadata (`from_metadata`) — after the archive-wide `python_requires` check.
//! Every command that installs or checks installability goes through here.

mod from_lock;
mod from_metadata;
mod roots;

pub use from_lock::follow_lock;
pub use from_metadata::{Unmet, select, unmet_requirements};
pub use roots::{roots, top_level_projects};

use crate::environment::Environment;
use crate::manifest::Manifest;
use crate::pylock::PyLock;
use crate::python::{self, ExtraName, PackageName, PythonSyntaxError, Version};
use crate::wheel::WheelInfo;

/// The user's choices that change what is planned.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan even when wheels or `python_requires` do not fit the interpreter.
    pub ignore_platform: bool,
    /// Extras of the archive's package to install too (`NAME[extra]`).
    pub extras: Vec<String>,
}

/// A project the user asked to install.
#[derive(Debug, Clone)]
pub struct RootRequest {
    pub name: PackageName,
    pub extras: Vec<ExtraName>,
    /// Pin to this version (the archive's `package_version`).
    pub version: Option<Version>,
}

/// One wheel chosen for installation.
#[derive(Debug, Clone)]
pub struct PlannedWheel {
    pub file_name: String,
    pub name: PackageName,
    pub version: Version,
    /// Asked for by the user rather than pulled in as a dependency.
    pub requested: bool,
    /// The extras whose dependencies were followed for this project.
    pub extras: Vec<ExtraName>,
    /// The condition under which this project is needed at all, when it is not always needed
    /// (a dependency declared only for some platforms or Python versions).
    pub marker: Option<String>,
    /// The chosen projects this one depends on, on this target.
    pub dependencies: Vec<PackageName>,
}

/// The wheels to install, dependencies before the projects that need them.
#[derive(Debug, Clone, Default)]
pub struct InstallPlan {
    pub wheels: Vec<PlannedWheel>,
    /// Archive wheels left out (not needed on this target), by file name.
    pub unused: Vec<String>,
}

impl InstallPlan {
    pub fn requested(&self) -> impl Iterator<Item = &PlannedWheel> {
        self.wheels.iter().filter(|w| w.requested)
    }
}

/// Why no installable set could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the archive has no wheel for `{requirement}` (required by {required_by}); the archive \
         is incomplete — rebuild it, or check that `--exclude` did not drop it"
    )]
    Missing {
        requirement: String,
        required_by: String,
    },
    #[error(
        "no wheel of `{project}` in the archive fits {target}:\n{}\nUse an archive built for this \
         platform and Python, or pass --ignore-platform to try anyway.",
        .reasons.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n")
    )]
    Incompatible {
        project: String,
        target: String,
        reasons: Vec<String>,
    },
    #[error(
        "`{requirement}` (required by {required_by}) is not satisfied by the archive's {project} \
         {version}; the archive's wheels do not fit together"
    )]
    Conflict {
        requirement: String,
        required_by: String,
        project: String,
        version: String,
    },
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
    #[error(
        "pylock.toml was made for {environments}, and {target} is not one of them. Use a matching \
         interpreter, or --ignore-platform to try anyway."
    )]
    LockEnvironment {
        environments: String,
        target: String,
    },
    #[error(
        "pylock.toml does not hold together on {target}:\n{}\nThe archive's lock was altered or \
         made wrongly; do not install it.",
        .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    LockUnsound {
        target: String,
        problems: Vec<String>,
    },
    #[error(transparent)]
    Syntax(#[from] PythonSyntaxError),
}

/// Chooses what to install from an archive (its `manifest`, read `wheels` and checked `lock`) on
/// `target`. The lock is the plan, unless the user asks for extras it was not made with.
pub fn plan(
    manifest: &Manifest,
    wheels: &[WheelInfo],
    lock: Option<&PyLock>,
    target: &Environment,
    options: &PlanOptions,
) -> Result<InstallPlan, PlanError> {
    match check_python_requires(manifest, target) {
        Err(PlanError::PythonRequires {
            package,
            version,
            requires,
            target,
        }) if options.ignore_platform => tracing::warn!(
            "--ignore-platform: installing anyway, but {package} {version} requires Python \
             {requires} and the target is {target}"
        ),
        result => result?,
    }
    let roots = roots(manifest, &options.extras)?;
    if let Some(lock) = lock
        && options.extras.is_empty()
    {
        let names: Vec<_> = roots.iter().map(|r| r.name.clone()).collect();
        return follow_lock(lock, wheels, target, &names, options.ignore_platform);
    }
    select(wheels, &roots, target, options.ignore_platform)
}

/// wagon 1.0 joined every wheel's `Requires-Python` with `,`; honour all of them.
fn check_python_requires(manifest: &Manifest, target: &Environment) -> Result<(), PlanError> {
    let Some(requires) = manifest
        .python_requires
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    else {
        return Ok(());
    };
    match python::specifiers(requires) {
        Ok(specifiers) if !specifiers.contains(&target.python_full_version) => {
            Err(PlanError::PythonRequires {
                package: manifest.package_name.clone(),
                version: manifest.package_version.clone(),
                requires: requires.to_string(),
                target: target.describe().to_string(),
            })
        }
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::warn!("ignoring python_requires of package.json: {err}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pylock::PyLock;
    use crate::testing::{linux, manifest_with, wheel};

    /// The planned projects, sorted (a lock's plan follows the lock's order).
    fn names(plan: &InstallPlan) -> Vec<String> {
        let mut names: Vec<String> = plan.wheels.iter().map(|w| w.name.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn python_requires_of_the_archive_is_checked_first() {
        let mut manifest = manifest_with(&["app-1.0-py3-none-any.whl"]);
        manifest.python_requires = Some(">=3.10,>=3.12".to_string());
        let wheels = [wheel("app", "1.0", &[])];
        let err = plan(&manifest, &wheels, None, &linux(), &PlanOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "app 1.0 requires Python >=3.10,>=3.12 (python_requires in package.json), but \
                 the target is {}. Use a matching interpreter with --python, or \
                 --ignore-platform to try anyway.",
                linux().describe()
            )
        );
        let forced = PlanOptions {
            ignore_platform: true,
            ..PlanOptions::default()
        };
        assert!(plan(&manifest, &wheels, None, &linux(), &forced).is_ok());
    }

    #[test]
    fn the_lock_is_the_plan_unless_extras_are_asked_for() {
        let manifest = manifest_with(&["app-1.0-py3-none-any.whl", "dep-1.0-py3-none-any.whl"]);
        let wheels = [
            wheel("app", "1.0", &["dep; extra == 'more'"]),
            wheel("dep", "1.0", &[]),
        ];
        // A lock that installs dep although no requirement asks for it.
        let mut lock =
            PyLock::for_environment(&manifest, &wheels, &["more".into()], &linux()).unwrap();
        lock.environments = None;
        assert_eq!(lock.packages.len(), 2);
        let followed = plan(
            &manifest,
            &wheels,
            Some(&lock),
            &linux(),
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&followed), ["app", "dep"]);
        let without_lock =
            plan(&manifest, &wheels, None, &linux(), &PlanOptions::default()).unwrap();
        assert_eq!(names(&without_lock), ["app"]);
        let with_extra = PlanOptions {
            extras: vec!["more".into()],
            ..PlanOptions::default()
        };
        let extra = plan(&manifest, &wheels, Some(&lock), &linux(), &with_extra).unwrap();
        assert_eq!(names(&extra), ["app", "dep"]);
    }

    #[test]
    fn a_lock_made_for_another_environment_is_refused() {
        let manifest = manifest_with(&["app-1.0-py3-none-any.whl"]);
        let wheels = [wheel("app", "1.0", &[])];
        let mut lock = PyLock::for_environment(&manifest, &wheels, &[], &linux()).unwrap();
        lock.environments = Some(vec!["sys_platform == 'win32'".to_string()]);
        let err = plan(
            &manifest,
            &wheels,
            Some(&lock),
            &linux(),
            &PlanOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, PlanError::LockEnvironment { .. }), "{err}");
    }
}
