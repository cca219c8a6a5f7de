//! `pylock.toml` (PEP 751): the archive's install plan in the standard lock format, so uv, pip
//! (26.1+) or any PEP 751 installer can install a wagon without Wagon — and Wagon's own installer
//! follows the same plan instead of deriving it again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::archive::{Digested, WHEELS_DIR};
use crate::interpreter::Interpreter;
use crate::manifest::Manifest;
use crate::plan::{InstallPlan, PlanError, PlannedWheel};
use crate::python::{self, MarkerTree, PackageName, Version};
use crate::wheel::WheelInfo;

/// The lock's file name, beside `package.json` in the archive's top folder.
pub const LOCK_FILE: &str = "pylock.toml";

/// A parsed `pylock.toml`; keys this version does not use are ignored on reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PyLock {
    pub lock_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
    pub created_by: String,
    #[serde(default)]
    pub packages: Vec<LockPackage>,
}

/// One `[[packages]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockPackage {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_python: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<LockDependency>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wheels: Vec<LockWheel>,
}

/// A reference from one package to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockDependency {
    pub name: String,
}

/// One `[[packages.wheels]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockWheel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
}

impl LockWheel {
    /// The wheel's file name: `name`, else the last part of `path` or `url`.
    pub fn file_name(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or_else(|| self.path.as_deref().and_then(|p| p.rsplit('/').next()))
            .or_else(|| self.url.as_deref().and_then(|u| u.rsplit('/').next()))
    }
}

/// Why a lock could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("pylock.toml is not a valid PEP 751 lock file: {0}")]
    Parse(String),
    #[error("pylock.toml does not fit the archive:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Disagrees(Vec<String>),
    #[error(
        "pylock.toml was made for {environments}, and {target} is not one of them. Use a matching \
         interpreter, or --ignore-platform to try anyway."
    )]
    Environment {
        environments: String,
        target: String,
    },
    #[error("cannot write pylock.toml: {0}")]
    Serialise(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "pylock.toml does not hold together on {target}:\n{}\nThe archive's lock was altered or \
         made wrongly; do not install it.",
        .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Unsound {
        target: String,
        problems: Vec<String>,
    },
}

impl PyLock {
    pub fn parse(text: &str) -> Result<Self, LockError> {
        let lock: PyLock = toml::from_str(text).map_err(|e| LockError::Parse(e.to_string()))?;
        let problems = lock.structural_problems();
        if problems.is_empty() {
            Ok(lock)
        } else {
            Err(LockError::Parse(problems.join("; ")))
        }
    }

    pub fn to_toml(&self) -> Result<String, LockError> {
        toml::to_string(self).map_err(|e| LockError::Serialise(e.to_string()))
    }

    /// PEP 751 rules this lock breaks.
    fn structural_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.lock_version.starts_with("1.") {
            problems.push(format!("lock-version `{}` is not 1.x", self.lock_version));
        }
        for package in &self.packages {
            if python::package_name(&package.name).is_err() {
                problems.push(format!("package name `{}` is not valid", package.name));
            }
            if let Some(marker) = &package.marker
                && python::marker(marker).is_err()
            {
                problems.push(format!(
                    "marker `{marker}` of {} is not valid",
                    package.name
                ));
            }
            for wheel in &package.wheels {
                if wheel.path.is_none() && wheel.url.is_none() {
                    problems.push(format!(
                        "a wheel of {} has neither path nor url",
                        package.name
                    ));
                }
                if wheel.hashes.is_empty() {
                    problems.push(format!("a wheel of {} has no hashes", package.name));
                }
            }
        }
        for marker in self.environments.iter().flatten() {
            if python::marker(marker).is_err() {
                problems.push(format!("environment marker `{marker}` is not valid"));
            }
        }
        problems
    }

    /// Builds the lock of `plan`, made on `target`, for the archive's `wheels` (paths relative to
    /// the lock, `wheels/<file>`).
    pub fn from_plan(
        plan: &InstallPlan,
        wheels: &[WheelInfo],
        manifest: &Manifest,
        target: &Interpreter,
    ) -> Self {
        let mut packages: Vec<LockPackage> = plan
            .wheels
            .iter()
            .map(|planned| package_entry(planned, wheels, manifest))
            .collect();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            lock_version: "1.0".to_string(),
            environments: Some(vec![environment_of(target, manifest)]),
            requires_python: manifest.python_requires.clone(),
            created_by: "wagon".to_string(),
            packages,
        }
    }

    /// Everything in this lock that disagrees with the archive — wheels it names that the archive
    /// does not hold or that lie outside it, hashes or sizes that differ from the wheels' real
    /// bytes (`digested`, as read from the archive), entries that are not their wheels — or with
    /// itself: two entries for one project, dependencies on projects it has no entry for.
    pub fn disagreements(&self, manifest: &Manifest, digested: &Digested) -> Vec<String> {
        let mut problems = Vec::new();
        for package in &self.packages {
            if package.wheels.is_empty() {
                // An sdist, VCS, directory or archive entry would be fetched or built.
                problems.push(format!(
                    "the lock entry {} has no wheel; {INSIDE}",
                    label(package)
                ));
            }
            for wheel in &package.wheels {
                let Some(file) = wheel.file_name() else {
                    continue;
                };
                let path = format!("{WHEELS_DIR}/{file}");
                match wheel.path.as_deref() {
                    None => {
                        // An installer following the lock would download it.
                        problems.push(format!(
                            "the lock entry {} gives {file} by url only ({}); {INSIDE}, by \
                             path `{path}`",
                            label(package),
                            wheel.url.as_deref().unwrap_or_default()
                        ));
                        continue;
                    }
                    Some(p) if p != path => problems.push(format!(
                        "the lock's path for {file} is `{p}`, not `{path}`; {INSIDE}"
                    )),
                    Some(_) => {}
                }
                if !manifest.wheels.iter().any(|w| w == file) {
                    problems.push(format!(
                        "the lock names {file}, which the archive does not hold"
                    ));
                    continue;
                }
                if let Ok(parsed) = python::parse_wheel_filename(file)
                    && let Some(problem) = entry_vs_wheel(
                        package,
                        file,
                        &parsed.name,
                        &parsed.version,
                        "by its file name",
                    )
                {
                    problems.push(problem);
                }
                match (wheel.hashes.get("sha256"), digested.sha256.get(&path)) {
                    (Some(locked), Some(actual)) if !locked.eq_ignore_ascii_case(actual) => {
                        problems.push(format!(
                            "the lock's sha256 for {file} does not match the wheel"
                        ));
                    }
                    (None, _) => problems.push(format!("the lock has no sha256 for {file}")),
                    _ => {}
                }
                if let (Some(locked), Some(actual)) =
                    (wheel.size, digested.contents.files.get(&path))
                    && locked != *actual
                {
                    problems.push(format!(
                        "the lock's size for {file} does not match the wheel"
                    ));
                }
            }
        }
        problems.extend(self.self_contradictions());
        problems
    }

    /// Two entries for one project that can apply together, and dependencies on projects the
    /// lock has no entry for. (PEP 751 allows several entries for a project when their markers
    /// never hold together: one per environment.)
    fn self_contradictions(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let named: Vec<(Option<PackageName>, &LockPackage)> = self
            .packages
            .iter()
            .map(|p| (python::package_name(&p.name).ok(), p))
            .collect();
        let marker_of = |p: &LockPackage| {
            p.marker
                .as_deref()
                .and_then(|m| python::marker(m).ok())
                .unwrap_or(MarkerTree::TRUE)
        };
        for (i, (name, first)) in named.iter().enumerate() {
            let Some(name) = name else { continue };
            for (other, second) in &named[i + 1..] {
                if other.as_ref() == Some(name) && !marker_of(first).is_disjoint(marker_of(second))
                {
                    problems.push(format!(
                        "the lock has two entries for {name} ({} and {}) that can apply \
                         together; a lock may hold one entry per project",
                        label(first),
                        label(second)
                    ));
                }
            }
            for dependency in &first.dependencies {
                let wanted = python::package_name(&dependency.name).ok();
                if !named.iter().any(|(n, _)| n.is_some() && *n == wanted) {
                    problems.push(format!(
                        "the lock entry {} lists {} among its dependencies, but the lock has no \
                         entry for it",
                        label(first),
                        dependency.name
                    ));
                }
            }
        }
        problems
    }

    /// The archive wheels no lock entry uses.
    pub fn unused(&self, manifest: &Manifest) -> Vec<String> {
        manifest
            .wheels
            .iter()
            .filter(|file| {
                !self
                    .packages
                    .iter()
                    .flat_map(|p| &p.wheels)
                    .any(|w| w.file_name() == Some(file.as_str()))
            })
            .cloned()
            .collect()
    }

    /// Follows the lock on `target`: the packages whose markers hold, each with its best fitting
    /// wheel. `root` names the requested project(s). The plan must hold together (`plan_problems`):
    /// a lock is input, not proof.
    pub fn plan_for(
        &self,
        wheels: &[WheelInfo],
        target: &Interpreter,
        roots: &[python::PackageName],
        ignore_platform: bool,
    ) -> Result<InstallPlan, LockError> {
        let mut planned = Vec::new();
        let mut entries = Vec::new();
        for package in &self.packages {
            let applies = package
                .marker
                .as_deref()
                .and_then(|m| python::marker(m).ok())
                .is_none_or(|m: MarkerTree| m.evaluate(&target.markers, &[]));
            if !applies {
                continue;
            }
            let files: Vec<&str> = package
                .wheels
                .iter()
                .filter_map(LockWheel::file_name)
                .collect();
            let candidates: Vec<usize> = wheels
                .iter()
                .enumerate()
                .filter(|(_, w)| files.contains(&w.file_name.as_str()))
                .map(|(i, _)| i)
                .collect();
            let display = package
                .version
                .as_ref()
                .map_or(package.name.clone(), |v| format!("{}=={v}", package.name));
            if candidates.is_empty() {
                return Err(PlanError::Missing {
                    requirement: display,
                    required_by: "pylock.toml".to_string(),
                }
                .into());
            }
            let index =
                crate::plan::best_candidate(wheels, &candidates, None, target, ignore_platform)
                    .map_err(|reasons| PlanError::Incompatible {
                        project: package.name.clone(),
                        target: target.describe(),
                        reasons,
                    })?;
            let wheel = &wheels[index];
            entries.push(package);
            planned.push(PlannedWheel {
                file_name: wheel.file_name.clone(),
                name: wheel.filename.name.clone(),
                version: wheel.filename.version.clone(),
                requested: roots.contains(&wheel.filename.name),
                extras: Vec::new(),
                marker: package.marker.clone(),
                dependencies: package
                    .dependencies
                    .iter()
                    .filter_map(|d| python::package_name(&d.name).ok())
                    .collect(),
            });
        }
        let unused = self.unused_in(wheels, &planned);
        let plan = InstallPlan {
            wheels: planned,
            unused,
        };
        let problems = plan_problems(&plan, &entries, wheels, target, roots);
        if problems.is_empty() {
            Ok(plan)
        } else {
            Err(LockError::Unsound {
                target: target.describe(),
                problems,
            })
        }
    }

    fn unused_in(&self, wheels: &[WheelInfo], planned: &[PlannedWheel]) -> Vec<String> {
        wheels
            .iter()
            .filter(|w| !planned.iter().any(|p| p.file_name == w.file_name))
            .map(|w| w.file_name.clone())
            .collect()
    }

    /// Checks that `target` is one of the lock's environments.
    pub fn check_environment(&self, target: &Interpreter) -> Result<(), LockError> {
        let Some(environments) = &self.environments else {
            return Ok(());
        };
        let fits = environments
            .iter()
            .filter_map(|m| python::marker(m).ok())
            .any(|m| m.evaluate(&target.markers, &[]));
        if fits {
            Ok(())
        } else {
            Err(LockError::Environment {
                environments: environments
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                target: target.describe(),
            })
        }
    }
}

/// Why a lock names only wheels inside the archive: Wagon installs offline, and an installer
/// following the lock (uv, pip) must not fetch anything either.
const INSIDE: &str = "the archive's lock may only name wheels inside the archive";

/// A lock entry for messages: `name version`, as the lock spells them.
fn label(package: &LockPackage) -> String {
    match &package.version {
        Some(version) => format!("{} {version}", package.name),
        None => package.name.clone(),
    }
}

/// Why the entry `package` and its wheel `file` — project `name` at `version`, as `source`
/// (its file name or METADATA) says — disagree, if they do.
fn entry_vs_wheel(
    package: &LockPackage,
    file: &str,
    name: &PackageName,
    version: &Version,
    source: &str,
) -> Option<String> {
    let same_name = python::package_name(&package.name).is_ok_and(|n| &n == name);
    let same_version = package
        .version
        .as_deref()
        .is_none_or(|v| python::version(v).is_ok_and(|v| &v == version));
    (!same_name || !same_version).then(|| {
        format!(
            "the lock entry {} names the wheel {file}, which is {name} {version} {source}; an \
             entry and its wheel must agree",
            label(package)
        )
    })
}

/// What is wrong with `plan`, followed from the lock `entries` (one per planned wheel) on
/// `target`: an entry that is not its wheel (by its METADATA), two wheels of one project, a
/// requested project left out, a `Requires-Dist` that applies on `target` and that no planned
/// wheel satisfies. The lock's `dependencies` carry no markers, so they are checked against
/// the whole lock (in `disagreements`), not against one target's plan.
fn plan_problems(
    plan: &InstallPlan,
    entries: &[&LockPackage],
    wheels: &[WheelInfo],
    target: &Interpreter,
    roots: &[PackageName],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (planned, package) in plan.wheels.iter().zip(entries) {
        let Some(wheel) = wheels.iter().find(|w| w.file_name == planned.file_name) else {
            continue;
        };
        let mismatch = entry_vs_wheel(
            package,
            &wheel.file_name,
            &wheel.filename.name,
            &wheel.filename.version,
            "by its file name",
        )
        .or_else(|| {
            entry_vs_wheel(
                package,
                &wheel.file_name,
                &wheel.metadata.name,
                &wheel.metadata.version,
                "by its METADATA",
            )
        });
        problems.extend(mismatch);
    }
    for (i, first) in plan.wheels.iter().enumerate() {
        if let Some(second) = plan.wheels[i + 1..].iter().find(|w| w.name == first.name) {
            problems.push(format!(
                "the lock has two entries for {} that apply on this target ({} and {}); a lock \
                 may hold one entry per project",
                first.name, first.file_name, second.file_name
            ));
        }
    }
    for root in roots {
        if !plan.wheels.iter().any(|w| &w.name == root) {
            problems.push(format!(
                "the lock does not install {root}, the project the archive is for, on this target"
            ));
        }
    }
    for unmet in crate::plan::unmet_requirements(plan, wheels, target) {
        let by = format!(
            "the lock entry {} {} ({}) requires `{}`",
            unmet.wheel.name, unmet.wheel.version, unmet.wheel.file_name, unmet.requirement
        );
        problems.push(match unmet.found {
            Some(found) => format!(
                "{by}, but the lock installs {} {} ({})",
                found.name, found.version, found.file_name
            ),
            None => format!("{by}, which the lock does not install on this target"),
        });
    }
    problems
}

fn package_entry(planned: &PlannedWheel, wheels: &[WheelInfo], manifest: &Manifest) -> LockPackage {
    let info = wheels.iter().find(|w| w.file_name == planned.file_name);
    // package.json's digest when it recorded one (wagon 1.0 did not): else hash the wheel.
    let digest = manifest.digest_of(&planned.file_name).cloned().or_else(|| {
        let (sha256, size) = crate::wheel::sha256_file(&info?.path).ok()?;
        Some(crate::manifest::WheelDigest { sha256, size })
    });
    LockPackage {
        name: planned.name.to_string(),
        version: Some(planned.version.to_string()),
        marker: planned.marker.clone(),
        requires_python: info
            .and_then(|w| w.metadata.requires_python.as_ref())
            .map(ToString::to_string)
            .filter(|s| !s.is_empty()),
        dependencies: planned
            .dependencies
            .iter()
            .map(|name| LockDependency {
                name: name.to_string(),
            })
            .collect(),
        wheels: vec![LockWheel {
            name: Some(planned.file_name.clone()),
            path: Some(format!("wheels/{}", planned.file_name)),
            url: None,
            size: digest.as_ref().map(|d| d.size),
            hashes: digest
                .map(|d| BTreeMap::from([("sha256".to_string(), d.sha256)]))
                .unwrap_or_default(),
        }],
    }
}

/// The environment the lock was resolved for: the build interpreter's Python version, plus its
/// OS and machine when the archive holds platform-specific wheels.
fn environment_of(target: &Interpreter, manifest: &Manifest) -> String {
    let report = &target.report;
    let mut parts = vec![format!("python_version == \"{}\"", report.python_version)];
    if manifest.supported_platform != "any" {
        parts.push(format!("sys_platform == \"{}\"", report.sys_platform));
        parts.push(format!(
            "platform_machine == \"{}\"",
            report.platform_machine
        ));
    }
    parts.join(" and ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // fixtures written here, not input
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::python::{parse_core_metadata, parse_wheel_filename};

    /// `name`-`version` as a wheel whose METADATA says `metadata_name` and requires `requires`.
    fn wheel_saying(
        name: &str,
        version: &str,
        metadata_name: &str,
        requires: &[&str],
    ) -> WheelInfo {
        let file_name = format!("{}-{version}-py3-none-any.whl", name.replace('-', "_"));
        let mut text =
            format!("Metadata-Version: 2.1\nName: {metadata_name}\nVersion: {version}\n");
        for requirement in requires {
            text.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        let metadata = parse_core_metadata(text.as_bytes(), "METADATA").unwrap();
        WheelInfo {
            path: PathBuf::from(&file_name),
            filename: parse_wheel_filename(&file_name).unwrap(),
            file_name,
            metadata,
            display_name: metadata_name.to_string(),
        }
    }

    fn wheel(name: &str, version: &str, requires: &[&str]) -> WheelInfo {
        wheel_saying(name, version, name, requires)
    }

    /// An entry `name version` for the wheel `file` (by path, with a hash), depending on `deps`.
    fn entry(name: &str, version: &str, file: &str, deps: &[&str]) -> LockPackage {
        LockPackage {
            name: name.to_string(),
            version: Some(version.to_string()),
            marker: None,
            requires_python: None,
            dependencies: deps
                .iter()
                .map(|d| LockDependency {
                    name: d.to_string(),
                })
                .collect(),
            wheels: vec![LockWheel {
                name: Some(file.to_string()),
                path: Some(format!("wheels/{file}")),
                url: None,
                size: None,
                hashes: BTreeMap::from([("sha256".to_string(), "0".repeat(64))]),
            }],
        }
    }

    fn lock(packages: Vec<LockPackage>) -> PyLock {
        PyLock {
            lock_version: "1.0".to_string(),
            environments: None,
            requires_python: None,
            created_by: "wagon".to_string(),
            packages,
        }
    }

    /// The problems `plan_for` finds with `lock` over `wheels`, for the root `app`.
    fn plan_problems_of(lock: &PyLock, wheels: &[WheelInfo]) -> Vec<String> {
        let roots = [python::package_name("app").unwrap()];
        match lock.plan_for(wheels, &crate::interpreter::tests::linux(), &roots, false) {
            Ok(_) => Vec::new(),
            Err(LockError::Unsound { problems, .. }) => problems,
            Err(other) => panic!("{other}"),
        }
    }

    /// `disagreements` of `lock` with an archive holding exactly `files` (hashes not compared).
    fn static_problems(lock: &PyLock, files: &[&str]) -> Vec<String> {
        let manifest = Manifest::from_json(
            serde_json::json!({
                "archive_name": "app.wgn",
                "package_name": "app",
                "package_version": "1.0",
                "package_source": "app",
                "supported_platform": "any",
                "supported_python_versions": ["py3"],
                "wheels": files,
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        lock.disagreements(&manifest, &Digested::default())
    }

    #[test]
    fn a_consistent_lock_is_followed() {
        let wheels = [wheel("app", "1.0", &["dep>=1"]), wheel("dep", "1.1", &[])];
        let lock = lock(vec![
            entry("app", "1.0", &wheels[0].file_name, &["dep"]),
            entry("dep", "1.1", &wheels[1].file_name, &[]),
        ]);
        assert_eq!(plan_problems_of(&lock, &wheels), Vec::<String>::new());
        assert_eq!(
            static_problems(&lock, &[&wheels[0].file_name, &wheels[1].file_name]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn one_entry_per_project_unless_their_markers_never_meet() {
        let wheels = [
            wheel("app", "1.0", &[]),
            wheel("dep", "1.1", &[]),
            wheel("dep", "0.5", &[]),
        ];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let both = lock(vec![
            entry("app", "1.0", files[0], &[]),
            entry("Dep", "1.1", files[1], &[]),
            entry("dep", "0.5", files[2], &[]),
        ]);
        let plan = plan_problems_of(&both, &wheels);
        assert!(
            plan[0].starts_with("the lock has two entries for dep that apply"),
            "{plan:?}"
        );
        let problems = static_problems(&both, &files);
        assert!(
            problems[0].starts_with("the lock has two entries for dep (Dep 1.1 and dep 0.5)"),
            "{problems:?}"
        );

        // One entry per environment is PEP 751's way of locking several: only one applies.
        let mut per_platform = both.clone();
        per_platform.packages[1].marker = Some("sys_platform == 'linux'".to_string());
        per_platform.packages[2].marker = Some("sys_platform == 'win32'".to_string());
        assert_eq!(static_problems(&per_platform, &files), Vec::<String>::new());
        assert_eq!(
            plan_problems_of(&per_platform, &wheels),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_entry_is_its_wheel_by_file_name_and_metadata() {
        let wheels = [wheel("app", "1.0", &[]), wheel("good", "1.0", &[])];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        for (name, version) in [("evil", "1.0"), ("good", "2.0")] {
            let lock = lock(vec![
                entry("app", "1.0", files[0], &[]),
                entry(name, version, files[1], &[]),
            ]);
            let expected = format!(
                "the lock entry {name} {version} names the wheel good-1.0-py3-none-any.whl, \
                 which is good 1.0 by its file name"
            );
            let problems = static_problems(&lock, &files);
            assert!(problems[0].starts_with(&expected), "{problems:?}");
            let problems = plan_problems_of(&lock, &wheels);
            assert!(problems[0].starts_with(&expected), "{problems:?}");
        }
        // A wheel whose METADATA is another project (WheelInfo::read refuses it; the lock's
        // check does not rely on that).
        let renamed = [wheels[0].clone(), wheel_saying("good", "1.0", "evil", &[])];
        let lock = lock(vec![
            entry("app", "1.0", files[0], &[]),
            entry("good", "1.0", files[1], &[]),
        ]);
        let problems = plan_problems_of(&lock, &renamed);
        assert!(
            problems[0].contains("which is evil 1.0 by its METADATA"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_requirement_that_applies_is_met_inside_the_plan() {
        let app = wheel(
            "app",
            "1.0",
            &["dep>=1", "win-only; sys_platform == 'win32'", "lib[fast]"],
        );
        let wheels = [
            app,
            wheel("dep", "0.5", &[]),
            wheel(
                "lib",
                "1.0",
                &["speedups; extra == 'fast'", "never; extra == 'slow'"],
            ),
        ];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let lock = lock(vec![
            entry("app", "1.0", files[0], &["dep", "lib"]),
            entry("dep", "0.5", files[1], &[]),
            entry("lib", "1.0", files[2], &[]),
        ]);
        // win-only does not apply on Linux, and lib's `slow` extra is not asked for.
        assert_eq!(
            plan_problems_of(&lock, &wheels),
            [
                "the lock entry app 1.0 (app-1.0-py3-none-any.whl) requires `dep>=1`, but the \
                 lock installs dep 0.5 (dep-0.5-py3-none-any.whl)",
                "the lock entry lib 1.0 (lib-1.0-py3-none-any.whl) requires `speedups ; extra \
                 == 'fast'`, which the lock does not install on this target",
            ]
        );
    }

    #[test]
    fn the_lock_names_only_wheels_inside_the_archive() {
        let wheels = [wheel("app", "1.0", &["dep"]), wheel("dep", "1.0", &[])];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let mut lock = lock(vec![
            entry("app", "1.0", files[0], &["dep", "ghost"]),
            entry("dep", "1.0", files[1], &[]),
        ]);
        lock.packages[1].wheels[0].path = None;
        lock.packages[1].wheels[0].url =
            Some("https://example.invalid/dep-1.0-py3-none-any.whl".to_string());
        lock.packages[0].wheels[0].path = Some("../app-1.0-py3-none-any.whl".to_string());
        let mut sdist_only = entry("sdist-only", "1.0", "x", &[]);
        sdist_only.wheels.clear();
        lock.packages.push(sdist_only);
        let problems = static_problems(&lock, &files);
        assert_eq!(
            problems,
            [
                "the lock's path for app-1.0-py3-none-any.whl is `../app-1.0-py3-none-any.whl`, \
                 not `wheels/app-1.0-py3-none-any.whl`; the archive's lock may only name wheels \
                 inside the archive",
                "the lock entry dep 1.0 gives dep-1.0-py3-none-any.whl by url only \
                 (https://example.invalid/dep-1.0-py3-none-any.whl); the archive's lock may only \
                 name wheels inside the archive, by path `wheels/dep-1.0-py3-none-any.whl`",
                "the lock entry sdist-only 1.0 has no wheel; the archive's lock may only name \
                 wheels inside the archive",
                "the lock entry app 1.0 lists ghost among its dependencies, but the lock has no \
                 entry for it",
            ]
        );
    }
}
