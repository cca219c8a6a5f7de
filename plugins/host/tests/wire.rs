//! What the host accepts on the wire from an executable plugin, with plugins written as shell
//! scripts so each answer is exactly the bytes under test.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wagon_core::archive::Limits;
use wagon_core::plugin::{FetchRequest, Fetched, Registry};
use wagon_plugin_host::{ExternalPlugin, PluginConfig, PluginKind};
use wagon_plugin_sdk::{Capabilities, HostMessage, PROTOCOL_VERSION, Plugin, answer, json};

const HELLO: &str =
    r#"{"type":"hello","protocol":1,"name":"p","capabilities":{"sources":["corp"]}}"#;

/// A plugin `name` that reads each line it is sent and prints the next of `answers`.
fn script_plugin(dir: &Path, name: &str, answers: &[&str]) -> PluginConfig {
    let mut body = String::from("#!/bin/sh\n");
    for answer in answers {
        body.push_str(&format!("read line\nprintf '%s\\n' '{answer}'\n"));
    }
    let path = dir.join(format!("wagon-{name}"));
    std::fs::write(&path, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    PluginConfig {
        name: name.to_string(),
        path,
        kind: PluginKind::Executable,
        settings: json!({}),
        config_dir: dir.to_path_buf(),
        timeout: Duration::from_secs(20),
        provides: None,
    }
}

/// `corp://x` fetched through the registry, as a command would.
fn fetch(plugin: ExternalPlugin) -> Result<Fetched, String> {
    let mut registry = Registry::new();
    Arc::new(plugin).register(&mut registry);
    let source = registry.source_for("corp://x").unwrap();
    let work = tempfile::tempdir().unwrap();
    source
        .fetch(&FetchRequest {
            spec: "corp://x",
            work_dir: work.path(),
            registry: &registry,
            settings: &json!({}),
            limits: Limits::default(),
        })
        .map_err(|e| e.to_string())
}

#[test]
fn blank_lines_between_answers_are_skipped_as_the_sdk_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let blank_then_hello = format!("\n{HELLO}");
    let config = script_plugin(dir.path(), "airy", &[&blank_then_hello]);
    let plugin = ExternalPlugin::load(config.clone()).unwrap();
    assert_eq!(plugin.offers().sources, ["corp"]);

    let response = "\n  \n{\"type\":\"response\",\"id\":1,\"result\":{\"kind\":\"requirement\",\"requirement\":\"x\"}}";
    let config = script_plugin(dir.path(), "airy", &[&blank_then_hello, response]);
    let plugin = ExternalPlugin::load(config).unwrap();
    assert_eq!(
        fetch(plugin).unwrap(),
        Fetched::Requirement("x".to_string())
    );
}

#[test]
fn a_response_to_another_request_is_a_protocol_error_naming_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let config = script_plugin(
        dir.path(),
        "odd",
        &[
            HELLO,
            r#"{"type":"response","id":7,"result":{"kind":"requirement","requirement":"x"}}"#,
        ],
    );
    let plugin = ExternalPlugin::load(config).unwrap();
    let error = fetch(plugin).unwrap_err();
    assert!(
        error.ends_with(
            "plugin `odd` broke the protocol: it answered request 1 (source.fetch) with a \
             response to request 7"
        ),
        "{error}"
    );
}

struct Sdk;

impl Plugin for Sdk {
    fn name(&self) -> &str {
        "future"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}

#[test]
fn the_sdks_own_protocol_refusal_arrives_readable() {
    let dir = tempfile::tempdir().unwrap();
    // What this SDK answers a host offering only a version it does not speak: the words a
    // plugin built with another SDK sends this Wagon.
    let refusal = answer(
        &Sdk,
        HostMessage::Hello {
            protocols: vec![PROTOCOL_VERSION + 1],
            wagon: "9.9.9".to_string(),
        },
    );
    let refusal = serde_json::to_string(&refusal).unwrap();
    let config = script_plugin(dir.path(), "future", &[&refusal]);
    let error = ExternalPlugin::load(config).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "plugin `future` refused protocol {PROTOCOL_VERSION}, the one this Wagon speaks: it \
             speaks protocol {PROTOCOL_VERSION} only (wagon-plugin-sdk {}), and the host offered \
             {}. Rebuild the plugin against a wagon-plugin-sdk for protocol {PROTOCOL_VERSION}, \
             or use a Wagon that speaks the plugin's",
            env!("CARGO_PKG_VERSION"),
            PROTOCOL_VERSION + 1
        )
    );
    assert_eq!(error.matches("future").count(), 1, "{error}");
}
