//! `pylock.toml` (PEP 751), the format: its types, reading with PEP 751's structural rules,
//! writing, and making one from a plan. The lock is the archive's install plan in the standard
//! format, so uv, pip (26.1+) or any PEP 751 installer can install a wagon without Wagon; checking
//! it against the archive is [`crate::check::lock`], following it is [`crate::plan::follow_lock`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::environment::Environment;
use crate::manifest::Manifest;
use crate::plan::{InstallPlan, PlanError, PlannedWheel};
use crate::python::{self, PackageName, Version};
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

    /// The lock of the archive's roots (`manifest`'s package with `extras`, or its
    /// `root_packages`) planned from the wheels' metadata on `target`: what `create` ships.
    pub fn for_environment(
        manifest: &Manifest,
        wheels: &[WheelInfo],
        extras: &[String],
        target: &Environment,
    ) -> Result<Self, PlanError> {
        let roots = crate::plan::roots(manifest, extras)?;
        let plan = crate::plan::select(wheels, &roots, target, false)?;
        Ok(Self::from_plan(&plan, wheels, manifest, target))
    }

    /// Builds the lock of `plan`, made on `target`, for the archive's `wheels` (paths relative to
    /// the lock, `wheels/<file>`).
    pub fn from_plan(
        plan: &InstallPlan,
        wheels: &[WheelInfo],
        manifest: &Manifest,
        target: &Environment,
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
}

/// A lock entry for messages: `name version`, as the lock spells them.
pub(crate) fn label(package: &LockPackage) -> String {
    match &package.version {
        Some(version) => format!("{} {version}", package.name),
        None => package.name.clone(),
    }
}

/// Why the entry `package` and its wheel `file` — project `name` at `version`, as `source`
/// (its file name or METADATA) says — disagree, if they do.
pub(crate) fn entry_vs_wheel(
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
fn environment_of(target: &Environment, manifest: &Manifest) -> String {
    let markers = &target.markers;
    let mut parts = vec![format!(
        "python_version == \"{}\"",
        markers.python_version().string
    )];
    if manifest.supported_platform != "any" {
        parts.push(format!("sys_platform == \"{}\"", markers.sys_platform()));
        parts.push(format!(
            "platform_machine == \"{}\"",
            markers.platform_machine()
        ));
    }
    parts.join(" and ")
}
