//! Interrupted and concurrent work: an install killed at every step of its commit (and at random
//! moments) is undone or finished by the next one, never left between; concurrent creates into
//! one folder never tear an archive.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, env_tree, tree, wagon};

/// Every file of the environment with its bytes, but bytecode caches and the install lock.
fn state(venv: &Venv) -> BTreeMap<String, Vec<u8>> {
    tree(venv.root())
        .into_iter()
        .filter(|p| !p.contains("__pycache__") && !p.ends_with(".wagon-install.lock"))
        .filter_map(|p| {
            let path = venv.root().join(&p);
            path.is_file().then(|| (p, std::fs::read(&path).unwrap()))
        })
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    old: std::path::PathBuf,
    new: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let old_wheel = WheelBuilder::new("fa", "1.0")
        .package("fa", "V = 1\n")
        .file("fa/gone_in_2.py", "")
        .console_script("fa", "fa:main")
        .build(&dir.path().join("old"));
    let new_wheels = vec![
        WheelBuilder::new("fa", "2.0")
            .package(
                "fa",
                "import fb\nV = 2\n\ndef main():\n    print('fa', V)\n",
            )
            .file("fa/sub/deep.py", "")
            .console_script("fa", "fa:main")
            .requires_dist("fb")
            .build(&dir.path().join("new")),
        WheelBuilder::new("fb", "1.0")
            .package("fb", "")
            .file("fb-1.0.data/data/share/fb/x.txt", "x")
            .build(&dir.path().join("new")),
    ];
    let old = archive_of(
        &dir.path().join("a1"),
        Format::TarGz,
        "fa",
        "1.0",
        &[old_wheel],
        &[],
    );
    let new = archive_of(
        &dir.path().join("a2"),
        Format::TarGz,
        "fa",
        "2.0",
        &new_wheels,
        &[],
    );
    Fixture {
        _dir: dir,
        old,
        new,
    }
}

fn install(archive: &Path, venv: &Venv) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wagon"));
    command
        .arg("install")
        .arg(archive)
        .arg("--venv")
        .arg(venv.root())
        .arg("-q")
        // The fixtures install an old version, then replace it: an upgrade, said as pip says it.
        .arg("-u")
        .env_remove("VIRTUAL_ENV");
    command
}

#[test]
fn an_install_killed_at_any_step_is_undone_then_redone() {
    let fx = fixture();
    // What "fully installed" looks like.
    let reference = Venv::new(false);
    assert!(install(&fx.old, &reference).status().unwrap().success());
    assert!(install(&fx.new, &reference).status().unwrap().success());
    let installed = state(&reference);

    let mut step = 0;
    loop {
        let venv = Venv::new(false);
        assert!(install(&fx.old, &venv).status().unwrap().success());
        let before = state(&venv);
        let killed = install(&fx.new, &venv)
            .env("WAGON_FAULT_ABORT_AT", step.to_string())
            .status()
            .unwrap();
        if killed.success() {
            // Past the last step: the commit completed.
            assert!(step > 5, "the commit has more than a handful of steps");
            break;
        }
        // The next run recovers first: installing the old archive again (already installed, so
        // nothing else happens) must leave the environment exactly as before.
        assert!(
            install(&fx.old, &venv).status().unwrap().success(),
            "step {step}"
        );
        assert_eq!(
            state(&venv),
            before,
            "step {step}: not rolled back to the state before"
        );
        // And the install then completes normally.
        assert!(
            install(&fx.new, &venv).status().unwrap().success(),
            "step {step}"
        );
        assert_eq!(
            state(&venv).keys().collect::<Vec<_>>(),
            installed.keys().collect::<Vec<_>>(),
            "step {step}"
        );
        assert!(venv.pip_host(&["check"]).status.success(), "step {step}");
        step += 1;
    }
}

#[test]
fn an_install_killed_at_random_moments_is_never_left_between() {
    let fx = fixture();
    for delay_ms in [0, 5, 10, 20, 30, 45, 60, 90] {
        let venv = Venv::new(false);
        assert!(install(&fx.old, &venv).status().unwrap().success());
        let mut child = install(&fx.new, &venv).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert!(
            install(&fx.new, &venv).status().unwrap().success(),
            "after a kill at {delay_ms} ms"
        );
        assert_eq!(venv.installed("fa").as_deref(), Some("2.0"));
        assert!(
            venv.pip_host(&["check"]).status.success(),
            "after a kill at {delay_ms} ms"
        );
        let run = Command::new(venv.script("fa")).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&run.stdout), "fa 2\n");
        assert!(!venv.site_packages().join("fa/gone_in_2.py").exists());
    }
}

#[test]
fn concurrent_creates_into_one_folder_never_tear_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = crate::common::demo_wheels(&dir.path().join("wheels"));
    let requirements = dir.path().join("req.txt");
    std::fs::write(&requirements, "demo-app\n").unwrap();
    let out = dir.path().join("out");
    let children: Vec<_> = (0..3)
        .map(|_| {
            crate::common::wagon_std()
                .args(["create", "-r"])
                .arg(&requirements)
                .args(["--name", "bundle", "--version", "1", "-f", "--find-links"])
                .arg(wheels[0].parent().unwrap())
                .arg("-o")
                .arg(&out)
                .arg("--no-index")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let result = child.wait_with_output().unwrap();
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one archive, no partial files left: {files:?}"
    );
    let validate = wagon()
        .arg("validate")
        .arg(&files[0])
        .arg("--no-install-check")
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
}

/// A small tmpfs mounted for the test's life (root only, as in CI), to fill up on purpose.
pub(crate) struct TinyDisk {
    path: std::path::PathBuf,
}

impl TinyDisk {
    pub(crate) fn mount(path: &Path, size: &str) -> TinyDisk {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs (the tests run as root) failed"
        );
        TinyDisk {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Random (incompressible) bytes, so archives stay as large as their content.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn a_full_disk_gives_a_clear_error_and_leaves_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let big = WheelBuilder::new("big", "1.0")
        .module("big", "")
        .file("big/blob.bin", noise(400_000))
        .build(&dir.path().join("w"));
    let archive = archive_of(
        &dir.path().join("a"),
        Format::TarGz,
        "big",
        "1.0",
        std::slice::from_ref(&big),
        &[],
    );

    // create: the archive does not fit in the output folder.
    let disk = TinyDisk::mount(&dir.path().join("small-out"), "128k");
    let requirements = dir.path().join("req.txt");
    std::fs::write(&requirements, "big\n").unwrap();
    let out = wagon()
        .args(["create", "-r"])
        .arg(&requirements)
        .args(["--name", "big", "--version", "1", "--find-links"])
        .arg(big.parent().unwrap())
        .arg("-o")
        .arg(&disk.path)
        .arg("--no-index")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No space left on device"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tree(&disk.path).is_empty(),
        "a partial archive was left: {:?}",
        tree(&disk.path)
    );
    drop(disk);

    // install: the environment's disk fills up while unpacking.
    let disk = TinyDisk::mount(&dir.path().join("small-env"), "300k");
    let venv = Venv::at(disk.path.join("venv"), false);
    let before = env_tree(venv.root());
    let out = install(&archive, &venv).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No space left on device"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env_tree(venv.root()), before, "the environment changed");
}

#[test]
fn an_unwritable_environment_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let archive = crate::common::demo_archive(dir.path(), Format::TarGz);
    let venv = Venv::new(false);
    let site = venv.site_packages();
    // The immutable attribute stops even root, so the test means the same for every user.
    assert!(
        Command::new("chattr")
            .arg("+i")
            .arg(&site)
            .status()
            .unwrap()
            .success()
    );
    let out = install(&archive, &venv).output();
    let _ = Command::new("chattr").arg("-i").arg(&site).status();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create a staging folder in") && stderr.contains("site-packages"),
        "{stderr}"
    );
    assert_eq!(venv.installed("demo-app"), None);
}
