//! The plugin seams — sources, builders, compressors and installers — and the [`Registry`]
//! through which built-in and third-party plugins alike are found.
//!
//! Built-ins are ordinary implementations of these traits registered by the CLI at start-up;
//! nothing in the core names a particular plugin.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::interpreter::Interpreter;
use crate::plan::InstallPlan;

/// What a source plugin hands on to the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// A requirement the builder resolves against the configured indexes (`flask==3.0.3`).
    Requirement(String),
    /// A project directory the builder can build (setup.py or pyproject.toml).
    Project(PathBuf),
    /// Wheels already built: the package's own and, perhaps, its dependencies'.
    Wheels(FetchedWheels),
}

/// Wheels a source hands on, and where the rest of the closure may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedWheels {
    /// The package's own wheel, also one of `paths`.
    pub package: PathBuf,
    /// Every wheel given, the package's included.
    pub paths: Vec<PathBuf>,
    /// Whether dependencies missing from `paths` may come from the configured indexes. When
    /// false the closure is resolved from `paths` alone and no index is asked for any name, so
    /// a private project's dependency names never reach a public index.
    pub indexes: bool,
}

impl FetchedWheels {
    /// One local wheel whose dependencies come from the configured indexes (`wagon create
    /// ./x.whl`).
    pub fn single(wheel: PathBuf) -> Self {
        Self {
            package: wheel.clone(),
            paths: vec![wheel],
            indexes: true,
        }
    }
}

/// One fetch.
pub struct FetchRequest<'a> {
    /// The source as the user wrote it.
    pub spec: &'a str,
    /// A scratch directory the source may fill; it is removed afterwards.
    pub work_dir: &'a Path,
    /// The registry, for unpacking downloaded archives with its compressors.
    pub registry: &'a Registry,
    /// Settings from the user's configuration for this source.
    pub settings: &'a serde_json::Value,
    /// The user's `--max-*` bounds, for unpacking a downloaded or local source archive.
    pub limits: crate::archive::Limits,
}

/// Turns a source spec (a requirement, a path, a URL, `gh:owner/repo@ref`, …) into something
/// the builder can build.
pub trait Source: Send + Sync {
    /// The name users and messages know it by (`pypi`, `path`, `url`, `github`).
    fn name(&self) -> &str;
    /// Whether this source understands `spec`.
    fn claims(&self, spec: &str) -> bool;
    /// The URL schemes (`https`, without `://`) it claims, which no third-party source may also
    /// claim unless configured to override it.
    fn schemes(&self) -> &[&str] {
        &[]
    }
    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError>;
}

/// Why a source could not be fetched. The message names the source and says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{source_name} source `{spec}`: {message}")]
pub struct SourceError {
    pub source_name: String,
    pub spec: String,
    pub message: String,
}

impl SourceError {
    /// An error about `spec`, which is shown with any credentials in it masked.
    pub fn new(source_name: &str, spec: &str, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.to_string(),
            spec: crate::redact::redact_url(spec),
            message: message.into(),
        }
    }
}

/// Where the builder looks for distributions, on top of the tool's own configuration.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub find_links: Vec<String>,
    /// Download afresh, keeping nothing for the next run (`--no-cache`).
    pub no_cache: bool,
    /// Ignore every index; only `find_links` (`--no-index`).
    pub no_index: bool,
}

/// One build of a wheelhouse.
#[derive(Debug)]
pub struct BuildRequest<'a> {
    /// The interpreter whose pip (or other tool) builds, and whose platform the wheels fit.
    pub python: &'a Path,
    /// The package's fetched source; `None` builds only the requirements files.
    pub root: Option<&'a Fetched>,
    pub requirement_files: &'a [PathBuf],
    /// The wheelhouse to fill with the package's wheel and every dependency's.
    pub wheel_dir: &'a Path,
    /// A scratch directory.
    pub work_dir: &'a Path,
    pub indexes: &'a IndexOptions,
    /// Arguments passed to the build tool untouched.
    pub extra_args: &'a [String],
    /// The machines to build for; empty for the build interpreter's alone (one closure, no
    /// targets recorded). A builder that cannot serve one says so.
    pub targets: &'a [BuildTarget],
    /// The build interpreter as a target: what builds here fits it.
    pub host: &'a BuildTarget,
}

/// A machine a wheelhouse is built for.
#[derive(Debug, Clone)]
pub struct BuildTarget {
    /// Its canonical name (`cp312-manylinux_2_28_x86_64`), as recorded in `package.json`.
    pub tag: String,
    /// Its tags and markers.
    pub env: crate::environment::Environment,
    /// Whether it is the build interpreter itself (so what builds here serves it).
    pub host: bool,
}

/// What a build produced beyond the wheelhouse itself.
#[derive(Debug, Default)]
pub struct BuildOutput {
    /// The package's own wheel, inside the wheelhouse.
    pub root_wheel: Option<PathBuf>,
    /// With targets: each target's closure, as wheel file names in the wheelhouse, in the order
    /// of the request's targets.
    pub closures: Vec<Vec<String>>,
    /// Whether the builder resolved the closure itself, so it must install together on every
    /// target (a lock that does not hold is then an error, not a warning).
    pub resolved: bool,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
#[error("{builder} could not build the wheels: {message}")]
pub struct BuildError {
    pub builder: String,
    pub message: String,
}

/// Builds a wheelhouse: the package's wheel and its whole dependency closure.
pub trait Builder: Send + Sync {
    fn name(&self) -> &str;
    fn build(&self, request: &BuildRequest<'_>) -> Result<BuildOutput, BuildError>;
}

/// A stream compression used around a tar archive (gzip, zstd, …).
pub trait Compressor: Send + Sync {
    /// The name users pick it by (`gzip`, `zstd`).
    fn name(&self) -> &str;
    /// The usual file-name suffix of a tar compressed with it (`tar.gz`).
    fn extension(&self) -> &str;
    /// The leading bytes that identify its streams.
    fn magic(&self) -> &[u8];
    /// How the file names of wagons it compresses end: `.{extension}.wgn` (`x.zst.wgn`) unless
    /// it says otherwise, so two formats of one package never overwrite each other.
    fn archive_suffix(&self) -> String {
        format!(".{}.wgn", self.extension())
    }
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
    pub target: &'a Interpreter,
    pub plan: &'a InstallPlan,
    /// A directory holding every wheel of the archive (the plan names which to install).
    pub wheel_dir: &'a Path,
    /// Replace an installed version of the requested projects by the archive's.
    pub upgrade: bool,
    /// Reinstall even when the same version is already installed.
    pub reinstall: bool,
    /// Byte-compile the installed `.py` files (off by default, like uv).
    pub compile: bool,
    /// The user allows installing into an externally managed interpreter (PEP 668); Wagon has
    /// checked before calling, but an installer with its own check (pip) must be told.
    pub break_system_packages: bool,
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
    sources: Vec<Arc<dyn Source>>,
    builders: Vec<Arc<dyn Builder>>,
    compressors: Vec<Arc<dyn Compressor>>,
    installers: Vec<Arc<dyn Installer>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sources", &self.source_names())
            .field("compressors", &self.compressor_names())
            .field("installers", &self.installer_names())
            .finish()
    }
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source. Sources are asked in registration order whether they claim a spec, so
    /// register specific ones (a private scheme) before general ones (PyPI names).
    pub fn register_source(&mut self, source: Arc<dyn Source>) -> &mut Self {
        self.sources.retain(|s| s.name() != source.name());
        self.sources.push(source);
        self
    }

    /// Adds a builder; a later one with the same name replaces the earlier.
    pub fn register_builder(&mut self, builder: Arc<dyn Builder>) -> &mut Self {
        self.builders.retain(|b| b.name() != builder.name());
        self.builders.push(builder);
        self
    }

    /// The first source that claims `spec`.
    pub fn source_for(&self, spec: &str) -> Option<Arc<dyn Source>> {
        self.sources.iter().find(|s| s.claims(spec)).cloned()
    }

    pub fn builder(&self, name: &str) -> Option<Arc<dyn Builder>> {
        self.builders.iter().find(|b| b.name() == name).cloned()
    }

    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name().to_string()).collect()
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
