//! Wagon's host side of third-party plugins. A plugin is an executable speaking the SDK's JSON
//! lines on stdin/stdout, or a dynamic library exporting the same messages over a C ABI; either
//! way the handshake negotiates the protocol version, and the capabilities — declared in
//! wagon.toml, so the plugin starts only when used, or else from its hello — become ordinary
//! [`wagon_core::plugin`] sources, compressors and installers in the registry, used exactly like
//! the built-ins.

#![warn(missing_docs)]

mod adapters;
mod transport;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use wagon_core::plugin::Registry;
use wagon_plugin_sdk::{Capabilities, HostMessage, PROTOCOL_VERSION, PluginMessage};

/// How a plugin is delivered: wagon.toml's `kind` (absent means `executable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// `kind = "executable"`: a program Wagon starts for each exchange, speaking JSON lines on
    /// stdin/stdout (the SDK's `serve`).
    Executable,
    /// `kind = "library"`: a dynamic library (`.so`, `.dylib`, `.dll`) loaded once into Wagon,
    /// exporting the SDK's `export_plugin!` symbols; needs this crate's `dynamic` feature.
    Library,
}

/// One `[plugins.NAME]` entry of wagon.toml.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// The `NAME` of `[plugins.NAME]`, used in every message about the plugin.
    pub name: String,
    /// Where the executable or library is, already resolved against wagon.toml's folder (or
    /// found in `$WAGON_HOME/bin` or on `PATH`).
    pub path: PathBuf,
    /// Whether `path` is an executable or a library.
    pub kind: PluginKind,
    /// The plugin's own `settings` table, passed with every request as `settings` (JSON); Wagon
    /// does not read it.
    pub settings: Value,
    /// The folder of the wagon.toml that configured it, passed as `config_dir` so the plugin can
    /// resolve relative paths in its settings as the user wrote them.
    pub config_dir: PathBuf,
    /// How long one exchange with an executable plugin may take, from its start to its exit
    /// (wagon.toml's `timeout`, in seconds; 600 when absent), before it and everything it
    /// started are killed.
    pub timeout: Duration,
    /// What wagon.toml's `provides` declares. Declared, the plugin is started (or loaded) only
    /// when a command uses one of these; undeclared, it is asked in a handshake when the
    /// registry is built.
    pub provides: Option<Offers>,
}

/// What a plugin serves, as the registry needs it: declared in wagon.toml or learned from the
/// plugin's hello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offers {
    /// URL schemes of sources, without `://`.
    pub sources: Vec<String>,
    /// Compressors.
    pub compressors: Vec<CompressorOffer>,
    /// Installer names.
    pub installers: Vec<String>,
}

/// A compressor a plugin serves: enough to pick it by name or recognise its archives without
/// starting the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressorOffer {
    /// The name users pick it by (`--format NAME`).
    pub name: String,
    /// The file-name suffix of a tar compressed with it, without a dot.
    pub extension: String,
    /// The bytes its streams start with.
    pub magic: Vec<u8>,
    /// Its levels, when known without asking the plugin (declared, or from its hello).
    pub levels: Option<Levels>,
}

/// A compressor's levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// The level used when the user names none.
    pub default: i32,
    /// The lowest accepted.
    pub min: i32,
    /// The highest accepted.
    pub max: i32,
}

impl Offers {
    /// A hello's capabilities; a compressor without usable magic bytes is left out, with a
    /// warning (Wagon could never recognise its archives).
    fn from_hello(plugin: &str, capabilities: &Capabilities) -> Self {
        let compressors = capabilities
            .compressors
            .iter()
            .filter_map(|info| match hex::decode(&info.magic) {
                Ok(magic) if !magic.is_empty() => Some(CompressorOffer {
                    name: info.name.clone(),
                    extension: info.extension.clone(),
                    magic,
                    levels: Some(Levels {
                        default: info.default_level,
                        min: info.min_level,
                        max: info.max_level,
                    }),
                }),
                _ => {
                    tracing::warn!(
                        "plugin `{plugin}`: compressor `{}` has no usable magic bytes (`{}`); ignored",
                        info.name,
                        info.magic
                    );
                    None
                }
            })
            .collect();
        Self {
            sources: capabilities.sources.clone(),
            compressors,
            installers: capabilities.installers.clone(),
        }
    }
}

/// One capability a command is about to use, checked against what the plugin says it offers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Use<'a> {
    Source(&'a str),
    Compressor(&'a CompressorOffer),
    Installer(&'a str),
}

/// Why a plugin could not be used. Messages name the plugin and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The executable could not be started (missing, not executable, wrong architecture).
    #[error("plugin `{plugin}`: cannot start {path}: {source}")]
    Spawn {
        /// The plugin's name.
        plugin: String,
        /// The executable Wagon tried to start.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The executable did not answer within its `timeout`; it and its children were killed.
    #[error("plugin `{plugin}` did not answer within {seconds} s and was stopped")]
    Timeout {
        /// The plugin's name.
        plugin: String,
        /// The timeout it exceeded, in seconds.
        seconds: u64,
    },
    #[error(
        "plugin `{plugin}` speaks protocol {theirs}, but this Wagon speaks {ours}: rebuild the plugin \
         against wagon-plugin-sdk for protocol {ours}, or use a Wagon that speaks {theirs}"
    )]
    /// The plugin and this Wagon share no protocol version.
    ProtocolMismatch {
        /// The plugin's name.
        plugin: String,
        /// The version the plugin speaks.
        theirs: String,
        /// The version this Wagon speaks.
        ours: u32,
    },
    #[error(
        "plugin `{plugin}` refused protocol {ours}, the one this Wagon speaks: {reason}. Rebuild \
         the plugin against a wagon-plugin-sdk for protocol {ours}, or use a Wagon that speaks \
         the plugin's"
    )]
    /// The plugin answered the hello with a `protocol` error: it speaks none of this Wagon's
    /// versions.
    ProtocolRefused {
        /// The plugin's name.
        plugin: String,
        /// The plugin's own words on the versions (the SDK says which it speaks).
        reason: String,
        /// The version this Wagon speaks.
        ours: u32,
    },
    /// The plugin answered something that is not a valid message, the wrong message, or nothing.
    #[error("plugin `{plugin}` broke the protocol: {detail}")]
    Protocol {
        /// The plugin's name.
        plugin: String,
        /// What was wrong with its answer.
        detail: String,
    },
    /// The plugin answered a request with an error.
    #[error("plugin `{plugin}` failed: {message} ({code})")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// The error's machine-readable code, as the plugin sent it.
        code: String,
        /// The error's message for the user, as the plugin sent it.
        message: String,
    },
    /// The dynamic library could not be loaded, or lacks the SDK's exported symbols.
    #[error("plugin `{plugin}`: cannot load library {path}: {detail}")]
    Library {
        /// The plugin's name.
        plugin: String,
        /// The library Wagon tried to load.
        path: PathBuf,
        /// The loader's reason.
        detail: String,
    },
    /// The plugin does not offer what wagon.toml's `provides` declares for it.
    #[error(
        "plugin `{plugin}` is declared in wagon.toml to provide {what}, but its hello {offered}: \
         correct `provides` in [plugins.{plugin}] to match the plugin, or update the plugin"
    )]
    NotAsDeclared {
        /// The plugin's name.
        plugin: String,
        /// The declared capability (`source scheme \`corp\``).
        what: String,
        /// What the plugin said instead.
        offered: String,
    },
    #[error(
        "plugin `{plugin}` is a library, but this Wagon was built without dynamic plugin support (feature `dynamic`)"
    )]
    /// The plugin is a library, but this build cannot load libraries.
    NoDynamicSupport {
        /// The plugin's name.
        plugin: String,
    },
}

/// A configured plugin. It is started (an executable) or loaded (a library) only when a request
/// needs it — or, when wagon.toml declares no `provides`, once for the handshake that says what
/// it offers.
pub struct ExternalPlugin {
    /// How it was configured.
    pub config: PluginConfig,
    /// What the registry serves through it: declared, or from its hello.
    offers: Offers,
    /// What its own hello said, once a handshake has happened.
    offered: OnceLock<Offers>,
    /// The library, once loaded.
    #[cfg(feature = "dynamic")]
    library: OnceLock<transport::library::Loaded>,
}

impl std::fmt::Debug for ExternalPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalPlugin")
            .field("name", &self.config.name)
            .field("offers", &self.offers)
            .finish()
    }
}

impl ExternalPlugin {
    /// Prepares the plugin. With `provides` declared nothing is started; without, the plugin is
    /// started or loaded now for its handshake.
    pub fn load(config: PluginConfig) -> Result<Self, HostError> {
        let mut plugin = Self {
            offers: Offers::default(),
            offered: OnceLock::new(),
            #[cfg(feature = "dynamic")]
            library: OnceLock::new(),
            config,
        };
        plugin.offers = match plugin.config.provides.clone() {
            Some(declared) => declared,
            None => plugin.handshake()?.clone(),
        };
        Ok(plugin)
    }

    /// What the registry serves through this plugin.
    pub fn offers(&self) -> &Offers {
        &self.offers
    }

    /// What the plugin's own hello says, asking it (once) when no exchange has yet told.
    pub(crate) fn handshake(&self) -> Result<&Offers, HostError> {
        if let Some(offered) = self.offered.get() {
            return Ok(offered);
        }
        let replies = self.exchange(&[hello()])?;
        self.accept_hello(replies.into_iter().next())
    }

    /// Checks a hello answer and remembers what it offers.
    fn accept_hello(&self, reply: Option<PluginMessage>) -> Result<&Offers, HostError> {
        let plugin = self.config.name.clone();
        let capabilities = match reply {
            Some(PluginMessage::Hello {
                protocol,
                capabilities,
                ..
            }) if protocol == PROTOCOL_VERSION => capabilities,
            Some(PluginMessage::Hello { protocol, .. }) => {
                return Err(HostError::ProtocolMismatch {
                    plugin,
                    theirs: protocol.to_string(),
                    ours: PROTOCOL_VERSION,
                });
            }
            Some(PluginMessage::Response {
                error: Some(error), ..
            }) if error.code == "protocol" => {
                return Err(HostError::ProtocolRefused {
                    plugin,
                    reason: error.message,
                    ours: PROTOCOL_VERSION,
                });
            }
            other => {
                return Err(HostError::Protocol {
                    plugin,
                    detail: format!("expected a hello, got {other:?}"),
                });
            }
        };
        let offers = Offers::from_hello(&self.config.name, &capabilities);
        tracing::info!("plugin `{}` offers {offers:?}", self.config.name);
        Ok(self.offered.get_or_init(|| offers))
    }

    /// Checks that the plugin's hello offers `used` as wagon.toml declared it.
    pub(crate) fn check_offers(&self, used: Use<'_>) -> Result<(), HostError> {
        if self.config.provides.is_none() {
            // The registry's offers are the plugin's own hello: nothing to compare.
            return Ok(());
        }
        let offered = self.handshake()?;
        let mismatch = |what: String, offered: String| HostError::NotAsDeclared {
            plugin: self.config.name.clone(),
            what,
            offered,
        };
        match used {
            Use::Source(scheme) if !offered.sources.iter().any(|s| s == scheme) => Err(mismatch(
                format!("source scheme `{scheme}`"),
                format!("offers the schemes [{}]", offered.sources.join(", ")),
            )),
            Use::Installer(name) if !offered.installers.iter().any(|i| i == name) => Err(mismatch(
                format!("installer `{name}`"),
                format!("offers the installers [{}]", offered.installers.join(", ")),
            )),
            Use::Compressor(declared) => {
                let theirs = offered.compressors.iter().find(|c| c.name == declared.name);
                match theirs {
                    None => Err(mismatch(
                        format!("compressor `{}`", declared.name),
                        format!(
                            "offers the compressors [{}]",
                            offered
                                .compressors
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )),
                    Some(theirs)
                        if theirs.magic != declared.magic
                            || theirs.extension != declared.extension =>
                    {
                        Err(mismatch(
                            format!(
                                "compressor `{}` with extension `{}` and magic `{}`",
                                declared.name,
                                declared.extension,
                                hex::encode(&declared.magic)
                            ),
                            format!(
                                "gives extension `{}` and magic `{}`",
                                theirs.extension,
                                hex::encode(&theirs.magic)
                            ),
                        ))
                    }
                    Some(_) => Ok(()),
                }
            }
            Use::Source(_) | Use::Installer(_) => Ok(()),
        }
    }

    /// Sends one request for `used` (after a hello, for executables) and returns its result.
    pub(crate) fn request(
        &self,
        used: Use<'_>,
        method: &str,
        mut params: Value,
    ) -> Result<Value, HostError> {
        if let Some(object) = params.as_object_mut() {
            object.insert("settings".to_string(), self.config.settings.clone());
            object.insert(
                "config_dir".to_string(),
                Value::from(self.config.config_dir.display().to_string()),
            );
        }
        const ID: u64 = 1;
        let request = HostMessage::Request {
            id: ID,
            method: method.to_string(),
            params,
        };
        let reply = match self.config.kind {
            // A fresh process each time: its hello comes first, checked like a handshake's.
            PluginKind::Executable => {
                let mut replies = self.exchange(&[hello(), request])?.into_iter();
                let hello = replies.next();
                if self.offered.get().is_none() {
                    self.accept_hello(hello)?;
                }
                self.check_offers(used)?;
                replies.next()
            }
            PluginKind::Library => {
                self.check_offers(used)?;
                self.exchange(&[request])?.into_iter().next()
            }
        };
        let plugin = self.config.name.clone();
        match reply {
            Some(PluginMessage::Response { id, .. }) if id != ID => Err(HostError::Protocol {
                plugin,
                detail: format!(
                    "it answered request {ID} ({method}) with a response to request {id}"
                ),
            }),
            Some(PluginMessage::Response {
                result: Some(result),
                error: None,
                ..
            }) => Ok(result),
            Some(PluginMessage::Response {
                error: Some(error), ..
            }) => Err(HostError::Plugin {
                plugin,
                code: error.code,
                message: error.message,
            }),
            other => Err(HostError::Protocol {
                plugin,
                detail: format!("expected a response to {method}, got {other:?}"),
            }),
        }
    }

    /// One exchange: a fresh process for an executable, calls into the (then loaded) library.
    fn exchange(&self, messages: &[HostMessage]) -> Result<Vec<PluginMessage>, HostError> {
        match self.config.kind {
            PluginKind::Executable => transport::exchange_with_process(&self.config, messages),
            #[cfg(feature = "dynamic")]
            PluginKind::Library => {
                let library = match self.library.get() {
                    Some(library) => library,
                    None => {
                        let loaded = transport::library::Loaded::open(&self.config)?;
                        self.library.get_or_init(|| loaded)
                    }
                };
                messages
                    .iter()
                    .map(|m| library.call(&self.config, m))
                    .collect()
            }
            #[cfg(not(feature = "dynamic"))]
            PluginKind::Library => Err(HostError::NoDynamicSupport {
                plugin: self.config.name.clone(),
            }),
        }
    }

    /// Registers every capability the plugin offers.
    pub fn register(self: Arc<Self>, registry: &mut Registry) {
        adapters::register(&self, registry);
    }
}

fn hello() -> HostMessage {
    HostMessage::Hello {
        protocols: vec![PROTOCOL_VERSION],
        wagon: wagon_core::WAGON_VERSION.to_string(),
    }
}
