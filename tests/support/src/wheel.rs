//! Builds real, spec-compliant wheels (PEP 427) byte-reproducibly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Builder for a wheel file.
///
/// Files given with [`WheelBuilder::file`] at the path of a generated metadata
/// file (`METADATA`, `WHEEL`, `entry_points.txt`, `RECORD`) replace the generated
/// one, which is how tests make wheels with broken metadata.
#[derive(Debug, Clone)]
pub struct WheelBuilder {
    name: String,
    version: String,
    tag: String,
    build_tag: Option<String>,
    requires_dist: Vec<String>,
    provides_extra: Vec<String>,
    requires_python: Option<String>,
    files: BTreeMap<String, Vec<u8>>,
    console_scripts: Vec<(String, String)>,
    gui_scripts: Vec<(String, String)>,
}

impl WheelBuilder {
    /// A pure-Python wheel tagged `py3-none-any`.
    pub fn new(name: &str, version: &str) -> Self {
        WheelBuilder {
            name: name.to_owned(),
            version: version.to_owned(),
            tag: "py3-none-any".to_owned(),
            build_tag: None,
            requires_dist: Vec::new(),
            provides_extra: Vec::new(),
            requires_python: None,
            files: BTreeMap::new(),
            console_scripts: Vec::new(),
            gui_scripts: Vec::new(),
        }
    }

    /// The (possibly compressed, e.g. `py2.py3-none-any`) compatibility tag.
    ///
    /// The wheel is `Root-Is-Purelib: true` only when every expanded tag has ABI
    /// `none` and platform `any`.
    pub fn tag(mut self, tag: &str) -> Self {
        assert_eq!(
            tag.split('-').count(),
            3,
            "a wheel tag is python-abi-platform, got {tag:?}"
        );
        self.tag = tag.to_owned();
        self
    }

    /// Adds a `Requires-Dist` line (any PEP 508 string, markers and extras included).
    pub fn requires_dist(mut self, req: &str) -> Self {
        self.requires_dist.push(req.to_owned());
        self
    }

    /// Adds a `Provides-Extra` line.
    pub fn provides_extra(mut self, extra: &str) -> Self {
        self.provides_extra.push(extra.to_owned());
        self
    }

    /// Sets `Requires-Python`.
    pub fn requires_python(mut self, spec: &str) -> Self {
        self.requires_python = Some(spec.to_owned());
        self
    }

    /// Adds an arbitrary file, e.g. `"{name}-{ver}.data/scripts/foo"`.
    pub fn file(mut self, path_in_wheel: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path_in_wheel.to_owned(), contents.into());
        self
    }

    /// Adds module `module` (dotted names map to directories) with `source`.
    pub fn module(self, module: &str, source: &str) -> Self {
        let path = format!("{}.py", module.replace('.', "/"));
        self.file(&path, source)
    }

    /// Adds package `pkg` (dotted names map to directories) with `init_source` as its `__init__.py`.
    pub fn package(self, pkg: &str, init_source: &str) -> Self {
        let path = format!("{}/__init__.py", pkg.replace('.', "/"));
        self.file(&path, init_source)
    }

    /// Adds a `[console_scripts]` entry point `name = target` (`module:func`).
    pub fn console_script(mut self, name: &str, target: &str) -> Self {
        self.console_scripts
            .push((name.to_owned(), target.to_owned()));
        self
    }

    /// Adds a `[gui_scripts]` entry point `name = target` (`module:func`).
    pub fn gui_script(mut self, name: &str, target: &str) -> Self {
        self.gui_scripts.push((name.to_owned(), target.to_owned()));
        self
    }

    /// Sets the optional build tag (must start with a digit to be valid).
    pub fn build_tag(mut self, tag: &str) -> Self {
        self.build_tag = Some(tag.to_owned());
        self
    }

    /// The wheel's file name, e.g. `my_pkg-1.0-py3-none-any.whl`.
    pub fn filename(&self) -> String {
        let build = self
            .build_tag
            .as_ref()
            .map(|b| format!("-{b}"))
            .unwrap_or_default();
        format!(
            "{}-{}{build}-{}.whl",
            escape_name(&self.name),
            escape_version(&self.version),
            self.tag
        )
    }

    /// The `.dist-info` directory name inside the wheel.
    pub fn dist_info(&self) -> String {
        format!(
            "{}-{}.dist-info",
            escape_name(&self.name),
            escape_version(&self.version)
        )
    }

    /// Writes the wheel into `dir` (created if missing) and returns its path.
    pub fn build(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join(self.filename());
        std::fs::write(&path, self.build_bytes())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// The wheel's bytes; identical for identical builders.
    pub fn build_bytes(&self) -> Vec<u8> {
        let dist_info = self.dist_info();
        let record_path = format!("{dist_info}/RECORD");

        let mut files = BTreeMap::new();
        files.insert(
            format!("{dist_info}/METADATA"),
            self.metadata().into_bytes(),
        );
        files.insert(format!("{dist_info}/WHEEL"), self.wheel_file().into_bytes());
        if let Some(entry_points) = self.entry_points() {
            files.insert(
                format!("{dist_info}/entry_points.txt"),
                entry_points.into_bytes(),
            );
        }
        files.extend(self.files.clone());
        let record = files
            .remove(&record_path)
            .unwrap_or_else(|| record(&files, &record_path).into_bytes());

        // The spec asks for .dist-info at the end of the archive and RECORD last, so
        // readers can stream; within each group the order is sorted for reproducibility.
        let (mut order, meta): (Vec<_>, Vec<_>) = files
            .into_iter()
            .partition(|(path, _)| !path.starts_with(&format!("{dist_info}/")));
        order.extend(meta);
        order.push((record_path, record));

        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (path, contents) in &order {
            let mode = if path.contains(".data/scripts/") {
                0o755
            } else {
                0o644
            };
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .last_modified_time(DateTime::default())
                .unix_permissions(mode);
            zip.start_file(path.as_str(), options).unwrap();
            zip.write_all(contents).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn metadata(&self) -> String {
        let mut out = String::new();
        out.push_str("Metadata-Version: 2.1\n");
        writeln!(out, "Name: {}", self.name).unwrap();
        writeln!(out, "Version: {}", self.version).unwrap();
        writeln!(out, "Summary: {} built by wagon-test-support", self.name).unwrap();
        if let Some(spec) = &self.requires_python {
            writeln!(out, "Requires-Python: {spec}").unwrap();
        }
        for req in &self.requires_dist {
            writeln!(out, "Requires-Dist: {req}").unwrap();
        }
        for extra in &self.provides_extra {
            writeln!(out, "Provides-Extra: {extra}").unwrap();
        }
        out
    }

    fn wheel_file(&self) -> String {
        let mut out = String::new();
        out.push_str("Wheel-Version: 1.0\n");
        out.push_str("Generator: wagon-test-support\n");
        writeln!(out, "Root-Is-Purelib: {}", is_purelib(&self.tag)).unwrap();
        for tag in expand_tag(&self.tag) {
            writeln!(out, "Tag: {tag}").unwrap();
        }
        if let Some(build) = &self.build_tag {
            writeln!(out, "Build: {build}").unwrap();
        }
        out
    }

    fn entry_points(&self) -> Option<String> {
        let mut out = String::new();
        for (section, scripts) in [
            ("console_scripts", &self.console_scripts),
            ("gui_scripts", &self.gui_scripts),
        ] {
            if scripts.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            writeln!(out, "[{section}]").unwrap();
            for (name, target) in scripts {
                writeln!(out, "{name} = {target}").unwrap();
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

/// A wheel file name's distribution component: runs of `-_.` become `_`, lowercased.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('_');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// A wheel file name's version component: `-` would split the name, so it becomes `_`.
fn escape_version(version: &str) -> String {
    version.replace('-', "_")
}

/// Every tag a compressed tag set like `py2.py3-none-any` stands for.
pub fn expand_tag(tag: &str) -> Vec<String> {
    let parts: Vec<Vec<&str>> = tag.split('-').map(|p| p.split('.').collect()).collect();
    let [pythons, abis, platforms] = parts.as_slice() else {
        panic!("a wheel tag is python-abi-platform, got {tag:?}");
    };
    let mut tags = Vec::new();
    for python in pythons {
        for abi in abis {
            for platform in platforms {
                tags.push(format!("{python}-{abi}-{platform}"));
            }
        }
    }
    tags
}

/// Whether a wheel with this tag holds only pure Python (ABI `none`, platform `any`).
fn is_purelib(tag: &str) -> bool {
    expand_tag(tag).iter().all(|t| t.ends_with("-none-any"))
}

/// RECORD's line for one file: `path,sha256=<urlsafe base64, unpadded>,size`.
pub fn record_line(path: &str, contents: &[u8]) -> String {
    let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(contents));
    format!("{},sha256={digest},{}", csv_field(path), contents.len())
}

fn record(files: &BTreeMap<String, Vec<u8>>, record_path: &str) -> String {
    let mut out = String::new();
    for (path, contents) in files {
        out.push_str(&record_line(path, contents));
        out.push('\n');
    }
    writeln!(out, "{},,", csv_field(record_path)).unwrap();
    out
}

/// Quotes a CSV field the way Python's `csv` module does when it has to.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::python::stdout_text;
    use crate::venv::Venv;

    fn read_zip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                (entry.name().to_owned(), data)
            })
            .collect()
    }

    #[test]
    fn filename_and_dist_info_are_normalized() {
        let wheel = WheelBuilder::new("My.Pkg--Name", "1.0");
        assert_eq!(wheel.filename(), "my_pkg_name-1.0-py3-none-any.whl");
        assert_eq!(wheel.dist_info(), "my_pkg_name-1.0.dist-info");
        let wheel = WheelBuilder::new("x", "2.0")
            .build_tag("1abc")
            .tag("cp311-cp311-manylinux_2_17_x86_64");
        assert_eq!(
            wheel.filename(),
            "x-2.0-1abc-cp311-cp311-manylinux_2_17_x86_64.whl"
        );
    }

    #[test]
    fn tags_expand_and_decide_purelib() {
        assert_eq!(
            expand_tag("py2.py3-none-any"),
            ["py2-none-any", "py3-none-any"]
        );
        assert!(is_purelib("py2.py3-none-any"));
        assert!(!is_purelib("cp311-cp311-linux_x86_64"));
        assert!(!is_purelib("py3-none-linux_x86_64"));
        let wheel = WheelBuilder::new("x", "1")
            .tag("cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")
            .build_bytes();
        let files = read_zip(&wheel);
        let (_, wheel_file) = files.iter().find(|(n, _)| n.ends_with("/WHEEL")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(wheel_file),
            "Wheel-Version: 1.0\nGenerator: wagon-test-support\nRoot-Is-Purelib: false\n\
             Tag: cp311-abi3-manylinux_2_17_x86_64\nTag: cp311-abi3-manylinux2014_x86_64\n"
        );
    }

    #[test]
    fn layout_metadata_and_record_are_complete() {
        let bytes = WheelBuilder::new("Demo-Pkg", "0.3")
            .requires_python(">=3.8")
            .requires_dist("requests>=2; extra == \"http\"")
            .requires_dist("attrs")
            .provides_extra("http")
            .package("demo_pkg", "X = 1\n")
            .module("demo_cli", "def main():\n    pass\n")
            .console_script("demo", "demo_cli:main")
            .gui_script("demo-gui", "demo_cli:main")
            .build_bytes();
        let files = read_zip(&bytes);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "demo_cli.py",
                "demo_pkg/__init__.py",
                "demo_pkg-0.3.dist-info/METADATA",
                "demo_pkg-0.3.dist-info/WHEEL",
                "demo_pkg-0.3.dist-info/entry_points.txt",
                "demo_pkg-0.3.dist-info/RECORD",
            ]
        );
        let text = |i: usize| String::from_utf8(files[i].1.clone()).unwrap();
        assert_eq!(
            text(2),
            "Metadata-Version: 2.1\nName: Demo-Pkg\nVersion: 0.3\n\
             Summary: Demo-Pkg built by wagon-test-support\nRequires-Python: >=3.8\n\
             Requires-Dist: requests>=2; extra == \"http\"\nRequires-Dist: attrs\n\
             Provides-Extra: http\n"
        );
        assert_eq!(
            text(4),
            "[console_scripts]\ndemo = demo_cli:main\n\n[gui_scripts]\ndemo-gui = demo_cli:main\n"
        );
        let record = text(5);
        let lines: Vec<&str> = record.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[5], "demo_pkg-0.3.dist-info/RECORD,,");
        for (name, data) in &files[..5] {
            assert!(lines.contains(&record_line(name, data).as_str()));
        }
        // Known vector: sha256 of the empty string.
        assert_eq!(
            record_line("a,b", b""),
            "\"a,b\",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0"
        );
    }

    #[test]
    fn builds_are_byte_reproducible_and_overridable() {
        let make = || WheelBuilder::new("same", "1.0").module("same", "pass\n");
        assert_eq!(make().build_bytes(), make().build_bytes());
        let broken = make()
            .file("same-1.0.dist-info/METADATA", "garbage")
            .build_bytes();
        let files = read_zip(&broken);
        assert!(files.contains(&(
            "same-1.0.dist-info/METADATA".to_owned(),
            b"garbage".to_vec()
        )));
    }

    #[test]
    fn pip_installs_built_wheel_and_its_script_runs() {
        let dir = tempfile::tempdir().unwrap();
        WheelBuilder::new("Wagon-Fixture.Demo", "1.2.3")
            .module(
                "wagon_fixture_demo",
                "def main():\n    print('hello from fixture')\n",
            )
            .console_script("wagon-fixture-demo", "wagon_fixture_demo:main")
            .file(
                "wagon_fixture_demo-1.2.3.data/scripts/raw-script",
                "#!python\nprint('raw')\n",
            )
            .build(dir.path());
        let venv = Venv::new(false);
        venv.pip_install_host(&[
            "--no-index",
            "--find-links",
            dir.path().to_str().unwrap(),
            "wagon-fixture-demo",
        ]);
        assert_eq!(
            venv.installed("wagon-fixture-demo").as_deref(),
            Some("1.2.3")
        );
        assert!(venv.can_import("wagon_fixture_demo"));
        let out = crate::python::run_checked(&mut std::process::Command::new(
            venv.script("wagon-fixture-demo"),
        ));
        assert_eq!(stdout_text(&out), "hello from fixture");
        assert!(venv.bin_dir().join("raw-script").is_file());
    }
}
