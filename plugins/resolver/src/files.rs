//! Which file of a version serves an environment: a wheel whose tags fit (the best tag priority
//! wins), else an sdist to build; a file whose `Requires-Python` excludes the environment's
//! Python, or that is yanked and not pinned, serves nothing.

use std::fmt;

use wagon_core::environment::Environment;
use wagon_core::python::{TagCompatibility, VersionSpecifiers};

use crate::source::{Candidate, DistFile, DistKind};

/// Why no file of a version serves an environment, for the furthest any file got: a wheel that
/// fits but needs another Python says more than the wheels for other platforms beside it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Unusable {
    /// No wheel fits the environment's tags, and there is no sdist (or the version has no files).
    NoFittingFile,
    /// The files that would fit need another Python (the specifier as written).
    RequiresPython(String),
    /// The files that would serve are yanked (the reason, possibly empty) and nothing pins them.
    Yanked(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFittingFile => f.write_str("no wheel fits and there is no sdist"),
            Self::RequiresPython(spec) => write!(f, "it requires Python {spec}"),
            Self::Yanked(reason) if reason.trim().is_empty() => {
                f.write_str("it is yanked (pin it with `==` to use it anyway)")
            }
            Self::Yanked(reason) => write!(
                f,
                "it is yanked: \"{}\" (pin it with `==` to use it anyway)",
                reason.trim()
            ),
        }
    }
}

/// Whether `env`'s Python is in `specifiers`. Only the release part counts, as pip checks
/// `sys.version_info[:3]`: a 3.13.0rc1 interpreter satisfies `>=3.13`.
pub(crate) fn python_fits(specifiers: &VersionSpecifiers, env: &Environment) -> bool {
    specifiers.contains(&env.python_full_version.only_release())
}

/// The file of `candidate` that serves `env` (`pinned`: a requirement pins this very version,
/// which lets a yanked file serve): the wheel with the best tag priority, else an sdist; ties
/// go to the smaller file name, so the choice never depends on the index's order.
pub(crate) fn best_file<'c>(
    candidate: &'c Candidate,
    env: &Environment,
    pinned: bool,
) -> Result<&'c DistFile, Unusable> {
    let mut furthest = Unusable::NoFittingFile;
    let mut best_wheel: Option<(TagCompatibility, &DistFile)> = None;
    let mut best_sdist: Option<&DistFile> = None;
    for file in &candidate.files {
        let compatibility = match &file.kind {
            DistKind::Wheel(wheel) => {
                let compatibility = wheel.compatibility(&env.tags);
                if !compatibility.is_compatible() {
                    continue;
                }
                Some(compatibility)
            }
            DistKind::Sdist => None,
        };
        if let Some(spec) = &file.requires_python
            && !python_fits(spec, env)
        {
            furthest = furthest.max(Unusable::RequiresPython(spec.to_string()));
            continue;
        }
        if let Some(reason) = &file.yanked
            && !pinned
        {
            furthest = furthest.max(Unusable::Yanked(reason.clone()));
            continue;
        }
        match compatibility {
            Some(compatibility) => {
                let better = best_wheel.as_ref().is_none_or(|(best, chosen)| {
                    compatibility > *best
                        || (compatibility == *best && file.filename < chosen.filename)
                });
                if better {
                    best_wheel = Some((compatibility, file));
                }
            }
            None => {
                if best_sdist.is_none_or(|chosen| file.filename < chosen.filename) {
                    best_sdist = Some(file);
                }
            }
        }
    }
    best_wheel
        .map(|(_, file)| file)
        .or(best_sdist)
        .ok_or(furthest)
}
