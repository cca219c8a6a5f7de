//! A [`PackageSource`] held in memory: for tests, and for callers that already have every
//! version and its metadata at hand.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use wagon_core::python::{PackageName, Version};

use crate::source::{Candidate, CandidateMetadata, PackageSource, SourceError};

/// Projects, versions, files and metadata in a table; counts the metadata it hands out.
#[derive(Debug, Default)]
pub struct MemorySource {
    projects: BTreeMap<PackageName, BTreeMap<Version, (Candidate, CandidateMetadata)>>,
    metadata_reads: AtomicUsize,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one version.
    pub fn add(&mut self, candidate: Candidate, metadata: CandidateMetadata) -> &mut Self {
        self.projects
            .entry(candidate.name.clone())
            .or_default()
            .insert(candidate.version.clone(), (candidate, metadata));
        self
    }

    /// How many times [`PackageSource::metadata`] was answered.
    pub fn metadata_reads(&self) -> usize {
        self.metadata_reads.load(Ordering::Relaxed)
    }
}

impl PackageSource for MemorySource {
    fn candidates(&self, name: &PackageName) -> Result<Vec<Candidate>, SourceError> {
        Ok(self
            .projects
            .get(name)
            .map(|versions| versions.values().map(|(c, _)| c.clone()).collect())
            .unwrap_or_default())
    }

    fn metadata(&self, candidate: &Candidate) -> Result<CandidateMetadata, SourceError> {
        self.metadata_reads.fetch_add(1, Ordering::Relaxed);
        self.projects
            .get(&candidate.name)
            .and_then(|versions| versions.get(&candidate.version))
            .map(|(_, metadata)| metadata.clone())
            .ok_or_else(|| {
                SourceError::new(format!(
                    "no metadata for {} {}",
                    candidate.name, candidate.version
                ))
            })
    }
}
