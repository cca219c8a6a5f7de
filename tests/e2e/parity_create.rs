//! What wagon 1.0 users expect of `create` and the read commands (issue 14): `--pyver` locks
//! that serve the Pythons the tags name, a simplified `python_requires`, `--ignore-platform`
//! that says what does not fit, archives read from http(s) URLs, a user's project tree left as
//! it was, an unwritable `-o` refused before building, `--validate` that removes what fails and
//! says when it passed, and a wheel given to `install` named for what it is.

use std::path::{Path, PathBuf};
use std::process::Output;

use wagon_test_support::index::{IndexOptions, LoopbackIndex};
use wagon_test_support::sdist::{setuptools_project, wheelhouse};
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, demo_archive, demo_wheels, tree, wagon};

/// The build backends and the demo wheels, served on loopback.
fn served_index(dir: &Path) -> LoopbackIndex {
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    for entry in std::fs::read_dir(wheelhouse()).unwrap().flatten() {
        std::fs::copy(entry.path(), served.join(entry.file_name())).unwrap();
    }
    demo_wheels(&served);
    // Requires-Python the way real closures have them: one per project, each a lower bound.
    WheelBuilder::new("demo-bounded", "1.0")
        .module("demo_bounded", "")
        .requires_dist("demo-lib>=1")
        .requires_python(">=3.9")
        .build(&served);
    LoopbackIndex::serve(&served)
}

fn create(index: &LoopbackIndex, args: &[&str], out: &Path) -> Output {
    wagon()
        .arg("create")
        .args(args)
        .arg("--index-url")
        .arg(index.simple_url())
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn created(out: &Output) -> PathBuf {
    assert!(out.status.success(), "create: {}", stderr(out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The archive's `pylock.toml`, parsed.
fn lock_of(archive: &Path) -> toml::Value {
    let dir = tempfile::tempdir().unwrap();
    crate::common::unpack_by_hand(archive, dir.path());
    let top = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    toml::from_str(&std::fs::read_to_string(top.join("pylock.toml")).unwrap()).unwrap()
}

/// Whether any of `environments` holds for CPython `version` on this machine, as pip's own
/// `packaging` evaluates markers.
fn environments_allow(environments: &[String], version: &str) -> bool {
    let script = format!(
        "import sys\nfrom pip._vendor.packaging.markers import Marker\n\
         markers = {environments:?}\n\
         print(any(Marker(m).evaluate({{'python_version': '{version}', \
         'python_full_version': '{version}.0'}}) for m in markers))"
    );
    let out = wagon_test_support::python::run_python(
        &wagon_test_support::python::python3(),
        &["-c", &script],
    );
    wagon_test_support::python::stdout_text(&out).trim() == "True"
}

/// Issue 14 found `--pyver py3` naming the archive py3-none-any while its lock said
/// `python_version == "3.11"`, refusing 3.12; and `python_requires` a raw concatenation.
#[test]
fn pyver_py3_locks_every_python_3_the_wheels_allow() {
    let dir = tempfile::tempdir().unwrap();
    let index = served_index(dir.path());
    let out = create(
        &index,
        &["demo-bounded", "--pyver", "py3"],
        &dir.path().join("out"),
    );
    let archive = created(&out);
    assert!(
        archive.to_string_lossy().ends_with("-py3-none-any.wgn"),
        "{archive:?}"
    );
    let shown = wagon()
        .arg("show")
        .arg("--json")
        .arg(&archive)
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(manifest["python_requires"], ">=3.9");

    let lock = lock_of(&archive);
    let environments: Vec<String> = lock["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        environments,
        [r#"python_version >= "3.9" and python_version < "4""#]
    );
    for (version, allowed) in [
        ("3.8", false),
        ("3.9", true),
        ("3.12", true),
        ("3.13", true),
    ] {
        assert_eq!(
            environments_allow(&environments, version),
            allowed,
            "{version}: {environments:?}"
        );
    }
    let venv = Venv::new(false);
    let install = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(venv.root())
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", stderr(&install));
    assert!(venv.can_import("demo_bounded"));

    // A tag naming one Python the wheels do not allow is refused before anything is written.
    let out = create(
        &index,
        &["demo-bounded", "--pyver", "cp38"],
        &dir.path().join("cp38"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("`cp38`"), "{}", stderr(&out));
    assert!(!dir.path().join("cp38").exists());
}

/// Issue 14: `--ignore-platform` installed a wheel made for another Python without a word.
#[test]
fn ignore_platform_names_each_wheel_that_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let wheelhouse = dir.path().join("wheelhouse");
    let wheels = vec![
        WheelBuilder::new("demo-app", "1.0")
            .module("demo_app", "")
            .requires_dist("demo-native")
            .requires_dist("demo-lib")
            .build(&wheelhouse),
        WheelBuilder::new("demo-lib", "1.0")
            .module("demo_lib", "")
            .build(&wheelhouse),
        WheelBuilder::new("demo-native", "1.0")
            .tag("cp27-cp27mu-win_amd64")
            .module("demo_native", "")
            .build(&wheelhouse),
    ];
    let archive = archive_of(dir.path(), Format::TarGz, "demo-app", "1.0", &wheels, &[]);
    let venv = Venv::new(false);
    let refused = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(venv.root())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(venv.root())
        .arg("--ignore-platform")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("--ignore-platform"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("--ignore-platform")
            && warnings[0].contains("demo_native-1.0-cp27-cp27mu-win_amd64.whl"),
        "{err}"
    );
}

/// wagon 1.0 read archives from URLs; issue 14 found "No such file or directory".
#[test]
fn every_read_command_takes_an_http_url() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    let archive = demo_archive(&served, Format::TarGz);
    let name = archive.file_name().unwrap().to_str().unwrap().to_string();
    let index = LoopbackIndex::serve_with(
        &served,
        IndexOptions {
            basic_auth: Some(("alice".to_string(), "s3cret-pw".to_string())),
            ..IndexOptions::default()
        },
    );
    let url = index
        .static_url(&name)
        .replace("http://", "http://alice:s3cret-pw@");
    let scratch = dir.path().join("tmp");
    std::fs::create_dir_all(&scratch).unwrap();
    let run = |args: &[&str]| {
        let out = wagon().args(args).env("TMPDIR", &scratch).output().unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            !all.contains("s3cret-pw"),
            "{args:?} shows the password: {all}"
        );
        out
    };

    let out = run(&["show", "--json", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["package_name"], "demo-app");

    let out = run(&["list-files", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "notes.txt");

    let out = run(&["get-file", &url, "notes.txt", "--stdout"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"remember the wagon\n");

    let out = run(&["validate", "--no-install-check", &url]);
    assert!(out.status.success(), "{}", stderr(&out));

    let venv = Venv::new(false);
    let out = run(&["install", &url, "--venv", venv.root().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(venv.can_import("demo_app"));

    let locked = dir.path().join("locked.wgn");
    let out = run(&["lock", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("-o"), "{}", stderr(&out));
    let out = run(&["lock", &url, "-o", locked.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(locked.is_file());

    // A missing archive names the address, without the password.
    let missing = url.replace(&name, "gone.wgn");
    let out = run(&["show", &missing]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("404") && err.contains("/static/gone.wgn"),
        "{err}"
    );
    assert!(err.contains("127.0.0.1"), "{err}");

    // The size limit of unpacking bounds the download too.
    let out = run(&["--max-unpacked-bytes", "1KiB", "show", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--max-unpacked-bytes"),
        "{}",
        stderr(&out)
    );

    // Every downloaded copy is gone.
    assert_eq!(tree(&scratch), Vec::<String>::new());
}

/// Issue 14: `create ./path` left `build/` and `*.egg-info` in the user's source tree.
#[test]
fn create_from_a_local_project_leaves_its_tree_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let index = served_index(dir.path());
    let project = setuptools_project(
        &dir.path().join("projects"),
        "demo-legacy",
        "3.1",
        "def main():\n    print('legacy')\n",
        Some(("demo-legacy", "demo_legacy:main")),
        &["demo-lib>=1"],
    );
    let before = tree(&project);
    let out = create(
        &index,
        &[project.to_str().unwrap()],
        &dir.path().join("out"),
    );
    created(&out);
    assert_eq!(tree(&project), before);
}

/// Issue 14: a `-o` that cannot be written to was found only after the whole build.
#[test]
fn an_unwritable_output_folder_is_refused_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let index = served_index(dir.path());
    // A folder below a regular file cannot be made, even by root.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = create(&index, &["demo-app"], &file.join("out"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&file.display().to_string()) && err.contains("is not a folder"),
        "{err}"
    );
    assert!(
        index.requests().is_empty(),
        "the index was asked: {:?}",
        index.requests()
    );
}

/// Issue 14: `--validate` left an invalid archive in `-o` and said nothing on success.
#[test]
fn create_validate_reports_success_and_removes_a_failed_archive() {
    let dir = tempfile::tempdir().unwrap();
    let index = served_index(dir.path());
    let good = dir.path().join("good");
    let out = create(&index, &["demo-app", "--validate"], &good);
    let archive = created(&out);
    assert!(archive.is_file());
    assert!(stderr(&out).contains("validated"), "{}", stderr(&out));

    // Without demo-lib the archive cannot install into a fresh virtualenv.
    let bad = dir.path().join("bad");
    let out = create(
        &index,
        &["demo-app", "--exclude", "demo-lib", "--validate"],
        &bad,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("removed"), "{}", stderr(&out));
    assert_eq!(tree(&bad), Vec::<String>::new());
}

/// Issue 14: `install some.whl` said "entry … is unsafe".
#[test]
fn a_wheel_is_named_as_a_wheel_with_the_way_to_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = demo_wheels(dir.path()).remove(1);
    let venv = Venv::new(false);
    for command in [&["install"][..], &["show"], &["validate"]] {
        let mut wagon = wagon();
        wagon.args(command).arg(&wheel);
        if command == ["install"] {
            wagon.arg("--venv").arg(venv.root());
        }
        let out = wagon.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let err = stderr(&out);
        assert!(
            err.contains("is a wheel, not a wagon archive")
                && err.contains(&format!("wagon create {}", wheel.display())),
            "{command:?}: {err}"
        );
    }
}
