//! `pylock.toml` (PEP 751): the archive's install plan in the standard lock format, so uv, pip
//! (26.1+) or any PEP 751 installer can install a wagon without Wagon — and Wagon's own installer
//! follows the same plan instead of deriving it again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::archive::{Digested, WHEELS_DIR};
use crate::manifest::Manifest;
use crate::plan::{InstallPlan, PlannedWheel};
use crate::python::{self, MarkerTree};
use crate::target::Target;
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
        target: &Target,
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

    /// Everything in this lock that disagrees with the archive: wheels it names that the archive
    /// does not list, and hashes or sizes that differ from the wheels' real bytes (`digested`,
    /// as read from the archive).
    pub fn disagreements(&self, manifest: &Manifest, digested: &Digested) -> Vec<String> {
        let mut problems = Vec::new();
        for package in &self.packages {
            for wheel in &package.wheels {
                let Some(file) = wheel.file_name() else {
                    continue;
                };
                if !manifest.wheels.iter().any(|w| w == file) {
                    problems.push(format!(
                        "the lock names {file}, which the archive does not hold"
                    ));
                    continue;
                }
                let path = format!("{WHEELS_DIR}/{file}");
                if wheel.path.as_deref().is_some_and(|p| p != path) {
                    problems.push(format!("the lock's path for {file} is not {path}"));
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
    /// wheel. `root` names the requested project(s).
    pub fn plan_for(
        &self,
        wheels: &[WheelInfo],
        target: &Target,
        roots: &[python::PackageName],
        ignore_platform: bool,
    ) -> Result<InstallPlan, crate::plan::PlanError> {
        let mut planned = Vec::new();
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
                return Err(crate::plan::PlanError::Missing {
                    requirement: display,
                    required_by: "pylock.toml".to_string(),
                });
            }
            let index =
                crate::plan::best_candidate(wheels, &candidates, None, target, ignore_platform)
                    .map_err(|reasons| crate::plan::PlanError::Incompatible {
                        project: package.name.clone(),
                        target: target.describe(),
                        reasons,
                    })?;
            let wheel = &wheels[index];
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
        Ok(InstallPlan {
            wheels: planned,
            unused,
        })
    }

    fn unused_in(&self, wheels: &[WheelInfo], planned: &[PlannedWheel]) -> Vec<String> {
        wheels
            .iter()
            .filter(|w| !planned.iter().any(|p| p.file_name == w.file_name))
            .map(|w| w.file_name.clone())
            .collect()
    }

    /// Checks that `target` is one of the lock's environments.
    pub fn check_environment(&self, target: &Target) -> Result<(), LockError> {
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
fn environment_of(target: &Target, manifest: &Manifest) -> String {
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
