//! The unpack installer: what it installs matches pip's install of the same wheels file for file
//! and byte for byte; upgrades, reinstalls, bytecode and all-or-nothing behave.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wagon_test_support::python::{python3, run_python, stdout_text};
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, env_tree, install_into, tree, wagon};

/// Wheels exercising every feature: each `.data` scheme, entry points, `#!python` scripts,
/// platlib, namespace packages, extras, and a marker that excludes a dependency.
fn corpus(dir: &Path) -> Vec<PathBuf> {
    let facts = stdout_text(&run_python(
        &python3(),
        &[
            "-c",
            "import sys, platform; print(f'cp{sys.version_info[0]}{sys.version_info[1]} {platform.machine()}')",
        ],
    ));
    let (cp, arch) = facts.split_once(' ').unwrap();
    vec![
        WheelBuilder::new("eq-all", "1.0")
            .module("eq_all", "")
            .requires_dist("eq-core[opt]>=1")
            .requires_dist("eq-native")
            .requires_dist("eq-ns-a")
            .requires_dist("eq-ns-b")
            .build(dir),
        WheelBuilder::new("eq-core", "1.0")
            .package(
                "eq_core",
                "def main():\n    print('core')\n\ndef gui():\n    print('gui')\n",
            )
            .file("eq_core/sub/deep.py", "DEEP = 1\n")
            .file(
                "eq_core-1.0.data/scripts/eq-tool",
                "#!python\nprint('tool')\n",
            )
            .file("eq_core-1.0.data/scripts/eq-sh", "#!/bin/sh\necho sh\n")
            .file("eq_core-1.0.data/data/share/eq/readme.txt", "data file\n")
            .file("eq_core-1.0.data/headers/eq.h", "#define EQ 1\n")
            .file("eq_core-1.0.data/purelib/eq_pure_extra.py", "PURE = 1\n")
            .console_script("eq-core", "eq_core:main")
            .gui_script("eq-gui", "eq_core:gui")
            .requires_dist("eq-dep")
            .requires_dist("eq-opt; extra == \"opt\"")
            .requires_dist("eq-never; python_version < \"3\"")
            .provides_extra("opt")
            .build(dir),
        WheelBuilder::new("eq-native", "1.0")
            .tag(&format!("{cp}-{cp}-manylinux_2_17_{arch}"))
            .module("eq_native", "NATIVE = 1\n")
            .file("eq_native-1.0.data/platlib/eq_native_ext.py", "EXT = 1\n")
            .build(dir),
        WheelBuilder::new("eq-ns-a", "1.0")
            .file("eqns/a/__init__.py", "A = 1\n")
            .build(dir),
        WheelBuilder::new("eq-ns-b", "1.0")
            .file("eqns/b/__init__.py", "B = 1\n")
            .build(dir),
        WheelBuilder::new("eq-dep", "1.0")
            .module("eq_dep", "")
            .build(dir),
        WheelBuilder::new("eq-opt", "1.0")
            .module("eq_opt", "")
            .build(dir),
    ]
}

/// Every file of a venv (but bytecode caches), content with the venv's path neutralised;
/// RECORD as a sorted set of rows; INSTALLER left out (it names the installer).
fn snapshot(venv: &Venv, fresh: &[String]) -> BTreeMap<String, (String, bool)> {
    let root = venv.root().display().to_string();
    let mut out = BTreeMap::new();
    for relative in tree(venv.root()).into_iter().filter(|p| !fresh.contains(p)) {
        let path = venv.root().join(&relative);
        if path.is_dir()
            || relative.contains("__pycache__")
            || relative.ends_with("INSTALLER")
            || relative.contains(".wagon-install.lock")
        {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).replace(&root, "[VENV]");
        let text = if relative.ends_with(".dist-info/RECORD") {
            // Scripts embed the venv's path, so their hashes differ by venv; their content is
            // compared (path neutralised) as files of their own.
            let mut rows: Vec<String> = text
                .lines()
                .filter(|l| !l.contains("/INSTALLER,"))
                .map(|l| match l.split_once(",sha256=") {
                    Some((path, rest)) if path.contains("/bin/") => {
                        format!(
                            "{path},[HASH],{}",
                            rest.rsplit(',').next().unwrap_or_default()
                        )
                    }
                    _ => l.to_string(),
                })
                .collect();
            rows.sort();
            rows.join("\n")
        } else {
            text
        };
        #[cfg(unix)]
        let executable = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0
        };
        #[cfg(not(unix))]
        let executable = false;
        out.insert(relative, (text, executable));
    }
    out
}

#[test]
fn installs_exactly_what_pip_installs() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = corpus(&dir.path().join("wheels"));
    let by_pip = Venv::new(false);
    let pip_fresh = tree(by_pip.root());
    by_pip.pip_install_host(&[
        "--no-index",
        "--no-compile",
        "--find-links",
        dir.path().join("wheels").to_str().unwrap(),
        "eq-all",
    ]);
    let archive = archive_of(dir.path(), Format::TarGz, "eq-all", "1.0", &wheels, &[]);
    let by_wagon = Venv::new(false);
    let wagon_fresh = tree(by_wagon.root());
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(by_wagon.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (pip_tree, wagon_tree) = (
        snapshot(&by_pip, &pip_fresh),
        snapshot(&by_wagon, &wagon_fresh),
    );
    let pip_files: Vec<&String> = pip_tree.keys().collect();
    let wagon_files: Vec<&String> = wagon_tree.keys().collect();
    assert_eq!(wagon_files, pip_files, "the same files");
    for (path, pip_file) in &pip_tree {
        assert_eq!(&wagon_tree[path], pip_file, "{path} differs");
    }
    assert_eq!(
        std::fs::read_to_string(
            by_wagon
                .site_packages()
                .join("eq_all-1.0.dist-info/INSTALLER")
        )
        .unwrap(),
        "wagon\n"
    );
    assert!(
        !by_wagon
            .site_packages()
            .join("eq_all-1.0.dist-info/direct_url.json")
            .exists()
    );
    assert!(
        by_wagon
            .site_packages()
            .join("eq_all-1.0.dist-info/REQUESTED")
            .exists()
    );
    assert!(
        !by_wagon
            .site_packages()
            .join("eq_core-1.0.dist-info/REQUESTED")
            .exists()
    );

    let check = by_wagon.pip_host(&["check"]);
    assert!(check.status.success(), "pip check: {check:?}");
    for module in [
        "eq_core.sub.deep",
        "eq_native_ext",
        "eqns.a",
        "eqns.b",
        "eq_pure_extra",
        "eq_opt",
    ] {
        assert!(by_wagon.can_import(module), "{module}");
    }
    assert!(!by_wagon.can_import("eq_never"));
    for (script, printed) in [
        ("eq-core", "core\n"),
        ("eq-gui", "gui\n"),
        ("eq-tool", "tool\n"),
        ("eq-sh", "sh\n"),
    ] {
        let run = Command::new(by_wagon.script(script)).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&run.stdout), printed, "{script}");
    }
}

#[test]
fn upgrades_remove_the_old_version_by_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let old = WheelBuilder::new("up", "1.0")
        .package("up", "V = 1\n")
        .file("up/only_in_old.py", "")
        .console_script("up-old", "up:main")
        .build(&dir.path().join("old"));
    let new = WheelBuilder::new("up", "2.0")
        .package("up", "V = 2\n")
        .build(&dir.path().join("new"));
    let venv = Venv::new(false);
    let first = archive_of(
        &dir.path().join("a1"),
        Format::TarGz,
        "up",
        "1.0",
        &[old],
        &[],
    );
    assert!(install_into(&first, &venv, &[]).status.success());
    assert!(venv.site_packages().join("up/only_in_old.py").exists());
    assert!(venv.script("up-old").exists());

    let second = archive_of(
        &dir.path().join("a2"),
        Format::TarGz,
        "up",
        "2.0",
        &[new],
        &[],
    );
    let out = install_into(&second, &venv, &["-u"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(venv.installed("up").as_deref(), Some("2.0"));
    assert!(
        !venv.site_packages().join("up/only_in_old.py").exists(),
        "old files removed"
    );
    assert!(!venv.script("up-old").exists(), "old scripts removed");
    assert!(!venv.site_packages().join("up-1.0.dist-info").exists());
}

#[test]
fn the_same_version_is_left_alone_unless_reinstall() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("same", "1.0")
        .module("same", "")
        .build(&dir.path().join("w"));
    let archive = archive_of(dir.path(), Format::Zip, "same", "1.0", &[wheel], &[]);
    let venv = Venv::new(false);
    assert!(install_into(&archive, &venv, &[]).status.success());
    let module = venv.site_packages().join("same.py");
    std::fs::write(&module, "TOUCHED = True\n").unwrap();
    assert!(install_into(&archive, &venv, &[]).status.success());
    assert_eq!(
        std::fs::read_to_string(&module).unwrap(),
        "TOUCHED = True\n",
        "left alone"
    );
    assert!(
        install_into(&archive, &venv, &["--reinstall"])
            .status
            .success()
    );
    assert_eq!(std::fs::read_to_string(&module).unwrap(), "", "reinstalled");
}

#[test]
fn compile_writes_bytecode_listed_in_record() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("comp", "1.0")
        .package("comp", "X = 1\n")
        .build(&dir.path().join("w"));
    let archive = archive_of(dir.path(), Format::TarGz, "comp", "1.0", &[wheel], &[]);
    let plain = Venv::new(false);
    assert!(install_into(&archive, &plain, &[]).status.success());
    assert!(
        !plain.site_packages().join("comp/__pycache__").exists(),
        "no bytecode by default"
    );
    let compiled = Venv::new(false);
    assert!(
        install_into(&archive, &compiled, &["--compile"])
            .status
            .success()
    );
    let record =
        std::fs::read_to_string(compiled.site_packages().join("comp-1.0.dist-info/RECORD"))
            .unwrap();
    assert!(record.contains("comp/__pycache__/__init__."), "{record}");
    assert!(
        compiled
            .site_packages()
            .join("comp/__pycache__")
            .read_dir()
            .unwrap()
            .count()
            == 1
    );
}

/// Rewrites a wheel with one file's bytes changed, RECORD untouched.
fn tamper(wheel: &Path, victim: &str) {
    let bytes = std::fs::read(wheel).unwrap();
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(wheel).unwrap());
    for i in 0..source.len() {
        let mut entry = source.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        if name == victim {
            content.extend_from_slice(b"# evil\n");
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut out, &content).unwrap();
    }
    out.finish().unwrap();
}

#[test]
fn a_bad_wheel_leaves_the_environment_exactly_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let venv = Venv::new(false);
    // An older version installed first, so a failed upgrade must also put it back.
    let old = WheelBuilder::new("good", "0.9")
        .module("good", "OLD = 1\n")
        .build(&dir.path().join("old"));
    assert!(
        install_into(
            &archive_of(
                &dir.path().join("a0"),
                Format::TarGz,
                "good",
                "0.9",
                &[old],
                &[]
            ),
            &venv,
            &[]
        )
        .status
        .success()
    );
    let before = env_tree(venv.root());
    let before_bytes = std::fs::read(venv.site_packages().join("good.py")).unwrap();

    let wheels_dir = dir.path().join("w");
    let good = WheelBuilder::new("good", "1.0")
        .module("good", "")
        .requires_dist("bad")
        .build(&wheels_dir);
    let bad = WheelBuilder::new("bad", "1.0")
        .module("bad", "X = 1\n")
        .build(&wheels_dir);
    tamper(&bad, "bad.py");
    let archive = archive_of(dir.path(), Format::TarGz, "good", "1.0", &[good, bad], &[]);
    let out = install_into(&archive, &venv, &["-u"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad-1.0-py3-none-any.whl")
            && err.contains("bad.py does not match the wheel's RECORD"),
        "{err}"
    );
    assert_eq!(env_tree(venv.root()), before, "no file added or removed");
    assert_eq!(
        std::fs::read(venv.site_packages().join("good.py")).unwrap(),
        before_bytes
    );
    assert_eq!(venv.installed("good").as_deref(), Some("0.9"));
}

#[test]
fn a_wheel_installing_two_entries_to_one_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let venv = Venv::new(false);
    let before = env_tree(venv.root());
    let wheel = WheelBuilder::new("twice", "1.0")
        .module("twice", "A = 1\n")
        .file("twice-1.0.data/purelib/twice.py", "B = 2\n")
        .build(&dir.path().join("w"));
    let archive = archive_of(dir.path(), Format::TarGz, "twice", "1.0", &[wheel], &[]);
    let out = install_into(&archive, &venv, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("twice-1.0-py3-none-any.whl") && err.contains("two entries install to"),
        "{err}"
    );
    assert_eq!(env_tree(venv.root()), before, "nothing installed");
}

#[test]
fn concurrent_installs_serialise_on_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let archive = crate::common::demo_archive(dir.path(), Format::TarGz);
    let venv = Venv::new(false);
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_wagon"))
                .arg("install")
                .arg(&archive)
                .arg("--venv")
                .arg(venv.root())
                .arg("--reinstall")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(venv.pip_host(&["check"]).status.success());
    let run = Command::new(venv.script("demo-app")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello, wagon\n");
}
