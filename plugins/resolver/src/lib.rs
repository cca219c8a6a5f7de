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
mod provider;
mod report;
mod resolution;
mod source;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use pubgrub::PubGrubError;
use wagon_core::environment::Environment;
use wagon_core::python::{PackageName, Requirement, Version};

pub use error::ResolveError;
pub use memory::MemorySource;
pub use resolution::{Requester, RequiredBy, Resolution, ResolvedPackage};
pub use source::{Candidate, CandidateMetadata, DistFile, DistKind, PackageSource, SourceError};

use provider::{Provider, ProviderError};

/// Choices that are the user's, not the index's.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Pre-releases of every project may be chosen (pip's `--pre`).
    pub allow_prereleases: bool,
}

/// Resolves for several environments over one source, asking it for each project's versions
/// once and for each version's metadata once, whichever environments need them.
pub struct Resolver<'s> {
    cache: Cache<'s>,
}

impl<'s> Resolver<'s> {
    pub fn new(source: &'s dyn PackageSource) -> Self {
        Self {
            cache: Cache {
                source,
                candidates: Mutex::default(),
                metadata: Mutex::default(),
            },
        }
    }

    /// The closure of `roots` for `env`.
    pub fn resolve(
        &self,
        roots: &[Requirement],
        env: &Environment,
        options: &ResolveOptions,
    ) -> Result<Resolution, ResolveError> {
        let provider = Provider::new(&self.cache, env, options, roots);
        let environment = || env.description.clone();
        match pubgrub::resolve(&provider, package::Pkg::root(), Provider::root_version()) {
            Ok(selected) => {
                let resolution = resolution::build(&selected, &provider, roots)?;
                tracing::debug!(
                    environment = %env.description,
                    projects = resolution.packages.len(),
                    "resolved"
                );
                Ok(resolution)
            }
            Err(PubGrubError::NoSolution(tree)) => Err(report::no_solution(&tree, &provider)),
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

/// What the source said, kept for every environment: versions newest first, and metadata.
pub(crate) struct Cache<'s> {
    source: &'s dyn PackageSource,
    candidates: Mutex<HashMap<PackageName, Arc<[Candidate]>>>,
    metadata: Mutex<HashMap<(PackageName, Version), Arc<CandidateMetadata>>>,
}

impl Cache<'_> {
    /// A project's versions, newest first, asked of the source once. Entries for one version
    /// are merged into one, so a source listing files one by one still works.
    pub(crate) fn candidates(&self, name: &PackageName) -> Result<Arc<[Candidate]>, SourceError> {
        if let Some(known) = self.cached_candidates(name) {
            return Ok(known);
        }
        // The lock is not held while the source answers, so other threads may ask meanwhile.
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
        let merged: Arc<[Candidate]> = merged.into();
        self.candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone(), Arc::clone(&merged));
        Ok(merged)
    }

    /// A project's versions if already listed.
    pub(crate) fn cached_candidates(&self, name: &PackageName) -> Option<Arc<[Candidate]>> {
        self.candidates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// One version's metadata, asked of the source once.
    pub(crate) fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Arc<CandidateMetadata>, SourceError> {
        let key = (name.clone(), version.clone());
        if let Some(known) = self
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(Arc::clone(known));
        }
        let candidates = self.candidates(name)?;
        let candidate = candidates
            .iter()
            .find(|c| &c.version == version)
            .ok_or_else(|| SourceError::new(format!("{name} {version} is not listed")))?;
        tracing::debug!(project = %name, %version, "reading metadata");
        let fetched = Arc::new(self.source.metadata(candidate)?);
        self.metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&fetched));
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests;
