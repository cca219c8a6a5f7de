//! Archives named by an `http(s)://` URL, as wagon 1.0 read them: downloaded with the URL
//! source's downloader (its proxies and certificates) into the run's scratch folder, no larger
//! than the unpacking limit, then read as a local file; the copy goes when the command ends, fails
//! or is interrupted.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use wagon_core::archive::Limits;
use wagon_core::redact::redact_url;
use wagon_core::scratch::ScratchDir;
use wagon_source_url::DownloadError;

/// An archive as a local file: the user's own, or a downloaded copy kept while this lives.
pub struct LocalArchive {
    path: PathBuf,
    _scratch: Option<ScratchDir>,
}

impl LocalArchive {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The URL `source` names, when it is an http(s) one.
fn url_of(source: &Path) -> Option<&str> {
    let text = source.to_str()?;
    let lower = text.get(..8)?.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(text)
}

/// How messages name `source`: a URL with its credentials masked, a path as it is.
pub fn shown(source: &Path) -> String {
    match url_of(source) {
        Some(url) => redact_url(url),
        None => source.display().to_string(),
    }
}

/// Whether `source` is an archive to download.
pub fn is_url(source: &Path) -> bool {
    url_of(source).is_some()
}

/// `source` as a local file: a path is used as it is; a URL is downloaded first. A download
/// larger than `limits.max_unpacked_bytes` is refused (a compressed archive never holds more
/// than it unpacks to).
pub fn local_archive(source: &Path, limits: Limits) -> anyhow::Result<LocalArchive> {
    let Some(url) = url_of(source) else {
        return Ok(LocalArchive {
            path: source.to_path_buf(),
            _scratch: None,
        });
    };
    let scratch = wagon_core::scratch::tempdir("wagon-download-")?;
    let path = scratch.path().join(wagon_source_url::file_name(url));
    wagon_source_url::download_at_most(url, &[], &path, Some(limits.max_unpacked_bytes)).map_err(
        |err| match err {
            DownloadError::TooLarge { .. } => {
                anyhow!("{err}; if the archive is genuine, raise --max-unpacked-bytes")
            }
            DownloadError::Failed(_) => anyhow!("{err}"),
        },
    )?;
    Ok(LocalArchive {
        path,
        _scratch: Some(scratch),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_are_downloaded_and_credentials_never_shown() {
        assert!(is_url(Path::new("HTTPS://example.org/a.wgn")));
        assert!(is_url(Path::new("http://example.org/a.wgn")));
        assert!(!is_url(Path::new("./http/a.wgn")));
        assert!(!is_url(Path::new("a.wgn")));
        let shown = shown(Path::new("https://user:secret@example.org/a.wgn"));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("example.org/a.wgn"), "{shown}");
    }
}
