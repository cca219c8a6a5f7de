//! Planning: which of an archive's wheels to install on an interpreter. One entry point,
//! [`plan`], whichever source of truth it reads — the archive's `pylock.toml` (`from_lock`) or
//! the wheels' own metadata (`from_metadata`) — after the archive-wide `python_requires` check.
//! Every command that installs or checks installability goes through here.

mod from_lock;
mod from_metadata;
mod roots;

pub use from_lock::follow_lock;
pub use from_metadata::{Unmet, select, unmet_requirements};
pub use roots::{added_roots, excluded_projects, roots, top_level_projects};

use crate::environment::Environment;
use crate::manifest::Manifest;
use crate::pylock::PyLock;
use crate::python::{
    self, ExtraName, MarkerTree, PackageName, PythonSyntaxError, Requirement, Version,
    VersionSpecifiers,
};
use crate::wheel::WheelInfo;

/// The user's choices that change what is planned.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan even when wheels or `python_requires` do not fit the interpreter.
    pub ignore_platform: bool,
    /// Extras of the archive's package to install besides those it was made with.
    pub extras: Vec<String>,
    /// Projects of the archive's wheels to install besides its roots (`install --with`,
    /// `install -r FILE`).
    pub with: Vec<Requirement>,
}

/// A project the user asked to install.
#[derive(Debug, Clone)]
pub struct RootRequest {
    pub name: PackageName,
    pub extras: Vec<ExtraName>,
    /// Pin to this version (the archive's `package_version`).
    pub version: Option<Version>,
    /// The versions accepted, when a requirement names some (`-r` lines, `--with NAME==V`).
    pub specifiers: Option<VersionSpecifiers>,
    /// Where the root applies (a `-r` line's marker); `TRUE` everywhere.
    pub marker: MarkerTree,
}

impl RootRequest {
    /// Whether this root is wanted on `target`.
    pub fn applies(&self, target: &Environment) -> bool {
        self.marker.evaluate(&target.markers, &[])
    }
}

/// A requirement on a project left out of the archive with `--exclude`: the target
/// environment must already satisfy it.
#[derive(Debug, Clone)]
pub struct External {
    pub name: PackageName,
    /// The requirement as written (`blinker>=1.6.2`).
    pub requirement: String,
    pub specifiers: Option<VersionSpecifiers>,
    /// Who requires it (`flask 3.0.3`).
    pub required_by: String,
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
    /// What the plan needs of excluded projects, which the environment must provide.
    pub external: Vec<External>,
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
         is incomplete — rebuild it"
    )]
    Missing {
        requirement: String,
        required_by: String,
    },
    #[error(
        "{package} has no extra `{extra}` (its extras: {}); check the spelling",
        if .known.is_empty() { "none".to_string() } else { .known.join(", ") }
    )]
    UnknownExtra {
        package: String,
        extra: String,
        known: Vec<String>,
    },
    #[error(
        "the archive was made without the wheels of extra {} of {package}: it has no wheel for \
         `{requirement}` (required by {required_by}). Rebuild the archive with `{package}[{}]` \
         to install it",
        .extras.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", "),
        .extras.join(",")
    )]
    ExtraNotPacked {
        package: String,
        extras: Vec<String>,
        requirement: String,
        required_by: String,
    },
    #[error(
        "the archive has no project `{requirement}`; it holds {holds}. Name one of those (with \
         --with or in the file given to -r)"
    )]
    NotInArchive { requirement: String, holds: String },
    #[error(
        "the archive has no wheel of {project} that `{requirement}` accepts; it holds {project} \
         {versions}"
    )]
    VersionNotInArchive {
        requirement: String,
        project: String,
        versions: String,
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
    check_extras(manifest, wheels, &options.extras)?;
    let recorded = roots(manifest, &[])?;
    let mut wanted = roots(manifest, &options.extras)?;
    wanted.extend(added_roots(wheels, &options.with)?);
    let excluded = excluded_projects(manifest);
    let same_roots = wanted.len() == recorded.len()
        && wanted
            .iter()
            .zip(&recorded)
            .all(|(w, r)| w.name == r.name && w.extras == r.extras);
    if let Some(lock) = lock
        && same_roots
    {
        let names: Vec<_> = recorded
            .iter()
            .filter(|r| r.applies(target))
            .map(|r| r.name.clone())
            .collect();
        return follow_lock(
            lock,
            wheels,
            target,
            &names,
            &excluded,
            options.ignore_platform,
        );
    }
    match select(wheels, &wanted, &excluded, target, options.ignore_platform) {
        Err(PlanError::Missing {
            requirement,
            required_by,
        }) if !options.extras.is_empty() => {
            // Was it the user's extras that reached past the archive's wheels?
            let mut without = recorded;
            without.extend(added_roots(wheels, &options.with)?);
            let missing = PlanError::Missing {
                requirement: requirement.clone(),
                required_by: required_by.clone(),
            };
            match select(wheels, &without, &excluded, target, options.ignore_platform) {
                Ok(_) => Err(PlanError::ExtraNotPacked {
                    package: manifest.package_name.clone(),
                    extras: options.extras.clone(),
                    requirement,
                    required_by,
                }),
                Err(_) => Err(missing),
            }
        }
        other => other,
    }
}

/// The extras the user asks for must be extras of the archive's package.
fn check_extras(
    manifest: &Manifest,
    wheels: &[WheelInfo],
    extras: &[String],
) -> Result<(), PlanError> {
    if extras.is_empty() {
        return Ok(());
    }
    let package = python::package_name(&manifest.package_name)?;
    let mut known: Vec<&ExtraName> = wheels
        .iter()
        .filter(|w| w.filename.name == package)
        .flat_map(|w| &w.metadata.provides_extra)
        .collect();
    known.sort();
    known.dedup();
    for extra in extras {
        let parsed = python::extra_name(extra)?;
        if !known.contains(&&parsed) {
            return Err(PlanError::UnknownExtra {
                package: manifest.package_name.clone(),
                extra: extra.clone(),
                known: known.iter().map(ToString::to_string).collect(),
            });
        }
    }
    Ok(())
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
            with_extras(wheel("app", "1.0", &["dep; extra == 'more'"]), &["more"]),
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

    fn with_extras(mut wheel: WheelInfo, extras: &[&str]) -> WheelInfo {
        wheel.metadata.provides_extra = extras
            .iter()
            .map(|e| python::extra_name(e).unwrap())
            .collect();
        wheel
    }

    fn requirement(text: &str) -> Requirement {
        python::requirement(text).unwrap()
    }

    #[test]
    fn recorded_roots_carry_extras_versions_and_markers_and_user_extras_add() {
        let mut manifest = manifest_with(&[]);
        manifest.root_packages = Some(vec![
            "App[one]".to_string(),
            "tool>=2".to_string(),
            "winonly; sys_platform == 'win32'".to_string(),
        ]);
        let wheels = [
            with_extras(
                wheel(
                    "app",
                    "1.0",
                    &["one; extra == 'one'", "two; extra == 'two'"],
                ),
                &["one", "two"],
            ),
            wheel("one", "1.0", &[]),
            wheel("two", "1.0", &[]),
            wheel("tool", "1.0", &[]),
            wheel("tool", "2.0", &[]),
            wheel("winonly", "1.0", &[]),
        ];
        let options = PlanOptions {
            extras: vec!["two".into()],
            ..PlanOptions::default()
        };
        let planned = plan(&manifest, &wheels, None, &linux(), &options).unwrap();
        assert_eq!(names(&planned), ["app", "one", "tool", "two"]);
        let tool = planned.wheels.iter().find(|w| w.name.as_ref() == "tool");
        assert_eq!(tool.unwrap().version.to_string(), "2.0");

        let unknown = PlanOptions {
            extras: vec!["three".into()],
            ..PlanOptions::default()
        };
        let err = plan(&manifest, &wheels, None, &linux(), &unknown).unwrap_err();
        assert_eq!(
            err.to_string(),
            "app has no extra `three` (its extras: one, two); check the spelling"
        );
    }

    #[test]
    fn an_extra_whose_wheels_were_not_packed_says_so() {
        let manifest = manifest_with(&[]);
        let wheels = [with_extras(
            wheel("app", "1.0", &["fancy; extra == 'ui'"]),
            &["ui"],
        )];
        let options = PlanOptions {
            extras: vec!["ui".into()],
            ..PlanOptions::default()
        };
        let err = plan(&manifest, &wheels, None, &linux(), &options).unwrap_err();
        assert!(
            matches!(&err, PlanError::ExtraNotPacked { requirement, .. }
                if requirement.starts_with("fancy")),
            "{err}"
        );
    }

    #[test]
    fn projects_added_must_be_in_the_archive_at_an_accepted_version() {
        let manifest = manifest_with(&[]);
        let wheels = [wheel("app", "1.0", &[]), wheel("side", "1.0", &[])];
        let with = |text: &str| PlanOptions {
            with: vec![requirement(text)],
            ..PlanOptions::default()
        };
        let planned = plan(&manifest, &wheels, None, &linux(), &with("side")).unwrap();
        assert_eq!(names(&planned), ["app", "side"]);
        let err = plan(&manifest, &wheels, None, &linux(), &with("nope")).unwrap_err();
        assert!(matches!(err, PlanError::NotInArchive { .. }), "{err}");
        let err = plan(&manifest, &wheels, None, &linux(), &with("side>=2")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the archive has no wheel of side that `side>=2` accepts; it holds side 1.0"
        );
    }

    #[test]
    fn requirements_on_excluded_projects_are_left_to_the_environment() {
        let mut manifest = manifest_with(&["app-1.0-py3-none-any.whl"]);
        manifest.excluded_projects = vec!["dep".to_string()];
        let wheels = [wheel("app", "1.0", &["dep>=2"])];
        let from_metadata =
            plan(&manifest, &wheels, None, &linux(), &PlanOptions::default()).unwrap();
        assert_eq!(names(&from_metadata), ["app"]);
        assert_eq!(from_metadata.external.len(), 1);
        assert_eq!(from_metadata.external[0].requirement, "dep>=2");
        assert_eq!(from_metadata.external[0].required_by, "app 1.0");
        assert!(from_metadata.wheels[0].dependencies.is_empty());

        let mut lock = PyLock::for_environment(&manifest, &wheels, &[], &linux()).unwrap();
        lock.environments = None;
        let tool = lock.tool.as_ref().and_then(|t| t.wagon.as_ref()).unwrap();
        assert_eq!(tool.excluded, ["dep"]);
        let followed = plan(
            &manifest,
            &wheels,
            Some(&lock),
            &linux(),
            &PlanOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&followed), ["app"]);
        assert_eq!(followed.external.len(), 1);
        assert_eq!(followed.external[0].requirement, "dep>=2");
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
