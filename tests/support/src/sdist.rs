//! Writes buildable Python source projects and packs them as sdist-style tarballs.

use std::env;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::wheel::escape_name;

/// Environment variable naming the directory that holds pre-downloaded wheels.
pub const WHEELHOUSE_ENV: &str = "WAGON_TEST_WHEELHOUSE";

/// Writes a flit-built project (only `pyproject.toml`, backend `flit_core.buildapi`).
///
/// The project goes into `dir/{name}-{version}/`, which is returned, holding the
/// module `{normalized name}.py`: a docstring, `__version__` and `module_source`.
/// `console_script` is `(script name, "module:func")`; `deps` are PEP 508 strings.
/// Building it offline needs flit_core, see [`fetch_flit_core_wheel`].
pub fn flit_project(
    dir: &Path,
    name: &str,
    version: &str,
    module_source: &str,
    console_script: Option<(&str, &str)>,
    deps: &[&str],
) -> PathBuf {
    let module = escape_name(name);
    let mut pyproject = String::new();
    pyproject.push_str(
        "[build-system]\n\
         requires = [\"flit_core>=3.2,<4\"]\n\
         build-backend = \"flit_core.buildapi\"\n\n",
    );
    pyproject.push_str("[project]\n");
    writeln!(pyproject, "name = {}", quoted(name)).unwrap();
    writeln!(pyproject, "version = {}", quoted(version)).unwrap();
    writeln!(
        pyproject,
        "description = {}",
        quoted(&format!("{name} test fixture"))
    )
    .unwrap();
    let deps: Vec<String> = deps.iter().map(|d| quoted(d)).collect();
    writeln!(pyproject, "dependencies = [{}]", deps.join(", ")).unwrap();
    if let Some((script, target)) = console_script {
        writeln!(
            pyproject,
            "\n[project.scripts]\n{} = {}",
            quoted(script),
            quoted(target)
        )
        .unwrap();
    }
    // Named explicitly so flit never has to guess the module from the project name.
    writeln!(
        pyproject,
        "\n[tool.flit.module]\nname = {}",
        quoted(&module)
    )
    .unwrap();

    let root = project_dir(dir, name, version);
    write(&root.join("pyproject.toml"), &pyproject);
    write_module(&root, &module, name, version, module_source);
    root
}

/// Writes a setuptools project driven by `setup.py` alone (no `pyproject.toml`).
///
/// Same layout and arguments as [`flit_project`].
pub fn setuptools_project(
    dir: &Path,
    name: &str,
    version: &str,
    module_source: &str,
    console_script: Option<(&str, &str)>,
    deps: &[&str],
) -> PathBuf {
    let module = escape_name(name);
    let deps: Vec<String> = deps.iter().map(|d| quoted(d)).collect();
    let mut setup = String::new();
    setup.push_str("from setuptools import setup\n\nsetup(\n");
    writeln!(setup, "    name={},", quoted(name)).unwrap();
    writeln!(setup, "    version={},", quoted(version)).unwrap();
    writeln!(
        setup,
        "    description={},",
        quoted(&format!("{name} test fixture"))
    )
    .unwrap();
    writeln!(setup, "    py_modules=[{}],", quoted(&module)).unwrap();
    writeln!(setup, "    install_requires=[{}],", deps.join(", ")).unwrap();
    if let Some((script, target)) = console_script {
        let entry = quoted(&format!("{script} = {target}"));
        writeln!(
            setup,
            "    entry_points={{\"console_scripts\": [{entry}]}},"
        )
        .unwrap();
    }
    setup.push_str(")\n");

    let root = project_dir(dir, name, version);
    write(&root.join("setup.py"), &setup);
    write_module(&root, &module, name, version, module_source);
    root
}

/// Packs `project_dir` as `out_dir/{dir name}.tar.gz` under one top folder `{dir name}/`.
///
/// The projects above live in `{name}-{version}/`, so this yields
/// `{name}-{version}.tar.gz` holding `{name}-{version}/...`: the shape of an sdist
/// or a GitHub tarball.
pub fn sdist_tar_gz(project_dir: &Path, out_dir: &Path) -> PathBuf {
    let top = project_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("{} has no usable name", project_dir.display()));
    tar_gz_dir(project_dir, top, &out_dir.join(format!("{top}.tar.gz")))
}

/// Packs the contents of `dir` into the tar.gz `out` under the top folder `top`.
///
/// Entries are sorted so the archive does not depend on directory listing order.
pub fn tar_gz_dir(dir: &Path, top: &str, out: &Path) -> PathBuf {
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    let file = File::create(out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    append_sorted(&mut tar, dir, Path::new(top));
    tar.into_inner().unwrap().finish().unwrap();
    out.to_path_buf()
}

fn append_sorted<W: std::io::Write>(tar: &mut tar::Builder<W>, dir: &Path, name: &Path) {
    tar.append_dir(name, dir).unwrap();
    let mut children: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    children.sort();
    for child in children {
        let child_name = name.join(child.file_name().unwrap());
        if child.is_dir() && !child.is_symlink() {
            append_sorted(tar, &child, &child_name);
        } else {
            tar.append_path_with_name(&child, &child_name).unwrap();
        }
    }
}

/// Copies the pre-downloaded flit_core wheel into `dest` and returns the copy's path.
///
/// The wheel comes from `$WAGON_TEST_WHEELHOUSE`, by default
/// `<workspace>/target/test-wheelhouse`, so that building flit projects never
/// needs the network during tests.
///
/// # Panics
///
/// When no flit_core wheel is there: run `.ci/setup` (or
/// `tests/support/setup-wheelhouse.sh`) first.
pub fn fetch_flit_core_wheel(dest: &Path) -> PathBuf {
    let house = wheelhouse();
    let found = fs::read_dir(&house)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("flit_core-") && n.ends_with(".whl"))
        })
        .max()
        .unwrap_or_else(|| {
            panic!(
                "no flit_core wheel in {}: run `.ci/setup` (or tests/support/setup-wheelhouse.sh), \
                 which runs `pip download flit_core==3.9.0 --only-binary :all: -d {}`, \
                 or point {WHEELHOUSE_ENV} at a directory holding one",
                house.display(),
                house.display()
            )
        });
    fs::create_dir_all(dest).unwrap();
    let copy = dest.join(found.file_name().unwrap());
    fs::copy(&found, &copy)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", found.display(), copy.display()));
    copy
}

/// The wheelhouse directory: `$WAGON_TEST_WHEELHOUSE` or `<workspace>/target/test-wheelhouse`.
pub fn wheelhouse() -> PathBuf {
    match env::var_os(WHEELHOUSE_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target").join("test-wheelhouse"),
    }
}

/// The workspace root, two levels above this crate.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("wagon-test-support lives at <workspace>/tests/support")
        .to_path_buf()
}

fn project_dir(dir: &Path, name: &str, version: &str) -> PathBuf {
    let root = dir.join(format!("{name}-{version}"));
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
    root
}

fn write_module(root: &Path, module: &str, name: &str, version: &str, source: &str) {
    let text = format!(
        "\"\"\"{name}: a Wagon test fixture.\"\"\"\n\n__version__ = {}\n\n{source}",
        quoted(version)
    );
    write(&root.join(format!("{module}.py")), &text);
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// A double-quoted string literal valid in both TOML and Python.
///
/// PEP 508 markers carry quotes of their own, so escaping is not optional.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::process::Command;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::python::{python3, run_checked, stdout_text};
    use crate::venv::Venv;

    #[test]
    fn flit_project_builds_offline_from_its_sdist() {
        let tmp = tempfile::tempdir().unwrap();
        let links = tmp.path().join("links");
        fetch_flit_core_wheel(&links);
        let project = flit_project(
            tmp.path(),
            "Flit-Demo",
            "0.4",
            "def main():\n    print('flit ok')\n",
            Some(("flit-demo", "flit_demo:main")),
            &["dep-one; python_version >= \"3\""],
        );
        let sdist = sdist_tar_gz(&project, &links);
        assert_eq!(sdist, links.join("Flit-Demo-0.4.tar.gz"));
        crate::wheel::WheelBuilder::new("dep-one", "1.0")
            .module("dep_one", "")
            .build(&links);

        let venv = Venv::new(false);
        venv.pip_install_host(&[
            "--no-index",
            "--find-links",
            links.to_str().unwrap(),
            sdist.to_str().unwrap(),
        ]);
        assert_eq!(venv.installed("flit-demo").as_deref(), Some("0.4"));
        assert_eq!(venv.installed("dep-one").as_deref(), Some("1.0"));
        let version = venv.run(&["-c", "import flit_demo; print(flit_demo.__version__)"]);
        assert_eq!(stdout_text(&version), "0.4");
        let out = run_checked(&mut Command::new(venv.script("flit-demo")));
        assert_eq!(stdout_text(&out), "flit ok");
    }

    #[test]
    fn setup_py_passes_the_expected_arguments() {
        let tmp = tempfile::tempdir().unwrap();
        let project = setuptools_project(
            tmp.path(),
            "st-demo",
            "2.0",
            "",
            Some(("st-demo", "st_demo:main")),
            &["a>=1", "b; sys_platform == \"linux\""],
        );
        assert!(project.join("st_demo.py").is_file());
        assert!(!project.join("pyproject.toml").exists());
        // A stand-in setuptools records what setup.py passes, without needing setuptools.
        let shim = tmp.path().join("shim");
        fs::create_dir(&shim).unwrap();
        write(
            &shim.join("setuptools.py"),
            "import json, sys\ndef setup(**kw):\n    json.dump(kw, sys.stdout, sort_keys=True)\n",
        );
        let out = run_checked(
            Command::new(python3())
                .arg("setup.py")
                .current_dir(&project)
                .env("PYTHONPATH", &shim),
        );
        let kwargs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            kwargs,
            serde_json::json!({
                "name": "st-demo",
                "version": "2.0",
                "description": "st-demo test fixture",
                "py_modules": ["st_demo"],
                "install_requires": ["a>=1", "b; sys_platform == \"linux\""],
                "entry_points": {"console_scripts": ["st-demo = st_demo:main"]},
            })
        );
    }

    #[test]
    fn sdist_has_one_sorted_top_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let project = flit_project(tmp.path(), "tar-demo", "1.0", "", None, &[]);
        let sdist = sdist_tar_gz(&project, &tmp.path().join("out"));
        let mut bytes = Vec::new();
        GzDecoder::new(File::open(&sdist).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "tar-demo-1.0",
                "tar-demo-1.0/pyproject.toml",
                "tar-demo-1.0/tar_demo.py"
            ]
        );
    }

    #[test]
    fn strings_are_escaped_for_toml_and_python() {
        assert_eq!(quoted(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
