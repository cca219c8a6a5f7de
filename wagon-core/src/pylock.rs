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
    /// PEP 751's `[tool]` table; Wagon keeps the archive's roots and exclusions in
    /// `[tool.wagon]`, which other installers ignore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<LockTool>,
}

/// The lock's `[tool]` table, as far as Wagon reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockTool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wagon: Option<WagonTool>,
}

/// `[tool.wagon]`: what the lock's packages were planned from, as `package.json` records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WagonTool {
    /// The archive's roots, as PEP 508 requirements (`root_packages`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<String>,
    /// Projects left out of the archive (`excluded_projects`): the lock has no entry for them,
    /// and the environment must provide them before the lock is installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
}

impl LockTool {
    /// `[tool.wagon]` for `manifest`, when it records roots or exclusions.
    fn of(manifest: &Manifest) -> Option<Self> {
        let roots = manifest.root_packages.clone().unwrap_or_default();
        let excluded: Vec<String> = crate::plan::excluded_projects(manifest)
            .iter()
            .map(ToString::to_string)
            .collect();
        (!roots.is_empty() || !excluded.is_empty()).then_some(Self {
            wagon: Some(WagonTool { roots, excluded }),
        })
    }
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
        let excluded = crate::plan::excluded_projects(manifest);
        let plan = crate::plan::select(wheels, &roots, &excluded, target, false)?;
        Ok(Self::from_plan(&plan, wheels, manifest, target))
    }

    /// The lock of a multi-target archive: one environment per target, and per project and
    /// version one entry listing every wheel a target uses (installers pick by tags), with a
    /// marker naming the targets that need it when not all do. Each target is planned from its
    /// own wheels (`targets`: its environment and the file names of its closure).
    pub fn for_targets(
        manifest: &Manifest,
        wheels: &[WheelInfo],
        extras: &[String],
        targets: &[(Environment, Vec<String>)],
    ) -> Result<Self, PlanError> {
        let roots = crate::plan::roots(manifest, extras)?;
        let excluded = crate::plan::excluded_projects(manifest);
        // (name, version) → the entry so far and the targets using it.
        let mut merged: BTreeMap<(String, String), (LockPackage, Vec<usize>)> = BTreeMap::new();
        for (index, (env, files)) in targets.iter().enumerate() {
            let own: Vec<WheelInfo> = wheels
                .iter()
                .filter(|w| files.contains(&w.file_name))
                .cloned()
                .collect();
            let plan = crate::plan::select(&own, &roots, &excluded, env, false)?;
            for planned in &plan.wheels {
                let entry = package_entry(planned, wheels, manifest);
                let key = (planned.name.to_string(), planned.version.to_string());
                let (package, users) = merged.entry(key).or_insert_with(|| {
                    let mut empty = entry.clone();
                    empty.wheels.clear();
                    empty.dependencies.clear();
                    (empty, Vec::new())
                });
                users.push(index);
                for wheel in entry.wheels {
                    if !package.wheels.iter().any(|w| w.name == wheel.name) {
                        package.wheels.push(wheel);
                    }
                }
                for dependency in entry.dependencies {
                    if !package.dependencies.contains(&dependency) {
                        package.dependencies.push(dependency);
                    }
                }
            }
        }
        let environments: Vec<String> = targets.iter().map(|(env, _)| target_marker(env)).collect();
        let packages = merged
            .into_values()
            .map(|(mut package, users)| {
                package.wheels.sort_by(|a, b| a.name.cmp(&b.name));
                package.dependencies.sort_by(|a, b| a.name.cmp(&b.name));
                package.marker = (users.len() < targets.len()).then(|| {
                    users
                        .iter()
                        .map(|i| format!("({})", environments[*i]))
                        .collect::<Vec<_>>()
                        .join(" or ")
                });
                package
            })
            .collect();
        Ok(Self {
            lock_version: "1.0".to_string(),
            environments: Some(environments),
            requires_python: manifest.python_requires.clone(),
            created_by: "wagon".to_string(),
            packages,
            tool: LockTool::of(manifest),
        })
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
            tool: LockTool::of(manifest),
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

/// A target's environment marker: its Python version, OS and machine.
pub(crate) fn target_marker(target: &Environment) -> String {
    let markers = &target.markers;
    format!(
        "python_version == '{}' and sys_platform == '{}' and platform_machine == '{}'",
        markers.python_version().string,
        markers.sys_platform(),
        markers.platform_machine()
    )
}

/// The environments of a lock that serves the CPython 3 minor versions `minors` (ascending) on
/// the build platform of `target`: one marker per run of consecutive versions, open-ended (up
/// to Python 4) when a run reaches `newest_checked`; with OS and machine when the archive holds
/// platform-specific wheels.
pub(crate) fn python_span_environments(
    minors: &[u8],
    newest_checked: u8,
    target: &Environment,
    manifest: &Manifest,
) -> Vec<String> {
    let mut runs: Vec<(u8, u8)> = Vec::new();
    for &minor in minors {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(minor) => *last = minor,
            _ => runs.push((minor, minor)),
        }
    }
    runs.into_iter()
        .map(|(first, last)| {
            let python = if last >= newest_checked {
                format!("python_version >= \"3.{first}\" and python_version < \"4\"")
            } else if first == last {
                format!("python_version == \"3.{first}\"")
            } else {
                format!("python_version >= \"3.{first}\" and python_version <= \"3.{last}\"")
            };
            let mut parts = vec![python];
            parts.extend(platform_markers(target, manifest));
            parts.join(" and ")
        })
        .collect()
}

/// `sys_platform` and `platform_machine` of `target` when the archive holds platform-specific
/// wheels; nothing for a pure archive.
fn platform_markers(target: &Environment, manifest: &Manifest) -> Vec<String> {
    if manifest.supported_platform == "any" {
        return Vec::new();
    }
    let markers = &target.markers;
    vec![
        format!("sys_platform == \"{}\"", markers.sys_platform()),
        format!("platform_machine == \"{}\"", markers.platform_machine()),
    ]
}

/// The environment the lock was resolved for: the build interpreter's Python version, plus its
/// OS and machine when the archive holds platform-specific wheels.
fn environment_of(target: &Environment, manifest: &Manifest) -> String {
    let markers = &target.markers;
    let mut parts = vec![format!(
        "python_version == \"{}\"",
        markers.python_version().string
    )];
    parts.extend(platform_markers(target, manifest));
    parts.join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Digested;
    use crate::targets::TargetSpec;
    use crate::testing::{manifest_with, wheel_file};

    fn target(spec: &str) -> Environment {
        match TargetSpec::parse(spec, None).unwrap() {
            TargetSpec::Declared(machine) => machine.environment().unwrap(),
            TargetSpec::Host => unreachable!(),
        }
    }

    /// `--pyver py3`: one marker per run of Python versions, open-ended when a run reaches the
    /// newest version checked, with the platform only for an archive that has one.
    #[test]
    fn python_spans_become_environment_markers() {
        let linux = target("cp311-manylinux_2_28_x86_64");
        let mut manifest = manifest_with(&["app-1.0-py3-none-any.whl"]);
        assert_eq!(
            python_span_environments(&[9, 10, 11, 12], 12, &linux, &manifest),
            [r#"python_version >= "3.9" and python_version < "4""#]
        );
        assert_eq!(
            python_span_environments(&[8, 9, 11], 30, &linux, &manifest),
            [
                r#"python_version >= "3.8" and python_version <= "3.9""#,
                r#"python_version == "3.11""#
            ]
        );
        manifest.supported_platform = "linux_x86_64".to_string();
        assert_eq!(
            python_span_environments(&[11], 30, &linux, &manifest),
            [
                r#"python_version == "3.11" and sys_platform == "linux" and platform_machine == "x86_64""#
            ]
        );
    }

    /// pytest's shape: Windows-only and old-Python-only dependencies, and one compiled wheel
    /// per platform.
    #[test]
    fn a_multi_target_lock_installs_each_target_its_own_closure() {
        let wheels = [
            wheel_file(
                "app-1.0-py3-none-any.whl",
                "app",
                &[
                    "colorama; sys_platform == 'win32'",
                    "tomli>=1; python_version < '3.11'",
                    "native",
                ],
                None,
            ),
            wheel_file("colorama-0.4.6-py2.py3-none-any.whl", "colorama", &[], None),
            wheel_file("tomli-2.0.1-py3-none-any.whl", "tomli", &[], None),
            wheel_file("native-1.0-cp310-cp310-win_amd64.whl", "native", &[], None),
            wheel_file(
                "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                "native",
                &[],
                None,
            ),
        ];
        let files: Vec<&str> = wheels.iter().map(|w| w.file_name.as_str()).collect();
        let mut manifest = manifest_with(&files);
        for file in &files {
            let digest = crate::manifest::WheelDigest {
                sha256: "0".repeat(64),
                size: 1,
            };
            manifest.wheel_digests.insert((*file).to_string(), digest);
        }
        let (win, linux) = (
            target("cp310-win_amd64"),
            target("cp312-manylinux_2_28_x86_64"),
        );
        let closures = vec![
            (
                win.clone(),
                [0, 1, 2, 3].map(|i| files[i].to_string()).to_vec(),
            ),
            (linux.clone(), [0, 4].map(|i| files[i].to_string()).to_vec()),
        ];
        let lock = PyLock::for_targets(&manifest, &wheels, &[], &closures).unwrap();
        assert_eq!(lock.environments.as_ref().unwrap().len(), 2);
        let entry = |name: &str| lock.packages.iter().find(|p| p.name == name).unwrap();
        assert_eq!(entry("app").marker, None);
        assert_eq!(entry("native").marker, None);
        assert_eq!(entry("native").wheels.len(), 2);
        let win_only = entry("colorama").marker.clone().unwrap();
        assert!(win_only.contains("sys_platform == 'win32'"), "{win_only}");
        assert_eq!(entry("tomli").marker, entry("colorama").marker);
        assert_eq!(
            crate::check::lock::disagreements(&lock, &manifest, &Digested::default()),
            Vec::<String>::new()
        );

        let roots = [python::package_name("app").unwrap()];
        let planned = |env: &Environment| -> Vec<String> {
            let plan = crate::plan::follow_lock(&lock, &wheels, env, &roots, &[], false).unwrap();
            let mut files: Vec<String> = plan.wheels.iter().map(|w| w.file_name.clone()).collect();
            files.sort();
            files
        };
        assert_eq!(
            planned(&win),
            [
                "app-1.0-py3-none-any.whl",
                "colorama-0.4.6-py2.py3-none-any.whl",
                "native-1.0-cp310-cp310-win_amd64.whl",
                "tomli-2.0.1-py3-none-any.whl",
            ]
        );
        assert_eq!(
            planned(&linux),
            [
                "app-1.0-py3-none-any.whl",
                "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            ]
        );
        // A machine that is neither target is refused, naming both.
        let other = target("cp311-manylinux_2_28_x86_64");
        let err = crate::plan::follow_lock(&lock, &wheels, &other, &roots, &[], false).unwrap_err();
        assert!(err.to_string().contains("win32"), "{err}");
    }
}
