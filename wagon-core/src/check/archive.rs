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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::WheelDigest;
    use crate::testing::manifest_with;

    const APP: &str = "app-1.0-py3-none-any.whl";
    const DEP: &str = "dep-1.0-py3-none-any.whl";

    fn contents(files: &[(&str, u64)]) -> Contents {
        Contents {
            top: "app".to_string(),
            files: files.iter().map(|(p, s)| ((*p).to_string(), *s)).collect(),
        }
    }

    #[test]
    fn an_archive_that_matches_its_manifest_has_no_problem() {
        let mut manifest = manifest_with(&[APP]);
        manifest.wheel_digests.insert(
            APP.to_string(),
            WheelDigest {
                sha256: "AB".repeat(32),
                size: 10,
            },
        );
        let held = contents(&[("package.json", 5), ("wheels/app-1.0-py3-none-any.whl", 10)]);
        let sha256 = BTreeMap::from([(format!("wheels/{APP}"), "ab".repeat(32))]);
        assert_eq!(problems(&manifest, &held, &sha256), Vec::<String>::new());
    }

    #[test]
    fn every_disagreement_is_reported_once() {
        let mut manifest = manifest_with(&[APP, "not-a-wheel.whl"]);
        manifest.files = vec!["notes.txt".to_string()];
        manifest.wheel_digests.insert(
            APP.to_string(),
            WheelDigest {
                sha256: "0".repeat(64),
                size: 10,
            },
        );
        manifest.wheel_digests.insert(
            "ghost-1.0-py3-none-any.whl".to_string(),
            WheelDigest {
                sha256: "0".repeat(64),
                size: 1,
            },
        );
        let held = contents(&[
            ("wheels/app-1.0-py3-none-any.whl", 11),
            ("wheels/dep-1.0-py3-none-any.whl", 3),
        ]);
        let sha256 = BTreeMap::from([(format!("wheels/{APP}"), "1".repeat(64))]);
        let found = problems(&manifest, &held, &sha256);
        assert_eq!(found.len(), 7, "{found:#?}");
        assert!(found.contains(&format!(
            "wheel {DEP} is in the archive but not listed in package.json"
        )));
        assert!(
            found.contains(
                &"wheel not-a-wheel.whl is listed in package.json but missing from the archive"
                    .to_string()
            )
        );
        assert!(found.contains(&format!(
            "wheel {APP} is 11 bytes, but package.json records 10"
        )));
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(&format!("wheel {APP} has sha256 1111")))
        );
        assert!(
            found.contains(
                &"wheel_digests names ghost-1.0-py3-none-any.whl, which `wheels` does not list"
                    .to_string()
            )
        );
        assert!(found.contains(
            &"file notes.txt is listed in package.json but missing from the archive".to_string()
        ));
    }
}
