//! Packing: from a directory of wheels (a wheelhouse) and the user's choices to the archive's
//! metadata and layout — names, digests, the platform the wheels share, `python_requires`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::archive::ArchiveLayout;
use crate::manifest::{FORMAT_VERSION, Manifest, OsProperties, WheelDigest};
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
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
        let (sha256, size) = wheel::sha256_file(path).map_err(|source| PackError::Io {
            path: path.clone(),
            source,
        })?;
        digests.insert(info.file_name.clone(), WheelDigest { sha256, size });
        infos.push(info);
    }
    infos.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    let platform = shared_platform(&infos)?;
    let supported_platform = request
        .supported_platform
        .clone()
        .unwrap_or_else(|| platform.supported_platform.clone());
    // Every wheel's Requires-Python, deduplicated and in a stable order (wagon 1.0 used set
    // order, so its archives were not reproducible).
    let requires: BTreeSet<String> = infos
        .iter()
        .filter_map(|w| w.metadata.requires_python.as_ref())
        .map(ToString::to_string)
        .filter(|s| !s.is_empty())
        .collect();
    let python_requires =
        (!requires.is_empty()).then(|| requires.into_iter().collect::<Vec<_>>().join(","));
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
        &supported_platform,
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
