//! Fixtures for the core's unit tests: wheels with chosen metadata, lock entries, manifests and a
//! Linux interpreter, all made in memory (no Python needed).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::manifest::Manifest;
use crate::pylock::{LockDependency, LockPackage, LockWheel, PyLock};
use crate::python::{parse_core_metadata, parse_wheel_filename};
use crate::wheel::WheelInfo;

/// A glibc Linux x86_64 CPython 3.11 environment.
pub fn linux() -> crate::environment::Environment {
    crate::interpreter::tests::linux().env
}

/// `name`-`version` as a wheel whose METADATA says `metadata_name` and requires `requires`.
pub fn wheel_saying(
    name: &str,
    version: &str,
    metadata_name: &str,
    requires: &[&str],
) -> WheelInfo {
    let file_name = format!("{}-{version}-py3-none-any.whl", name.replace('-', "_"));
    wheel_file(&file_name, metadata_name, requires, None)
}

/// The wheel `file_name` (any tags), whose METADATA names `metadata_name` at the file name's
/// version, requires `requires` and, when given, `Requires-Python: requires_python`.
pub fn wheel_file(
    file_name: &str,
    metadata_name: &str,
    requires: &[&str],
    requires_python: Option<&str>,
) -> WheelInfo {
    let file_name = file_name.to_string();
    let version = parse_wheel_filename(&file_name).unwrap().version;
    let mut text = format!("Metadata-Version: 2.1\nName: {metadata_name}\nVersion: {version}\n");
    for requirement in requires {
        text.push_str(&format!("Requires-Dist: {requirement}\n"));
    }
    if let Some(requires_python) = requires_python {
        text.push_str(&format!("Requires-Python: {requires_python}\n"));
    }
    let metadata = parse_core_metadata(text.as_bytes(), "METADATA").unwrap();
    WheelInfo {
        path: PathBuf::from(&file_name),
        filename: parse_wheel_filename(&file_name).unwrap(),
        file_name,
        metadata,
        display_name: metadata_name.to_string(),
    }
}

pub fn wheel(name: &str, version: &str, requires: &[&str]) -> WheelInfo {
    wheel_saying(name, version, name, requires)
}

/// An entry `name version` for the wheel `file` (by path, with a hash), depending on `deps`.
pub fn entry(name: &str, version: &str, file: &str, deps: &[&str]) -> LockPackage {
    LockPackage {
        name: name.to_string(),
        version: Some(version.to_string()),
        marker: None,
        requires_python: None,
        dependencies: deps
            .iter()
            .map(|d| LockDependency {
                name: d.to_string(),
            })
            .collect(),
        wheels: vec![LockWheel {
            name: Some(file.to_string()),
            path: Some(format!("wheels/{file}")),
            url: None,
            size: None,
            hashes: BTreeMap::from([("sha256".to_string(), "0".repeat(64))]),
        }],
    }
}

pub fn lock(packages: Vec<LockPackage>) -> PyLock {
    PyLock {
        lock_version: "1.0".to_string(),
        environments: None,
        requires_python: None,
        created_by: "wagon".to_string(),
        packages,
        tool: None,
    }
}

/// The manifest of a pure `app 1.0` archive holding exactly `files`.
pub fn manifest_with(files: &[&str]) -> Manifest {
    Manifest::from_json(
        serde_json::json!({
            "archive_name": "app.wgn",
            "package_name": "app",
            "package_version": "1.0",
            "package_source": "app",
            "supported_platform": "any",
            "supported_python_versions": ["py3"],
            "wheels": files,
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}
