//! The built-in plugins, registered exactly as a third-party plugin would be.

use std::sync::Arc;

use wagon_core::plugin::Registry;

pub fn builtin() -> Registry {
    let mut registry = Registry::new();
    // Sources are asked in this order: specific spellings first, PyPI names last.
    registry
        .register_source(Arc::new(wagon_source_github::GithubSource))
        .register_source(Arc::new(wagon_source_url::UrlSource))
        .register_source(Arc::new(wagon_source_path::PathSource))
        .register_source(Arc::new(wagon_source_pypi::PypiSource))
        .register_builder(Arc::new(wagon_build_pip::PipWheel))
        .register_compressor(Arc::new(wagon_compress_gzip::Gzip))
        .register_compressor(Arc::new(wagon_compress_zstd::Zstd))
        .register_installer(Arc::new(wagon_install_unpack::Unpack))
        .register_installer(Arc::new(wagon_install_pip::Pip));
    registry
}
