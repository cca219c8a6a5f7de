//! Planning from the wheels' own metadata: the requested projects and the closure of their
//! `Requires-Dist` whose markers hold on the target, each project's best-ranked compatible wheel.
//! Used when an archive has no lock, when the user asks for extras the lock was not made with, and
//! to make the lock at create time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{External, InstallPlan, PlanError, PlannedWheel, RootRequest};
use crate::environment::Environment;
use crate::python::{
    ExtraName, IncompatibleTag, MarkerTree, PackageName, Requirement, TagCompatibility, Version,
    VersionOrUrl, VersionSpecifiers,
};
use crate::wheel::WheelInfo;

struct Choice {
    index: usize,
    extras: BTreeSet<ExtraName>,
    requested: bool,
}

/// Chooses the wheels to install for the `roots` that apply on `target`. A requirement on an
/// `excluded` project the archive has no wheel of becomes the plan's [`External`]. With
/// `ignore_platform`, wheels whose tags or `Requires-Python` do not fit are still used when
/// nothing better exists.
pub fn select(
    wheels: &[WheelInfo],
    roots: &[RootRequest],
    excluded: &[PackageName],
    target: &Environment,
    ignore_platform: bool,
) -> Result<InstallPlan, PlanError> {
    let roots: Vec<RootRequest> = roots
        .iter()
        .filter(|r| r.applies(target))
        .cloned()
        .collect();
    let roots = roots.as_slice();
    let by_project = by_project(wheels);
    let mut chosen: BTreeMap<PackageName, Choice> = BTreeMap::new();
    let mut order: Vec<PackageName> = Vec::new();
    let mut queue: VecDeque<Pending> = roots.iter().map(Pending::root).collect();

    let mut edges: Vec<(PackageName, PackageName, MarkerTree)> = Vec::new();
    let mut external: Vec<External> = Vec::new();
    while let Some(Pending {
        name,
        extras,
        spec,
        display,
        required_by,
        requested,
        edge,
    }) = queue.pop_front()
    {
        if excluded.contains(&name) && !by_project.contains_key(&name) {
            let already = external
                .iter()
                .any(|e| e.requirement == display && e.required_by == required_by);
            external.extend((!already).then_some(External {
                name,
                requirement: display,
                specifiers: spec,
                required_by,
            }));
            continue;
        }
        if let Some((from, marker)) = edge {
            edges.push((from, name.clone(), marker));
        }
        if let Some(choice) = chosen.get_mut(&name) {
            let wheel = &wheels[choice.index];
            if let Some(spec) = &spec
                && !spec.contains(&wheel.filename.version)
            {
                return Err(PlanError::Conflict {
                    requirement: display,
                    required_by,
                    project: name.to_string(),
                    version: wheel.filename.version.to_string(),
                });
            }
            choice.requested |= requested;
            let new_extras: Vec<ExtraName> = extras
                .into_iter()
                .filter(|e| !choice.extras.contains(e))
                .collect();
            if new_extras.is_empty() {
                continue;
            }
            choice.extras.extend(new_extras.iter().cloned());
            let all: Vec<ExtraName> = choice.extras.iter().cloned().collect();
            enqueue_dependencies(wheel, &all, Some(&new_extras), target, &mut queue);
            continue;
        }
        let candidates = by_project.get(&name).cloned().unwrap_or_default();
        if candidates.is_empty() {
            return Err(PlanError::Missing {
                requirement: display,
                required_by,
            });
        }
        let index = best_candidate(wheels, &candidates, spec.as_ref(), target, ignore_platform)
            .map_err(|reasons| {
                no_fit(
                    wheels,
                    &candidates,
                    &name,
                    &display,
                    &required_by,
                    target,
                    reasons,
                )
            })?;
        let extra_set: BTreeSet<ExtraName> = extras.iter().cloned().collect();
        enqueue_dependencies(&wheels[index], &extras, None, target, &mut queue);
        chosen.insert(
            name.clone(),
            Choice {
                index,
                extras: extra_set,
                requested,
            },
        );
        order.push(name);
    }

    let mut plan = assemble(wheels, &chosen, &order, roots, &edges);
    plan.external = external;
    Ok(plan)
}

/// Why none of `candidates` (the wheels of `name`) serves the requirement `display`: only
/// versions it excludes (no `reasons`), or none fitting the target.
fn no_fit(
    wheels: &[WheelInfo],
    candidates: &[usize],
    name: &PackageName,
    display: &str,
    required_by: &str,
    target: &Environment,
    reasons: Vec<String>,
) -> PlanError {
    if reasons.is_empty() {
        PlanError::Conflict {
            requirement: display.to_string(),
            required_by: required_by.to_string(),
            project: name.to_string(),
            version: candidates
                .iter()
                .map(|i| wheels[*i].filename.version.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    } else {
        PlanError::Incompatible {
            project: name.to_string(),
            target: target.describe().to_string(),
            reasons,
        }
    }
}

/// The indexes of `wheels` by project.
fn by_project(wheels: &[WheelInfo]) -> BTreeMap<&PackageName, Vec<usize>> {
    let mut by_project: BTreeMap<&PackageName, Vec<usize>> = BTreeMap::new();
    for (index, wheel) in wheels.iter().enumerate() {
        by_project
            .entry(&wheel.filename.name)
            .or_default()
            .push(index);
    }
    by_project
}

/// The plan from the choices made, dependencies first, each with its marker and dependencies.
fn assemble(
    wheels: &[WheelInfo],
    chosen: &BTreeMap<PackageName, Choice>,
    order: &[PackageName],
    roots: &[RootRequest],
    edges: &[(PackageName, PackageName, MarkerTree)],
) -> InstallPlan {
    let markers = package_markers(order, roots, edges);
    let used: BTreeSet<usize> = chosen.values().map(|c| c.index).collect();
    // Dependencies first: reverse of discovery order is a good-enough topological order for
    // installers that care (pip does its own).
    let planned = order
        .iter()
        .rev()
        .filter_map(|name| chosen.get(name))
        .map(|choice| {
            let wheel = &wheels[choice.index];
            PlannedWheel {
                file_name: wheel.file_name.clone(),
                name: wheel.filename.name.clone(),
                version: wheel.filename.version.clone(),
                requested: choice.requested,
                extras: choice.extras.iter().cloned().collect(),
                marker: markers
                    .get(&wheel.filename.name)
                    .and_then(|m| m.try_to_string()),
                dependencies: {
                    let mut deps: Vec<PackageName> = edges
                        .iter()
                        .filter(|(from, _, _)| *from == wheel.filename.name)
                        .map(|(_, to, _)| to.clone())
                        .collect();
                    deps.sort();
                    deps.dedup();
                    deps
                },
            }
        })
        .collect();
    let unused = wheels
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, w)| w.file_name.clone())
        .collect();
    InstallPlan {
        wheels: planned,
        unused,
        external: Vec::new(),
    }
}

/// Each chosen project's condition: roots where their marker holds; others the disjunction, over the requirements
/// that pulled them in, of the requirer's condition and the requirement's own marker.
fn package_markers(
    order: &[PackageName],
    roots: &[RootRequest],
    edges: &[(PackageName, PackageName, MarkerTree)],
) -> BTreeMap<PackageName, MarkerTree> {
    let mut markers: BTreeMap<PackageName, MarkerTree> = order
        .iter()
        .map(|name| {
            let marker = roots
                .iter()
                .filter(|r| &r.name == name)
                .fold(MarkerTree::FALSE, |all, r| all.or(r.marker));
            (name.clone(), marker)
        })
        .collect();
    // Conditions only grow, so this reaches a fixed point; the bound guards against cycles.
    for _ in 0..=order.len() {
        let mut changed = false;
        for (from, to, edge) in edges {
            let from_marker = markers.get(from).copied().unwrap_or(MarkerTree::FALSE);
            let current = markers.get(to).copied().unwrap_or(MarkerTree::FALSE);
            let widened = current.or(from_marker.and(*edge));
            if widened != current {
                markers.insert(to.clone(), widened);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    markers
}

/// A requirement waiting to be resolved against the archive's wheels.
struct Pending {
    name: PackageName,
    extras: Vec<ExtraName>,
    spec: Option<VersionSpecifiers>,
    /// The requirement as written, for messages.
    display: String,
    required_by: String,
    requested: bool,
    /// The project that declared this requirement and the requirement's own condition.
    edge: Option<(PackageName, MarkerTree)>,
}

impl Pending {
    /// A project the user asked for, pinned to the archive's version when it has one.
    fn root(root: &RootRequest) -> Self {
        Self {
            name: root.name.clone(),
            extras: root.extras.clone(),
            spec: root
                .version
                .as_ref()
                .and_then(|v| crate::python::specifiers(&format!("=={v}")).ok())
                .or_else(|| root.specifiers.clone()),
            display: match (&root.version, &root.specifiers) {
                (Some(v), _) => format!("{}=={v}", root.name),
                (None, Some(spec)) => format!("{}{spec}", root.name),
                (None, None) => root.name.to_string(),
            },
            required_by: "the archive's roots".to_string(),
            requested: true,
            edge: None,
        }
    }
}

/// Queues the requirements of `wheel` that apply on `target` with `extras`; with `only_new`,
/// only those that the newly added extras switch on.
fn enqueue_dependencies(
    wheel: &WheelInfo,
    extras: &[ExtraName],
    only_new: Option<&[ExtraName]>,
    target: &Environment,
    queue: &mut VecDeque<Pending>,
) {
    let required_by = format!("{} {}", wheel.filename.name, wheel.filename.version);
    let previous: Vec<ExtraName> = match only_new {
        Some(new) => extras
            .iter()
            .filter(|e| !new.contains(e))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    for requirement in applying_requirements(wheel, extras, target) {
        if only_new.is_some()
            && crate::python::requirement_applies(requirement, &target.markers, &previous)
        {
            continue;
        }
        queue.push_back(Pending {
            name: requirement.name.clone(),
            extras: requirement.extras.to_vec(),
            spec: version_spec(requirement).cloned(),
            display: requirement.to_string(),
            required_by: required_by.clone(),
            requested: false,
            edge: Some((
                wheel.filename.name.clone(),
                crate::python::edge_marker(requirement, extras),
            )),
        });
    }
}

/// The `Requires-Dist` of `wheel` that apply on `target` when it is installed with `extras`.
fn applying_requirements<'a>(
    wheel: &'a WheelInfo,
    extras: &'a [ExtraName],
    target: &'a Environment,
) -> impl Iterator<Item = &'a Requirement> + 'a {
    wheel
        .metadata
        .requires_dist
        .iter()
        .filter(|r| crate::python::requirement_applies(r, &target.markers, extras))
}

/// The versions a requirement accepts; `None` for any version (or a URL, which no archived
/// wheel can be told apart by).
fn version_spec(requirement: &Requirement) -> Option<&VersionSpecifiers> {
    match &requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(spec)) => Some(spec),
        _ => None,
    }
}

/// A `Requires-Dist` of a planned wheel that the plan does not satisfy.
#[derive(Debug)]
pub struct Unmet<'a> {
    /// The planned wheel that declares the requirement.
    pub wheel: &'a PlannedWheel,
    /// The requirement as written.
    pub requirement: String,
    /// The project required, and the versions the requirement accepts.
    pub name: PackageName,
    pub specifiers: Option<VersionSpecifiers>,
    /// The planned wheel of the required project, when there is one (at a version the
    /// requirement excludes).
    pub found: Option<&'a PlannedWheel>,
}

/// Every requirement of `plan`'s wheels that applies on `target` — with the extras the plan
/// asks for, and those its own requirements ask of each other — and that no planned wheel
/// satisfies. `select` never makes such a plan; a plan from elsewhere (a lock) may.
pub fn unmet_requirements<'a>(
    plan: &'a InstallPlan,
    wheels: &[WheelInfo],
    target: &Environment,
) -> Vec<Unmet<'a>> {
    let info = |planned: &PlannedWheel| wheels.iter().find(|w| w.file_name == planned.file_name);
    let planned_of = |name: &PackageName| plan.wheels.iter().find(|p| &p.name == name);
    let mut extras: BTreeMap<&PackageName, BTreeSet<ExtraName>> = plan
        .wheels
        .iter()
        .map(|p| (&p.name, p.extras.iter().cloned().collect()))
        .collect();
    // Extras only grow and are bounded by those the wheels declare: a fixed point is reached.
    loop {
        let mut wanted: Vec<(&PackageName, ExtraName)> = Vec::new();
        for planned in &plan.wheels {
            let Some(wheel) = info(planned) else { continue };
            let own = extras_of(&extras, &planned.name);
            for requirement in applying_requirements(wheel, &own, target) {
                if let Some(dependency) = planned_of(&requirement.name) {
                    wanted.extend(
                        requirement
                            .extras
                            .iter()
                            .map(|e| (&dependency.name, e.clone())),
                    );
                }
            }
        }
        let mut changed = false;
        for (name, extra) in wanted {
            changed |= extras.entry(name).or_default().insert(extra);
        }
        if !changed {
            break;
        }
    }
    let mut unmet = Vec::new();
    for planned in &plan.wheels {
        let Some(wheel) = info(planned) else { continue };
        let own = extras_of(&extras, &planned.name);
        for requirement in applying_requirements(wheel, &own, target) {
            let found = planned_of(&requirement.name);
            let satisfied = found.is_some_and(|dependency| {
                version_spec(requirement).is_none_or(|spec| spec.contains(&dependency.version))
            });
            if !satisfied {
                unmet.push(Unmet {
                    wheel: planned,
                    requirement: requirement.to_string(),
                    name: requirement.name.clone(),
                    specifiers: version_spec(requirement).cloned(),
                    found,
                });
            }
        }
    }
    unmet
}

/// The extras gathered so far for `name`.
fn extras_of(
    extras: &BTreeMap<&PackageName, BTreeSet<ExtraName>>,
    name: &PackageName,
) -> Vec<ExtraName> {
    extras
        .get(name)
        .map(|e| e.iter().cloned().collect())
        .unwrap_or_default()
}

/// The best wheel among `candidates`: satisfying `spec`, fitting the target, highest version
/// then best tag priority. On failure, the reasons each wheel was passed over (empty when only
/// the version specifier excluded them).
pub(crate) fn best_candidate(
    wheels: &[WheelInfo],
    candidates: &[usize],
    spec: Option<&VersionSpecifiers>,
    target: &Environment,
    ignore_platform: bool,
) -> Result<usize, Vec<String>> {
    let mut reasons = Vec::new();
    let mut fitting: Vec<(usize, &Version, TagCompatibility)> = Vec::new();
    let mut misfits: Vec<(usize, &Version, String)> = Vec::new();
    for &index in candidates {
        let wheel = &wheels[index];
        if spec.is_some_and(|s| !s.contains(&wheel.filename.version)) {
            continue;
        }
        let mut why_not = None;
        let compatibility = wheel.filename.compatibility(&target.tags);
        if let TagCompatibility::Incompatible(kind) = compatibility {
            why_not = Some(format!(
                "{}: its {} tag does not fit (wheel tags: {})",
                wheel.file_name,
                match kind {
                    IncompatibleTag::Python => "Python",
                    IncompatibleTag::Abi
                    | IncompatibleTag::FreethreadedAbi
                    | IncompatibleTag::AbiPythonVersion => "ABI",
                    _ => "platform",
                },
                wheel
                    .filename
                    .stem()
                    .splitn(3, '-')
                    .nth(2)
                    .unwrap_or_default()
            ));
        }
        if why_not.is_none()
            && let Some(requires) = &wheel.metadata.requires_python
            && !requires.contains(&target.python_full_version)
        {
            why_not = Some(format!(
                "{}: it requires Python {requires}, the target is {}",
                wheel.file_name, target.python_full_version
            ));
        }
        match why_not {
            None => fitting.push((index, &wheel.filename.version, compatibility)),
            Some(reason) => {
                reasons.push(reason.clone());
                misfits.push((index, &wheel.filename.version, reason));
            }
        }
    }
    if let Some(best) = fitting
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(a.2.cmp(&b.2)))
    {
        return Ok(best.0);
    }
    if ignore_platform && let Some(best) = misfits.iter().max_by(|a, b| a.1.cmp(b.1)) {
        // The user asked to try anyway, not to be kept in the dark about what may not work.
        tracing::warn!(
            "--ignore-platform: installing a wheel that does not fit {}: {}",
            target.describe(),
            best.2
        );
        return Ok(best.0);
    }
    Err(reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::package_name;
    use crate::testing::{linux, wheel, wheel_file};

    fn root(name: &str) -> RootRequest {
        RootRequest {
            name: package_name(name).unwrap(),
            extras: Vec::new(),
            version: None,
            specifiers: None,
            marker: MarkerTree::TRUE,
        }
    }

    fn chosen(plan: &InstallPlan) -> Vec<&str> {
        plan.wheels.iter().map(|w| w.file_name.as_str()).collect()
    }

    #[test]
    fn the_closure_follows_markers_and_extras_dependencies_first() {
        let wheels = [
            wheel(
                "app",
                "1.0",
                &[
                    "dep>=1",
                    "win-only; sys_platform == 'win32'",
                    "lib[fast]",
                    "old; python_version < '3.8'",
                ],
            ),
            wheel("dep", "1.2", &[]),
            wheel(
                "lib",
                "2.0",
                &["speedups; extra == 'fast'", "slow; extra == 'slow'"],
            ),
            wheel("speedups", "1.0", &[]),
            wheel("win-only", "1.0", &[]),
            wheel("slow", "1.0", &[]),
        ];
        let plan = select(&wheels, &[root("app")], &[], &linux(), false).unwrap();
        assert_eq!(
            chosen(&plan),
            [
                "speedups-1.0-py3-none-any.whl",
                "lib-2.0-py3-none-any.whl",
                "dep-1.2-py3-none-any.whl",
                "app-1.0-py3-none-any.whl",
            ]
        );
        assert_eq!(
            plan.unused,
            ["win_only-1.0-py3-none-any.whl", "slow-1.0-py3-none-any.whl"]
        );
        let app = plan.wheels.last().unwrap();
        assert!(app.requested);
        let deps: Vec<&str> = app.dependencies.iter().map(AsRef::as_ref).collect();
        assert_eq!(deps, ["dep", "lib"]);
        let lib = &plan.wheels[1];
        assert_eq!(lib.extras.len(), 1);
        assert!(!lib.requested);
    }

    #[test]
    fn a_missing_dependency_names_who_needs_it() {
        let wheels = [wheel("app", "1.0", &["gone>=2"])];
        let err = select(&wheels, &[root("app")], &[], &linux(), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the archive has no wheel for `gone>=2` (required by app 1.0); the archive is \
             incomplete — rebuild it"
        );
    }

    #[test]
    fn a_version_no_wheel_satisfies_is_a_conflict() {
        let wheels = [
            wheel("app", "1.0", &["dep>=2", "other"]),
            wheel("other", "1.0", &["dep<2"]),
            wheel("dep", "2.5", &[]),
        ];
        let err = select(&wheels, &[root("app")], &[], &linux(), false).unwrap_err();
        assert!(
            matches!(&err, PlanError::Conflict { project, version, .. }
                if project == "dep" && version == "2.5"),
            "{err}"
        );
    }

    #[test]
    fn the_best_fitting_wheel_wins_and_misfits_are_explained() {
        let wheels = [
            wheel_file("native-1.0-cp311-cp311-win_amd64.whl", "native", &[], None),
            wheel_file(
                "native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                "native",
                &[],
                None,
            ),
            wheel_file("native-1.0-py3-none-any.whl", "native", &[], None),
            wheel_file("native-1.1-py3-none-any.whl", "native", &[], Some(">=3.12")),
        ];
        let plan = select(&wheels, &[root("native")], &[], &linux(), false).unwrap();
        // 1.1 needs Python 3.12; of the 1.0 wheels the platform one ranks above the pure one.
        assert_eq!(
            chosen(&plan),
            ["native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"]
        );

        let foreign = [wheels[0].clone(), wheels[3].clone()];
        let err = select(&foreign, &[root("native")], &[], &linux(), false).unwrap_err();
        let PlanError::Incompatible { reasons, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(
            reasons,
            &[
                "native-1.0-cp311-cp311-win_amd64.whl: its platform tag does not fit (wheel \
                 tags: cp311-cp311-win_amd64)",
                "native-1.1-py3-none-any.whl: it requires Python >=3.12, the target is 3.11.7",
            ]
        );
        // --ignore-platform takes the highest version among the misfits.
        let forced = select(&foreign, &[root("native")], &[], &linux(), true).unwrap();
        assert_eq!(chosen(&forced), ["native-1.1-py3-none-any.whl"]);
    }

    #[test]
    fn a_pinned_root_takes_its_version() {
        let wheels = [wheel("app", "1.0", &[]), wheel("app", "2.0", &[])];
        let mut pinned = root("app");
        pinned.version = Some(crate::python::version("1.0").unwrap());
        let plan = select(&wheels, &[pinned], &[], &linux(), false).unwrap();
        assert_eq!(chosen(&plan), ["app-1.0-py3-none-any.whl"]);
        assert_eq!(plan.unused, ["app-2.0-py3-none-any.whl"]);
    }

    #[test]
    fn conditional_dependencies_carry_their_marker() {
        let wheels = [
            wheel("app", "1.0", &["tz; python_version < '3.12'"]),
            wheel("tz", "1.0", &[]),
        ];
        let plan = select(&wheels, &[root("app")], &[], &linux(), false).unwrap();
        assert_eq!(
            plan.wheels[0].marker.as_deref(),
            Some("python_full_version < '3.12'")
        );
        assert_eq!(plan.wheels[1].marker, None);
    }

    #[test]
    fn unmet_requirements_reach_extras_requested_between_dependencies() {
        let wheels = [
            wheel("app", "1.0", &["lib[fast]"]),
            wheel("lib", "1.0", &["speedups>=2; extra == 'fast'"]),
            wheel("speedups", "1.0", &[]),
        ];
        let plan = InstallPlan {
            wheels: wheels
                .iter()
                .map(|w| PlannedWheel {
                    file_name: w.file_name.clone(),
                    name: w.filename.name.clone(),
                    version: w.filename.version.clone(),
                    requested: w.filename.name.as_ref() == "app",
                    extras: Vec::new(),
                    marker: None,
                    dependencies: Vec::new(),
                })
                .collect(),
            unused: Vec::new(),
            external: Vec::new(),
        };
        let unmet = unmet_requirements(&plan, &wheels, &linux());
        assert_eq!(unmet.len(), 1, "{unmet:?}");
        assert_eq!(unmet[0].wheel.file_name, "lib-1.0-py3-none-any.whl");
        assert_eq!(unmet[0].requirement, "speedups>=2 ; extra == 'fast'");
        assert_eq!(unmet[0].found.unwrap().version.to_string(), "1.0");
    }
}
