//! PubGrub's derivation tree turned into a [`ResolveError`]: one named project with nothing
//! usable (missing, no fitting file, another Python, yanked) gets its own error; anything else
//! is explained step by step in Python's words (`app 1.0 requires dep>=2`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, Ranges, ReportFormatter,
    Reporter, Term,
};
use wagon_core::python::{PackageName, Version, strip_local_version_sentinels};

use crate::error::ResolveError;
use crate::files::Unusable;
use crate::package::{Pkg, PkgKind};
use crate::provider::Provider;

type Tree = DerivationTree<Pkg, Ranges<Version>, Unusable>;
type Ext = External<Pkg, Ranges<Version>, Unusable>;
type Terms = Map<Pkg, Term<Ranges<Version>>>;

/// The error for a resolution PubGrub proved impossible.
pub(crate) fn no_solution(tree: &Tree, provider: &Provider<'_>) -> ResolveError {
    let environment = provider.env.description.clone();
    let mut externals = Vec::new();
    collect_externals(tree, &mut externals);

    // Projects with nothing usable where the requirements needed them.
    let mut not_found = BTreeSet::new();
    let mut blocked: BTreeMap<PackageName, BTreeMap<Version, Unusable>> = BTreeMap::new();
    for external in &externals {
        match external {
            External::NoVersions(pkg, range) => {
                let Some(name) = pkg.name() else { continue };
                let known = provider.cache.cached_candidates(name);
                if known.as_ref().is_none_or(|c| c.is_empty()) {
                    not_found.insert(name.clone());
                } else if let Some(unusable) = provider.unusable.borrow().get(name) {
                    let in_range = unusable.iter().filter(|(v, _)| range.contains(*v));
                    for (version, why) in in_range {
                        blocked
                            .entry(name.clone())
                            .or_default()
                            .insert(version.clone(), why.clone());
                    }
                }
            }
            External::Custom(pkg, range, why) => {
                let Some(name) = pkg.name() else { continue };
                let known = provider.cache.cached_candidates(name);
                for candidate in known.iter().flat_map(|c| c.iter()) {
                    if range.contains(&candidate.version) {
                        blocked
                            .entry(name.clone())
                            .or_default()
                            .insert(candidate.version.clone(), why.clone());
                    }
                }
            }
            External::NotRoot(..) | External::FromDependencyOf(..) => {}
        }
    }
    let words = Words { provider };
    let culprits: BTreeSet<&PackageName> = not_found.iter().chain(blocked.keys()).collect();
    if let [project] = culprits.into_iter().collect::<Vec<_>>()[..] {
        let required_by = words.required_by(&externals, project);
        let project = project.clone();
        if not_found.contains(&project) {
            return ResolveError::NotFound {
                environment,
                project,
                required_by,
            };
        }
        let reasons = blocked.remove(&project).unwrap_or_default();
        // Newest first, as the versions are usually read.
        let versions: Vec<Version> = reasons.keys().rev().cloned().collect();
        let distinct: BTreeSet<&Unusable> = reasons.values().collect();
        return match distinct.into_iter().collect::<Vec<_>>()[..] {
            [Unusable::NoFittingFile] => ResolveError::NoFittingFile {
                environment,
                project,
                versions,
                required_by,
            },
            [Unusable::RequiresPython(spec)] => ResolveError::RequiresPython {
                python: provider.env.python_full_version.clone(),
                requires_python: spec.clone(),
                environment,
                project,
                versions,
                required_by,
            },
            _ => ResolveError::Unusable {
                environment,
                reasons: reasons
                    .iter()
                    .rev()
                    .map(|(version, why)| format!("{project} {version}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                project,
                required_by,
            },
        };
    }
    let mut tree = tree.clone();
    words.collapse_no_versions(&mut tree);
    ResolveError::Conflict {
        environment,
        explanation: DefaultStringReporter::report_with_formatter(&tree, &words),
    }
}

fn collect_externals<'t>(tree: &'t Tree, out: &mut Vec<&'t Ext>) {
    match tree {
        DerivationTree::External(external) => out.push(external),
        DerivationTree::Derived(derived) => {
            collect_externals(&derived.cause1, out);
            collect_externals(&derived.cause2, out);
        }
    }
}

/// A range as PEP 440 specifiers: `>=1.0, <2`, `==1.0`, `<1 or >=2`; empty for any version.
fn specifiers(range: &Ranges<Version>) -> String {
    let range = strip_local_version_sentinels(range);
    let segments: Vec<String> = range
        .iter()
        .map(|segment| match segment {
            (Bound::Unbounded, Bound::Unbounded) => String::new(),
            (Bound::Included(low), Bound::Included(high)) if low == high => format!("=={low}"),
            (low, high) => {
                let low = match low {
                    Bound::Included(v) => Some(format!(">={v}")),
                    Bound::Excluded(v) => Some(format!(">{v}")),
                    Bound::Unbounded => None,
                };
                let high = match high {
                    Bound::Included(v) => Some(format!("<={v}")),
                    Bound::Excluded(v) => Some(format!("<{v}")),
                    Bound::Unbounded => None,
                };
                low.into_iter().chain(high).collect::<Vec<_>>().join(", ")
            }
        })
        .collect();
    segments.join(" or ")
}

fn single_version(range: &Ranges<Version>) -> Option<&Version> {
    let mut segments = range.iter();
    match (segments.next(), segments.next()) {
        (Some((Bound::Included(low), Bound::Included(high))), None) if low == high => Some(low),
        _ => None,
    }
}

/// PubGrub's explanation steps, with packages, ranges and unusable versions in Python's words.
struct Words<'a> {
    provider: &'a Provider<'a>,
}

impl Words<'_> {
    /// `app 1.0 requires dep>=2`, for each requirement in the tree that asks for `project`.
    fn required_by(&self, externals: &[&Ext], project: &PackageName) -> Vec<String> {
        let phrases: BTreeSet<String> = externals
            .iter()
            .filter_map(|external| match external {
                External::FromDependencyOf(p, p_range, d, d_range)
                    if d.name() == Some(project) && p.name() != Some(project) =>
                {
                    Some(self.depends(p, p_range, d, d_range))
                }
                _ => None,
            })
            .collect();
        phrases.into_iter().collect()
    }

    /// A package and the versions in question, as the subject of a sentence, read against the
    /// versions that exist: `app 1.0` (the one there is in the range), `every version of app`,
    /// `app>=1, <2`.
    fn subject(&self, pkg: &Pkg, range: &Ranges<Version>) -> String {
        let Some(name) = pkg.name() else {
            return "you".to_string();
        };
        let known = self.provider.cache.cached_candidates(name);
        let all: Vec<&Version> = known
            .iter()
            .flat_map(|c| c.iter().map(|c| &c.version))
            .collect();
        let inside: Vec<&Version> = all.iter().copied().filter(|v| range.contains(*v)).collect();
        let stripped = strip_local_version_sentinels(range);
        if let Some(version) = single_version(&stripped) {
            return format!("{pkg} {version}");
        }
        match inside[..] {
            [version] => format!("{pkg} {version}"),
            _ if !inside.is_empty() && inside.len() == all.len() => {
                format!("every version of {pkg}")
            }
            _ => match specifiers(range).as_str() {
                "" => format!("every version of {pkg}"),
                spec => format!("{pkg}{spec}"),
            },
        }
    }

    /// `app 1.0 requires dep>=2`, `you asked for dep<2`.
    fn depends(
        &self,
        p: &Pkg,
        p_range: &Ranges<Version>,
        d: &Pkg,
        d_range: &Ranges<Version>,
    ) -> String {
        let what = format!("{d}{}", specifiers(d_range));
        if matches!(p.kind(), PkgKind::Root) {
            format!("you asked for {what}")
        } else {
            format!("{} requires {what}", self.subject(p, p_range))
        }
    }

    /// Whether a "no version of" step says nothing the sentence beside it does not: the range
    /// holds no version the source listed (a gap between versions), so nothing was passed over.
    fn says_nothing(&self, pkg: &Pkg, range: &Ranges<Version>) -> bool {
        pkg.name().is_some_and(|name| {
            self.provider
                .cache
                .cached_candidates(name)
                .is_some_and(|c| !c.is_empty() && !c.iter().any(|c| range.contains(&c.version)))
        })
    }

    /// PubGrub's `collapse_no_versions`, for the steps that say nothing only: "there is no
    /// version of app<1.0 or >1.0" folds into "app 1.0 requires ...", while "no version of dep
    /// can be used (dep 2.0: it is yanked)" stays.
    fn collapse_no_versions(&self, tree: &mut Tree) {
        let DerivationTree::Derived(derived) = tree else {
            return;
        };
        let gap = |cause: &Tree| match cause {
            DerivationTree::External(External::NoVersions(p, r)) if self.says_nothing(p, r) => {
                Some((p.clone(), r.clone()))
            }
            _ => None,
        };
        let (gap, other) = match (gap(&derived.cause1), gap(&derived.cause2)) {
            (Some(gap), _) => (gap, Arc::make_mut(&mut derived.cause2)),
            (None, Some(gap)) => (gap, Arc::make_mut(&mut derived.cause1)),
            (None, None) => {
                self.collapse_no_versions(Arc::make_mut(&mut derived.cause1));
                self.collapse_no_versions(Arc::make_mut(&mut derived.cause2));
                return;
            }
        };
        self.collapse_no_versions(other);
        let (package, set) = gap;
        if let DerivationTree::External(External::FromDependencyOf(p, p_range, d, d_range)) = other
        {
            let merged = if *p == package {
                External::FromDependencyOf(
                    p.clone(),
                    p_range.union(&set),
                    d.clone(),
                    d_range.clone(),
                )
            } else {
                External::FromDependencyOf(
                    p.clone(),
                    p_range.clone(),
                    d.clone(),
                    d_range.union(&set),
                )
            };
            *tree = DerivationTree::External(merged);
        } else {
            // What the other step derived reads the same without the versions that do not
            // exist, as ranges are read against the versions that do.
            *tree = other.clone();
        }
    }

    fn no_versions(&self, pkg: &Pkg, range: &Ranges<Version>) -> String {
        let Some(name) = pkg.name() else {
            return "the requirements cannot be met".to_string();
        };
        if self
            .provider
            .cache
            .cached_candidates(name)
            .is_none_or(|c| c.is_empty())
        {
            return format!("{name} is not on the index");
        }
        let unusable = self.provider.unusable.borrow();
        let reasons: Vec<String> = unusable
            .get(name)
            .into_iter()
            .flat_map(|versions| versions.iter().rev())
            .filter(|(version, _)| range.contains(*version))
            .take(3)
            .map(|(version, why)| format!("{name} {version}: {why}"))
            .collect();
        let what = format!("{pkg}{}", specifiers(range));
        if reasons.is_empty() {
            format!("there is no version of {what}")
        } else {
            format!("no version of {what} can be used ({})", reasons.join("; "))
        }
    }
}

impl ReportFormatter<Pkg, Ranges<Version>, Unusable> for Words<'_> {
    type Output = String;

    fn format_external(&self, external: &Ext) -> String {
        match external {
            External::NotRoot(..) => "you asked for these requirements".to_string(),
            External::NoVersions(pkg, range) => self.no_versions(pkg, range),
            External::Custom(pkg, range, why) => {
                format!("{} cannot be used: {why}", self.subject(pkg, range))
            }
            External::FromDependencyOf(p, p_range, d, d_range) => {
                self.depends(p, p_range, d, d_range)
            }
        }
    }

    fn format_terms(&self, terms: &Terms) -> String {
        let mut terms: Vec<_> = terms.iter().collect();
        terms.sort_by(|a, b| a.0.cmp(b.0));
        match terms.as_slice() {
            [] => "the requirements cannot be met".to_string(),
            [(pkg, Term::Positive(_))] if matches!(pkg.kind(), PkgKind::Root) => {
                "the requirements cannot be met".to_string()
            }
            [(pkg, Term::Positive(range))] => {
                format!("{} cannot be used", self.subject(pkg, range))
            }
            [(pkg, Term::Negative(range))] => {
                format!("{pkg}{} is needed", specifiers(range))
            }
            [(p, Term::Positive(p_range)), (d, Term::Negative(d_range))]
            | [(d, Term::Negative(d_range)), (p, Term::Positive(p_range))] => {
                if matches!(p.kind(), PkgKind::Root) {
                    format!("you need {d}{}", specifiers(d_range))
                } else {
                    self.depends(p, p_range, d, d_range)
                }
            }
            several => {
                let parts: Vec<String> = several
                    .iter()
                    .map(|(pkg, term)| match term {
                        Term::Positive(range) => self.subject(pkg, range),
                        Term::Negative(range) => format!("not {pkg}{}", specifiers(range)),
                    })
                    .collect();
                format!("{} cannot be used together", parts.join(" and "))
            }
        }
    }

    fn explain_both_external(&self, one: &Ext, two: &Ext, terms: &Terms) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(one),
            self.format_external(two),
            self.format_terms(terms)
        )
    }

    fn explain_both_ref(
        &self,
        ref1: usize,
        derived1: &Derived<Pkg, Ranges<Version>, Unusable>,
        ref2: usize,
        derived2: &Derived<Pkg, Ranges<Version>, Unusable>,
        terms: &Terms,
    ) -> String {
        format!(
            "Because {} ({ref1}) and {} ({ref2}), {}.",
            self.format_terms(&derived1.terms),
            self.format_terms(&derived2.terms),
            self.format_terms(terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        ref_id: usize,
        derived: &Derived<Pkg, Ranges<Version>, Unusable>,
        external: &Ext,
        terms: &Terms,
    ) -> String {
        format!(
            "Because {} ({ref_id}) and {}, {}.",
            self.format_terms(&derived.terms),
            self.format_external(external),
            self.format_terms(terms)
        )
    }

    fn and_explain_external(&self, external: &Ext, terms: &Terms) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(external),
            self.format_terms(terms)
        )
    }

    fn and_explain_ref(
        &self,
        ref_id: usize,
        derived: &Derived<Pkg, Ranges<Version>, Unusable>,
        terms: &Terms,
    ) -> String {
        format!(
            "And because {} ({ref_id}), {}.",
            self.format_terms(&derived.terms),
            self.format_terms(terms)
        )
    }

    fn and_explain_prior_and_external(&self, prior: &Ext, external: &Ext, terms: &Terms) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior),
            self.format_external(external),
            self.format_terms(terms)
        )
    }
}
