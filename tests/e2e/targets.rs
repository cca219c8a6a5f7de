//! Multi-target `wagon create` with Wagon's own resolver, against a loopback index: each target
//! gets its own closure (markers evaluated for that machine, not the build host), one archive
//! holds them all, and `install` picks the target that fits the interpreter.

use std::path::{Path, PathBuf};
use std::process::Output;

use wagon_test_support::index::{CoreMetadata, IndexOptions, LoopbackIndex};
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::wagon;

const WIN: &str = "cp310-win_amd64";
const LINUX: &str = "cp312-manylinux_2_28_x86_64";

/// A loopback index over a temporary folder, and Wagon runs against it alone.
struct Index {
    dir: tempfile::TempDir,
    index: LoopbackIndex,
}

impl Index {
    /// An index serving what `fill` writes into its folder.
    fn with(options: IndexOptions, fill: impl FnOnce(&Path)) -> Index {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        fill(&served);
        let index = LoopbackIndex::serve_with(&served, options);
        Index { dir, index }
    }

    /// An index shaped like pytest 8.3's metadata: Windows-only and old-Python-only dependencies.
    fn pytest_shaped() -> Index {
        Index::pytest_shaped_with(IndexOptions::default())
    }

    fn pytest_shaped_with(options: IndexOptions) -> Index {
        Index::with(options, |served| {
            WheelBuilder::new("testapp", "8.3.3")
                .module("testapp", "import iniconfig, pluggy, packaging\n")
                .requires_dist("iniconfig")
                .requires_dist("packaging")
                .requires_dist("pluggy<2,>=1.5")
                .requires_dist("exceptiongroup>=1.0.0rc8; python_version < \"3.11\"")
                .requires_dist("tomli>=1; python_version < \"3.11\"")
                .requires_dist("colorama; sys_platform == \"win32\"")
                .requires_python(">=3.8")
                .build(served);
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
                    .build(served);
            }
        })
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
            .current_dir(self.dir.path())
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

    /// `wagon create ARGS`, which must fail (exit 1) without writing an archive; its stderr.
    fn create_err(&self, args: &[&str], out: &str) -> String {
        let out_dir = self.path(out);
        let result = self.create(args, &out_dir);
        let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
        assert_eq!(result.status.code(), Some(1), "create {args:?}: {stderr}");
        let written: Vec<_> = std::fs::read_dir(&out_dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(written.is_empty(), "create {args:?} wrote {written:?}");
        stderr
    }

    /// The archive's wheels, by file name, for `create ARGS`.
    fn wheels_of(&self, args: &[&str], out: &str) -> Vec<String> {
        let archive = self.create_ok(args, out);
        let top = unpack(&archive, &self.path(&format!("{out}-unpacked")));
        wheel_files(&top)
    }
}

/// Unpacks `archive` by hand (no Wagon) into `dest`; the archive's one top folder.
fn unpack(archive: &Path, dest: &Path) -> PathBuf {
    crate::common::unpack_by_hand(archive, dest);
    let mut tops: Vec<PathBuf> = std::fs::read_dir(dest)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(tops.len(), 1, "one top folder: {tops:?}");
    tops.pop().unwrap()
}

/// The wheels in an unpacked archive's `wheels/`, sorted.
fn wheel_files(top: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(top.join("wheels"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
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

/// uv and pip 26.3, installed by `.ci/setup`.
fn lock_tools() -> PathBuf {
    let tools = wagon_test_support::sdist::workspace_root().join("target/compat/lock-tools/bin");
    assert!(
        tools.join("uv").exists(),
        "no uv at {}: run .ci/setup",
        tools.display()
    );
    tools
}

const THREE: [&str; 6] = [
    "--target",
    "cp311-manylinux_2_28_x86_64",
    "--target",
    "cp312-win_amd64",
    "--target",
    "cp312-macosx_14_0_arm64",
];

/// `native` 1.0 with a wheel for each of three platforms (and near misses for none of the
/// targets), needing the pure `purelib`; each wheel says which platform it is for.
fn three_platforms() -> Index {
    Index::with(IndexOptions::default(), |served| {
        for (tag, platform) in [
            ("cp311-cp311-manylinux_2_17_x86_64", "manylinux"),
            ("cp312-cp312-win_amd64", "windows"),
            ("cp312-cp312-macosx_11_0_arm64", "macos"),
            // Fit no target: another libc, another Python, a newer macOS.
            ("cp311-cp311-musllinux_1_2_x86_64", "musl"),
            ("cp310-cp310-win_amd64", "windows-3.10"),
            ("cp312-cp312-macosx_15_0_arm64", "macos-15"),
        ] {
            WheelBuilder::new("native", "1.0")
                .tag(tag)
                .package("native", &format!("PLATFORM = {platform:?}\n"))
                .requires_dist("purelib>=1")
                .requires_dist("winonly; sys_platform == \"win32\"")
                .build(served);
        }
        for name in ["purelib", "winonly"] {
            WheelBuilder::new(name, "1.0")
                .module(name, "")
                .build(served);
        }
    })
}

#[test]
fn three_platforms_get_one_wheel_each_and_uv_and_pip_install_the_linux_one() {
    let index = three_platforms();
    let mut args = vec!["native==1.0"];
    args.extend(THREE);
    let archive = index.create_ok(&args, "three");
    let top = unpack(&archive, &index.path("unpacked"));
    assert_eq!(
        wheel_files(&top),
        [
            "native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            "native-1.0-cp312-cp312-macosx_11_0_arm64.whl",
            "native-1.0-cp312-cp312-win_amd64.whl",
            "purelib-1.0-py3-none-any.whl",
            "winonly-1.0-py3-none-any.whl",
        ]
    );
    let lock: toml::Table =
        toml::from_str(&std::fs::read_to_string(top.join("pylock.toml")).unwrap()).unwrap();
    assert_eq!(lock["environments"].as_array().unwrap().len(), 3, "{lock}");
    // Every target needs both projects, so neither has a marker; native lists its three wheels.
    let packages = lock["packages"].as_array().unwrap();
    let native = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("native"))
        .unwrap();
    assert!(native.get("marker").is_none(), "{native}");
    assert_eq!(native["wheels"].as_array().unwrap().len(), 3, "{native}");
    // Only the Windows target needs winonly: its entry says so.
    let winonly = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("winonly"))
        .unwrap();
    let marker = winonly["marker"].as_str().unwrap_or_default();
    assert!(marker.contains("win32"), "{winonly}");

    let lock = top.join("pylock.toml");
    let uv = |venv: &Venv| {
        std::process::Command::new(lock_tools().join("uv"))
            .args(["pip", "install", "--offline", "--no-index", "--no-cache"])
            .arg("--python")
            .arg(venv.python())
            .arg("-r")
            .arg(&lock)
            .env_remove("UV_INDEX_URL")
            .output()
            .unwrap()
    };
    let pip = |venv: &Venv| {
        std::process::Command::new(lock_tools().join("python"))
            .args(["-m", "pip", "--python"])
            .arg(venv.python())
            .args(["install", "--no-index", "--disable-pip-version-check", "-r"])
            .arg(&lock)
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env_remove("PIP_FIND_LINKS")
            .env_remove("PIP_INDEX_URL")
            .env_remove("PIP_EXTRA_INDEX_URL")
            .output()
            .unwrap()
    };
    for (tool, install) in [("uv", &uv as &dyn Fn(&Venv) -> Output), ("pip", &pip)] {
        let venv = Venv::new(false);
        let out = install(&venv);
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let platform = venv.run(&["-c", "import native; print(native.PLATFORM)"]);
        assert_eq!(
            wagon_test_support::python::stdout_text(&platform),
            "manylinux",
            "{tool}"
        );
        assert_eq!(venv.installed("purelib").as_deref(), Some("1.0"), "{tool}");
        assert_eq!(venv.installed("winonly"), None, "{tool}");
    }
}

#[test]
fn an_extra_pulls_its_dependency_only_when_asked() {
    let index = Index::with(IndexOptions::default(), |served| {
        WheelBuilder::new("app", "1.0")
            .module("app", "")
            .requires_dist("base")
            .requires_dist("fancydep>=1; extra == \"fancy\"")
            .provides_extra("fancy")
            .build(served);
        WheelBuilder::new("base", "1.0")
            .module("base", "")
            .build(served);
        WheelBuilder::new("fancydep", "1.0")
            .module("fancydep", "")
            .build(served);
    });
    assert_eq!(
        index.wheels_of(&["app[fancy]", "--target", WIN, "--target", LINUX], "with"),
        [
            "app-1.0-py3-none-any.whl",
            "base-1.0-py3-none-any.whl",
            "fancydep-1.0-py3-none-any.whl"
        ]
    );
    assert_eq!(
        index.wheels_of(&["app", "--target", WIN, "--target", LINUX], "without"),
        ["app-1.0-py3-none-any.whl", "base-1.0-py3-none-any.whl"]
    );
}

#[test]
fn a_yanked_version_is_skipped_unless_pinned_exactly() {
    let index = Index::with(IndexOptions::default(), |served| {
        for version in ["1.0", "1.1"] {
            WheelBuilder::new("app", version)
                .module("app", "")
                .build(served);
        }
        std::fs::write(served.join("app-1.1-py3-none-any.whl.yanked"), "broken\n").unwrap();
        WheelBuilder::new("pinner", "1.0")
            .module("pinner", "")
            .requires_dist("app==1.1")
            .build(served);
        WheelBuilder::new("gone", "1.0")
            .module("gone", "")
            .build(served);
        std::fs::write(
            served.join("gone-1.0-py3-none-any.whl.yanked"),
            "leaked a key\n",
        )
        .unwrap();
    });
    assert_eq!(
        index.wheels_of(&["app", "--target", LINUX], "latest"),
        ["app-1.0-py3-none-any.whl"]
    );
    assert_eq!(
        index.wheels_of(&["app==1.1", "--target", LINUX], "pinned"),
        ["app-1.1-py3-none-any.whl"]
    );
    // A dependency's exact pin counts too.
    assert_eq!(
        index.wheels_of(&["pinner", "--target", LINUX], "pinned-by-dep"),
        ["app-1.1-py3-none-any.whl", "pinner-1.0-py3-none-any.whl"]
    );
    // Nothing but a yanked version, not pinned: refused, with the index's reason.
    let stderr = index.create_err(&["gone", "--target", LINUX], "gone");
    assert!(stderr.contains("yanked"), "{stderr}");
    assert!(stderr.contains("leaked a key"), "{stderr}");
}

#[test]
fn a_pre_release_is_taken_only_when_asked_for() {
    let index = Index::with(IndexOptions::default(), |served| {
        for version in ["1.0", "2.0b1"] {
            WheelBuilder::new("app", version)
                .module("app", "")
                .build(served);
        }
        // A dependency with nothing but a pre-release: needed, so taken.
        WheelBuilder::new("early", "1.0")
            .module("early", "")
            .requires_dist("onlypre")
            .build(served);
        WheelBuilder::new("onlypre", "0.1rc1")
            .module("onlypre", "")
            .build(served);
    });
    assert_eq!(
        index.wheels_of(&["app", "--target", LINUX], "stable"),
        ["app-1.0-py3-none-any.whl"]
    );
    assert_eq!(
        index.wheels_of(&["app>=2.0b1", "--target", LINUX], "pre"),
        ["app-2.0b1-py3-none-any.whl"]
    );
    assert_eq!(
        index.wheels_of(&["early", "--target", LINUX], "needed"),
        [
            "early-1.0-py3-none-any.whl",
            "onlypre-0.1rc1-py3-none-any.whl"
        ]
    );
}

#[test]
fn requires_python_is_judged_per_target() {
    let index = Index::with(IndexOptions::default(), |served| {
        WheelBuilder::new("app", "1.0")
            .module("app", "")
            .requires_dist("dep")
            .requires_python(">=3.8")
            .build(served);
        WheelBuilder::new("dep", "1.0")
            .module("dep", "")
            .requires_python(">=3.8")
            .build(served);
        WheelBuilder::new("dep", "2.0")
            .module("dep", "")
            .requires_python(">=3.12")
            .build(served);
        WheelBuilder::new("modern", "1.0")
            .module("modern", "")
            .requires_python(">=3.12")
            .build(served);
    });
    // The 3.10 target takes the older dep, the 3.12 one the newer.
    let archive = index.create_ok(&["app", "--target", WIN, "--target", LINUX], "both");
    let manifest = manifest(&archive);
    let wheels = |tag: &str| -> Vec<String> {
        let target = manifest["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == tag)
            .unwrap();
        let mut wheels: Vec<String> = target["wheels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect();
        wheels.sort();
        wheels
    };
    assert_eq!(
        wheels(WIN),
        ["app-1.0-py3-none-any.whl", "dep-1.0-py3-none-any.whl"]
    );
    assert_eq!(
        wheels(LINUX),
        ["app-1.0-py3-none-any.whl", "dep-2.0-py3-none-any.whl"]
    );
    let top = unpack(&archive, &index.path("both-unpacked"));
    assert_eq!(
        wheel_files(&top),
        [
            "app-1.0-py3-none-any.whl",
            "dep-1.0-py3-none-any.whl",
            "dep-2.0-py3-none-any.whl"
        ]
    );

    // A root that needs 3.12 cannot serve a 3.10 target: the error says which.
    let stderr = index.create_err(&["modern", "--target", WIN, "--target", LINUX], "modern");
    assert!(
        stderr.contains("for cp310-win_amd64: modern 1.0 requires Python >=3.12"),
        "{stderr}"
    );
}

/// Copies the test wheelhouse's wheel of `project` (a build backend) into `dir`.
fn backend(project: &str, dir: &Path) {
    let house = wagon_test_support::sdist::wheelhouse();
    let wheel = std::fs::read_dir(&house)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{project}-"))
        })
        .unwrap_or_else(|| panic!("no {project} wheel in {}: run .ci/setup", house.display()));
    std::fs::copy(&wheel, dir.join(wheel.file_name().unwrap())).unwrap();
}

#[test]
fn a_source_only_pure_dependency_is_built_once_and_serves_every_target() {
    let index = Index::with(IndexOptions::default(), |served| {
        WheelBuilder::new("app", "1.0")
            .module("app", "import srconly\n")
            .requires_dist("srconly>=1")
            .build(served);
        let project = wagon_test_support::sdist::flit_project(
            &served.join("projects"),
            "srconly",
            "1.0",
            "",
            None,
            &[],
        );
        wagon_test_support::sdist::sdist_tar_gz(&project, served);
        backend("flit_core", served);
    });
    let archive = index.create_ok(
        &[
            "app",
            "--target",
            WIN,
            "--target",
            LINUX,
            "--target",
            "cp312-macosx_14_0_arm64",
        ],
        "pure",
    );
    let top = unpack(&archive, &index.path("pure-unpacked"));
    assert_eq!(
        wheel_files(&top),
        [
            "app-1.0-py3-none-any.whl",
            "srconly-1.0-py2.py3-none-any.whl"
        ]
    );
    let manifest = manifest(&archive);
    for tag in [WIN, LINUX, "cp312-macosx_14_0_arm64"] {
        assert_eq!(closure(&manifest, tag), ["app", "srconly"], "{tag}");
    }
    // Fetched (and built) once for the three targets.
    assert_eq!(index.index.count("/files/srconly-1.0.tar.gz"), 1);
}

/// `cext` 1.0 as an sdist only, whose setup.py makes a platform wheel (no compiler needed).
fn compiled_sdist(served: &Path) {
    let root = served.join("projects/cext-1.0");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("setup.py"),
        "from setuptools import setup\n\
         from setuptools.dist import Distribution\n\n\
         class BinaryDistribution(Distribution):\n    \
             def has_ext_modules(self):\n        \
                 return True\n\n\
         setup(name='cext', version='1.0', py_modules=['cext'], distclass=BinaryDistribution)\n",
    )
    .unwrap();
    // setuptools alone builds it (no `wheel` on the index, which a setup.py-only project needs).
    std::fs::write(
        root.join("pyproject.toml"),
        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n",
    )
    .unwrap();
    std::fs::write(root.join("cext.py"), "").unwrap();
    wagon_test_support::sdist::sdist_tar_gz(&root, served);
    backend("setuptools", served);
}

#[test]
fn a_source_only_compiled_project_serves_the_host_only_and_names_the_fix() {
    let index = Index::with(IndexOptions::default(), compiled_sdist);
    // For this machine the wheel built here is the right one.
    let wheels = index.wheels_of(&["cext", "--target", "host"], "host");
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    assert!(
        wheels[0].starts_with("cext-1.0-cp3") && wheels[0].ends_with("-linux_x86_64.whl"),
        "{wheels:?}"
    );

    // For Windows it is not: the error names the project, the target and --find-links.
    let stderr = index.create_err(&["cext", "--target", "cp312-win_amd64"], "windows");
    assert!(stderr.contains("cext 1.0"), "{stderr}");
    assert!(stderr.contains("cp312-win_amd64"), "{stderr}");
    assert!(stderr.contains("--find-links"), "{stderr}");

    // Following the advice works: a prebuilt Windows wheel in a --find-links folder.
    let prebuilt = index.path("prebuilt");
    WheelBuilder::new("cext", "1.0")
        .tag("cp312-cp312-win_amd64")
        .module("cext", "")
        .build(&prebuilt);
    let wheels = index.wheels_of(
        &[
            "cext",
            "--target",
            "cp312-win_amd64",
            "--find-links",
            prebuilt.to_str().unwrap(),
        ],
        "fixed",
    );
    assert_eq!(wheels, ["cext-1.0-cp312-cp312-win_amd64.whl"]);
}

#[test]
fn an_unsatisfiable_pin_names_both_sides() {
    let index = Index::with(IndexOptions::default(), |served| {
        WheelBuilder::new("app", "1.0")
            .module("app", "")
            .requires_dist("dep>=2")
            .build(served);
        for version in ["1.0", "2.0"] {
            WheelBuilder::new("dep", version)
                .module("dep", "")
                .build(served);
        }
    });
    std::fs::write(index.path("reqs.txt"), "dep==1.0\n").unwrap();
    let stderr = index.create_err(
        &["app==1.0", "-r", "reqs.txt", "--target", LINUX],
        "conflict",
    );
    assert!(stderr.contains("app 1.0 requires dep>=2"), "{stderr}");
    assert!(stderr.contains("dep==1.0"), "{stderr}");
    assert!(stderr.contains(LINUX), "{stderr}");
}

#[test]
fn a_second_create_with_a_warm_cache_fetches_no_file() {
    // A plain index (metadata read from whole wheels) and a PyPI-like one (PEP 658, ranges).
    for options in [
        IndexOptions::default(),
        IndexOptions {
            core_metadata: CoreMetadata::Advertised,
            ranges: true,
            ..IndexOptions::default()
        },
    ] {
        let index = Index::pytest_shaped_with(options.clone());
        let args = ["testapp==8.3.3", "--target", WIN, "--target", LINUX];
        let cold = index.create_ok(&args, "cold");
        let first = index.index.requests().len();
        assert!(
            index
                .index
                .requests()
                .iter()
                .any(|r| r.starts_with("/files/")),
            "{options:?}: the cold run downloads"
        );
        let warm = index.create_ok(&args, "warm");
        let files: Vec<String> = index.index.requests()[first..]
            .iter()
            .filter(|r| r.starts_with("/files/"))
            .cloned()
            .collect();
        assert_eq!(
            files,
            Vec::<String>::new(),
            "{options:?}: the warm run asked for files"
        );
        assert_eq!(
            wheel_files(&unpack(&cold, &index.path("cold-unpacked"))),
            wheel_files(&unpack(&warm, &index.path("warm-unpacked")))
        );
    }
}

#[test]
fn a_source_only_dependency_that_cannot_build_says_why() {
    // Its build backend is on no index: pip's own reason must reach the user.
    let index = Index::with(IndexOptions::default(), |served| {
        let root = served.join("projects/nobuild-1.0");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join("pyproject.toml"),
            "[build-system]\nrequires = [\"no-such-backend\"]\nbuild-backend = \"nsb\"\n",
        )
        .unwrap();
        wagon_test_support::sdist::sdist_tar_gz(&root, served);
    });
    let stderr = index.create_err(&["nobuild", "--target", LINUX], "nobuild");
    assert!(
        stderr.contains("cannot read the metadata of nobuild 1.0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot build nobuild-1.0.tar.gz"),
        "{stderr}"
    );
    assert!(stderr.contains("no-such-backend"), "{stderr}");
}

#[test]
fn wagon_toml_targets_in_uv_spelling_are_the_same_machines() {
    let index = Index::pytest_shaped();
    std::fs::write(
        index.path("wagon.toml"),
        "[create]\ntargets = [\"x86_64-pc-windows-msvc\", \"x86_64-manylinux_2_28\"]\n\
         python-version = \"3.10\"\n",
    )
    .unwrap();
    let archive = index.create_ok(&["testapp==8.3.3"], "configured");
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
    // Python 3.10 on Linux: the old-Python backports, no colorama.
    assert_eq!(
        closure(&manifest, "cp310-manylinux_2_28_x86_64"),
        [
            "exceptiongroup",
            "iniconfig",
            "packaging",
            "pluggy",
            "testapp",
            "tomli"
        ]
    );
}

/// Words after `--` were pip's resolver's. Wagon's resolver refuses them rather than drop them
/// silently (a review found `-- --no-index` ignored, sending the create to the public index);
/// `--no-index` is a flag of its own, and with it no index page is asked for.
#[test]
fn pip_arguments_are_refused_and_no_index_is_a_flag() {
    let index = Index::pytest_shaped();
    let result = crate::common::wagon()
        .args(["create", "testapp==8.3.3", "--index-url"])
        .arg(index.index.simple_url())
        .arg("-o")
        .arg(index.path("dashes"))
        .args(["--", "--no-index", "--extra-index-url"])
        .arg("https://bob:hunter2@corp/simple")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "the arguments after `--` (--no-index --extra-index-url \
             https://bob:****@corp/simple) are pip's"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("--resolver pip"), "{stderr}");

    let before = index.index.requests().len();
    let result = index.create(&["testapp==8.3.3", "--no-index"], &index.path("no-index"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("testapp is not on the index"), "{stderr}");
    assert_eq!(index.index.requests().len(), before, "an index was asked");
}
