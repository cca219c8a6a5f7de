//! Test fixtures: a virtualenv-shaped environment built by hand in a tempdir (no Python), staged
//! wheels and installed distributions in it, and snapshots of what it holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wagon_core::containment::{Scheme, SchemeRoots};

use crate::layout::Layout;
use crate::staging::STAGING_PREFIX;
use crate::unpack::{StagedFile, StagedWheel};

/// A fake environment: `venv/` with `bin/` and `lib/python3.12/site-packages/`.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub layout: Layout,
    pub site: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("venv");
        let site = prefix.join("lib/python3.12/site-packages");
        let bin = prefix.join("bin");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let python = bin.join("python");
        let roots = SchemeRoots::new(
            &site,
            &site,
            &bin,
            &prefix,
            &prefix.join("include/site/python3.12"),
            std::slice::from_ref(&python),
        );
        let layout = Layout {
            python,
            roots,
            prefix,
        };
        Self { dir, layout, site }
    }

    /// A staging folder in site-packages, as an install makes one.
    pub fn staging(&self) -> PathBuf {
        let staging = self.site.join(format!("{STAGING_PREFIX}test"));
        std::fs::create_dir_all(&staging).unwrap();
        staging
    }

    /// Writes `files` (relative to site-packages) into `staging`'s folder for wheel `index`,
    /// mirroring their destinations as unpacking does.
    pub fn stage(
        &self,
        staging: &Path,
        index: usize,
        name: &str,
        version: &str,
        files: &[(&str, &str)],
    ) -> StagedWheel {
        let roots = &self.layout.roots;
        let files = files
            .iter()
            .map(|(relative, contents)| {
                let dest = roots.join(Scheme::Purelib, relative).unwrap();
                let staged = staging
                    .join(index.to_string())
                    .join(dest.root.to_string())
                    .join(relative);
                std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
                std::fs::write(&staged, contents).unwrap();
                StagedFile {
                    staged,
                    dest: dest.path,
                    root: dest.root,
                }
            })
            .collect();
        StagedWheel {
            name: wagon_core::python::package_name(name).unwrap(),
            version: version.to_string(),
            dist_info: self.site.join(format!("{name}-{version}.dist-info")),
            lib_dir: self.site.clone(),
            files,
        }
    }

    /// Installs a distribution by hand: `files` (relative to site-packages) and a dist-info
    /// whose RECORD lists them.
    pub fn install(&self, name: &str, version: &str, files: &[(&str, &str)]) {
        let dist_info = format!("{name}-{version}.dist-info");
        let mut record = String::new();
        for (relative, contents) in files {
            self.write(relative, contents);
            record.push_str(&format!("{relative},,\n"));
        }
        self.write(&format!("{dist_info}/METADATA"), "Metadata-Version: 2.1\n");
        record.push_str(&format!("{dist_info}/METADATA,,\n{dist_info}/RECORD,,\n"));
        self.write(&format!("{dist_info}/RECORD"), &record);
    }

    /// Writes a file below site-packages, creating its folders.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.site.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// A file's text below site-packages, `None` if there is none.
    pub fn read(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.site.join(relative)).ok()
    }

    /// Everything in the environment except Wagon's own `.wagon-*` files and folders: each
    /// path (relative to the prefix) with a file's contents, `/` for a folder, `->` a link.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        walk(&self.layout.prefix, &self.layout.prefix, &mut out);
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with(".wagon-") {
            continue;
        }
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(relative, format!("-> {}", target.display()));
        } else if kind.is_dir() {
            out.insert(relative, "/".to_string());
            walk(root, &path, out);
        } else {
            out.insert(relative, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
