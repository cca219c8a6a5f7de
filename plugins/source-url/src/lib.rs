//! The URL source plugin: a source archive (`.tar.gz`, `.zip`) or a wheel at an `http://`,
//! `https://` or `file://` URL, downloaded and unpacked safely.
//!
//! Downloads honour corporate networks: proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (and
//! `NO_PROXY`), and TLS verified against the system's certificate store — including
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`, where a company CA that re-signs traffic lives — never only a
//! bundled root list. [`download`] is public so that sources built on URLs (GitHub) share it,
//! and [`agent_config`] so that the package index client shares the network setup.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ureq::config::ConfigBuilder;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::typestate::AgentScope;
use url::Url;
use wagon_core::plugin::{FetchRequest, Fetched, Source, SourceError};
use wagon_core::redact::redact_url;

/// Fetches sources by URL.
#[derive(Debug, Default, Clone, Copy)]
pub struct UrlSource;

const NAME: &str = "url";

impl Source for UrlSource {
    fn name(&self) -> &str {
        NAME
    }

    fn schemes(&self) -> &[&str] {
        &["http", "https", "file"]
    }

    fn claims(&self, spec: &str) -> bool {
        let lower = spec.to_ascii_lowercase();
        ["http://", "https://", "file://"]
            .iter()
            .any(|scheme| lower.starts_with(scheme))
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        let spec = request.spec;
        let destination = request.work_dir.join(file_name(spec));
        download(spec, &[], &destination)
            .map_err(|message| SourceError::new(NAME, spec, message))?;
        wagon_core::archive::unpack_project(
            &destination,
            request.registry,
            request.limits,
            &request.work_dir.join("unpacked"),
        )
        .map_err(|message| SourceError::new(NAME, spec, message))
    }
}

/// The file name a URL's path ends in, decoded (`pkg-1.0%2Blocal-….whl` is
/// `pkg-1.0+local-….whl`); `download` when it has none that is a plain file name.
pub fn file_name(spec: &str) -> String {
    Url::parse(spec)
        .ok()
        .and_then(|url| {
            let last = url.path_segments()?.next_back()?;
            percent_encoding::percent_decode_str(last)
                .decode_utf8()
                .ok()
                .map(std::borrow::Cow::into_owned)
        })
        .filter(|name| {
            !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\\'])
                && !name.chars().any(char::is_control)
        })
        .unwrap_or_else(|| "download".to_string())
}

/// Downloads `url` to `destination` (streaming), with extra request `headers`. The error is a
/// sentence for the user, with any credentials in the URL redacted.
pub fn download(url: &str, headers: &[(&str, String)], destination: &Path) -> Result<(), String> {
    download_at_most(url, headers, destination, None).map_err(|err| err.to_string())
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The body is larger than the caller allows (announced or received).
    #[error("{url} is larger than {max}, the most Wagon downloads here")]
    TooLarge {
        /// The URL, credentials masked.
        url: String,
        /// The most the caller allowed.
        max: wagon_core::size::Size,
    },
    /// Anything else, as a sentence for the user with credentials masked.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for DownloadError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

/// [`download`], refusing a body larger than `max_bytes` (by its announced length, before any
/// byte is written, and by what arrives, whatever the server announced).
pub fn download_at_most(
    url: &str,
    headers: &[(&str, String)],
    destination: &Path,
    max_bytes: Option<u64>,
) -> Result<(), DownloadError> {
    let shown = redact_url(url);
    let parsed = Url::parse(url).map_err(|err| format!("{shown} is not a valid URL: {err}"))?;
    if parsed.scheme() == "file" {
        let source = parsed
            .to_file_path()
            .map_err(|()| format!("{shown} names no local file"))?;
        return fs_err::copy(&source, destination)
            .map(|_| ())
            .map_err(|err| DownloadError::Failed(err.to_string()));
    }
    let url = &shown;
    let agent = agent();
    let mut request = agent.get(parsed.as_str());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    tracing::info!("downloading {url}");
    let response = request.call().map_err(|err| match err {
        ureq::Error::StatusCode(404) => {
            format!("{url} was not found (HTTP 404); check the address")
        }
        ureq::Error::StatusCode(code) => format!("{url} answered HTTP {code}"),
        other => format!(
            "cannot download {url}: {other}. Check the address, your network, the proxy \
             (HTTPS_PROXY) and, behind a TLS-inspecting proxy, that its CA is in the system store \
             or SSL_CERT_FILE"
        ),
    })?;
    let too_large = |max: u64| DownloadError::TooLarge {
        url: url.clone(),
        max: wagon_core::size::Size(max),
    };
    let announced = response.body().content_length();
    if let (Some(max), Some(length)) = (max_bytes, announced)
        && length > max
    {
        return Err(too_large(max));
    }
    let mut file = fs_err::File::create(destination).map_err(|err| err.to_string())?;
    let reader = response.into_body().into_reader();
    let copied = std::io::copy(
        &mut std::io::Read::take(reader, max_bytes.map_or(u64::MAX, |m| m.saturating_add(1))),
        &mut file,
    )
    .map_err(|err| format!("the download of {url} broke off: {err}"))?;
    if let Some(max) = max_bytes
        && copied > max
    {
        return Err(too_large(max));
    }
    file.flush().map_err(|err| {
        DownloadError::Failed(format!("cannot write {}: {err}", destination.display()))
    })
}

fn agent() -> ureq::Agent {
    agent_config(&[]).build().into()
}

/// The agent settings every Wagon download shares: proxies from the environment, TLS verified
/// against the system's store plus `extra_roots` (a `--cert` bundle), a generous timeout and
/// Wagon's user agent. Public so the package index client builds on the same network setup.
pub fn agent_config(extra_roots: &[Certificate<'static>]) -> ConfigBuilder<AgentScope> {
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(trusted_roots(extra_roots))
                .build(),
        )
        .proxy(ureq::Proxy::try_from_env())
        .timeout_global(Some(Duration::from_secs(600)))
        .user_agent(format!("wagon/{}", wagon_core::WAGON_VERSION))
}

/// The system's trusted roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`) and `extra`;
/// Mozilla's list only when there are none of either.
fn trusted_roots(extra: &[Certificate<'static>]) -> RootCerts {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!("reading the system certificate store: {error}");
    }
    if loaded.certs.is_empty() && extra.is_empty() {
        tracing::warn!("no system certificates found; falling back to the bundled Mozilla roots");
        return RootCerts::WebPki;
    }
    let certs: Vec<Certificate<'static>> = loaded
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .chain(extra.iter().cloned())
        .collect();
    RootCerts::new_with_certs(&certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_the_decoded_last_segment() {
        assert_eq!(
            file_name("https://h/p/demo-1.0%2Blocal-py3-none-any.whl?x=1#sha256=a"),
            "demo-1.0+local-py3-none-any.whl"
        );
        assert_eq!(file_name("https://h/a%20b.tar.gz"), "a b.tar.gz");
        assert_eq!(file_name("https://h/"), "download");
        // An encoded separator or parent would leave the work folder.
        assert_eq!(file_name("https://h/x/..%2F..%2Fevil.tar.gz"), "download");
        assert_eq!(file_name("https://h/x/%2E%2E"), "download");
    }

    #[test]
    fn file_urls_are_decoded_paths() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a b+c.tar.gz");
        std::fs::write(&source, b"archive").unwrap();
        let url = Url::from_file_path(&source).unwrap();
        assert!(url.as_str().contains("a%20b+c.tar.gz"), "{url}");
        let destination = dir.path().join("copy");
        download(url.as_str(), &[], &destination).unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), b"archive");
        let missing = download("file:///nonexistent/x.tar.gz", &[], &destination).unwrap_err();
        assert!(missing.contains("/nonexistent/x.tar.gz"), "{missing}");
    }
}
