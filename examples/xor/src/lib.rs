//! An example dynamic compressor plugin: a `cdylib` Wagon loads with `kind = "library"`. The
//! "compression" is a toy (a magic header, then every byte XORed), enough to show that archives
//! written through a plugin compressor are detected by their magic bytes and read back.
//!
//! With `WAGON_EXAMPLE_XOR_PANIC` set it panics instead, to show (and test) that a panic inside a
//! library plugin reaches Wagon as an ordinary plugin error rather than crashing the host.

use wagon_plugin_sdk::{
    Capabilities, CompressorInfo, Plugin, PluginError, Value, export_plugin, json, methods,
};

const MAGIC: &[u8] = b"WGXOR1\n";
const KEY: u8 = 0x5a;

#[derive(Default)]
pub struct Xor;

impl Plugin for Xor {
    fn name(&self) -> &str {
        "xor"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            compressors: vec![CompressorInfo {
                name: "xor".to_string(),
                extension: "xor".to_string(),
                magic: MAGIC.iter().map(|b| format!("{b:02x}")).collect(),
                default_level: 1,
                min_level: 1,
                max_level: 1,
            }],
            ..Capabilities::default()
        }
    }

    fn handle(&self, method: &str, params: Value) -> Result<Value, PluginError> {
        if std::env::var_os("WAGON_EXAMPLE_XOR_PANIC").is_some() {
            panic!("xor was asked to panic (WAGON_EXAMPLE_XOR_PANIC)");
        }
        let path = |key: &str| {
            params[key]
                .as_str()
                .map(std::path::PathBuf::from)
                .ok_or_else(|| PluginError::new("bad_request", format!("missing `{key}`")))
        };
        let (input, output) = (path("input")?, path("output")?);
        let bytes = std::fs::read(&input)
            .map_err(|e| PluginError::new("failed", format!("{}: {e}", input.display())))?;
        let result = match method {
            methods::COMPRESSOR_ENCODE => {
                let mut out = MAGIC.to_vec();
                out.extend(bytes.iter().map(|b| b ^ KEY));
                out
            }
            methods::COMPRESSOR_DECODE => {
                let body = bytes
                    .strip_prefix(MAGIC)
                    .ok_or_else(|| PluginError::new("bad_request", "not an xor stream"))?;
                body.iter().map(|b| b ^ KEY).collect()
            }
            other => {
                return Err(PluginError::new(
                    "unsupported",
                    format!("xor does not handle {other}"),
                ));
            }
        };
        std::fs::write(&output, result)
            .map_err(|e| PluginError::new("failed", format!("{}: {e}", output.display())))?;
        Ok(json!({}))
    }
}

export_plugin!(Xor, Xor);
