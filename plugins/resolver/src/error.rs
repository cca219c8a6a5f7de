//! Why a resolution failed, in words that name the project, who asked for it, and the
//! environment it was resolved for.

use wagon_core::python::{PackageName, Version};

use crate::source::SourceError;

/// A failed resolution for one environment (`environment` is its description, e.g.
/// `cp310-win_amd64`).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No source knows the project.
    #[error("for {environment}: {project} is not on the index{}", needed_by(.required_by))]
    NotFound {
        environment: String,
        project: PackageName,
        required_by: Vec<String>,
    },
    /// Every version that could serve has wheels for other machines only, and no sdist.
    #[error(
        "for {environment}: no wheel of {project} {} fits {environment} and it has no sdist{}",
        list(.versions), needed_by(.required_by)
    )]
    NoFittingFile {
        environment: String,
        project: PackageName,
        versions: Vec<Version>,
        required_by: Vec<String>,
    },
    /// Every version that could serve needs another Python.
    #[error(
        "for {environment}: {project} {} requires Python {requires_python}, and {environment} has Python {python}{}",
        list(.versions), needed_by(.required_by)
    )]
    RequiresPython {
        environment: String,
        project: PackageName,
        versions: Vec<Version>,
        requires_python: String,
        python: Version,
        required_by: Vec<String>,
    },
    /// Every version that could serve is unusable, for reasons that differ (or are yanked).
    #[error("for {environment}: no version of {project} can be used: {reasons}{}", needed_by(.required_by))]
    Unusable {
        environment: String,
        project: PackageName,
        reasons: String,
        required_by: Vec<String>,
    },
    /// Requirements that cannot all hold, explained step by step.
    #[error("for {environment}: the requirements cannot all be met.\n{explanation}")]
    Conflict {
        environment: String,
        explanation: String,
    },
    #[error("for {environment}: cannot list the versions of {project}")]
    Candidates {
        environment: String,
        project: PackageName,
        #[source]
        source: SourceError,
    },
    #[error("for {environment}: cannot read the metadata of {project} {version}")]
    Metadata {
        environment: String,
        project: PackageName,
        version: Version,
        #[source]
        source: SourceError,
    },
    #[error(
        "for {environment}: `{requirement}` names a URL; Wagon's resolver takes only requirements an index serves"
    )]
    Url {
        environment: String,
        requirement: String,
    },
}

/// `1.0, 0.9 and 3 more`: enough versions to recognise, not a wall of them.
fn list(versions: &[Version]) -> String {
    const SHOWN: usize = 4;
    let shown: Vec<String> = versions
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect();
    match versions.len().saturating_sub(SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

fn needed_by(required_by: &[String]) -> String {
    if required_by.is_empty() {
        String::new()
    } else {
        format!(" ({})", required_by.join("; "))
    }
}
