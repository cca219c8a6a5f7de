//! PubGrub's questions answered for one environment: which version of a package to try next
//! (highest usable, pre-releases and yanked files by PEP 440 and PEP 592), what it depends on
//! there (markers evaluated for the environment), and in which order to decide packages.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use pubgrub::{Dependencies, DependencyProvider, PackageResolutionStatistics, Ranges};
use wagon_core::environment::Environment;
use wagon_core::python::{
    ExtraName, Operator, PackageName, Requirement, Version, VersionOrUrl, VersionSpecifier,
    requirement_applies,
};

use crate::files::{Unusable, best_file, python_fits};
use crate::package::{Pkg, PkgKind};
use crate::prefetch::Prefetch;
use crate::source::{Candidate, SourceError};
use crate::{Cache, ResolveOptions};

/// Why PubGrub had to stop: the source failed, or a requirement is not one an index can serve.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProviderError {
    #[error("cannot list the versions of {project}")]
    Candidates {
        project: PackageName,
        #[source]
        source: SourceError,
    },
    #[error("cannot read the metadata of {project} {version}")]
    Metadata {
        project: PackageName,
        version: Version,
        #[source]
        source: SourceError,
    },
    #[error("`{requirement}` names a URL; the resolver takes only requirements an index serves")]
    Url { requirement: String },
}

/// One environment's resolution state over the shared [`Cache`].
pub(crate) struct Provider<'r> {
    pub(crate) cache: &'r Cache<'r>,
    pub(crate) env: &'r Environment,
    options: &'r ResolveOptions,
    roots: &'r [Requirement],
    /// Projects some requirement names a pre-release for (`>=2.0b1`): PEP 440 lets those in.
    explicit_prereleases: RefCell<HashSet<PackageName>>,
    /// `==` specifiers seen per project: a yanked file serves a version one of them pins.
    pins: RefCell<HashMap<PackageName, Vec<VersionSpecifier>>>,
    /// Versions passed over, and why: what an error says about a project with nothing usable.
    pub(crate) unusable: RefCell<HashMap<PackageName, BTreeMap<Version, Unusable>>>,
    /// Workers to hand dependencies to as soon as they are known, if any.
    prefetch: Option<&'r Prefetch<'r>>,
}

impl<'r> Provider<'r> {
    pub(crate) fn new(
        cache: &'r Cache<'r>,
        env: &'r Environment,
        options: &'r ResolveOptions,
        roots: &'r [Requirement],
    ) -> Self {
        Self {
            cache,
            env,
            options,
            roots,
            explicit_prereleases: RefCell::default(),
            pins: RefCell::default(),
            unusable: RefCell::default(),
            prefetch: None,
        }
    }

    /// Hands every dependency to `prefetch`'s workers as soon as it is known.
    pub(crate) fn with_prefetch(mut self, prefetch: Option<&'r Prefetch<'r>>) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Lets the workers fetch what `requirements` name while this thread goes on.
    fn ask_ahead<'q>(&self, requirements: impl IntoIterator<Item = &'q Requirement>) {
        if let Some(prefetch) = self.prefetch {
            prefetch.ask_ahead(requirements);
        }
    }

    /// The root's one version (PubGrub needs one).
    pub(crate) fn root_version() -> Version {
        Version::new([0])
    }

    /// Whether a requirement seen so far pins exactly `version` of `name`.
    pub(crate) fn is_pinned(&self, name: &PackageName, version: &Version) -> bool {
        self.pins
            .borrow()
            .get(name)
            .is_some_and(|pins| pins.iter().any(|pin| pin.contains(version)))
    }

    fn candidates(&self, name: &PackageName) -> Result<Arc<[Candidate]>, ProviderError> {
        self.cache
            .candidates(name)
            .map_err(|source| ProviderError::Candidates {
                project: name.clone(),
                source,
            })
    }

    /// The highest version in `range` with a file serving the environment. Pre-releases only
    /// when allowed for the project or when no final release in `range` is usable.
    fn choose(
        &self,
        name: &PackageName,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, ProviderError> {
        let candidates = self.candidates(name)?;
        let prereleases_allowed =
            self.options.allow_prereleases || self.explicit_prereleases.borrow().contains(name);
        let mut fallback_prerelease = None;
        for candidate in candidates.iter().filter(|c| range.contains(&c.version)) {
            let pinned = self.is_pinned(name, &candidate.version);
            match best_file(candidate, self.env, pinned) {
                Ok(_) if candidate.version.any_prerelease() && !prereleases_allowed => {
                    fallback_prerelease.get_or_insert_with(|| candidate.version.clone());
                }
                Ok(_) => return Ok(Some(candidate.version.clone())),
                Err(why) => {
                    self.unusable
                        .borrow_mut()
                        .entry(name.clone())
                        .or_default()
                        .insert(candidate.version.clone(), why);
                }
            }
        }
        Ok(fallback_prerelease)
    }

    /// Adds what `req` asks for to `deps`, intersecting with what is there; `own` is the
    /// project asking (its own name is not a dependency of itself, its extras are).
    fn add_requirement(
        &self,
        req: &Requirement,
        own: Option<&PackageName>,
        deps: &mut BTreeMap<Pkg, Ranges<Version>>,
    ) -> Result<(), ProviderError> {
        let range = match &req.version_or_url {
            None => Ranges::full(),
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                if specifiers.iter().any(VersionSpecifier::any_prerelease) {
                    self.explicit_prereleases
                        .borrow_mut()
                        .insert(req.name.clone());
                }
                let pins = specifiers
                    .iter()
                    .filter(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual));
                let mut known = self.pins.borrow_mut();
                let known = known.entry(req.name.clone()).or_default();
                for pin in pins {
                    if !known.contains(pin) {
                        known.push(pin.clone());
                    }
                }
                Ranges::from(specifiers.clone())
            }
            Some(VersionOrUrl::Url(_)) => {
                return Err(ProviderError::Url {
                    requirement: req.to_string(),
                });
            }
        };
        let mut targets = Vec::with_capacity(req.extras.len() + 1);
        if own != Some(&req.name) {
            targets.push(Pkg::project(req.name.clone()));
        }
        targets.extend(
            req.extras
                .iter()
                .map(|extra| Pkg::extra(req.name.clone(), extra.clone())),
        );
        for target in targets {
            // Listing the project now lets `prioritize` count its versions.
            self.candidates(&req.name)?;
            deps.entry(target)
                .and_modify(|known| *known = known.intersection(&range))
                .or_insert_with(|| range.clone());
        }
        Ok(())
    }

    /// The requirements of `name` at `version` that apply in the environment with `extras`.
    fn dependencies_of(
        &self,
        name: &PackageName,
        version: &Version,
        extra: Option<&ExtraName>,
    ) -> Result<Dependencies<Pkg, Ranges<Version>, Unusable>, ProviderError> {
        let metadata =
            self.cache
                .metadata(name, version)
                .map_err(|source| ProviderError::Metadata {
                    project: name.clone(),
                    version: version.clone(),
                    source,
                })?;
        if let Some(spec) = &metadata.requires_python
            && !python_fits(spec, self.env)
        {
            let why = Unusable::RequiresPython(spec.to_string());
            self.unusable
                .borrow_mut()
                .entry(name.clone())
                .or_default()
                .insert(version.clone(), why.clone());
            return Ok(Dependencies::Unavailable(why));
        }
        let mut deps = BTreeMap::new();
        let extras: Vec<ExtraName> = extra.into_iter().cloned().collect();
        if extra.is_some() {
            deps.insert(
                Pkg::project(name.clone()),
                Ranges::singleton(version.clone()),
            );
        }
        // An extra adds only what the bare project does not already require.
        let applying: Vec<&Requirement> = metadata
            .requires_dist
            .iter()
            .filter(|req| {
                requirement_applies(req, &self.env.markers, &extras)
                    && !(extra.is_some() && requirement_applies(req, &self.env.markers, &[]))
            })
            .collect();
        // The pages are fetched side by side; `add_requirement` then waits for each in turn.
        self.ask_ahead(applying.iter().copied());
        for req in applying {
            self.add_requirement(req, Some(name), &mut deps)?;
        }
        Ok(Dependencies::Available(deps.into_iter().collect()))
    }
}

impl DependencyProvider for Provider<'_> {
    type P = Pkg;
    type V = Version;
    type VS = Ranges<Version>;
    type M = Unusable;
    type Err = ProviderError;
    /// PubGrub decides the highest first: a project with nothing left (fails at once), then
    /// the ones most in conflicts so far, then fewer versions left to try (pins before ranges).
    type Priority = (u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Pkg,
        range: &Ranges<Version>,
        statistics: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Some(name) = package.name() else {
            return (u32::MAX, Reverse(0));
        };
        let count = self.cache.cached_candidates(name).map_or(0, |candidates| {
            candidates
                .iter()
                .filter(|c| range.contains(&c.version))
                .count()
        });
        if count == 0 {
            return (u32::MAX, Reverse(0));
        }
        (statistics.conflict_count(), Reverse(count))
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, ProviderError> {
        match package.name() {
            None => Ok(Some(Self::root_version()).filter(|v| range.contains(v))),
            Some(name) => self.choose(name, range),
        }
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Ranges<Version>, Unusable>, ProviderError> {
        match package.kind() {
            PkgKind::Root => {
                let mut deps = BTreeMap::new();
                let applying: Vec<&Requirement> = self
                    .roots
                    .iter()
                    .filter(|req| requirement_applies(req, &self.env.markers, &[]))
                    .collect();
                self.ask_ahead(applying.iter().copied());
                for req in applying {
                    self.add_requirement(req, None, &mut deps)?;
                }
                Ok(Dependencies::Available(deps.into_iter().collect()))
            }
            PkgKind::Project(name) => self.dependencies_of(name, version, None),
            PkgKind::Extra(name, extra) => self.dependencies_of(name, version, Some(extra)),
        }
    }
}
