//! One module per subcommand, as cargo does.

pub mod completions;
pub mod create;
pub mod get_file;
pub mod install;
pub mod list_files;
pub mod lock;
pub mod repair;
pub mod show;
pub mod validate;

use std::path::{Path, PathBuf};

use wagon_core::archive::{Archive, Limits};
use wagon_core::plugin::Registry;

/// The arguments of a command that only reads an archive (`show`, `list-files`).
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The wagon archive (.wgn, .tar.gz, .tar.zst, .zip).
    pub archive: PathBuf,

    /// Print JSON on one line, for machines.
    #[arg(long)]
    pub json: bool,
}

/// What every subcommand gets from the command line's global part.
pub struct Context {
    pub registry: Registry,
    /// wagon.toml, when one was found.
    pub config: crate::config::Loaded,
    pub limits: Limits,
    pub quiet: bool,
}

impl Context {
    pub fn open(&self, path: &Path) -> anyhow::Result<Archive> {
        Ok(Archive::open(path, &self.registry, self.limits)?)
    }
}
