//! The PyPI source plugin: a PEP 508 requirement (`flask`, `flask==3.0.3`, `flask[async]>=3`)
//! that the builder resolves against the configured indexes — PyPI, or the private index that
//! pip's configuration or `--index-url` names.

use wagon_core::plugin::{FetchRequest, Fetched, Source, SourceError};
use wagon_core::python;

/// Requirements resolved by the builder.
#[derive(Debug, Default, Clone, Copy)]
pub struct PypiSource;

const NAME: &str = "pypi";

impl Source for PypiSource {
    fn name(&self) -> &str {
        NAME
    }

    fn claims(&self, spec: &str) -> bool {
        python::requirement(spec)
            .is_ok_and(|r| !matches!(r.version_or_url, Some(python::VersionOrUrl::Url(_))))
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        python::requirement(request.spec)
            .map(|_| Fetched::Requirement(request.spec.trim().to_string()))
            .map_err(|err| SourceError::new(NAME, request.spec, err.to_string()))
    }
}
