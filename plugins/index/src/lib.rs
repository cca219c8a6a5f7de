//! Wagon's package index client: which files a project has on the configured indexes and
//! find-links locations, a wheel's core metadata, and verified, cached downloads — without pip.
//!
//! The entry point is [`Index`]: build [`IndexSettings`] from explicit values layered over pip's
//! own configuration ([`IndexSettings::resolve`]), pick a [`Cache`], then ask for
//! [`Index::files`], [`Index::metadata`] and [`Index::download`].
//!
//! ```no_run
//! # fn main() -> Result<(), wagon_index::Error> {
//! use wagon_index::{Cache, ExplicitSettings, Index, IndexSettings, PipSources};
//! let settings = IndexSettings::resolve(&ExplicitSettings::default(), &PipSources::from_process())?;
//! let index = Index::new(settings, Cache::from_environment(&PipSources::from_process().vars, false)?)?;
//! let name = wagon_core::python::package_name("requests").expect("a valid name");
//! let files = index.files(&name)?;
//! let wheel = files.iter().find(|f| f.is_wheel()).expect("a wheel");
//! let metadata = index.metadata(wheel)?;
//! let paths = index.download(std::slice::from_ref(wheel))?;
//! # let _ = (metadata, paths); Ok(()) }
//! ```
//!
//! Python semantics (names, versions, file names, metadata) come from `wagon_core::python`;
//! the network setup (proxies, system certificates) from `wagon-source-url`.
//!
//! # What is checked
//!
//! - Every downloaded file is checked against the index's sha256 when it lists one, before it
//!   enters the cache (written whole or not at all); a mismatch is refused. A file listed
//!   without a sha256 (a find-links folder, a page without hashes) is taken as it comes, as
//!   pip takes it, and named at info level as not verified.
//! - A download may not be longer, nor shorter, than the size the index lists (PEP 700); with
//!   no size listed it stops at 16 GiB. A range read of a wheel's metadata stops at 32 MiB
//!   and the wheel is then downloaded whole.
//! - A page fetched over http(s) may list only http(s) files; `file:` links only from a local
//!   find-links page, and only to regular files. Other links are skipped with a warning.
//! - Plain http only to loopback or a `--trusted-host`, on the first URL and on every redirect
//!   hop; https never redirects down to plain http except to a trusted host.
//! - Credentials from an index URL go as Basic auth to that URL's own host alone.
//! - Connecting and each network read or write are bounded in time (a stalled server fails);
//!   a whole transfer is not (a slow honest one finishes).
//! - Each host is looked up in DNS once per run; a lookup or connection that fails in a
//!   transient way (temporary DNS failure, connection refused or reset before an answer) is
//!   retried three times with a short backoff. HTTP error statuses and hash or size
//!   mismatches are not retried.

mod cache;
mod dns;
mod download;
mod error;
mod file;
mod find_links;
mod html;
mod http;
mod index;
mod metadata;
mod pages;
mod pip_config;
mod range;
mod settings;
mod simple;

pub use cache::Cache;
pub use download::Downloaded;
pub use error::Error;
pub use file::{IndexFile, Yank};
pub use index::Index;
pub use pip_config::PipSources;
pub use settings::{DEFAULT_INDEX_URL, ExplicitSettings, FindLinks, IndexSettings};
