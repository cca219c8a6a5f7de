//! Containment against what the environment itself holds: stale journals, planted RECORDs,
//! folders of other projects, links, relative interpreter paths, and wheel members larger than
//! they declare. Attacks one archive can carry by itself are in the hostile corpus (hostile.rs);
//! these need an environment prepared first. Each leaves a sentinel folder beside the
//! environment and checks it byte for byte.

use std::path::{Path, PathBuf};

use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, assert_success, install_into, snapshot, wagon};

/// scratch/{env/venv, sentinel/victim.txt}.
struct Scene {
    scratch: tempfile::TempDir,
    venv: Venv,
}

impl Scene {
    fn new() -> Scene {
        let scratch = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(scratch.path().join("sentinel")).unwrap();
        std::fs::write(scratch.path().join("sentinel/victim.txt"), b"precious\n").unwrap();
        let venv = Venv::at(scratch.path().join("env/venv"), false);
        Scene { scratch, venv }
    }

    fn sentinel(&self) -> PathBuf {
        self.scratch.path().join("sentinel")
    }

    /// An archive of one wheel built from `wheel`, in its own folder.
    fn archive(&self, label: &str, wheel: &WheelBuilder) -> PathBuf {
        let dir = self.scratch.path().join("archives").join(label);
        let built = wheel.build(&dir.join("wheels"));
        let name = built.file_name().unwrap().to_string_lossy().into_owned();
        let parsed: Vec<&str> = name.split('-').collect();
        archive_of(&dir, Format::TarGz, parsed[0], parsed[1], &[built], &[])
    }

    fn install(&self, archive: &Path, extra: &[&str]) -> std::process::Output {
        install_into(archive, &self.venv, extra)
    }
}

#[test]
fn a_planted_journal_is_never_trusted() {
    let scene = Scene::new();
    let archive = scene.archive("demo", &WheelBuilder::new("demo", "1.0").module("demo", ""));
    assert_success(&scene.install(&archive, &[]));
    let site = scene.venv.site_packages();
    let victim = scene.sentinel().join("victim.txt");
    let elsewhere = scene.sentinel().join("moved.txt");
    // The journal shape of the staging folder an earlier Wagon trusted: rolling it back would
    // move the victim away.
    let old_style = serde_json::json!({
        "created_dirs": [],
        "set_aside": [],
        "place": [[elsewhere, victim]],
    });
    std::fs::create_dir_all(site.join(".wagon-staging-evil")).unwrap();
    std::fs::write(
        site.join(".wagon-staging-evil/journal.json"),
        old_style.to_string(),
    )
    .unwrap();
    // Today's shape, and even the lock naming it: its paths still have to pass containment.
    let staging = site.join(".wagon-staging-evil");
    let planted = serde_json::json!({
        "staging": staging,
        "set_aside": [[victim, staging.join("trash/0")]],
        "created_dirs": [],
        "place": [[staging.join("x"), victim]],
    });
    let prefix = scene.venv.root();
    std::fs::write(prefix.join(".wagon-journal-evil.json"), planted.to_string()).unwrap();
    std::fs::write(prefix.join(".wagon-install.lock"), "evil").unwrap();
    let before = snapshot(&scene.sentinel());

    // A no-op re-run, then a real install: each runs recovery first.
    assert_success(&scene.install(&archive, &[]));
    assert_success(&scene.install(&archive, &["--reinstall"]));
    assert_eq!(
        snapshot(&scene.sentinel()),
        before,
        "the sentinel is intact"
    );
    assert!(
        !site.join(".wagon-staging-evil").exists()
            && !prefix.join(".wagon-journal-evil.json").exists(),
        "the planted journal and staging folder were cleared away"
    );
}

#[test]
fn an_installed_record_cannot_steer_an_upgrade_outside() {
    let scene = Scene::new();
    let v1 = scene.archive(
        "v1",
        &WheelBuilder::new("victimdist", "1.0").module("victimdist", "V = 1\n"),
    );
    assert_success(&scene.install(&v1, &[]));
    let site = scene.venv.site_packages();
    // site-packages is scratch/env/venv/lib/python3.X/site-packages: five levels below scratch.
    let climb = "../".repeat(5);
    let record = site.join("victimdist-1.0.dist-info/RECORD");
    let mut text = std::fs::read_to_string(&record).unwrap();
    text.push_str(&format!("{climb}sentinel/victim.txt,,\n"));
    text.push_str(&format!(
        "{},,\n",
        scene.sentinel().join("victim.txt").display()
    ));
    text.push_str("../../../bin/python,,\n");
    std::fs::write(&record, text).unwrap();
    let before = snapshot(&scene.sentinel());

    let v2 = scene.archive(
        "v2",
        &WheelBuilder::new("victimdist", "2.0").module("victimdist", "V = 2\n"),
    );
    let out = scene.install(&v2, &["-u"]);
    assert_success(&out);
    assert_eq!(
        snapshot(&scene.sentinel()),
        before,
        "nothing outside was removed"
    );
    assert!(
        scene.venv.python().exists(),
        "the interpreter is still there"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("leaving") && err.contains("victim.txt"),
        "{err}"
    );
    assert_eq!(scene.venv.installed("victimdist").as_deref(), Some("2.0"));
    assert!(!site.join("victimdist-1.0.dist-info").exists());
}

#[test]
fn pip_is_not_handed_an_installed_record_that_leaves_the_environment() {
    let scene = Scene::new();
    let v1 = scene.archive(
        "v1",
        &WheelBuilder::new("victimdist", "1.0").module("victimdist", "V = 1\n"),
    );
    assert_success(&scene.install(&v1, &[]));
    let record = scene
        .venv
        .site_packages()
        .join("victimdist-1.0.dist-info/RECORD");
    let mut text = std::fs::read_to_string(&record).unwrap();
    text.push_str(&format!("{}sentinel/victim.txt,,\n", "../".repeat(5)));
    std::fs::write(&record, text).unwrap();
    let env_before = snapshot(scene.venv.root());
    let before = snapshot(&scene.sentinel());
    let v2 = scene.archive(
        "v2",
        &WheelBuilder::new("victimdist", "2.0").module("victimdist", "V = 2\n"),
    );
    let out = scene.install(&v2, &["--installer", "pip", "-u"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pip would delete it"), "{err}");
    assert_eq!(snapshot(&scene.sentinel()), before);
    assert_eq!(snapshot(scene.venv.root()), env_before);
}

#[test]
fn a_file_never_replaces_another_projects_folder() {
    let scene = Scene::new();
    let alpha = scene.archive(
        "alpha",
        &WheelBuilder::new("alpha", "1.0").package("shared", "A = 1\n"),
    );
    assert_success(&scene.install(&alpha, &[]));
    let env_before = snapshot(scene.venv.root());
    let clash = scene.archive(
        "beta",
        &WheelBuilder::new("beta", "1.0").file("shared", "not a folder\n"),
    );
    for installer in ["unpack", "pip"] {
        let out = scene.install(&clash, &["--installer", installer]);
        assert_eq!(out.status.code(), Some(1), "{installer}");
        let err = String::from_utf8_lossy(&out.stderr);
        if installer == "unpack" {
            assert!(err.contains("a file cannot replace it"), "{err}");
        }
        assert_eq!(
            snapshot(scene.venv.root()),
            env_before,
            "{installer}: {err}"
        );
    }
}

#[test]
fn nothing_is_installed_through_a_link_in_the_environment() {
    let scene = Scene::new();
    let outside = scene.scratch.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, scene.venv.site_packages().join("linked")).unwrap();
    let before = snapshot(scene.scratch.path());
    let archive = scene.archive(
        "linked",
        &WheelBuilder::new("linked", "1.0").file("linked/evil.py", "EVIL = 1\n"),
    );
    let after_archive = snapshot(scene.scratch.path());
    for installer in ["unpack", "pip"] {
        let out = scene.install(&archive, &["--installer", installer]);
        assert_eq!(out.status.code(), Some(1), "{installer}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("symbolic link"), "{installer}: {err}");
    }
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "outside stays empty"
    );
    let mut changed = snapshot(scene.scratch.path());
    changed.retain(|k, _| !after_archive.contains_key(k) || before.contains_key(k));
    assert_eq!(
        changed.keys().filter(|k| !before.contains_key(*k)).count(),
        0,
        "nothing new outside the archives folder"
    );
}

#[test]
fn relative_target_paths_give_launchers_that_run_from_anywhere() {
    let scene = Scene::new();
    let wheels = crate::common::demo_wheels(&scene.scratch.path().join("wheels"));
    let archive = archive_of(
        scene.scratch.path(),
        Format::TarGz,
        "demo-app",
        "1.0",
        &wheels,
        &[],
    );
    let cwd = scene.scratch.path().join("env");
    for (label, flag, value) in [
        ("venv", "--venv", "venv"),
        ("python", "--python", "./venv/bin/python"),
    ] {
        let out = wagon()
            .arg("install")
            .arg(&archive)
            .args([flag, value, "--reinstall"])
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_success(&out);
        let script = scene.venv.script("demo-app");
        let first = std::fs::read_to_string(&script).unwrap();
        let shebang = first.lines().next().unwrap().to_string();
        assert!(shebang.starts_with("#!/"), "{label}: {shebang}");
        let run = std::process::Command::new(&script)
            .current_dir("/")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&run.stdout).trim(),
            "hello, wagon",
            "{label}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let record = std::fs::read_to_string(
            scene
                .venv
                .site_packages()
                .join("demo_app-1.0.dist-info/RECORD"),
        )
        .unwrap();
        assert!(record.contains("../../../bin/demo-app,"), "{record}");
    }
}

#[test]
fn a_deflate_bomb_wheel_is_stopped_at_its_declared_size() {
    let scratch = tempfile::tempdir().unwrap();
    // The environment on a 1 MiB disk: the bomb inflates to 64 MiB, so anything but stopping
    // at the declared 10 bytes would end in "no space left", not in the refusal.
    let disk = scratch.path().join("disk");
    let _mounted = crate::faults::TinyDisk::mount(&disk, "1m");
    let venv = Venv::at(disk.join("venv"), false);
    let before = snapshot(venv.root());
    let bomb = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/hostile/corpus/deflate-bomb-in-wheel.wgn");
    for installer in ["unpack", "pip"] {
        let out = install_into(&bomb, &venv, &["--installer", installer]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("holds more bytes than"), "{installer}: {err}");
        assert!(!err.contains("No space left"), "{installer}: {err}");
        assert_eq!(snapshot(venv.root()), before, "{installer}");
    }
}
