//! The local path source plugin: a project directory (setup.py or pyproject.toml — PEP 517
//! projects with any backend are built by the builder), a source archive, or a wheel on disk.

use std::path::{Path, PathBuf};

use wagon_core::plugin::{FetchRequest, Fetched, Source, SourceError};

/// Fetches sources from the local file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct PathSource;

const NAME: &str = "path";

const ARCHIVE_SUFFIXES: [&str; 6] = [".tar.gz", ".tgz", ".zip", ".tar.zst", ".tar", ".whl"];

impl Source for PathSource {
    fn name(&self) -> &str {
        NAME
    }

    /// A spec is a path when it is written like one (`./x`, `../x`, `/x`, `~/x`, `x/y`, a
    /// Windows drive), or when it names an existing project directory or source archive. A bare
    /// name such as `flask` stays a PyPI requirement unless `./flask` is a project.
    fn claims(&self, spec: &str) -> bool {
        let written_as_path = spec.starts_with(['.', '/', '~'])
            || spec.contains(std::path::MAIN_SEPARATOR)
            || spec.contains('/')
            || spec.as_bytes().get(1) == Some(&b':');
        if written_as_path {
            return true;
        }
        let path = Path::new(spec);
        is_project(path)
            || (path.is_file()
                && ARCHIVE_SUFFIXES
                    .iter()
                    .any(|s| spec.to_ascii_lowercase().ends_with(s)))
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        let spec = request.spec;
        let path = expand_home(spec);
        let fail = |message: String| SourceError::new(NAME, spec, message);
        if path.is_dir() {
            if !is_project(&path) {
                return Err(fail(format!(
                    "{} is a directory but not a Python project: it has neither pyproject.toml nor setup.py",
                    path.display()
                )));
            }
            let absolute = fs_err::canonicalize(&path).map_err(|err| fail(err.to_string()))?;
            return Ok(Fetched::Project(absolute));
        }
        if path.is_file() {
            return wagon_core::archive::unpack_project(
                &path,
                request.registry,
                request.limits,
                &request.work_dir.join("unpacked"),
            )
            .map_err(fail);
        }
        Err(fail(format!("{} does not exist", path.display())))
    }
}

fn is_project(path: &Path) -> bool {
    path.join("pyproject.toml").is_file() || path.join("setup.py").is_file()
}

/// `~` and `~/…` as a shell expands them, from `HOME`.
fn expand_home(spec: &str) -> PathBuf {
    PathBuf::from(shellexpand::tilde_with_context(spec, || std::env::var("HOME").ok()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_expanded_as_a_shell_does() {
        let home = PathBuf::from(std::env::var("HOME").unwrap_or_default());
        assert_eq!(expand_home("~/proj"), home.join("proj"));
        assert_eq!(expand_home("~"), home);
        assert_eq!(expand_home("./~/x"), PathBuf::from("./~/x"));
        assert_eq!(expand_home("~user/x"), PathBuf::from("~user/x"));
    }
}
