//! An example dynamic compressor plugin: a `cdylib` Wagon loads with `kind = "library"`. The
//! "compression" is a toy (a magic header, then every byte XORed), enough to show that archives
//! written through a plugin compressor are detected by their magic bytes and read back.
//!
//! With `WAGON_EXAMPLE_XOR_PANIC` set it panics instead, to show (and test) that a panic inside a
//! library plugin reaches Wagon as an ordinary plugin error rather than crashing the host.

use std::path::Path;

use wagon_plugin_sdk::{
    Capabilities, CompressorInfo, DecodeParams, Done, EncodeParams, Plugin, PluginError,
    export_plugin,
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

    fn encode(&self, params: EncodeParams) -> Result<Done, PluginError> {
        let bytes = read(&params.input)?;
        let mut out = MAGIC.to_vec();
        out.extend(bytes.iter().map(|b| b ^ KEY));
        write(&params.output, &out)
    }

    fn decode(&self, params: DecodeParams) -> Result<Done, PluginError> {
        let bytes = read(&params.input)?;
        let body = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| PluginError::new("bad_request", "not an xor stream"))?;
        let out: Vec<u8> = body.iter().map(|b| b ^ KEY).collect();
        write(&params.output, &out)
    }
}

fn read(input: &Path) -> Result<Vec<u8>, PluginError> {
    if std::env::var_os("WAGON_EXAMPLE_XOR_PANIC").is_some() {
        panic!("xor was asked to panic (WAGON_EXAMPLE_XOR_PANIC)");
    }
    std::fs::read(input)
        .map_err(|e| PluginError::new("failed", format!("{}: {e}", input.display())))
}

fn write(output: &Path, bytes: &[u8]) -> Result<Done, PluginError> {
    std::fs::write(output, bytes)
        .map_err(|e| PluginError::new("failed", format!("{}: {e}", output.display())))?;
    Ok(Done {})
}

export_plugin!(Xor, Xor);
