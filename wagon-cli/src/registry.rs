//! The registry: plugins configured in wagon.toml first (so their source schemes are asked
//! before the general built-ins), then the built-ins, registered exactly as third parties are —
//! after checking that no plugin takes what a built-in or another plugin already claims.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use wagon_core::plugin::{Compressor, Installer, Registry, Source};
use wagon_plugin_host::{
    CompressorOffer, ExternalPlugin, Levels, Offers, PluginConfig, PluginKind,
};

use crate::config::{Loaded, PluginEntry};

/// `--format` spellings of the built-in formats, and the compressor each picks.
pub const FORMAT_ALIASES: &[(&str, &str)] = &[
    ("gz", "gzip"),
    ("tgz", "gzip"),
    ("tar.gz", "gzip"),
    ("zst", "zstd"),
    ("tar.zst", "zstd"),
];

/// The zip container: read before any compressor is asked, so never a plugin's.
const ZIP_MAGICS: &[&[u8]] = &[b"PK\x03\x04", b"PK\x05\x06"];

/// Seconds an exchange with an executable plugin may take when wagon.toml names no `timeout`.
const DEFAULT_TIMEOUT: i64 = 600;

pub fn build(config: &Loaded) -> anyhow::Result<Registry> {
    let mut plugins = Vec::new();
    for (name, entry) in &config.config.plugins {
        let plugin_config = plugin_config(config, name, entry)?;
        let declared = plugin_config.provides.is_some();
        match ExternalPlugin::load(plugin_config) {
            Ok(plugin) => plugins.push((Arc::new(plugin), entry.override_builtins)),
            // Undeclared, it had to be asked what it offers before any command could run; a
            // plugin that cannot answer must not break the commands that never needed it.
            Err(error) if !declared => tracing::warn!(
                "plugin `{name}` is left out of this command: {error}. A command that needs it \
                 will not find what it offers; declare them with `provides` in [plugins.{name}] \
                 so that it is started only when used"
            ),
            Err(error) => return Err(error.into()),
        }
    }
    let builtins = Builtins::new();
    check_collisions(&plugins, &builtins)?;
    let mut registry = Registry::new();
    let mut taken = Offers::default();
    for (plugin, _) in &plugins {
        let offers = plugin.offers();
        taken.compressors.extend(offers.compressors.iter().cloned());
        taken.installers.extend(offers.installers.iter().cloned());
        Arc::clone(plugin).register(&mut registry);
    }
    builtins.register(&mut registry, &taken);
    Ok(registry)
}

/// One `[plugins.NAME]`, checked and with its path found.
fn plugin_config(config: &Loaded, name: &str, entry: &PluginEntry) -> anyhow::Result<PluginConfig> {
    let kind = match entry.kind.as_deref() {
        None | Some("executable") => PluginKind::Executable,
        Some("library") => PluginKind::Library,
        Some(other) => bail!(
            "plugin `{name}`: kind `{other}` is not one Wagon knows; write `kind = \"executable\"` \
             (a program speaking the plugin protocol, the default) or `kind = \"library\"` (a \
             dynamic library built with the SDK's export_plugin!)"
        ),
    };
    let path = locate(&entry.path, &entry.dir);
    if kind == PluginKind::Executable && is_library_file(&path) {
        bail!(
            "plugin `{name}`: {} is a dynamic library, which Wagon does not run as a program; \
             add `kind = \"library\"` to [plugins.{name}] if it exports the SDK's plugin symbols",
            path.display()
        );
    }
    let timeout = match (kind, entry.timeout) {
        (PluginKind::Library, Some(_)) => bail!(
            "plugin `{name}`: `timeout` applies only to executable plugins; a library runs inside \
             Wagon and cannot be stopped, so remove `timeout` from [plugins.{name}]"
        ),
        (_, Some(seconds)) if seconds <= 0 => bail!(
            "plugin `{name}`: `timeout = {seconds}` is not a positive number of seconds; give how \
             long one exchange may take (the default is {DEFAULT_TIMEOUT})"
        ),
        (_, seconds) => seconds.unwrap_or(DEFAULT_TIMEOUT),
    };
    let settings = serde_json::to_value(&entry.settings)
        .with_context(|| format!("plugin `{name}`: settings"))?;
    let provides = entry
        .provides
        .as_ref()
        .map(|declared| {
            let compressors = declared
                .compressors
                .iter()
                .map(|c| {
                    let magic = hex::decode(&c.magic).ok().filter(|m| !m.is_empty());
                    let Some(magic) = magic else {
                        bail!(
                            "plugin `{name}`: compressor `{}` has magic `{}`, which is not the hex \
                             of the bytes its streams start with (like `04224d18`)",
                            c.name,
                            c.magic
                        );
                    };
                    Ok(CompressorOffer {
                        name: c.name.clone(),
                        extension: c.extension.clone(),
                        magic,
                        levels: c.levels.as_ref().map(|l| Levels {
                            default: l.default,
                            min: l.min,
                            max: l.max,
                        }),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok::<_, anyhow::Error>(Offers {
                sources: declared.sources.clone(),
                compressors,
                installers: declared.installers.clone(),
            })
        })
        .transpose()?;
    Ok(PluginConfig {
        name: name.to_string(),
        path,
        kind,
        settings,
        config_dir: if entry.dir.as_os_str().is_empty() {
            config.dir()
        } else {
            entry.dir.clone()
        },
        timeout: Duration::from_secs(timeout.unsigned_abs()),
        provides,
    })
}

/// A plugin's path: with a `/` (or absolute), relative to the configuring file's folder; a bare
/// name is looked up in `$WAGON_HOME/bin`, then on `PATH`, as a shell finds a command. Not
/// found, it stays as written, and starting it says so.
fn locate(written: &str, dir: &Path) -> PathBuf {
    let path = Path::new(written);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if written.contains('/') || written.contains(std::path::MAIN_SEPARATOR) {
        return dir.join(path);
    }
    crate::external::search_path()
        .into_iter()
        .map(|folder| folder.join(written))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| path.to_path_buf())
}

fn is_library_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["so", "dylib", "dll"].contains(&e.to_ascii_lowercase().as_str()))
        || path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".so."))
}

/// Wagon's own plugins, before they are registered.
struct Builtins {
    sources: Vec<Arc<dyn Source>>,
    compressors: Vec<Arc<dyn Compressor>>,
    installers: Vec<Arc<dyn Installer>>,
}

impl Builtins {
    fn new() -> Self {
        Self {
            // Sources are asked in this order: specific spellings first, PyPI names last.
            sources: vec![
                Arc::new(wagon_source_github::GithubSource),
                Arc::new(wagon_source_url::UrlSource),
                Arc::new(wagon_source_path::PathSource),
                Arc::new(wagon_source_pypi::PypiSource),
            ],
            compressors: vec![
                Arc::new(wagon_compress_gzip::Gzip),
                Arc::new(wagon_compress_zstd::Zstd),
            ],
            installers: vec![
                Arc::new(wagon_install_unpack::Unpack),
                Arc::new(wagon_install_pip::Pip),
            ],
        }
    }

    /// Registers every built-in but those a plugin replaces by name (with `override = true`).
    fn register(self, registry: &mut Registry, taken: &Offers) {
        for source in self.sources {
            registry.register_source(source);
        }
        registry
            .register_builder(Arc::new(wagon_build_wagon::WagonBuilder))
            .register_builder(Arc::new(wagon_build_pip::PipWheel));
        for compressor in self.compressors {
            if !taken
                .compressors
                .iter()
                .any(|c| c.name == compressor.name())
            {
                registry.register_compressor(compressor);
            }
        }
        for installer in self.installers {
            if !taken.installers.iter().any(|i| i == installer.name()) {
                registry.register_installer(installer);
            }
        }
    }

    /// Who owns each reserved claim: (kind of claim, the claim, the built-in owning it).
    fn claims(&self) -> Vec<Claim> {
        let mut claims = Vec::new();
        for source in &self.sources {
            for scheme in source.schemes() {
                claims.push(Claim::scheme(
                    scheme,
                    format!("the built-in {} source", source.name()),
                ));
            }
        }
        for compressor in &self.compressors {
            let owner = format!("the built-in {} format", compressor.name());
            claims.push(Claim::name(compressor.name(), owner.clone()));
            claims.push(Claim::extension(compressor.extension(), owner.clone()));
            claims.push(Claim::magic(compressor.magic(), owner));
        }
        for (alias, compressor) in FORMAT_ALIASES {
            claims.push(Claim::name(
                alias,
                format!("the built-in {compressor} format"),
            ));
        }
        for installer in &self.installers {
            claims.push(Claim {
                kind: ClaimKind::Installer,
                value: installer.name().to_string(),
                owner: format!("the built-in {} installer", installer.name()),
            });
        }
        claims.push(Claim::name("zip", "the built-in zip format".to_string()));
        claims.push(Claim::extension(
            "zip",
            "the built-in zip format".to_string(),
        ));
        for magic in ZIP_MAGICS {
            claims.push(Claim::magic(magic, "the built-in zip format".to_string()));
        }
        claims
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimKind {
    Scheme,
    CompressorName,
    Extension,
    Magic,
    Installer,
}

impl ClaimKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Scheme => "the source scheme",
            Self::CompressorName => "the compressor name",
            Self::Extension => "the archive extension",
            Self::Magic => "the magic bytes",
            Self::Installer => "the installer name",
        }
    }
}

/// One thing only one plugin may have: a scheme, a compressor's name, extension or magic bytes,
/// an installer's name. Schemes and names compare without case; magic bytes collide when one
/// starts the other (both would recognise the same archives).
#[derive(Debug, Clone)]
struct Claim {
    kind: ClaimKind,
    value: String,
    owner: String,
}

impl Claim {
    fn scheme(value: &str, owner: String) -> Self {
        Self {
            kind: ClaimKind::Scheme,
            value: value.to_ascii_lowercase(),
            owner,
        }
    }
    fn name(value: &str, owner: String) -> Self {
        Self {
            kind: ClaimKind::CompressorName,
            value: value.to_ascii_lowercase(),
            owner,
        }
    }
    fn extension(value: &str, owner: String) -> Self {
        Self {
            kind: ClaimKind::Extension,
            value: value.to_ascii_lowercase(),
            owner,
        }
    }
    fn magic(value: &[u8], owner: String) -> Self {
        Self {
            kind: ClaimKind::Magic,
            value: hex::encode(value),
            owner,
        }
    }

    fn collides(&self, other: &Claim) -> bool {
        self.kind == other.kind
            && match self.kind {
                // Hex of whole bytes: a prefix of the text is a prefix of the bytes.
                ClaimKind::Magic => {
                    self.value.starts_with(&other.value) || other.value.starts_with(&self.value)
                }
                _ => self.value == other.value,
            }
    }
}

fn plugin_claims(plugin: &ExternalPlugin) -> Vec<Claim> {
    let owner = format!("plugin `{}`", plugin.config.name);
    let offers = plugin.offers();
    let mut claims: Vec<Claim> = offers
        .sources
        .iter()
        .map(|s| Claim::scheme(s, owner.clone()))
        .collect();
    for compressor in &offers.compressors {
        claims.push(Claim::name(&compressor.name, owner.clone()));
        claims.push(Claim::extension(&compressor.extension, owner.clone()));
        claims.push(Claim::magic(&compressor.magic, owner.clone()));
    }
    claims.extend(offers.installers.iter().map(|i| Claim {
        kind: ClaimKind::Installer,
        value: i.clone(),
        owner: owner.clone(),
    }));
    claims
}

/// Refuses a plugin claiming what a built-in has (unless it overrides the built-ins; never the
/// zip container's magic, read before any compressor) or what another plugin claims.
fn check_collisions(
    plugins: &[(Arc<ExternalPlugin>, bool)],
    builtins: &Builtins,
) -> anyhow::Result<()> {
    let reserved = builtins.claims();
    let mut seen: Vec<(Claim, String)> = Vec::new();
    for (plugin, overrides) in plugins {
        let name = &plugin.config.name;
        for claim in plugin_claims(plugin) {
            for builtin in reserved.iter().filter(|b| b.collides(&claim)) {
                let zip_magic = builtin.kind == ClaimKind::Magic
                    && ZIP_MAGICS
                        .iter()
                        .any(|m| claim.collides(&Claim::magic(m, String::new())));
                if zip_magic {
                    bail!(
                        "plugin `{name}` claims the magic bytes `{}`, which are the built-in zip \
                         format's; Wagon reads zip archives before asking any compressor, so give \
                         the plugin's compressor its own magic bytes",
                        claim.value
                    );
                }
                if !overrides {
                    bail!(
                        "plugin `{name}` claims {} `{}`, which is {}'s; choose another, or set \
                         `override = true` in [plugins.{name}] to replace the built-in",
                        claim.kind.describe(),
                        claim.value,
                        builtin.owner
                    );
                }
            }
            if let Some((earlier, other)) = seen.iter().find(|(c, _)| c.collides(&claim)) {
                bail!(
                    "plugins `{other}` and `{name}` both claim {} (`{}` and `{}`); only one plugin \
                     may, so remove it from one of them",
                    claim.kind.describe(),
                    earlier.value,
                    claim.value
                );
            }
            seen.push((claim, name.clone()));
        }
    }
    Ok(())
}
