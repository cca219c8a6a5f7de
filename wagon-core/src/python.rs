//! Python packaging semantics (PEP 440 versions, PEP 508 requirements and markers, PEP 425/600
//! tags, wheel file names and core metadata), behind one module.
//!
//! Everything Wagon knows about Python's rules comes from Astral's `uv-*` crates, pinned together
//! in the workspace manifest. The rest of Wagon imports these names from here, never from the
//! crates themselves, so an upgrade of those crates touches this file alone (and `redact`, which
//! masks credentials in URLs with `uv-redacted`: not Python packaging).

use std::str::FromStr;

pub use uv_distribution_filename::WheelFilename;
pub use uv_normalize::{ExtraName, PackageName};
pub use uv_pep440::{Version, VersionSpecifiers};
pub use uv_pep508::{MarkerEnvironment, MarkerEnvironmentBuilder, MarkerTree, VersionOrUrl};
pub use uv_platform_tags::{
    Arch, BinaryFormat, IncompatibleTag, LanguageTag, Os, Platform, PlatformTag, TagCompatibility,
    Tags, TagsOptions,
};

// For the resolver (wagon-resolver): specifier parts (is it a pin? does it name a pre-release?),
// and turning a PubGrub range back into words.
pub use uv_pep440::{Operator, VersionSpecifier, strip_local_version_sentinels};

// For the package index client (`wagon-index`): distribution file names (wheel or sdist) and the
// PEP 691 simple API's file entries, hashes, yank marks and lenient `Requires-Python`.
pub use uv_distribution_filename::{DistFilename, SourceDistFilename};
pub use uv_pypi_types::{
    CoreMetadata as SimpleApiMetadata, Hashes, LenientVersionSpecifiers, PypiFile,
    PypiSimpleDetail, Yanked,
};

/// A PEP 508 requirement as found in wheel metadata (`Requires-Dist`).
pub type Requirement = uv_pep508::Requirement<uv_pypi_types::VerbatimParsedUrl>;

/// Why a piece of Python packaging syntax was rejected; each message quotes the input.
#[derive(Debug, thiserror::Error)]
pub enum PythonSyntaxError {
    #[error("`{input}` is not a valid wheel file name: {reason}")]
    WheelFilename { input: String, reason: String },
    #[error("`{input}` is not a valid Python package name: {reason}")]
    PackageName { input: String, reason: String },
    #[error("`{input}` is not a valid PEP 440 version: {reason}")]
    Version { input: String, reason: String },
    #[error("`{input}` is not a valid extra name: {reason}")]
    ExtraName { input: String, reason: String },
    #[error("`{input}` is not a valid version specifier: {reason}")]
    Specifiers { input: String, reason: String },
    #[error("`{input}` is not a valid PEP 508 requirement: {reason}")]
    Requirement { input: String, reason: String },
    #[error(
        "`{input}` is not a PEP 425 Python tag (expected e.g. `py3`, `py311`, `cp312`): {reason}"
    )]
    PythonTag { input: String, reason: String },
    #[error("`{input}` is not a valid wheel METADATA file: {reason}")]
    Metadata { input: String, reason: String },
}

/// Parses a wheel file name (`name-version[-build]-py-abi-platform.whl`).
pub fn parse_wheel_filename(file_name: &str) -> Result<WheelFilename, PythonSyntaxError> {
    WheelFilename::from_str(file_name).map_err(|err| PythonSyntaxError::WheelFilename {
        input: file_name.to_string(),
        reason: err.to_string(),
    })
}

/// Parses and normalises a project name (PEP 503: `Foo.Bar_baz` → `foo-bar-baz`).
pub fn package_name(name: &str) -> Result<PackageName, PythonSyntaxError> {
    PackageName::from_str(name).map_err(|err| PythonSyntaxError::PackageName {
        input: name.to_string(),
        reason: err.to_string(),
    })
}

/// Parses and normalises an extra's name (`Fancy_UI` → `fancy-ui`).
pub fn extra_name(name: &str) -> Result<ExtraName, PythonSyntaxError> {
    ExtraName::from_str(name).map_err(|err| PythonSyntaxError::ExtraName {
        input: name.to_string(),
        reason: err.to_string(),
    })
}

/// Parses a PEP 440 version.
pub fn version(text: &str) -> Result<Version, PythonSyntaxError> {
    Version::from_str(text).map_err(|err| PythonSyntaxError::Version {
        input: text.to_string(),
        reason: err.to_string(),
    })
}

/// Parses a PEP 440 specifier set such as `>=3.8,<4`.
pub fn specifiers(text: &str) -> Result<VersionSpecifiers, PythonSyntaxError> {
    VersionSpecifiers::from_str(text).map_err(|err| PythonSyntaxError::Specifiers {
        input: text.to_string(),
        reason: err.to_string(),
    })
}

/// Parses a PEP 508 requirement such as `flask[async]>=3; python_version >= "3.9"`.
pub fn requirement(text: &str) -> Result<Requirement, PythonSyntaxError> {
    Requirement::from_str(text).map_err(|err| PythonSyntaxError::Requirement {
        input: text.to_string(),
        reason: err.to_string(),
    })
}

/// Parses a PEP 425 Python tag exactly as written: `py3` stays `py3` (wagon 1.0 turned it into
/// `pypy3`), `py311` and `cp312` are accepted, and a bare `311` or `3.11` means `py311`, as the
/// old tool's `--pyver 27` meant `py27`.
pub fn python_tag(text: &str) -> Result<String, PythonSyntaxError> {
    let trimmed = text.trim();
    let candidate =
        if trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') && !trimmed.is_empty() {
            format!("py{}", trimmed.replace('.', ""))
        } else {
            trimmed.to_string()
        };
    LanguageTag::from_str(&candidate)
        .map(|tag| tag.to_string())
        .map_err(|err| PythonSyntaxError::PythonTag {
            input: text.to_string(),
            reason: err.to_string(),
        })
}

/// The CPython 3 minor versions a PEP 425 python tag allows, out of `candidates`: `py3` and
/// `cp3` all of them, `py311` and `cp311` only 3.11, any other tag (`py2`, `pp39`) none.
pub fn cpython3_minors_of_tag(tag: &str, candidates: std::ops::RangeInclusive<u8>) -> Vec<u8> {
    match LanguageTag::from_str(tag) {
        Ok(LanguageTag::Python {
            major: 3,
            minor: None,
        })
        | Ok(LanguageTag::CPythonMajor { major: 3 }) => candidates.collect(),
        Ok(LanguageTag::Python {
            major: 3,
            minor: Some(minor),
        })
        | Ok(LanguageTag::CPython {
            python_version: (3, minor),
        }) => candidates.filter(|m| *m == minor).collect(),
        _ => Vec::new(),
    }
}

/// The intersection of several `Requires-Python` specifier sets, simplified (`>=3.8` and
/// `>=3.10,<4` give `>=3.10, <4`), with release-only semantics as installers check
/// `Requires-Python`. `None` when nothing satisfies them all (the sets are then best kept
/// as they are, so that no Python passes).
pub fn intersect_requires_python<'a>(
    all: impl IntoIterator<Item = &'a VersionSpecifiers>,
) -> Option<VersionSpecifiers> {
    let mut range = uv_pep440::release_specifiers_to_ranges(VersionSpecifiers::empty());
    for specifiers in all {
        range = range.intersection(&uv_pep440::release_specifiers_to_ranges(specifiers.clone()));
    }
    if range.is_empty() {
        return None;
    }
    Some(VersionSpecifiers::from_release_only_bounds(range.iter()))
}

/// The parts of a wheel's core metadata (`METADATA`) that installing needs.
#[derive(Debug, Clone)]
pub struct CoreMetadata {
    pub name: PackageName,
    /// The project name as METADATA spells it (`Flask`, not `flask`): the same `Name` header
    /// the parse above read, kept only when it is a valid name normalising to [`Self::name`].
    pub display_name: String,
    pub version: Version,
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
    pub provides_extra: Vec<ExtraName>,
}

/// Parses a wheel's `METADATA` file. `source` names it in errors.
pub fn parse_core_metadata(bytes: &[u8], source: &str) -> Result<CoreMetadata, PythonSyntaxError> {
    let parsed = uv_pypi_types::ResolutionMetadata::parse_metadata(bytes).map_err(|err| {
        PythonSyntaxError::Metadata {
            input: source.to_string(),
            reason: err.to_string(),
        }
    })?;
    // The field is single-use: two `Name`s would let two readers see two projects. The
    // headers are read by `mailparse`, the parser behind `parse_metadata`; a key with trailing
    // blanks (`Name :`) counts too, as Wagon cannot tell which reader honours it.
    let headers = mailparse::parse_headers(bytes)
        .map(|(headers, _)| headers)
        .unwrap_or_default();
    let names: Vec<String> = headers
        .iter()
        .filter(|header| header.get_key_ref().trim_end().eq_ignore_ascii_case("name"))
        .map(|header| header.get_value())
        .collect();
    if names.len() > 1 {
        return Err(PythonSyntaxError::Metadata {
            input: source.to_string(),
            reason: "it has more than one `Name` field".to_string(),
        });
    }
    let display_name = names
        .into_iter()
        .next()
        .map(|spelled| spelled.trim().to_string())
        .filter(|spelled| PackageName::from_str(spelled).is_ok_and(|n| n == parsed.name))
        .unwrap_or_else(|| parsed.name.to_string());
    Ok(CoreMetadata {
        display_name,
        name: parsed.name,
        version: parsed.version,
        requires_dist: parsed.requires_dist.into_vec(),
        requires_python: parsed.requires_python,
        provides_extra: parsed.provides_extra.into_vec(),
    })
}

/// Whether a requirement applies in `env` when the requiring project was asked for `extras`.
pub fn requirement_applies(
    req: &Requirement,
    env: &MarkerEnvironment,
    extras: &[ExtraName],
) -> bool {
    req.evaluate_markers(env, extras)
}

/// The condition under which `req` (declared by a project installed with `extras`) applies,
/// with the extras resolved away: `None` when it always applies.
pub fn edge_marker(req: &Requirement, extras: &[ExtraName]) -> MarkerTree {
    req.marker.simplify_extras(extras).without_extras()
}

/// Parses a PEP 508 marker expression (`sys_platform == "linux"`).
pub fn marker(text: &str) -> Result<MarkerTree, PythonSyntaxError> {
    MarkerTree::from_str(text).map_err(|err| PythonSyntaxError::Requirement {
        input: text.to_string(),
        reason: err.to_string(),
    })
}

/// Whether a requirement can apply without any extra requested (other markers taken as true).
pub fn needed_without_extras(req: &Requirement) -> bool {
    req.marker.evaluate_only_extras(&[])
}

/// The wheel's platform tags rendered as strings (e.g. `manylinux_2_17_x86_64`).
pub fn platform_tags_of(wheel: &WheelFilename) -> Vec<String> {
    wheel
        .platform_tags()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Whether every platform tag of the wheel is `any`.
pub fn is_pure(wheel: &WheelFilename) -> bool {
    wheel.platform_tags().iter().all(PlatformTag::is_any)
}

/// The `sysconfig.get_platform()`-style name that wagon 1.0.3's installer compares against
/// (`linux_x86_64`, `win_amd64`, `macosx_11_0_arm64`), for a platform tag. PEP 600 and legacy
/// manylinux and musllinux tags map to `linux_<arch>`, the name a Linux interpreter reports.
pub fn legacy_platform_name(tag: &PlatformTag) -> String {
    let text = tag.to_string();
    if let Some(rest) = text
        .strip_prefix("manylinux")
        .or_else(|| text.strip_prefix("musllinux"))
    {
        // `manylinux_2_17_x86_64`, `manylinux2014_x86_64`, `manylinux1_i686` → the arch suffix.
        let arch = rest
            .trim_start_matches('_')
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
        return format!("linux_{arch}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_are_read_by_the_header_parser() {
        let parsed =
            parse_core_metadata(b"Metadata-Version: 2.1\nName: Flask_X\nVersion: 1\n", "m")
                .unwrap();
        assert_eq!(
            (parsed.name.as_ref(), parsed.display_name.as_str()),
            ("flask-x", "Flask_X")
        );
        // A folded header is one value to an email parser, and a second `Name` (any case, any
        // blanks before the colon) is refused.
        let folded = parse_core_metadata(
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1\nSummary: a\n b\n",
            "m",
        )
        .unwrap();
        assert_eq!(folded.display_name, "demo");
        for twice in [
            &b"Metadata-Version: 2.1\nName: a\nVersion: 1\nname: b\n"[..],
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\nNAME : b\n",
        ] {
            let err = parse_core_metadata(twice, "m").map(|m| m.name).unwrap_err();
            assert!(err.to_string().contains("more than one `Name`"), "{err}");
        }
        // Headers end at the first blank line: a `Name` in the body is description.
        let body = parse_core_metadata(
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\n\nName: b\n",
            "m",
        )
        .unwrap();
        assert_eq!(body.display_name, "a");
    }

    #[test]
    fn python_tags_are_kept_as_written() {
        assert_eq!(python_tag("py3").ok().as_deref(), Some("py3"));
        assert_eq!(python_tag("py311").ok().as_deref(), Some("py311"));
        assert_eq!(python_tag("cp312").ok().as_deref(), Some("cp312"));
        assert_eq!(python_tag("27").ok().as_deref(), Some("py27"));
        assert_eq!(python_tag("3.11").ok().as_deref(), Some("py311"));
        assert!(python_tag("snake").is_err());
    }

    #[test]
    fn legacy_platform_names_follow_sysconfig() {
        let cases = [
            ("manylinux_2_17_x86_64", "linux_x86_64"),
            ("manylinux2014_aarch64", "linux_aarch64"),
            ("manylinux1_i686", "linux_i686"),
            ("musllinux_1_2_x86_64", "linux_x86_64"),
            ("linux_x86_64", "linux_x86_64"),
            ("win_amd64", "win_amd64"),
            ("any", "any"),
        ];
        for (tag, expected) in cases {
            let parsed = PlatformTag::from_str(tag).map_err(|e| e.to_string());
            assert_eq!(
                parsed.map(|t| legacy_platform_name(&t)),
                Ok(expected.to_string()),
                "{tag}"
            );
        }
    }
}
