//! PEP 668: an interpreter its distribution marks `EXTERNALLY-MANAGED` is not installed into
//! unless the user says `--break-system-packages`; its virtualenvs are never marked.
#![cfg(unix)]

use wagon_test_support::system::SystemPython;

use crate::common::{Format, assert_success, demo_archive, env_tree, wagon};

const DEBIAN: &str = "[externally-managed]\nError=To install Python packages system-wide, try apt install\n python3-xyz, where xyz is the package you are trying to\n install.\n";

#[test]
fn an_externally_managed_interpreter_is_refused_unless_the_user_insists() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let system = SystemPython::new(Some(DEBIAN));
    let before = env_tree(system.root());
    for installer in ["unpack", "pip"] {
        let out = wagon()
            .arg("install")
            .arg(&archive)
            .arg("--python")
            .arg(system.python())
            .args(["--installer", installer])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{installer}: {stderr}");
        for expected in [
            "is externally managed (PEP 668)",
            "To install Python packages system-wide, try apt install\n",
            "python3-xyz, where xyz",
            "python3 -m venv DIR",
            "--venv DIR",
            "--break-system-packages",
        ] {
            assert!(
                stderr.contains(expected),
                "{installer}: {expected}: {stderr}"
            );
        }
        assert_eq!(env_tree(system.root()), before, "{installer} changed it");
    }

    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--python")
        .arg(system.python())
        .arg("--break-system-packages")
        .output()
        .unwrap();
    assert_success(&out);
    assert!(system.can_import("demo_app"));

    // pip checks the marker itself: Wagon must pass the user's decision on.
    let other = SystemPython::new(Some(DEBIAN));
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--python")
        .arg(other.python())
        .args(["--installer", "pip"])
        .env("WAGON_BREAK_SYSTEM_PACKAGES", "1")
        .output()
        .unwrap();
    assert_success(&out);
    assert!(other.can_import("demo_app"));
}

#[test]
fn a_marker_without_error_text_and_a_venv_of_a_marked_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let system = SystemPython::new(Some("[externally-managed]\n"));
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--python")
        .arg(system.python())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is externally managed (PEP 668)"),
        "{stderr}"
    );
    assert!(!system.can_import("demo_app"));

    // A virtualenv is the user's own, whatever its base interpreter.
    let venv_dir = dir.path().join("from-system");
    let made = std::process::Command::new(system.python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv_dir)
        .output()
        .unwrap();
    assert_success(&made);
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(&venv_dir)
        .output()
        .unwrap();
    assert_success(&out);
    let imported = std::process::Command::new(venv_dir.join("bin/python"))
        .args(["-c", "import demo_app"])
        .status()
        .unwrap();
    assert!(imported.success());
}
