//! Where each installation scheme of a wheel lands for a target interpreter.

use std::path::{Path, PathBuf};

use wagon_core::target::Target;

/// The target's install paths (sysconfig's, with pip's rule for headers).
#[derive(Debug, Clone)]
pub struct Layout {
    pub python: PathBuf,
    pub purelib: PathBuf,
    pub platlib: PathBuf,
    pub scripts: PathBuf,
    pub data: PathBuf,
    /// `include/site/pythonX.Y` in a virtualenv (the project's folder goes below it), else the
    /// interpreter's include directory.
    pub headers_root: PathBuf,
    /// The environment's root, where the install lock lives.
    pub prefix: PathBuf,
    pub python_version: String,
}

impl Layout {
    pub fn of(target: &Target) -> Result<Self, String> {
        let paths = &target.report.paths;
        let get = |key: &str| {
            paths
                .get(key)
                .cloned()
                .ok_or_else(|| format!("the interpreter reports no sysconfig `{key}` path"))
        };
        let data = get("data")?;
        let headers_root = if target.is_venv() {
            data.join("include")
                .join("site")
                .join(format!("python{}", target.report.python_version))
        } else {
            get("include")?
        };
        Ok(Self {
            python: target.python.clone(),
            purelib: get("purelib")?,
            platlib: get("platlib")?,
            scripts: get("scripts")?,
            headers_root,
            prefix: target.report.prefix.clone(),
            data,
            python_version: target.report.python_version.clone(),
        })
    }

    /// The directory of a `.data/<scheme>/` folder, `None` for an unknown scheme.
    pub fn scheme_dir(&self, scheme: &str, project: &str) -> Option<PathBuf> {
        Some(match scheme {
            "purelib" => self.purelib.clone(),
            "platlib" => self.platlib.clone(),
            "scripts" => self.scripts.clone(),
            "data" => self.data.clone(),
            "headers" => self.headers_root.join(project),
            _ => return None,
        })
    }

    /// The folders installed files are placed below, each once. A wheel is staged as one tree per
    /// root, so that a folder new to the environment moves into place in one rename.
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = Vec::new();
        for root in [
            &self.purelib,
            &self.platlib,
            &self.scripts,
            &self.data,
            &self.headers_root,
        ] {
            if !roots.contains(root) {
                roots.push(root.clone());
            }
        }
        roots
    }

    /// Which of `roots` holds `dest` (the deepest, as site-packages lies inside the data root),
    /// and `dest` relative to it.
    pub fn root_of<'a>(roots: &[PathBuf], dest: &'a Path) -> Option<(usize, &'a Path)> {
        roots
            .iter()
            .enumerate()
            .filter_map(|(index, root)| dest.strip_prefix(root).ok().map(|rel| (index, rel)))
            .max_by_key(|(index, _)| roots[*index].components().count())
    }

    /// The library root of a wheel: purelib or platlib by `Root-Is-Purelib`.
    pub fn lib_dir(&self, root_is_purelib: bool) -> &Path {
        if root_is_purelib {
            &self.purelib
        } else {
            &self.platlib
        }
    }
}
