//! `wagon install` through pip into real virtualenvs, for every archive format.

use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, demo_archive, install_into, wagon};

#[test]
fn installs_every_format_into_a_venv_without_pip() {
    for (format, installer) in Format::ALL
        .into_iter()
        .flat_map(|f| [(f, "unpack"), (f, "pip")])
    {
        let dir = tempfile::tempdir().unwrap();
        let archive = demo_archive(dir.path(), format);
        let venv = Venv::new(false);
        let out = install_into(&archive, &venv, &["--installer", installer]);
        assert!(
            out.status.success(),
            "{format:?} {installer}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            venv.installed("demo-app").as_deref(),
            Some("1.0"),
            "{format:?}"
        );
        assert_eq!(
            venv.installed("demo-lib").as_deref(),
            Some("1.2"),
            "{format:?}"
        );
        assert_eq!(
            venv.installed("demo-fancy"),
            None,
            "{format:?}: extras are opt-in"
        );
        let script = venv.script("demo-app");
        let run = std::process::Command::new(&script).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            "hello, wagon\n",
            "{format:?}"
        );
    }
}

#[test]
fn extras_install_with_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let venv = Venv::new(false);
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .args(["--extra", "fancy", "--json", "--python"])
        .arg(venv.python())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned: Vec<&str> = report["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(planned.contains(&"demo-fancy==0.3"), "{planned:?}");
    assert!(venv.can_import("demo_fancy"));
}

#[test]
fn installs_into_the_active_virtualenv() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::Zip);
    let venv = Venv::new(false);
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .env("VIRTUAL_ENV", venv.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(venv.can_import("demo_app"));
}

#[test]
fn upgrade_replaces_an_older_version() {
    let dir = tempfile::tempdir().unwrap();
    let venv = Venv::new(false);
    let old = WheelBuilder::new("demo-lib", "1.0")
        .module("demo_lib", "VERSION = 1\n")
        .build(&dir.path().join("old"));
    venv.pip_install_host(&["--no-index", old.to_str().unwrap()]);
    assert_eq!(venv.installed("demo-lib").as_deref(), Some("1.0"));

    let new = WheelBuilder::new("demo-lib", "1.2")
        .module("demo_lib", "VERSION = 2\n")
        .build(&dir.path().join("new"));
    let archive = archive_of(dir.path(), Format::TarGz, "demo-lib", "1.2", &[new], &[]);
    let out = install_into(&archive, &venv, &["--upgrade"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(venv.installed("demo-lib").as_deref(), Some("1.2"));
}

#[test]
fn pip_arguments_after_double_dash_reach_pip() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::TarGz);
    let venv = Venv::new(false);
    let out = install_into(&archive, &venv, &["--installer", "pip", "--", "--no-deps"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With --no-deps pip still installs every pinned wheel of the plan, one by one.
    assert_eq!(venv.installed("demo-lib").as_deref(), Some("1.2"));
}

#[test]
fn a_target_with_its_own_pip_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(dir.path(), Format::LegacyTarGz);
    let venv = Venv::new(true);
    let out = install_into(&archive, &venv, &["--installer", "pip", "-v"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("has no pip"), "{log}");
    assert_eq!(venv.installed("demo-app").as_deref(), Some("1.0"));
}

#[test]
fn a_pep_600_manylinux_wheel_installs_where_it_fits() {
    // wagon 1.0 refused `manylinux_x_y` archives at install; build one for this very host.
    let python = wagon_test_support::python::python3();
    let facts = wagon_test_support::python::stdout_text(&wagon_test_support::python::run_python(
        &python,
        &[
            "-c",
            "import sys, platform; print(f'cp{sys.version_info[0]}{sys.version_info[1]} {platform.machine()}')",
        ],
    ));
    let (cp, arch) = facts.split_once(' ').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("demo-native", "1.0")
        .tag(&format!(
            "{cp}-{cp}-manylinux_2_17_{arch}.manylinux2014_{arch}"
        ))
        .module("demo_native", "NATIVE = True\n")
        .build(&dir.path().join("wheels"));
    let archive = archive_of(
        dir.path(),
        Format::TarGz,
        "demo-native",
        "1.0",
        &[wheel],
        &[],
    );
    let shown = wagon()
        .arg("show")
        .arg("--json")
        .arg(&archive)
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        manifest["supported_platform"],
        format!("linux_{arch}"),
        "readable by wagon 1.0.3's installer"
    );
    assert_eq!(
        manifest["platform_tags"],
        serde_json::json!([
            format!("manylinux2014_{arch}"),
            format!("manylinux_2_17_{arch}")
        ])
    );
    let venv = Venv::new(false);
    let out = install_into(&archive, &venv, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(venv.can_import("demo_native"));
}
