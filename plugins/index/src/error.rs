//! What can go wrong talking to package indexes: each error quotes the (redacted) URL or path
//! and says what to do.

use std::path::PathBuf;

use wagon_core::path_error::PathIoError;

/// An index client failure. Every URL in a message went through
/// `wagon_core::redact::redact_url`, so no credentials are shown.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{url}` is not a valid {what} URL: {reason}; give an http(s) URL such as {example}")]
    InvalidUrl {
        what: &'static str,
        url: String,
        reason: String,
        example: &'static str,
    },
    #[error("pip configuration {origin} sets `{key}` to `{value}`, which is not a yes/no value")]
    InvalidBool {
        origin: String,
        key: String,
        value: String,
    },
    #[error(
        "{url} is plain http to a host that is not trusted; use https, or pass --trusted-host {host} if the index really has no TLS"
    )]
    Insecure { url: String, host: String },
    #[error(
        "{from} redirects to {to}, {reason}; the index must keep to https, or pass --trusted-host {host} if that host really has no TLS"
    )]
    InsecureRedirect {
        from: String,
        to: String,
        host: String,
        reason: &'static str,
    },
    #[error(
        "the certificate bundle {path} (--cert / PIP_CERT) {reason}; give a PEM file of CA certificates"
    )]
    Certificate { path: PathBuf, reason: String },
    #[error(
        "cannot reach {url}: {reason}. Check the address, your network, the proxy (HTTPS_PROXY) and, behind a TLS-inspecting proxy, that its CA is in the system store, SSL_CERT_FILE or --cert"
    )]
    Network { url: String, reason: String },
    #[error(
        "{url} answered HTTP {status} ({hint}); check the credentials in the index URL or the index's access rules"
    )]
    Unauthorized {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error("{url} answered HTTP {status}; check the address, or retry if the index is busy")]
    Status { url: String, status: u16 },
    #[error(
        "{url} sent a page that cannot be read ({reason}); check that it is a PEP 503/691 simple index"
    )]
    Page { url: String, reason: String },
    #[error(
        "{filename} from {origin} has sha256 {actual}, but the index lists {expected}; it was refused. Retry, and if it persists the index or a proxy serves altered files"
    )]
    HashMismatch {
        filename: String,
        origin: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{filename} from {origin} {problem}; it was refused. Retry, and if it persists the index or a proxy serves altered files"
    )]
    Size {
        filename: String,
        origin: String,
        problem: String,
    },
    #[error("cannot read the core metadata of {filename} from {url}: {reason}")]
    Metadata {
        filename: String,
        url: String,
        reason: String,
    },
    #[error(
        "{filename} is a source distribution; its metadata needs a build, which the index client does not do"
    )]
    NotAWheel { filename: String },
    #[error(transparent)]
    Io(#[from] PathIoError),
    #[error("cannot read {path}: {reason}")]
    ConfigFile { path: PathBuf, reason: String },
    #[error(
        "no cache folder: set WAGON_CACHE_DIR (or HOME / XDG_CACHE_HOME), or run without a cache"
    )]
    NoCacheDir,
}
