//! A `pylock.toml` checked against the archive it ships in: every wheel it names is inside the
//! archive, by path, with the real bytes' hash and size, and entries agree with their wheels and
//! with each other.

use crate::archive::{Digested, WHEELS_DIR};
use crate::manifest::Manifest;
use crate::pylock::{LockPackage, PyLock, entry_vs_wheel, label};
use crate::python::{self, MarkerTree, PackageName};

/// Why a lock names only wheels inside the archive: Wagon installs offline, and an installer
/// following the lock (uv, pip) must not fetch anything either.
const INSIDE: &str = "the archive's lock may only name wheels inside the archive";

/// Everything in this lock that disagrees with the archive — wheels it names that the archive
/// does not hold or that lie outside it, hashes or sizes that differ from the wheels' real
/// bytes (`digested`, as read from the archive), entries that are not their wheels — or with
/// itself: two entries for one project, dependencies on projects it has no entry for.
pub fn disagreements(lock: &PyLock, manifest: &Manifest, digested: &Digested) -> Vec<String> {
    let mut problems = Vec::new();
    for package in &lock.packages {
        if package.wheels.is_empty() {
            // An sdist, VCS, directory or archive entry would be fetched or built.
            problems.push(format!(
                "the lock entry {} has no wheel; {INSIDE}",
                label(package)
            ));
        }
        for wheel in &package.wheels {
            let Some(file) = wheel.file_name() else {
                continue;
            };
            let path = format!("{WHEELS_DIR}/{file}");
            match wheel.path.as_deref() {
                None => {
                    // An installer following the lock would download it.
                    problems.push(format!(
                        "the lock entry {} gives {file} by url only ({}); {INSIDE}, by \
                         path `{path}`",
                        label(package),
                        wheel.url.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
                Some(p) if p != path => problems.push(format!(
                    "the lock's path for {file} is `{p}`, not `{path}`; {INSIDE}"
                )),
                Some(_) => {}
            }
            if !manifest.wheels.iter().any(|w| w == file) {
                problems.push(format!(
                    "the lock names {file}, which the archive does not hold"
                ));
                continue;
            }
            if let Ok(parsed) = python::parse_wheel_filename(file)
                && let Some(problem) = entry_vs_wheel(
                    package,
                    file,
                    &parsed.name,
                    &parsed.version,
                    "by its file name",
                )
            {
                problems.push(problem);
            }
            match (wheel.hashes.get("sha256"), digested.sha256.get(&path)) {
                (Some(locked), Some(actual)) if !locked.eq_ignore_ascii_case(actual) => {
                    problems.push(format!(
                        "the lock's sha256 for {file} does not match the wheel"
                    ));
                }
                (None, _) => problems.push(format!("the lock has no sha256 for {file}")),
                _ => {}
            }
            if let (Some(locked), Some(actual)) = (wheel.size, digested.contents.files.get(&path))
                && locked != *actual
            {
                problems.push(format!(
                    "the lock's size for {file} does not match the wheel"
                ));
            }
        }
    }
    problems.extend(self_contradictions(lock));
    problems
}

/// Two entries for one project that can apply together, and dependencies on projects the
/// lock has no entry for. (PEP 751 allows several entries for a project when their markers
/// never hold together: one per environment.)
fn self_contradictions(lock: &PyLock) -> Vec<String> {
    let mut problems = Vec::new();
    let named: Vec<(Option<PackageName>, &LockPackage)> = lock
        .packages
        .iter()
        .map(|p| (python::package_name(&p.name).ok(), p))
        .collect();
    let marker_of = |p: &LockPackage| {
        p.marker
            .as_deref()
            .and_then(|m| python::marker(m).ok())
            .unwrap_or(MarkerTree::TRUE)
    };
    for (i, (name, first)) in named.iter().enumerate() {
        let Some(name) = name else { continue };
        for (other, second) in &named[i + 1..] {
            if other.as_ref() == Some(name) && !marker_of(first).is_disjoint(marker_of(second)) {
                problems.push(format!(
                    "the lock has two entries for {name} ({} and {}) that can apply \
                     together; a lock may hold one entry per project",
                    label(first),
                    label(second)
                ));
            }
        }
        for dependency in &first.dependencies {
            let wanted = python::package_name(&dependency.name).ok();
            if !named.iter().any(|(n, _)| n.is_some() && *n == wanted) {
                problems.push(format!(
                    "the lock entry {} lists {} among its dependencies, but the lock has no \
                     entry for it",
                    label(first),
                    dependency.name
                ));
            }
        }
    }
    problems
}

/// The archive wheels no lock entry uses.
pub fn unused_wheels(lock: &PyLock, manifest: &Manifest) -> Vec<String> {
    manifest
        .wheels
        .iter()
        .filter(|file| {
            !lock
                .packages
                .iter()
                .flat_map(|p| &p.wheels)
                .any(|w| w.file_name() == Some(file.as_str()))
        })
        .cloned()
        .collect()
}
