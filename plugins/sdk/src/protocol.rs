//! The messages between Wagon (the host) and a plugin, version [`PROTOCOL_VERSION`].
//!
//! A session is: the host's `hello` listing the protocol versions it speaks; the plugin's `hello`
//! choosing one and declaring its capabilities; then requests, each answered by one response
//! carrying either a `result` or a structured `error`.

pub mod messages;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version this SDK speaks. A host refuses a plugin with no version in common.
pub const PROTOCOL_VERSION: u32 = 1;

/// The request methods' names. Each method's params and result are typed in [`messages`].
pub mod methods {
    /// Fetch a source: [`FetchParams`](super::messages::FetchParams) →
    /// [`FetchResult`](super::messages::FetchResult).
    pub const SOURCE_FETCH: &str = "source.fetch";
    /// Compress a file: [`EncodeParams`](super::messages::EncodeParams) →
    /// [`Done`](super::messages::Done) (`{}`).
    pub const COMPRESSOR_ENCODE: &str = "compressor.encode";
    /// Decompress a file: [`DecodeParams`](super::messages::DecodeParams) →
    /// [`Done`](super::messages::Done) (`{}`).
    pub const COMPRESSOR_DECODE: &str = "compressor.decode";
    /// Install wheels: [`InstallParams`](super::messages::InstallParams) →
    /// [`InstallResult`](super::messages::InstallResult).
    pub const INSTALLER_INSTALL: &str = "installer.install";
}

/// What the host (Wagon) sends to a plugin. On the wire, a JSON object whose `"type"` field says
/// which: `"hello"` or `"request"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostMessage {
    /// `{"type": "hello", ...}`: opens every session, before any request. An executable plugin
    /// process receives exactly one, as its first line. Answer it with [`PluginMessage::Hello`]
    /// (which [`crate::answer`] does for you).
    Hello {
        /// The protocol versions this Wagon speaks (today `[1]`). Pick one you speak; if none,
        /// answer an error with code `protocol` and Wagon tells the user the versions differ.
        protocols: Vec<u32>,
        /// The Wagon version sending it (`"0.1.0"`), for logs; do not refuse to work based on it.
        #[serde(default)]
        wagon: String,
    },
    /// `{"type": "request", ...}`: one job for the plugin, answered by exactly one
    /// [`PluginMessage::Response`].
    Request {
        /// A number naming this request; copy it into the response's `id`.
        id: u64,
        /// What to do: one of the names in [`methods`] (`"source.fetch"`, …). Answer a method you
        /// did not declare with an error (code `unsupported`).
        method: String,
        /// The method's arguments: a JSON object, typed per method in [`messages`], always with
        /// `settings` and `config_dir`.
        params: Value,
    },
}

/// What the plugin answers, one message per host message. On the wire, a JSON object whose
/// `"type"` field says which: `"hello"` or `"response"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PluginMessage {
    /// `{"type": "hello", ...}`: the answer to the host's hello, saying who the plugin is and what
    /// it offers.
    Hello {
        /// The protocol version chosen, one of the host's `protocols`. Any other value makes Wagon
        /// refuse the plugin with a message naming both versions.
        protocol: u32,
        /// The plugin's name, for logs and messages.
        name: String,
        /// What the plugin offers; Wagon uses only what is listed here.
        capabilities: Capabilities,
    },
    /// `{"type": "response", ...}`: the answer to one request. Carries exactly one of `result`
    /// (success) or `error` (failure); a response with neither is reported as a broken plugin.
    Response {
        /// The `id` of the request it answers; `0` when the plugin could not tell which (an
        /// unreadable message, or a hello it could not accept).
        id: u64,
        /// On success: the method's result, typed per method in [`messages`]. Left out of the
        /// JSON when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// On failure: what went wrong, shown to the user. Left out of the JSON when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorBody>,
    },
}

/// A structured error, the `error` of a [`PluginMessage::Response`]: `{"code": .., "message": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// A short machine-readable word, such as `not_found`, `bad_request`, `unsupported` or
    /// `failed`. The SDK itself sends `bad_request` (unreadable message), `panic` (the plugin
    /// panicked) and `protocol` (no common version; Wagon reports that as a version mismatch).
    pub code: String,
    /// One sentence for the user saying what went wrong; Wagon prints it with the plugin's name
    /// and the `code`.
    pub message: String,
}

/// What a plugin offers, sent in its [`PluginMessage::Hello`]. Each list may be left out of the
/// JSON, meaning empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Capabilities {
    /// URL schemes of sources it fetches, without `://` (`dirsrc` for `dirsrc://…`): every
    /// `wagon create SCHEME://…` is sent to it as a `source.fetch`.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Compressors it provides, usable as `wagon create --format NAME` and recognised by their
    /// magic bytes when reading archives.
    #[serde(default)]
    pub compressors: Vec<CompressorInfo>,
    /// Names of installers it provides, usable as `wagon install --installer NAME`; each install
    /// is sent to it as an `installer.install`.
    #[serde(default)]
    pub installers: Vec<String>,
}

/// A compressor a plugin provides. All fields are required in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CompressorInfo {
    /// The name users pick it by (`wagon create --format NAME`), sent back as `name` in
    /// `compressor.encode`/`compressor.decode`.
    pub name: String,
    /// File-name suffix of a tar compressed with it, without a dot (`xz` names `….xz.wgn` files).
    pub extension: String,
    /// The bytes every stream it writes starts with, in hex (`fd377a585a00`); Wagon recognises
    /// archives by them. Empty or not hex: the compressor is ignored, with a warning.
    pub magic: String,
    /// The level used when the user gives no `--level`.
    pub default_level: i32,
    /// The lowest level it accepts; Wagon refuses a `--level` below it before calling the plugin.
    pub min_level: i32,
    /// The highest level it accepts; Wagon refuses a `--level` above it before calling the plugin.
    pub max_level: i32,
}

#[cfg(test)]
mod schema;
