//! The registry: plugins configured in wagon.toml first (so their source schemes are asked
//! before the general built-ins), then the built-ins, registered exactly as third parties are.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use wagon_core::plugin::Registry;
use wagon_plugin_host::{ExternalPlugin, PluginConfig, PluginKind};

use crate::config::Loaded;

pub fn build(config: &Loaded) -> anyhow::Result<Registry> {
    let mut registry = Registry::new();
    for (name, entry) in &config.config.plugins {
        let kind = match entry.kind.as_deref() {
            None | Some("executable") => PluginKind::Executable,
            Some("library") => PluginKind::Library,
            Some(other) => {
                bail!("plugin `{name}`: kind `{other}` is neither `executable` nor `library`")
            }
        };
        let settings = serde_json::to_value(&entry.settings)
            .with_context(|| format!("plugin `{name}`: settings"))?;
        let plugin = ExternalPlugin::load(PluginConfig {
            name: name.clone(),
            path: config.resolve(&entry.path),
            kind,
            settings,
            config_dir: config.dir(),
            timeout: Duration::from_secs(entry.timeout.unwrap_or(600)),
        })?;
        Arc::new(plugin).register(&mut registry);
    }
    builtin(&mut registry);
    Ok(registry)
}

fn builtin(registry: &mut Registry) {
    // Sources are asked in this order: specific spellings first, PyPI names last.
    registry
        .register_source(Arc::new(wagon_source_github::GithubSource))
        .register_source(Arc::new(wagon_source_url::UrlSource))
        .register_source(Arc::new(wagon_source_path::PathSource))
        .register_source(Arc::new(wagon_source_pypi::PypiSource))
        .register_builder(Arc::new(wagon_build_wagon::WagonBuilder))
        .register_builder(Arc::new(wagon_build_pip::PipWheel))
        .register_compressor(Arc::new(wagon_compress_gzip::Gzip))
        .register_compressor(Arc::new(wagon_compress_zstd::Zstd))
        .register_installer(Arc::new(wagon_install_unpack::Unpack))
        .register_installer(Arc::new(wagon_install_pip::Pip));
}
