//! Packing: from a directory of wheels (a wheelhouse) and the user's choices to the archive's
//! metadata and layout — names, digests, the platform the wheels share, `python_requires`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::archive::ArchiveLayout;
use crate::manifest::{FORMAT_VERSION, Manifest, OsProperties, TargetRecord, WheelDigest};
use crate::naming::archive_name;
use crate::python::{self, PlatformTag, PythonSyntaxError};
use crate::wheel::{self, WheelError, WheelInfo};

/// What goes into an archive.
#[derive(Debug, Clone, Default)]
pub struct PackRequest {
    /// The package's name as its metadata spells it.
    pub package_name: String,
    pub package_version: String,
    pub build_tag: Option<String>,
    /// PEP 425 python tags for the archive name (e.g. `py3`, `py311`).
    pub python_tags: Vec<String>,
    /// The source as the user typed it (`package_source`).
    pub source: String,
    pub wheels: Vec<PathBuf>,
    /// Extra files for `files/`.
    pub files: Vec<PathBuf>,
    /// Project names left out with `--exclude`.
    pub excluded: Vec<String>,
    /// The build machine's distribution, recorded when the wheels are platform-specific.
    pub os_properties: OsProperties,
    /// Overrides the computed `supported_platform`.
    pub supported_platform: Option<String>,
    /// The machines of a multi-target archive and each one's wheels; empty for an archive made
    /// for the build machine alone.
    pub targets: Vec<TargetRecord>,
}

/// Why an archive could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error(transparent)]
    Syntax(#[from] PythonSyntaxError),
    #[error(
        "the wheels are built for different platforms, so no one machine can install them all:\n{}\nBuild every wheel for one platform (or pass --supported-platform to override).",
        .groups.iter().map(|g| format!("  - {g}")).collect::<Vec<_>>().join("\n")
    )]
    MixedPlatforms { groups: Vec<String> },
    #[error(transparent)]
    Io(#[from] crate::path_error::PathIoError),
    #[error("two files to add are both named `{0}`")]
    DuplicateFile(String),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
}

/// The platform of a set of wheels: `any` when all are pure, else the one platform they share
/// as wagon 1.0's installer names it (`linux_x86_64`), plus the exact tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPlatform {
    pub supported_platform: String,
    pub platform_tags: Vec<String>,
}

/// Works out the platform the wheels share (PEP 600 aware).
pub fn shared_platform(wheels: &[WheelInfo]) -> Result<SharedPlatform, PackError> {
    let mut groups: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    let mut tags = BTreeSet::new();
    for wheel in wheels {
        let platform_tags = wheel.filename.platform_tags();
        if platform_tags.iter().all(PlatformTag::is_any) {
            continue;
        }
        // A wheel with several tags (manylinux_2_17_x86_64.manylinux2014_x86_64) names one
        // platform family; take it from the first tag.
        let family = platform_tags
            .first()
            .map(python::legacy_platform_name)
            .unwrap_or_default();
        groups.entry(family).or_default().push(&wheel.file_name);
        tags.extend(platform_tags.iter().map(ToString::to_string));
    }
    match groups.len() {
        0 => Ok(SharedPlatform {
            supported_platform: "any".to_string(),
            platform_tags: Vec::new(),
        }),
        1 => Ok(SharedPlatform {
            supported_platform: groups.into_keys().next().unwrap_or_default(),
            platform_tags: tags.into_iter().collect(),
        }),
        _ => Err(PackError::MixedPlatforms {
            groups: groups
                .into_iter()
                .map(|(platform, files)| format!("{platform}: {}", files.join(", ")))
                .collect(),
        }),
    }
}

/// An archive ready to write: its manifest, layout, and the wheels it read on the way.
/// The platform of a multi-target archive: in its name, every target's platform joined with `.`
/// as PEP 425 compresses tag sets (`manylinux_2_28_x86_64.win_amd64`); as `supported_platform`,
/// the one wagon 1.0.3 compares with `sysconfig.get_platform()` — the first Linux target's
/// (`linux_x86_64`), else the first target's — so the old tool installs it there.
fn targets_platform(targets: &[TargetRecord], wheels: &[WheelInfo]) -> (SharedPlatform, String) {
    let machines: Vec<crate::targets::Machine> = targets
        .iter()
        .filter_map(|t| match crate::targets::TargetSpec::parse(&t.tag, None) {
            Ok(crate::targets::TargetSpec::Declared(machine)) => Some(machine),
            _ => None,
        })
        .collect();
    let mut platforms: Vec<String> = targets
        .iter()
        .filter_map(|t| {
            t.tag
                .split_once('-')
                .map(|(_, platform)| platform.to_string())
        })
        .collect();
    platforms.sort();
    platforms.dedup();
    let legacy = machines
        .iter()
        .find(|m| m.legacy_platform().starts_with("linux"))
        .or_else(|| machines.first())
        .map_or_else(
            || "any".to_string(),
            crate::targets::Machine::legacy_platform,
        );
    let tags: BTreeSet<String> = wheels
        .iter()
        .flat_map(|w| w.filename.platform_tags().iter().map(ToString::to_string))
        .filter(|t| t != "any")
        .collect();
    (
        SharedPlatform {
            supported_platform: legacy,
            platform_tags: tags.into_iter().collect(),
        },
        platforms.join("."),
    )
}

#[derive(Debug)]
pub struct Prepared {
    pub manifest: Manifest,
    pub layout: ArchiveLayout,
    pub wheels: Vec<WheelInfo>,
}

/// Builds the manifest and layout for `request`, reading and hashing every wheel.
pub fn prepare(request: &PackRequest) -> Result<Prepared, PackError> {
    let mut infos = Vec::with_capacity(request.wheels.len());
    let mut digests = std::collections::BTreeMap::new();
    for path in &request.wheels {
        let info = WheelInfo::read(path)?;
        let (sha256, size) = wheel::sha256_file(path)
            .map_err(crate::path_error::PathIoError::doing("read", path))?;
        digests.insert(info.file_name.clone(), WheelDigest { sha256, size });
        infos.push(info);
    }
    infos.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    let (platform, name_platform) = if request.targets.is_empty() {
        let platform = shared_platform(&infos)?;
        let name = platform.supported_platform.clone();
        (platform, name)
    } else {
        targets_platform(&request.targets, &infos)
    };
    let supported_platform = request
        .supported_platform
        .clone()
        .unwrap_or_else(|| platform.supported_platform.clone());
    // Of a multi-target archive, only the wheels every target uses bound the Python that
    // installs it.
    let everywhere = |wheel: &WheelInfo| {
        request
            .targets
            .iter()
            .all(|t| t.wheels.contains(&wheel.file_name))
    };
    let python_requires = python_requires(infos.iter().filter(|w| everywhere(w)));
    let mut files = Vec::new();
    let mut file_names = BTreeSet::new();
    for path in &request.files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !file_names.insert(name.clone()) {
            return Err(PackError::DuplicateFile(name));
        }
        files.push((name, path.clone()));
    }
    let name = archive_name(
        &request.package_name,
        &request.package_version,
        request.build_tag.as_deref(),
        &request.python_tags,
        request
            .supported_platform
            .as_deref()
            .unwrap_or(&name_platform),
    );
    let os_properties = if supported_platform == "any" {
        OsProperties::default()
    } else {
        request.os_properties.clone()
    };
    let manifest = Manifest {
        archive_name: name,
        build_server_os_properties: os_properties,
        created_by_wagon_version: Some(format!("wagon-rs {}", crate::WAGON_VERSION)),
        files: file_names.into_iter().collect(),
        package_build_tag: request.build_tag.clone(),
        package_name: request.package_name.clone(),
        package_source: Some(request.source.clone()),
        package_version: request.package_version.clone(),
        python_requires,
        supported_platform,
        supported_python_versions: request.python_tags.clone(),
        wheels: infos.iter().map(|w| w.file_name.clone()).collect(),
        excluded_wheels: (!request.excluded.is_empty()).then(|| request.excluded.clone()),
        wagon_format_version: Some(FORMAT_VERSION),
        wheel_digests: digests,
        platform_tags: platform.platform_tags,
        targets: request.targets.clone(),
        root_packages: None,
        excluded_projects: Vec::new(),
        extra: Default::default(),
    };
    let layout = ArchiveLayout {
        top: request.package_name.clone(),
        manifest: manifest.to_json()?,
        metadata_files: Vec::new(),
        wheels: infos
            .iter()
            .map(|w| (w.file_name.clone(), w.path.clone()))
            .collect(),
        files,
    };
    Ok(Prepared {
        manifest,
        layout,
        wheels: infos,
    })
}

/// The Python every wheel's Requires-Python allows, as one simplified specifier set
/// (`>=3.10` rather than wagon 1.0's `>=3.10,>=3.7,>=3.8`). Sets that nothing satisfies together
/// are kept side by side, deduplicated in a stable order, so that they still refuse every Python.
fn python_requires<'a>(wheels: impl Iterator<Item = &'a WheelInfo>) -> Option<String> {
    let sets: Vec<&python::VersionSpecifiers> = wheels
        .filter_map(|w| w.metadata.requires_python.as_ref())
        .filter(|s| !s.is_empty())
        .collect();
    if sets.is_empty() {
        return None;
    }
    match python::intersect_requires_python(sets.iter().copied()) {
        Some(simplified) if simplified.is_empty() => None,
        Some(simplified) => Some(
            simplified
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        None => Some(
            sets.iter()
                .flat_map(|s| s.iter().map(ToString::to_string))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use sha2::Digest;
    use wagon_test_support::wheel::WheelBuilder;

    use super::*;

    const LINUX: &str = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64";

    fn request(wheels: Vec<PathBuf>) -> PackRequest {
        PackRequest {
            package_name: "demo-app".to_string(),
            package_version: "1.0".to_string(),
            python_tags: vec!["py3".to_string()],
            source: "demo-app==1.0".to_string(),
            wheels,
            os_properties: OsProperties {
                distribution: Some("debian".to_string()),
                distribution_release: Some("bookworm".to_string()),
                distribution_version: Some("12".to_string()),
            },
            ..PackRequest::default()
        }
    }

    fn pure(dir: &Path) -> Vec<PathBuf> {
        vec![
            WheelBuilder::new("demo-lib", "1.2")
                .requires_python(">=3.8")
                .build(dir),
            WheelBuilder::new("demo-app", "1.0")
                .requires_python(">=3.9")
                .requires_dist("demo-lib")
                .build(dir),
        ]
    }

    #[test]
    fn pure_wheels_make_an_any_archive() {
        let dir = tempfile::tempdir().unwrap();
        let prepared = prepare(&request(pure(dir.path()))).unwrap();
        let manifest = &prepared.manifest;
        assert_eq!(manifest.supported_platform, "any");
        assert!(manifest.platform_tags.is_empty());
        assert_eq!(manifest.archive_name, "demo_app-1.0-py3-none-any.wgn");
        // A pure archive installs anywhere: the build machine's distribution is not recorded.
        assert_eq!(manifest.build_server_os_properties, OsProperties::default());
        assert_eq!(manifest.package_name, "demo-app");
        assert_eq!(manifest.package_source.as_deref(), Some("demo-app==1.0"));
        assert_eq!(manifest.wagon_format_version, Some(FORMAT_VERSION));
        // Sorted by file name, whatever order the wheelhouse listed them in.
        assert_eq!(
            manifest.wheels,
            [
                "demo_app-1.0-py3-none-any.whl",
                "demo_lib-1.2-py3-none-any.whl"
            ]
        );
        // Every Requires-Python, intersected and simplified.
        assert_eq!(manifest.python_requires.as_deref(), Some(">=3.9"));
        assert_eq!(manifest.excluded_wheels, None);
        assert!(manifest.files.is_empty());
    }

    /// wagon 1.0 wrote `>=3.10,>=3.7,>=3.8,>=3.9`: the intersection says the same in one bound,
    /// and sets no Python satisfies together stay a refusal.
    #[test]
    fn python_requires_is_the_simplified_intersection() {
        let dir = tempfile::tempdir().unwrap();
        let simplified = |specs: &[&str]| {
            let wheels: Vec<WheelInfo> = specs
                .iter()
                .enumerate()
                .map(|(i, spec)| {
                    let mut builder = WheelBuilder::new(&format!("lib{i}"), "1.0");
                    if !spec.is_empty() {
                        builder = builder.requires_python(spec);
                    }
                    WheelInfo::read(&builder.build(dir.path())).unwrap()
                })
                .collect();
            python_requires(wheels.iter())
        };
        assert_eq!(
            simplified(&[">=3.10", ">=3.7", ">=3.8", ">=3.9"]).as_deref(),
            Some(">=3.10")
        );
        assert_eq!(
            simplified(&[">=3.8, <4", "!=3.9.*, >=3.7", ""]).as_deref(),
            Some(">=3.8,!=3.9.*,<4")
        );
        assert_eq!(simplified(&["", ""]), None);
        let never = simplified(&[">=3.12", "<3.9"]).unwrap();
        let specifiers = python::specifiers(&never).unwrap();
        for version in ["3.8", "3.10", "3.12", "3.13"] {
            assert!(
                !specifiers.contains(&python::version(version).unwrap()),
                "{never}"
            );
        }
    }

    #[test]
    fn platform_wheels_share_one_platform() {
        let dir = tempfile::tempdir().unwrap();
        let mut wheels = pure(dir.path());
        wheels.push(
            WheelBuilder::new("fast", "2.0")
                .tag(LINUX)
                .build(dir.path()),
        );
        wheels.push(
            WheelBuilder::new("faster", "0.1")
                .tag("cp311-cp311-musllinux_1_2_x86_64")
                .build(dir.path()),
        );
        let prepared = prepare(&request(wheels)).unwrap();
        let manifest = &prepared.manifest;
        assert_eq!(manifest.supported_platform, "linux_x86_64");
        assert_eq!(
            manifest.platform_tags,
            [
                "manylinux2014_x86_64",
                "manylinux_2_17_x86_64",
                "musllinux_1_2_x86_64"
            ]
        );
        assert_eq!(
            manifest.archive_name,
            "demo_app-1.0-py3-none-linux_x86_64.wgn"
        );
        assert_eq!(
            manifest.build_server_os_properties.distribution.as_deref(),
            Some("debian")
        );

        // --supported-platform overrides the name, not the exact tags.
        let mut overridden = request(prepared.layout.wheels.iter().map(|w| w.1.clone()).collect());
        overridden.supported_platform = Some("linux_custom".to_string());
        let manifest = prepare(&overridden).unwrap().manifest;
        assert_eq!(manifest.supported_platform, "linux_custom");
        assert_eq!(manifest.platform_tags.len(), 3);
    }

    #[test]
    fn two_platforms_are_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut wheels = pure(dir.path());
        wheels.push(
            WheelBuilder::new("fast", "2.0")
                .tag(LINUX)
                .build(dir.path()),
        );
        wheels.push(
            WheelBuilder::new("winfast", "2.0")
                .tag("cp311-cp311-win_amd64")
                .build(dir.path()),
        );
        match prepare(&request(wheels)) {
            Err(PackError::MixedPlatforms { groups }) => assert_eq!(
                groups,
                [
                    "linux_x86_64: fast-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                    "win_amd64: winfast-2.0-cp311-cp311-win_amd64.whl",
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn python_tags_build_tag_and_exclusions_reach_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let mut request = request(pure(dir.path()));
        request.python_tags = vec!["py311".to_string(), "py312".to_string()];
        request.build_tag = Some("7".to_string());
        request.excluded = vec!["never-needed".to_string(), "other".to_string()];
        let manifest = prepare(&request).unwrap().manifest;
        assert_eq!(
            manifest.archive_name,
            "demo_app-1.0-7-py311.py312-none-any.wgn"
        );
        assert_eq!(manifest.supported_python_versions, ["py311", "py312"]);
        assert_eq!(manifest.package_build_tag.as_deref(), Some("7"));
        assert_eq!(
            manifest.excluded_wheels,
            Some(vec!["never-needed".to_string(), "other".to_string()])
        );
    }

    #[test]
    fn digests_are_of_the_wheel_files() {
        let dir = tempfile::tempdir().unwrap();
        let wheels = pure(dir.path());
        let prepared = prepare(&request(wheels.clone())).unwrap();
        assert_eq!(prepared.manifest.wheel_digests.len(), 2);
        for path in wheels {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            let digest = &prepared.manifest.wheel_digests[name];
            assert_eq!(digest.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
            assert_eq!(digest.size, bytes.len() as u64);
        }
        // The manifest in the layout is the one returned.
        assert_eq!(
            Manifest::from_json(&prepared.layout.manifest).unwrap(),
            prepared.manifest
        );
    }

    #[test]
    fn added_files_go_under_their_names_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a/config.yaml");
        let second = dir.path().join("b/config.yaml");
        for path in [&first, &second] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x: 1\n").unwrap();
        }
        let mut request = request(pure(dir.path()));
        request.files = vec![first.clone()];
        let prepared = prepare(&request).unwrap();
        assert_eq!(prepared.manifest.files, ["config.yaml"]);
        assert_eq!(prepared.layout.files, [("config.yaml".to_string(), first)]);
        assert_eq!(prepared.layout.top, "demo-app");

        request.files.push(second);
        assert!(matches!(
            prepare(&request),
            Err(PackError::DuplicateFile(name)) if name == "config.yaml"
        ));
    }

    #[test]
    fn a_broken_wheel_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut wheels = pure(dir.path());
        let broken = dir.path().join("broken-1.0-py3-none-any.whl");
        std::fs::write(&broken, b"not a zip").unwrap();
        wheels.push(broken);
        assert!(matches!(
            prepare(&request(wheels)),
            Err(PackError::Wheel(_))
        ));
    }
}
