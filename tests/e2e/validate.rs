//! `wagon validate`: whole archives pass; each kind of damage is reported, all at once.

use crate::common::{Format, demo_archive, stdout, wagon};

#[test]
fn valid_archives_of_every_format_pass_with_the_install_check() {
    for format in Format::ALL {
        let dir = tempfile::tempdir().unwrap();
        let archive = demo_archive(dir.path(), format);
        let out = wagon()
            .arg("validate")
            .arg(&archive)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{format:?}: {} {}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["valid"], true);
        assert_eq!(report["install_checked"], true);
        assert_eq!(report["problems"], serde_json::json!([]));
    }
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = crate::common::demo_wheels(&dir.path().join("wheelhouse"));
    let extra = wagon_test_support::wheel::WheelBuilder::new("stowaway", "9.9")
        .build(&dir.path().join("wheelhouse"));
    let mut json = wagon_test_support::legacy::legacy_package_json(
        "demo-app",
        "1.0",
        &[
            "demo_app-1.0-py3-none-any.whl",
            "demo_lib-1.2-py3-none-any.whl",
            "demo_fancy-0.3-py3-none-any.whl",
            "ghost-1.0-py3-none-any.whl",
        ],
        "any",
        &["py3"],
    );
    json["wheel_digests"] = serde_json::json!({
        "demo_lib-1.2-py3-none-any.whl": {"sha256": "0".repeat(64), "size": 1}
    });
    let mut packed = wheels.clone();
    packed.push(extra);
    let archive = wagon_test_support::legacy::legacy_wagon(
        dir.path(),
        wagon_test_support::legacy::LegacyFormat::TarGz,
        "demo-app",
        &json,
        &packed,
        &[],
    );
    let out = wagon()
        .arg("validate")
        .arg(&archive)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems: Vec<String> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let expect = [
        "wheel ghost-1.0-py3-none-any.whl is listed in package.json but missing from the archive",
        "wheel stowaway-9.9-py3-none-any.whl is in the archive but not listed in package.json",
        "wheel demo_lib-1.2-py3-none-any.whl is",
        "wheel demo_lib-1.2-py3-none-any.whl has sha256",
    ];
    for needle in expect {
        assert!(
            problems.iter().any(|p| p.starts_with(needle)),
            "missing `{needle}` in {problems:#?}"
        );
    }
}

#[test]
fn no_install_check_skips_the_venv() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarZst);
    let out = wagon()
        .arg("validate")
        .arg("--no-install-check")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("valid"));
}

/// An unknown installer is one more problem in the report, not a reason to skip the static
/// checks (a review found `--installer bogus` ending validate before it checked anything).
#[test]
fn an_unknown_installer_is_reported_as_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let out = wagon()
        .arg("validate")
        .arg(&archive)
        .args(["--installer", "bogus", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["install_checked"], false);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .contains("no installer named `bogus`"),
        "{report}"
    );
}
