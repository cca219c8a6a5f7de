//! `show`, `list-files`, `get-file` on every archive format, ours and wagon 1.0's.

use crate::common::{Format, demo_archive, stdout, wagon};

#[test]
fn show_prints_package_json_for_every_format() {
    for format in Format::ALL {
        let dir = tempfile::tempdir().unwrap();
        let archive = demo_archive(dir.path(), format);
        let out = wagon().arg("show").arg(&archive).output().unwrap();
        assert!(out.status.success(), "{format:?}: {out:?}");
        let text = stdout(&out);
        assert!(
            text.starts_with("{\n    \""),
            "{format:?}: pretty with 4 spaces: {text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["package_name"], "demo-app", "{format:?}");
        assert_eq!(value["package_version"], "1.0", "{format:?}");
        assert_eq!(value["wheels"].as_array().unwrap().len(), 3, "{format:?}");

        let compact = wagon()
            .args(["show", "--json"])
            .arg(&archive)
            .output()
            .unwrap();
        assert!(compact.status.success());
        let line = stdout(&compact);
        assert_eq!(
            line.trim().lines().count(),
            1,
            "{format:?}: --json is one line"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            value
        );
    }
}

#[test]
fn show_output_is_the_metadata_contract() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let out = wagon().arg("show").arg(&archive).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("show_tar_gz", stdout(&out));
}

#[test]
fn list_and_get_files_for_every_format() {
    for format in Format::ALL {
        let dir = tempfile::tempdir().unwrap();
        let archive = demo_archive(dir.path(), format);
        let listed = wagon().arg("list-files").arg(&archive).output().unwrap();
        assert!(listed.status.success(), "{format:?}: {listed:?}");
        assert_eq!(stdout(&listed), "notes.txt\n", "{format:?}");

        let out_dir = dir.path().join("out");
        let got = wagon()
            .args(["get-file"])
            .arg(&archive)
            .arg("notes.txt")
            .arg("-o")
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(got.status.success(), "{format:?}: {got:?}");
        assert_eq!(
            std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
            "remember the wagon\n"
        );

        let missing = wagon()
            .arg("get-file")
            .arg(&archive)
            .arg("nope.txt")
            .output()
            .unwrap();
        assert_eq!(
            missing.status.code(),
            Some(1),
            "{format:?}: a missing file is an error"
        );
        let err = String::from_utf8_lossy(&missing.stderr);
        assert!(
            err.contains("holds no file `nope.txt`") && err.contains("notes.txt"),
            "{err}"
        );
    }
}

#[test]
fn same_content_gives_byte_identical_archives() {
    for format in [Format::TarGz, Format::TarZst, Format::Zip] {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let a = std::fs::read(demo_archive(first.path(), format)).unwrap();
        let b = std::fs::read(demo_archive(second.path(), format)).unwrap();
        assert!(a == b, "{format:?}: archives differ");
    }
}

#[test]
fn package_json_is_the_first_entry_of_our_archives() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let file = std::fs::File::open(&archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let first = tar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(
        first.path().unwrap().to_string_lossy(),
        "demo-app/package.json"
    );
}

/// A reader that stops early (`wagon show X | head`) ends the output quietly: exit 0, no panic
/// (`println!` panicked on the closed pipe).
#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let archive = crate::common::demo_archive(dir.path(), crate::common::Format::TarGz);
    for command in ["show", "list-files"] {
        let mut child = crate::common::wagon_std()
            .arg(command)
            .arg(&archive)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before wagon has written anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{command}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{command}: {stderr}");
    }
}
