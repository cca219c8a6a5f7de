//! `wagon create` from every kind of source, each archive installed into a fresh venv and used.
//! A loopback index serves the fixture wheels, sdists and GitHub tarballs; nothing leaves
//! 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::sdist::{
    flit_project, sdist_tar_gz, setuptools_project, tar_gz_dir, wheelhouse, workspace_root,
};
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{demo_wheels, wagon};

/// A package index on loopback holding the build backends, the demo wheels, a flit project's
/// sdist and its GitHub tarball.
struct World {
    dir: tempfile::TempDir,
    index: LoopbackIndex,
}

const TOOL_SOURCE: &str = "from demo_lib import greet\n\ndef main():\n    print(greet('tool'))\n";

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        for entry in std::fs::read_dir(wheelhouse()).unwrap().flatten() {
            std::fs::copy(entry.path(), served.join(entry.file_name())).unwrap();
        }
        demo_wheels(&served);
        WheelBuilder::new("demo-app", "0.9")
            .module("demo_app", "def main():\n    print('old')\n")
            .build(&served);
        // A flit project, as an sdist on the index and as a GitHub tarball.
        let projects = dir.path().join("projects");
        let tool = flit_project(
            &projects,
            "demo-tool",
            "2.0",
            TOOL_SOURCE,
            Some(("demo-tool", "demo_tool:main")),
            &["demo-lib>=1"],
        );
        sdist_tar_gz(&tool, &served);
        let github = served.join("github/acme/demo-tool");
        std::fs::create_dir_all(&github).unwrap();
        tar_gz_dir(&tool, "acme-demo-tool-1a2b3c4", &github.join("v2.0.tar.gz"));
        let index = LoopbackIndex::serve(&served);
        World { dir, index }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `wagon create ARGS --index-url LOOPBACK -o OUT`, isolated from the user's pip config.
    fn create(&self, args: &[&str], out: &Path) -> Output {
        wagon()
            .arg("create")
            .args(args)
            .arg("--index-url")
            .arg(self.index.simple_url())
            .arg("-o")
            .arg(out)
            .output()
            .unwrap()
    }

    /// Creates an archive and returns its path (the one line create prints).
    fn create_ok(&self, args: &[&str], out: &str) -> PathBuf {
        let out = self.path(out);
        let result = self.create(args, &out);
        assert!(
            result.status.success(),
            "create {args:?}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let path = PathBuf::from(String::from_utf8_lossy(&result.stdout).trim());
        assert!(path.is_file(), "{path:?}");
        path
    }
}

/// Installs `archive` into a fresh venv and runs `script`, returning what it printed.
fn install_and_run(archive: &Path, script: &str) -> (Venv, String) {
    let venv = Venv::new(false);
    let out = wagon()
        .arg("install")
        .arg(archive)
        .arg("--venv")
        .arg(venv.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install {archive:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(venv.script(script)).output().unwrap();
    assert!(run.status.success(), "{script}: {run:?}");
    let printed = String::from_utf8_lossy(&run.stdout).into_owned();
    (venv, printed)
}

fn manifest(archive: &Path) -> serde_json::Value {
    let out = wagon()
        .args(["show", "--json"])
        .arg(archive)
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn from_pypi_requirements() {
    let world = World::new();
    for (spec, out) in [("demo-app", "plain"), ("demo-app==1.0", "pinned")] {
        let archive = world.create_ok(&[spec], out);
        let meta = manifest(&archive);
        assert_eq!(
            meta["package_name"], "demo-app",
            "{spec}: the name comes from the built wheel"
        );
        assert_eq!(meta["package_version"], "1.0", "{spec}: the newest version");
        assert_eq!(meta["package_source"], spec);
        assert_eq!(meta["supported_platform"], "any");
        let (venv, printed) = install_and_run(&archive, "demo-app");
        assert_eq!(printed, "hello, wagon\n");
        assert_eq!(venv.installed("demo-fancy"), None);
    }
    let archive = world.create_ok(&["demo-app[fancy]>=1"], "extras");
    let meta = manifest(&archive);
    assert!(
        meta["wheels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("demo_fancy-"))
    );
}

#[test]
fn from_a_pyproject_only_project_and_its_sdist() {
    let world = World::new();
    let projects = world.path("local");
    let tool = flit_project(
        &projects,
        "demo-tool",
        "2.0",
        TOOL_SOURCE,
        Some(("demo-tool", "demo_tool:main")),
        &["demo-lib>=1"],
    );
    let from_dir = world.create_ok(&[tool.to_str().unwrap()], "dir");
    assert_eq!(manifest(&from_dir)["package_version"], "2.0");
    assert_eq!(install_and_run(&from_dir, "demo-tool").1, "hello, tool\n");

    let sdist = sdist_tar_gz(&tool, &world.path("sdists"));
    let from_sdist = world.create_ok(&[sdist.to_str().unwrap()], "sdist");
    assert_eq!(install_and_run(&from_sdist, "demo-tool").1, "hello, tool\n");
}

#[test]
fn from_a_setup_py_project() {
    let world = World::new();
    let project = setuptools_project(
        &world.path("local"),
        "demo-legacy",
        "3.1",
        TOOL_SOURCE,
        Some(("demo-legacy", "demo_legacy:main")),
        &["demo-lib>=1"],
    );
    assert!(!project.join("pyproject.toml").exists());
    let archive = world.create_ok(&[project.to_str().unwrap()], "out");
    let meta = manifest(&archive);
    assert_eq!(meta["package_name"], "demo-legacy");
    assert_eq!(meta["package_version"], "3.1");
    assert_eq!(install_and_run(&archive, "demo-legacy").1, "hello, tool\n");
}

#[test]
fn from_urls() {
    let world = World::new();
    let http = world.index.static_url("demo-tool-2.0.tar.gz");
    let archive = world.create_ok(&[&http], "http");
    assert_eq!(install_and_run(&archive, "demo-tool").1, "hello, tool\n");

    let file_url = format!(
        "file://{}",
        world.path("served/demo-tool-2.0.tar.gz").display()
    );
    let archive = world.create_ok(&[&file_url], "file");
    assert_eq!(manifest(&archive)["package_source"], file_url.as_str());
}

#[test]
fn from_github_at_a_ref() {
    let world = World::new();
    let out = world.path("gh");
    let result = wagon()
        .args(["create", "gh:acme/demo-tool@v2.0", "--github-api-url"])
        .arg(world.index.url())
        .arg("--index-url")
        .arg(world.index.simple_url())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let archive = PathBuf::from(String::from_utf8_lossy(&result.stdout).trim());
    assert_eq!(install_and_run(&archive, "demo-tool").1, "hello, tool\n");
    assert!(
        world
            .index
            .requests()
            .iter()
            .any(|r| r == "/repos/acme/demo-tool/tarball/v2.0")
    );

    let result = wagon()
        .args([
            "create",
            "https://github.com/acme/demo-tool/tree/v2.0",
            "--index-url",
        ])
        .arg(world.index.simple_url())
        .arg("-o")
        .arg(world.path("gh-url"))
        .env("WAGON_GITHUB_API_URL", world.index.url())
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn from_requirements_files_alone() {
    let world = World::new();
    let requirements = world.path("requirements.txt");
    std::fs::write(&requirements, "demo-app==1.0\ndemo-fancy\n").unwrap();
    let archive = world.create_ok(
        &[
            "-r",
            requirements.to_str().unwrap(),
            "--name",
            "bundle",
            "--version",
            "2024.1",
        ],
        "bundle",
    );
    let meta = manifest(&archive);
    assert_eq!(meta["package_name"], "bundle");
    assert_eq!(meta["package_version"], "2024.1");
    assert!(
        archive
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bundle-2024.1-")
    );
    let (venv, printed) = install_and_run(&archive, "demo-app");
    assert_eq!(printed, "hello, wagon\n");
    assert!(venv.can_import("demo_fancy"));
}

#[test]
fn options_as_wagon_one_users_know_them() {
    let world = World::new();
    let extra = world.path("site.yaml");
    std::fs::write(&extra, "answer: 42\n").unwrap();
    let keep = world.path("kept");
    let archive = world.create_ok(
        &[
            "demo-app==1.0",
            "--pyver",
            "py3",
            "--pyver",
            "312",
            "--build-tag",
            "7",
            "--add-file",
            extra.to_str().unwrap(),
            "--keep-wheels",
            keep.to_str().unwrap(),
            "--exclude",
            "demo-lib",
        ],
        "opts",
    );
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(
        name, "demo_app-1.0-7-py3.py312-none-any.wgn",
        "py3 stays py3"
    );
    let meta = manifest(&archive);
    assert_eq!(
        meta["excluded_wheels"],
        serde_json::json!(["demo_lib-1.2-py3-none-any.whl"])
    );
    assert_eq!(meta["files"], serde_json::json!(["site.yaml"]));
    assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 1);
    // Excluding a needed dependency makes validation fail, naming it.
    let validate = wagon().arg("validate").arg(&archive).output().unwrap();
    assert_eq!(validate.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&validate.stderr).contains("demo-lib"));
}

#[test]
fn same_inputs_give_byte_identical_archives_in_every_format() {
    let world = World::new();
    for format in ["gz", "zst", "zip"] {
        let a = world.create_ok(
            &["demo-app==1.0", "--format", format],
            &format!("{format}-a"),
        );
        let b = world.create_ok(
            &["demo-app==1.0", "--format", format],
            &format!("{format}-b"),
        );
        assert_eq!(a.file_name(), b.file_name());
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "{format}: archives differ"
        );
    }
}

#[test]
fn force_is_checked_before_any_build_work() {
    let world = World::new();
    let archive = world.create_ok(&["demo-app==1.0"], "out");
    let before = world.index.requests().len();
    let again = world.create(&["demo-app==1.0"], &world.path("out"));
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists; pass --force"));
    assert_eq!(
        world.index.requests().len(),
        before,
        "no index request before refusing"
    );
    let forced = world.create(&["demo-app==1.0", "--force"], &world.path("out"));
    assert!(forced.status.success());
    assert!(archive.is_file());
}

#[test]
fn created_archives_install_by_hand_and_with_wagon_one() {
    let world = World::new();
    for format in ["gz", "zip"] {
        let archive = world.create_ok(&["demo-app==1.0", "--format", format], format);
        // By hand: unpack, then plain pip against the wheels folder.
        let unpacked = world.path(&format!("unpacked-{format}"));
        std::fs::create_dir_all(&unpacked).unwrap();
        crate::common::unpack_by_hand(&archive, &unpacked);
        let venv = Venv::new(false);
        let wheels = unpacked.join("demo-app/wheels");
        venv.pip_install_host(&[
            "--no-index",
            "--find-links",
            wheels.to_str().unwrap(),
            "demo-app",
        ]);
        assert_eq!(
            venv.installed("demo-app").as_deref(),
            Some("1.0"),
            "{format}: by hand"
        );

        // The original wagon 1.0.3 installs into the interpreter it runs under.
        let wagon_one = Venv::new(true);
        let site = workspace_root().join("target/compat/wagon-1.0.3/lib");
        let site = std::fs::read_dir(&site)
            .unwrap_or_else(|_| panic!("no wagon 1.0.3 at {}: run .ci/setup", site.display()))
            .flatten()
            .next()
            .unwrap()
            .path()
            .join("site-packages");
        let run = wagon_one.try_run(&[
            "-c",
            "import sys; sys.path.append(sys.argv[1]); from wagon import main; sys.argv = ['wagon', 'install', sys.argv[2]]; sys.exit(main())",
            site.to_str().unwrap(),
            archive.to_str().unwrap(),
        ]);
        assert!(
            run.status.success(),
            "{format}: wagon 1.0.3 install: {run:?}"
        );
        assert_eq!(
            wagon_one.installed("demo-app").as_deref(),
            Some("1.0"),
            "{format}: wagon 1.0.3"
        );
    }
}

#[test]
fn bad_sources_fail_clearly_and_leave_no_archive() {
    let world = World::new();
    let broken = world.path("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("pyproject.toml"),
        "[build-system]\nrequires = [\"flit_core>=3.2,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n[project]\nname = \"broken\"\n",
    )
    .unwrap();
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "unknown package",
            vec!["no-such-package-anywhere".into()],
            "no-such-package-anywhere is not on the index",
        ),
        (
            "unreachable URL",
            vec!["http://127.0.0.1:9/demo-1.0.tar.gz".into()],
            "cannot download http://127.0.0.1:9/demo-1.0.tar.gz",
        ),
        (
            "missing GitHub ref",
            vec![
                "gh:acme/demo-tool@v9.9".into(),
                "--github-api-url".into(),
                world.index.url(),
            ],
            "GitHub has no repository acme/demo-tool at v9.9",
        ),
        (
            "project that fails to build",
            vec![broken.display().to_string()],
            "failed",
        ),
        (
            "missing requirements file",
            vec!["demo-app".into(), "-r".into(), "nope.txt".into()],
            "requirements file nope.txt does not exist",
        ),
        (
            "missing file to add",
            vec!["demo-app".into(), "--add-file".into(), "nope.yaml".into()],
            "file to add nope.yaml does not exist",
        ),
        ("typo'd path", vec!["./demo-tol".into()], "does not exist"),
        (
            "not a source at all",
            vec!["not a package!".into()],
            "no source plugin understands",
        ),
    ];
    for (name, args, expected) in cases {
        let out_dir = world.path(&format!("out-{}", name.replace(' ', "-")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = world.create(&args, &out_dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected `{expected}` in:\n{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(&out_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{name}: left {left:?}");
    }
}

#[test]
fn wheels_for_two_platforms_are_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = vec![
        WheelBuilder::new("mixed-a", "1.0")
            .tag("cp311-cp311-manylinux_2_17_x86_64")
            .build(dir.path()),
        WheelBuilder::new("mixed-b", "1.0")
            .tag("cp311-cp311-win_amd64")
            .build(dir.path()),
        WheelBuilder::new("mixed-c", "1.0").build(dir.path()),
    ];
    let request = wagon_core::pack::PackRequest {
        package_name: "mixed-a".into(),
        package_version: "1.0".into(),
        python_tags: vec!["py3".into()],
        wheels,
        ..Default::default()
    };
    let Err(err) = wagon_core::pack::prepare(&request) else {
        panic!("wheels for two platforms must be refused")
    };
    let err = err.to_string();
    assert!(err.contains("different platforms"), "{err}");
    assert!(
        err.contains("linux_x86_64: mixed_a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        "{err}"
    );
    assert!(
        err.contains("win_amd64: mixed_b-1.0-cp311-cp311-win_amd64.whl"),
        "{err}"
    );
}

/// Index and source URLs may carry passwords: none reaches the output, the `-v` log, the
/// archive's package.json, or the arguments of the pip process (readable by every local user).
#[test]
fn credentials_stay_out_of_output_logs_archives_and_pip_arguments() {
    let world = World::new();
    let argv_log = world.path("argv.log");
    let wrapper = world.path("python-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            argv_log.display(),
            wagon_test_support::python::python3().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let with_password =
        |url: &str, password: &str| url.replacen("://", &format!("://bob:{password}@"), 1);
    let source = with_password(&world.index.static_url("demo-tool-2.0.tar.gz"), "hunter2");
    let index = with_password(&world.index.simple_url(), "s3cret");
    let out = world.path("secret-out");
    let result = wagon()
        .args(["-v", "create"])
        .arg(&source)
        .arg("--index-url")
        .arg(&index)
        .arg("--python")
        .arg(&wrapper)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(result.status.success(), "{shown}");
    for secret in ["hunter2", "s3cret"] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
    }
    let archive = PathBuf::from(String::from_utf8_lossy(&result.stdout).trim());
    let recorded = manifest(&archive)["package_source"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!recorded.contains("hunter2"), "{recorded}");
    assert!(recorded.contains("bob:****@"), "{recorded}");
    let argv = std::fs::read_to_string(&argv_log).unwrap();
    assert!(argv.contains("-m pip wheel"), "{argv}");
    for secret in ["hunter2", "s3cret"] {
        assert!(
            !argv.contains(secret),
            "{secret} in pip's arguments:\n{argv}"
        );
    }

    // A failing download names the URL without its password.
    let missing = with_password(&world.index.static_url("missing-1.0.tar.gz"), "hunter2");
    let result = world.create(&[&missing], &world.path("missing-out"));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains("bob:****@"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// uv's parser mends sloppy `Requires-Python` it meets in other people's metadata and logs a
/// warning each time: noise for the user at the default level, shown with `-v`.
#[test]
fn mended_metadata_is_logged_with_v_not_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    WheelBuilder::new("sloppy-meta", "1.0")
        .module("sloppy_meta", "")
        .requires_python(">=3.5,")
        .build(&served);
    let index = LoopbackIndex::serve(&served);
    for (verbose, shown) in [(false, false), (true, true)] {
        let mut command = wagon();
        command
            .args([
                "create",
                "sloppy-meta==1.0",
                "-f",
                "--no-cache",
                "--index-url",
            ])
            .arg(index.simple_url())
            .arg("-o")
            .arg(dir.path().join("out"));
        if verbose {
            command.arg("-v");
        }
        let out = command.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert_eq!(err.contains("Fixing invalid"), shown, "-v {verbose}: {err}");
    }
}
