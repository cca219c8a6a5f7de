//! Wagon's own builder: the package's closure, for every target, from Wagon's resolver
//! (`wagon-resolver`) over Wagon's index client (`wagon-index`) — markers evaluated for each
//! target, never for the machine that builds — with the chosen wheels downloaded in parallel,
//! verified and cached. Only what has no wheel is built, on this machine through its PEP 517
//! backend (`pip wheel --no-deps`): the package's own project, and source-only dependencies. A
//! pure result serves every target; a platform-specific one only the targets it fits.

mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wagon_build_pip::{Pip, build_one};
use wagon_core::error_chain::error_chain;
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
        // Words after `--` were pip's resolver's; dropping them silently could send a create the
        // user meant to keep offline (`-- --no-index`) to the public index.
        if !request.extra_args.is_empty() {
            return Err(failure(format!(
                "the arguments after `--` ({}) are pip's, and Wagon's resolver does not read \
                 them: use --index-url, --extra-index-url, --find-links or --no-index (or \
                 wagon.toml), or --resolver pip to have pip resolve",
                request
                    .extra_args
                    .iter()
                    .map(|arg| wagon_core::redact::redact_url(arg))
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        let pip = Pip::of(request);
        let offline = matches!(request.root, Some(Fetched::Wheels(given)) if !given.indexes);
        let index = if offline {
            given_wheels_only(request)?
        } else {
            open_index(request)?
        };
        let (local, mut roots) = package(request, &pip)?;
        for file in request.requirement_files {
            roots.extend(
                wagon_core::requirements_file::read(file).map_err(|e| failure(e.to_string()))?,
            );
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
            let started = Instant::now();
            let resolution = resolver
                .resolve(&roots, &target.env, &ResolveOptions::default())
                .map_err(|err| unresolvable(&err, offline))?;
            tracing::info!(
                "resolved {} projects for {} in {:.2} s",
                resolution.packages.len(),
                target.tag,
                started.elapsed().as_secs_f64()
            );
            let mut closure = Vec::with_capacity(resolution.packages.len());
            for package in &resolution.packages {
                let file = &package.file;
                if let Some(path) = source.local_wheel(&package.name, &file.filename) {
                    placed.insert(file.filename.clone(), path);
                    closure.push(file.filename.clone());
                } else if file.is_sdist() {
                    let built = source
                        .build_sdist(file)
                        .map_err(|err| failure(error_chain(&err)))?;
                    // The wheel must be the project and version that was resolved.
                    if built.filename.name != package.name
                        || built.filename.version != package.version
                    {
                        return Err(failure(format!(
                            "building {} gave {}, not {} {}",
                            file.filename, built.file_name, package.name, package.version
                        )));
                    }
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
        placed.extend(fetch_wheels(&index, downloads)?);
        for (name, path) in &placed {
            place(path, &request.wheel_dir.join(name))?;
        }
        let root_wheel = root_wheel(request, &local, &roots, &closures, &placed);
        Ok(BuildOutput {
            root_wheel,
            resolved: true,
            closures: if request.targets.is_empty() {
                Vec::new()
            } else {
                closures
            },
        })
    }
}

/// Downloads the chosen wheels (`file name -> index file`) in parallel, or takes them from the
/// cache; their paths by file name.
fn fetch_wheels(
    index: &Index,
    downloads: BTreeMap<String, IndexFile>,
) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let files: Vec<IndexFile> = downloads.into_values().collect();
    let started = Instant::now();
    let fetched = index
        .download(&files)
        .map_err(|err| failure(error_chain(&err)))?;
    tracing::info!(
        "fetched {} wheels ({} from the cache) in {:.2} s",
        fetched.len(),
        fetched.iter().filter(|f| f.cached).count(),
        started.elapsed().as_secs_f64()
    );
    Ok(files
        .into_iter()
        .zip(fetched)
        .map(|(file, got)| (file.raw_filename, got.path))
        .collect())
}

/// A resolution that failed; when only the source's wheels were asked, saying so (the usual
/// "not on the index" would send the user looking at an index nobody asked).
fn unresolvable(err: &dyn std::error::Error, offline: bool) -> BuildError {
    let mut message = error_chain(err);
    if offline {
        message.push_str(
            ". The source gave the package as wheels to be resolved alone, so no index was \
             asked: the source must add the missing wheels to its result, or allow indexes \
             (`indexes: true`)",
        );
    }
    failure(message)
}

/// An index client that knows no index and no find-links: a source that gave the whole closure
/// as wheels resolves from them alone, and no dependency name is asked of any index.
fn given_wheels_only(request: &BuildRequest<'_>) -> Result<Index, BuildError> {
    let settings = IndexSettings {
        index_urls: Vec::new(),
        find_links: Vec::new(),
        no_index: true,
        ..IndexSettings::default()
    };
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    let cache = Cache::from_environment(&vars, request.indexes.no_cache)
        .map_err(|e| failure(e.to_string()))?;
    Index::new(settings, cache).map_err(|e| failure(e.to_string()))
}

/// The index client for this run: the user's flags over pip's own configuration, and the cache
/// unless `--no-cache`.
fn open_index(request: &BuildRequest<'_>) -> Result<Index, BuildError> {
    let explicit = ExplicitSettings {
        index_url: request.indexes.index_url.clone(),
        extra_index_urls: request.indexes.extra_index_urls.clone(),
        find_links: request.indexes.find_links.clone(),
        no_index: request.indexes.no_index.then_some(true),
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
        Some(Fetched::Wheels(given)) => {
            // The package's wheel first: it is the one `root_wheel` reports.
            let package = read(&given.package)?;
            let root = vec![pinned(&package)?];
            let mut infos = vec![package];
            for wheel in given.paths.iter().filter(|w| **w != given.package) {
                infos.push(read(wheel)?);
            }
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

fn failure(message: impl Into<String>) -> BuildError {
    BuildError {
        builder: NAME.to_string(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use wagon_core::plugin::IndexOptions;
    use wagon_core::targets::TargetSpec;

    use super::*;

    fn wheel(path: &Path) {
        let file = std::fs::File::create(path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("demo-1.0.dist-info/METADATA", opts).unwrap();
        zip.write_all(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n")
            .unwrap();
        zip.start_file("demo-1.0.dist-info/WHEEL", opts).unwrap();
        zip.write_all(b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            .unwrap();
        zip.finish().unwrap();
    }

    /// A review found a link an index lists (`local:PATH`) taken for the package's own wheel: any
    /// readable file was copied into the wheelhouse, unchecked. Local wheels are now found by
    /// project, never by a link.
    #[test]
    fn no_link_an_index_lists_is_taken_for_a_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let links = dir.path().join("links");
        std::fs::create_dir_all(&links).unwrap();
        wheel(&links.join("demo-1.0-py3-none-any.whl"));
        let secret = dir
            .path()
            .join("private/demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl");
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, b"TOP SECRET, not from any index").unwrap();
        let page = links.join("index.html");
        std::fs::write(
            &page,
            format!(
                "<a href=\"demo-1.0-py3-none-any.whl\">a</a><a href=\"local:{}\">b</a>",
                secret.display()
            ),
        )
        .unwrap();
        let TargetSpec::Declared(machine) =
            TargetSpec::parse("cp312-manylinux_2_28_x86_64", None).unwrap()
        else {
            unreachable!()
        };
        let host = BuildTarget {
            tag: machine.tag.clone(),
            env: machine.environment().unwrap(),
            host: true,
        };
        let indexes = IndexOptions {
            find_links: vec![page.display().to_string()],
            no_cache: true,
            no_index: true,
            ..IndexOptions::default()
        };
        let wheel_dir = dir.path().join("wheelhouse");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&wheel_dir).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let root = Fetched::Requirement("demo".to_string());
        let outcome = WagonBuilder.build(&BuildRequest {
            python: Path::new("python3"),
            root: Some(&root),
            requirement_files: &[],
            wheel_dir: &wheel_dir,
            work_dir: &work,
            indexes: &indexes,
            extra_args: &[],
            targets: &[],
            host: &host,
        });
        for entry in std::fs::read_dir(&wheel_dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert_ne!(bytes, b"TOP SECRET, not from any index", "{outcome:?}");
        }
    }
}
