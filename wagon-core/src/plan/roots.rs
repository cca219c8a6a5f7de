//! An archive's roots: the projects an install starts from — those recorded in `root_packages`
//! at create time (the package, the projects of `-r` files), or for a wagon 1.0 archive the
//! package alone — plus what the user adds from the archive's wheels, and the projects left
//! out with `--exclude`.

use std::collections::BTreeSet;

use super::{PlanError, RootRequest};
use crate::manifest::Manifest;
use crate::python::{
    self, ExtraName, MarkerTree, PackageName, PythonSyntaxError, Requirement, VersionOrUrl,
    VersionSpecifiers,
};
use crate::wheel::WheelInfo;

/// The archive's roots, the package's with `extras` added to those it was made with. The
/// package is pinned to `package_version`; a recorded requirement keeps its extras, versions
/// and marker.
pub fn roots(
    manifest: &Manifest,
    extras: &[String],
) -> Result<Vec<RootRequest>, PythonSyntaxError> {
    let extras = extras
        .iter()
        .map(|e| python::extra_name(e))
        .collect::<Result<Vec<_>, _>>()?;
    let package = python::package_name(&manifest.package_name)?;
    let pin = python::version(&manifest.package_version).ok();
    let Some(recorded) = &manifest.root_packages else {
        return Ok(vec![RootRequest {
            name: package,
            extras,
            version: pin,
            specifiers: None,
            marker: MarkerTree::TRUE,
        }]);
    };
    recorded
        .iter()
        .map(|text| {
            let requirement = python::requirement(text)?;
            Ok(if requirement.name == package {
                RootRequest {
                    extras: union(&requirement.extras, &extras),
                    name: requirement.name,
                    version: pin.clone(),
                    specifiers: None,
                    marker: requirement.marker,
                }
            } else {
                RootRequest {
                    specifiers: specifiers_of(&requirement).cloned(),
                    name: requirement.name,
                    extras: requirement.extras.to_vec(),
                    version: None,
                    marker: requirement.marker,
                }
            })
        })
        .collect()
}

/// The requirements the user adds (`--with`, `install -r`) as roots, each naming a project the
/// archive holds at a version it accepts.
pub fn added_roots(
    wheels: &[WheelInfo],
    with: &[Requirement],
) -> Result<Vec<RootRequest>, PlanError> {
    with.iter()
        .map(|requirement| {
            let versions: BTreeSet<&python::Version> = wheels
                .iter()
                .filter(|w| w.filename.name == requirement.name)
                .map(|w| &w.filename.version)
                .collect();
            if versions.is_empty() {
                let holds: BTreeSet<String> = wheels
                    .iter()
                    .map(|w| format!("{} {}", w.filename.name, w.filename.version))
                    .collect();
                return Err(PlanError::NotInArchive {
                    requirement: requirement.to_string(),
                    holds: holds.into_iter().collect::<Vec<_>>().join(", "),
                });
            }
            let specifiers = specifiers_of(requirement);
            if let Some(spec) = specifiers
                && !versions.iter().any(|v| spec.contains(v))
            {
                return Err(PlanError::VersionNotInArchive {
                    requirement: requirement.to_string(),
                    project: requirement.name.to_string(),
                    versions: versions
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            Ok(RootRequest {
                name: requirement.name.clone(),
                extras: requirement.extras.to_vec(),
                version: None,
                specifiers: specifiers.cloned(),
                marker: requirement.marker,
            })
        })
        .collect()
}

/// The projects left out with `--exclude`: recorded by name, or (wagon 1.0) by the file names
/// of the wheels dropped.
pub fn excluded_projects(manifest: &Manifest) -> Vec<PackageName> {
    let by_name = manifest
        .excluded_projects
        .iter()
        .filter_map(|name| python::package_name(name).ok());
    let by_wheel = manifest
        .excluded_wheels
        .iter()
        .flatten()
        .filter_map(|file| python::parse_wheel_filename(file).ok())
        .map(|wheel| wheel.name);
    let names: BTreeSet<PackageName> = by_name.chain(by_wheel).collect();
    names.into_iter().collect()
}

/// Projects no other wheel needs (extras aside): what a requirements-only archive installs when
/// its requirements files name no project. A dependency needed only through an extra (`x;
/// extra == "fancy"`) is a root of its own, since nothing else would install it.
pub fn top_level_projects(wheels: &[WheelInfo]) -> Vec<String> {
    let required: BTreeSet<&python::PackageName> = wheels
        .iter()
        .flat_map(|w| w.metadata.requires_dist.iter())
        .filter(|r| python::needed_without_extras(r))
        .map(|r| &r.name)
        .collect();
    wheels
        .iter()
        .filter(|w| !required.contains(&w.filename.name))
        .map(|w| w.filename.name.to_string())
        .collect()
}

/// `a` and the members of `b` it lacks.
fn union(a: &[ExtraName], b: &[ExtraName]) -> Vec<ExtraName> {
    let mut all = a.to_vec();
    all.extend(b.iter().filter(|e| !a.contains(e)).cloned());
    all
}

/// The versions a requirement accepts; `None` for any (or a URL).
fn specifiers_of(requirement: &Requirement) -> Option<&VersionSpecifiers> {
    match &requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(spec)) => Some(spec),
        _ => None,
    }
}
