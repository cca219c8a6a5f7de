//! Downloads: each file streamed into the cache while its sha256 is computed, kept only when it
//! matches the index's; several at once on a bounded pool; a cached file costs no request.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use wagon_core::path_error::PathIoError;

use crate::Error;
use crate::cache::Cache;
use crate::file::IndexFile;
use crate::http::{HttpClient, Reply};

/// A file on disk, whole and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The file, named as the index named it: in the cache, or in place for a local
    /// find-links file.
    pub path: PathBuf,
    /// Its sha256 (lowercase hex), computed from the bytes.
    pub sha256: String,
    /// Whether it was already on disk (no request made).
    pub cached: bool,
}

/// The cached copy of `file`, if the index lists its hash and it was downloaded before.
pub(crate) fn cached(cache: &Cache, file: &IndexFile) -> Option<Downloaded> {
    let sha256 = file.sha256.as_ref()?;
    let path = cache.wheel_path(sha256, &file.raw_filename);
    path.is_file().then(|| Downloaded {
        path,
        sha256: sha256.clone(),
        cached: true,
    })
}

/// `file` on disk: from the cache, in place (local files) or downloaded.
pub(crate) fn fetch(
    client: &HttpClient,
    cache: &Cache,
    file: &IndexFile,
) -> Result<Downloaded, Error> {
    if file.url.scheme() == "file" {
        return local(file);
    }
    if let Some(hit) = cached(cache, file) {
        tracing::debug!("{} is in the cache", file.raw_filename);
        return Ok(hit);
    }
    tracing::info!("downloading {}", file.shown_url());
    let reply = client
        .get(&file.url, &[("Accept-Encoding", "identity")])?
        .success()?;
    store(cache, file, reply)
}

/// Streams `reply`'s body into the cache as `file`, verified against the index's hash.
pub(crate) fn store(cache: &Cache, file: &IndexFile, reply: Reply) -> Result<Downloaded, Error> {
    let shown = file.shown_url();
    let partial = cache.partial()?;
    let mut hasher = Sha256::new();
    let mut body = reply.reader();
    let mut buffer = vec![0; 256 * 1024];
    let mut out = partial.as_file();
    loop {
        let read = body.read(&mut buffer).map_err(|err| Error::Network {
            url: shown.clone(),
            reason: format!("the download broke off: {err}"),
        })?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        out.write_all(&buffer[..read])
            .map_err(PathIoError::doing("write", partial.path()))?;
    }
    let sha256 = hex::encode(hasher.finalize());
    verify(file, &sha256)?;
    let path = cache.wheel_path(&sha256, &file.raw_filename);
    Cache::persist(partial, &path)?;
    Ok(Downloaded {
        path,
        sha256,
        cached: false,
    })
}

/// A local find-links file, used in place after its hash is checked.
fn local(file: &IndexFile) -> Result<Downloaded, Error> {
    let path = file.url.to_file_path().map_err(|()| Error::InvalidUrl {
        what: "file",
        url: file.shown_url(),
        reason: "it names no local path".to_string(),
        example: "file:///srv/wheels/x-1.0-py3-none-any.whl",
    })?;
    // Only from a local page (see `simple::may_link`); still, a device or FIFO is no
    // distribution, and `/dev/zero` would be hashed for ever.
    let kind = std::fs::metadata(&path).map_err(PathIoError::doing("read", &path))?;
    if !kind.is_file() {
        return Err(Error::InvalidUrl {
            what: "file",
            url: file.shown_url(),
            reason: "it is not a regular file".to_string(),
            example: "file:///srv/wheels/x-1.0-py3-none-any.whl",
        });
    }
    let mut reader = std::fs::File::open(&path).map_err(PathIoError::doing("open", &path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher).map_err(PathIoError::doing("read", &path))?;
    let sha256 = hex::encode(hasher.finalize());
    verify(file, &sha256)?;
    Ok(Downloaded {
        path,
        sha256,
        cached: true,
    })
}

/// Refuses bytes whose sha256 differs from the one the index lists.
fn verify(file: &IndexFile, actual: &str) -> Result<(), Error> {
    match &file.sha256 {
        Some(expected) if expected != actual => Err(Error::HashMismatch {
            filename: file.raw_filename.clone(),
            origin: file.origin.clone(),
            expected: expected.clone(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Fetches `files` with at most `workers` at once; the results in `files`' order, or the first
/// error (in that order) once all have finished.
pub(crate) fn fetch_all(
    client: &HttpClient,
    cache: &Cache,
    files: &[IndexFile],
    workers: usize,
) -> Result<Vec<Downloaded>, Error> {
    let results: Vec<Mutex<Option<Result<Downloaded, Error>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, files.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(at) else { break };
                    let result = fetch(client, cache, file);
                    if let Ok(mut slot) = results[at].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| unreachable!("every file was fetched by a worker"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_must_be_regular_files() {
        let name = wagon_core::python::package_name("demo").unwrap();
        let filename = "demo-1.0-py3-none-any.whl";
        let file = IndexFile {
            filename: wagon_core::python::DistFilename::try_from_filename(filename, &name).unwrap(),
            raw_filename: filename.to_string(),
            url: url::Url::parse("file:///dev/null").unwrap(),
            sha256: None,
            requires_python: None,
            yanked: None,
            metadata_advertised: false,
            metadata_sha256: None,
            size: None,
            origin: "test".to_string(),
        };
        let err = local(&file).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
}
