//! Where an installed file may land: the one place every destination path is computed. A
//! destination is a scheme root of the environment joined with plain components only, checked
//! component by component (never by string prefix) before anything is created, moved or
//! deleted there; the environment's own interpreter, `pyvenv.cfg` and Wagon's `.wagon-*` files
//! are never a destination. Wheel entry names, RECORD lines, entry-point names and METADATA
//! names all reach the file system through here.

use std::path::{Component, Path, PathBuf};

use crate::archive::safety::{UnsafePath, safe_relative_path};

/// Names at a scheme root that belong to Wagon (its install lock, journal and staging).
pub const RESERVED_PREFIX: &str = ".wagon-";

/// An installation scheme of the wheel spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Purelib,
    Platlib,
    Scripts,
    Data,
    /// `include/site/pythonX.Y` in a virtualenv; the project's folder goes below it.
    Headers,
}

impl Scheme {
    /// The scheme a wheel's `.data/<name>/` folder names.
    pub fn from_data_folder(name: &str) -> Option<Self> {
        Some(match name {
            "purelib" => Self::Purelib,
            "platlib" => Self::Platlib,
            "scripts" => Self::Scripts,
            "data" => Self::Data,
            "headers" => Self::Headers,
            _ => return None,
        })
    }
}

/// Why a path may not be used as a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainmentError {
    #[error("`{name}` is not a plain relative path ({reason})")]
    NotPlain { name: String, reason: UnsafePath },
    #[error("`{name}` is not a plain file name (one component, no `/`, `\\` or `..`)")]
    NotOneComponent { name: String },
    #[error("{path} is outside the environment's install folders")]
    Outside { path: PathBuf },
    #[error("{path} would replace the environment's own {what}")]
    Protected { path: PathBuf, what: &'static str },
    #[error("{path} uses a name reserved for Wagon's own files (`{RESERVED_PREFIX}*`)")]
    Reserved { path: PathBuf },
    #[error(
        "{path} lies below {link}, a symbolic link: Wagon does not write, move or delete \
         through links in an environment"
    )]
    ThroughLink { path: PathBuf, link: PathBuf },
}

/// A checked destination: `path` is `roots[root]` joined with the plain `relative`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub path: PathBuf,
    /// Index of the deepest scheme root holding `path`, in [`SchemeRoots::roots`].
    pub root: usize,
}

/// The scheme roots of one environment, and the files in them no wheel may replace.
#[derive(Debug, Clone)]
pub struct SchemeRoots {
    purelib: PathBuf,
    platlib: PathBuf,
    scripts: PathBuf,
    data: PathBuf,
    headers: PathBuf,
    /// Each root once, in the order above.
    roots: Vec<PathBuf>,
    /// The interpreter's own files (absolute), never replaced or removed.
    interpreter: Vec<PathBuf>,
}

impl SchemeRoots {
    /// The roots of a probed interpreter: sysconfig's paths, with pip's rule for headers
    /// (`include/site/pythonX.Y` in a virtualenv), and its executable protected.
    pub fn of(target: &crate::interpreter::Interpreter) -> Result<Self, String> {
        let report = &target.report;
        let get = |key: &str| {
            report
                .paths
                .get(key)
                .cloned()
                .ok_or_else(|| format!("the interpreter reports no sysconfig `{key}` path"))
        };
        let data = get("data")?;
        let headers = if target.is_venv() {
            data.join("include")
                .join("site")
                .join(format!("python{}", report.python_version))
        } else {
            get("include")?
        };
        let interpreter = vec![target.executable(), report.executable.clone()];
        Ok(Self::new(
            &get("purelib")?,
            &get("platlib")?,
            &get("scripts")?,
            &data,
            &headers,
            &interpreter,
        ))
    }

    /// The roots of an environment (absolute paths, as sysconfig reports them), with the
    /// interpreter executables that live in it.
    pub fn new(
        purelib: &Path,
        platlib: &Path,
        scripts: &Path,
        data: &Path,
        headers: &Path,
        interpreter: &[PathBuf],
    ) -> Self {
        let mut roots: Vec<PathBuf> = Vec::new();
        for root in [purelib, platlib, scripts, data, headers] {
            let root = lexical(root);
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        Self {
            purelib: lexical(purelib),
            platlib: lexical(platlib),
            scripts: lexical(scripts),
            data: lexical(data),
            headers: lexical(headers),
            roots,
            interpreter: interpreter.iter().map(|p| lexical(p)).collect(),
        }
    }

    /// Every root once; a [`Destination`]'s `root` indexes this.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The folder of `scheme` (for headers, the folder the projects' folders go below).
    pub fn root(&self, scheme: Scheme) -> &Path {
        match scheme {
            Scheme::Purelib => &self.purelib,
            Scheme::Platlib => &self.platlib,
            Scheme::Scripts => &self.scripts,
            Scheme::Data => &self.data,
            Scheme::Headers => &self.headers,
        }
    }

    /// `relative` (`/`-separated, from a wheel) below the root of `scheme`.
    pub fn join(&self, scheme: Scheme, relative: &str) -> Result<Destination, ContainmentError> {
        let plain = safe_relative_path(relative.as_bytes()).map_err(|reason| {
            ContainmentError::NotPlain {
                name: relative.to_string(),
                reason,
            }
        })?;
        self.contain(&self.root(scheme).join(plain.to_path()))
    }

    /// A console or GUI script named `name` (one plain component) in the scripts folder.
    pub fn script(&self, name: &str) -> Result<Destination, ContainmentError> {
        one_component(name)?;
        self.join(Scheme::Scripts, name)
    }

    /// A file below the headers folder of `project` (one plain component, the METADATA name).
    pub fn header(&self, project: &str, relative: &str) -> Result<Destination, ContainmentError> {
        one_component(project)?;
        self.join(Scheme::Headers, &format!("{project}/{relative}"))
    }

    /// A path an installed RECORD lists, relative to `base` (the folder holding the
    /// `.dist-info`); `..` may climb out of `base` (scripts are `../../../bin/x`) but the
    /// result must lie inside a root.
    pub fn recorded(
        &self,
        base: &Path,
        record_path: &str,
    ) -> Result<Destination, ContainmentError> {
        // The same character rules as wheel entries; only `..` and an absolute start differ.
        let reason = if record_path.chars().any(char::is_control) {
            Some(UnsafePath::ControlCharacter)
        } else if record_path.contains('\\') {
            Some(UnsafePath::Backslash)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(ContainmentError::NotPlain {
                name: record_path.escape_debug().to_string(),
                reason,
            });
        }
        let joined = if Path::new(record_path).is_absolute() {
            PathBuf::from(record_path)
        } else {
            base.join(record_path)
        };
        self.contain(&lexical(&joined))
    }

    /// Checks an absolute, lexically clean path: inside a root, made of plain components
    /// below it, and not one of the environment's own files.
    pub fn contain(&self, path: &Path) -> Result<Destination, ContainmentError> {
        let outside = || ContainmentError::Outside {
            path: path.to_path_buf(),
        };
        let (root, relative) = self
            .roots
            .iter()
            .enumerate()
            .filter_map(|(index, root)| path.strip_prefix(root).ok().map(|rel| (index, rel)))
            .max_by_key(|(index, _)| self.roots[*index].components().count())
            .ok_or_else(outside)?;
        let mut parts = relative.components();
        let first = match parts.next() {
            Some(Component::Normal(first)) => first,
            _ => return Err(outside()),
        };
        if !parts.all(|c| matches!(c, Component::Normal(_))) {
            return Err(outside());
        }
        // Case-insensitively: on macOS and Windows `.WAGON-x` is `.wagon-x`.
        let first = first.to_string_lossy().to_ascii_lowercase();
        if first.starts_with(RESERVED_PREFIX) {
            return Err(ContainmentError::Reserved {
                path: path.to_path_buf(),
            });
        }
        if let Some(what) = self.protected(path) {
            return Err(ContainmentError::Protected {
                path: path.to_path_buf(),
                what,
            });
        }
        Ok(Destination {
            path: path.to_path_buf(),
            root,
        })
    }

    fn protected(&self, path: &Path) -> Option<&'static str> {
        if self.interpreter.iter().any(|exe| exe == path) {
            return Some("interpreter");
        }
        let name = path.file_name()?.to_string_lossy();
        let parent = path.parent()?;
        let same = |a: &Path, b: &Path| {
            a.as_os_str()
                .to_string_lossy()
                .eq_ignore_ascii_case(&b.as_os_str().to_string_lossy())
        };
        if same(parent, &self.data) && name.eq_ignore_ascii_case("pyvenv.cfg") {
            return Some("configuration (pyvenv.cfg)");
        }
        let in_scripts = same(parent, &self.scripts);
        (in_scripts && is_interpreter_name(&name)).then_some("interpreter")
    }

    /// Refuses `dest` when a folder between its root and it is a symbolic link (the root
    /// itself is the environment's and may be one). Stops at the first folder that does not
    /// exist: nothing below it can be a link yet.
    pub fn check_no_links(&self, dest: &Destination) -> Result<(), ContainmentError> {
        let root = &self.roots[dest.root];
        let mut current = root.clone();
        let Ok(relative) = dest.path.strip_prefix(root) else {
            return Err(ContainmentError::Outside {
                path: dest.path.clone(),
            });
        };
        let mut parts: Vec<_> = relative.components().collect();
        parts.pop();
        for part in parts {
            current.push(part);
            match current.symlink_metadata() {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(ContainmentError::ThroughLink {
                        path: dest.path.clone(),
                        link: current,
                    });
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }
}

/// `python`, `python3`, `python3.12`, `python3.13t`, `pythonw`, `pypy3`, with or without
/// `.exe`: the names a virtualenv's interpreter goes by.
fn is_interpreter_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".exe").unwrap_or(&lower);
    let Some(rest) = stem
        .strip_prefix("python")
        .or_else(|| stem.strip_prefix("pypy"))
    else {
        return false;
    };
    let rest = rest.strip_suffix(['w', 't']).unwrap_or(rest);
    rest.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn one_component(name: &str) -> Result<(), ContainmentError> {
    let plain = safe_relative_path(name.as_bytes()).ok();
    if plain.is_some_and(|p| p.as_str() == name && !name.contains('/')) {
        Ok(())
    } else {
        Err(ContainmentError::NotOneComponent {
            name: name.escape_debug().to_string(),
        })
    }
}

/// `path` with `.` dropped and `..` applied, without asking the file system (an absolute path
/// cannot climb above its root).
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venv() -> SchemeRoots {
        let v = Path::new("/v");
        let site = v.join("lib/python3.11/site-packages");
        SchemeRoots::new(
            &site,
            &site,
            &v.join("bin"),
            v,
            &v.join("include/site/python3.11"),
            &[v.join("bin/python")],
        )
    }

    #[test]
    fn plain_entries_land_below_their_root() {
        let roots = venv();
        let dest = roots.join(Scheme::Purelib, "demo/__init__.py").unwrap();
        assert_eq!(
            dest.path,
            Path::new("/v/lib/python3.11/site-packages/demo/__init__.py")
        );
        assert_eq!(roots.roots()[dest.root], roots.root(Scheme::Purelib));
        // `data` holds site-packages: the deepest root wins.
        let deep = roots
            .join(Scheme::Data, "lib/python3.11/site-packages/x.py")
            .unwrap();
        assert_eq!(deep.root, dest.root);
        assert_eq!(
            roots.header("demo", "demo.h").unwrap().path,
            Path::new("/v/include/site/python3.11/demo/demo.h")
        );
    }

    #[test]
    fn escapes_are_refused() {
        let roots = venv();
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\b",
            "C:/x",
            "a\0b",
            "",
        ] {
            assert!(roots.join(Scheme::Purelib, bad).is_err(), "{bad:?}");
        }
        for bad in ["../../x", "a/b", ".", "..", "", "a\\b", "x\0"] {
            assert!(
                matches!(
                    roots.script(bad),
                    Err(ContainmentError::NotOneComponent { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(roots.header("../../../x", "a.h").is_err());
        assert!(roots.header("ok", "../../a.h").is_err());
    }

    #[test]
    fn the_environments_own_files_are_protected() {
        let roots = venv();
        for name in [
            "python",
            "python3",
            "python3.11",
            "pythonw",
            "python3.13t",
            "pypy3",
        ] {
            assert!(
                matches!(roots.script(name), Err(ContainmentError::Protected { .. })),
                "{name}"
            );
        }
        assert!(roots.script("python-config-tool").is_ok());
        assert!(roots.script("pythonista").is_ok());
        assert!(matches!(
            roots.join(Scheme::Data, "bin/python"),
            Err(ContainmentError::Protected { .. })
        ));
        assert!(matches!(
            roots.join(Scheme::Data, "pyvenv.cfg"),
            Err(ContainmentError::Protected { .. })
        ));
        for reserved in [
            ".wagon-install.lock",
            "lib/python3.11/site-packages/.wagon-staging-x/journal.json",
        ] {
            assert!(
                matches!(
                    roots.join(Scheme::Data, reserved),
                    Err(ContainmentError::Reserved { .. })
                ),
                "{reserved}"
            );
        }
        assert!(roots.join(Scheme::Purelib, "pkg/.wagon-ok").is_ok());
    }

    #[test]
    fn recorded_paths_may_climb_to_another_root_but_not_out() {
        let roots = venv();
        let base = roots.root(Scheme::Purelib).to_path_buf();
        assert_eq!(
            roots.recorded(&base, "../../../bin/demo").unwrap().path,
            Path::new("/v/bin/demo")
        );
        for bad in [
            "../../../../x",
            "../../../../../../../../etc/passwd",
            "/etc/passwd",
            "../../../bin/python",
            "\u{3}\\",
            "a\\..\\..\\x",
        ] {
            assert!(roots.recorded(&base, bad).is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_below_a_root_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site");
        std::fs::create_dir_all(site.join("real")).unwrap();
        std::os::unix::fs::symlink("/", site.join("link")).unwrap();
        let roots = SchemeRoots::new(
            &site,
            &site,
            &tmp.path().join("bin"),
            tmp.path(),
            &tmp.path().join("include"),
            &[],
        );
        let through = roots.join(Scheme::Purelib, "link/etc/x").unwrap();
        assert!(matches!(
            roots.check_no_links(&through),
            Err(ContainmentError::ThroughLink { .. })
        ));
        let fine = roots.join(Scheme::Purelib, "real/new/x").unwrap();
        assert_eq!(roots.check_no_links(&fine), Ok(()));
    }
}
