//! The input seam: what the resolver asks of a package index (the versions of a project with
//! their files, and one version's dependencies), as a small synchronous trait.

use wagon_core::python::{
    PackageName, PythonSyntaxError, Requirement, Version, VersionSpecifiers, WheelFilename,
    parse_wheel_filename,
};

/// Where projects come from: an index client, a folder of wheels, or a test's table.
///
/// The resolver calls [`PackageSource::candidates`] once per project and
/// [`PackageSource::metadata`] once per (project, version) it needs, caching both across the
/// environments it resolves for. `Sync`, so metadata of several candidates may later be fetched
/// from several threads at once.
pub trait PackageSource: Sync {
    /// Every version of `name` the source knows, with its files, in any order. A project the
    /// source does not know is `Ok(vec![])`; `Err` is for a source that could not answer.
    fn candidates(&self, name: &PackageName) -> Result<Vec<Candidate>, SourceError>;

    /// The dependencies of one version (from any of its files: a PEP 658 `.metadata` file, a
    /// wheel's `METADATA`, ...). Called only for versions the resolver is about to use.
    fn metadata(&self, candidate: &Candidate) -> Result<CandidateMetadata, SourceError>;
}

/// One version of a project and the files it can be installed from.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: PackageName,
    pub version: Version,
    pub files: Vec<DistFile>,
}

/// One distribution file of a version, as the index lists it.
#[derive(Debug, Clone)]
pub struct DistFile {
    /// The file name (`pkg-1.0-py3-none-any.whl`, `pkg-1.0.tar.gz`).
    pub filename: String,
    pub kind: DistKind,
    /// Opaque to the resolver: what the source needs to fetch this file (usually its URL).
    pub id: String,
    /// The index's sha256 of the file, hex, when it gave one.
    pub sha256: Option<String>,
    /// The file's `Requires-Python` (PEP 691 `requires-python`), when the index gave one.
    pub requires_python: Option<VersionSpecifiers>,
    /// PEP 592: `Some(reason)` (possibly empty) when the file is yanked.
    pub yanked: Option<String>,
}

/// A built wheel (which fits some tags) or a source distribution (which must be built).
#[derive(Debug, Clone)]
pub enum DistKind {
    Wheel(WheelFilename),
    Sdist,
}

impl DistFile {
    /// A wheel file; its name is parsed for its tags.
    pub fn wheel(filename: &str, id: impl Into<String>) -> Result<Self, PythonSyntaxError> {
        let parsed = parse_wheel_filename(filename)?;
        Ok(Self::new(filename, DistKind::Wheel(parsed), id.into()))
    }

    /// A source distribution (`.tar.gz`, `.zip`).
    pub fn sdist(filename: &str, id: impl Into<String>) -> Self {
        Self::new(filename, DistKind::Sdist, id.into())
    }

    fn new(filename: &str, kind: DistKind, id: String) -> Self {
        Self {
            filename: filename.to_string(),
            kind,
            id,
            sha256: None,
            requires_python: None,
            yanked: None,
        }
    }

    /// The same file with a `Requires-Python`.
    #[must_use]
    pub fn with_requires_python(mut self, specifiers: VersionSpecifiers) -> Self {
        self.requires_python = Some(specifiers);
        self
    }

    /// The same file, yanked for `reason`.
    #[must_use]
    pub fn yanked(mut self, reason: impl Into<String>) -> Self {
        self.yanked = Some(reason.into());
        self
    }

    /// Whether this file is a source distribution, which must be built before installing.
    pub fn is_sdist(&self) -> bool {
        matches!(self.kind, DistKind::Sdist)
    }
}

/// What the resolver reads of a version's core metadata.
#[derive(Debug, Clone, Default)]
pub struct CandidateMetadata {
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
}

/// A source that could not answer (network, a malformed page, ...), in its own words.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}
