//! A wheel's core metadata by the cheapest way there is: the cache, a wheel already on disk, the
//! PEP 658/714 `.metadata` file, a range read of the wheel's `METADATA`, and last the whole wheel.

use std::io::{Read, Seek};
use std::path::Path;

use sha2::{Digest, Sha256};
use url::Url;
use wagon_core::path_error::PathIoError;
use wagon_core::python::{CoreMetadata, WheelFilename, parse_core_metadata};

use crate::Error;
use crate::cache::Cache;
use crate::download;
use crate::file::IndexFile;
use crate::http::HttpClient;
use crate::range::{self, Opened};

/// METADATA files are kilobytes; this bounds a hostile one.
pub(crate) const METADATA_LIMIT: u64 = 16 * 1024 * 1024;

/// The core metadata of the wheel `file`, checked to name the file's project and version.
pub(crate) fn fetch(
    client: &HttpClient,
    cache: &Cache,
    file: &IndexFile,
) -> Result<CoreMetadata, Error> {
    let Some(wheel) = file.wheel() else {
        return Err(Error::NotAWheel {
            filename: file.raw_filename.clone(),
        });
    };
    // Only files with a listed hash are cached: without one, the key could not tell two
    // different files at one URL apart.
    let cached_at = file
        .sha256
        .as_ref()
        .map(|sha256| cache.metadata_path(&file.url, sha256));
    if let Some(path) = &cached_at
        && let Ok(bytes) = std::fs::read(path)
    {
        return parse(file, wheel, &bytes);
    }
    let bytes = find(client, cache, file, wheel)?;
    let metadata = parse(file, wheel, &bytes)?;
    // A cache that cannot be written costs the next run a request, not this run its answer.
    if let Some(path) = &cached_at
        && let Err(err) = cache.write(path, &bytes)
    {
        tracing::warn!("not caching the metadata of {}: {err}", file.raw_filename);
    }
    Ok(metadata)
}

fn find(
    client: &HttpClient,
    cache: &Cache,
    file: &IndexFile,
    wheel: &WheelFilename,
) -> Result<Vec<u8>, Error> {
    if file.url.scheme() == "file" || download::cached(cache, file).is_some() {
        let on_disk = download::fetch(client, cache, file)?;
        return from_wheel_file(file, wheel, &on_disk.path);
    }
    if let Some(bytes) = pep_658(client, file)? {
        return Ok(bytes);
    }
    match range::open(client, &file.url)? {
        Opened::Ranged(mut reader) => match member(&mut reader, wheel) {
            Ok(bytes) => {
                tracing::debug!(
                    "read METADATA of {} in {} range requests",
                    file.raw_filename,
                    reader.requests()
                );
                return Ok(bytes);
            }
            Err(reason) => tracing::debug!(
                "range read of {} failed ({reason}); downloading it whole",
                file.shown_url()
            ),
        },
        Opened::Whole(reply) => {
            let stored = download::store(cache, file, reply)?;
            return from_wheel_file(file, wheel, &stored.path);
        }
        Opened::Unsupported => {}
    }
    let stored = download::fetch(client, cache, file)?;
    from_wheel_file(file, wheel, &stored.path)
}

/// `{url}.metadata` (PEP 658/714), tried whether or not the index advertises it; `None` when it
/// is not there. Its hash is checked when the index gives one.
fn pep_658(client: &HttpClient, file: &IndexFile) -> Result<Option<Vec<u8>>, Error> {
    let mut url: Url = file.url.clone();
    url.set_path(&format!("{}.metadata", file.url.path()));
    let reply = client.get(&url, &[])?;
    if !(200..300).contains(&reply.status) {
        tracing::debug!(
            "no {}.metadata (HTTP {}{})",
            file.raw_filename,
            reply.status,
            if file.metadata_advertised {
                ", though advertised"
            } else {
                ""
            }
        );
        return Ok(None);
    }
    let bytes = reply.bytes(METADATA_LIMIT)?;
    if let Some(expected) = &file.metadata_sha256 {
        let actual = hex::encode(Sha256::digest(&bytes));
        if &actual != expected {
            return Err(Error::HashMismatch {
                filename: format!("{}.metadata", file.raw_filename),
                origin: file.origin.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(Some(bytes))
}

fn from_wheel_file(file: &IndexFile, wheel: &WheelFilename, path: &Path) -> Result<Vec<u8>, Error> {
    let reader = std::fs::File::open(path).map_err(PathIoError::doing("open", path))?;
    member(reader, wheel).map_err(|reason| Error::Metadata {
        filename: file.raw_filename.clone(),
        url: path.display().to_string(),
        reason,
    })
}

/// The bytes of the wheel's top-level `*.dist-info/METADATA`.
fn member<R: Read + Seek>(reader: R, wheel: &WheelFilename) -> Result<Vec<u8>, String> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|err| format!("not a zip: {err}"))?;
    let candidates: Vec<String> = archive
        .file_names()
        .filter(|name| name.ends_with(".dist-info/METADATA") && name.matches('/').count() == 1)
        .map(str::to_string)
        .collect();
    // Several `.dist-info` folders: the one named after the wheel's project.
    let prefix = wheel.name.as_dist_info_name().to_string();
    let name = match candidates.as_slice() {
        [only] => only.clone(),
        [] => return Err("it has no *.dist-info/METADATA".to_string()),
        several => several
            .iter()
            .find(|name| name.to_ascii_lowercase().starts_with(&format!("{prefix}-")))
            .cloned()
            .ok_or_else(|| format!("it has several .dist-info folders: {several:?}"))?,
    };
    let mut entry = archive
        .by_name(&name)
        .map_err(|err| format!("cannot read {name}: {err}"))?;
    let mut bytes = Vec::new();
    (&mut entry)
        .take(METADATA_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("cannot read {name}: {err}"))?;
    if bytes.len() as u64 > METADATA_LIMIT {
        return Err(format!("{name} is larger than {METADATA_LIMIT} bytes"));
    }
    Ok(bytes)
}

/// Parses METADATA and checks it describes the file it came with.
fn parse(file: &IndexFile, wheel: &WheelFilename, bytes: &[u8]) -> Result<CoreMetadata, Error> {
    let invalid = |reason: String| Error::Metadata {
        filename: file.raw_filename.clone(),
        url: file.shown_url(),
        reason,
    };
    let metadata =
        parse_core_metadata(bytes, &file.raw_filename).map_err(|err| invalid(err.to_string()))?;
    if metadata.name != wheel.name || metadata.version != wheel.version {
        return Err(invalid(format!(
            "it describes {} {}, not the file's {} {}",
            metadata.name, metadata.version, wheel.name, wheel.version
        )));
    }
    Ok(metadata)
}
