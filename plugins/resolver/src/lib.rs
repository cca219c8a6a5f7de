//! Wagon's own resolver: the closure of some requirements for one target environment (its tags,
//! markers and Python), by PubGrub over a [`PackageSource`], without pip or an interpreter of
//! that kind.
//!
//! The rules, per environment:
//! - a version serves if a file of it does: a wheel whose tags fit (best tag priority chosen),
//!   else an sdist (recorded as needing a build); the file's `Requires-Python`, and the
//!   version's metadata `Requires-Python`, must contain the environment's Python;
//! - a requirement applies if its markers hold for the environment, with the requesting
//!   project's extras; an extra is a virtual package `name[extra]` pinned to `name`'s version;
//! - yanked files serve only a version some requirement pins with `==` (PEP 592);
//! - pre-releases only for a project some requirement names a pre-release for (`>=2.0b1`),
//!   with [`ResolveOptions::allow_prereleases`], or when no final release in the allowed range
//!   serves (PEP 440);
//! - the highest serving version is tried first; the output is in name order.

mod error;
mod files;
pub mod memory;
mod package;
mod prefetch;
mod provider;
mod report;
mod resolution;
mod slots;
mod source;

use std::sync::Arc;

use pubgrub::PubGrubError;
use wagon_core::environment::Environment;
use wagon_core::python::{PackageName, Requirement, Version};

pub use error::ResolveError;
pub use memory::MemorySource;
pub use resolution::{Requester, RequiredBy, Resolution, ResolvedPackage};
pub use source::{Candidate, CandidateMetadata, DistFile, DistKind, PackageSource, SourceError};

use prefetch::Prefetch;
use provider::{Provider, ProviderError};
use slots::Slots;

/// Choices that are the user's, not the index's.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Pre-releases of every project may be chosen (pip's `--pre`).
    pub allow_prereleases: bool,
}

/// Worker threads asking the source ahead of the resolver, unless told otherwise.
const DEFAULT_PREFETCH_WORKERS: usize = 8;

/// Resolves for several environments over one source, asking it for each project's versions
/// once and for each version's metadata once, whichever environments need them.
///
/// While PubGrub decides one package at a time, worker threads ask the source ahead: the
/// versions of every project just named as a dependency, the metadata of the version each is
/// likely to resolve to, and so on down the tree. Their answers only fill the shared cache,
/// and the resolver waits for every answer it reads, so the resolution does not depend on
/// what was fetched ahead or when.
pub struct Resolver<'s> {
    cache: Cache<'s>,
    prefetch_workers: usize,
}

impl<'s> Resolver<'s> {
    pub fn new(source: &'s dyn PackageSource) -> Self {
        Self {
            cache: Cache {
                source,
                candidates: Slots::default(),
                metadata: Slots::default(),
            },
            prefetch_workers: DEFAULT_PREFETCH_WORKERS,
        }
    }

    /// At most `workers` threads asking the source ahead of the resolver (0: none, every
    /// question asked when PubGrub reaches it).
    #[must_use]
    pub fn with_prefetch_workers(mut self, workers: usize) -> Self {
        self.prefetch_workers = workers;
        self
    }

    /// The closure of `roots` for `env`.
    pub fn resolve(
        &self,
        roots: &[Requirement],
        env: &Environment,
        options: &ResolveOptions,
    ) -> Result<Resolution, ResolveError> {
        let prefetch = Prefetch::new(&self.cache, env);
        std::thread::scope(|scope| {
            // Stops the workers however this scope ends (a panic included): questions still
            // queued are not asked, those under way finish before the scope does.
            let _stop = prefetch.stop_on_drop();
            for _ in 0..self.prefetch_workers {
                scope.spawn(|| prefetch.work());
            }
            let provider = Provider::new(&self.cache, env, options, roots)
                .with_prefetch((self.prefetch_workers > 0).then_some(&prefetch));
            let outcome =
                pubgrub::resolve(&provider, package::Pkg::root(), Provider::root_version());
            finish(outcome, &provider, env, roots)
        })
    }
}

/// PubGrub's answer in the resolver's terms.
fn finish(
    outcome: Result<
        pubgrub::SelectedDependencies<package::Pkg, Version>,
        PubGrubError<Provider<'_>>,
    >,
    provider: &Provider<'_>,
    env: &Environment,
    roots: &[Requirement],
) -> Result<Resolution, ResolveError> {
    {
        let environment = || env.description.clone();
        match outcome {
            Ok(selected) => {
                let resolution = resolution::build(&selected, provider, roots)?;
                tracing::debug!(
                    environment = %env.description,
                    projects = resolution.packages.len(),
                    "resolved"
                );
                Ok(resolution)
            }
            Err(PubGrubError::NoSolution(tree)) => Err(report::no_solution(&tree, provider)),
            Err(
                PubGrubError::ErrorRetrievingDependencies { source, .. }
                | PubGrubError::ErrorChoosingVersion { source, .. }
                | PubGrubError::ErrorInShouldCancel(source),
            ) => Err(match source {
                ProviderError::Candidates { project, source } => ResolveError::Candidates {
                    environment: environment(),
                    project,
                    source,
                },
                ProviderError::Metadata {
                    project,
                    version,
                    source,
                } => ResolveError::Metadata {
                    environment: environment(),
                    project,
                    version,
                    source,
                },
                ProviderError::Url { requirement } => ResolveError::Url {
                    environment: environment(),
                    requirement,
                },
            }),
        }
    }
}

/// The closure of `roots` for `env`, over `source` (one environment; for several, share a
/// [`Resolver`]).
pub fn resolve(
    source: &dyn PackageSource,
    roots: &[Requirement],
    env: &Environment,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    Resolver::new(source).resolve(roots, env, options)
}

/// What the source said, kept for every environment: versions newest first, and metadata. The
/// prefetching workers fill it too; each answer is asked of the source once whoever asks.
pub(crate) struct Cache<'s> {
    source: &'s dyn PackageSource,
    candidates: Slots<PackageName, Arc<[Candidate]>>,
    metadata: Slots<(PackageName, Version), Arc<CandidateMetadata>>,
}

impl Cache<'_> {
    /// A project's versions, newest first, asked of the source once. Entries for one version
    /// are merged into one, so a source listing files one by one still works.
    pub(crate) fn candidates(&self, name: &PackageName) -> Result<Arc<[Candidate]>, SourceError> {
        self.candidates.get_or_ask(name, || {
            let mut listed = self.source.candidates(name)?;
            listed.sort_by(|a, b| b.version.cmp(&a.version));
            let mut merged: Vec<Candidate> = Vec::with_capacity(listed.len());
            for candidate in listed {
                match merged.last_mut() {
                    Some(last) if last.version == candidate.version => {
                        last.files.extend(candidate.files);
                    }
                    _ => merged.push(candidate),
                }
            }
            tracing::debug!(project = %name, versions = merged.len(), "listed");
            Ok(merged.into())
        })
    }

    /// A project's versions if already listed.
    pub(crate) fn cached_candidates(&self, name: &PackageName) -> Option<Arc<[Candidate]>> {
        self.candidates.known(name)
    }

    /// One version's metadata, asked of the source once.
    pub(crate) fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Arc<CandidateMetadata>, SourceError> {
        let key = (name.clone(), version.clone());
        self.metadata.get_or_ask(&key, || {
            let candidates = self.candidates(name)?;
            let candidate = candidates
                .iter()
                .find(|c| &c.version == version)
                .ok_or_else(|| SourceError::new(format!("{name} {version} is not listed")))?;
            tracing::debug!(project = %name, %version, "reading metadata");
            Ok(Arc::new(self.source.metadata(candidate)?))
        })
    }
}

#[cfg(test)]
mod tests;
