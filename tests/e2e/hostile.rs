//! The committed hostile corpus (`tests/hostile`, made by its `generate.py`): every archive that
//! tries one attack or corruption is refused by `show`, `validate` and `install` with either
//! installer — a clear error naming the entry, exit code 1, nothing written outside the
//! destination, and the target environment unchanged.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wagon_test_support::venv::Venv;

use crate::common::{snapshot, tree, wagon};

fn corpus() -> (PathBuf, Vec<Value>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/hostile");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 42, "the corpus is there");
    (dir.join("corpus"), cases)
}

/// Everything below `scratch` but the environment itself, byte for byte: the sentinel folder,
/// the working directory, the temporary directory and whatever an escape would have created.
fn outside(scratch: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot(scratch)
        .into_iter()
        .filter(|(path, _)| !path.starts_with("env/venv/"))
        .collect()
}

#[test]
fn every_hostile_archive_is_refused_everywhere() {
    let (corpus, cases) = corpus();
    // scratch/{cwd, tmp (TMPDIR), sentinel/, env/venv}: a wheel escaping the venv by `../` lands
    // in env/ or scratch/, both watched.
    let scratch = tempfile::tempdir().unwrap();
    let run_dir = scratch.path().join("cwd");
    let tmp = scratch.path().join("tmp");
    for dir in [&run_dir, &tmp, &scratch.path().join("sentinel")] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(scratch.path().join("sentinel/keep.txt"), b"keep me\n").unwrap();
    let venv = Venv::at(scratch.path().join("env/venv"), false);
    let env_before = snapshot(venv.root());
    let outside_before = outside(scratch.path());
    let mut summary = Vec::new();
    for case in &cases {
        let file = corpus.join(case["file"].as_str().unwrap());
        let expect = case["expect"].as_str().unwrap();
        let flags: Vec<&str> = case["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let name = case["file"].as_str().unwrap();
        let run = |args: &[&str]| {
            let out = wagon()
                .args(&flags)
                .args(args)
                .arg(&file)
                .current_dir(&run_dir)
                .env("TMPDIR", &tmp)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                outside(scratch.path()),
                outside_before,
                "{args:?} {name} wrote outside its scratch folder: {text}"
            );
            (out.status.code(), text)
        };
        let (code, text) = run(&["show"]);
        if case["show_reads_it"].as_bool().unwrap() {
            assert_eq!(code, Some(1), "show {name}: {text}");
            assert!(
                text.contains(expect),
                "show {name}: expected `{expect}` in {text}"
            );
        } else {
            // show reads only up to package.json, which is sound in these archives.
            assert_eq!(code, Some(0), "show {name} stops at the manifest: {text}");
        }
        let (code, text) = run(&["validate"]);
        assert_eq!(code, Some(1), "validate {name}: {text}");
        assert!(
            text.contains(expect),
            "validate {name}: expected `{expect}` in {text}"
        );
        for installer in ["unpack", "pip"] {
            let venv_arg = venv.root().to_str().unwrap();
            let (code, text) = run(&["install", "--installer", installer, "--venv", venv_arg]);
            assert_eq!(
                code,
                Some(1),
                "install --installer {installer} {name}: {text}"
            );
            assert!(
                text.contains(expect),
                "install --installer {installer} {name}: expected `{expect}` in {text}"
            );
            assert_eq!(
                snapshot(venv.root()),
                env_before,
                "install --installer {installer} {name} changed the environment"
            );
        }
        summary.push(format!("{name}: {}", case["attack"].as_str().unwrap()));
    }
    assert!(
        tree(&run_dir).is_empty(),
        "nothing written in the working directory: {:?}",
        tree(&run_dir)
    );
    for escaped in [
        "/tmp/wagon-hostile-absolute.txt",
        "/tmp/evil.txt",
        "/tmp/zip-evil.txt",
        "/tmp/evil.py",
        "/tmp/wagon-injected",
        "/wagon-victim",
        "/wagon-header-escape",
    ] {
        assert!(!Path::new(escaped).exists(), "{escaped} was written");
    }
    assert_eq!(summary.len(), cases.len());
}

#[test]
fn raised_limits_let_a_genuine_large_archive_through() {
    let (corpus, _) = corpus();
    // The bomb is refused under a 10 MB limit (above) but is otherwise a consistent archive: the
    // limit is what stops it, and raising it is the documented way through.
    let out = wagon()
        .args([
            "--max-unpacked-bytes",
            "100000000",
            "validate",
            "--no-install-check",
        ])
        .arg(corpus.join("bomb.wgn"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("unpack to more than"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bomb.wgn: valid"),
        "{text}"
    );
}
