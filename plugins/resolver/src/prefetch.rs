//! Asking ahead: worker threads that fetch, while PubGrub decides one package at a time, the
//! versions of projects just named as dependencies, the metadata of the version each is likely
//! to resolve to, and then the same for that version's own dependencies, down the tree.
//!
//! The workers only fill the shared [`Cache`]; the resolver waits for every answer it reads, so
//! what it decides never depends on what was fetched ahead or in which order. A guess never
//! builds anything: a version whose likely file is an sdist is left for the resolver.

use std::collections::{HashSet, VecDeque};
use std::sync::{Condvar, Mutex, PoisonError};

use wagon_core::environment::Environment;
use wagon_core::python::{
    ExtraName, Operator, PackageName, Requirement, Version, VersionOrUrl, requirement_applies,
};

use crate::Cache;
use crate::files::{best_file, python_fits};
use crate::source::Candidate;

/// The queue of requirements to look ahead for, shared by the resolver and the workers.
pub(crate) struct Prefetch<'c> {
    cache: &'c Cache<'c>,
    env: &'c Environment,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Requirement>,
    /// Each project (with the extras asked for) is looked ahead for once.
    seen: HashSet<(PackageName, Vec<ExtraName>)>,
    stopped: bool,
}

impl<'c> Prefetch<'c> {
    pub(crate) fn new(cache: &'c Cache<'c>, env: &'c Environment) -> Self {
        Self {
            cache,
            env,
            state: Mutex::default(),
            wake: Condvar::new(),
        }
    }

    /// Queues `requirements` (those that apply to the environment; the caller filters) for the
    /// workers, each project and extras once.
    pub(crate) fn ask_ahead<'r>(&self, requirements: impl IntoIterator<Item = &'r Requirement>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.stopped {
            return;
        }
        let mut queued = false;
        for requirement in requirements {
            if matches!(requirement.version_or_url, Some(VersionOrUrl::Url(_))) {
                continue;
            }
            let mut extras = requirement.extras.to_vec();
            extras.sort();
            if state.seen.insert((requirement.name.clone(), extras)) {
                state.queue.push_back(requirement.clone());
                queued = true;
            }
        }
        if queued {
            self.wake.notify_all();
        }
    }

    /// A worker's loop: looks ahead for queued requirements until stopped.
    pub(crate) fn work(&self) {
        loop {
            let next = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if state.stopped {
                        return;
                    }
                    if let Some(next) = state.queue.pop_front() {
                        break next;
                    }
                    state = self
                        .wake
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            self.follow(&next);
        }
    }

    /// Stops the workers when the returned guard drops: nothing queued is asked any more.
    pub(crate) fn stop_on_drop(&self) -> StopOnDrop<'_, 'c> {
        StopOnDrop(self)
    }

    /// Lists the project, reads the likely version's metadata, and queues its dependencies.
    /// A failure is left for the resolver to meet (and report) when it asks the same.
    fn follow(&self, requirement: &Requirement) {
        let name = &requirement.name;
        let candidates = match self.cache.candidates(name) {
            Ok(candidates) => candidates,
            Err(err) => {
                tracing::debug!(project = %name, "not listed ahead: {err}");
                return;
            }
        };
        let Some(version) = likely_version(&candidates, requirement, self.env) else {
            return;
        };
        let metadata = match self.cache.metadata(name, &version) {
            Ok(metadata) => metadata,
            Err(err) => {
                tracing::debug!(project = %name, %version, "metadata not read ahead: {err}");
                return;
            }
        };
        if metadata
            .requires_python
            .as_ref()
            .is_some_and(|spec| !python_fits(spec, self.env))
        {
            return;
        }
        let extras = &requirement.extras;
        self.ask_ahead(
            metadata
                .requires_dist
                .iter()
                .filter(|dep| requirement_applies(dep, &self.env.markers, extras)),
        );
    }
}

/// Stops a [`Prefetch`]'s workers when dropped.
pub(crate) struct StopOnDrop<'p, 'c>(&'p Prefetch<'c>);

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.stopped = true;
        state.queue.clear();
        self.0.wake.notify_all();
    }
}

/// The version `requirement` most likely resolves to: the highest its specifiers allow with a
/// wheel serving `env` (final releases unless it names a pre-release). `None` when that version
/// would be built from an sdist, or nothing serves.
fn likely_version(
    candidates: &[Candidate],
    requirement: &Requirement,
    env: &Environment,
) -> Option<Version> {
    let specifiers = match &requirement.version_or_url {
        None => None,
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => Some(specifiers),
        Some(VersionOrUrl::Url(_)) => return None,
    };
    let prereleases = specifiers.is_some_and(|s| s.iter().any(|s| s.any_prerelease()));
    let pinned = specifiers.is_some_and(|s| {
        s.iter()
            .any(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual))
    });
    candidates
        .iter()
        .filter(|c| specifiers.is_none_or(|s| s.contains(&c.version)))
        .filter(|c| prereleases || !c.version.any_prerelease())
        .find_map(|c| match best_file(c, env, pinned) {
            Ok(file) => Some((!file.is_sdist()).then(|| c.version.clone())),
            Err(_) => None,
        })
        .flatten()
}
