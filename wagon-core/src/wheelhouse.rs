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

/// What `--exclude` took out of a wheelhouse.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Excluded {
    /// The file names of the wheels dropped.
    pub wheels: Vec<String>,
    /// The excluded projects that matched a wheel, normalised.
    pub projects: Vec<String>,
    /// The names given that matched no wheel, as given.
    pub unmatched: Vec<String>,
}

/// Drops the wheels of the `excludes` projects, noting each, and says which names matched none.
pub fn exclude(
    wheels: &mut Vec<PathBuf>,
    excludes: &[String],
) -> Result<Excluded, PythonSyntaxError> {
    if excludes.is_empty() {
        return Ok(Excluded::default());
    }
    let names: BTreeSet<python::PackageName> = excludes
        .iter()
        .map(|e| python::package_name(e))
        .collect::<Result<_, _>>()?;
    let mut dropped = Vec::new();
    let mut matched = BTreeSet::new();
    wheels.retain(|wheel| {
        let Some(file) = wheel.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return true;
        };
        let Ok(parsed) = python::parse_wheel_filename(&file) else {
            return true;
        };
        if !names.contains(&parsed.name) {
            return true;
        }
        tracing::info!(
            "excluding {file}: `wagon install` will take {} from the target environment",
            parsed.name
        );
        matched.insert(parsed.name);
        dropped.push(file);
        false
    });
    let unmatched = excludes
        .iter()
        .filter(|e| python::package_name(e).is_ok_and(|n| !matched.contains(&n)))
        .cloned()
        .collect();
    Ok(Excluded {
        wheels: dropped,
        projects: matched.iter().map(ToString::to_string).collect(),
        unmatched,
    })
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
        let excluded = exclude(
            &mut wheels,
            &["Blinker".into(), "zope-interface".into(), "blinkr".into()],
        )
        .unwrap();
        assert_eq!(excluded.projects, ["blinker", "zope-interface"]);
        assert_eq!(excluded.unmatched, ["blinkr"]);
        assert_eq!(
            excluded.wheels,
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
