//! Consistency of an archive with its own metadata: every listed wheel present, none unlisted,
//! every recorded digest matching, every wheel name valid, every listed file present.

use std::collections::BTreeMap;

use crate::archive::{Contents, FILES_DIR, WHEELS_DIR};
use crate::manifest::Manifest;
use crate::python;

/// Every inconsistency between `manifest` and what the archive holds, one message each.
/// `sha256` maps paths below the top folder to their digests (as computed while reading).
pub fn problems(
    manifest: &Manifest,
    contents: &Contents,
    sha256: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let present: Vec<&str> = contents.files_in(WHEELS_DIR).collect();
    for wheel in &manifest.wheels {
        if !present.contains(&wheel.as_str()) {
            problems.push(format!(
                "wheel {wheel} is listed in package.json but missing from the archive"
            ));
        }
        if let Err(err) = python::parse_wheel_filename(wheel) {
            problems.push(err.to_string());
        }
    }
    for wheel in &present {
        if !manifest.wheels.iter().any(|w| w == wheel) {
            problems.push(format!(
                "wheel {wheel} is in the archive but not listed in package.json"
            ));
        }
    }
    for (wheel, recorded) in &manifest.wheel_digests {
        let path = format!("{WHEELS_DIR}/{wheel}");
        if !manifest.wheels.contains(wheel) {
            problems.push(format!(
                "wheel_digests names {wheel}, which `wheels` does not list"
            ));
            continue;
        }
        if let Some(size) = contents.files.get(&path)
            && *size != recorded.size
        {
            problems.push(format!(
                "wheel {wheel} is {size} bytes, but package.json records {}",
                recorded.size
            ));
        }
        if let Some(actual) = sha256.get(&path)
            && !actual.eq_ignore_ascii_case(&recorded.sha256)
        {
            problems.push(format!(
                "wheel {wheel} has sha256 {actual}, but package.json records {}: the wheel was altered or damaged",
                recorded.sha256
            ));
        }
    }
    let files: Vec<&str> = contents.files_in(FILES_DIR).collect();
    for file in &manifest.files {
        if !files.contains(&file.as_str()) {
            problems.push(format!(
                "file {file} is listed in package.json but missing from the archive"
            ));
        }
    }
    problems
}
