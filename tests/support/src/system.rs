//! A stand-in for a distribution's own interpreter (`/usr/bin/python3`), made from the host's:
//! a copy of its executable in a fresh prefix whose stdlib folder links to the host's stdlib,
//! so Python finds its prefix there. It is no virtualenv (`sys.prefix == sys.base_prefix`), its
//! stdlib folder can carry PEP 668's `EXTERNALLY-MANAGED` marker, and its site-packages is its
//! own — installing into it never touches the host's Python.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::python::{python3, run_checked, run_python, stdout_text};

/// Prints the host interpreter's real executable, its prefix and its stdlib folder.
const LAYOUT: &str = "import json, os, sys, sysconfig\n\
print(json.dumps([os.path.realpath(sys.executable), sys.base_prefix, sysconfig.get_path('stdlib')]))";

/// A system-like interpreter under a directory of its own.
#[derive(Debug)]
pub struct SystemPython {
    root: PathBuf,
    stdlib: PathBuf,
    _dir: tempfile::TempDir,
}

impl SystemPython {
    /// A fresh one; with `marker`, its stdlib folder holds `EXTERNALLY-MANAGED` with that text.
    ///
    /// # Panics
    ///
    /// When the copy does not take its own folder as its prefix (a host Python that cannot be
    /// relocated like this, e.g. one linked to `$ORIGIN`-relative libraries only).
    #[cfg(unix)]
    pub fn new(marker: Option<&str>) -> SystemPython {
        let layout = stdout_text(&run_python(&python3(), &["-c", LAYOUT]));
        let layout: Vec<PathBuf> = serde_json::from_str(&layout).unwrap();
        let (executable, base_prefix, host_stdlib) = (&layout[0], &layout[1], &layout[2]);
        let dir = tempfile::Builder::new()
            .prefix("wagon-system-python-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        let stdlib = root.join(host_stdlib.strip_prefix(base_prefix).unwrap());
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(&stdlib).unwrap();
        std::fs::copy(executable, root.join("bin/python3")).unwrap();
        for entry in std::fs::read_dir(host_stdlib).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            // Its own site-packages, and no marker the host's may carry.
            if name != "site-packages" && name != "EXTERNALLY-MANAGED" {
                std::os::unix::fs::symlink(entry.path(), stdlib.join(&name)).unwrap();
            }
        }
        std::fs::create_dir_all(stdlib.join("site-packages")).unwrap();
        if let Some(text) = marker {
            std::fs::write(stdlib.join("EXTERNALLY-MANAGED"), text).unwrap();
        }
        let python = SystemPython {
            root,
            stdlib,
            _dir: dir,
        };
        let prefix = stdout_text(&run_checked(Command::new(python.python()).args([
            "-I",
            "-c",
            "import sys; print(sys.prefix)",
        ])));
        assert_eq!(
            Path::new(&prefix),
            python.root,
            "the copied interpreter does not live in its own prefix"
        );
        python
    }

    /// Its prefix.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Its interpreter.
    pub fn python(&self) -> PathBuf {
        self.root.join("bin/python3")
    }

    /// Its stdlib folder (where `EXTERNALLY-MANAGED` lives).
    pub fn stdlib(&self) -> &Path {
        &self.stdlib
    }

    /// Whether it can import `module`.
    pub fn can_import(&self, module: &str) -> bool {
        Command::new(self.python())
            .args(["-I", "-c", &format!("import {module}")])
            .output()
            .unwrap()
            .status
            .success()
    }
}
