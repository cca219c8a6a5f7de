//! Regressions of the archive layer found in review (issue 15): each test failed before its fix.

use std::io::Read;
use std::path::{Path, PathBuf};

use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::python::python3;
use wagon_test_support::sdist::{flit_project, sdist_tar_gz, wheelhouse};

use crate::common::{Format, assert_success, demo_archive, demo_wheels, tree, wagon};

/// A loopback index serving the demo wheels and the fixture build backends.
fn demo_index(dir: &Path) -> LoopbackIndex {
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    for entry in std::fs::read_dir(wheelhouse()).into_iter().flatten() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), served.join(entry.file_name())).unwrap();
    }
    demo_wheels(&served);
    LoopbackIndex::serve(&served)
}

/// The one archive `wagon create` wrote into `out`.
fn only_file(out: &Path) -> PathBuf {
    let files = tree(out);
    assert_eq!(files.len(), 1, "{files:?}");
    out.join(&files[0])
}

fn is_plain_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 262 && &bytes[257..262] == b"ustar"
}

#[test]
fn lock_keeps_a_plain_tar_a_plain_tar() {
    let dir = tempfile::tempdir().unwrap();
    let gz = demo_archive(dir.path(), Format::TarGz);
    // A plain tar wagon, as `gunzip` makes one from a tar.gz.
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut plain)
        .unwrap();
    assert!(is_plain_tar(&plain));
    let archive = dir.path().join("demo-app.tar.wgn");
    std::fs::write(&archive, &plain).unwrap();

    let lock_into = |out: &Path| {
        let result = wagon()
            .arg("lock")
            .arg(&archive)
            .arg("--python")
            .arg(python3())
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        assert_success(&result);
        std::fs::read(out).unwrap()
    };
    let first = lock_into(&dir.path().join("locked-1.wgn"));
    assert!(
        is_plain_tar(&first),
        "lock changed the format: the locked archive starts {:02x?}",
        &first[..4]
    );
    let names: Vec<String> = tar::Archive::new(first.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names[0], "demo-app/package.json");
    assert!(
        names.contains(&"demo-app/pylock.toml".to_string()),
        "{names:?}"
    );
    // Written reproducibly, like every other format.
    assert!(first == lock_into(&dir.path().join("locked-2.wgn")));
    let show = wagon()
        .arg("show")
        .arg(dir.path().join("locked-1.wgn"))
        .output()
        .unwrap();
    assert_success(&show);
}

#[test]
fn zip_entries_are_dated_by_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let index = demo_index(dir.path());
    let create = |epoch: &str, out: &str| {
        let out = dir.path().join(out);
        let result = wagon()
            .args(["create", "demo-app==1.0", "--format", "zip", "--index-url"])
            .arg(index.simple_url())
            .arg("-o")
            .arg(&out)
            .env("SOURCE_DATE_EPOCH", epoch)
            .output()
            .unwrap();
        assert_success(&result);
        std::fs::read(only_file(&out)).unwrap()
    };
    // 2023-11-14T22:13:20Z and 2020-09-13T12:26:40Z.
    let a = create("1700000000", "a");
    assert!(
        a == create("1700000000", "a-again"),
        "same epoch, same bytes"
    );
    let b = create("1600000000", "b");
    assert!(a != b, "SOURCE_DATE_EPOCH did not reach the zip's entries");
    for (bytes, expected) in [
        (a, (2023, 11, 14, 22, 13, 20)),
        (b, (2020, 9, 13, 12, 26, 40)),
    ] {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert!(!zip.is_empty());
        for index in 0..zip.len() {
            let entry = zip.by_index(index).unwrap();
            let time = entry.last_modified().unwrap();
            assert_eq!(
                (
                    time.year(),
                    time.month(),
                    time.day(),
                    time.hour(),
                    time.minute(),
                    time.second()
                ),
                expected,
                "{}",
                entry.name()
            );
        }
    }
}

#[test]
fn the_largest_limits_do_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::Zip);
    for flag in [
        "--max-metadata-bytes",
        "--max-unpacked-bytes",
        "--max-entries",
    ] {
        let out = wagon()
            .args([flag, "18446744073709551615", "show", "--json"])
            .arg(&archive)
            .output()
            .unwrap();
        assert_success(&out);
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(manifest["package_name"], "demo-app", "{flag}");
    }
}

#[test]
fn create_bounds_a_source_archive_by_the_limit_flags() {
    let dir = tempfile::tempdir().unwrap();
    let index = demo_index(dir.path());
    let project = flit_project(
        &dir.path().join("projects"),
        "demo-tool",
        "2.0",
        "# a module that is larger than the limit below, once unpacked\n",
        None,
        &["demo-lib>=1"],
    );
    let sdist = sdist_tar_gz(&project, &dir.path().join("sdists"));
    let out = dir.path().join("out");
    let result = wagon()
        .args(["--max-unpacked-bytes", "100", "create"])
        .arg(&sdist)
        .arg("--index-url")
        .arg(index.simple_url())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("more than 100 bytes (--max-unpacked-bytes)"),
        "the refusal names the limit: {stderr}"
    );
    assert!(tree(&out).is_empty(), "no archive: {:?}", tree(&out));
}

#[test]
fn lock_help_speaks_of_locking_not_installing() {
    let out = wagon().args(["lock", "--help"]).output().unwrap();
    assert_success(&out);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--python <PATH>", "--venv <DIR>"] {
        // The description follows the flag, on its line or (long help) the next.
        let mut lines = help.lines();
        let flag_line = lines
            .find(|line| line.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("no {flag} in {help}"));
        let line = format!("{flag_line} {}", lines.next().unwrap_or(""));
        assert!(line.contains("the lock is made for"), "{line}");
        assert!(!line.contains("install"), "{line}");
    }
    // install keeps its own wording.
    let out = wagon().args(["install", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("The interpreter to install into"));
}
