//! Targets: the machines an archive is made for, declared rather than probed. A target spec
//! (`cp312-manylinux_2_28_x86_64`, `cp310-win_amd64`, uv's `x86_64-pc-windows-msvc` with a
//! Python version, `host`, or a JSON "complete platform" file) becomes the [`Environment`]
//! planning and resolution read — its PEP 425 tags and PEP 508 markers — with no interpreter of
//! that kind at hand.
//!
//! The tags and markers come from the same derivation as a probed interpreter's
//! ([`Interpreter::from_report`]), fed the facts the spec states, so a declared `cp311` Linux
//! target and a probed CPython 3.11 on the same glibc agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::environment::Environment;
use crate::interpreter::{Interpreter, Libc, ProbeReport};
use crate::python::{Arch, BinaryFormat, LanguageTag, PlatformTag};

/// What the user asked for, before the host is probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The build interpreter's own environment.
    Host,
    /// A machine declared by its facts.
    Declared(Machine),
}

/// A machine as a target declares it: enough to derive tags and markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The canonical name, `cp312-manylinux_2_28_x86_64`: in messages, `package.json` and the
    /// archive's name.
    pub tag: String,
    /// `(3, 12)`.
    pub python: (u8, u8),
    /// `3.12.0` unless the user gave a patch release.
    pub python_full_version: String,
    pub os: TargetOs,
    /// `platform.machine()` as that OS spells it: `x86_64`, `aarch64`, `AMD64`, `arm64`.
    pub machine: String,
    /// A complete platform's own marker values, which win over the derived ones.
    pub markers: BTreeMap<String, String>,
}

/// The operating system of a declared machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOs {
    /// glibc Linux at this glibc version (manylinux).
    Manylinux { major: u16, minor: u16 },
    /// musl Linux at this musl version.
    Musllinux { major: u16, minor: u16 },
    /// Windows.
    Windows,
    /// macOS at this version.
    Macos { major: u16, minor: u16 },
}

/// Why a target spec was refused; each message quotes it and shows the accepted forms.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "`{spec}` is not a target: {reason}. A target is a Python tag and a platform tag \
         (`cp312-manylinux_2_28_x86_64`, `cp310-win_amd64`, `cp311-macosx_11_0_arm64`, \
         `cp312-musllinux_1_2_aarch64`), a uv platform with --python-version \
         (`x86_64-pc-windows-msvc`, `aarch64-apple-darwin`, `x86_64-manylinux_2_28`), `host`, \
         or a JSON complete-platform file"
    )]
    Spec { spec: String, reason: String },
    #[error(
        "the target `{spec}` names no Python version: add --python-version (e.g. 3.12), or \
         write it as a tag (`cp312-…`)"
    )]
    NoPythonVersion { spec: String },
    #[error("cannot read the complete-platform file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot derive the tags and markers of `{spec}`: {reason}")]
    Derive { spec: String, reason: String },
}

impl TargetSpec {
    /// Parses one `--target` value. `python_version` (`3.12`, `3.12.4`) serves the forms that
    /// name no Python (uv's platforms).
    pub fn parse(spec: &str, python_version: Option<&str>) -> Result<Self, TargetError> {
        let spec = spec.trim();
        if spec == "host" {
            return Ok(Self::Host);
        }
        if Path::new(spec)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            return complete_platform(Path::new(spec)).map(Self::Declared);
        }
        let bad = |reason: &str| TargetError::Spec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        if let Some((python_tag, platform)) = spec.split_once('-')
            && python_tag.starts_with("cp")
            && let Ok(language) = LanguageTag::from_str(python_tag)
        {
            let Some(python) = cpython_version(&language) else {
                return Err(bad("only CPython tags (`cp3XX`) are supported as targets"));
            };
            let (os, machine) = platform_tag(platform).map_err(|reason| bad(&reason))?;
            let full = match python_version {
                Some(v) if v.starts_with(&format!("{}.{}.", python.0, python.1)) => v.to_string(),
                _ => format!("{}.{}.0", python.0, python.1),
            };
            return Ok(Self::Declared(Machine {
                tag: spec.to_string(),
                python,
                python_full_version: full,
                os,
                machine,
                markers: BTreeMap::new(),
            }));
        }
        let (os, machine) = uv_platform(spec).ok_or_else(|| bad("unknown platform"))?;
        let version = python_version.ok_or_else(|| TargetError::NoPythonVersion {
            spec: spec.to_string(),
        })?;
        let (python, full) = parse_python_version(version).ok_or_else(|| {
            bad(&format!(
                "--python-version `{version}` is not a version like 3.12"
            ))
        })?;
        let tag = format!(
            "cp{}{}-{}",
            python.0,
            python.1,
            platform_tag_name(&os, &machine)
        );
        Ok(Self::Declared(Machine {
            tag,
            python,
            python_full_version: full,
            os,
            machine,
            markers: BTreeMap::new(),
        }))
    }
}

impl Machine {
    /// The environment planning reads for this machine.
    pub fn environment(&self) -> Result<Environment, TargetError> {
        let report = self.report();
        let mut env = Interpreter::from_report(Path::new(&self.tag), report)
            .map_err(|err| TargetError::Derive {
                spec: self.tag.clone(),
                reason: err.to_string(),
            })?
            .env;
        env.description = self.tag.clone();
        Ok(env)
    }

    /// wagon 1.0's `supported_platform` spelling (`sysconfig.get_platform()` with `-` and `.`
    /// as `_`): `linux_x86_64`, `win_amd64`, `macosx_11_0_arm64`.
    pub fn legacy_platform(&self) -> String {
        self.sysconfig_platform().replace(['-', '.'], "_")
    }

    fn sysconfig_platform(&self) -> String {
        match &self.os {
            TargetOs::Manylinux { .. } | TargetOs::Musllinux { .. } => {
                format!("linux-{}", self.machine)
            }
            TargetOs::Windows => match self.machine.as_str() {
                "AMD64" => "win-amd64".to_string(),
                "ARM64" => "win-arm64".to_string(),
                _ => "win32".to_string(),
            },
            TargetOs::Macos { major, minor } => {
                format!("macosx-{major}.{minor}-{}", self.machine)
            }
        }
    }

    /// The facts of this machine as the interpreter probe would have reported them.
    fn report(&self) -> ProbeReport {
        let (sys_platform, os_name, system) = match self.os {
            TargetOs::Manylinux { .. } | TargetOs::Musllinux { .. } => ("linux", "posix", "Linux"),
            TargetOs::Windows => ("win32", "nt", "Windows"),
            TargetOs::Macos { .. } => ("darwin", "posix", "Darwin"),
        };
        let libc = match self.os {
            TargetOs::Manylinux { major, minor } => Some(Libc {
                kind: "glibc".to_string(),
                version: format!("{major}.{minor}"),
            }),
            TargetOs::Musllinux { major, minor } => Some(Libc {
                kind: "musl".to_string(),
                version: format!("{major}.{minor}"),
            }),
            _ => None,
        };
        let macos_version = match self.os {
            TargetOs::Macos { major, minor } => Some(format!("{major}.{minor}")),
            _ => None,
        };
        let pointer_bits = if matches!(self.machine.as_str(), "x86" | "i686" | "armv7l") {
            32
        } else {
            64
        };
        let marker = |key: &str, default: &str| {
            self.markers
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        let python_version = format!("{}.{}", self.python.0, self.python.1);
        ProbeReport {
            executable: PathBuf::new(),
            base_executable: PathBuf::new(),
            prefix: PathBuf::new(),
            base_prefix: PathBuf::new(),
            implementation_name: marker("implementation_name", "cpython"),
            implementation_version: marker("implementation_version", &self.python_full_version),
            python_full_version: marker("python_full_version", &self.python_full_version),
            python_version: marker("python_version", &python_version),
            os_name: marker("os_name", os_name),
            platform_machine: marker("platform_machine", &self.machine),
            platform_python_implementation: marker("platform_python_implementation", "CPython"),
            platform_release: marker("platform_release", ""),
            platform_system: marker("platform_system", system),
            platform_version: marker("platform_version", ""),
            sys_platform: marker("sys_platform", sys_platform),
            sysconfig_platform: self.sysconfig_platform(),
            macos_version,
            libc,
            pointer_bits,
            gil_disabled: false,
            paths: BTreeMap::new(),
            has_pip: false,
            externally_managed: None,
        }
    }
}

/// The canonical name of a probed interpreter as a target: `cp311-manylinux_2_36_x86_64`.
pub fn host_tag(interpreter: &Interpreter) -> String {
    let report = &interpreter.report;
    let python = report.python_version.replace('.', "");
    let machine = &report.platform_machine;
    let major_minor = |version: &str| version.replace('.', "_");
    let platform = match (report.sys_platform.as_str(), &report.libc) {
        ("linux", Some(libc)) if libc.kind == "musl" => {
            format!("musllinux_{}_{machine}", major_minor(&libc.version))
        }
        ("linux", Some(libc)) => format!("manylinux_{}_{machine}", major_minor(&libc.version)),
        ("darwin", _) => format!(
            "macosx_{}_{machine}",
            major_minor(report.macos_version.as_deref().unwrap_or("11.0"))
        ),
        _ => interpreter.legacy_platform(),
    };
    format!("cp{python}-{platform}")
}

/// An environment's marker values by name, as `package.json` records a target's.
pub fn marker_values(env: &Environment) -> BTreeMap<String, String> {
    // The marker environment serialises as its PEP 508 names; versions as their text.
    let Ok(serde_json::Value::Object(values)) = serde_json::to_value(&env.markers) else {
        return BTreeMap::new();
    };
    values
        .into_iter()
        .filter_map(|(key, value)| match value {
            serde_json::Value::String(text) => Some((key, text)),
            _ => None,
        })
        .collect()
}

fn cpython_version(language: &LanguageTag) -> Option<(u8, u8)> {
    match language {
        LanguageTag::CPython {
            python_version: (major, minor),
        } => Some((*major, *minor)),
        _ => None,
    }
}

/// `3.12` → ((3, 12), "3.12.0"); `3.12.4` → ((3, 12), "3.12.4").
fn parse_python_version(text: &str) -> Option<((u8, u8), String)> {
    let mut parts = text.trim().split('.');
    let major: u8 = parts.next()?.parse().ok()?;
    let minor: u8 = parts.next()?.parse().ok()?;
    let patch: u16 = match parts.next() {
        None => 0,
        Some(p) => p.parse().ok()?,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(((major, minor), format!("{major}.{minor}.{patch}")))
}

/// A PEP 425/600/656 platform tag as the OS and machine of a target.
fn platform_tag(text: &str) -> Result<(TargetOs, String), String> {
    let tag = PlatformTag::from_str(text).map_err(|err| err.to_string())?;
    let linux_machine = |arch: Arch| arch.to_string();
    Ok(match tag {
        PlatformTag::Manylinux { major, minor, arch } => {
            (TargetOs::Manylinux { major, minor }, linux_machine(arch))
        }
        PlatformTag::Manylinux2014 { arch } => (
            TargetOs::Manylinux {
                major: 2,
                minor: 17,
            },
            linux_machine(arch),
        ),
        PlatformTag::Manylinux2010 { arch } => (
            TargetOs::Manylinux {
                major: 2,
                minor: 12,
            },
            linux_machine(arch),
        ),
        PlatformTag::Manylinux1 { arch } => (
            TargetOs::Manylinux { major: 2, minor: 5 },
            linux_machine(arch),
        ),
        PlatformTag::Musllinux { major, minor, arch } => {
            (TargetOs::Musllinux { major, minor }, linux_machine(arch))
        }
        PlatformTag::WinAmd64 => (TargetOs::Windows, "AMD64".to_string()),
        PlatformTag::Win32 => (TargetOs::Windows, "x86".to_string()),
        PlatformTag::WinArm64 => (TargetOs::Windows, "ARM64".to_string()),
        PlatformTag::Macos {
            major,
            minor,
            binary_format,
        } => {
            let machine = match binary_format {
                BinaryFormat::Arm64 => "arm64",
                BinaryFormat::X86_64 => "x86_64",
                _ => {
                    return Err(format!(
                        "macOS `{binary_format}` names several machines; use `arm64` or `x86_64`"
                    ));
                }
            };
            (TargetOs::Macos { major, minor }, machine.to_string())
        }
        PlatformTag::Linux { .. } => {
            return Err(
                "`linux_*` names no C library; use `manylinux_2_X_<arch>` or \
                 `musllinux_1_X_<arch>`"
                    .to_string(),
            );
        }
        _ => return Err("targets are Linux, Windows or macOS platforms".to_string()),
    })
}

/// The platform tag that names a machine, for a target given in uv's spelling.
fn platform_tag_name(os: &TargetOs, machine: &str) -> String {
    match os {
        TargetOs::Manylinux { major, minor } => format!("manylinux_{major}_{minor}_{machine}"),
        TargetOs::Musllinux { major, minor } => format!("musllinux_{major}_{minor}_{machine}"),
        TargetOs::Windows => match machine {
            "AMD64" => "win_amd64".to_string(),
            "ARM64" => "win_arm64".to_string(),
            _ => "win32".to_string(),
        },
        TargetOs::Macos { major, minor } => format!("macosx_{major}_{minor}_{machine}"),
    }
}

/// uv's `--python-platform` spellings, with uv's defaults for the versions they leave open
/// (glibc 2.28, musl 1.2, macOS 13.0).
fn uv_platform(text: &str) -> Option<(TargetOs, String)> {
    const GLIBC: TargetOs = TargetOs::Manylinux {
        major: 2,
        minor: 28,
    };
    const MUSL: TargetOs = TargetOs::Musllinux { major: 1, minor: 2 };
    const MACOS: TargetOs = TargetOs::Macos {
        major: 13,
        minor: 0,
    };
    let found = match text {
        "windows" | "x86_64-pc-windows-msvc" => (TargetOs::Windows, "AMD64"),
        "i686-pc-windows-msvc" => (TargetOs::Windows, "x86"),
        "aarch64-pc-windows-msvc" => (TargetOs::Windows, "ARM64"),
        "macos" | "aarch64-apple-darwin" => (MACOS, "arm64"),
        "x86_64-apple-darwin" => (MACOS, "x86_64"),
        "linux" | "x86_64-unknown-linux-gnu" => (GLIBC, "x86_64"),
        "aarch64-unknown-linux-gnu" => (GLIBC, "aarch64"),
        "x86_64-unknown-linux-musl" => (MUSL, "x86_64"),
        "aarch64-unknown-linux-musl" => (MUSL, "aarch64"),
        other => {
            // `x86_64-manylinux_2_28`, `aarch64-musllinux_1_2`: an arch and a platform tag.
            let (arch, rest) = other.split_once('-')?;
            let arch = Arch::from_str(arch).ok()?;
            let (os, machine) = platform_tag(&format!("{rest}_{arch}")).ok()?;
            return Some((os, machine));
        }
    };
    Some((found.0, found.1.to_string()))
}

/// pex's "complete platform" JSON: a marker environment and the compatible tags, best first.
#[derive(Debug, Deserialize)]
struct CompletePlatform {
    marker_environment: BTreeMap<String, String>,
    compatible_tags: Vec<String>,
}

/// A machine from a complete-platform file. The tags are derived from the best listed tag's
/// platform and the marker environment's Python (the derivation a probed interpreter gets), so
/// a file whose list departs from that derivation is approximated, not followed tag by tag.
fn complete_platform(path: &Path) -> Result<Machine, TargetError> {
    let file_error = |reason: String| TargetError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| file_error(err.to_string()))?;
    let platform: CompletePlatform =
        serde_json::from_str(&text).map_err(|err| file_error(err.to_string()))?;
    let python_version = platform
        .marker_environment
        .get("python_full_version")
        .or_else(|| platform.marker_environment.get("python_version"))
        .ok_or_else(|| file_error("its marker_environment has no python_version".to_string()))?;
    let (python, full) = parse_python_version(python_version)
        .ok_or_else(|| file_error(format!("odd python version `{python_version}`")))?;
    let best = platform
        .compatible_tags
        .iter()
        .filter_map(|tag| tag.rsplit('-').next())
        .find(|platform| *platform != "any")
        .ok_or_else(|| file_error("its compatible_tags name no platform".to_string()))?;
    let (os, machine) = platform_tag(best).map_err(file_error)?;
    Ok(Machine {
        tag: format!("cp{}{}-{best}", python.0, python.1),
        python,
        python_full_version: full,
        os,
        machine,
        markers: platform.marker_environment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::{MarkerTree, parse_wheel_filename};

    fn env(spec: &str, python: Option<&str>) -> Environment {
        match TargetSpec::parse(spec, python).unwrap() {
            TargetSpec::Declared(machine) => machine.environment().unwrap(),
            TargetSpec::Host => panic!("{spec} is not declared"),
        }
    }

    fn fits(env: &Environment, wheel: &str) -> bool {
        parse_wheel_filename(wheel)
            .unwrap()
            .is_compatible(&env.tags)
    }

    fn holds(env: &Environment, marker: &str) -> bool {
        MarkerTree::from_str(marker)
            .unwrap()
            .evaluate(&env.markers, &[])
    }

    #[test]
    fn windows_targets_have_windows_markers_and_tags() {
        let win = env("cp310-win_amd64", None);
        assert_eq!(win.describe(), "cp310-win_amd64");
        assert!(holds(&win, "sys_platform == 'win32'"));
        assert!(holds(
            &win,
            "platform_system == 'Windows' and os_name == 'nt'"
        ));
        assert!(holds(&win, "python_version < '3.11'"));
        assert!(holds(&win, "platform_machine == 'AMD64'"));
        assert!(fits(&win, "numpy-2.1.3-cp310-cp310-win_amd64.whl"));
        assert!(fits(&win, "six-1.16.0-py2.py3-none-any.whl"));
        assert!(fits(&win, "x-1.0-cp37-abi3-win_amd64.whl"));
        assert!(!fits(&win, "numpy-2.1.3-cp310-cp310-win32.whl"));
        assert!(!fits(&win, "numpy-2.1.3-cp311-cp311-win_amd64.whl"));
        assert_eq!(win.python_full_version.to_string(), "3.10.0");
    }

    #[test]
    fn manylinux_targets_accept_older_glibc_wheels_only() {
        let linux = env("cp312-manylinux_2_28_x86_64", None);
        assert!(holds(
            &linux,
            "sys_platform == 'linux' and platform_machine == 'x86_64'"
        ));
        assert!(holds(&linux, "python_version >= '3.11'"));
        assert!(fits(
            &linux,
            "numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        ));
        assert!(fits(&linux, "x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl"));
        assert!(!fits(&linux, "x-1.0-cp312-cp312-manylinux_2_34_x86_64.whl"));
        assert!(!fits(&linux, "x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl"));
        assert!(!fits(
            &linux,
            "x-1.0-cp312-cp312-manylinux_2_28_aarch64.whl"
        ));
        assert_eq!(
            TargetSpec::parse("cp312-manylinux_2_28_x86_64", None).unwrap(),
            TargetSpec::parse("x86_64-manylinux_2_28", Some("3.12")).unwrap()
        );
    }

    #[test]
    fn musl_and_macos_targets() {
        let musl = env("cp312-musllinux_1_2_aarch64", None);
        assert!(fits(&musl, "x-1.0-cp312-cp312-musllinux_1_1_aarch64.whl"));
        assert!(!fits(&musl, "x-1.0-cp312-cp312-manylinux_2_17_aarch64.whl"));
        let mac = env("cp311-macosx_11_0_arm64", None);
        assert!(holds(
            &mac,
            "sys_platform == 'darwin' and platform_machine == 'arm64'"
        ));
        assert!(fits(&mac, "x-1.0-cp311-cp311-macosx_11_0_arm64.whl"));
        assert!(fits(&mac, "x-1.0-cp311-cp311-macosx_10_9_universal2.whl"));
        assert!(!fits(&mac, "x-1.0-cp311-cp311-macosx_14_0_arm64.whl"));
        assert!(!fits(&mac, "x-1.0-cp311-cp311-macosx_10_9_x86_64.whl"));
    }

    #[test]
    fn uv_spellings_need_a_python_version() {
        let win = env("x86_64-pc-windows-msvc", Some("3.12.4"));
        assert_eq!(win.describe(), "cp312-win_amd64");
        assert_eq!(win.python_full_version.to_string(), "3.12.4");
        let mac = env("aarch64-apple-darwin", Some("3.12"));
        assert_eq!(mac.describe(), "cp312-macosx_13_0_arm64");
        let err = TargetSpec::parse("x86_64-unknown-linux-gnu", None).unwrap_err();
        assert!(matches!(err, TargetError::NoPythonVersion { .. }), "{err}");
    }

    #[test]
    fn bad_specs_are_refused_with_the_accepted_forms() {
        for (spec, reason) in [
            ("cp312-linux_x86_64", "names no C library"),
            ("cp312-macosx_10_9_universal2", "names several machines"),
            ("pp310-win_amd64", "unknown platform"),
            ("cp312-win_amd65", "cp312-win_amd65"),
            ("sparc-sun-solaris", "unknown platform"),
        ] {
            let err = TargetSpec::parse(spec, Some("3.12"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(reason), "{spec}: {err}");
            assert!(err.contains("cp312-manylinux_2_28_x86_64"), "{spec}: {err}");
        }
        assert_eq!(TargetSpec::parse(" host ", None).unwrap(), TargetSpec::Host);
    }

    #[test]
    fn a_complete_platform_file_keeps_its_markers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("box.json");
        std::fs::write(
            &path,
            serde_json::json!({
                "marker_environment": {
                    "implementation_name": "cpython",
                    "implementation_version": "3.11.9",
                    "os_name": "posix",
                    "platform_machine": "aarch64",
                    "platform_python_implementation": "CPython",
                    "platform_release": "5.15.0-1051-aws",
                    "platform_system": "Linux",
                    "platform_version": "#56-Ubuntu SMP",
                    "python_full_version": "3.11.9",
                    "python_version": "3.11",
                    "sys_platform": "linux"
                },
                "compatible_tags": [
                    "cp311-cp311-manylinux_2_35_aarch64",
                    "cp311-abi3-manylinux_2_35_aarch64",
                    "py3-none-any"
                ]
            })
            .to_string(),
        )
        .unwrap();
        let env = env(path.to_str().unwrap(), None);
        assert_eq!(env.describe(), "cp311-manylinux_2_35_aarch64");
        assert!(holds(&env, "platform_release == '5.15.0-1051-aws'"));
        assert_eq!(env.python_full_version.to_string(), "3.11.9");
        let recorded = marker_values(&env);
        assert_eq!(recorded.len(), 11, "{recorded:?}");
        assert_eq!(recorded["platform_release"], "5.15.0-1051-aws");
        assert_eq!(recorded["python_full_version"], "3.11.9");
        assert!(fits(&env, "x-1.0-cp311-cp311-manylinux_2_17_aarch64.whl"));
    }
}
