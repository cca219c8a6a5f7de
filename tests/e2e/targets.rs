//! Multi-target `wagon create` with Wagon's own resolver, against a loopback index: each target
//! gets its own closure (markers evaluated for that machine, not the build host), one archive
//! holds them all, and `install` picks the target that fits the interpreter.

use std::path::{Path, PathBuf};
use std::process::Output;

use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::wagon;

const WIN: &str = "cp310-win_amd64";
const LINUX: &str = "cp312-manylinux_2_28_x86_64";

/// An index shaped like pytest 8.3's metadata: Windows-only and old-Python-only dependencies.
struct Index {
    dir: tempfile::TempDir,
    index: LoopbackIndex,
}

impl Index {
    fn pytest_shaped() -> Index {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        WheelBuilder::new("testapp", "8.3.3")
            .module("testapp", "import iniconfig, pluggy, packaging\n")
            .requires_dist("iniconfig")
            .requires_dist("packaging")
            .requires_dist("pluggy<2,>=1.5")
            .requires_dist("exceptiongroup>=1.0.0rc8; python_version < \"3.11\"")
            .requires_dist("tomli>=1; python_version < \"3.11\"")
            .requires_dist("colorama; sys_platform == \"win32\"")
            .requires_python(">=3.8")
            .build(&served);
        for (name, version) in [
            ("iniconfig", "2.0.0"),
            ("packaging", "24.2"),
            ("pluggy", "1.5.0"),
            ("exceptiongroup", "1.2.2"),
            ("tomli", "2.2.1"),
            ("colorama", "0.4.6"),
        ] {
            WheelBuilder::new(name, version)
                .module(&name.replace('-', "_"), "")
                .build(&served);
        }
        let index = LoopbackIndex::serve(&served);
        Index { dir, index }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `wagon create ARGS` against this index alone, isolated from the machine's pip settings.
    fn create(&self, args: &[&str], out: &Path) -> Output {
        wagon()
            .arg("create")
            .args(args)
            .arg("--index-url")
            .arg(self.index.simple_url())
            .arg("-o")
            .arg(out)
            .env_remove("PIP_FIND_LINKS")
            .env_remove("PIP_INDEX_URL")
            .env_remove("PIP_EXTRA_INDEX_URL")
            .env("WAGON_CACHE_DIR", self.path("cache"))
            .output()
            .unwrap()
    }

    fn create_ok(&self, args: &[&str], out: &str) -> PathBuf {
        let result = self.create(args, &self.path(out));
        assert!(
            result.status.success(),
            "create {args:?}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&result.stdout).trim())
    }
}

fn manifest(archive: &Path) -> serde_json::Value {
    let out = wagon().arg("show").arg(archive).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The projects of a target's closure, by name.
fn closure(manifest: &serde_json::Value, tag: &str) -> Vec<String> {
    let target = manifest["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tag"] == tag)
        .unwrap_or_else(|| panic!("no target {tag} in {manifest}"));
    let mut names: Vec<String> = target["wheels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().split('-').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn each_target_gets_the_closure_its_markers_select() {
    let index = Index::pytest_shaped();
    let archive = index.create_ok(
        &["testapp==8.3.3", "--target", WIN, "--target", LINUX],
        "two",
    );
    let manifest = manifest(&archive);
    assert_eq!(
        closure(&manifest, WIN),
        [
            "colorama",
            "exceptiongroup",
            "iniconfig",
            "packaging",
            "pluggy",
            "testapp",
            "tomli"
        ]
    );
    assert_eq!(
        closure(&manifest, LINUX),
        ["iniconfig", "packaging", "pluggy", "testapp"]
    );
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        name,
        "testapp-8.3.3-cp310.cp312-none-manylinux_2_28_x86_64.win_amd64.wgn"
    );
    // wagon 1.0.3 compares this with sysconfig.get_platform(): the Linux target's.
    assert_eq!(manifest["supported_platform"], "linux_x86_64");

    // This machine's Python 3.11 is neither target: refused, naming them.
    let venv = Venv::new(false);
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(venv.root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("win32") && stderr.contains("3.12"),
        "{stderr}"
    );

    // `validate` proves both targets from the wheels' metadata, offline.
    let out = wagon()
        .arg("validate")
        .arg(&archive)
        .arg("--no-install-check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn with_the_host_among_the_targets_the_archive_installs_here() {
    let index = Index::pytest_shaped();
    let archive = index.create_ok(
        &[
            "testapp==8.3.3",
            "--target",
            WIN,
            "--target",
            LINUX,
            "--target",
            "host",
        ],
        "three",
    );
    let venv = Venv::new(false);
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(venv.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = wagon_test_support::python::run_python(
        &venv.python(),
        &[
            "-c",
            "import importlib.metadata as m; print(sorted(d.metadata['Name'] for d in m.distributions()))",
        ],
    );
    let names = String::from_utf8_lossy(&listed.stdout);
    // Python 3.11 on Linux: no colorama, and 3.11 has exceptiongroup and tomllib built in.
    assert!(!names.contains("colorama"), "{names}");
    assert!(!names.contains("tomli"), "{names}");
    assert!(names.contains("pluggy"), "{names}");
}

#[test]
fn the_pip_resolver_refuses_a_foreign_target() {
    let index = Index::pytest_shaped();
    let result = index.create(
        &["testapp==8.3.3", "--target", WIN, "--resolver", "pip"],
        &index.path("pip"),
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot build for the target cp310-win_amd64"),
        "{stderr}"
    );
    assert!(stderr.contains("--resolver wagon"), "{stderr}");
}
