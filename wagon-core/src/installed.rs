//! What a target interpreter already has installed: each distribution's name and version, read
//! from the `.dist-info` folders of its `purelib` and `platlib` (untrusted: a name or version
//! that does not parse is skipped, as installers skip it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::interpreter::Interpreter;
use crate::python::{self, PackageName, Version};

/// One `name-version.dist-info` folder (a real folder, not a link) whose name parses.
#[derive(Debug, Clone)]
pub struct DistInfo {
    /// The project, normalised.
    pub name: PackageName,
    /// The version as the folder spells it (not necessarily PEP 440).
    pub version: String,
    /// The folder.
    pub path: PathBuf,
}

/// The distributions installed where `target` installs, by normalised name; a version that is
/// not PEP 440 is skipped.
pub fn installed_versions(target: &Interpreter) -> BTreeMap<PackageName, Version> {
    let mut found = BTreeMap::new();
    let mut dirs: Vec<&Path> = Vec::new();
    for key in ["purelib", "platlib"] {
        if let Some(dir) = target.report.paths.get(key)
            && !dirs.contains(&dir.as_path())
        {
            dirs.push(dir);
        }
    }
    for dir in dirs {
        found.extend(in_dir(dir));
    }
    found
}

/// The distributions in `dir` whose version is PEP 440.
fn in_dir(dir: &Path) -> Vec<(PackageName, Version)> {
    dist_infos_in(dir)
        .into_iter()
        .filter_map(|d| Some((d.name, python::version(&d.version).ok()?)))
        .collect()
}

/// The `.dist-info` folders in `dir` whose names give a project and a version.
pub fn dist_infos_in(dir: &Path) -> Vec<DistInfo> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        // The entry's own type: a link named like a dist-info is not one.
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| {
            let folder = entry.file_name().to_string_lossy().into_owned();
            let (name, version) = folder.strip_suffix(".dist-info")?.rsplit_once('-')?;
            Some(DistInfo {
                name: python::package_name(name).ok()?,
                version: version.to_string(),
                path: entry.path(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_info_folders_give_names_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        for folder in [
            "Flask-3.0.2.dist-info",
            "zope.interface-6.0.dist-info",
            "no_version.dist-info",
            "bad-not!a!version.dist-info",
            "pkg",
        ] {
            std::fs::create_dir(dir.path().join(folder)).unwrap();
        }
        std::fs::write(dir.path().join("file-1.0.dist-info"), "").unwrap();
        let mut found: Vec<String> = in_dir(dir.path())
            .into_iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        found.sort();
        assert_eq!(found, ["flask 3.0.2", "zope-interface 6.0"]);
    }
}
