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

mod cache;
mod download;
mod error;
mod file;
mod find_links;
mod html;
mod http;
mod index;
mod metadata;
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
