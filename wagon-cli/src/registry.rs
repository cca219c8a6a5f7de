//! The built-in plugins, registered exactly as a third-party plugin would be.

use std::sync::Arc;

use wagon_core::plugin::Registry;

pub fn builtin() -> Registry {
    let mut registry = Registry::new();
    registry
        .register_compressor(Arc::new(wagon_compress_gzip::Gzip))
        .register_compressor(Arc::new(wagon_compress_zstd::Zstd))
        .register_installer(Arc::new(wagon_install_pip::Pip));
    registry
}
