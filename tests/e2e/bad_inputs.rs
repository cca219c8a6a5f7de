//! Bad input, table-driven: each case gets a clear error, exit code 1, and changes nothing —
//! neither the target environment nor anything outside the destination.

use std::path::{Path, PathBuf};

use wagon_test_support::hostile::{RawEntry, tar_gz_with_entries, truncate};
use wagon_test_support::legacy::{LegacyFormat, legacy_package_json, legacy_wagon};
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, demo_archive, demo_wheels, tree, wagon};

struct Case {
    name: &'static str,
    archive: PathBuf,
}

fn wheel_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(
        WheelBuilder::new("demo", "1.0")
            .module("demo", "")
            .build(&dir.join("w")),
    )
    .unwrap()
}

fn legacy_with(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
    wheels: &[PathBuf],
) -> PathBuf {
    let names: Vec<String> = wheels
        .iter()
        .map(|w| w.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut json = legacy_package_json("demo-app", "1.0", &names, "any", &["py3"]);
    edit(&mut json);
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    legacy_wagon(&out, LegacyFormat::TarGz, "demo-app", &json, wheels, &[])
}

#[allow(clippy::too_many_lines)] // one table of cases, a few lines each
fn cases(dir: &Path) -> Vec<Case> {
    let wheels = demo_wheels(&dir.join("wheelhouse"));
    let mut cases = Vec::new();

    let truncated = demo_archive(&dir.join("truncated"), Format::TarGz);
    let len = std::fs::metadata(&truncated).unwrap().len();
    truncate(&truncated, len / 2);
    cases.push(Case {
        name: "truncated archive",
        archive: truncated,
    });

    let no_manifest = dir.join("no-manifest.wgn");
    tar_gz_with_entries(
        &no_manifest,
        &[RawEntry::file(
            "demo/wheels/demo-1.0-py3-none-any.whl",
            wheel_bytes(dir),
        )],
    );
    cases.push(Case {
        name: "missing package.json",
        archive: no_manifest,
    });

    let bad_json = dir.join("bad-json.wgn");
    tar_gz_with_entries(
        &bad_json,
        &[RawEntry::file(
            "demo/package.json",
            b"{\"package_name\": \"demo\",".to_vec(),
        )],
    );
    cases.push(Case {
        name: "malformed JSON",
        archive: bad_json,
    });

    let wrong_types = dir.join("wrong-types.wgn");
    tar_gz_with_entries(
        &wrong_types,
        &[RawEntry::file(
            "demo/package.json",
            br#"{"package_name": 7, "wheels": "all of them"}"#.to_vec(),
        )],
    );
    cases.push(Case {
        name: "package.json of the wrong shape",
        archive: wrong_types,
    });

    let missing_wheel = legacy_with(
        dir,
        "missing-wheel",
        |json| {
            json["wheels"]
                .as_array_mut()
                .unwrap()
                .push("demo_ghost-1.0-py3-none-any.whl".into())
        },
        &wheels,
    );
    cases.push(Case {
        name: "missing wheel",
        archive: missing_wheel,
    });

    let hash_mismatch = legacy_with(
        dir,
        "hash-mismatch",
        |json| {
            let size = std::fs::metadata(&wheels[1]).unwrap().len();
            json["wheel_digests"] = serde_json::json!({
                "demo_lib-1.2-py3-none-any.whl": {"sha256": "ab".repeat(32), "size": size}
            });
        },
        &wheels,
    );
    cases.push(Case {
        name: "hash mismatch",
        archive: hash_mismatch,
    });

    // A valid package.json first, so it is the traversal that must stop the install.
    let valid_json =
        serde_json::to_vec(&legacy_package_json("demo", "1.0", &[], "any", &["py3"])).unwrap();
    let traversal = dir.join("traversal.wgn");
    tar_gz_with_entries(
        &traversal,
        &[
            RawEntry::file("demo/package.json", valid_json),
            RawEntry::file("demo/../../evil.txt", b"pwned".to_vec()),
        ],
    );
    cases.push(Case {
        name: "path traversal",
        archive: traversal,
    });

    let absolute = dir.join("absolute.wgn");
    tar_gz_with_entries(
        &absolute,
        &[RawEntry::file(
            "/tmp/wagon-evil-absolute.txt",
            b"pwned".to_vec(),
        )],
    );
    cases.push(Case {
        name: "absolute path",
        archive: absolute,
    });

    let symlink = dir.join("symlink.wgn");
    tar_gz_with_entries(
        &symlink,
        &[
            RawEntry::symlink("demo/wheels", "../../../.."),
            RawEntry::file("demo/wheels/evil.txt", b"pwned".to_vec()),
        ],
    );
    cases.push(Case {
        name: "symlink escape",
        archive: symlink,
    });

    let windows_only = WheelBuilder::new("demo-native", "1.0")
        .tag("cp311-cp311-win_amd64")
        .module("demo_native", "")
        .build(&dir.join("native"));
    let incompatible = archive_of(
        &dir.join("incompatible"),
        Format::TarGz,
        "demo-native",
        "1.0",
        &[windows_only],
        &[],
    );
    cases.push(Case {
        name: "incompatible platform",
        archive: incompatible,
    });

    let future_python = legacy_with(
        dir,
        "python-requires",
        |json| json["python_requires"] = ">=4.0".into(),
        &wheels,
    );
    cases.push(Case {
        name: "python_requires excludes the target",
        archive: future_python,
    });

    let not_an_archive = dir.join("notes.wgn");
    std::fs::write(&not_an_archive, "just some text, not an archive\n").unwrap();
    cases.push(Case {
        name: "not an archive",
        archive: not_an_archive,
    });

    cases.push(Case {
        name: "no such file",
        archive: dir.join("does-not-exist.wgn"),
    });
    cases
}

#[test]
fn bad_inputs_fail_clearly_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Fixtures live one level down so that anything escaping `work` would show in `dir`.
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let venv = Venv::new(false);
    let before = tree(venv.root());
    let outside_before = tree(dir.path());
    let python_version =
        wagon_test_support::python::stdout_text(&wagon_test_support::python::run_python(
            &venv.python(),
            &["-c", "import platform; print(platform.python_version())"],
        ));

    let mut transcript = String::new();
    for case in cases(&work) {
        let out = wagon()
            .arg("install")
            .arg(&case.archive)
            .arg("--venv")
            .arg(venv.root())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}: {out:?}", case.name);
        let err = String::from_utf8_lossy(&out.stderr)
            .replace(&venv.root().display().to_string(), "[VENV]")
            .replace(&work.display().to_string(), "[TMP]")
            .replace(&python_version, "[PYVER]");
        assert!(err.starts_with("error: "), "{}: {err}", case.name);
        assert_eq!(
            tree(venv.root()),
            before,
            "{}: the environment changed",
            case.name
        );
        transcript.push_str(&format!(
            "## {} (exit {})\n{err}\n",
            case.name,
            out.status.code().unwrap_or(-1)
        ));
    }
    // Nothing escaped: the only new entries are the fixtures below `work`.
    let outside_after: Vec<String> = tree(dir.path())
        .into_iter()
        .filter(|p| !p.starts_with("work"))
        .collect();
    let outside_before: Vec<String> = outside_before
        .into_iter()
        .filter(|p| !p.starts_with("work"))
        .collect();
    assert_eq!(outside_after, outside_before);
    assert!(!Path::new("/tmp/wagon-evil-absolute.txt").exists());
    insta::assert_snapshot!("bad_inputs_install", transcript);
}

#[test]
fn show_and_validate_refuse_hostile_archives_too() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    for case in cases(&work) {
        let show = wagon().arg("show").arg(&case.archive).output().unwrap();
        let validate = wagon().arg("validate").arg(&case.archive).output().unwrap();
        assert_eq!(
            validate.status.code(),
            Some(1),
            "validate {}: {validate:?}",
            case.name
        );
        // `show` only reads package.json, so damage past it (a missing wheel, a bad hash, an
        // incompatible wheel) is validate's to find.
        let show_may_pass = matches!(
            case.name,
            "missing wheel"
                | "hash mismatch"
                | "incompatible platform"
                | "python_requires excludes the target"
                | "path traversal"
                | "package.json of the wrong shape"
                | "truncated archive"
        );
        if !show_may_pass {
            assert_eq!(show.status.code(), Some(1), "show {}: {show:?}", case.name);
        }
    }
}
