//! Downloads: each file streamed into the cache while its sha256 is computed, kept only when it
//! matches the index's (when the index lists one) and its listed size; several at once on a
//! bounded pool; a cached file costs no request.

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

/// Streams `reply`'s body into the cache as `file`, verified against the index's hash, and
/// bounded by the size the index lists (neither longer nor shorter) or else by
/// [`unlisted_limit`].
pub(crate) fn store(cache: &Cache, file: &IndexFile, reply: Reply) -> Result<Downloaded, Error> {
    let shown = file.shown_url();
    let partial = cache.partial()?;
    let limit = file.size.unwrap_or_else(unlisted_limit);
    let refused = |problem: String| Error::Size {
        filename: file.raw_filename.clone(),
        origin: file.origin.clone(),
        problem,
    };
    let (length, sha256) = match stream(&mut reply.reader(), &mut partial.as_file(), limit) {
        Ok(done) => done,
        Err(Stream::Read(err)) => {
            return Err(Error::Network {
                url: shown,
                reason: format!("the download broke off: {err}"),
            });
        }
        Err(Stream::Write(err)) => {
            return Err(PathIoError::doing("write", partial.path())(err).into());
        }
        Err(Stream::TooLong) => {
            return Err(refused(match file.size {
                Some(listed) => format!("is longer than the {listed} bytes the index lists"),
                None => format!(
                    "is larger than {limit} bytes, the most Wagon downloads for a file whose \
                     size the index does not list"
                ),
            }));
        }
    };
    // Other bytes than listed are best told as such; a hash that matches a body shorter than
    // the listed size still means the index's answer does not hold together.
    verify(file, &sha256)?;
    if let Some(listed) = file.size
        && length < listed
    {
        return Err(refused(format!(
            "has {length} bytes, shorter than the {listed} the index lists"
        )));
    }
    let path = cache.wheel_path(&sha256, &file.raw_filename);
    Cache::persist(partial, &path)?;
    Ok(Downloaded {
        path,
        sha256,
        cached: false,
    })
}

/// The most downloaded for a file whose size the index does not list: the core's default
/// unpacked limit (16 GiB), far past any real distribution but not endless.
fn unlisted_limit() -> u64 {
    wagon_core::archive::Limits::default().max_unpacked_bytes
}

/// Why [`stream`] stopped.
enum Stream {
    Read(std::io::Error),
    Write(std::io::Error),
    /// The body went past the limit.
    TooLong,
}

/// Copies `body` to `out`, at most `limit` bytes; its length and sha256 (lowercase hex).
fn stream(body: &mut dyn Read, out: &mut dyn Write, limit: u64) -> Result<(u64, String), Stream> {
    let mut hasher = Sha256::new();
    // One byte past the limit tells a body of exactly `limit` bytes from a longer one.
    let mut body = body.take(limit.saturating_add(1));
    let mut buffer = vec![0; 256 * 1024];
    let mut length: u64 = 0;
    loop {
        let read = body.read(&mut buffer).map_err(Stream::Read)?;
        if read == 0 {
            break;
        }
        length += read as u64;
        if length > limit {
            return Err(Stream::TooLong);
        }
        hasher.update(&buffer[..read]);
        out.write_all(&buffer[..read]).map_err(Stream::Write)?;
    }
    Ok((length, hex::encode(hasher.finalize())))
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
    let results: Result<Vec<Downloaded>, Error> = results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| unreachable!("every file was fetched by a worker"))
        })
        .collect();
    if results.is_ok() {
        report_unverified(files);
    }
    results
}

/// Names, at info level, the files taken without a check: their index or find-links location
/// lists no sha256 for them (pip takes such files too).
fn report_unverified(files: &[IndexFile]) {
    let unverified: Vec<String> = files
        .iter()
        .filter(|file| file.sha256.is_none())
        .map(|file| format!("{} (from {})", file.raw_filename, file.origin))
        .collect();
    if !unverified.is_empty() {
        tracing::info!(
            "not verified, as their location lists no sha256: {}",
            unverified.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_body_stops_at_the_limit() {
        let mut written = Vec::new();
        let result = stream(&mut std::io::repeat(7), &mut written, 1_000_000);
        assert!(matches!(result, Err(Stream::TooLong)));
        assert!(written.len() <= 1_000_000, "{}", written.len());
        let (length, sha256) = stream(&mut &b"abc"[..], &mut written, 3).ok().unwrap();
        assert_eq!(length, 3);
        assert_eq!(&sha256[..8], "ba7816bf");
        assert!(unlisted_limit() >= 16 << 30);
    }

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
