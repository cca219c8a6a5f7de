//! Wagon's own builder: the package's closure, for every target, from Wagon's resolver
//! (`wagon-resolver`) over Wagon's index client (`wagon-index`) — markers evaluated for each
//! target, never for the machine that builds — with the chosen wheels downloaded in parallel,
//! verified and cached. Only what has no wheel is built, on this machine through its PEP 517
//! backend (`pip wheel --no-deps`): the package's own project, and source-only dependencies. A
//! pure result serves every target; a platform-specific one only the targets it fits.

mod requirements;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wagon_build_pip::{Pip, build_one};
use wagon_core::plugin::{BuildError, BuildOutput, BuildRequest, BuildTarget, Builder, Fetched};
use wagon_core::python::{self, Requirement};
use wagon_core::wheel::WheelInfo;
use wagon_index::{Cache, ExplicitSettings, Index, IndexFile, IndexSettings, PipSources};
use wagon_resolver::{ResolveOptions, Resolver};

use source::WagonSource;

/// Resolves and fetches with Wagon's own resolver and index client.
#[derive(Debug, Default, Clone, Copy)]
pub struct WagonBuilder;

const NAME: &str = "wagon";

impl Builder for WagonBuilder {
    fn name(&self) -> &str {
        NAME
    }

    fn build(&self, request: &BuildRequest<'_>) -> Result<BuildOutput, BuildError> {
        let pip = Pip::of(request);
        let index = open_index(request)?;
        let (local, mut roots) = package(request, &pip)?;
        for file in request.requirement_files {
            roots.extend(requirements::read(file).map_err(failure)?);
        }
        let source = WagonSource::new(&index, &local, pip, &request.work_dir.join("sdists"));
        let resolver = Resolver::new(&source);
        let targets: Vec<&BuildTarget> = if request.targets.is_empty() {
            vec![request.host]
        } else {
            request.targets.iter().collect()
        };
        let mut placed: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut downloads: BTreeMap<String, IndexFile> = BTreeMap::new();
        let mut closures = Vec::with_capacity(targets.len());
        for target in &targets {
            let resolution = resolver
                .resolve(&roots, &target.env, &ResolveOptions::default())
                .map_err(|err| failure(chain(&err)))?;
            let mut closure = Vec::with_capacity(resolution.packages.len());
            for package in &resolution.packages {
                let file = &package.file;
                if file.is_sdist() {
                    let built = source
                        .build_sdist(file)
                        .map_err(|err| failure(chain(&err)))?;
                    if !built.filename.is_compatible(&target.env.tags) {
                        return Err(failure(format!(
                            "{} {} has no wheel for {} on the index, only an sdist, and built \
                             here it gives {}, which does not fit {}. Build or download a wheel \
                             for that platform and pass its folder with --find-links",
                            package.name, package.version, target.tag, built.file_name, target.tag
                        )));
                    }
                    placed.insert(built.file_name.clone(), built.path.clone());
                    closure.push(built.file_name);
                } else if let Some(path) = source.local_wheel(file) {
                    placed.insert(file.filename.clone(), path);
                    closure.push(file.filename.clone());
                } else {
                    let listed = source.index_file(&file.id).ok_or_else(|| {
                        failure(format!("{} was chosen but not listed", file.filename))
                    })?;
                    downloads.insert(file.filename.clone(), listed);
                    closure.push(file.filename.clone());
                }
            }
            closure.sort();
            closures.push(closure);
        }
        let files: Vec<IndexFile> = downloads.into_values().collect();
        let fetched = index.download(&files).map_err(|err| failure(chain(&err)))?;
        for (file, got) in files.iter().zip(fetched) {
            placed.insert(file.raw_filename.clone(), got.path);
        }
        for (name, path) in &placed {
            place(path, &request.wheel_dir.join(name))?;
        }
        let root_wheel = root_wheel(request, &local, &roots, &closures, &placed);
        Ok(BuildOutput {
            root_wheel,
            closures: if request.targets.is_empty() {
                Vec::new()
            } else {
                closures
            },
        })
    }
}

/// The index client for this run: the user's flags over pip's own configuration, and the cache
/// unless `--no-cache`.
fn open_index(request: &BuildRequest<'_>) -> Result<Index, BuildError> {
    let explicit = ExplicitSettings {
        index_url: request.indexes.index_url.clone(),
        extra_index_urls: request.indexes.extra_index_urls.clone(),
        find_links: request.indexes.find_links.clone(),
        ..ExplicitSettings::default()
    };
    let pip = PipSources::from_process();
    let settings = IndexSettings::resolve(&explicit, &pip).map_err(|e| failure(e.to_string()))?;
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    let cache = Cache::from_environment(&vars, request.indexes.no_cache)
        .map_err(|e| failure(e.to_string()))?;
    Index::new(settings, cache).map_err(|e| failure(e.to_string()))
}

/// The package's own wheels (built here from a project, or given) and the root requirements.
fn package(
    request: &BuildRequest<'_>,
    pip: &Pip<'_>,
) -> Result<(Vec<WheelInfo>, Vec<Requirement>), BuildError> {
    let read = |path: &Path| WheelInfo::read(path).map_err(|e| failure(e.to_string()));
    let pinned = |info: &WheelInfo| {
        python::requirement(&format!(
            "{}=={}",
            info.filename.name, info.filename.version
        ))
        .map_err(|e| failure(e.to_string()))
    };
    match request.root {
        None => Ok((Vec::new(), Vec::new())),
        Some(Fetched::Requirement(requirement)) => Ok((
            Vec::new(),
            vec![python::requirement(requirement).map_err(|e| failure(e.to_string()))?],
        )),
        Some(Fetched::Project(dir)) => {
            let wheel = build_one(
                pip,
                &dir.display().to_string(),
                &request.work_dir.join("package"),
            )?;
            let info = read(&wheel)?;
            let root = pinned(&info)?;
            Ok((vec![info], vec![root]))
        }
        Some(Fetched::Wheels(wheels)) => {
            let infos = wheels
                .iter()
                .map(|w| read(w))
                .collect::<Result<Vec<_>, _>>()?;
            let root = match infos.first() {
                Some(first) => vec![pinned(first)?],
                None => Vec::new(),
            };
            Ok((infos, root))
        }
    }
}

/// The package's own wheel in the wheelhouse: the local one, or the file chosen for the root
/// requirement (in the first target's closure).
fn root_wheel(
    request: &BuildRequest<'_>,
    local: &[WheelInfo],
    roots: &[Requirement],
    closures: &[Vec<String>],
    placed: &BTreeMap<String, PathBuf>,
) -> Option<PathBuf> {
    if let Some(own) = local.first() {
        return Some(request.wheel_dir.join(&own.file_name));
    }
    let Some(Fetched::Requirement(_)) = request.root else {
        return None;
    };
    let root = roots.first()?;
    closures
        .first()?
        .iter()
        .filter(|file| placed.contains_key(*file))
        .find(|file| python::parse_wheel_filename(file).is_ok_and(|w| w.name == root.name))
        .map(|file| request.wheel_dir.join(file))
}

/// Puts a wheel into the wheelhouse: a hard link from the cache where the file system allows,
/// else a copy.
fn place(from: &Path, to: &Path) -> Result<(), BuildError> {
    if to.exists() {
        return Ok(());
    }
    if fs_err::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs_err::copy(from, to)
        .map(drop)
        .map_err(|e| failure(e.to_string()))
}

/// An error and its causes, `: `-joined.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn failure(message: impl Into<String>) -> BuildError {
    BuildError {
        builder: NAME.to_string(),
        message: message.into(),
    }
}
