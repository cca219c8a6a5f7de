//! The JSON Schemas in `docs/schema/` are the SDK's types as a non-Rust author reads them: this
//! test regenerates them and fails when the committed files differ. Run it with
//! `WAGON_REGENERATE_SCHEMAS=1` to rewrite the files after changing a type.

use std::path::PathBuf;

use schemars::{JsonSchema, schema_for};

use super::messages::{
    DecodeParams, Done, EncodeParams, FetchParams, FetchResult, InstallParams, InstallResult,
};
use super::{HostMessage, PluginMessage};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema")
}

fn generated<T: JsonSchema>() -> String {
    let mut text = serde_json::to_string_pretty(&schema_for!(T)).unwrap();
    text.push('\n');
    text
}

/// Every committed schema file, by name, from its type.
fn schemas() -> Vec<(&'static str, String)> {
    vec![
        ("host-message.json", generated::<HostMessage>()),
        ("plugin-message.json", generated::<PluginMessage>()),
        ("source.fetch.params.json", generated::<FetchParams>()),
        ("source.fetch.result.json", generated::<FetchResult>()),
        ("compressor.encode.params.json", generated::<EncodeParams>()),
        ("compressor.decode.params.json", generated::<DecodeParams>()),
        ("compressor.result.json", generated::<Done>()),
        (
            "installer.install.params.json",
            generated::<InstallParams>(),
        ),
        (
            "installer.install.result.json",
            generated::<InstallResult>(),
        ),
    ]
}

#[test]
fn committed_schemas_match_the_sdk_types() {
    let dir = schema_dir();
    let regenerate = std::env::var_os("WAGON_REGENERATE_SCHEMAS").is_some();
    let expected = schemas();
    let mut stale = Vec::new();
    for (name, text) in &expected {
        let path = dir.join(name);
        if regenerate {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(*name);
        }
    }
    // No file in the folder that no type backs.
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    let mut named: Vec<String> = expected.iter().map(|(n, _)| (*n).to_string()).collect();
    named.sort();
    assert_eq!(
        committed, named,
        "docs/schema holds exactly the generated files"
    );
    assert!(
        stale.is_empty(),
        "docs/schema/{{{}}} differ from the SDK's types: run \
         `WAGON_REGENERATE_SCHEMAS=1 cargo test -p wagon-plugin-sdk` and commit the result",
        stale.join(",")
    );
}
