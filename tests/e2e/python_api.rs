//! The wagon-rs wheel (`python/`, built by maturin in `.ci/setup`): pip and `uv tool install`
//! put `wagon` on PATH from it, and its `wagon` module serves wagon 1.0.3's Python API — one
//! script written against that API passes against it, and against the real wagon 1.0.3.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::sdist::{setuptools_project, wheelhouse, workspace_root};
use wagon_test_support::venv::Venv;

use crate::common::{assert_success, demo_wheels};

const PROJECT_SOURCE: &str = "from demo_lib import greet\n\ndef main():\n    return greet('api')\n";

/// The one wheel `.ci/setup` builds into `target/python-wheel`, after proving it carries the very
/// binary under test and the module as `python/src` has it (a wheel left from older sources would
/// test old code).
fn built_wheel() -> PathBuf {
    let dir = workspace_root().join("target/python-wheel");
    let wheels: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("wagon_rs-") && n.ends_with(".whl"))
        })
        .collect();
    assert_eq!(
        wheels.len(),
        1,
        "expected one wagon_rs wheel in {}, found {wheels:?}: run .ci/setup, which builds it",
        dir.display()
    );
    let wheel = wheels[0].clone();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&wheel).unwrap()).unwrap();
    let name = zip
        .file_names()
        .find(|n| n.ends_with(".data/scripts/wagon"))
        .unwrap_or_else(|| panic!("{} carries no scripts/wagon", wheel.display()))
        .to_string();
    let module = workspace_root().join("python/src");
    let sources: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("wagon/"))
        .map(str::to_string)
        .collect();
    assert!(
        !sources.is_empty(),
        "{} carries no wagon module",
        wheel.display()
    );
    for source in sources {
        let packed = zip.by_name(&source).unwrap();
        let checked_in = std::fs::File::open(module.join(&source)).unwrap();
        assert!(
            same_bytes(packed, checked_in),
            "{}'s {source} differs from python/src: run .ci/setup to rebuild the wheel",
            wheel.display()
        );
    }
    let packed = zip.by_name(&name).unwrap();
    let under_test = std::fs::File::open(env!("CARGO_BIN_EXE_wagon")).unwrap();
    assert!(
        same_bytes(packed, under_test),
        "{}'s wagon is not the binary under test ({}): run .ci/setup to rebuild the wheel",
        wheel.display(),
        env!("CARGO_BIN_EXE_wagon")
    );
    wheel
}

/// Whether two streams hold the same bytes, compared a block at a time (the binary is large).
fn same_bytes(mut a: impl Read, mut b: impl Read) -> bool {
    let (mut left, mut right) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut left);
        if n != read_full(&mut b, &mut right) || left[..n] != right[..n] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]).unwrap() {
            0 => break,
            n => filled += n,
        }
    }
    filled
}

/// A command isolated from the machine's pip configuration and proxies, and from any ambient
/// virtualenv or wagon binary override, with pip (and Wagon, which reads pip's settings) pointed
/// at `index`.
fn isolated(program: &Path, index: &LoopbackIndex) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("PIP_") || key.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(key);
        }
    }
    command
        .env_remove("VIRTUAL_ENV")
        .env_remove("WAGON_BINARY")
        .env_remove("WAGON_LOG")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_INDEX_URL", index.simple_url());
    command
}

/// A loopback index serving the build backends and `demo-lib`, and `demo-proj` 1.0, a setup.py
/// project (wagon 1.0.3 packs nothing else from a folder) depending on it.
struct World {
    dir: tempfile::TempDir,
    index: LoopbackIndex,
    project: PathBuf,
    notes: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        for entry in std::fs::read_dir(wheelhouse()).unwrap().flatten() {
            std::fs::copy(entry.path(), served.join(entry.file_name())).unwrap();
        }
        demo_wheels(&served);
        let project = setuptools_project(
            &dir.path().join("projects"),
            "demo-proj",
            "1.0",
            PROJECT_SOURCE,
            Some(("demo-proj", "demo_proj:main")),
            &["demo-lib>=1"],
        );
        let notes = dir.path().join("notes.txt");
        std::fs::write(&notes, "remember the wagon\n").unwrap();
        let index = LoopbackIndex::serve(&served);
        World {
            dir,
            index,
            project,
            notes,
        }
    }

    /// Runs the wagon 1.0.3 API script with `python`, in a work folder of its own.
    fn run_script(&self, python: &Path, work: &str) -> Output {
        let script = workspace_root().join("tests/e2e/python/wagon_one_api.py");
        let work = self.dir.path().join(work);
        std::fs::create_dir_all(&work).unwrap();
        let out = isolated(python, &self.index)
            .current_dir(&work)
            .arg(script)
            .arg(&self.project)
            .arg(&work)
            .arg(&self.notes)
            .output()
            .unwrap();
        // The script's timings per step, shown with --nocapture or on failure.
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        out
    }
}

/// `pip install --no-index WHEEL` into a fresh venv.
fn venv_with_wheel(index: &LoopbackIndex) -> Venv {
    let wheel = built_wheel();
    let venv = Venv::new(true);
    let out = isolated(&venv.python(), index)
        .args(["-m", "pip", "install", "--no-index"])
        .arg(&wheel)
        .output()
        .unwrap();
    assert_success(&out);
    venv
}

#[test]
fn wheel_serves_the_wagon_one_api() {
    let world = World::new();
    let venv = venv_with_wheel(&world.index);
    // pip put the binary in the venv's scripts folder, where PATH finds it once activated.
    let version = Command::new(venv.script("wagon"))
        .arg("--version")
        .output()
        .unwrap();
    assert_success(&version);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("wagon "));
    // The venv's bin is not on this PATH: the module finds the wheel's binary through its RECORD.
    let out = world.run_script(&venv.python(), "new");
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("api ok"),
        "{out:?}"
    );
    // `python -m wagon` is the command too.
    let module = Command::new(venv.python())
        .args(["-m", "wagon", "--version"])
        .output()
        .unwrap();
    assert_success(&module);
    assert_eq!(module.stdout, version.stdout);
}

#[test]
fn the_api_script_passes_against_wagon_one() {
    let python = workspace_root().join("target/compat/wagon-1.0.3/bin/python");
    assert!(
        python.is_file(),
        "no wagon 1.0.3 at {}: run .ci/setup",
        python.display()
    );
    let world = World::new();
    let out = world.run_script(&python, "old");
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("api ok"),
        "{out:?}"
    );
}

#[test]
fn uv_tool_install_puts_wagon_on_path() {
    let wheel = built_wheel();
    let uv = workspace_root().join("target/compat/lock-tools/bin/uv");
    assert!(uv.is_file(), "no uv at {}: run .ci/setup", uv.display());
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let out = Command::new(&uv)
        .args(["tool", "install", "--offline", "--no-index", "--python"])
        .arg(wagon_test_support::python::python3())
        .arg(&wheel)
        .env("UV_TOOL_DIR", dir.path().join("tools"))
        .env("UV_TOOL_BIN_DIR", &bin)
        .env("UV_CACHE_DIR", dir.path().join("cache"))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert_success(&out);
    let version = Command::new(bin.join("wagon"))
        .arg("--version")
        .output()
        .unwrap();
    assert_success(&version);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("wagon "));
}
