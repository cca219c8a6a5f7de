//! What a target interpreter already has installed: each distribution's name and version, read
//! from the `.dist-info` folders of its `purelib` and `platlib` (untrusted: a name or version
//! that does not parse is skipped, as installers skip it).

use std::collections::BTreeMap;
use std::path::Path;

use crate::interpreter::Interpreter;
use crate::python::{self, PackageName, Version};

/// The distributions installed where `target` installs, by normalised name.
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

/// The distributions whose `.dist-info` folder (`name-version.dist-info`) is in `dir`.
fn in_dir(dir: &Path) -> Vec<(PackageName, Version)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|entry| {
            let folder = entry.file_name().to_string_lossy().into_owned();
            let (name, version) = folder.strip_suffix(".dist-info")?.rsplit_once('-')?;
            Some((
                python::package_name(name).ok()?,
                python::version(version).ok()?,
            ))
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
