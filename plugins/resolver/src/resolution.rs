//! What a resolution decided for one environment: per project its version, the file that serves
//! it, the extras in use and who asked for it — in name order, so the output is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use pubgrub::SelectedDependencies;
use wagon_core::python::{ExtraName, PackageName, Requirement, Version, requirement_applies};

use crate::error::ResolveError;
use crate::files::best_file;
use crate::package::{Pkg, PkgKind};
use crate::provider::Provider;
use crate::source::DistFile;

/// The closure of the root requirements for one environment.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The environment's description (`cp310-win_amd64`).
    pub environment: String,
    /// One entry per project, by name.
    pub packages: Vec<ResolvedPackage>,
}

impl Resolution {
    /// The entry for `name`, if the closure has it.
    pub fn get(&self, name: &PackageName) -> Option<&ResolvedPackage> {
        self.packages.iter().find(|p| &p.name == name)
    }
}

/// One project of a resolution.
#[derive(Debug, Clone)]
pub struct ResolvedPackage {
    pub name: PackageName,
    pub version: Version,
    /// The wheel with the best tag priority for the environment, else the sdist to build.
    pub file: DistFile,
    /// The extras some requirement asked for, by name.
    pub extras: Vec<ExtraName>,
    /// Every requirement in the closure naming this project, root ones first.
    pub required_by: Vec<RequiredBy>,
}

impl ResolvedPackage {
    /// Whether the chosen file is an sdist, to be built before it can be installed.
    pub fn needs_build(&self) -> bool {
        self.file.is_sdist()
    }
}

/// One requirement naming a resolved project, and who made it.
#[derive(Debug, Clone)]
pub struct RequiredBy {
    pub by: Requester,
    /// As written, markers included (`colorama; sys_platform == "win32"`).
    pub requirement: Requirement,
}

/// Who made a requirement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requester {
    /// One of the root requirements passed to `resolve`.
    Root,
    /// A resolved project (its requirement applied with its extras in use).
    Package { name: PackageName, version: Version },
}

/// Reads the chosen versions back into a [`Resolution`].
pub(crate) fn build(
    selected: &SelectedDependencies<Pkg, Version>,
    provider: &Provider<'_>,
    roots: &[Requirement],
) -> Result<Resolution, ResolveError> {
    let env = provider.env;
    let mut versions: BTreeMap<PackageName, Version> = BTreeMap::new();
    let mut extras: BTreeMap<PackageName, BTreeSet<ExtraName>> = BTreeMap::new();
    for (pkg, version) in selected.iter() {
        match pkg.kind() {
            PkgKind::Root => {}
            PkgKind::Project(name) => {
                versions.insert(name.clone(), version.clone());
            }
            PkgKind::Extra(name, extra) => {
                extras
                    .entry(name.clone())
                    .or_default()
                    .insert(extra.clone());
            }
        }
    }

    let mut required_by: BTreeMap<PackageName, Vec<RequiredBy>> = BTreeMap::new();
    for req in roots {
        if versions.contains_key(&req.name) && requirement_applies(req, &env.markers, &[]) {
            required_by
                .entry(req.name.clone())
                .or_default()
                .push(RequiredBy {
                    by: Requester::Root,
                    requirement: req.clone(),
                });
        }
    }
    let mut packages = Vec::with_capacity(versions.len());
    for (name, version) in &versions {
        let active: Vec<ExtraName> = extras
            .get(name)
            .map(|e| e.iter().cloned().collect())
            .unwrap_or_default();
        let metadata =
            provider
                .cache
                .metadata(name, version)
                .map_err(|source| ResolveError::Metadata {
                    environment: env.description.clone(),
                    project: name.clone(),
                    version: version.clone(),
                    source,
                })?;
        for req in &metadata.requires_dist {
            if &req.name != name
                && versions.contains_key(&req.name)
                && requirement_applies(req, &env.markers, &active)
            {
                required_by
                    .entry(req.name.clone())
                    .or_default()
                    .push(RequiredBy {
                        by: Requester::Package {
                            name: name.clone(),
                            version: version.clone(),
                        },
                        requirement: req.clone(),
                    });
            }
        }
        packages.push((name, version, active));
    }

    let mut resolved = Vec::with_capacity(packages.len());
    for (name, version, active) in packages {
        let candidates =
            provider
                .cache
                .candidates(name)
                .map_err(|source| ResolveError::Candidates {
                    environment: env.description.clone(),
                    project: name.clone(),
                    source,
                })?;
        // The solver chose only versions with a serving file, so this finds one.
        let file = candidates
            .iter()
            .find(|c| &c.version == version)
            .and_then(|c| best_file(c, env, provider.is_pinned(name, version)).ok())
            .ok_or_else(|| ResolveError::Unusable {
                environment: env.description.clone(),
                project: name.clone(),
                reasons: format!("{name} {version} was chosen but no file of it serves"),
                required_by: Vec::new(),
            })?;
        let mut by = required_by.remove(name).unwrap_or_default();
        by.sort_by(|a, b| a.by.cmp(&b.by));
        resolved.push(ResolvedPackage {
            name: name.clone(),
            version: version.clone(),
            file: file.clone(),
            extras: active,
            required_by: by,
        });
    }
    Ok(Resolution {
        environment: env.description.clone(),
        packages: resolved,
    })
}
