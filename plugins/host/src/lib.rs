//! Wagon's host side of third-party plugins. A plugin is an executable speaking the SDK's JSON
//! lines on stdin/stdout, or a dynamic library exporting the same messages over a C ABI; either
//! way one [`Transport`] carries them, the handshake negotiates the protocol version, and the
//! declared capabilities become ordinary [`wagon_core::plugin`] sources, compressors and
//! installers in the registry — used exactly like the built-ins.

#![warn(missing_docs)]

mod adapters;
mod transport;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wagon_core::plugin::Registry;
use wagon_plugin_sdk::{Capabilities, HostMessage, PROTOCOL_VERSION, PluginMessage};

pub use transport::Transport;

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
    /// Where the executable or library is, already resolved against wagon.toml's folder.
    pub path: PathBuf,
    /// Whether `path` is an executable or a library.
    pub kind: PluginKind,
    /// The plugin's own `settings` table, passed with every request as `settings` (JSON); Wagon
    /// does not read it.
    pub settings: Value,
    /// The folder of the wagon.toml that configured it, passed as `config_dir` so the plugin can
    /// resolve relative paths in its settings as the user wrote them.
    pub config_dir: PathBuf,
    /// How long one exchange with an executable plugin may take (wagon.toml's `timeout`, in
    /// seconds; 600 when absent) before it and everything it started are killed.
    pub timeout: Duration,
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
    #[error(
        "plugin `{plugin}` is a library, but this Wagon was built without dynamic plugin support (feature `dynamic`)"
    )]
    /// The plugin is a library, but this build cannot load libraries.
    NoDynamicSupport {
        /// The plugin's name.
        plugin: String,
    },
}

/// A plugin after its handshake.
pub struct ExternalPlugin {
    /// How it was configured.
    pub config: PluginConfig,
    /// What it declared in its hello.
    pub capabilities: Capabilities,
    transport: Transport,
}

impl std::fmt::Debug for ExternalPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalPlugin")
            .field("name", &self.config.name)
            .field("capabilities", &self.capabilities)
            .finish()
    }
}

impl ExternalPlugin {
    /// Starts or loads the plugin and performs the handshake.
    pub fn load(config: PluginConfig) -> Result<Self, HostError> {
        let transport = Transport::open(&config)?;
        let replies = transport.exchange(&config, &[hello()])?;
        let capabilities = match replies.into_iter().next() {
            Some(PluginMessage::Hello {
                protocol,
                capabilities,
                ..
            }) if protocol == PROTOCOL_VERSION => capabilities,
            Some(PluginMessage::Hello { protocol, .. }) => {
                return Err(HostError::ProtocolMismatch {
                    plugin: config.name.clone(),
                    theirs: protocol.to_string(),
                    ours: PROTOCOL_VERSION,
                });
            }
            Some(PluginMessage::Response {
                error: Some(error), ..
            }) if error.code == "protocol" => {
                return Err(HostError::ProtocolRefused {
                    plugin: config.name.clone(),
                    reason: error.message,
                    ours: PROTOCOL_VERSION,
                });
            }
            other => {
                return Err(HostError::Protocol {
                    plugin: config.name.clone(),
                    detail: format!("expected a hello, got {other:?}"),
                });
            }
        };
        tracing::info!("plugin `{}` offers {capabilities:?}", config.name);
        Ok(Self {
            config,
            capabilities,
            transport,
        })
    }

    /// Sends one request (after a hello, for executables) and returns its result.
    pub fn request(&self, method: &str, mut params: Value) -> Result<Value, HostError> {
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
        let messages = match self.transport {
            Transport::Executable => vec![hello(), request],
            #[cfg(feature = "dynamic")]
            Transport::Library(_) => vec![request],
        };
        let replies = self.transport.exchange(&self.config, &messages)?;
        let plugin = self.config.name.clone();
        match replies.into_iter().last() {
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

    /// Registers every capability the plugin declared.
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
