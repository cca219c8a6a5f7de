//! wagon.toml: a project's Wagon configuration, found in the current directory or the nearest
//! parent (like Cargo.toml), or named with `--config`. Paths inside it are relative to the file.
//!
//! Precedence, highest first: command-line flags, environment variables (`WAGON_*`), this file,
//! built-in defaults. Unknown keys and wrong types are errors that quote the file, line and key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The file name looked for.
pub const FILE_NAME: &str = "wagon.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    #[serde(default)]
    pub create: CreateConfig,
    #[serde(default)]
    pub install: InstallConfig,
    #[serde(default)]
    pub indexes: BTreeMap<String, IndexConfig>,
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginEntry>,
}

/// `[create]`: what `wagon create` does with no arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CreateConfig {
    pub source: Option<String>,
    #[serde(default)]
    pub requirements: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub python_versions: Vec<String>,
    pub format: Option<String>,
    pub level: Option<i32>,
    pub output: Option<String>,
    #[serde(default)]
    pub add_files: Vec<String>,
    pub python: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub build_tag: Option<String>,
    /// The machines to make the archive for (`--target`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// The Python of targets that name none (`--python-version`).
    pub python_version: Option<String>,
    /// The resolver (builder) to use: `pip` (`--resolver`).
    pub resolver: Option<String>,
}

/// `[install]`: defaults for `wagon install`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InstallConfig {
    pub installer: Option<String>,
    pub python: Option<String>,
    pub venv: Option<String>,
}

/// `[indexes.NAME]`: a package index. Credentials are never stored here: write `${VAR}` in the
/// URL to take them from the environment, or use a netrc file, which pip reads itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IndexConfig {
    pub url: String,
    /// Use as the main index (`--index-url`) instead of an extra one.
    #[serde(default)]
    pub default: bool,
}

/// `[plugins.NAME]`: a third-party plugin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PluginEntry {
    /// The executable or library: a path relative to the file that configures it, or a bare
    /// name (no `/`) looked up in `$WAGON_HOME/bin` and then on `PATH`.
    pub path: String,
    /// `executable` (the default) or `library`.
    pub kind: Option<String>,
    /// Passed to the plugin with every request.
    #[serde(default)]
    pub settings: toml::Table,
    /// Seconds one exchange with an executable plugin may take, exit included (default 600);
    /// positive. Not allowed on a library, which runs inside Wagon and cannot be stopped.
    pub timeout: Option<i64>,
    /// What it serves, so that Wagon starts it only when a command needs one of these.
    pub provides: Option<ProvidesEntry>,
    /// Let it take a built-in's name, extension, magic bytes or URL scheme.
    #[serde(default, rename = "override")]
    pub override_builtins: bool,
    /// The folder of the file that configured it (the project's wagon.toml or the user-level
    /// configuration), which its relative paths are relative to.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// `provides = { ... }` of a plugin: its capabilities, known without starting it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProvidesEntry {
    /// URL schemes of sources, without `://`.
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub compressors: Vec<CompressorEntry>,
    /// Installer names.
    #[serde(default)]
    pub installers: Vec<String>,
}

/// One compressor of `provides`: what picks it (`name`), names its files (`extension`) and
/// recognises its archives (`magic`, hex), without starting the plugin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CompressorEntry {
    pub name: String,
    pub extension: String,
    pub magic: String,
    /// `{ default = 1, min = 1, max = 12 }`; absent, the plugin's hello says when writing.
    pub levels: Option<LevelsEntry>,
}

/// A compressor's levels in `provides`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelsEntry {
    pub default: i32,
    pub min: i32,
    pub max: i32,
}

/// The user-level configuration: plugins and indexes a machine configures once, for every
/// project. A project's wagon.toml wins per index and per plugin.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct UserConfig {
    #[serde(default)]
    indexes: BTreeMap<String, IndexConfig>,
    #[serde(default)]
    plugins: BTreeMap<String, PluginEntry>,
}

/// Where the user-level configuration is: `$WAGON_HOME/config.toml` when WAGON_HOME is set, else
/// `$XDG_CONFIG_HOME/wagon/config.toml`, else `~/.config/wagon/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("WAGON_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home).join("config.toml"));
    }
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(config_home.join("wagon").join("config.toml"))
}

/// A loaded wagon.toml, with the user-level configuration merged under it.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The file, when one was found.
    pub path: Option<PathBuf>,
    pub config: Config,
    /// The user-level configuration file, when one was read.
    pub user_path: Option<PathBuf>,
}

impl Loaded {
    /// `--config PATH`, else `wagon.toml` in the current directory or the nearest parent.
    pub fn discover(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let path = match explicit {
            Some(path) => {
                if !path.is_file() {
                    bail!("the configuration file {} does not exist", path.display());
                }
                Some(path.to_path_buf())
            }
            None => {
                let cwd = std::env::current_dir().context("cannot read the current directory")?;
                cwd.ancestors()
                    .map(|dir| dir.join(FILE_NAME))
                    .find(|p| p.is_file())
            }
        };
        let mut loaded = match path {
            Some(path) => {
                let text = fs_err::read_to_string(&path)?;
                let mut config: Config = toml::from_str(&text)
                    .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
                tracing::info!("using {}", path.display());
                let dir = parent_dir(&path);
                for entry in config.plugins.values_mut() {
                    entry.dir.clone_from(&dir);
                }
                Self {
                    path: Some(path),
                    config,
                    user_path: None,
                }
            }
            None => Self::default(),
        };
        loaded.merge_user_config(user_config_path())?;
        Ok(loaded)
    }

    /// Adds the user-level configuration's indexes and plugins that the project does not
    /// configure itself (the project wins per index and per plugin).
    fn merge_user_config(&mut self, path: Option<PathBuf>) -> anyhow::Result<()> {
        let Some(path) = path.filter(|p| p.is_file()) else {
            return Ok(());
        };
        let text = fs_err::read_to_string(&path)?;
        let user: UserConfig = toml::from_str(&text).map_err(|err| {
            anyhow::anyhow!(
                "{}: {err}the user-level configuration holds only [indexes] and [plugins]",
                path.display()
            )
        })?;
        tracing::info!("using {} under the project's configuration", path.display());
        let dir = parent_dir(&path);
        for (name, mut entry) in user.plugins {
            entry.dir.clone_from(&dir);
            self.config.plugins.entry(name).or_insert(entry);
        }
        for (name, index) in user.indexes {
            self.config.indexes.entry(name).or_insert(index);
        }
        self.user_path = Some(path);
        Ok(())
    }

    /// The directory paths in the file are relative to.
    pub fn dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .map(parent_dir)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// A path written in the file, made relative to the file.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        let path = Path::new(relative);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir().join(path)
        }
    }

    /// A source written in the file: a path that exists relative to the file becomes that path;
    /// anything else (a requirement, a URL) stays as written.
    pub fn resolve_source(&self, source: &str) -> String {
        let candidate = self.dir().join(source);
        if !source.contains("://") && candidate.exists() {
            candidate.display().to_string()
        } else {
            source.to_string()
        }
    }

    /// The configured indexes as (main index, extra indexes), with `${VAR}` expanded.
    pub fn indexes(&self) -> anyhow::Result<(Option<String>, Vec<String>)> {
        let mut main = None;
        let mut extra = Vec::new();
        for (name, index) in &self.config.indexes {
            let url = expand_env(&index.url).with_context(|| format!("index `{name}`"))?;
            if has_literal_credentials(&index.url) {
                bail!(
                    "index `{name}` in {} stores credentials in its URL; write them as ${{VAR}} \
                     references to environment variables, or put them in a netrc file",
                    self.path
                        .as_deref()
                        .unwrap_or(Path::new(FILE_NAME))
                        .display()
                );
            }
            if index.default {
                if main.is_some() {
                    bail!("more than one index is marked `default = true`");
                }
                main = Some(url);
            } else {
                extra.push(url);
            }
        }
        Ok((main, extra))
    }
}

/// The folder of a configuration file, which the paths in it are relative to.
fn parent_dir(file: &Path) -> PathBuf {
    file.parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Credentials written literally in a URL's user information: a password that is not exactly
/// one `${VAR}` reference, or — with no password — a user name that is not one (a lone user name
/// is often a token).
fn has_literal_credentials(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let decoded = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    match parsed.password() {
        Some(password) => !is_reference(&decoded(password)),
        None => !parsed.username().is_empty() && !is_reference(&decoded(parsed.username())),
    }
}

/// `${NAME}`, and nothing around it.
fn is_reference(text: &str) -> bool {
    text.strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(is_variable_name)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces each `${NAME}` with the variable's value; every other `$` stays as written. A missing
/// variable, or a `${` that is not a `${NAME}`, is an error naming it.
///
/// Written here rather than with a shell-expansion crate: those also expand `$NAME` and
/// `${NAME:-default}`, which would change what a `$` in an existing value means and let a
/// default carry a literal password past [`has_literal_credentials`].
pub fn expand_env(text: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            anyhow::bail!(
                "`${{` without a closing `}}` in `{}`",
                wagon_core::redact::redact_url(text)
            );
        };
        let name = &after[..end];
        if !is_variable_name(name) {
            anyhow::bail!("`${{{name}}}` is not a variable reference (write `${{NAME}}`)");
        }
        let value = std::env::var(name)
            .map_err(|_| anyhow::anyhow!("the environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_is_valid() {
        let parsed = toml::from_str::<Config>(include_str!("../../wagon.toml.example"));
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn credentials_are_references_only() {
        assert!(has_literal_credentials(
            "https://bob:hunter2@pypi.corp/simple"
        ));
        assert!(!has_literal_credentials(
            "https://${USER}:${TOKEN}@pypi.corp/simple"
        ));
        assert!(!has_literal_credentials("https://pypi.corp/simple"));
        assert!(!has_literal_credentials("https://pypi.corp/simple?a=b:c@d"));
        assert!(has_literal_credentials("HTTPS://bob:p%40ss@pypi.corp"));
        assert!(has_literal_credentials("https://bob:a%24b@pypi.corp"));
        // Only a whole `${NAME}` is a reference (a review found these passing as references).
        assert!(has_literal_credentials("https://$USER:$TOKEN@pypi.corp"));
        assert!(has_literal_credentials("https://u:${UNSET:-hunter2}@x"));
        assert!(has_literal_credentials("https://u:%24hunter2@x"));
        assert!(has_literal_credentials("https://u:$-hunter2@x"));
        assert!(has_literal_credentials("https://ghp_token123@x/simple"));
        assert!(!has_literal_credentials("https://${TOKEN}@x/simple"));
        assert!(!has_literal_credentials(
            "https://__token__:${PYPI_TOKEN}@x/simple"
        ));
    }

    #[test]
    fn variables_expand_and_a_missing_one_is_named() {
        // A variable name only this test uses, so it is unset.
        let name = "WAGON_CONFIG_TEST_TOKEN";
        assert_eq!(
            expand_env(&format!("https://u:${{{name}}}@x/simple")).map_err(|e| e.to_string()),
            Err(format!("the environment variable {name} is not set"))
        );
        assert_eq!(
            expand_env("https://x/simple").ok().as_deref(),
            Some("https://x/simple")
        );
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_env("${PATH}/x").ok(), Some(format!("{path}/x")));
        // Every other `$` is kept as written.
        assert_eq!(expand_env("pa$$word $HOME").unwrap(), "pa$$word $HOME");
        assert!(expand_env("https://x/${UNCLOSED").is_err());
        assert!(expand_env("${UNSET:-default}").is_err());
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = toml::from_str::<Config>("[create]\nsource = \".\"\nfromat = \"zip\"\n")
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("line 3") && err.contains("fromat"), "{err}");
    }
}
