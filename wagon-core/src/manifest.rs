//! `package.json`: the archive's metadata, compatible with cloudify wagon 1.0.3.
//!
//! Every field wagon 1.0.3 writes keeps its name and meaning; Wagon adds fields that older
//! readers ignore (a format version, per-wheel digests, the precise platform tags). Fields this
//! version does not know are kept in [`Manifest::extra`] so a read-modify-write loses nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `package.json` format version this Wagon writes. Archives without the field are wagon
/// 1.0's (version 1).
pub const FORMAT_VERSION: u64 = 2;

/// The file name of the metadata inside the archive's top folder.
pub const MANIFEST_FILE: &str = "package.json";

/// The parsed `package.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub archive_name: String,
    #[serde(default)]
    pub build_server_os_properties: OsProperties,
    #[serde(default)]
    pub created_by_wagon_version: Option<String>,
    /// Extra files packed under `files/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    #[serde(default)]
    pub package_build_tag: Option<String>,
    pub package_name: String,
    #[serde(default)]
    pub package_source: Option<String>,
    pub package_version: String,
    #[serde(default)]
    pub python_requires: Option<String>,
    pub supported_platform: String,
    #[serde(default)]
    pub supported_python_versions: Vec<String>,
    pub wheels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_wheels: Option<Vec<String>>,
    /// Wagon's addition: absent in wagon 1.0 archives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wagon_format_version: Option<u64>,
    /// Wagon's addition: sha256 and size of each wheel, by file name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wheel_digests: BTreeMap<String, WheelDigest>,
    /// Wagon's addition: the exact platform tags the wheels share (PEP 425/600), where
    /// `supported_platform` keeps wagon 1.0's `sysconfig.get_platform()`-style name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platform_tags: Vec<String>,
    /// Wagon's addition: the machines a multi-target archive was made for, each with the wheels
    /// its closure uses. Empty for an archive made for the build machine alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetRecord>,
    /// Wagon's addition: what `install` starts from, as PEP 508 requirements — the package (its
    /// version is `package_version`) and the projects of create-time `-r` files, or, for a
    /// requirements-only archive, those files' projects. Absent in wagon 1.0 archives, which
    /// install the package and its closure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_packages: Option<Vec<String>>,
    /// Wagon's addition: the projects left out with `--exclude`, normalised; `install` takes
    /// them from the target environment when it satisfies what the wheels require of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_projects: Vec<String>,
    /// Fields this version does not know, preserved verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One machine a multi-target archive was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Its canonical name, `cp312-manylinux_2_28_x86_64` (a `--target` value).
    pub tag: String,
    /// Its PEP 508 marker environment, as resolved.
    pub marker_environment: BTreeMap<String, String>,
    /// The archive's wheels its closure uses, by file name.
    pub wheels: Vec<String>,
}

/// The Linux distribution an archive with compiled wheels was built on (nulls otherwise).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OsProperties {
    pub distribution: Option<String>,
    pub distribution_release: Option<String>,
    pub distribution_version: Option<String>,
}

/// A wheel's recorded content digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WheelDigest {
    /// Lowercase hex sha256 of the wheel file.
    pub sha256: String,
    pub size: u64,
}

/// Why `package.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("package.json is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("package.json does not fit the wagon metadata format:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    #[error("could not serialise package.json: {0}")]
    Serialise(#[source] serde_json::Error),
}

impl Manifest {
    /// Parses `package.json`, reporting every missing or mistyped key at once.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let value: Value = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
        let problems = check(&value);
        if !problems.is_empty() {
            return Err(ManifestError::Invalid(problems));
        }
        serde_json::from_value(value).map_err(|err| ManifestError::Invalid(vec![err.to_string()]))
    }

    /// Serialises as wagon 1.0 did: keys sorted, four-space indent, so old and new readers
    /// (and diff tools) see the familiar layout.
    pub fn to_json(&self) -> Result<Vec<u8>, ManifestError> {
        // Going through `Value` sorts keys, including flattened unknown ones.
        let value = serde_json::to_value(self).map_err(ManifestError::Serialise)?;
        pretty_json(&value).map_err(ManifestError::Serialise)
    }

    /// The recorded digest of a wheel, if this archive recorded digests.
    pub fn digest_of(&self, wheel: &str) -> Option<&WheelDigest> {
        self.wheel_digests.get(wheel)
    }
}

/// Renders JSON the way wagon 1.0 did (`json.dumps(indent=4, sort_keys=True)`).
pub fn pretty_json(value: &Value) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// Checks that the keys wagon readers rely on are present and of the right type, returning one
/// message per problem (empty when the document is usable).
pub fn check(value: &Value) -> Vec<String> {
    let Some(object) = value.as_object() else {
        return vec![format!(
            "the top level must be a JSON object, found {}",
            kind_of(value)
        )];
    };
    let mut problems = Vec::new();
    let required_strings = [
        "archive_name",
        "package_name",
        "package_version",
        "supported_platform",
    ];
    for key in required_strings {
        match object.get(key) {
            None => problems.push(format!("required key `{key}` is missing")),
            Some(Value::String(text)) if text.trim().is_empty() => {
                problems.push(format!("`{key}` is empty"))
            }
            Some(Value::String(_)) => {}
            Some(other) => problems.push(format!(
                "`{key}` must be a string, found {}",
                kind_of(other)
            )),
        }
    }
    match object.get("wheels") {
        None => problems.push("required key `wheels` is missing".to_string()),
        Some(value) => check_string_list("wheels", value, &mut problems),
    }
    for key in [
        "supported_python_versions",
        "files",
        "excluded_wheels",
        "platform_tags",
        "root_packages",
        "excluded_projects",
    ] {
        if let Some(value) = object.get(key) {
            check_string_list(key, value, &mut problems);
        }
    }
    for key in [
        "created_by_wagon_version",
        "package_build_tag",
        "package_source",
        "python_requires",
    ] {
        match object.get(key) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => problems.push(format!(
                "`{key}` must be a string or null, found {}",
                kind_of(other)
            )),
        }
    }
    check_os_properties(object.get("build_server_os_properties"), &mut problems);
    match object.get("wagon_format_version") {
        None => {}
        Some(Value::Number(n)) if n.is_u64() => {}
        Some(other) => problems.push(format!(
            "`wagon_format_version` must be a whole number, found {other}"
        )),
    }
    if let Some(digests) = object.get("wheel_digests") {
        check_digests(digests, &mut problems);
    }
    if let Some(targets) = object.get("targets") {
        check_targets(targets, &mut problems);
    }
    problems
}

/// `build_server_os_properties`: absent, null, or an object of strings and nulls.
fn check_os_properties(value: Option<&Value>, problems: &mut Vec<String>) {
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            for (key, value) in props {
                if !matches!(value, Value::Null | Value::String(_)) {
                    problems.push(format!(
                        "`build_server_os_properties.{key}` must be a string or null, found {}",
                        kind_of(value)
                    ));
                }
            }
        }
        Some(other) => problems.push(format!(
            "`build_server_os_properties` must be an object, found {}",
            kind_of(other)
        )),
    }
}

/// `targets`: a list of `{"tag": <string>, "marker_environment": {<string>: <string>},
/// "wheels": [<string>]}`.
fn check_targets(targets: &Value, problems: &mut Vec<String>) {
    let Some(list) = targets.as_array() else {
        problems.push(format!(
            "`targets` must be a list, found {}",
            kind_of(targets)
        ));
        return;
    };
    for (index, target) in list.iter().enumerate() {
        let tag_ok = target.get("tag").is_some_and(Value::is_string);
        let markers_ok = target
            .get("marker_environment")
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().all(Value::is_string));
        let wheels_ok = target
            .get("wheels")
            .and_then(Value::as_array)
            .is_some_and(|w| w.iter().all(Value::is_string));
        if !tag_ok || !markers_ok || !wheels_ok {
            problems.push(format!(
                "`targets[{index}]` must be {{\"tag\": <string>, \"marker_environment\": \
                 {{<string>: <string>}}, \"wheels\": [<string>]}}"
            ));
        }
    }
}

/// `wheel_digests`: an object of `{"sha256": <64 hex digits>, "size": <bytes>}` by wheel.
fn check_digests(digests: &Value, problems: &mut Vec<String>) {
    let Some(map) = digests.as_object() else {
        problems.push(format!(
            "`wheel_digests` must be an object, found {}",
            kind_of(digests)
        ));
        return;
    };
    for (wheel, digest) in map {
        let sha_ok = digest
            .get("sha256")
            .and_then(Value::as_str)
            .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        let size_ok = digest.get("size").is_some_and(Value::is_u64);
        if !sha_ok || !size_ok {
            problems.push(format!(
                "`wheel_digests.{wheel}` must be {{\"sha256\": <64 hex digits>, \"size\": <bytes>}}"
            ));
        }
    }
}

fn check_string_list(key: &str, value: &Value, problems: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            if let Some(bad) = items.iter().find(|item| !item.is_string()) {
                problems.push(format!(
                    "`{key}` must hold only strings, found {}",
                    kind_of(bad)
                ));
            }
        }
        other => problems.push(format!(
            "`{key}` must be a list of strings, found {}",
            kind_of(other)
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: &str = r#"{
    "archive_name": "demo_compiled-0.1.0-7-py311.py312-none-linux_x86_64.wgn",
    "build_server_os_properties": {"distribution": "debian", "distribution_release": "bookworm", "distribution_version": "12"},
    "created_by_wagon_version": "1.0.3",
    "files": ["extra-config.yaml"],
    "package_build_tag": "7",
    "package_name": "demo-compiled",
    "package_source": "/home/dev/demo_compiled",
    "package_version": "0.1.0",
    "python_requires": ">=3.8,>=3.7",
    "supported_platform": "linux_x86_64",
    "supported_python_versions": ["py311", "py312"],
    "wheels": ["demo_compiled-0.1.0-py3-none-any.whl"],
    "some_future_field": {"kept": [1, 2]}
}"#;

    #[test]
    fn legacy_manifest_round_trips_with_unknown_fields() {
        let manifest = Manifest::from_json(LEGACY.as_bytes()).map_err(|e| e.to_string());
        let manifest = manifest.as_ref().map_err(Clone::clone);
        let Ok(manifest) = manifest else {
            panic!("legacy manifest rejected: {manifest:?}");
        };
        assert_eq!(manifest.package_name, "demo-compiled");
        assert!(manifest.extra.contains_key("some_future_field"));
        let again = manifest.to_json().map_err(|e| e.to_string());
        let reparsed =
            again.and_then(|bytes| Manifest::from_json(&bytes).map_err(|e| e.to_string()));
        assert_eq!(reparsed.as_ref(), Ok(manifest));
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = check(&serde_json::json!({"wheels": "x", "package_name": 3}));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`archive_name` is missing") || p.contains("`archive_name`"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`package_name` must be a string"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`wheels` must be a list"))
        );
        assert!(problems.iter().any(|p| p.contains("`supported_platform`")));
    }
}
