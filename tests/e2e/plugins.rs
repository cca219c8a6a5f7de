//! Extending Wagon: external `wagon-*` subcommands, executable and dynamic plugins configured in
//! wagon.toml, protocol mismatches, and `wagon create` driven by a repo's wagon.toml alone.

use std::path::{Path, PathBuf};
use std::process::Output;

use wagon_test_support::examples::{example_library, examples_dir};
use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::sdist::{flit_project, wheelhouse, workspace_root};
use wagon_test_support::venv::Venv;

use crate::common::{Format, demo_archive, demo_wheels, wagon};

/// PATH with the example plugins first.
fn path_with_examples() -> std::ffi::OsString {
    let mut dirs = vec![examples_dir().to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn external_subcommands_run_like_cargo_ones() {
    let out = wagon()
        .args(["hello", "a", "b"])
        .env("PATH", path_with_examples())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("hello from wagon-hello: a b"), "{stdout}");
    assert!(
        stdout.contains(&format!("WAGON={}", env!("CARGO_BIN_EXE_wagon"))),
        "{stdout}"
    );

    let failing = wagon()
        .args(["hello", "--exit", "7"])
        .env("PATH", path_with_examples())
        .output()
        .unwrap();
    assert_eq!(
        failing.status.code(),
        Some(7),
        "the exit code passes through"
    );

    // $WAGON_HOME/bin comes before PATH.
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("wagon-hello");
    std::fs::write(&script, "#!/bin/sh\necho from wagon home\n").unwrap();
    make_executable(&script);
    let out = wagon()
        .arg("hello")
        .env("PATH", path_with_examples())
        .env("WAGON_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(text(&out).0, "from wagon home\n");

    let listed = wagon()
        .arg("--list")
        .env("PATH", path_with_examples())
        .output()
        .unwrap();
    let (stdout, _) = text(&listed);
    for name in [
        "create", "install", "validate", "show", "lock", "hello", "dirsrc",
    ] {
        assert!(stdout.contains(name), "--list lacks {name}:\n{stdout}");
    }

    let typo = wagon().arg("shwo").output().unwrap();
    assert_eq!(typo.status.code(), Some(1));
    assert!(
        text(&typo).1.contains("did you mean `show`?"),
        "{}",
        text(&typo).1
    );
}

fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The folder of the Python plugin helper, for PYTHONPATH.
fn python_sdk() -> PathBuf {
    workspace_root().join("sdk-python")
}

/// The `dirsrc` source in Rust (`examples/dirsrc`, on the SDK) and in Python
/// (`sdk-python/examples`, on wagon_plugin.py): one test runs both.
fn rust_dirsrc() -> PathBuf {
    examples_dir().join("wagon-dirsrc")
}

fn python_dirsrc() -> PathBuf {
    python_sdk().join("examples").join("wagon-pydirsrc")
}

/// A repository with a flit project served by the `dirsrc` plugin, packed with the `xor` dynamic
/// compressor, and an index on loopback for the build backend and dependencies.
struct Repo {
    dir: tempfile::TempDir,
    _index: LoopbackIndex,
}

impl Repo {
    fn new(extra_toml: &str) -> Repo {
        Repo::with_dirsrc(&rust_dirsrc(), extra_toml)
    }

    fn with_dirsrc(dirsrc: &Path, extra_toml: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        for entry in std::fs::read_dir(wheelhouse()).unwrap().flatten() {
            std::fs::copy(entry.path(), served.join(entry.file_name())).unwrap();
        }
        demo_wheels(&served);
        flit_project(
            &dir.path().join("projects"),
            "demo-tool",
            "2.0",
            "from demo_lib import greet\n\ndef main():\n    print(greet('plugin'))\n",
            Some(("demo-tool", "demo_tool:main")),
            &["demo-lib"],
        );
        let index = LoopbackIndex::serve(&served);
        let toml = format!(
            "[create]\nsource = \"dirsrc://demo-tool-2.0\"\nformat = \"xor\"\noutput = \"dist\"\n\n\
             [indexes.local]\nurl = \"{}\"\ndefault = true\n\n\
             [plugins.dirsrc]\npath = \"{}\"\nsettings = {{ root = \"projects\" }}\n\n\
             [plugins.xor]\npath = \"{}\"\nkind = \"library\"\n{extra_toml}",
            index.simple_url(),
            dirsrc.display(),
            example_library("wagon_example_xor").display(),
        );
        std::fs::write(dir.path().join("wagon.toml"), toml).unwrap();
        Repo { dir, _index: index }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `wagon` in the repository, able to run Python plugins.
    fn command(&self) -> assert_cmd::Command {
        let mut command = wagon();
        command
            .current_dir(self.path())
            .env("PYTHONPATH", python_sdk());
        command
    }

    fn wagon(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }
}

#[test]
fn create_runs_from_wagon_toml_alone_through_the_rust_dirsrc() {
    create_runs_from_wagon_toml_alone_through(&rust_dirsrc());
}

#[test]
fn create_runs_from_wagon_toml_alone_through_the_python_dirsrc() {
    create_runs_from_wagon_toml_alone_through(&python_dirsrc());
}

/// The journey a source plugin must carry, whatever its language: create from wagon.toml alone,
/// its stderr passed through, the result read back and installed, and its structured error shown.
fn create_runs_from_wagon_toml_alone_through(dirsrc: &Path) {
    let repo = Repo::with_dirsrc(dirsrc, "");
    let out = repo.wagon(&["create"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("dirsrc: serving"),
        "the plugin's stderr passes through: {stderr}"
    );
    let archive = PathBuf::from(stdout.trim());
    assert_eq!(archive.parent().unwrap(), repo.path().join("dist"));
    assert!(
        std::fs::read(&archive).unwrap().starts_with(b"WGXOR1\n"),
        "packed by the dynamic compressor"
    );

    // Read back by its magic bytes, through the same plugin (wagon.toml found from a subfolder).
    let sub = repo.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let shown = repo
        .command()
        .arg("show")
        .arg("--json")
        .arg(&archive)
        .current_dir(&sub)
        .output()
        .unwrap();
    assert!(shown.status.success(), "{}", text(&shown).1);
    let venv = Venv::new(false);
    let installed = repo.wagon(&[
        "install",
        archive.to_str().unwrap(),
        "--venv",
        venv.root().to_str().unwrap(),
    ]);
    assert!(installed.status.success(), "{}", text(&installed).1);
    let run = std::process::Command::new(venv.script("demo-tool"))
        .output()
        .unwrap();
    assert_eq!(text(&run).0, "hello, plugin\n");

    // A structured error from the plugin, shown with its message.
    let out = repo.wagon(&["create", "dirsrc://missing"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out).1;
    assert!(stderr.contains("no project `missing`"), "{stderr}");
    assert!(stderr.contains("(not_found)"), "{stderr}");
}

#[test]
fn flags_beat_environment_beat_the_file() {
    let repo = Repo::new("");
    let name = |out: &Output| {
        PathBuf::from(text(out).0.trim())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let from_file = repo.wagon(&["create", "demo-app==1.0"]);
    assert!(from_file.status.success(), "{}", text(&from_file).1);
    assert!(
        name(&from_file).ends_with(".xor.wgn"),
        "file: {}",
        name(&from_file)
    );
    let from_env = wagon()
        .args(["create", "demo-app==1.0", "-f"])
        .env("WAGON_FORMAT", "zst")
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        name(&from_env).ends_with(".zst.wgn"),
        "env: {}",
        name(&from_env)
    );
    let from_flag = wagon()
        .args(["create", "demo-app==1.0", "-f", "--format", "zip"])
        .env("WAGON_FORMAT", "zst")
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        name(&from_flag).ends_with(".zip.wgn"),
        "flag: {}",
        name(&from_flag)
    );
}

#[test]
fn a_panicking_library_plugin_is_an_error_not_a_crash() {
    let repo = Repo::new("");
    let out = wagon()
        .args(["create", "demo-app==1.0"])
        .env("WAGON_EXAMPLE_XOR_PANIC", "1")
        .current_dir(repo.path())
        .output()
        .unwrap();
    let stderr = text(&out).1;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error exit, not a crash: {stderr}"
    );
    assert!(
        stderr.contains("xor") && stderr.contains("panicked"),
        "{stderr}"
    );
    let dist = repo.path().join("dist");
    let left: Vec<_> = std::fs::read_dir(&dist)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing left in dist: {left:?}");
}

/// `wagon show` of a missing archive with only the configuration `toml` (written as `name` in
/// `dir`): the plugins load first, so their errors are what it reports.
fn show_with_config(dir: &Path, name: &str, toml: &str) -> Output {
    let config = dir.join(name);
    std::fs::write(&config, toml).unwrap();
    wagon()
        .arg("--config")
        .arg(&config)
        .args(["show", "x.wgn"])
        .output()
        .unwrap()
}

#[test]
fn plugin_errors_and_protocol_mismatches_are_clear() {
    // A structured error from the executable plugin.
    let repo = Repo::new("");
    let out = repo.wagon(&["create", "dirsrc://missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("no project `missing`"),
        "{}",
        text(&out).1
    );

    // An executable plugin speaking another protocol version.
    let old = repo.path().join("wagon-old");
    std::fs::write(&old, "#!/bin/sh\nread line\necho '{\"type\":\"hello\",\"protocol\":99,\"name\":\"old\",\"capabilities\":{}}'\n").unwrap();
    make_executable(&old);
    let out = show_with_config(
        repo.path(),
        "old-exe.toml",
        &format!("[plugins.old]\npath = \"{}\"\n", old.display()),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("plugin `old` speaks protocol 99, but this Wagon speaks 1"),
        "{}",
        text(&out).1
    );

    // A library built against another protocol version.
    let out = show_with_config(
        repo.path(),
        "old-lib.toml",
        &format!(
            "[plugins.oldlib]\npath = \"{}\"\nkind = \"library\"\n",
            example_library("wagon_example_old_protocol").display()
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .1
            .contains("plugin `oldlib` speaks protocol 0, but this Wagon speaks 1"),
        "{}",
        text(&out).1
    );

    // A plugin that hangs is stopped at its timeout.
    let slow = repo.path().join("wagon-slow");
    std::fs::write(&slow, "#!/bin/sh\nsleep 30\n").unwrap();
    make_executable(&slow);
    let started = std::time::Instant::now();
    let out = show_with_config(
        repo.path(),
        "slow.toml",
        &format!(
            "[plugins.slow]\npath = \"{}\"\ntimeout = 1\n",
            slow.display()
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("did not answer within 1 s"),
        "{}",
        text(&out).1
    );
    assert!(started.elapsed().as_secs() < 20);
}

/// `wagon ARGS` in `dir` with `toml` as its wagon.toml: (exit code, stderr).
fn with_wagon_toml(dir: &Path, toml: &str, args: &[&str]) -> (Option<i32>, String) {
    std::fs::write(dir.join("wagon.toml"), toml).unwrap();
    let out = wagon().args(args).current_dir(dir).output().unwrap();
    (out.status.code(), text(&out).1)
}

#[test]
fn a_bad_wagon_toml_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = with_wagon_toml(
        dir.path(),
        "[create]\nsource = \".\"\nfromat = \"zip\"\n",
        &["create"],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("wagon.toml") && stderr.contains("line 3") && stderr.contains("fromat"),
        "{stderr}"
    );

    let (_, stderr) = with_wagon_toml(dir.path(), "[create]\nlevel = \"high\"\n", &["create"]);
    assert!(
        stderr.contains("line 2") && stderr.contains("invalid type"),
        "{stderr}"
    );

    let (_, stderr) = with_wagon_toml(
        dir.path(),
        "[indexes.corp]\nurl = \"https://bob:hunter2@pypi.corp/simple\"\n",
        &["create", "x"],
    );
    assert!(stderr.contains("stores credentials"), "{stderr}");
}

/// The `canned` test plugin: it answers what its settings in wagon.toml say.
fn canned_plugin() -> PathBuf {
    workspace_root().join("tests/support/plugins/wagon-canned")
}

/// A project folder whose wagon.toml configures the `canned` plugin with `settings` (TOML under
/// `[plugins.canned.settings]`) and an index on loopback serving the demo wheels, which are also
/// in `wheels/`. Commands run in its subfolder `sub`, so a path relative to the working
/// directory is not one relative to wagon.toml.
struct CannedRepo {
    dir: tempfile::TempDir,
    index: LoopbackIndex,
    /// The demo wheels' file names: demo-app 1.0 (needs demo-lib), demo-lib 1.2, demo-fancy 0.3.
    wheels: Vec<String>,
}

impl CannedRepo {
    fn new() -> CannedRepo {
        let dir = tempfile::tempdir().unwrap();
        let wheels = demo_wheels(&dir.path().join("wheels"))
            .iter()
            .map(|w| w.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let served = dir.path().join("served");
        demo_wheels(&served);
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        let index = LoopbackIndex::serve(&served);
        CannedRepo { dir, index, wheels }
    }

    /// `wagon ARGS` in `sub/`, the plugin answering as `settings` says.
    fn wagon(&self, settings: &str, args: &[&str]) -> Output {
        let toml = format!(
            "[create]\noutput = \"dist\"\n\n[indexes.local]\nurl = \"{}\"\ndefault = true\n\n\
             [plugins.canned]\npath = \"{}\"\n\n{settings}",
            self.index.simple_url(),
            canned_plugin().display()
        );
        std::fs::write(self.dir.path().join("wagon.toml"), toml).unwrap();
        wagon()
            .args(args)
            .current_dir(self.dir.path().join("sub"))
            .env("PYTHONPATH", python_sdk())
            .output()
            .unwrap()
    }

    /// A `wheels` result listing the wheels `relative` (as written in the result).
    fn wheels_result(paths: &[String], extra: &str) -> String {
        let paths: Vec<String> = paths.iter().map(|p| format!("\"{p}\"")).collect();
        format!(
            "[plugins.canned.settings.fetch]\nkind = \"wheels\"\npaths = [{}]\n{extra}",
            paths.join(", ")
        )
    }

    fn asked_for(&self, project: &str) -> bool {
        let page = format!("/simple/{project}/");
        self.index.requests().contains(&page)
    }
}

#[test]
fn a_wheels_result_names_its_package_and_resolves_from_its_wheels_alone() {
    let repo = CannedRepo::new();
    let [app, lib, _fancy] = [0, 1, 2].map(|i| format!("wheels/{}", repo.wheels[i]));

    // Sorted, the dependency comes first: the package is the one named, and relative paths are
    // relative to wagon.toml, not to the working directory.
    let out = repo.wagon(
        &CannedRepo::wheels_result(&[lib.clone(), app.clone()], "package = \"Demo_App\"\n"),
        &["create", "canned://demo"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("canned: fetching canned://demo")
            && stderr.contains("canned: a child process writes to stdout too"),
        "the plugin's stray stdout reaches stderr, not the protocol: {stderr}"
    );
    let archive = PathBuf::from(stdout.trim());
    let shown = wagon()
        .arg("show")
        .arg("--json")
        .arg(&archive)
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["package_name"], "demo-app", "{shown}");
    assert_eq!(shown["package_version"], "1.0", "{shown}");
    assert!(
        repo.index.requests().is_empty(),
        "no index asked: {:?}",
        repo.index.requests()
    );

    // A dependency missing from the wheels is not looked up on an index (the index has it), by
    // either resolver.
    for resolver in ["wagon", "pip"] {
        let out = repo.wagon(
            &CannedRepo::wheels_result(std::slice::from_ref(&app), "package = \"demo-app\"\n"),
            &["create", "canned://demo", "--resolver", resolver],
        );
        let stderr = text(&out).1;
        assert_eq!(out.status.code(), Some(1), "{resolver}: {stderr}");
        assert!(
            stderr.contains("demo-lib") || stderr.contains("demo_lib"),
            "{resolver}: {stderr}"
        );
        if resolver == "wagon" {
            assert!(stderr.contains("so no index was asked"), "{stderr}");
        }
        assert!(
            !repo.asked_for("demo-lib"),
            "{resolver}: {:?}",
            repo.index.requests()
        );
    }

    // Unless the plugin allows indexes.
    let out = repo.wagon(
        &CannedRepo::wheels_result(
            std::slice::from_ref(&app),
            "package = \"demo-app\"\nindexes = true\n",
        ),
        &["create", "canned://demo", "--force"],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(repo.asked_for("demo-lib"), "{:?}", repo.index.requests());
}

#[test]
fn a_wheels_result_without_its_package_is_refused() {
    let repo = CannedRepo::new();
    let [app, lib, _fancy] = [0, 1, 2].map(|i| format!("wheels/{}", repo.wheels[i]));
    let both = [lib.clone(), app.clone()];
    let refused = |settings: &str| {
        let out = repo.wagon(settings, &["create", "canned://demo"]);
        let stderr = text(&out).1;
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("canned"), "names the plugin: {stderr}");
        stderr
    };
    let stderr = refused(&CannedRepo::wheels_result(&both, ""));
    assert!(stderr.contains("missing field `package`"), "{stderr}");
    let stderr = refused(&CannedRepo::wheels_result(&both, "package = \"flask\"\n"));
    assert!(
        stderr.contains(
            "names the package `flask`, but no wheel it lists is of that project (they are of \
             demo-app, demo-lib)"
        ),
        "{stderr}"
    );
    let gone = "wheels/gone-1.0-py3-none-any.whl".to_string();
    let stderr = refused(&CannedRepo::wheels_result(
        &[app, gone],
        "package = \"demo-app\"\n",
    ));
    assert!(
        stderr.contains("gone-1.0-py3-none-any.whl, which does not exist"),
        "{stderr}"
    );
    let stderr = refused("[plugins.canned.settings.fetch]\nkind = \"tarball\"\n");
    assert!(stderr.contains("unknown variant `tarball`"), "{stderr}");
}

#[test]
fn an_installer_plugin_is_held_to_the_plan() {
    let repo = CannedRepo::new();
    let archive = demo_archive(repo.dir.path(), Format::TarGz);
    let venv = Venv::new(false);
    let install = |result: &str| {
        repo.wagon(
            &format!("[plugins.canned.settings.install]\n{result}"),
            &[
                "install",
                archive.to_str().unwrap(),
                "--venv",
                venv.root().to_str().unwrap(),
                "--installer",
                "canned",
            ],
        )
    };
    let out = install("installed = []\n");
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("plugin `canned` did not install demo-lib 1.2, demo-app 1.0")
            || stderr.contains("plugin `canned` did not install demo-app 1.0, demo-lib 1.2"),
        "{stderr}"
    );
    assert!(!stderr.contains("installed demo-app"), "{stderr}");

    let out = install("installed = [\"demo-app==1.0\", \"demo-lib==1.2\", \"six==1.16.0\"]\n");
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("plugin `canned` reported six==1.16.0, which the plan does not hold"),
        "{stderr}"
    );

    let out = install("installed = [\"demo-app==2.0\", \"demo-lib\"]\n");
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("reported demo-app==2.0, but the plan installs demo-app 1.0"),
        "{stderr}"
    );

    // Everything planned, installed or already there.
    let out = install("installed = [\"demo-app==1.0\"]\nunchanged = [\"demo_lib\"]\n");
    assert!(out.status.success(), "{}", text(&out).1);
}
