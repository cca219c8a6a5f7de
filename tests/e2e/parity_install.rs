//! What wagon 1.0 users expect of install-side options, kept (issue 14): create-time `-r`
//! projects are roots, `install --with`/`-r` add projects of the archive, `--exclude` takes
//! projects from the environment, `--extra` adds, `-u` means pip's `-U`, and what install says
//! matches what it did.

use std::path::{Path, PathBuf};
use std::process::Output;

use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, assert_success, demo_wheels, install_into, wagon};

/// A loopback index with the demo wheels, an older demo-app, a standalone `demo-side`, an old
/// `demo-lib`, and `demo-multi` whose extras `a` and `b` pull demo-fancy and demo-side.
struct World {
    dir: tempfile::TempDir,
    index: LoopbackIndex,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        demo_wheels(&served);
        WheelBuilder::new("demo-app", "0.9")
            .module("demo_app", "def main():\n    print('old')\n")
            .build(&served);
        WheelBuilder::new("demo-side", "1.0")
            .module("demo_side", "SIDE = 1\n")
            .build(&served);
        WheelBuilder::new("demo-multi", "1.0")
            .module("demo_multi", "")
            .requires_dist("demo-fancy; extra == \"a\"")
            .requires_dist("demo-side; extra == \"b\"")
            .provides_extra("a")
            .provides_extra("b")
            .build(&served);
        let index = LoopbackIndex::serve(&served);
        World { dir, index }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A served wheel, by file-name prefix.
    fn served(&self, prefix: &str) -> PathBuf {
        std::fs::read_dir(self.path("served"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap()
    }

    fn create(&self, args: &[&str], out: &str) -> Output {
        wagon()
            .arg("create")
            .args(args)
            .arg("--index-url")
            .arg(self.index.simple_url())
            .arg("-o")
            .arg(self.path(out))
            .output()
            .unwrap()
    }

    fn create_ok(&self, args: &[&str], out: &str) -> PathBuf {
        let result = self.create(args, out);
        assert_success(&result);
        PathBuf::from(String::from_utf8_lossy(&result.stdout).trim())
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn manifest(archive: &Path) -> serde_json::Value {
    let out = wagon()
        .args(["show", "--json"])
        .arg(archive)
        .output()
        .unwrap();
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The archive's `pylock.toml`, as text.
fn lock_text(archive: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    crate::common::unpack_by_hand(archive, dir.path());
    let top = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    std::fs::read_to_string(top.join("pylock.toml")).unwrap()
}

/// Finding 1: the projects of create-time `-r` files were packed but never installed.
#[test]
fn create_time_requirements_are_roots_recorded_and_installed() {
    let world = World::new();
    let requirements = world.path("reqs.txt");
    std::fs::write(&requirements, "demo-side>=1\n").unwrap();
    let archive = world.create_ok(
        &["demo-app==1.0", "-r", requirements.to_str().unwrap()],
        "out",
    );
    assert_eq!(
        manifest(&archive)["root_packages"],
        serde_json::json!(["demo-app", "demo-side>=1"])
    );
    let lock = lock_text(&archive);
    assert!(lock.contains("name = \"demo-side\""), "{lock}");
    assert!(
        lock.contains("[tool.wagon]") && lock.contains("\"demo-side>=1\""),
        "{lock}"
    );
    let venv = Venv::new(false);
    assert_success(&install_into(&archive, &venv, &[]));
    assert_eq!(venv.installed("demo-app").as_deref(), Some("1.0"));
    assert_eq!(venv.installed("demo-side").as_deref(), Some("1.0"));

    let help = wagon().args(["create", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("installed with it"), "{help}");
}

/// Finding 1 and 5: `install --with NAME[==V]` and `install -r FILE` add projects of the
/// archive's wheels; a wagon 1.0 archive still installs its package and closure alone.
#[test]
fn install_with_and_requirement_files_add_projects_of_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let mut wheels = demo_wheels(&dir.path().join("wheelhouse"));
    wheels.push(
        WheelBuilder::new("demo-side", "1.0")
            .module("demo_side", "SIDE = 1\n")
            .build(&dir.path().join("wheelhouse")),
    );
    let archive = archive_of(
        dir.path(),
        Format::LegacyZip,
        "demo-app",
        "1.0",
        &wheels,
        &[],
    );
    let plain = Venv::new(false);
    assert_success(&install_into(&archive, &plain, &[]));
    assert_eq!(plain.installed("demo-lib").as_deref(), Some("1.2"));
    assert_eq!(
        plain.installed("demo-side"),
        None,
        "not a root of a 1.0 archive"
    );

    let with = Venv::new(false);
    assert_success(&install_into(&archive, &with, &["--with", "demo-side"]));
    assert_eq!(with.installed("demo-side").as_deref(), Some("1.0"));

    let requirements = dir.path().join("more.txt");
    std::fs::write(&requirements, "# extra tools\ndemo-side==1.0\n").unwrap();
    let from_file = Venv::new(false);
    assert_success(&install_into(
        &archive,
        &from_file,
        &["-r", requirements.to_str().unwrap()],
    ));
    assert_eq!(from_file.installed("demo-side").as_deref(), Some("1.0"));

    let unknown = install_into(&archive, &Venv::new(false), &["--with", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = stderr(&unknown);
    assert!(
        err.contains("no project `nope`") && err.contains("demo-lib 1.2, demo-side 1.0"),
        "{err}"
    );
    let version = install_into(&archive, &Venv::new(false), &["--with", "demo-side==9"]);
    assert_eq!(version.status.code(), Some(1));
    let err = stderr(&version);
    assert!(
        err.contains("`demo-side==9`") && err.contains("it holds demo-side 1.0"),
        "{err}"
    );
}

/// Finding 2: an archive made with `--exclude` installs where the environment has what was left
/// out, and refuses, naming each requirement, where it has not.
#[test]
fn excluded_projects_are_taken_from_the_environment() {
    let world = World::new();
    let archive = world.create_ok(&["demo-app==1.0", "--exclude", "Demo_Lib"], "out");
    let meta = manifest(&archive);
    assert_eq!(meta["excluded_projects"], serde_json::json!(["demo-lib"]));
    let lock = lock_text(&archive);
    assert!(
        lock.contains("excluded = [\"demo-lib\"]") && !lock.contains("name = \"demo-lib\""),
        "{lock}"
    );

    for installer in ["unpack", "pip"] {
        let empty = Venv::new(false);
        let refused = install_into(&archive, &empty, &["--installer", installer]);
        assert_eq!(refused.status.code(), Some(1), "{installer}");
        let err = stderr(&refused);
        assert!(
            err.contains("`demo-lib>=1` (required by demo-app 1.0): it is not installed"),
            "{installer}: {err}"
        );
        assert_eq!(empty.installed("demo-app"), None);

        let provided = Venv::new(false);
        provided.pip_install_host(&["--no-index", world.served("demo_lib-1.2").to_str().unwrap()]);
        assert_success(&install_into(
            &archive,
            &provided,
            &["--installer", installer],
        ));
        let run = std::process::Command::new(provided.script("demo-app"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&run.stdout), "hello, wagon\n");
    }

    let dir = tempfile::tempdir().unwrap();
    let old_lib = WheelBuilder::new("demo-lib", "0.5")
        .module("demo_lib", "")
        .build(dir.path());
    let too_old = Venv::new(false);
    too_old.pip_install_host(&["--no-index", old_lib.to_str().unwrap()]);
    let refused = install_into(&archive, &too_old, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.contains("`demo-lib>=1` (required by demo-app 1.0): demo-lib 0.5 is installed"),
        "{err}"
    );
}

/// Finding 2: a name matching nothing, and the package itself, are errors at create.
#[test]
fn excluding_a_typo_or_the_package_itself_is_refused() {
    let world = World::new();
    let typo = world.create(&["demo-app==1.0", "--exclude", "demo-lbi"], "typo");
    assert_eq!(typo.status.code(), Some(1));
    let err = stderr(&typo);
    assert!(
        err.contains("--exclude demo-lbi matches no project") && err.contains("demo-app, demo-lib"),
        "{err}"
    );
    let itself = world.create(&["demo-app==1.0", "--exclude", "demo-app"], "itself");
    assert_eq!(itself.status.code(), Some(1));
    assert!(
        stderr(&itself).contains("names the package itself"),
        "{}",
        stderr(&itself)
    );
}

/// Finding 4: `--extra` adds to the archive's extras; an unknown one is an error listing the
/// known ones; a known one whose wheels were not packed says so.
#[test]
fn extras_add_to_the_archives_and_unknown_or_unpacked_ones_are_explained() {
    let world = World::new();
    let both = world.create_ok(&["demo-multi[a,b]==1.0"], "both");
    let venv = Venv::new(false);
    assert_success(&install_into(&both, &venv, &["--extra", "a"]));
    assert_eq!(venv.installed("demo-fancy").as_deref(), Some("0.3"));
    assert_eq!(
        venv.installed("demo-side").as_deref(),
        Some("1.0"),
        "the archive's extra b stays"
    );

    let unknown = install_into(&both, &Venv::new(false), &["--extra", "zzz"]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = stderr(&unknown);
    assert!(
        err.contains("demo-multi has no extra `zzz` (its extras: a, b)"),
        "{err}"
    );

    let only_a = world.create_ok(&["demo-multi[a]==1.0"], "only-a");
    let unpacked = install_into(&only_a, &Venv::new(false), &["--extra", "b"]);
    assert_eq!(unpacked.status.code(), Some(1));
    let err = stderr(&unpacked);
    assert!(
        err.contains("made without the wheels of extra `b` of demo-multi")
            && err.contains("`demo-side")
            && !err.contains("--exclude"),
        "{err}"
    );
}

/// Finding 5: without `-u` another installed version is neither replaced nor kept silently;
/// with it, it is replaced — with either installer.
#[test]
fn upgrade_means_what_pips_means_for_both_installers() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(
        dir.path(),
        Format::TarGz,
        "demo-app",
        "1.0",
        &demo_wheels(&dir.path().join("wheelhouse")),
        &[],
    );
    for installer in ["unpack", "pip"] {
        let venv = Venv::new(false);
        venv.pip_install_host(&["--no-index", world.served("demo_app-0.9").to_str().unwrap()]);
        let refused = install_into(&archive, &venv, &["--installer", installer]);
        assert_eq!(refused.status.code(), Some(1), "{installer}");
        let err = stderr(&refused);
        assert!(
            err.contains("demo-app 0.9 is installed; the archive has 1.0")
                && err.contains("-u/--upgrade"),
            "{installer}: {err}"
        );
        assert_eq!(venv.installed("demo-app").as_deref(), Some("0.9"));
        assert_eq!(
            venv.installed("demo-lib"),
            None,
            "{installer}: nothing installed"
        );

        assert_success(&install_into(
            &archive,
            &venv,
            &["--installer", installer, "-u"],
        ));
        assert_eq!(
            venv.installed("demo-app").as_deref(),
            Some("1.0"),
            "{installer}"
        );
        // The same version again is a no-op, with or without -u.
        for extra in [&[][..], &["-u"][..]] {
            let again = install_into(
                &archive,
                &venv,
                &[&["--installer", installer][..], extra].concat(),
            );
            assert_success(&again);
            assert!(
                stderr(&again).contains("nothing to install"),
                "{installer} {extra:?}: {}",
                stderr(&again)
            );
        }
    }
}

/// Finding 6: a no-op reinstall says nothing was installed, as `--json` does; counts are
/// plural only when they should be.
#[test]
fn what_install_says_matches_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_of(
        dir.path(),
        Format::TarGz,
        "demo-app",
        "1.0",
        &demo_wheels(&dir.path().join("wheelhouse")),
        &[],
    );
    let venv = Venv::new(false);
    let first = install_into(&archive, &venv, &[]);
    assert_success(&first);
    assert!(
        stderr(&first).contains("installed demo-app 1.0 (2 wheels) into"),
        "{}",
        stderr(&first)
    );
    let again = install_into(&archive, &venv, &[]);
    assert_success(&again);
    assert!(
        stderr(&again).starts_with("nothing to install: demo-app 1.0 already installed in"),
        "{}",
        stderr(&again)
    );
    let json = install_into(&archive, &venv, &["--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["installed"], serde_json::json!([]));

    let single = archive_of(
        &dir.path().join("single"),
        Format::TarGz,
        "demo-side",
        "1.0",
        &[WheelBuilder::new("demo-side", "1.0")
            .module("demo_side", "")
            .build(&dir.path().join("single-wheel"))],
        &[],
    );
    let out = install_into(&single, &venv, &[]);
    assert_success(&out);
    assert!(
        stderr(&out).contains("installed demo-side 1.0 (1 wheel) into"),
        "{}",
        stderr(&out)
    );
    // Partly installed: the count is what was installed, and the rest is said.
    let fresh = Venv::new(false);
    fresh.pip_install_host(&[
        "--no-index",
        demo_wheels(&dir.path().join("again"))[1].to_str().unwrap(),
    ]);
    let partly = install_into(&archive, &fresh, &[]);
    assert_success(&partly);
    assert!(
        stderr(&partly).contains("installed demo-app 1.0 (1 wheel; 1 already installed) into"),
        "{}",
        stderr(&partly)
    );
}
