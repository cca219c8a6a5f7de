//! The download cache: wheels stored by their sha256, metadata by URL and file hash, project
//! pages by URL, each written whole or not at all (a partial file renamed into place).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use url::Url;
use wagon_core::partial::PartialFile;
use wagon_core::path_error::PathIoError;

use crate::Error;

/// Where downloads and metadata are kept between runs.
#[derive(Debug)]
pub struct Cache {
    root: PathBuf,
    /// Held so that a `--no-cache` run's folder is removed when the cache is dropped.
    _temporary: Option<tempfile::TempDir>,
}

impl Cache {
    /// A cache in `root` (created when first written).
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache {
            root: root.into(),
            _temporary: None,
        }
    }

    /// A cache for this run only (`--no-cache`), removed when dropped.
    pub fn temporary() -> Result<Cache, Error> {
        let dir = tempfile::Builder::new()
            .prefix("wagon-cache-")
            .tempdir()
            .map_err(PathIoError::doing(
                "create a temporary cache in",
                &std::env::temp_dir(),
            ))?;
        Ok(Cache {
            root: dir.path().to_path_buf(),
            _temporary: Some(dir),
        })
    }

    /// The cache folder the environment names: `WAGON_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/wagon`, else `~/.cache/wagon`.
    pub fn default_dir(vars: &BTreeMap<String, String>) -> Option<PathBuf> {
        let var = |name: &str| vars.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        var("WAGON_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|dir| dir.join("wagon")))
            .or_else(|| var("HOME").map(|home| home.join(".cache/wagon")))
    }

    /// The environment's cache, or a temporary one when `no_cache`.
    pub fn from_environment(
        vars: &BTreeMap<String, String>,
        no_cache: bool,
    ) -> Result<Cache, Error> {
        if no_cache {
            return Cache::temporary();
        }
        Cache::default_dir(vars)
            .map(Cache::at)
            .ok_or(Error::NoCacheDir)
    }

    /// The cache's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a file with this sha256 is kept, under its own name.
    pub(crate) fn wheel_path(&self, sha256: &str, filename: &str) -> PathBuf {
        self.root
            .join("wheels-v1/sha256")
            .join(&sha256[..2.min(sha256.len())])
            .join(sha256)
            .join(filename)
    }

    /// Where the metadata of the file at `url` with this sha256 is kept. The URL is part of the
    /// key so that one index's answer never stands in for another's.
    pub(crate) fn metadata_path(&self, url: &Url, sha256: &str) -> PathBuf {
        let key = hex::encode(Sha256::digest(format!("{url}\n{sha256}")));
        self.root
            .join("metadata-v1")
            .join(format!("{key}.metadata"))
    }

    /// Where the project page at `url` is kept (see `pages`).
    pub(crate) fn page_path(&self, url: &Url) -> PathBuf {
        let key = hex::encode(Sha256::digest(url.as_str()));
        self.root.join("pages-v1").join(format!("{key}.page"))
    }

    /// A partial file in the cache, to be persisted with [`Cache::persist`].
    pub(crate) fn partial(&self) -> Result<PartialFile, Error> {
        let dir = self.root.join("tmp");
        std::fs::create_dir_all(&dir)
            .map_err(PathIoError::doing("create the cache folder", &dir))?;
        Ok(PartialFile::beside(&dir.join("download"))
            .map_err(PathIoError::doing("create a file in", &dir))?)
    }

    /// Moves a whole partial file to `destination`.
    pub(crate) fn persist(partial: PartialFile, destination: &Path) -> Result<(), Error> {
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)
                .map_err(PathIoError::doing("create the cache folder", parent))?;
        }
        partial
            .persist(destination)
            .map_err(PathIoError::doing("move a download to", destination))?;
        Ok(())
    }

    /// Writes `bytes` to `destination` whole or not at all.
    pub(crate) fn write(&self, destination: &Path, bytes: &[u8]) -> Result<(), Error> {
        let partial = self.partial()?;
        let mut file: &File = partial.as_file();
        std::io::Write::write_all(&mut file, bytes)
            .map_err(PathIoError::doing("write", partial.path()))?;
        Cache::persist(partial, destination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_folder_follows_the_environment() {
        let vars = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        let all = vars(&[
            ("WAGON_CACHE_DIR", "/w"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(Cache::default_dir(&all), Some("/w".into()));
        let xdg = vars(&[
            ("WAGON_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(Cache::default_dir(&xdg), Some("/x/wagon".into()));
        assert_eq!(
            Cache::default_dir(&vars(&[("HOME", "/h")])),
            Some("/h/.cache/wagon".into())
        );
        assert!(matches!(
            Cache::from_environment(&vars(&[]), false),
            Err(Error::NoCacheDir)
        ));
        let temporary = Cache::from_environment(&vars(&[]), true).unwrap();
        let root = temporary.root().to_path_buf();
        assert!(root.is_dir());
        drop(temporary);
        assert!(!root.exists());
    }

    #[test]
    fn writes_land_whole_and_keys_separate_urls() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let path = cache.wheel_path("ab12", "x-1-py3-none-any.whl");
        assert!(path.ends_with("wheels-v1/sha256/ab/ab12/x-1-py3-none-any.whl"));
        cache.write(&path, b"bytes").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"bytes");
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        let a = Url::parse("https://a/x.whl").unwrap();
        let b = Url::parse("https://b/x.whl").unwrap();
        assert_ne!(cache.metadata_path(&a, "ab"), cache.metadata_path(&b, "ab"));
        assert_ne!(cache.metadata_path(&a, "ab"), cache.metadata_path(&a, "cd"));
    }
}
