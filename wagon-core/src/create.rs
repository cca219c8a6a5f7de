//! The create journey: source plugin → builder → wheelhouse → manifest → archive, with every
//! user error (a missing file, an existing output, a bad tag) caught before the slow work.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::archive::{ArchiveError, OutputFormat, write_archive};
use crate::interpreter::{Interpreter, InterpreterError};
use crate::manifest::{Manifest, OsProperties};
use crate::pack::{PackError, PackRequest, prepare};
use crate::plugin::{
    BuildError, BuildRequest, FetchRequest, Fetched, IndexOptions, Registry, SourceError,
};
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::python::{self, PythonSyntaxError};
use crate::wheel::{WheelError, WheelInfo};

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
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CreateError + 'a {
    move |source| CreateError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
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
    // Cheap checks first: a typo must not cost a build.
    for path in &request.add_files {
        if !path.is_file() {
            return Err(CreateError::MissingInput {
                what: "file to add",
                path: path.clone(),
            });
        }
    }
    for path in &request.requirement_files {
        if !path.is_file() {
            return Err(CreateError::MissingInput {
                what: "requirements file",
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
    let builder = registry
        .builder(&request.builder)
        .ok_or_else(|| CreateError::NoBuilder(request.builder.clone()))?;
    let source = match &request.source {
        None => None,
        Some(spec) => {
            Some(
                registry
                    .source_for(spec)
                    .ok_or_else(|| CreateError::UnknownSource {
                        spec: spec.clone(),
                        tried: registry.source_names().join(", "),
                    })?,
            )
        }
    };

    progress.stage("probing the build interpreter");
    let build_target = Interpreter::probe(&request.python)?;
    let work = crate::scratch::tempdir("wagon-create-").map_err(io_error(
        "create a scratch directory in",
        &std::env::temp_dir(),
    ))?;
    let fetched = match (&source, &request.source) {
        (Some(source), Some(spec)) => {
            progress.stage(&format!("fetching {spec} ({} source)", source.name()));
            let fetch_dir = work.path().join("source");
            std::fs::create_dir_all(&fetch_dir).map_err(io_error("create", &fetch_dir))?;
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
        _ => None,
    };

    progress.stage(&format!(
        "building wheels with {} ({})",
        builder.name(),
        build_target.describe()
    ));
    let wheel_dir = work.path().join("wheels");
    std::fs::create_dir_all(&wheel_dir).map_err(io_error("create", &wheel_dir))?;
    let build_dir = work.path().join("build");
    std::fs::create_dir_all(&build_dir).map_err(io_error("create", &build_dir))?;
    let output = builder.build(&BuildRequest {
        python: &request.python,
        root: fetched.as_ref(),
        requirement_files: &request.requirement_files,
        wheel_dir: &wheel_dir,
        work_dir: &build_dir,
        indexes: &request.indexes,
        extra_args: &request.extra_args,
    })?;

    progress.stage("inspecting the wheelhouse");
    let mut wheels = wheels_in(&wheel_dir)?;
    let excluded = exclude(&mut wheels, &request.excludes)?;
    // The name as the wheel's metadata spells it (`Flask`), like wagon 1.0's `package_name`.
    let (package_name, package_version, roots) = match &output.root_wheel {
        Some(root) => {
            let info = WheelInfo::read(root)?;
            (
                info.display_name,
                info.metadata.version.to_string(),
                Vec::new(),
            )
        }
        None if fetched.is_some() => return Err(CreateError::NoRootWheel),
        None => {
            let infos = wheels
                .iter()
                .map(|w| WheelInfo::read(w))
                .collect::<Result<Vec<_>, _>>()?;
            (
                request.name.clone().unwrap_or_default(),
                request.version.clone().unwrap_or_default(),
                top_level_projects(&infos),
            )
        }
    };
    let python_tags = if python_tags.is_empty() {
        vec![build_target.default_python_tag()]
    } else {
        python_tags
    };

    progress.stage("packing the archive");
    let pack_request = PackRequest {
        package_name,
        package_version: package_version.clone(),
        build_tag: request.build_tag.clone(),
        python_tags,
        source: request.source.clone().unwrap_or_else(|| {
            request
                .requirement_files
                .iter()
                .map(|p| format!("-r {}", p.display()))
                .collect::<Vec<_>>()
                .join(" ")
        }),
        wheels: wheels.clone(),
        files: request.add_files.clone(),
        excluded,
        os_properties: os_properties(),
        supported_platform: request.supported_platform.clone(),
    };
    let prepared = prepare(&pack_request)?;
    let (mut manifest, mut layout) = (prepared.manifest, prepared.layout);
    let file_name = file_name_for(&manifest.archive_name, &request.format);
    manifest.archive_name = file_name.clone();
    if !roots.is_empty() {
        manifest
            .extra
            .insert("root_packages".to_string(), serde_json::json!(roots));
    }
    // The lock: the plan the native installer follows on the build interpreter's platform.
    let extras = match &fetched {
        Some(Fetched::Requirement(requirement)) => python::requirement(requirement)
            .map(|r| r.extras.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    match crate::journey::roots(&manifest, &extras).and_then(|roots| {
        Ok(crate::plan::select(
            &prepared.wheels,
            &roots,
            &build_target,
            false,
        )?)
    }) {
        Ok(plan) => {
            let lock = PyLock::from_plan(&plan, &prepared.wheels, &manifest, &build_target);
            layout
                .metadata_files
                .push((LOCK_FILE.to_string(), lock.to_toml()?.into_bytes()));
        }
        Err(err) => tracing::warn!(
            "no pylock.toml: the wheels do not install together on the build interpreter ({err})"
        ),
    }
    layout.manifest = manifest.to_json().map_err(PackError::from)?;
    std::fs::create_dir_all(&request.output_dir)
        .map_err(io_error("create the output directory", &request.output_dir))?;
    let destination = request.output_dir.join(&file_name);
    if destination.exists() && !request.force {
        return Err(CreateError::OutputExists(destination));
    }
    progress.stage(&format!("writing {}", destination.display()));
    write_archive(&layout, &request.format, &destination)?;
    if let Some(keep) = &request.keep_wheels {
        std::fs::create_dir_all(keep).map_err(io_error("create", keep))?;
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
    let suffix = file_name_for(".wgn", &request.format);
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_lowercase();
        if file.starts_with(&prefix.to_lowercase()) && file.ends_with(&suffix) {
            return Err(CreateError::OutputExists(entry.path()));
        }
    }
    Ok(())
}

/// `x.wgn` for tar.gz, wagon 1.0's usual format; `x.zip.wgn` and `x.zst.wgn` otherwise, so two
/// formats of one package never overwrite each other.
fn file_name_for(archive_name: &str, format: &OutputFormat) -> String {
    let stem = archive_name.strip_suffix(".wgn").unwrap_or(archive_name);
    match format {
        OutputFormat::Tar { compressor, .. } if compressor.name() == "gzip" => {
            format!("{stem}.wgn")
        }
        OutputFormat::Tar { compressor, .. } => format!("{stem}.{}.wgn", compressor.extension()),
        OutputFormat::PlainTar => format!("{stem}.tar.wgn"),
        OutputFormat::Zip => format!("{stem}.zip.wgn"),
    }
}

fn wheels_in(dir: &Path) -> Result<Vec<PathBuf>, CreateError> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error("read", dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    wheels.sort();
    Ok(wheels)
}

/// Drops the wheels of excluded projects, warning for each, and returns their file names.
fn exclude(wheels: &mut Vec<PathBuf>, excludes: &[String]) -> Result<Vec<String>, CreateError> {
    if excludes.is_empty() {
        return Ok(Vec::new());
    }
    let names: BTreeSet<python::PackageName> = excludes
        .iter()
        .map(|e| python::package_name(e))
        .collect::<Result<_, _>>()?;
    let mut dropped = Vec::new();
    wheels.retain(|wheel| {
        let file = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let excluded = python::parse_wheel_filename(&file).is_ok_and(|w| names.contains(&w.name));
        if excluded {
            tracing::warn!(
                "excluding {file}: the archive may not install without it (`--validate` checks)"
            );
            dropped.push(file);
        }
        !excluded
    });
    Ok(dropped)
}

/// Projects no other wheel needs (extras aside): what a requirements-only archive installs. A
/// dependency needed only through an extra (`x; extra == "fancy"`) is a root of its own, since
/// nothing else would install it.
fn top_level_projects(wheels: &[WheelInfo]) -> Vec<String> {
    let required: BTreeSet<&python::PackageName> = wheels
        .iter()
        .flat_map(|w| w.metadata.requires_dist.iter())
        .filter(|r| python::needed_without_extras(r))
        .map(|r| &r.name)
        .collect();
    wheels
        .iter()
        .filter(|w| !required.contains(&w.filename.name))
        .map(|w| w.filename.name.to_string())
        .collect()
}

/// The Linux distribution from `/etc/os-release`, as wagon 1.0 recorded it.
fn os_properties() -> OsProperties {
    let Ok(text) = std::fs::read_to_string("/etc/os-release") else {
        return OsProperties::default();
    };
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(|v| v.trim_matches('"').to_lowercase())
    };
    OsProperties {
        distribution: field("ID"),
        distribution_release: field("VERSION_CODENAME"),
        distribution_version: field("VERSION_ID"),
    }
}
