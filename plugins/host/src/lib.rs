//! Wagon's host side of third-party plugins. A plugin is an executable speaking the SDK's JSON
//! lines on stdin/stdout, or a dynamic library exporting the same messages over a C ABI; either
//! way one [`Transport`] carries them, the handshake negotiates the protocol version, and the
//! declared capabilities become ordinary [`wagon_core::plugin`] sources, compressors and
//! installers in the registry — used exactly like the built-ins.

mod adapters;
mod transport;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wagon_core::plugin::Registry;
use wagon_plugin_sdk::{Capabilities, HostMessage, PROTOCOL_VERSION, PluginMessage};

pub use transport::Transport;

/// How a plugin is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Executable,
    Library,
}

/// One `[plugins.NAME]` entry of wagon.toml.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    pub name: String,
    pub path: PathBuf,
    pub kind: PluginKind,
    /// The plugin's own settings, passed with every request.
    pub settings: Value,
    /// The folder of the wagon.toml that configured it, passed as `config_dir` so the plugin can
    /// resolve relative paths in its settings as the user wrote them.
    pub config_dir: PathBuf,
    /// How long one exchange with an executable plugin may take.
    pub timeout: Duration,
}

/// Why a plugin could not be used. Messages name the plugin and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("plugin `{plugin}`: cannot start {path}: {source}")]
    Spawn {
        plugin: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plugin `{plugin}` did not answer within {seconds} s and was stopped")]
    Timeout { plugin: String, seconds: u64 },
    #[error(
        "plugin `{plugin}` speaks protocol {theirs}, but this Wagon speaks {ours}: rebuild the plugin \
         against wagon-plugin-sdk for protocol {ours}, or use a Wagon that speaks {theirs}"
    )]
    ProtocolMismatch {
        plugin: String,
        theirs: String,
        ours: u32,
    },
    #[error("plugin `{plugin}` broke the protocol: {detail}")]
    Protocol { plugin: String, detail: String },
    #[error("plugin `{plugin}` failed: {message} ({code})")]
    Plugin {
        plugin: String,
        code: String,
        message: String,
    },
    #[error("plugin `{plugin}`: cannot load library {path}: {detail}")]
    Library {
        plugin: String,
        path: PathBuf,
        detail: String,
    },
    #[error(
        "plugin `{plugin}` is a library, but this Wagon was built without dynamic plugin support (feature `dynamic`)"
    )]
    NoDynamicSupport { plugin: String },
}

/// A plugin after its handshake.
pub struct ExternalPlugin {
    pub config: PluginConfig,
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
                return Err(HostError::ProtocolMismatch {
                    plugin: config.name.clone(),
                    theirs: error.message,
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
        let request = HostMessage::Request {
            id: 1,
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
