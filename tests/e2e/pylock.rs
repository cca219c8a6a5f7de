//! The embedded pylock.toml: written by `create` and `wagon lock`, followed by `wagon install`,
//! checked by `validate`, and installable by uv and pip (26.1+) with no Wagon at all.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wagon_test_support::python::python3;
use wagon_test_support::sdist::workspace_root;
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{Format, archive_of, wagon};

/// uv and pip 26.3, installed by `.ci/setup`.
fn lock_tools() -> PathBuf {
    let tools = workspace_root().join("target/compat/lock-tools/bin");
    assert!(
        tools.join("uv").exists(),
        "no uv at {}: run .ci/setup",
        tools.display()
    );
    tools
}

/// `lk-app` needs `lk-dep` always and `lk-cond` on Python 3.8+, never `lk-old`.
fn locked_archive(dir: &Path, format: Format) -> PathBuf {
    let wheels = dir.join("wheels");
    let built = vec![
        WheelBuilder::new("lk-app", "1.0")
            .module(
                "lk_app",
                "import lk_dep\n\ndef main():\n    print('locked', lk_dep.X)\n",
            )
            .console_script("lk-app", "lk_app:main")
            .requires_dist("lk-dep>=1")
            .requires_dist("lk-cond; python_version >= \"3.8\"")
            .requires_dist("lk-old; python_version < \"3\"")
            .requires_python(">=3.8")
            .build(&wheels),
        WheelBuilder::new("lk-dep", "1.1")
            .module("lk_dep", "X = 11\n")
            .build(&wheels),
        WheelBuilder::new("lk-cond", "2.0")
            .module("lk_cond", "")
            .build(&wheels),
        WheelBuilder::new("lk-old", "0.1")
            .module("lk_old", "")
            .build(&wheels),
    ];
    let archive = archive_of(dir, format, "lk-app", "1.0", &built, &[]);
    let out = wagon()
        .arg("lock")
        .arg(&archive)
        .arg("--python")
        .arg(python3())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "wagon lock: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    archive
}

fn extract(archive: &Path, dest: &Path) -> PathBuf {
    crate::common::unpack_by_hand(archive, dest);
    dest.join("lk-app")
}

fn uv_install(lock: &Path, venv: &Venv) -> Output {
    Command::new(lock_tools().join("uv"))
        .args([
            "pip",
            "install",
            "--offline",
            "--no-index",
            "--no-cache",
            "--python",
        ])
        .arg(venv.python())
        .arg("-r")
        .arg(lock)
        .env_remove("UV_INDEX_URL")
        .output()
        .unwrap()
}

fn pip_install(lock: &Path, venv: &Venv) -> Output {
    Command::new(lock_tools().join("python"))
        .args(["-m", "pip", "--python"])
        .arg(venv.python())
        .args(["install", "--no-index", "--disable-pip-version-check", "-r"])
        .arg(lock)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_FIND_LINKS")
        .output()
        .unwrap()
}

fn read_lock(top: &Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(top.join("pylock.toml")).unwrap()).unwrap()
}

#[test]
fn the_lock_is_pep_751_and_lists_exactly_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let archive = locked_archive(dir.path(), Format::TarGz);
    let top = extract(&archive, &dir.path().join("x"));
    let lock = read_lock(&top);
    assert_eq!(lock["lock-version"].as_str(), Some("1.0"));
    assert_eq!(lock["created-by"].as_str(), Some("wagon"));
    assert_eq!(lock["requires-python"].as_str(), Some(">=3.8"));
    assert!(
        lock["environments"].as_array().unwrap()[0]
            .as_str()
            .unwrap()
            .starts_with("python_version == \"3.")
    );
    let packages = lock["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["lk-app", "lk-cond", "lk-dep"],
        "lk-old's marker never holds"
    );
    let app = &packages[0];
    assert_eq!(app["version"].as_str(), Some("1.0"));
    assert_eq!(app["requires-python"].as_str(), Some(">=3.8"));
    let deps: Vec<&str> = app["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(deps, ["lk-cond", "lk-dep"]);
    assert!(
        packages[1]["marker"].as_str().unwrap().contains("3.8"),
        "lk-cond is conditional"
    );
    assert!(
        packages[2].get("marker").is_none(),
        "lk-dep is always needed"
    );
    let wheel = &packages[2]["wheels"].as_array().unwrap()[0];
    assert_eq!(
        wheel["path"].as_str(),
        Some("wheels/lk_dep-1.1-py3-none-any.whl")
    );
    assert_eq!(
        wheel["size"].as_integer(),
        Some(
            std::fs::metadata(top.join("wheels/lk_dep-1.1-py3-none-any.whl"))
                .unwrap()
                .len() as i64
        )
    );
    assert_eq!(wheel["hashes"]["sha256"].as_str().unwrap().len(), 64);

    let validate = wagon()
        .args(["validate", "--json"])
        .arg(&archive)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&validate.stdout).unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["locked"], true);
    assert_eq!(
        report["unused_wheels"],
        serde_json::json!(["lk_old-0.1-py3-none-any.whl"])
    );
}

#[test]
fn uv_and_pip_install_a_wagon_without_wagon() {
    for format in [Format::TarGz, Format::Zip] {
        let dir = tempfile::tempdir().unwrap();
        let archive = locked_archive(dir.path(), format);
        let top = extract(&archive, &dir.path().join("x"));
        for (tool, install) in [
            ("uv", uv_install as fn(&Path, &Venv) -> Output),
            ("pip", pip_install),
        ] {
            let venv = Venv::new(false);
            let out = install(&top.join("pylock.toml"), &venv);
            assert!(
                out.status.success(),
                "{format:?} {tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let run = Command::new(venv.script("lk-app")).output().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&run.stdout),
                "locked 11\n",
                "{format:?} {tool}"
            );
            assert!(venv.can_import("lk_cond"), "{tool}");
            assert!(!venv.can_import("lk_old"), "{tool}");
        }
    }
}

/// The sha256 the extracted lock records for the `index`-th package's wheel.
fn locked_sha256(top: &Path, index: usize) -> String {
    let lock = read_lock(top);
    lock["packages"].as_array().unwrap()[index]["wheels"]
        .as_array()
        .unwrap()[0]["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Rewrites the extracted lock with `edit` applied to its text.
fn edit_lock(top: &Path, edit: impl Fn(&str) -> String) {
    let path = top.join("pylock.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
}

#[test]
fn a_tampered_hash_or_a_foreign_environment_is_refused_by_both() {
    let dir = tempfile::tempdir().unwrap();
    let archive = locked_archive(dir.path(), Format::TarGz);
    let tampered = extract(&archive, &dir.path().join("tampered"));
    let real = locked_sha256(&tampered, 2);
    edit_lock(&tampered, |text| text.replace(&real, &"0".repeat(64)));
    let foreign = extract(&archive, &dir.path().join("foreign"));
    edit_lock(&foreign, |text| {
        let start = text.find("environments = [").unwrap();
        let end = start + text[start..].find(']').unwrap() + 1;
        format!(
            "{}environments = [\"sys_platform == 'plan9'\"]{}",
            &text[..start],
            &text[end..]
        )
    });
    for (case, top) in [
        ("tampered hash", &tampered),
        ("foreign environment", &foreign),
    ] {
        for (tool, install) in [
            ("uv", uv_install as fn(&Path, &Venv) -> Output),
            ("pip", pip_install),
        ] {
            let venv = Venv::new(false);
            let out = install(&top.join("pylock.toml"), &venv);
            assert!(!out.status.success(), "{case}: {tool} accepted it");
            assert_eq!(
                venv.installed("lk-app"),
                None,
                "{case}: {tool} installed something"
            );
        }
    }
}

#[test]
fn wagon_install_follows_the_lock_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let archive = locked_archive(dir.path(), Format::TarGz);
    let venv = Venv::new(false);
    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(venv.root())
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(venv.can_import("lk_cond"));

    // A lock whose environments exclude this interpreter stops the install.
    let top = extract(&archive, &dir.path().join("x"));
    edit_lock(&top, |text| {
        text.replace("python_version == \"3.", "python_version == \"2.")
    });
    let relabelled = crate::common::repack(&top, &dir.path().join("foreign.wgn"));
    let out = wagon()
        .arg("install")
        .arg(&relabelled)
        .arg("--venv")
        .arg(Venv::new(false).root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pylock.toml was made for"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A lock that disagrees with package.json is an inconsistent archive for install and validate.
    let top = extract(&archive, &dir.path().join("y"));
    let real = locked_sha256(&top, 0);
    edit_lock(&top, |text| text.replace(&real, &"1".repeat(64)));
    let disagreeing = crate::common::repack(&top, &dir.path().join("disagreeing.wgn"));
    let out = wagon()
        .arg("install")
        .arg(&disagreeing)
        .arg("--venv")
        .arg(Venv::new(false).root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the wheel"));
    let validate = wagon().arg("validate").arg(&disagreeing).output().unwrap();
    assert_eq!(validate.status.code(), Some(1));
}

#[test]
fn create_embeds_a_lock_and_wagon_lock_keeps_wheels_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = crate::common::demo_archive(dir.path(), Format::LegacyTarGz);
    let before = wagon_core_wheels(&legacy, &dir.path().join("before"));
    let locked = dir.path().join("locked.wgn");
    let out = wagon()
        .arg("lock")
        .arg(&legacy)
        .arg("-o")
        .arg(&locked)
        .arg("--python")
        .arg(python3())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = wagon_core_wheels(&locked, &dir.path().join("after"));
    assert_eq!(before, after, "wheels byte for byte");
    let validate = wagon()
        .arg("validate")
        .arg(&locked)
        .arg("--json")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&validate.stdout).unwrap();
    assert_eq!(report["locked"], true, "{report}");
    assert_eq!(
        report["valid"], true,
        "a lock added to a wagon 1.0 archive hashes its wheels: {report}"
    );
}

/// The wheels of an archive, by name, with their bytes.
fn wagon_core_wheels(archive: &Path, dest: &Path) -> Vec<(String, Vec<u8>)> {
    crate::common::unpack_by_hand(archive, dest);
    let wheels = dest.join("demo-app/wheels");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(wheels)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `lk-app` 1.0 needing `lk-dep>=1`, with `lk-dep` 1.1 and 0.5 in the archive; locked (the lock
/// plans lk-app and lk-dep 1.1), unpacked, its lock rewritten by `edit` (given the lock and the
/// folder of the wheels), and packed again.
fn relocked(dir: &Path, case: &str, edit: impl FnOnce(&mut toml::Table, &Path)) -> PathBuf {
    let wheels = dir.join("wheels");
    let built = vec![
        WheelBuilder::new("lk-app", "1.0")
            .module("lk_app", "import lk_dep\n")
            .requires_dist("lk-dep>=1")
            .build(&wheels),
        WheelBuilder::new("lk-dep", "1.1")
            .module("lk_dep", "X = 11\n")
            .build(&wheels),
        WheelBuilder::new("lk-dep", "0.5")
            .module("lk_dep", "X = 5\n")
            .build(&wheels),
    ];
    let archive = archive_of(dir, Format::TarGz, "lk-app", "1.0", &built, &[]);
    let out = wagon()
        .arg("lock")
        .arg(&archive)
        .arg("--python")
        .arg(python3())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top = extract(&archive, &dir.join(case));
    let mut lock = read_lock(&top);
    edit(&mut lock, &top.join("wheels"));
    std::fs::write(top.join("pylock.toml"), toml::to_string(&lock).unwrap()).unwrap();
    crate::common::repack(&top, &dir.join(format!("{case}.wgn")))
}

/// The `[[packages]]` entry named `name`.
fn entry<'a>(lock: &'a mut toml::Table, name: &str) -> &'a mut toml::Table {
    lock["packages"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|p| p.as_table_mut().unwrap())
        .find(|p| p["name"].as_str() == Some(name))
        .unwrap()
}

/// A lock wheel table naming `file` in `wheels` with its real size and sha256.
fn lock_wheel(wheels: &Path, file: &str) -> toml::Value {
    let (sha256, size) = wagon_core::wheel::sha256_file(&wheels.join(file)).unwrap();
    let mut table = toml::Table::new();
    table.insert("name".into(), file.into());
    table.insert("path".into(), format!("wheels/{file}").into());
    table.insert("size".into(), i64::try_from(size).unwrap().into());
    let mut hashes = toml::Table::new();
    hashes.insert("sha256".into(), sha256.into());
    table.insert("hashes".into(), hashes.into());
    toml::Value::Array(vec![table.into()])
}

/// Install refuses `archive` saying `expect`, leaving the venv as it was; validate reports it.
fn refused_by_install_and_validate(archive: &Path, expect: &str) {
    let venv = Venv::new(false);
    let before = crate::common::env_tree(venv.root());
    let out = crate::common::install_into(archive, &venv, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "install accepted it: {stderr}");
    assert!(stderr.contains(expect), "install said: {stderr}");
    assert_eq!(
        crate::common::env_tree(venv.root()),
        before,
        "install changed the venv"
    );
    let out = wagon().arg("validate").arg(archive).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "validate accepted it: {stderr}");
    assert!(stderr.contains(expect), "validate said: {stderr}");
}

#[test]
fn a_lock_with_two_entries_for_one_project_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = relocked(dir.path(), "twice", |lock, wheels| {
        let mut second = entry(lock, "lk-dep").clone();
        second.insert("version".into(), "0.5".into());
        second.insert(
            "wheels".into(),
            lock_wheel(wheels, "lk_dep-0.5-py3-none-any.whl"),
        );
        lock["packages"].as_array_mut().unwrap().push(second.into());
    });
    refused_by_install_and_validate(&archive, "the lock has two entries for lk-dep");
}

#[test]
fn a_lock_entry_that_disagrees_with_its_wheel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // The entry says lk-evil, its wheel is lk-dep.
    let renamed = relocked(dir.path(), "renamed", |lock, _| {
        entry(lock, "lk-dep").insert("name".into(), "lk-evil".into());
    });
    refused_by_install_and_validate(
        &renamed,
        "the lock entry lk-evil 1.1 names the wheel lk_dep-1.1-py3-none-any.whl, which is lk-dep 1.1",
    );
    // The entry says 1.1, its wheel is 0.5.
    let downgraded = relocked(dir.path(), "downgraded", |lock, wheels| {
        entry(lock, "lk-dep").insert(
            "wheels".into(),
            lock_wheel(wheels, "lk_dep-0.5-py3-none-any.whl"),
        );
    });
    refused_by_install_and_validate(
        &downgraded,
        "the lock entry lk-dep 1.1 names the wheel lk_dep-0.5-py3-none-any.whl, which is lk-dep 0.5",
    );
}

#[test]
fn a_lock_whose_plan_leaves_a_requirement_unmet_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Consistent entry and wheel, but lk-app requires lk-dep>=1.
    let too_old = relocked(dir.path(), "too-old", |lock, wheels| {
        let dep = entry(lock, "lk-dep");
        dep.insert("version".into(), "0.5".into());
        dep.insert(
            "wheels".into(),
            lock_wheel(wheels, "lk_dep-0.5-py3-none-any.whl"),
        );
    });
    refused_by_install_and_validate(
        &too_old,
        "the lock entry lk-app 1.0 (lk_app-1.0-py3-none-any.whl) requires `lk-dep>=1`, but the \
         lock installs lk-dep 0.5 (lk_dep-0.5-py3-none-any.whl)",
    );
    // lk-dep's entry gone: lk-app's `dependencies` name nothing.
    let dropped = |lock: &mut toml::Table| {
        lock["packages"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["name"].as_str() != Some("lk-dep"));
    };
    let orphaned = relocked(dir.path(), "orphaned", |lock, _| dropped(lock));
    refused_by_install_and_validate(
        &orphaned,
        "the lock entry lk-app 1.0 lists lk-dep among its dependencies, but the lock has no entry for it",
    );
    // ... and with `dependencies` emptied too, lk-app's Requires-Dist still needs it.
    let missing = relocked(dir.path(), "missing", |lock, _| {
        dropped(lock);
        entry(lock, "lk-app").remove("dependencies");
    });
    refused_by_install_and_validate(
        &missing,
        "the lock entry lk-app 1.0 (lk_app-1.0-py3-none-any.whl) requires `lk-dep>=1`, which the \
         lock does not install on this target",
    );
}

#[test]
fn a_lock_naming_a_wheel_by_url_only_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = relocked(dir.path(), "by-url", |lock, _| {
        let wheel = entry(lock, "lk-dep")["wheels"].as_array_mut().unwrap()[0]
            .as_table_mut()
            .unwrap();
        wheel.remove("path");
        wheel.insert(
            "url".into(),
            "https://example.invalid/lk_dep-1.1-py3-none-any.whl".into(),
        );
    });
    refused_by_install_and_validate(
        &archive,
        "the archive's lock may only name wheels inside the archive",
    );
}
