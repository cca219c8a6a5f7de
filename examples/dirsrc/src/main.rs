//! An example executable source plugin, the shape a team's private backend takes: it declares
//! the `dirsrc` scheme, and `wagon create dirsrc://NAME` hands it the spec; it answers with the
//! project folder `<root>/NAME`, `root` coming from its `[plugins.dirsrc] settings` in wagon.toml.

use std::process::ExitCode;

use wagon_plugin_sdk::{Capabilities, FetchParams, FetchResult, Plugin, PluginError, serve};

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

    fn fetch(&self, params: FetchParams) -> Result<FetchResult, PluginError> {
        let spec = params.spec;
        let name = spec
            .strip_prefix("dirsrc://")
            .filter(|n| !n.is_empty() && !n.contains(['/', '\\']) && *n != "..")
            .ok_or_else(|| {
                PluginError::new("bad_request", format!("`{spec}` is not dirsrc://NAME"))
            })?;
        let root = params.settings["root"].as_str().ok_or_else(|| {
            PluginError::new("bad_request", "set `root` in [plugins.dirsrc.settings]")
        })?;
        // A relative root is relative to the wagon.toml that configured the plugin.
        let project = params.config_dir.join(root).join(name);
        eprintln!("dirsrc: serving {}", project.display());
        if !project.join("pyproject.toml").is_file() && !project.join("setup.py").is_file() {
            return Err(PluginError::new(
                "not_found",
                format!("no project `{name}` in {root}"),
            ));
        }
        Ok(FetchResult::Project { path: project })
    }
}

fn main() -> ExitCode {
    serve(DirSource)
}
