//! One distribution file offered by an index or a find-links location, as the resolver sees it.

use url::Url;
use wagon_core::python::{DistFilename, VersionSpecifiers, WheelFilename};
use wagon_core::redact::redact_url;

/// A file a project offers: a wheel or a source distribution.
#[derive(Debug, Clone)]
pub struct IndexFile {
    /// The parsed file name (`DistFilename::WheelFilename` or `SourceDistFilename`).
    pub filename: DistFilename,
    /// The file name as the index spelled it.
    pub raw_filename: String,
    /// Where to get it: absolute, without fragment or credentials (an `http(s)` or `file` URL).
    pub url: Url,
    /// The sha256 the index lists (lowercase hex), if any: downloads are checked against it;
    /// without it they are taken unverified.
    pub sha256: Option<String>,
    /// The file's `Requires-Python`, when the index gives it.
    pub requires_python: Option<VersionSpecifiers>,
    /// Set when the index marks the file yanked (PEP 592).
    pub yanked: Option<Yank>,
    /// Whether the index advertises PEP 658/714 metadata at `{url}.metadata`.
    pub metadata_advertised: bool,
    /// The sha256 of that metadata file, when advertised with one.
    pub metadata_sha256: Option<String>,
    /// The size in bytes, when the index gives it.
    pub size: Option<u64>,
    /// Where the file was listed (an index or find-links location, redacted), for messages.
    pub origin: String,
}

/// A yank mark: the file stays listed but should be chosen only when pinned exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yank {
    /// The reason the index gives, if any.
    pub reason: Option<String>,
}

impl IndexFile {
    /// The wheel file name, or `None` for a source distribution.
    pub fn wheel(&self) -> Option<&WheelFilename> {
        match &self.filename {
            DistFilename::WheelFilename(wheel) => Some(wheel),
            DistFilename::SourceDistFilename(_) => None,
        }
    }

    /// Whether this is a wheel.
    pub fn is_wheel(&self) -> bool {
        self.wheel().is_some()
    }

    /// The URL as it may be shown.
    pub fn shown_url(&self) -> String {
        redact_url(self.url.as_str())
    }
}

/// Whether a file name from an index can be used as a file name here: no separators, no parent
/// or hidden names, no control characters.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}
