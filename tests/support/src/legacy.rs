//! Builds archives laid out exactly as cloudify wagon 1.0.3 wrote them.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The two archive formats wagon 1.0.3 could write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyFormat {
    /// `zipfile.ZipFile(..., 'w')`: stored, file entries only.
    Zip,
    /// `tarfile.open(..., 'w:gz')`: directory entries included.
    TarGz,
}

/// A plausible mtime (2017-07-14), as a wagon built back then would carry.
const MTIME: u64 = 1_500_000_000;
/// The build user's ids on the servers wagons were typically built on.
const BUILD_UID: u64 = 1000;

/// Writes a wagon-1.0.3-style archive into the directory `out` and returns its path.
///
/// The file is named after `package_json["archive_name"]` (else `{package_name}.wgn`)
/// and holds one top folder `package_name/` with `package.json` (as Python's
/// `json.dumps(indent=4, sort_keys=True)`), `wheels/<file>` for each of `wheels`
/// and `files/<name>` for each of `files`. The tar.gz puts `package.json` after the
/// wheels so readers are proven not to depend on entry order.
pub fn legacy_wagon(
    out: &Path,
    format: LegacyFormat,
    package_name: &str,
    package_json: &Value,
    wheels: &[PathBuf],
    files: &[(&str, Vec<u8>)],
) -> PathBuf {
    let archive_name = package_json["archive_name"]
        .as_str()
        .map_or_else(|| format!("{package_name}.wgn"), str::to_owned);
    fs::create_dir_all(out).unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let path = out.join(archive_name);

    let metadata = python_json_dumps(package_json).into_bytes();
    let wheels: Vec<(String, Vec<u8>)> = wheels
        .iter()
        .map(|wheel| {
            let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
            let bytes =
                fs::read(wheel).unwrap_or_else(|e| panic!("cannot read {}: {e}", wheel.display()));
            (name, bytes)
        })
        .collect();
    let file =
        File::create(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));

    match format {
        LegacyFormat::Zip => write_zip(file, package_name, &metadata, &wheels, files),
        LegacyFormat::TarGz => write_tar_gz(file, package_name, &metadata, &wheels, files),
    }
    path
}

fn write_zip(
    file: File,
    top: &str,
    metadata: &[u8],
    wheels: &[(String, Vec<u8>)],
    files: &[(&str, Vec<u8>)],
) {
    // os.walk order: the top folder's files, then each subfolder.
    let entries = std::iter::once((format!("{top}/package.json"), metadata))
        .chain(
            wheels
                .iter()
                .map(|(name, data)| (format!("{top}/wheels/{name}"), data.as_slice())),
        )
        .chain(
            files
                .iter()
                .map(|(name, data)| (format!("{top}/files/{name}"), data.as_slice())),
        );
    let time = zip::DateTime::from_date_and_time(2017, 7, 14, 2, 40, 0).unwrap();
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(time)
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(file);
    for (name, data) in entries {
        zip.start_file(name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
}

fn write_tar_gz(
    file: File,
    top: &str,
    metadata: &[u8],
    wheels: &[(String, Vec<u8>)],
    files: &[(&str, Vec<u8>)],
) {
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    append(&mut tar, &format!("{top}/"), None);
    append(&mut tar, &format!("{top}/wheels/"), None);
    for (name, data) in wheels {
        append(&mut tar, &format!("{top}/wheels/{name}"), Some(data));
    }
    if !files.is_empty() {
        append(&mut tar, &format!("{top}/files/"), None);
        for (name, data) in files {
            append(&mut tar, &format!("{top}/files/{name}"), Some(data));
        }
    }
    append(&mut tar, &format!("{top}/package.json"), Some(metadata));
    tar.into_inner().unwrap().finish().unwrap();
}

/// Appends a directory (`data` is `None`) or a regular file, owned like a build user's.
fn append<W: std::io::Write>(tar: &mut tar::Builder<W>, name: &str, data: Option<&[u8]>) {
    let mut header = tar::Header::new_gnu();
    header.set_path(name).unwrap();
    header.set_mtime(MTIME);
    header.set_uid(BUILD_UID);
    header.set_gid(BUILD_UID);
    header.set_username("cloudify").unwrap();
    header.set_groupname("cloudify").unwrap();
    match data {
        None => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
        }
        Some(data) => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
        }
    }
    header.set_cksum();
    tar.append(&header, data.unwrap_or_default()).unwrap();
}

/// The `package.json` wagon 1.0.3 writes, with every key it writes.
///
/// `python_requires` is null; set it on the returned value to test a package that had one.
pub fn legacy_package_json(
    name: &str,
    version: &str,
    wheels: &[&str],
    supported_platform: &str,
    pyvers: &[&str],
) -> Value {
    let archive_name = format!(
        "{}-{version}-{}-none-{supported_platform}.wgn",
        name.replace('-', "_"),
        pyvers.join(".")
    );
    // Wagon only probed the OS for platform-specific builds; a CentOS 7 build server
    // was the usual case.
    let os = if supported_platform == "any" {
        serde_json::json!({
            "distribution": null,
            "distribution_release": null,
            "distribution_version": null,
        })
    } else {
        serde_json::json!({
            "distribution": "centos",
            "distribution_release": "core",
            "distribution_version": "7.9.2009",
        })
    };
    let mut wheels: Vec<&str> = wheels.to_vec();
    wheels.sort_unstable();
    serde_json::json!({
        "archive_name": archive_name,
        "build_server_os_properties": os,
        "created_by_wagon_version": "1.0.3",
        "package_build_tag": null,
        "package_name": name,
        "package_source": name,
        "package_version": version,
        "python_requires": null,
        "supported_platform": supported_platform,
        "supported_python_versions": pyvers,
        "wheels": wheels,
    })
}

/// Python 3's `json.dumps(value, indent=4, sort_keys=True)`, byte for byte.
///
/// Written out here rather than trusting serde_json's map order, which a
/// `preserve_order` feature elsewhere in the build could change.
pub fn python_json_dumps(value: &Value) -> String {
    let mut out = String::new();
    dump(value, 0, &mut out);
    out
}

fn dump(value: &Value, depth: usize, out: &mut String) {
    let pad = |depth: usize| "    ".repeat(depth);
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&pad(depth + 1));
                dump(item, depth + 1, out);
            }
            write!(out, "\n{}]", pad(depth)).unwrap();
        }
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&pad(depth + 1));
                dump_str(key, out);
                out.push_str(": ");
                dump(&map[key], depth + 1, out);
            }
            write!(out, "\n{}}}", pad(depth)).unwrap();
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
        Value::String(s) => dump_str(s, out),
        Value::Null => out.push_str("null"),
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string with Python's `ensure_ascii=True` escaping.
fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}").unwrap();
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read as _};
    use std::process::Command;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::python::{python3, run_checked};
    use crate::wheel::WheelBuilder;

    #[test]
    fn package_json_has_every_wagon_key() {
        let json = legacy_package_json(
            "my-pkg",
            "1.0",
            &["b.whl", "a.whl"],
            "any",
            &["py27", "py36"],
        );
        assert_eq!(json["archive_name"], "my_pkg-1.0-py27.py36-none-any.wgn");
        assert_eq!(json["wheels"], serde_json::json!(["a.whl", "b.whl"]));
        assert_eq!(
            json["build_server_os_properties"]["distribution"],
            Value::Null
        );
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 11);
        let linux = legacy_package_json("x", "1", &[], "linux_x86_64", &["py3"]);
        assert_eq!(
            linux["build_server_os_properties"]["distribution"],
            "centos"
        );
    }

    #[test]
    fn json_matches_python_byte_for_byte() {
        let mut json = legacy_package_json("päck", "1.0", &["x.whl"], "any", &["py3"]);
        json["python_requires"] = ">=3.6, \"quoted\"\t\u{7f}\u{1}🚀".into();
        json["extra"] = serde_json::json!({"z": [], "a": {}, "n": 1.5, "t": true});
        let ours = python_json_dumps(&json);
        let out = run_checked(
            Command::new(python3())
                .args(["-c", "import json, sys; sys.stdout.write(json.dumps(json.loads(sys.argv[1]), indent=4, sort_keys=True))"])
                .arg(json.to_string()),
        );
        assert_eq!(ours, String::from_utf8(out.stdout).unwrap());
    }

    fn fixture(format: LegacyFormat) -> (tempfile::TempDir, PathBuf, Value) {
        let tmp = tempfile::tempdir().unwrap();
        let wheel = WheelBuilder::new("legacy-demo", "1.0").build(&tmp.path().join("w"));
        let json = legacy_package_json(
            "legacy-demo",
            "1.0",
            &["legacy_demo-1.0-py3-none-any.whl"],
            "any",
            &["py3"],
        );
        let path = legacy_wagon(
            tmp.path(),
            format,
            "legacy-demo",
            &json,
            &[wheel],
            &[("notes.txt", b"hi".to_vec())],
        );
        (tmp, path, json)
    }

    #[test]
    fn zip_is_stored_files_only() {
        let (tmp, path, json) = fixture(LegacyFormat::Zip);
        assert_eq!(path, tmp.path().join("legacy_demo-1.0-py3-none-any.wgn"));
        let mut archive = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        let mut names = Vec::new();
        for i in 0..archive.len() {
            let entry = archive.by_index(i).unwrap();
            assert_eq!(entry.compression(), CompressionMethod::Stored);
            names.push(entry.name().to_owned());
        }
        assert_eq!(
            names,
            [
                "legacy-demo/package.json",
                "legacy-demo/wheels/legacy_demo-1.0-py3-none-any.whl",
                "legacy-demo/files/notes.txt",
            ]
        );
        let mut text = String::new();
        archive
            .by_name("legacy-demo/package.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, python_json_dumps(&json));
    }

    #[test]
    fn tar_gz_has_dirs_owners_and_package_json_last() {
        let (_tmp, path, _) = fixture(LegacyFormat::TarGz);
        let mut bytes = Vec::new();
        GzDecoder::new(File::open(&path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let mut archive = tar::Archive::new(Cursor::new(bytes));
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            assert_eq!(entry.header().uid().unwrap(), 1000);
            assert_eq!(entry.header().mtime().unwrap(), MTIME);
            names.push(String::from_utf8(entry.path_bytes().into_owned()).unwrap());
        }
        assert_eq!(
            names,
            [
                "legacy-demo/",
                "legacy-demo/wheels/",
                "legacy-demo/wheels/legacy_demo-1.0-py3-none-any.whl",
                "legacy-demo/files/",
                "legacy-demo/files/notes.txt",
                "legacy-demo/package.json",
            ]
        );
    }
}
