//! An example executable source plugin, the shape a team's private backend takes: it declares
//! the `dirsrc` scheme, and `wagon create dirsrc://NAME` hands it the spec; it answers with the
//! project folder `<root>/NAME`, `root` coming from its `[plugins.dirsrc] settings` in wagon.toml.

use std::path::PathBuf;
use std::process::ExitCode;

use wagon_plugin_sdk::{Capabilities, Plugin, PluginError, Value, json, methods, serve};

struct DirSource;

impl Plugin for DirSource {
    fn name(&self) -> &str {
        "dirsrc"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            sources: vec!["dirsrc".to_string()],
            ..Capabilities::default()
        }
    }

    fn handle(&self, method: &str, params: Value) -> Result<Value, PluginError> {
        if method != methods::SOURCE_FETCH {
            return Err(PluginError::new(
                "unsupported",
                format!("dirsrc does not handle {method}"),
            ));
        }
        let spec = params["spec"].as_str().unwrap_or_default();
        let name = spec
            .strip_prefix("dirsrc://")
            .filter(|n| !n.is_empty() && !n.contains(['/', '\\']) && *n != "..")
            .ok_or_else(|| {
                PluginError::new("bad_request", format!("`{spec}` is not dirsrc://NAME"))
            })?;
        let root = params["settings"]["root"].as_str().ok_or_else(|| {
            PluginError::new("bad_request", "set `root` in [plugins.dirsrc.settings]")
        })?;
        // A relative root is relative to the wagon.toml that configured the plugin.
        let project = PathBuf::from(params["config_dir"].as_str().unwrap_or("."))
            .join(root)
            .join(name);
        eprintln!("dirsrc: serving {}", project.display());
        if !project.join("pyproject.toml").is_file() && !project.join("setup.py").is_file() {
            return Err(PluginError::new(
                "not_found",
                format!("no project `{name}` in {root}"),
            ));
        }
        Ok(json!({ "kind": "project", "path": project }))
    }
}

fn main() -> ExitCode {
    serve(DirSource)
}
