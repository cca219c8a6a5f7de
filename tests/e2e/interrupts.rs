//! Interrupted and killed runs leave nothing behind: SIGINT and SIGTERM clean up at once, and the
//! leftovers of SIGKILLed runs are swept by the next run. Also: scratch holds no `files/*`, and
//! `get-file` streams.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wagon_test_support::venv::Venv;

use crate::common::{Format, archive_of, assert_success, demo_wheels, wagon_std};

/// Cheap incompressible bytes, so archives and packing stay as slow as their size.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Names in `dir` starting with `prefix`.
fn named(dir: &Path, prefix: &str) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect();
    found.sort();
    found
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A private `$TMPDIR`, an output folder, and the fixtures to create and install offline.
struct Scene {
    _dir: tempfile::TempDir,
    tmp: PathBuf,
    out: PathBuf,
    wheelhouse: PathBuf,
    requirements: PathBuf,
    big: PathBuf,
    archive: PathBuf,
}

impl Scene {
    fn new(big: usize) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        let wheelhouse = dir.path().join("wheelhouse");
        let wheels = demo_wheels(&wheelhouse);
        let requirements = dir.path().join("req.txt");
        std::fs::write(&requirements, "demo-app\n").unwrap();
        let bytes = noise(big);
        let big = dir.path().join("big.bin");
        std::fs::write(&big, &bytes).unwrap();
        // Stored zip: the test writes it fast; wagon's walk still hashes every byte.
        let archive = archive_of(
            &dir.path().join("a"),
            Format::Zip,
            "demo-app",
            "1.0",
            &wheels,
            &[("big.bin", bytes)],
        );
        Scene {
            _dir: dir,
            tmp,
            out,
            wheelhouse,
            requirements,
            big,
            archive,
        }
    }

    fn command(&self) -> Command {
        let mut command = wagon_std();
        command
            .env("TMPDIR", &self.tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `wagon create` from the local wheelhouse, packing `big` (so packing takes a while).
    fn create(&self, with_big: bool) -> Command {
        let mut command = self.command();
        command
            .args(["create", "-f", "-r"])
            .arg(&self.requirements)
            .args(["--name", "demo-app", "--version", "1.0", "--find-links"])
            .arg(&self.wheelhouse)
            .arg("-o")
            .arg(&self.out);
        if with_big {
            command.arg("--add-file").arg(&self.big);
        }
        command.arg("--no-index");
        command
    }

    fn install(&self, venv: &Venv) -> Command {
        let mut command = self.command();
        command
            .arg("install")
            .arg(&self.archive)
            .arg("--python")
            .arg(venv.python());
        command
    }

    fn scratch_left(&self) -> Vec<String> {
        named(&self.tmp, "wagon-")
    }

    fn partials_left(&self) -> Vec<String> {
        named(&self.out, ".wagon-partial-")
    }

    fn unpacking(&self) -> bool {
        named(&self.tmp, "wagon-run-").iter().any(|run| {
            std::fs::read_dir(self.tmp.join(run)).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("wagon-unpack-"))
            })
        })
    }
}

fn expect_interrupted(child: Child, signal: &str, code: i32, partial: bool, tmp: &Path) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
    let line = format!(
        "wagon: interrupted; removed temporary files in {}/wagon-run-",
        tmp.display()
    );
    assert!(stderr.contains(&line), "{stderr}");
    assert_eq!(
        stderr.contains("partial output"),
        partial,
        "{signal}: {stderr}"
    );
}

#[test]
fn sigint_and_sigterm_during_create_remove_scratch_and_partial_archive() {
    let scene = Scene::new(48 << 20);
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        // On a loaded machine the archive can be finished and renamed into place between the
        // test seeing its partial file and the signal landing: then the run was interrupted
        // after writing, which is not what this test is about — it tries again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let child = scene.create(true).spawn().unwrap();
            wait_until("the partial archive", || !scene.partials_left().is_empty());
            assert!(!scene.scratch_left().is_empty(), "create has scratch");
            send(&child, signal);
            let finished_first = {
                let out = child.wait_with_output().unwrap();
                let written = named(&scene.out, "")
                    .iter()
                    .any(|name| name.ends_with(".wgn"));
                if !written {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
                    let line = format!(
                        "wagon: interrupted; removed temporary files in {}/wagon-run-",
                        scene.tmp.display()
                    );
                    assert!(stderr.contains(&line), "{stderr}");
                    assert!(stderr.contains("partial output"), "{signal}: {stderr}");
                }
                written
            };
            if finished_first && attempts < 5 {
                for name in named(&scene.out, "") {
                    std::fs::remove_file(scene.out.join(name)).unwrap();
                }
                continue;
            }
            assert!(
                !finished_first,
                "the archive was finished before every signal"
            );
            break;
        }
        assert_eq!(scene.scratch_left(), Vec::<String>::new(), "{signal}");
        assert_eq!(scene.partials_left(), Vec::<String>::new(), "{signal}");
        assert_eq!(named(&scene.out, ""), Vec::<String>::new(), "{signal}");
    }
}

#[test]
fn sigint_and_sigterm_during_install_remove_scratch() {
    let scene = Scene::new(48 << 20);
    let venv = Venv::new(false);
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let child = scene.install(&venv).spawn().unwrap();
        wait_until("the unpack folder", || scene.unpacking());
        send(&child, signal);
        expect_interrupted(child, signal, code, false, &scene.tmp);
        assert_eq!(scene.scratch_left(), Vec::<String>::new(), "{signal}");
    }
}

#[test]
fn leftovers_of_killed_runs_are_swept_by_the_next_run() {
    let scene = Scene::new(4 << 20);
    let venv = Venv::new(false);
    let mut state = 0x5eed_u64;
    let mut random = move |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let mut left_behind = 0;
    for round in 0..30 {
        let mut command = if round % 2 == 0 {
            scene.create(true)
        } else {
            scene.install(&venv)
        };
        // Its own process group, so the test can wait for pip orphaned by the kill.
        command.process_group(0);
        let mut child = command.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(random(1500)));
        send(&child, "KILL");
        let _ = child.wait();
        wait_until("the killed run's children", || {
            !Command::new("kill")
                .args(["-0", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        });
        if !scene.scratch_left().is_empty() || !scene.partials_left().is_empty() {
            left_behind += 1;
        }
    }
    assert!(left_behind > 0, "no kill landed while a run had scratch");

    // What a killed run left may be young enough to be a live run between making and locking.
    std::thread::sleep(Duration::from_millis(2100));
    let created = scene.create(false).output().unwrap();
    assert_success(&created);
    assert_eq!(scene.partials_left(), Vec::<String>::new());
    assert_eq!(scene.scratch_left(), Vec::<String>::new());
}

#[test]
fn install_writes_no_added_file_to_scratch() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = demo_wheels(&dir.path().join("wheelhouse"));
    // 120 MB of zeros, on a 50 MB $TMPDIR: unpacking it to scratch would fill the disk.
    let archive = archive_of(
        &dir.path().join("a"),
        Format::Zip,
        "demo-app",
        "1.0",
        &wheels,
        &[("zeros.bin", vec![0; 120 << 20])],
    );
    let tmp = dir.path().join("tmp");
    let disk = TinyDisk::mount(&tmp, "50m");
    let venv = Venv::new(false);
    let out = wagon_std()
        .env("TMPDIR", &disk.path)
        .arg("install")
        .arg(&archive)
        .arg("--python")
        .arg(venv.python())
        .output()
        .unwrap();
    assert_success(&out);
    assert!(venv.can_import("demo_app"));
    assert_eq!(named(&disk.path, "wagon-"), Vec::<String>::new());
}

#[test]
fn get_file_streams_a_large_member() {
    let dir = tempfile::tempdir().unwrap();
    let size: u64 = 1 << 30;
    // A plain tar, written from a reader of zeros: fast, and nothing to decompress.
    let archive = dir.path().join("big.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    let manifest = br#"{"package_name": "big", "package_version": "1.0", "wheels": []}"#;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "big/package.json", &manifest[..])
        .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    builder
        .append_data(
            &mut header,
            "big/files/zeros.bin",
            std::io::Read::take(std::io::repeat(0), size),
        )
        .unwrap();
    builder.finish().unwrap();
    drop(builder);

    let out = dir.path().join("out");
    let mut child = wagon_std()
        .args(["get-file", "-o"])
        .arg(&out)
        .arg(&archive)
        .arg("zeros.bin")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        // VmHWM is the peak so far: the last reading before the exit is the run's peak.
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    std::fs::remove_file(&archive).unwrap();
    let written = out.join("zeros.bin");
    assert_eq!(std::fs::metadata(&written).unwrap().len(), size);
    std::fs::remove_file(&written).unwrap();
    assert_eq!(named(&out, ".wagon-partial-"), Vec::<String>::new());
    assert!(peak_kib > 0, "no reading of the child's memory");
    assert!(
        peak_kib < 64 * 1024,
        "get-file peaked at {} MiB",
        peak_kib / 1024
    );
}

/// A small tmpfs mounted for the test's life (root only, as in CI).
struct TinyDisk {
    path: PathBuf,
}

impl TinyDisk {
    fn mount(path: &Path, size: &str) -> TinyDisk {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs (the tests run as root)");
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
