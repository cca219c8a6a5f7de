//! Planning from the archive's `pylock.toml`: the entries whose markers hold on the target, each
//! with its best fitting wheel — and the result checked to hold together, since a lock is input,
//! not proof.

use super::{External, InstallPlan, PlanError, PlannedWheel, from_metadata};
use crate::environment::Environment;
use crate::pylock::{LockPackage, LockWheel, PyLock, entry_vs_wheel};
use crate::python::{self, MarkerTree, PackageName};
use crate::wheel::WheelInfo;

/// Follows `lock` on `target`: the packages whose markers hold, each with its best fitting wheel.
/// `roots` names the requested project(s). Unless `ignore_platform`, `target` must be one of the
/// lock's environments. The plan must hold together (`plan_problems`), but for requirements on
/// `excluded` projects, which become the plan's [`External`]s.
pub fn follow_lock(
    lock: &PyLock,
    wheels: &[WheelInfo],
    target: &Environment,
    roots: &[PackageName],
    excluded: &[PackageName],
    ignore_platform: bool,
) -> Result<InstallPlan, PlanError> {
    match check_environment(lock, target) {
        Err(PlanError::LockEnvironment {
            environments,
            target,
        }) if ignore_platform => tracing::warn!(
            "--ignore-platform: installing anyway, but pylock.toml was made for {environments}, \
             not {target}"
        ),
        result => result?,
    }
    let mut planned = Vec::new();
    let mut entries = Vec::new();
    for package in &lock.packages {
        let applies = package
            .marker
            .as_deref()
            .and_then(|m| python::marker(m).ok())
            .is_none_or(|m: MarkerTree| m.evaluate(&target.markers, &[]));
        if !applies {
            continue;
        }
        let files: Vec<&str> = package
            .wheels
            .iter()
            .filter_map(LockWheel::file_name)
            .collect();
        let candidates: Vec<usize> = wheels
            .iter()
            .enumerate()
            .filter(|(_, w)| files.contains(&w.file_name.as_str()))
            .map(|(i, _)| i)
            .collect();
        let display = package
            .version
            .as_ref()
            .map_or(package.name.clone(), |v| format!("{}=={v}", package.name));
        if candidates.is_empty() {
            return Err(PlanError::Missing {
                requirement: display,
                required_by: "pylock.toml".to_string(),
            });
        }
        let index =
            from_metadata::best_candidate(wheels, &candidates, None, target, ignore_platform)
                .map_err(|reasons| PlanError::Incompatible {
                    project: package.name.clone(),
                    target: target.describe().to_string(),
                    reasons,
                })?;
        let wheel = &wheels[index];
        entries.push(package);
        planned.push(PlannedWheel {
            file_name: wheel.file_name.clone(),
            name: wheel.filename.name.clone(),
            version: wheel.filename.version.clone(),
            requested: roots.contains(&wheel.filename.name),
            extras: Vec::new(),
            marker: package.marker.clone(),
            dependencies: package
                .dependencies
                .iter()
                .filter_map(|d| python::package_name(&d.name).ok())
                .collect(),
        });
    }
    let unused = wheels
        .iter()
        .filter(|w| !planned.iter().any(|p| p.file_name == w.file_name))
        .map(|w| w.file_name.clone())
        .collect();
    let mut plan = InstallPlan {
        wheels: planned,
        unused,
        external: Vec::new(),
    };
    let (problems, external) = plan_problems(&plan, &entries, wheels, target, roots, excluded);
    if problems.is_empty() {
        plan.external = external;
        Ok(plan)
    } else {
        Err(PlanError::LockUnsound {
            target: target.describe().to_string(),
            problems,
        })
    }
}

/// Checks that `target` is one of the lock's environments.
fn check_environment(lock: &PyLock, target: &Environment) -> Result<(), PlanError> {
    let Some(environments) = &lock.environments else {
        return Ok(());
    };
    let fits = environments
        .iter()
        .filter_map(|m| python::marker(m).ok())
        .any(|m| m.evaluate(&target.markers, &[]));
    if fits {
        Ok(())
    } else {
        Err(PlanError::LockEnvironment {
            environments: environments
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(" or "),
            target: target.describe().to_string(),
        })
    }
}

/// What is wrong with `plan`, followed from the lock `entries` (one per planned wheel) on
/// `target`: an entry that is not its wheel (by its METADATA), two wheels of one project, a
/// requested project left out, a `Requires-Dist` that applies on `target` and that no planned
/// wheel satisfies. The lock's `dependencies` carry no markers, so they are checked against
/// the whole lock (in `disagreements`), not against one target's plan. A requirement on an
/// `excluded` project the lock does not install is no problem but an [`External`].
fn plan_problems(
    plan: &InstallPlan,
    entries: &[&LockPackage],
    wheels: &[WheelInfo],
    target: &Environment,
    roots: &[PackageName],
    excluded: &[PackageName],
) -> (Vec<String>, Vec<External>) {
    let mut problems = Vec::new();
    let mut external = Vec::new();
    for (planned, package) in plan.wheels.iter().zip(entries) {
        let Some(wheel) = wheels.iter().find(|w| w.file_name == planned.file_name) else {
            continue;
        };
        let mismatch = entry_vs_wheel(
            package,
            &wheel.file_name,
            &wheel.filename.name,
            &wheel.filename.version,
            "by its file name",
        )
        .or_else(|| {
            entry_vs_wheel(
                package,
                &wheel.file_name,
                &wheel.metadata.name,
                &wheel.metadata.version,
                "by its METADATA",
            )
        });
        problems.extend(mismatch);
    }
    for (i, first) in plan.wheels.iter().enumerate() {
        if let Some(second) = plan.wheels[i + 1..].iter().find(|w| w.name == first.name) {
            problems.push(format!(
                "the lock has two entries for {} that apply on this target ({} and {}); a lock \
                 may hold one entry per project",
                first.name, first.file_name, second.file_name
            ));
        }
    }
    for root in roots {
        if !plan.wheels.iter().any(|w| &w.name == root) {
            problems.push(format!(
                "the lock does not install {root}, the project the archive is for, on this target"
            ));
        }
    }
    for unmet in from_metadata::unmet_requirements(plan, wheels, target) {
        if unmet.found.is_none() && excluded.contains(&unmet.name) {
            external.push(External {
                name: unmet.name.clone(),
                requirement: unmet.requirement.clone(),
                specifiers: unmet.specifiers.clone(),
                required_by: format!("{} {}", unmet.wheel.name, unmet.wheel.version),
            });
            continue;
        }
        let by = format!(
            "the lock entry {} {} ({}) requires `{}`",
            unmet.wheel.name, unmet.wheel.version, unmet.wheel.file_name, unmet.requirement
        );
        problems.push(match unmet.found {
            Some(found) => format!(
                "{by}, but the lock installs {} {} ({})",
                found.name, found.version, found.file_name
            ),
            None => format!("{by}, which the lock does not install on this target"),
        });
    }
    (problems, external)
}

// The rules a lock must keep, as both of its readers see them: following it on a target
// (`follow_lock`) and checking it against the archive (`check::lock::disagreements`).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Digested;
    use crate::testing::{entry, linux, lock, manifest_with, wheel, wheel_saying};

    /// The problems `follow_lock` finds with `lock` over `wheels`, for the root `app`.
    fn plan_problems_of(lock: &PyLock, wheels: &[WheelInfo]) -> Vec<String> {
        let roots = [python::package_name("app").unwrap()];
        match follow_lock(lock, wheels, &linux(), &roots, &[], false) {
            Ok(_) => Vec::new(),
            Err(PlanError::LockUnsound { problems, .. }) => problems,
            Err(other) => panic!("{other}"),
        }
    }

    /// `disagreements` of `lock` with an archive holding exactly `files` (hashes not compared).
    fn static_problems(lock: &PyLock, files: &[&str]) -> Vec<String> {
        crate::check::lock::disagreements(lock, &manifest_with(files), &Digested::default())
    }

    #[test]
    fn a_consistent_lock_is_followed() {
        let wheels = [wheel("app", "1.0", &["dep>=1"]), wheel("dep", "1.1", &[])];
        let lock = lock(vec![
            entry("app", "1.0", &wheels[0].file_name, &["dep"]),
            entry("dep", "1.1", &wheels[1].file_name, &[]),
        ]);
        assert_eq!(plan_problems_of(&lock, &wheels), Vec::<String>::new());
        assert_eq!(
            static_problems(&lock, &[&wheels[0].file_name, &wheels[1].file_name]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn one_entry_per_project_unless_their_markers_never_meet() {
        let wheels = [
            wheel("app", "1.0", &[]),
            wheel("dep", "1.1", &[]),
            wheel("dep", "0.5", &[]),
        ];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let both = lock(vec![
            entry("app", "1.0", files[0], &[]),
            entry("Dep", "1.1", files[1], &[]),
            entry("dep", "0.5", files[2], &[]),
        ]);
        let plan = plan_problems_of(&both, &wheels);
        assert!(
            plan[0].starts_with("the lock has two entries for dep that apply"),
            "{plan:?}"
        );
        let problems = static_problems(&both, &files);
        assert!(
            problems[0].starts_with("the lock has two entries for dep (Dep 1.1 and dep 0.5)"),
            "{problems:?}"
        );

        // One entry per environment is PEP 751's way of locking several: only one applies.
        let mut per_platform = both.clone();
        per_platform.packages[1].marker = Some("sys_platform == 'linux'".to_string());
        per_platform.packages[2].marker = Some("sys_platform == 'win32'".to_string());
        assert_eq!(static_problems(&per_platform, &files), Vec::<String>::new());
        assert_eq!(
            plan_problems_of(&per_platform, &wheels),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_entry_is_its_wheel_by_file_name_and_metadata() {
        let wheels = [wheel("app", "1.0", &[]), wheel("good", "1.0", &[])];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        for (name, version) in [("evil", "1.0"), ("good", "2.0")] {
            let lock = lock(vec![
                entry("app", "1.0", files[0], &[]),
                entry(name, version, files[1], &[]),
            ]);
            let expected = format!(
                "the lock entry {name} {version} names the wheel good-1.0-py3-none-any.whl, \
                 which is good 1.0 by its file name"
            );
            let problems = static_problems(&lock, &files);
            assert!(problems[0].starts_with(&expected), "{problems:?}");
            let problems = plan_problems_of(&lock, &wheels);
            assert!(problems[0].starts_with(&expected), "{problems:?}");
        }
        // A wheel whose METADATA is another project (WheelInfo::read refuses it; the lock's
        // check does not rely on that).
        let renamed = [wheels[0].clone(), wheel_saying("good", "1.0", "evil", &[])];
        let lock = lock(vec![
            entry("app", "1.0", files[0], &[]),
            entry("good", "1.0", files[1], &[]),
        ]);
        let problems = plan_problems_of(&lock, &renamed);
        assert!(
            problems[0].contains("which is evil 1.0 by its METADATA"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_requirement_that_applies_is_met_inside_the_plan() {
        let app = wheel(
            "app",
            "1.0",
            &["dep>=1", "win-only; sys_platform == 'win32'", "lib[fast]"],
        );
        let wheels = [
            app,
            wheel("dep", "0.5", &[]),
            wheel(
                "lib",
                "1.0",
                &["speedups; extra == 'fast'", "never; extra == 'slow'"],
            ),
        ];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let lock = lock(vec![
            entry("app", "1.0", files[0], &["dep", "lib"]),
            entry("dep", "0.5", files[1], &[]),
            entry("lib", "1.0", files[2], &[]),
        ]);
        // win-only does not apply on Linux, and lib's `slow` extra is not asked for.
        assert_eq!(
            plan_problems_of(&lock, &wheels),
            [
                "the lock entry app 1.0 (app-1.0-py3-none-any.whl) requires `dep>=1`, but the \
                 lock installs dep 0.5 (dep-0.5-py3-none-any.whl)",
                "the lock entry lib 1.0 (lib-1.0-py3-none-any.whl) requires `speedups ; extra \
                 == 'fast'`, which the lock does not install on this target",
            ]
        );
    }

    #[test]
    fn the_lock_names_only_wheels_inside_the_archive() {
        let wheels = [wheel("app", "1.0", &["dep"]), wheel("dep", "1.0", &[])];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let mut lock = lock(vec![
            entry("app", "1.0", files[0], &["dep", "ghost"]),
            entry("dep", "1.0", files[1], &[]),
        ]);
        lock.packages[1].wheels[0].path = None;
        lock.packages[1].wheels[0].url =
            Some("https://example.invalid/dep-1.0-py3-none-any.whl".to_string());
        lock.packages[0].wheels[0].path = Some("../app-1.0-py3-none-any.whl".to_string());
        let mut sdist_only = entry("sdist-only", "1.0", "x", &[]);
        sdist_only.wheels.clear();
        lock.packages.push(sdist_only);
        let problems = static_problems(&lock, &files);
        assert_eq!(
            problems,
            [
                "the lock's path for app-1.0-py3-none-any.whl is `../app-1.0-py3-none-any.whl`, \
                 not `wheels/app-1.0-py3-none-any.whl`; the archive's lock may only name wheels \
                 inside the archive",
                "the lock entry dep 1.0 gives dep-1.0-py3-none-any.whl by url only \
                 (https://example.invalid/dep-1.0-py3-none-any.whl); the archive's lock may only \
                 name wheels inside the archive, by path `wheels/dep-1.0-py3-none-any.whl`",
                "the lock entry sdist-only 1.0 has no wheel; the archive's lock may only name \
                 wheels inside the archive",
                "the lock entry app 1.0 lists ghost among its dependencies, but the lock has no \
                 entry for it",
            ]
        );
    }
}
