//! Shared fixtures for the end-to-end tests: the binary, a small set of demo wheels, and
//! archives of every format holding them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use wagon_core::archive::{OutputFormat, write_archive};
use wagon_core::pack::{PackRequest, prepare};
use wagon_test_support::legacy::{LegacyFormat, legacy_package_json, legacy_wagon};
use wagon_test_support::wheel::WheelBuilder;

/// The `wagon` binary, with no ambient virtualenv, and pip cut off from the machine's own
/// configuration, cache and proxies so that only the tests' loopback index is ever asked.
pub fn wagon() -> Command {
    Command::from_std(wagon_std())
}

/// [`wagon`] as a plain `std::process::Command`, for spawning several at once.
pub fn wagon_std() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wagon"));
    command
        .env_remove("VIRTUAL_ENV")
        .env_remove("WAGON_LOG")
        .env_remove("WAGON_GITHUB_API_URL");
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("PIP_") || key.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(key);
        }
    }
    command
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_NO_CACHE_DIR", "1");
    command
}

/// Every archive format a test runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    TarGz,
    TarZst,
    Zip,
    LegacyZip,
    LegacyTarGz,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::TarGz,
        Format::TarZst,
        Format::Zip,
        Format::LegacyZip,
        Format::LegacyTarGz,
    ];
}

/// `demo-app` 1.0 (module `demo_app`, script `demo-app`) needing `demo-lib>=1`, with an extra
/// `fancy` pulling `demo-fancy`, and a dependency whose marker never holds on Python 3.
pub fn demo_wheels(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    vec![
        WheelBuilder::new("demo-app", "1.0")
            .module(
                "demo_app",
                "from demo_lib import greet\n\ndef main():\n    print(greet('wagon'))\n",
            )
            .console_script("demo-app", "demo_app:main")
            .requires_dist("demo-lib>=1")
            .requires_dist("demo-fancy; extra == \"fancy\"")
            .requires_dist("never-needed; python_version < \"3\"")
            .provides_extra("fancy")
            .requires_python(">=3.8")
            .build(dir),
        WheelBuilder::new("demo-lib", "1.2")
            .module(
                "demo_lib",
                "def greet(name):\n    return f'hello, {name}'\n",
            )
            .build(dir),
        WheelBuilder::new("demo-fancy", "0.3")
            .module("demo_fancy", "FANCY = True\n")
            .build(dir),
    ]
}

/// An archive of the demo wheels in `format`, written into `dir`.
pub fn demo_archive(dir: &Path, format: Format) -> PathBuf {
    let wheels = demo_wheels(&dir.join("wheelhouse"));
    archive_of(
        dir,
        format,
        "demo-app",
        "1.0",
        &wheels,
        &[("notes.txt", b"remember the wagon\n".to_vec())],
    )
}

/// An archive of `wheels` in `format`, with extra `files`.
pub fn archive_of(
    dir: &Path,
    format: Format,
    name: &str,
    version: &str,
    wheels: &[PathBuf],
    files: &[(&str, Vec<u8>)],
) -> PathBuf {
    match format {
        Format::LegacyZip | Format::LegacyTarGz => {
            let names: Vec<String> = wheels
                .iter()
                .map(|w| w.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut json = legacy_package_json(name, version, &names, "any", &["py311"]);
            if !files.is_empty() {
                json["files"] =
                    serde_json::json!(files.iter().map(|(n, _)| *n).collect::<Vec<_>>());
            }
            let legacy = if format == Format::LegacyZip {
                LegacyFormat::Zip
            } else {
                LegacyFormat::TarGz
            };
            let out = dir.join(if format == Format::LegacyZip {
                "legacy-zip"
            } else {
                "legacy-tgz"
            });
            std::fs::create_dir_all(&out).unwrap();
            legacy_wagon(&out, legacy, name, &json, wheels, files)
        }
        Format::TarGz | Format::TarZst | Format::Zip => {
            let files_dir = dir.join("added-files");
            std::fs::create_dir_all(&files_dir).unwrap();
            let file_paths: Vec<PathBuf> = files
                .iter()
                .map(|(n, bytes)| {
                    let path = files_dir.join(n);
                    std::fs::write(&path, bytes).unwrap();
                    path
                })
                .collect();
            let request = PackRequest {
                package_name: name.to_string(),
                package_version: version.to_string(),
                python_tags: vec!["py3".to_string()],
                source: name.to_string(),
                wheels: wheels.to_vec(),
                files: file_paths,
                ..PackRequest::default()
            };
            let layout = prepare(&request).unwrap().layout;
            let (output, suffix): (OutputFormat, &str) = match format {
                Format::TarGz => (
                    OutputFormat::Tar {
                        compressor: Arc::new(wagon_compress_gzip::Gzip),
                        level: 6,
                    },
                    "tar.gz.wgn",
                ),
                Format::TarZst => (
                    OutputFormat::Tar {
                        compressor: Arc::new(wagon_compress_zstd::Zstd),
                        level: 3,
                    },
                    "tar.zst.wgn",
                ),
                _ => (OutputFormat::Zip, "zip.wgn"),
            };
            let path = dir.join(format!("{name}-{version}.{suffix}"));
            write_archive(&layout, &output, &path).unwrap();
            path
        }
    }
}

/// Stdout of a finished command as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file below `dir`, relative, sorted: to prove nothing appeared where it should not.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// [`tree`] of an environment without the install lock file, which an install attempt leaves
/// behind whether or not it changed anything.
pub fn env_tree(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|p| !p.ends_with(".wagon-install.lock"))
        .collect()
}

/// Asserts a command succeeded, showing what it printed when it did not.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every entry below `dir` with its content (files' bytes, links' targets), skipping the install
/// lock: to prove a refused install changed nothing, byte for byte.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    env_tree(dir)
        .into_iter()
        .map(|relative| {
            let path = dir.join(&relative);
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let content = if meta.file_type().is_symlink() {
                std::fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                b"<folder>".to_vec()
            };
            (relative, content)
        })
        .collect()
}

/// Packs an unpacked archive's top folder back into a tar.gz, as a tampering user would.
pub fn repack(top: &Path, out: &Path) -> PathBuf {
    let name = top.file_name().unwrap().to_string_lossy().into_owned();
    wagon_test_support::sdist::tar_gz_dir(top, &name, out)
}

/// Unpacks an archive the way a user without Wagon would: Python's own tarfile or zipfile.
pub fn unpack_by_hand(archive: &Path, dest: &Path) {
    let script = "import sys, tarfile, zipfile\np, d = sys.argv[1], sys.argv[2]\n(zipfile.ZipFile(p).extractall(d) if zipfile.is_zipfile(p) else tarfile.open(p).extractall(d))";
    let python = wagon_test_support::python::python3();
    wagon_test_support::python::run_python(
        &python,
        &[
            "-c",
            script,
            archive.to_str().unwrap(),
            dest.to_str().unwrap(),
        ],
    );
}

/// `wagon install ARCHIVE --venv VENV EXTRA…`, run to completion.
pub fn install_into(
    archive: &Path,
    venv: &wagon_test_support::venv::Venv,
    extra: &[&str],
) -> std::process::Output {
    wagon()
        .arg("install")
        .arg(archive)
        .arg("--venv")
        .arg(venv.root())
        .args(extra)
        .output()
        .unwrap()
}
