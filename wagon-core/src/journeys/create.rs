//! The create journey (`wagon create`): source plugin → builder → wheelhouse → manifest and lock
//! → archive, with every user error (a missing file, an existing output, a bad tag) caught before
//! the slow work.

use std::path::{Path, PathBuf};

use crate::archive::{ArchiveError, ArchiveLayout, OutputFormat, write_archive};
use crate::interpreter::{Interpreter, InterpreterError};
use crate::manifest::Manifest;
use crate::naming::archive_file_name;
use crate::pack::{PackError, PackRequest, prepare};
use crate::path_error::PathIoError;
use crate::plugin::{
    BuildError, BuildRequest, FetchRequest, Fetched, IndexOptions, Registry, SourceError,
};
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::python::{self, PythonSyntaxError};
use crate::wheel::{WheelError, WheelInfo};
use crate::wheelhouse;

/// Everything `wagon create` was asked for.
#[derive(Clone)]
pub struct CreateRequest {
    /// The package's source; `None` packs only the requirements files.
    pub source: Option<String>,
    pub requirement_files: Vec<PathBuf>,
    /// Name and version of a requirements-only archive.
    pub name: Option<String>,
    pub version: Option<String>,
    pub excludes: Vec<String>,
    /// Python tags as the user typed them (`py3`, `311`); empty means the build interpreter's.
    pub python_tags: Vec<String>,
    pub build_tag: Option<String>,
    pub add_files: Vec<PathBuf>,
    pub output_dir: PathBuf,
    pub force: bool,
    pub keep_wheels: Option<PathBuf>,
    pub format: OutputFormat,
    pub python: PathBuf,
    pub builder: String,
    pub indexes: IndexOptions,
    pub extra_args: Vec<String>,
    pub supported_platform: Option<String>,
    /// Settings for source plugins, by source name.
    pub source_settings: serde_json::Value,
    /// Bounds on unpacking a source archive (the `--max-*` flags).
    pub limits: crate::archive::Limits,
}

/// What was created.
#[derive(Debug)]
pub struct Created {
    pub path: PathBuf,
    pub manifest: Manifest,
}

/// Why an archive could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(
        "no source plugin understands `{spec}` (tried: {tried}). A source is a PyPI requirement \
         (`flask`, `flask==3.0.3`), a local project directory or source archive, an http(s) or \
         file URL, or `gh:OWNER/REPO[@REF]`; check for a typo or a path that does not exist."
    )]
    UnknownSource { spec: String, tried: String },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("no builder named `{0}`")]
    NoBuilder(String),
    #[error("{what} {path} does not exist")]
    MissingInput { what: &'static str, path: PathBuf },
    #[error("nothing to pack: give a SOURCE, or requirements files with -r and --name/--version")]
    NothingToPack,
    #[error("a requirements-only archive needs {0}: pass --name NAME --version VERSION")]
    NeedsNameAndVersion(&'static str),
    #[error("{0} already exists; pass --force to overwrite it")]
    OutputExists(PathBuf),
    #[error("the build produced no wheel for the package itself")]
    NoRootWheel,
    #[error(transparent)]
    Io(#[from] PathIoError),
    #[error(transparent)]
    Syntax(#[from] PythonSyntaxError),
    #[error(transparent)]
    Interpreter(#[from] InterpreterError),
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> CreateError + use<> {
    let error = PathIoError::doing(action, path);
    move |source| CreateError::Io(error(source))
}

/// Progress reports: the stage now running.
pub trait Progress {
    fn stage(&self, message: &str);
}

impl<F: Fn(&str)> Progress for F {
    fn stage(&self, message: &str) {
        self(message);
    }
}

/// Runs the create journey.
pub fn create(
    registry: &Registry,
    request: &CreateRequest,
    progress: &dyn Progress,
) -> Result<Created, CreateError> {
    let python_tags = check_inputs(request)?;
    let builder = registry
        .builder(&request.builder)
        .ok_or_else(|| CreateError::NoBuilder(request.builder.clone()))?;
    let source = match &request.source {
        None => None,
        Some(spec) => Some((
            spec.as_str(),
            registry
                .source_for(spec)
                .ok_or_else(|| CreateError::UnknownSource {
                    spec: crate::python::redact_url(spec),
                    tried: registry.source_names().join(", "),
                })?,
        )),
    };

    progress.stage("probing the build interpreter");
    let build_target = Interpreter::probe(&request.python)?;
    let work = crate::scratch::tempdir("wagon-create-").map_err(io_error(
        "create a scratch directory in",
        &std::env::temp_dir(),
    ))?;
    let fetched = match source {
        Some((spec, source)) => {
            progress.stage(&format!(
                "fetching {} ({} source)",
                crate::python::redact_url(spec),
                source.name()
            ));
            let fetch_dir = make_dir(&work.path().join("source"))?;
            let settings = request
                .source_settings
                .get(source.name())
                .cloned()
                .unwrap_or_default();
            Some(source.fetch(&FetchRequest {
                spec,
                work_dir: &fetch_dir,
                registry,
                settings: &settings,
                limits: request.limits,
            })?)
        }
        None => None,
    };

    progress.stage(&format!(
        "building wheels with {} ({})",
        builder.name(),
        build_target.describe()
    ));
    let wheel_dir = make_dir(&work.path().join("wheels"))?;
    let output = builder.build(&BuildRequest {
        python: &request.python,
        root: fetched.as_ref(),
        requirement_files: &request.requirement_files,
        wheel_dir: &wheel_dir,
        work_dir: &make_dir(&work.path().join("build"))?,
        indexes: &request.indexes,
        extra_args: &request.extra_args,
    })?;

    progress.stage("inspecting the wheelhouse");
    let mut wheels = wheelhouse::wheels_in(&wheel_dir).map_err(io_error("read", &wheel_dir))?;
    let excluded = wheelhouse::exclude(&mut wheels, &request.excludes)?;
    let identity = identify(
        request,
        output.root_wheel.as_deref(),
        fetched.is_some(),
        &wheels,
    )?;

    progress.stage("packing the archive");
    let (manifest, layout) = pack(
        request,
        identity,
        python_tags,
        &wheels,
        excluded,
        fetched.as_ref(),
        &build_target,
    )?;
    let file_name = manifest.archive_name.clone();
    let destination = make_dir(&request.output_dir)?.join(&file_name);
    if destination.exists() && !request.force {
        return Err(CreateError::OutputExists(destination));
    }
    progress.stage(&format!("writing {}", destination.display()));
    write_archive(&layout, &request.format, &destination)?;
    if let Some(keep) = &request.keep_wheels {
        make_dir(keep)?;
        for wheel in &wheels {
            if let Some(name) = wheel.file_name() {
                std::fs::copy(wheel, keep.join(name)).map_err(io_error("copy a wheel to", keep))?;
            }
        }
    }
    Ok(Created {
        path: destination,
        manifest,
    })
}

/// The archive's `package.json` and layout, with the lock for the build interpreter when the
/// wheels install together there.
fn pack(
    request: &CreateRequest,
    identity: Identity,
    python_tags: Vec<String>,
    wheels: &[PathBuf],
    excluded: Vec<String>,
    fetched: Option<&Fetched>,
    build_target: &Interpreter,
) -> Result<(Manifest, ArchiveLayout), CreateError> {
    let pack_request = PackRequest {
        package_name: identity.name,
        package_version: identity.version,
        build_tag: request.build_tag.clone(),
        python_tags: if python_tags.is_empty() {
            vec![build_target.default_python_tag()]
        } else {
            python_tags
        },
        // Recorded in package.json, which travels: never with a password in it.
        source: request
            .source
            .as_deref()
            .map(crate::python::redact_url)
            .unwrap_or_else(|| {
                request
                    .requirement_files
                    .iter()
                    .map(|p| format!("-r {}", p.display()))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        wheels: wheels.to_vec(),
        files: request.add_files.clone(),
        excluded,
        os_properties: crate::os_release::host_os_properties(),
        supported_platform: request.supported_platform.clone(),
        targets: Vec::new(),
    };
    let prepared = prepare(&pack_request)?;
    let (mut manifest, mut layout) = (prepared.manifest, prepared.layout);
    manifest.archive_name = archive_file_name(&manifest.archive_name, &request.format);
    if !identity.roots.is_empty() {
        manifest.extra.insert(
            "root_packages".to_string(),
            serde_json::json!(identity.roots),
        );
    }
    // The lock: the plan the native installer follows on the build interpreter's platform.
    let extras = match fetched {
        Some(Fetched::Requirement(requirement)) => python::requirement(requirement)
            .map(|r| r.extras.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    match PyLock::for_environment(&manifest, &prepared.wheels, &extras, &build_target.env) {
        Ok(lock) => layout
            .metadata_files
            .push((LOCK_FILE.to_string(), lock.to_toml()?.into_bytes())),
        Err(err) => tracing::warn!(
            "no pylock.toml: the wheels do not install together on the build interpreter ({err})"
        ),
    }
    layout.manifest = manifest.to_json().map_err(PackError::from)?;
    Ok((manifest, layout))
}

/// The cheap checks, before any slow work: a typo must not cost a build. Returns the python
/// tags the user gave, parsed.
fn check_inputs(request: &CreateRequest) -> Result<Vec<String>, CreateError> {
    for (what, paths) in [
        ("file to add", &request.add_files),
        ("requirements file", &request.requirement_files),
    ] {
        if let Some(path) = paths.iter().find(|p| !p.is_file()) {
            return Err(CreateError::MissingInput {
                what,
                path: path.clone(),
            });
        }
    }
    let python_tags = request
        .python_tags
        .iter()
        .map(|t| python::python_tag(t))
        .collect::<Result<Vec<_>, _>>()?;
    if request.source.is_none() {
        if request.requirement_files.is_empty() {
            return Err(CreateError::NothingToPack);
        }
        let name = request
            .name
            .as_deref()
            .ok_or(CreateError::NeedsNameAndVersion("a name"))?;
        let version = request
            .version
            .as_deref()
            .ok_or(CreateError::NeedsNameAndVersion("a version"))?;
        python::package_name(name)?;
        python::version(version)?;
        refuse_existing(request, Some((name, version)))?;
    } else {
        refuse_existing(
            request,
            pinned(request.source.as_deref())
                .as_ref()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        )?;
    }
    Ok(python_tags)
}

/// What the archive is: its name and version, and for a requirements-only archive the projects
/// it installs.
struct Identity {
    name: String,
    version: String,
    roots: Vec<String>,
}

/// The package's identity from its own wheel (the name as its metadata spells it, `Flask`, like
/// wagon 1.0's `package_name`), or from the request for a requirements-only archive.
fn identify(
    request: &CreateRequest,
    root_wheel: Option<&Path>,
    fetched: bool,
    wheels: &[PathBuf],
) -> Result<Identity, CreateError> {
    match root_wheel {
        Some(root) => {
            let info = WheelInfo::read(root)?;
            Ok(Identity {
                name: info.display_name,
                version: info.metadata.version.to_string(),
                roots: Vec::new(),
            })
        }
        None if fetched => Err(CreateError::NoRootWheel),
        None => {
            let infos = wheels
                .iter()
                .map(|w| WheelInfo::read(w))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Identity {
                name: request.name.clone().unwrap_or_default(),
                version: request.version.clone().unwrap_or_default(),
                roots: crate::plan::top_level_projects(&infos),
            })
        }
    }
}

/// Creates `dir` (and its parents) and hands it back.
fn make_dir(dir: &Path) -> Result<PathBuf, CreateError> {
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    Ok(dir.to_path_buf())
}

/// `flask==3.0.3` → (`flask`, `3.0.3`): the archive name is then known before building.
fn pinned(source: Option<&str>) -> Option<(String, String)> {
    let requirement = python::requirement(source?).ok()?;
    let spec = match requirement.version_or_url? {
        python::VersionOrUrl::VersionSpecifier(spec) => spec,
        python::VersionOrUrl::Url(_) => return None,
    };
    let text = spec.to_string();
    let version = text.strip_prefix("==")?;
    (!version.contains(['*', ','])).then(|| (requirement.name.to_string(), version.to_string()))
}

/// With a known name and version, refuse before building when an archive for them exists.
fn refuse_existing(
    request: &CreateRequest,
    known: Option<(&str, &str)>,
) -> Result<(), CreateError> {
    let Some((name, version)) = known else {
        return Ok(());
    };
    if request.force {
        return Ok(());
    }
    let prefix = format!("{}-{}-", name.replace('-', "_"), version);
    let Ok(entries) = std::fs::read_dir(&request.output_dir) else {
        return Ok(());
    };
    let suffix = archive_file_name(".wgn", &request.format);
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_lowercase();
        if file.starts_with(&prefix.to_lowercase()) && file.ends_with(&suffix) {
            return Err(CreateError::OutputExists(entry.path()));
        }
    }
    Ok(())
}
