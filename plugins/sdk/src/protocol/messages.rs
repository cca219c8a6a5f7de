//! Each method's `params` and `result`, typed: what the host sends and what it accepts back.
//!
//! Fields a side does not know are ignored on reading (a newer host or plugin may add some), and
//! the fields marked optional may be left out. Paths are absolute unless said otherwise.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `params` of `source.fetch`: turn `spec` into something Wagon can build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FetchParams {
    /// The source exactly as the user wrote it (`corp://flask@3.0.3`); its scheme is one the
    /// plugin declared in `capabilities.sources`.
    pub spec: String,
    /// An empty folder the plugin may fill (downloads, unpacked trees); Wagon removes it after
    /// the command. Return paths inside it, or anywhere else that lives as long.
    pub work_dir: PathBuf,
    /// The plugin's `settings` table from wagon.toml, as JSON (`{}` when absent).
    #[serde(default)]
    pub settings: Value,
    /// The folder of the wagon.toml that configured the plugin: relative paths in `settings`,
    /// and relative paths in the result, are relative to it.
    pub config_dir: PathBuf,
}

/// The `result` of `source.fetch`: one of three kinds, named by its `kind` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FetchResult {
    /// `{"kind": "project", "path": ...}`: a project folder (with `pyproject.toml` or
    /// `setup.py`) that Wagon builds into the package's wheel; its dependencies are resolved
    /// from the configured indexes.
    Project {
        /// The project folder; a relative path is relative to `config_dir`.
        path: PathBuf,
    },
    /// `{"kind": "requirement", "requirement": ...}`: a PEP 508 requirement (`flask==3.0.3`)
    /// that Wagon resolves, with its dependencies, from the configured indexes.
    Requirement {
        /// The requirement, PEP 508.
        requirement: String,
    },
    /// `{"kind": "wheels", "paths": [...], "package": ..., "indexes": false}`: wheels already
    /// built. The package is the project named `package`; its dependencies are resolved from
    /// these wheels alone unless `indexes` is true.
    Wheels {
        /// The wheel files; a relative path is relative to `config_dir`. Their file names must
        /// be valid wheel names (PEP 427).
        paths: Vec<PathBuf>,
        /// The project name of the package among the wheels (`flask`; compared normalized,
        /// PEP 503). At least one wheel must be of this project, and all of its wheels must be
        /// of one version; Wagon refuses the result otherwise.
        package: String,
        /// Whether dependencies may also come from the configured indexes. Optional, default
        /// `false`: the closure is resolved from `paths` alone, and no index is asked for any
        /// name (a private project's dependencies never leak to a public index).
        #[serde(default)]
        indexes: bool,
    },
}

/// The `params` of `compressor.encode`: compress the file `input` into the file `output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct EncodeParams {
    /// The compressor's name, one the plugin declared in `capabilities.compressors`.
    pub name: String,
    /// The file to read: an uncompressed tar.
    pub input: PathBuf,
    /// The file to write (it exists, empty): the compressed stream, starting with the
    /// compressor's `magic` bytes.
    pub output: PathBuf,
    /// The level, within the compressor's `min_level..=max_level` (Wagon checks before calling).
    pub level: i32,
    /// The plugin's `settings` table from wagon.toml, as JSON (`{}` when absent).
    #[serde(default)]
    pub settings: Value,
    /// The folder of the wagon.toml that configured the plugin.
    pub config_dir: PathBuf,
}

/// The `params` of `compressor.decode`: decompress the file `input` into the file `output`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DecodeParams {
    /// The compressor's name, one the plugin declared in `capabilities.compressors`.
    pub name: String,
    /// The file to read: a stream starting with the compressor's `magic` bytes. Untrusted.
    pub input: PathBuf,
    /// The file to write (it exists, empty): the uncompressed tar.
    pub output: PathBuf,
    /// The plugin's `settings` table from wagon.toml, as JSON (`{}` when absent).
    #[serde(default)]
    pub settings: Value,
    /// The folder of the wagon.toml that configured the plugin.
    pub config_dir: PathBuf,
}

/// The `result` of a method with nothing to report (`compressor.encode`,
/// `compressor.decode`): `{}`. Its work is the file it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Done {}

/// The `params` of `installer.install`: install `wheels` into the environment of `python`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct InstallParams {
    /// The installer's name, one the plugin declared in `capabilities.installers`.
    pub name: String,
    /// The target interpreter; install into its environment (its venv, or its site-packages).
    pub python: PathBuf,
    /// The planned wheels, dependencies before the projects that need them: install all of
    /// them, none other.
    pub wheels: Vec<PathBuf>,
    /// The project names the user asked for (the others are their dependencies).
    pub requested: Vec<String>,
    /// Whether to reinstall a project already installed at the planned version.
    pub reinstall: bool,
    /// Whether to byte-compile the installed `.py` files.
    pub compile: bool,
    /// Arguments the user passed to the installer after `--`, untouched.
    pub extra_args: Vec<String>,
    /// The plugin's `settings` table from wagon.toml, as JSON (`{}` when absent).
    #[serde(default)]
    pub settings: Value,
    /// The folder of the wagon.toml that configured the plugin.
    pub config_dir: PathBuf,
}

/// The `result` of `installer.install`: what became of each planned project. Every project of
/// the plan must be in `installed` or `unchanged`, and nothing else may be: Wagon checks, and a
/// plugin that reports less (or more) than the plan fails the install.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct InstallResult {
    /// Projects installed (or reinstalled), as `name==version` or `name` (the planned version).
    pub installed: Vec<String>,
    /// Projects left as they were because the planned version was already installed, in the
    /// same form. Optional, default empty.
    #[serde(default)]
    pub unchanged: Vec<String>,
}
