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
    /// The wagon archive (.wgn, .tar.gz, .tar.zst, .zip), or an http(s) URL to download it from.
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
    /// Opens the archive at `path`, or at an http(s) URL (downloaded first, kept while the
    /// answer lives).
    pub fn open(&self, path: &Path) -> anyhow::Result<OpenArchive> {
        let local = crate::remote::local_archive(path, self.limits)?;
        let archive = Archive::open(local.path(), &self.registry, self.limits)?;
        Ok(OpenArchive {
            archive,
            _local: local,
        })
    }
}

/// An opened archive, with the downloaded copy it reads when it came from a URL.
pub struct OpenArchive {
    archive: Archive,
    _local: crate::remote::LocalArchive,
}

impl std::ops::Deref for OpenArchive {
    type Target = Archive;

    fn deref(&self) -> &Archive {
        &self.archive
    }
}
