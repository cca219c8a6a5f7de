//! The Wagon plugin SDK: what a third party depends on to extend Wagon with a private source
//! backend, a compressor or an installer.
//!
//! Implement [`Plugin`] (declare capabilities, answer requests), then either call [`serve`] from
//! the `main` of an executable named `wagon-<name>`, or invoke [`export_plugin!`] in a `cdylib`
//! (feature `dynamic`). Both speak the same versioned messages ([`protocol`]), JSON encoded: as
//! lines on stdin/stdout for executables, as strings across a C ABI for libraries.

#![warn(missing_docs)]

#[cfg(feature = "dynamic")]
pub mod dynamic;
pub mod protocol;

use std::io::{BufRead, Write};
use std::process::ExitCode;

pub use protocol::{
    Capabilities, CompressorInfo, ErrorBody, HostMessage, PROTOCOL_VERSION, PluginMessage, methods,
};
pub use serde_json::{Value, json};

/// A plugin: its capabilities and a handler for requests.
pub trait Plugin: Send + Sync {
    /// The plugin's name (the `<name>` of `wagon-<name>`).
    fn name(&self) -> &str;
    /// What it offers: source schemes, compressors, installers.
    fn capabilities(&self) -> Capabilities;
    /// Answers one request (`source.fetch`, `compressor.encode`, …; see [`methods`]).
    fn handle(&self, method: &str, params: Value) -> Result<Value, PluginError>;
}

/// A structured error a plugin returns; Wagon shows `message` to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// A short machine-readable code (`not_found`, `bad_request`, `failed`).
    pub code: String,
    /// One sentence for the user saying what went wrong (and, ideally, what to do); Wagon prints
    /// it with the plugin's name and the `code`.
    pub message: String,
}

impl PluginError {
    /// An error with this `code` and `message`: `PluginError::new("not_found", "no such bucket")`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for PluginError {}

/// Answers one host message: the handshake or a request. Shared by [`serve`] and the dynamic
/// export, so both transports behave the same.
pub fn answer<P: Plugin + ?Sized>(plugin: &P, message: HostMessage) -> PluginMessage {
    match message {
        HostMessage::Hello { protocols, .. } => {
            if protocols.contains(&PROTOCOL_VERSION) {
                PluginMessage::Hello {
                    protocol: PROTOCOL_VERSION,
                    name: plugin.name().to_string(),
                    capabilities: plugin.capabilities(),
                }
            } else {
                PluginMessage::Response {
                    id: 0,
                    result: None,
                    error: Some(ErrorBody {
                        code: "protocol".to_string(),
                        message: format!(
                            "plugin `{}` speaks protocol {PROTOCOL_VERSION}, the host offers {protocols:?}",
                            plugin.name()
                        ),
                    }),
                }
            }
        }
        HostMessage::Request { id, method, params } => {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                plugin.handle(&method, params)
            }))
            .unwrap_or_else(|_| {
                Err(PluginError::new(
                    "panic",
                    format!("plugin `{}` panicked handling {method}", plugin.name()),
                ))
            });
            match outcome {
                Ok(result) => PluginMessage::Response {
                    id,
                    result: Some(result),
                    error: None,
                },
                Err(err) => PluginMessage::Response {
                    id,
                    result: None,
                    error: Some(ErrorBody {
                        code: err.code,
                        message: err.message,
                    }),
                },
            }
        }
    }
}

/// Runs `plugin` as an executable plugin: one JSON message per line on stdin, one answer per
/// line on stdout, until stdin closes. Logs belong on stderr, which Wagon passes through.
// Taken by value: `serve` owns the plugin for the rest of the process, and `serve(MyPlugin)` is
// the call a plugin author should write.
#[allow(clippy::needless_pass_by_value)]
pub fn serve<P: Plugin>(plugin: P) -> ExitCode {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            return ExitCode::FAILURE;
        };
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<HostMessage>(&line) {
            Ok(message) => answer(&plugin, message),
            Err(err) => PluginMessage::Response {
                id: 0,
                result: None,
                error: Some(ErrorBody {
                    code: "bad_request".to_string(),
                    message: format!("cannot read the host's message: {err}"),
                }),
            },
        };
        let Ok(text) = serde_json::to_string(&reply) else {
            return ExitCode::FAILURE;
        };
        if writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
