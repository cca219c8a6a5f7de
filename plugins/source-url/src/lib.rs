//! The URL source plugin: a source archive (`.tar.gz`, `.zip`) or a wheel at an `http://`,
//! `https://` or `file://` URL, downloaded and unpacked safely.
//!
//! Downloads honour corporate networks: proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (and
//! `NO_PROXY`), and TLS verified against the system's certificate store — including
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`, where a company CA that re-signs traffic lives — never only a
//! bundled root list. [`download`] is public so that sources built on URLs (GitHub) share it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};
use wagon_core::plugin::{FetchRequest, Fetched, Source, SourceError};

/// Fetches sources by URL.
#[derive(Debug, Default, Clone, Copy)]
pub struct UrlSource;

const NAME: &str = "url";

impl Source for UrlSource {
    fn name(&self) -> &str {
        NAME
    }

    fn claims(&self, spec: &str) -> bool {
        let lower = spec.to_ascii_lowercase();
        ["http://", "https://", "file://"]
            .iter()
            .any(|scheme| lower.starts_with(scheme))
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        let spec = request.spec;
        let file_name = spec
            .split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').next())
            .filter(|name| !name.is_empty())
            .unwrap_or("download");
        let destination = request.work_dir.join(file_name);
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

/// Downloads `url` to `destination` (streaming), with extra request `headers`. The error is a
/// sentence for the user.
pub fn download(url: &str, headers: &[(&str, String)], destination: &Path) -> Result<(), String> {
    if let Some(path) = url.strip_prefix("file://") {
        let source = PathBuf::from(path);
        return std::fs::copy(&source, destination)
            .map(|_| ())
            .map_err(|err| format!("cannot read {}: {err}", source.display()));
    }
    let agent = agent();
    let mut request = agent.get(url);
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
    let mut file = std::fs::File::create(destination)
        .map_err(|err| format!("cannot write {}: {err}", destination.display()))?;
    let mut body = response.into_body().into_reader();
    std::io::copy(&mut body, &mut file)
        .map_err(|err| format!("the download of {url} broke off: {err}"))?;
    file.flush()
        .map_err(|err| format!("cannot write {}: {err}", destination.display()))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(TlsConfig::builder().root_certs(system_roots()).build())
        .proxy(ureq::Proxy::try_from_env())
        .timeout_global(Some(Duration::from_secs(600)))
        .user_agent(format!("wagon/{}", wagon_core::WAGON_VERSION))
        .build()
        .into()
}

/// The system's trusted roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`); Mozilla's list only
/// when the system has none.
fn system_roots() -> RootCerts {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!("reading the system certificate store: {error}");
    }
    if loaded.certs.is_empty() {
        tracing::warn!("no system certificates found; falling back to the bundled Mozilla roots");
        return RootCerts::WebPki;
    }
    let certs: Vec<Certificate<'static>> = loaded
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    RootCerts::new_with_certs(&certs)
}
