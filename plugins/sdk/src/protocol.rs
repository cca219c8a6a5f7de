//! The messages between Wagon (the host) and a plugin, version [`PROTOCOL_VERSION`].
//!
//! A session is: the host's `hello` listing the protocol versions it speaks; the plugin's `hello`
//! choosing one and declaring its capabilities; then requests, each answered by one response
//! carrying either a `result` or a structured `error`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version this SDK speaks. A host refuses a plugin with no version in common.
pub const PROTOCOL_VERSION: u32 = 1;

/// The request methods and their parameters.
pub mod methods {
    /// Every request's params also carry `settings` (the plugin's table from wagon.toml) and
    /// `config_dir` (that file's folder, for resolving relative paths in the settings).
    ///
    /// `{spec, work_dir}` → `{"kind": "wheels", "paths": [..]}` or
    /// `{"kind": "project", "path": ..}` or `{"kind": "requirement", "requirement": ..}`.
    pub const SOURCE_FETCH: &str = "source.fetch";
    /// `{name, input, output, level}`: compress the file `input` into `output` → `{}`.
    pub const COMPRESSOR_ENCODE: &str = "compressor.encode";
    /// `{name, input, output}`: decompress the file `input` into `output` → `{}`.
    pub const COMPRESSOR_DECODE: &str = "compressor.decode";
    /// `{name, python, wheels: [path], requested: [name], reinstall, compile, extra_args}` →
    /// `{"installed": ["name==version"]}`.
    pub const INSTALLER_INSTALL: &str = "installer.install";
}

/// What the host sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostMessage {
    Hello {
        protocols: Vec<u32>,
        wagon: String,
    },
    Request {
        id: u64,
        method: String,
        params: Value,
    },
}

/// What the plugin answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PluginMessage {
    Hello {
        protocol: u32,
        name: String,
        capabilities: Capabilities,
    },
    Response {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorBody>,
    },
}

/// A structured error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// What a plugin offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// URL schemes of sources it fetches (`dirsrc` for `dirsrc://…`).
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub compressors: Vec<CompressorInfo>,
    /// Names of installers it provides.
    #[serde(default)]
    pub installers: Vec<String>,
}

/// A compressor a plugin provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressorInfo {
    pub name: String,
    /// File-name suffix of a tar compressed with it (`xz`).
    pub extension: String,
    /// The magic bytes that start its streams, in hex.
    pub magic: String,
    pub default_level: i32,
    pub min_level: i32,
    pub max_level: i32,
}
