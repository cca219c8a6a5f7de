//! The Wagon plugin SDK: what a third party depends on to extend Wagon with a private source
//! backend, a compressor or an installer.
//!
//! Implement [`Plugin`] (declare capabilities, then the typed method for each: [`Plugin::fetch`],
//! [`Plugin::encode`], [`Plugin::decode`], [`Plugin::install`]), then either call [`serve`] from
//! the `main` of an executable named `wagon-<name>`, or invoke [`export_plugin!`] in a `cdylib`
//! (feature `dynamic`). Both speak the same versioned messages ([`protocol`], specified for any
//! language in the repository's `docs/plugin-protocol.md`), JSON encoded: as lines on
//! stdin/stdout for executables, as strings across a C ABI for libraries.

#![warn(missing_docs)]

#[cfg(feature = "dynamic")]
pub mod dynamic;
pub mod protocol;

use std::io::{BufRead, Write};
use std::process::ExitCode;

pub use protocol::messages::{
    DecodeParams, Done, EncodeParams, FetchParams, FetchResult, InstallParams, InstallResult,
};
pub use protocol::{
    Capabilities, CompressorInfo, ErrorBody, HostMessage, PROTOCOL_VERSION, PluginMessage, methods,
};
pub use serde_json::{Value, json};

/// A plugin: its capabilities and a handler for each method it declared. Implement the typed
/// method of each capability; the others answer `unsupported`.
pub trait Plugin: Send + Sync {
    /// The plugin's name (the `<name>` of `wagon-<name>`).
    fn name(&self) -> &str;
    /// What it offers: source schemes, compressors, installers.
    fn capabilities(&self) -> Capabilities;
    /// `source.fetch`, for a plugin declaring `sources`.
    fn fetch(&self, params: FetchParams) -> Result<FetchResult, PluginError> {
        let _ = params;
        Err(self.unsupported(methods::SOURCE_FETCH))
    }
    /// `compressor.encode`, for a plugin declaring `compressors`.
    fn encode(&self, params: EncodeParams) -> Result<Done, PluginError> {
        let _ = params;
        Err(self.unsupported(methods::COMPRESSOR_ENCODE))
    }
    /// `compressor.decode`, for a plugin declaring `compressors`.
    fn decode(&self, params: DecodeParams) -> Result<Done, PluginError> {
        let _ = params;
        Err(self.unsupported(methods::COMPRESSOR_DECODE))
    }
    /// `installer.install`, for a plugin declaring `installers`.
    fn install(&self, params: InstallParams) -> Result<InstallResult, PluginError> {
        let _ = params;
        Err(self.unsupported(methods::INSTALLER_INSTALL))
    }
    /// Answers one request as raw JSON. The default reads `params` into the method's type, calls
    /// the typed method and writes its result; override it only to handle a method this SDK
    /// does not type.
    fn handle(&self, method: &str, params: Value) -> Result<Value, PluginError> {
        match method {
            methods::SOURCE_FETCH => reply(self.fetch(typed(method, params)?)),
            methods::COMPRESSOR_ENCODE => reply(self.encode(typed(method, params)?)),
            methods::COMPRESSOR_DECODE => reply(self.decode(typed(method, params)?)),
            methods::INSTALLER_INSTALL => reply(self.install(typed(method, params)?)),
            other => Err(self.unsupported(other)),
        }
    }
    /// The error for a method this plugin does not handle (code `unsupported`).
    fn unsupported(&self, method: &str) -> PluginError {
        PluginError::new(
            "unsupported",
            format!("plugin `{}` does not handle {method}", self.name()),
        )
    }
}

/// A request's params read into its method's type; unreadable ones are the host's fault.
fn typed<T: serde::de::DeserializeOwned>(method: &str, params: Value) -> Result<T, PluginError> {
    serde_json::from_value(params).map_err(|err| {
        PluginError::new(
            "bad_request",
            format!("cannot read the params of {method}: {err}"),
        )
    })
}

fn reply<T: serde::Serialize>(outcome: Result<T, PluginError>) -> Result<Value, PluginError> {
    serde_json::to_value(outcome?).map_err(|err| {
        PluginError::new("failed", format!("cannot write the result as JSON: {err}"))
    })
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
                        message: refusal(&protocols),
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

/// The words of a plugin refusing the host's protocol versions: the host shows them after its
/// own "plugin `NAME` refused protocol …", so they name what this side speaks, not the plugin.
fn refusal(offered: &[u32]) -> String {
    let offered: Vec<String> = offered.iter().map(u32::to_string).collect();
    format!(
        "it speaks protocol {PROTOCOL_VERSION} only (wagon-plugin-sdk {}), and the host offered {}",
        env!("CARGO_PKG_VERSION"),
        if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ")
        }
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Fetcher;

    impl Plugin for Fetcher {
        fn name(&self) -> &str {
            "fetcher"
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities {
                sources: vec!["corp".to_string()],
                ..Capabilities::default()
            }
        }

        fn fetch(&self, params: FetchParams) -> Result<FetchResult, PluginError> {
            Ok(FetchResult::Requirement {
                requirement: params.spec.replace("corp://", ""),
            })
        }
    }

    #[test]
    fn requests_reach_the_typed_method_and_unknown_fields_are_ignored() {
        let request: HostMessage = serde_json::from_value(json!({
            "type": "request", "id": 7, "method": "source.fetch", "future": true,
            "params": {"spec": "corp://flask", "work_dir": "/w", "config_dir": "/c",
                       "settings": {}, "added_later": [1]},
        }))
        .unwrap();
        let reply = serde_json::to_value(answer(&Fetcher, request)).unwrap();
        assert_eq!(
            reply,
            json!({"type": "response", "id": 7,
                   "result": {"kind": "requirement", "requirement": "flask"}})
        );
        // A result with fields this host does not know still reads.
        let result: FetchResult = serde_json::from_value(json!({
            "kind": "wheels", "paths": ["a-1-py3-none-any.whl"], "package": "a", "hint": 1,
        }))
        .unwrap();
        assert_eq!(
            result,
            FetchResult::Wheels {
                paths: vec!["a-1-py3-none-any.whl".into()],
                package: "a".to_string(),
                indexes: false,
            }
        );
    }

    #[test]
    fn undeclared_methods_and_bad_params_are_structured_errors() {
        let ask = |method: &str, params: Value| {
            let reply = answer(
                &Fetcher,
                HostMessage::Request {
                    id: 3,
                    method: method.to_string(),
                    params,
                },
            );
            match reply {
                PluginMessage::Response {
                    id: 3,
                    error: Some(error),
                    result: None,
                } => error,
                other => panic!("{other:?}"),
            }
        };
        let error = ask("archive.sign", json!({}));
        assert_eq!(error.code, "unsupported");
        assert_eq!(
            error.message,
            "plugin `fetcher` does not handle archive.sign"
        );
        let error = ask("source.fetch", json!({"spec": 1}));
        assert_eq!(error.code, "bad_request");
        assert!(
            error
                .message
                .starts_with("cannot read the params of source.fetch")
        );
    }

    #[test]
    fn the_protocol_refusal_names_both_sides_once() {
        let reply = answer(
            &Fetcher,
            HostMessage::Hello {
                protocols: vec![7, 8],
                wagon: "9.0.0".to_string(),
            },
        );
        let PluginMessage::Response {
            id: 0,
            error: Some(error),
            ..
        } = reply
        else {
            panic!("{reply:?}");
        };
        assert_eq!(error.code, "protocol");
        assert_eq!(
            error.message,
            format!(
                "it speaks protocol {PROTOCOL_VERSION} only (wagon-plugin-sdk {}), and the host offered 7, 8",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
