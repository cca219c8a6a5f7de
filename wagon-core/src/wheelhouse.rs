//! The wheelhouse a build produced: its wheels, listed in a stable order, and the projects the
//! user excluded taken out of it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::python::{self, PythonSyntaxError};

/// The `.whl` files in `dir`, sorted by path.
pub fn wheels_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut wheels = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "whl") {
            wheels.push(path);
        }
    }
    wheels.sort();
    Ok(wheels)
}

/// Drops the wheels of the `excludes` projects, warning for each, and returns their file names.
pub fn exclude(
    wheels: &mut Vec<PathBuf>,
    excludes: &[String],
) -> Result<Vec<String>, PythonSyntaxError> {
    if excludes.is_empty() {
        return Ok(Vec::new());
    }
    let names: BTreeSet<python::PackageName> = excludes
        .iter()
        .map(|e| python::package_name(e))
        .collect::<Result<_, _>>()?;
    let mut dropped = Vec::new();
    wheels.retain(|wheel| {
        let Some(file) = wheel.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return true;
        };
        let excluded = python::parse_wheel_filename(&file).is_ok_and(|w| names.contains(&w.name));
        if excluded {
            tracing::warn!(
                "excluding {file}: the archive may not install without it (`--validate` checks)"
            );
            dropped.push(file);
        }
        !excluded
    });
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_projects_are_dropped_by_normalised_name() {
        let mut wheels = vec![
            PathBuf::from("/w/Flask-3.0.3-py3-none-any.whl"),
            PathBuf::from("/w/blinker-1.8.2-py3-none-any.whl"),
            PathBuf::from("/w/zope.interface-6.0-cp311-cp311-linux_x86_64.whl"),
        ];
        let dropped = exclude(&mut wheels, &["Blinker".into(), "zope-interface".into()]).unwrap();
        assert_eq!(
            dropped,
            [
                "blinker-1.8.2-py3-none-any.whl",
                "zope.interface-6.0-cp311-cp311-linux_x86_64.whl"
            ]
        );
        assert_eq!(wheels, [PathBuf::from("/w/Flask-3.0.3-py3-none-any.whl")]);
    }

    #[test]
    fn wheels_are_listed_sorted_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b-1-py3-none-any.whl", "a-1-py3-none-any.whl", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found = wheels_in(dir.path()).unwrap();
        let names: Vec<_> = found.iter().map(|p| p.file_name().unwrap()).collect();
        assert_eq!(names, ["a-1-py3-none-any.whl", "b-1-py3-none-any.whl"]);
    }
}
