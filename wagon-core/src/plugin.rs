//! The plugin seams — compressors and installers (source fetchers join in `wagon create`) — and
//! the [`Registry`] through which built-in and third-party plugins alike are found.
//!
//! Built-ins are ordinary implementations of these traits registered by the CLI at start-up;
//! nothing in the core names a particular plugin.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::plan::InstallPlan;
use crate::target::Target;

/// A stream compression used around a tar archive (gzip, zstd, …).
pub trait Compressor: Send + Sync {
    /// The name users pick it by (`gzip`, `zstd`).
    fn name(&self) -> &str;
    /// The usual file-name suffix of a tar compressed with it (`tar.gz`).
    fn extension(&self) -> &str;
    /// The leading bytes that identify its streams.
    fn magic(&self) -> &[u8];
    /// The level used when the user names none.
    fn default_level(&self) -> i32;
    /// The range of levels it accepts.
    fn levels(&self) -> std::ops::RangeInclusive<i32>;
    /// Wraps `output` in an encoder; the encoder must be [`Encoder::finish`]ed.
    fn encoder<'a>(
        &self,
        output: Box<dyn Write + 'a>,
        level: i32,
    ) -> io::Result<Box<dyn Encoder + 'a>>;
    /// Wraps `input` in a decoder.
    fn decoder<'a>(&self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>>;
}

/// A compressing writer that must be finished to write its trailer.
pub trait Encoder: Write {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Puts a planned set of wheels into a target interpreter's environment.
pub trait Installer: Send + Sync {
    /// The name users pick it by (`pip`, `unpack`).
    fn name(&self) -> &str;
    fn install(&self, request: &InstallRequest<'_>) -> Result<InstallOutcome, InstallerError>;
}

/// Everything an installer needs for one install.
#[derive(Debug)]
pub struct InstallRequest<'a> {
    pub target: &'a Target,
    pub plan: &'a InstallPlan,
    /// A directory holding every wheel of the archive (the plan names which to install).
    pub wheel_dir: &'a Path,
    /// Replace an installed version of the requested projects by the archive's.
    pub upgrade: bool,
    /// Reinstall even when the same version is already installed.
    pub reinstall: bool,
    /// Arguments passed through to the installer untouched (after `--` on the command line).
    pub extra_args: &'a [String],
}

/// What an installer did.
#[derive(Debug, Default)]
pub struct InstallOutcome {
    /// `name==version` of each distribution the installer reports as installed.
    pub installed: Vec<String>,
}

/// Why an installer failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallerError {
    #[error("{installer} could not install into {python}: {message}")]
    Failed {
        installer: String,
        python: String,
        message: String,
    },
    #[error("{installer} could not run `{command}`: {source}")]
    Spawn {
        installer: String,
        command: String,
        #[source]
        source: io::Error,
    },
}

/// The plugins available to this run, looked up by name or by magic bytes.
#[derive(Default, Clone)]
pub struct Registry {
    compressors: Vec<Arc<dyn Compressor>>,
    installers: Vec<Arc<dyn Installer>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("compressors", &self.compressor_names())
            .field("installers", &self.installer_names())
            .finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a compressor; a later one with the same name replaces the earlier.
    pub fn register_compressor(&mut self, compressor: Arc<dyn Compressor>) -> &mut Self {
        self.compressors.retain(|c| c.name() != compressor.name());
        self.compressors.push(compressor);
        self
    }

    /// Adds an installer; a later one with the same name replaces the earlier.
    pub fn register_installer(&mut self, installer: Arc<dyn Installer>) -> &mut Self {
        self.installers.retain(|i| i.name() != installer.name());
        self.installers.push(installer);
        self
    }

    pub fn compressor(&self, name: &str) -> Option<Arc<dyn Compressor>> {
        self.compressors.iter().find(|c| c.name() == name).cloned()
    }

    /// The compressor whose magic bytes start `head`.
    pub fn compressor_for_magic(&self, head: &[u8]) -> Option<Arc<dyn Compressor>> {
        self.compressors
            .iter()
            .find(|c| !c.magic().is_empty() && head.starts_with(c.magic()))
            .cloned()
    }

    pub fn installer(&self, name: &str) -> Option<Arc<dyn Installer>> {
        self.installers.iter().find(|i| i.name() == name).cloned()
    }

    pub fn compressor_names(&self) -> Vec<String> {
        self.compressors
            .iter()
            .map(|c| c.name().to_string())
            .collect()
    }

    pub fn installer_names(&self) -> Vec<String> {
        self.installers
            .iter()
            .map(|i| i.name().to_string())
            .collect()
    }
}
