//! The create journey (`wagon create`): source plugin → builder → wheelhouse → manifest and lock
//! → archive, with every user error (a missing file, an existing output, a bad tag) caught before
//! the slow work.

use std::path::{Path, PathBuf};

use crate::archive::{ArchiveError, ArchiveLayout, OutputFormat, write_archive};
use crate::interpreter::{Interpreter, InterpreterError};
use crate::manifest::Manifest;
use crate::manifest::TargetRecord;
use crate::naming::archive_file_name;
use crate::pack::{PackError, PackRequest, prepare};
use crate::path_error::PathIoError;
use crate::plugin::{
    BuildError, BuildRequest, BuildTarget, FetchRequest, Fetched, IndexOptions, Registry,
    SourceError,
};
use crate::pylock::{LOCK_FILE, LockError, PyLock};
use crate::python::{self, PythonSyntaxError};
use crate::targets::{TargetError, TargetSpec};
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
    /// The machines to make the archive for (`--target`); empty for the build interpreter's.
    pub targets: Vec<String>,
    /// The Python of targets that name none (uv's platform spellings): `3.12`.
    pub python_version: Option<String>,
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
    #[error(
        "--exclude {} matches no project of the archive's closure, which holds: {closure}. \
         Check the spelling",
        .names.join(", ")
    )]
    ExcludeMatchesNothing { names: Vec<String>, closure: String },
    #[error(
        "--exclude {0} names the package itself; an archive without its package installs \
         nothing. Leave it out of --exclude"
    )]
    ExcludesThePackage(String),
    #[error(transparent)]
    Requirements(#[from] crate::requirements_file::RequirementsFileError),
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
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error("a target's wheels do not install together: {0}")]
    TargetLock(#[source] crate::plan::PlanError),
    #[error(
        "the targets {first} and {second} have the same Python, OS and machine, so one lock's \
         markers cannot tell them apart (they differ only in C library or OS version). Keep \
         the one with the older glibc or macOS, whose wheels the other accepts too, or make an \
         archive for each"
    )]
    IndistinguishableTargets { first: String, second: String },
    #[error(
        "the archive's wheels install together on no CPython the python tags `{tags}` name \
         (their tags, Requires-Python or dependencies rule each one out). Pass the --pyver of \
         the build interpreter, or build with an interpreter those tags name"
    )]
    PythonTagsFitNothing { tags: String },
    #[error(
        "cannot write the archive into {dir}: {reason}. Nothing was built; choose a folder you \
         can write to with -o"
    )]
    OutputUnwritable { dir: PathBuf, reason: String },
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

/// A source spec and the plugin that claims it.
type ClaimedSource<'a> = (&'a str, std::sync::Arc<dyn crate::plugin::Source>);

/// The source plugin that claims the request's source spec, if it has one.
fn source_for<'a>(
    registry: &Registry,
    request: &'a CreateRequest,
) -> Result<Option<ClaimedSource<'a>>, CreateError> {
    let Some(spec) = &request.source else {
        return Ok(None);
    };
    let source = registry
        .source_for(spec)
        .ok_or_else(|| CreateError::UnknownSource {
            spec: crate::redact::redact_url(spec),
            tried: registry.source_names().join(", "),
        })?;
    Ok(Some((spec.as_str(), source)))
}

/// Runs the create journey.
pub fn create(
    registry: &Registry,
    request: &CreateRequest,
    progress: &dyn Progress,
) -> Result<Created, CreateError> {
    let python_tags = check_inputs(request)?;
    // Parsed before any slow work: a typo in a target must not cost a build.
    let specs = request
        .targets
        .iter()
        .map(|spec| TargetSpec::parse(spec, request.python_version.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let builder = registry
        .builder(&request.builder)
        .ok_or_else(|| CreateError::NoBuilder(request.builder.clone()))?;
    let source = source_for(registry, request)?;

    progress.stage("probing the build interpreter");
    let build_target = Interpreter::probe(&request.python)?;
    let (targets, host) = build_targets(&specs, &build_target)?;
    let work = crate::scratch::tempdir("wagon-create-").map_err(io_error(
        "create a scratch directory in",
        &std::env::temp_dir(),
    ))?;
    let fetched = match source {
        Some((spec, source)) => {
            progress.stage(&format!(
                "fetching {} ({} source)",
                crate::redact::redact_url(spec),
                source.name()
            ));
            Some(fetch(
                registry,
                request,
                spec,
                source.as_ref(),
                work.path(),
            )?)
        }
        None => None,
    };
    let fetched = own_copy(fetched, work.path(), progress)?;

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
        targets: &targets,
        host: &host,
    })?;

    progress.stage("inspecting the wheelhouse");
    let mut wheels = wheelhouse::wheels_in(&wheel_dir).map_err(io_error("read", &wheel_dir))?;
    let all_wheels = wheels.clone();
    let excluded = wheelhouse::exclude(&mut wheels, &request.excludes)?;
    check_excluded(&excluded, output.root_wheel.as_deref(), &all_wheels)?;
    let identity = identify(
        request,
        output.root_wheel.as_deref(),
        fetched.is_some(),
        &wheels,
    )?;

    progress.stage("packing the archive");
    let built = Built {
        wheels: &wheels,
        excluded,
        fetched: fetched.as_ref(),
        targets: &targets,
        closures: output.closures,
        resolved: output.resolved,
    };
    let (manifest, layout) = pack(request, identity, python_tags, &built, &build_target)?;
    let file_name = manifest.archive_name.clone();
    let destination = make_dir(&request.output_dir)?.join(&file_name);
    if destination.exists() && !request.force {
        return Err(CreateError::OutputExists(destination));
    }
    progress.stage(&format!("writing {}", destination.display()));
    let started = std::time::Instant::now();
    write_archive(&layout, &request.format, &destination)?;
    tracing::info!(
        "wrote the archive in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(keep) = &request.keep_wheels {
        keep_wheels(&wheels, keep)?;
    }
    Ok(Created {
        path: destination,
        manifest,
    })
}

/// Fetches `spec` with its source into the run's scratch `work` folder.
fn fetch(
    registry: &Registry,
    request: &CreateRequest,
    spec: &str,
    source: &dyn crate::plugin::Source,
    work: &Path,
) -> Result<Fetched, CreateError> {
    let fetch_dir = make_dir(&work.join("source"))?;
    let settings = request
        .source_settings
        .get(source.name())
        .cloned()
        .unwrap_or_default();
    Ok(source.fetch(&FetchRequest {
        spec,
        work_dir: &fetch_dir,
        registry,
        settings: &settings,
        limits: request.limits,
    })?)
}

/// `--exclude` must name projects of the closure, and not the package itself.
fn check_excluded(
    excluded: &wheelhouse::Excluded,
    root_wheel: Option<&Path>,
    all_wheels: &[PathBuf],
) -> Result<(), CreateError> {
    let project_of = |path: &Path| {
        path.file_name()
            .and_then(|n| python::parse_wheel_filename(&n.to_string_lossy()).ok())
            .map(|w| w.name)
    };
    if let Some(package) = root_wheel.and_then(project_of)
        && excluded.projects.contains(&package.to_string())
    {
        return Err(CreateError::ExcludesThePackage(package.to_string()));
    }
    if !excluded.unmatched.is_empty() {
        let closure: std::collections::BTreeSet<String> = all_wheels
            .iter()
            .filter_map(|w| project_of(w))
            .map(|n| n.to_string())
            .collect();
        return Err(CreateError::ExcludeMatchesNothing {
            names: excluded.unmatched.clone(),
            closure: closure.into_iter().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(())
}

/// What the build gave the packing step.
struct Built<'a> {
    wheels: &'a [PathBuf],
    excluded: wheelhouse::Excluded,
    fetched: Option<&'a Fetched>,
    targets: &'a [BuildTarget],
    /// Each target's closure (wheel file names), in the order of `targets`.
    closures: Vec<Vec<String>>,
    /// Whether the builder resolved the closure itself.
    resolved: bool,
}

/// The lock, followed on each target, installs exactly that target's closure.
fn check_lock(
    lock: &PyLock,
    manifest: &Manifest,
    wheels: &[WheelInfo],
    closures: &[(crate::environment::Environment, Vec<String>)],
) -> Result<(), crate::plan::PlanError> {
    let roots = crate::plan::roots(manifest, &[])?;
    let excluded = crate::plan::excluded_projects(manifest);
    for (env, closure) in closures {
        let names: Vec<_> = roots
            .iter()
            .filter(|r| r.applies(env))
            .map(|r| r.name.clone())
            .collect();
        let plan = crate::plan::follow_lock(lock, wheels, env, &names, &excluded, false)?;
        let mut planned: Vec<&str> = plan.wheels.iter().map(|w| w.file_name.as_str()).collect();
        planned.sort_unstable();
        let mut expected: Vec<&str> = closure.iter().map(String::as_str).collect();
        expected.sort_unstable();
        // What only an excluded project needed stays in the archive, unused.
        let fits = if excluded.is_empty() {
            planned == expected
        } else {
            planned.iter().all(|p| expected.contains(p))
        };
        if !fits {
            return Err(crate::plan::PlanError::LockUnsound {
                target: env.describe().to_string(),
                problems: vec![format!(
                    "the lock installs {} where the resolution chose {}",
                    planned.join(", "),
                    expected.join(", ")
                )],
            });
        }
    }
    Ok(())
}

/// The build targets for `specs`, and the build interpreter as one: `host` is that interpreter as
/// probed; a declared target whose name is the host's serves as the host too (what builds here
/// fits it).
fn build_targets(
    specs: &[TargetSpec],
    build_target: &Interpreter,
) -> Result<(Vec<BuildTarget>, BuildTarget), CreateError> {
    let host_tag = crate::targets::host_tag(build_target);
    let host = BuildTarget {
        tag: host_tag.clone(),
        env: build_target.env.clone(),
        host: true,
    };
    let mut targets: Vec<BuildTarget> = Vec::new();
    for spec in specs {
        let target = match spec {
            TargetSpec::Host => BuildTarget {
                tag: host_tag.clone(),
                env: build_target.env.clone(),
                host: true,
            },
            TargetSpec::Declared(machine) => BuildTarget {
                tag: machine.tag.clone(),
                env: machine.environment()?,
                host: machine.tag == host_tag,
            },
        };
        if targets.iter().any(|t| t.tag == target.tag) {
            continue;
        }
        // A lock tells environments apart by markers: two targets alike in Python, OS and
        // machine (a glibc or macOS version apart, or glibc and musl) would share entries.
        if let Some(twin) = targets.iter().find(|t| {
            crate::pylock::target_marker(&t.env) == crate::pylock::target_marker(&target.env)
        }) {
            return Err(CreateError::IndistinguishableTargets {
                first: twin.tag.clone(),
                second: target.tag.clone(),
            });
        }
        targets.push(target);
    }
    Ok((targets, host))
}

/// The archive's `package.json` and layout, with the lock: for each target, or for the build
/// interpreter when the wheels install together there.
fn pack(
    request: &CreateRequest,
    identity: Identity,
    python_tags: Vec<String>,
    built: &Built<'_>,
    build_target: &Interpreter,
) -> Result<(Manifest, ArchiveLayout), CreateError> {
    // A closure as the archive holds it: without the excluded projects' wheels.
    let closures: Vec<Vec<String>> = built
        .closures
        .iter()
        .map(|closure| {
            closure
                .iter()
                .filter(|file| !built.excluded.wheels.contains(file))
                .cloned()
                .collect()
        })
        .collect();
    let records: Vec<TargetRecord> = built
        .targets
        .iter()
        .zip(&closures)
        .map(|(target, closure)| TargetRecord {
            tag: target.tag.clone(),
            marker_environment: crate::targets::marker_values(&target.env),
            wheels: closure.clone(),
        })
        .collect();
    let python_tags = if !python_tags.is_empty() {
        python_tags
    } else if records.is_empty() {
        vec![build_target.default_python_tag()]
    } else {
        // `cp310.cp312`, as PEP 425 compresses a tag set.
        let tags: std::collections::BTreeSet<String> = records
            .iter()
            .filter_map(|r| r.tag.split_once('-').map(|(python, _)| python.to_string()))
            .collect();
        tags.into_iter().collect()
    };
    let extras: Vec<String> = match built.fetched {
        Some(Fetched::Requirement(requirement)) => python::requirement(requirement)
            .map(|r| r.extras.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let roots = root_packages(request, &identity, &extras)?;
    let pack_request = PackRequest {
        package_name: identity.name,
        package_version: identity.version,
        build_tag: request.build_tag.clone(),
        python_tags,
        // Recorded in package.json, which travels: never with a password in it.
        source: request
            .source
            .as_deref()
            .map(crate::redact::redact_url)
            .unwrap_or_else(|| {
                request
                    .requirement_files
                    .iter()
                    .map(|p| format!("-r {}", p.display()))
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        wheels: built.wheels.to_vec(),
        files: request.add_files.clone(),
        excluded: built.excluded.wheels.clone(),
        os_properties: crate::os_release::host_os_properties(),
        supported_platform: request.supported_platform.clone(),
        targets: records,
    };
    let prepared = prepare(&pack_request)?;
    let (mut manifest, mut layout) = (prepared.manifest, prepared.layout);
    manifest.archive_name = archive_file_name(&manifest.archive_name, &request.format);
    manifest.root_packages = Some(roots);
    manifest.excluded_projects = built.excluded.projects.clone();
    // The lock: the plan the native installer (or uv, or pip) follows on each target, or on the
    // build interpreter's platform. It has no entries for excluded projects: `install` checks
    // the environment provides them, and `[tool.wagon]` names them for other readers.
    let lock = if built.targets.is_empty() {
        PyLock::for_environment(&manifest, &prepared.wheels, &extras, &build_target.env)
    } else {
        let closures: Vec<_> = built
            .targets
            .iter()
            .zip(closures)
            .map(|(target, closure)| (target.env.clone(), closure))
            .collect();
        PyLock::for_targets(&manifest, &prepared.wheels, &extras, &closures).and_then(|lock| {
            check_lock(&lock, &manifest, &prepared.wheels, &closures).map(|()| lock)
        })
    };
    match lock {
        Ok(mut lock) => {
            // `--pyver`: the lock serves every Python the user's tags name where it holds.
            if built.targets.is_empty() && !request.python_tags.is_empty() {
                widen_to_python_tags(&mut lock, &manifest, &prepared.wheels, build_target)?;
            }
            layout
                .metadata_files
                .push((LOCK_FILE.to_string(), lock.to_toml()?.into_bytes()))
        }
        // pip's closure may not hold: the lock is left out.
        Err(err) if built.targets.is_empty() && !built.resolved => {
            tracing::warn!(
                "no pylock.toml: the wheels do not install together on the build interpreter ({err})"
            )
        }
        // A closure the builder resolved itself must hold together: an archive that would fail
        // on the sealed network is not written.
        Err(err) => return Err(CreateError::TargetLock(err)),
    }
    layout.manifest = manifest.to_json().map_err(PackError::from)?;
    Ok((manifest, layout))
}

/// The newest CPython 3 minor version `--pyver py3` is checked against; an archive fitting it
/// and every older one down to its lowest is taken to fit the later ones too.
const NEWEST_MINOR_CHECKED: u8 = 30;

/// Makes `lock`, planned on the build interpreter, name as its environments every CPython 3 of
/// the archive's python tags (`py3`: all; `cp312`: 3.12) on which it installs a closure that holds
/// together: each wheel's tags and Requires-Python fit, `python_requires` allows it, and every
/// dependency that applies there is in the lock. Each Python is the build platform with that
/// version, as a declared target. An error when none fits.
fn widen_to_python_tags(
    lock: &mut PyLock,
    manifest: &Manifest,
    wheels: &[WheelInfo],
    build_target: &Interpreter,
) -> Result<(), CreateError> {
    let host_tag = crate::targets::host_tag(build_target);
    let Some((_, platform)) = host_tag.split_once('-') else {
        return Ok(());
    };
    let mut candidates: Vec<u8> = manifest
        .supported_python_versions
        .iter()
        .flat_map(|tag| python::cpython3_minors_of_tag(tag, 0..=NEWEST_MINOR_CHECKED))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let roots = crate::plan::roots(manifest, &[])
        .map_err(crate::plan::PlanError::from)
        .map_err(CreateError::TargetLock)?;
    let excluded = crate::plan::excluded_projects(manifest);
    let requires = manifest
        .python_requires
        .as_deref()
        .and_then(|r| python::specifiers(r).ok());
    let mut unbound = lock.clone();
    unbound.environments = None;
    let mut fitting = Vec::new();
    for minor in candidates {
        let spec = format!("cp3{minor}-{platform}");
        let Ok(TargetSpec::Declared(machine)) = TargetSpec::parse(&spec, None) else {
            // A platform a declared target cannot name: the lock keeps the build Python alone.
            tracing::debug!("cannot check {spec} for --pyver");
            return Ok(());
        };
        let Ok(env) = machine.environment() else {
            return Ok(());
        };
        let allowed = requires
            .as_ref()
            .is_none_or(|r| r.contains(&env.python_full_version));
        let names: Vec<_> = roots
            .iter()
            .filter(|r| r.applies(&env))
            .map(|r| r.name.clone())
            .collect();
        if allowed
            && crate::plan::follow_lock(&unbound, wheels, &env, &names, &excluded, false).is_ok()
        {
            fitting.push(minor);
        }
    }
    if fitting.is_empty() {
        return Err(CreateError::PythonTagsFitNothing {
            tags: manifest.supported_python_versions.join(", "),
        });
    }
    lock.environments = Some(crate::pylock::python_span_environments(
        &fitting,
        NEWEST_MINOR_CHECKED,
        &build_target.env,
        manifest,
    ));
    Ok(())
}

/// The archive's roots as package.json records them: the package (with the extras it was asked
/// for) and the projects of the `-r` files; for a requirements-only archive those projects, or,
/// when the files name none Wagon can read, the wheels no other wheel needs.
fn root_packages(
    request: &CreateRequest,
    identity: &Identity,
    extras: &[String],
) -> Result<Vec<String>, CreateError> {
    let mut roots = Vec::new();
    if request.source.is_some() {
        roots.push(if extras.is_empty() {
            identity.name.clone()
        } else {
            format!("{}[{}]", identity.name, extras.join(","))
        });
    }
    for file in &request.requirement_files {
        let requirements =
            crate::requirements_file::read_with(file, crate::requirements_file::PipOptions::Skip)?;
        roots.extend(requirements.iter().map(ToString::to_string));
    }
    if roots.is_empty() {
        roots.clone_from(&identity.roots);
    }
    Ok(roots)
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
    check_output_dir(&request.output_dir)?;
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

/// The archive can be written into `dir` (or the folder that will be made there): its nearest
/// existing ancestor is a folder that takes a new file. Made nowhere yet, so a failed build
/// leaves nothing behind.
fn check_output_dir(dir: &Path) -> Result<(), CreateError> {
    let unwritable = |reason: String| CreateError::OutputUnwritable {
        dir: dir.to_path_buf(),
        reason,
    };
    let mut existing = dir;
    while std::fs::symlink_metadata(existing).is_err() {
        match existing.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => existing = parent,
            _ => return Ok(()),
        }
    }
    if !existing.is_dir() {
        return Err(unwritable(format!(
            "{} is not a folder",
            existing.display()
        )));
    }
    tempfile::Builder::new()
        .prefix(".wagon-write-check-")
        .tempfile_in(existing)
        .map(drop)
        .map_err(|err| unwritable(format!("{} takes no new file ({err})", existing.display())))
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

/// Copies the wheelhouse's wheels into `keep` (`--keep-wheels`).
fn keep_wheels(wheels: &[PathBuf], keep: &Path) -> Result<(), CreateError> {
    make_dir(keep)?;
    for wheel in wheels {
        if let Some(name) = wheel.file_name() {
            std::fs::copy(wheel, keep.join(name)).map_err(io_error("copy a wheel to", keep))?;
        }
    }
    Ok(())
}

/// A project in the user's tree as a copy in the run's scratch `work` folder: builds write into
/// the project (setuptools' `build/` and `*.egg-info`), and the user's tree is left as it was,
/// as pip did before 21.3.
fn own_copy(
    fetched: Option<Fetched>,
    work: &Path,
    progress: &dyn Progress,
) -> Result<Option<Fetched>, CreateError> {
    match fetched {
        Some(Fetched::Project(dir)) if !dir.starts_with(work) => {
            progress.stage(&format!("copying {}", dir.display()));
            let name = dir
                .file_name()
                .map_or_else(|| "project".into(), std::ffi::OsStr::to_os_string);
            let copy = work.join("project").join(name);
            copy_tree(&dir, &copy)?;
            Ok(Some(Fetched::Project(copy)))
        }
        other => Ok(other),
    }
}

/// Copies the project tree `from` to `to`: folders, files and symbolic links as they are, but
/// not tox's and nox's environments (as pip left them out when it copied a tree).
fn copy_tree(from: &Path, to: &Path) -> Result<(), CreateError> {
    make_dir(to)?;
    let entries = std::fs::read_dir(from).map_err(io_error("read", from))?;
    for entry in entries {
        let entry = entry.map_err(io_error("read", from))?;
        let (source, name) = (entry.path(), entry.file_name());
        if name == ".tox" || name == ".nox" {
            continue;
        }
        let destination = to.join(&name);
        let kind = entry.file_type().map_err(io_error("read", &source))?;
        if kind.is_dir() {
            copy_tree(&source, &destination)?;
        } else if kind.is_symlink() {
            copy_link(&source, &destination)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &destination).map_err(io_error("copy", &source))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn copy_link(source: &Path, destination: &Path) -> Result<(), CreateError> {
    let target = std::fs::read_link(source).map_err(io_error("read", source))?;
    std::os::unix::fs::symlink(target, destination).map_err(io_error("create", destination))
}

/// Elsewhere a link is copied as what it points to, when that is a file.
#[cfg(not(unix))]
fn copy_link(source: &Path, destination: &Path) -> Result<(), CreateError> {
    if source.is_file() {
        std::fs::copy(source, destination).map_err(io_error("copy", source))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(tags: &[&str]) -> Vec<TargetSpec> {
        tags.iter()
            .map(|t| TargetSpec::parse(t, None).unwrap())
            .collect()
    }

    /// A review found two Linux targets a glibc version apart sharing one lock's markers: the
    /// lock installed on neither. Such a pair is refused before any work.
    #[test]
    fn targets_one_lock_cannot_tell_apart_are_refused() {
        let host = crate::interpreter::tests::linux();
        for pair in [
            ["cp312-manylinux_2_17_x86_64", "cp312-manylinux_2_28_x86_64"],
            ["cp312-manylinux_2_28_x86_64", "cp312-musllinux_1_2_x86_64"],
            ["cp312-macosx_11_0_arm64", "cp312-macosx_14_0_arm64"],
        ] {
            let Err(err) = build_targets(&specs(&pair), &host) else {
                panic!("{pair:?} accepted")
            };
            let message = err.to_string();
            assert!(
                message.contains(pair[0]) && message.contains(pair[1]),
                "{message}"
            );
        }
        let (targets, host) = build_targets(
            &specs(&["cp310-win_amd64", "cp312-manylinux_2_28_x86_64", "host"]),
            &host,
        )
        .unwrap();
        assert_eq!(targets.len(), 3);
        assert!(targets[2].host && host.host);
        assert_eq!(targets[2].tag, host.tag);
    }
}
