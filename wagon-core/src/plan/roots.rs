//! An archive's roots: the projects an install starts from — the package at its version with
//! the user's extras, or, for a requirements-only archive, the top-level projects recorded in
//! `root_packages` at create time.

use std::collections::BTreeSet;
use std::str::FromStr;

use super::RootRequest;
use crate::manifest::Manifest;
use crate::python::{self, ExtraName, PythonSyntaxError};
use crate::wheel::WheelInfo;

/// What the user asked for: the archive's package at its version (with `extras`), or, for a
/// requirements-only archive, the top-level projects recorded in `root_packages`.
pub fn roots(
    manifest: &Manifest,
    extras: &[String],
) -> Result<Vec<RootRequest>, PythonSyntaxError> {
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

/// Projects no other wheel needs (extras aside): what a requirements-only archive installs. A
/// dependency needed only through an extra (`x; extra == "fancy"`) is a root of its own, since
/// nothing else would install it.
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
