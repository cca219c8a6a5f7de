//! The target interpreter: probed once (version, implementation, platform, sysconfig paths),
//! then turned into the PEP 425 tags and PEP 508 marker environment that decide what installs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::Deserialize;

use crate::environment::Environment;
use crate::python::{
    Arch, MarkerEnvironment, MarkerEnvironmentBuilder, Os, Platform, Tags, TagsOptions, Version,
};

const PROBE: &str = include_str!("probe.py");

/// Why an interpreter could not be used as a target.
#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    #[error(
        "cannot run the Python interpreter {python}: {source}. Pass an interpreter with --python or a virtualenv with --venv."
    )]
    Spawn {
        python: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{python} did not answer Wagon's interpreter probe (is it Python 3?): {detail}")]
    Probe { python: PathBuf, detail: String },
    #[error("cannot work out the platform of {python}: {detail}")]
    Platform { python: PathBuf, detail: String },
    #[error("no virtualenv interpreter in {venv} (looked for {expected})")]
    NoVenvPython { venv: PathBuf, expected: PathBuf },
}

/// What the probe reports, as the interpreter said it.
#[derive(Debug, Clone, Deserialize)]
pub struct ProbeReport {
    pub executable: PathBuf,
    pub base_executable: PathBuf,
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    pub implementation_name: String,
    pub implementation_version: String,
    pub python_full_version: String,
    pub python_version: String,
    pub os_name: String,
    pub platform_machine: String,
    pub platform_python_implementation: String,
    pub platform_release: String,
    pub platform_system: String,
    pub platform_version: String,
    pub sys_platform: String,
    pub sysconfig_platform: String,
    pub macos_version: Option<String>,
    pub libc: Option<Libc>,
    pub pointer_bits: u8,
    pub gil_disabled: bool,
    pub paths: BTreeMap<String, PathBuf>,
    pub has_pip: bool,
    /// PEP 668: the distribution manages this interpreter's packages (never for a virtualenv).
    #[serde(default)]
    pub externally_managed: Option<ExternallyManaged>,
}

/// The `EXTERNALLY-MANAGED` marker of a distribution's interpreter.
#[derive(Debug, Clone, Deserialize)]
pub struct ExternallyManaged {
    /// The marker file.
    pub marker: PathBuf,
    /// Its `[externally-managed] Error` text, which PEP 668 asks installers to show.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Libc {
    /// `glibc` or `musl`.
    pub kind: String,
    pub version: String,
}

/// A probed interpreter with its compatible tags and marker environment.
#[derive(Debug, Clone)]
pub struct Interpreter {
    /// The interpreter as the user named it.
    pub python: PathBuf,
    pub report: ProbeReport,
    /// Its tags, markers and version: what planning for it reads.
    pub env: Environment,
}

impl Interpreter {
    /// Runs the probe in `python` once and derives tags and markers.
    pub fn probe(python: &Path) -> Result<Self, InterpreterError> {
        let output = Command::new(python)
            .args(["-I", "-c", PROBE])
            .output()
            .map_err(|source| InterpreterError::Spawn {
                python: python.to_path_buf(),
                source,
            })?;
        if !output.status.success() {
            return Err(InterpreterError::Probe {
                python: python.to_path_buf(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        let report: ProbeReport =
            serde_json::from_slice(&output.stdout).map_err(|err| InterpreterError::Probe {
                python: python.to_path_buf(),
                detail: err.to_string(),
            })?;
        Self::from_report(python, report)
    }

    /// Derives tags and markers from a probe report (also used to describe other machines).
    pub fn from_report(python: &Path, report: ProbeReport) -> Result<Self, InterpreterError> {
        let platform_error = |detail: String| InterpreterError::Platform {
            python: python.to_path_buf(),
            detail,
        };
        let platform = platform_of(&report).map_err(platform_error)?;
        let (major, minor) = parse_major_minor(&report.python_version).ok_or_else(|| {
            platform_error(format!("odd python_version `{}`", report.python_version))
        })?;
        let implementation = report.implementation_name.as_str();
        let implementation_version =
            parse_major_minor(&report.implementation_version).unwrap_or((major, minor));
        let tags = Tags::from_env(
            platform,
            (major, minor),
            implementation,
            implementation_version,
            TagsOptions {
                manylinux_compatible: report.libc.as_ref().is_some_and(|l| l.kind == "glibc"),
                gil_disabled: report.gil_disabled,
                debug_enabled: false,
                is_cross: false,
            },
        )
        .map_err(|err| platform_error(err.to_string()))?;
        let markers = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: &report.implementation_name,
            implementation_version: &report.implementation_version,
            os_name: &report.os_name,
            platform_machine: &report.platform_machine,
            platform_python_implementation: &report.platform_python_implementation,
            platform_release: &report.platform_release,
            platform_system: &report.platform_system,
            platform_version: &report.platform_version,
            python_full_version: &report.python_full_version,
            python_version: &report.python_version,
            sys_platform: &report.sys_platform,
        })
        .map_err(|err| platform_error(err.to_string()))?;
        let python_full_version = Version::from_str(&report.python_full_version)
            .map_err(|err| platform_error(err.to_string()))?;
        let description = format!(
            "{} {} on {} {} ({})",
            report.platform_python_implementation,
            report.python_full_version,
            report.sys_platform,
            report.platform_machine,
            python.display()
        );
        Ok(Self {
            python: python.to_path_buf(),
            report,
            env: Environment {
                tags,
                markers,
                python_full_version,
                description,
            },
        })
    }

    /// `py311`: wagon 1.0's default python tag for an archive made with this interpreter.
    pub fn default_python_tag(&self) -> String {
        format!("py{}", self.report.python_version.replace('.', ""))
    }

    /// wagon 1.0's platform name for this interpreter (`sysconfig.get_platform()` with `-` and
    /// `.` turned into `_`).
    pub fn legacy_platform(&self) -> String {
        self.report.sysconfig_platform.replace(['-', '.'], "_")
    }

    /// A short description for messages: `CPython 3.11.7 on linux x86_64 (/path/python)`.
    pub fn describe(&self) -> &str {
        self.env.describe()
    }

    /// The interpreter's absolute path, as launchers and RECORD name it: what it reports as
    /// `sys.executable`, else the path it was reached by made absolute. Never relative, so a
    /// launcher works from any directory and never runs a `python` found relative to one.
    pub fn executable(&self) -> PathBuf {
        if self.report.executable.is_absolute() {
            return self.report.executable.clone();
        }
        std::path::absolute(&self.python).unwrap_or_else(|_| self.python.clone())
    }

    /// Whether this interpreter lives in a virtual environment.
    pub fn is_venv(&self) -> bool {
        self.report.prefix != self.report.base_prefix
    }
}

/// The interpreter of a virtualenv directory.
pub fn venv_python(venv: &Path) -> Result<PathBuf, InterpreterError> {
    let expected = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };
    if expected.exists() {
        Ok(expected)
    } else {
        Err(InterpreterError::NoVenvPython {
            venv: venv.to_path_buf(),
            expected,
        })
    }
}

fn parse_major_minor(text: &str) -> Option<(u8, u8)> {
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}

fn platform_of(report: &ProbeReport) -> Result<Platform, String> {
    let machine = report.platform_machine.to_ascii_lowercase();
    let arch_name = match (machine.as_str(), report.pointer_bits) {
        ("amd64" | "x86_64", 64) => "x86_64",
        ("amd64" | "x86_64" | "i386" | "i686" | "x86", 32) => "i686",
        ("arm64" | "aarch64", 64) => "aarch64",
        ("arm64" | "aarch64", 32) => "armv7l",
        (other, _) => other,
    };
    let arch = Arch::from_str(arch_name)?;
    let os = match report.sys_platform.as_str() {
        "linux" => match &report.libc {
            Some(libc) => {
                let (major, minor) = parse_major_minor(&libc.version)
                    .ok_or_else(|| format!("odd {} version `{}`", libc.kind, libc.version))?;
                if libc.kind == "musl" {
                    Os::Musllinux {
                        major: major.into(),
                        minor: minor.into(),
                    }
                } else {
                    Os::Manylinux {
                        major: major.into(),
                        minor: minor.into(),
                    }
                }
            }
            // Without a known libc only `linux_<arch>` and pure wheels fit.
            None => Os::Manylinux { major: 0, minor: 0 },
        },
        "darwin" => {
            let version = report.macos_version.as_deref().unwrap_or("11.0");
            let (major, minor) = parse_major_minor(version).unwrap_or((11, 0));
            Os::Macos {
                major: major.into(),
                minor: minor.into(),
            }
        }
        "win32" | "cygwin" => Os::Windows,
        other => {
            let release = report.platform_release.clone();
            match other {
                s if s.starts_with("freebsd") => Os::FreeBsd { release },
                s if s.starts_with("netbsd") => Os::NetBsd { release },
                s if s.starts_with("openbsd") => Os::OpenBsd { release },
                _ => return Err(format!("unsupported sys.platform `{other}`")),
            }
        }
    };
    Ok(Platform::new(os, arch))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::python::parse_wheel_filename;

    /// CPython 3.11.7 on glibc 2.36 Linux x86_64, as other modules' tests' target.
    pub(crate) fn linux() -> Interpreter {
        let target = Interpreter::from_report(
            Path::new("py"),
            report("linux", "x86_64", Some(("glibc", "2.36")), None),
        );
        let Ok(target) = target else {
            panic!("{target:?}")
        };
        target
    }

    fn report(
        sys_platform: &str,
        machine: &str,
        libc: Option<(&str, &str)>,
        macos: Option<&str>,
    ) -> ProbeReport {
        ProbeReport {
            executable: "/x/python".into(),
            base_executable: "/x/python".into(),
            prefix: "/x".into(),
            base_prefix: "/x".into(),
            implementation_name: "cpython".into(),
            implementation_version: "3.11.7".into(),
            python_full_version: "3.11.7".into(),
            python_version: "3.11".into(),
            os_name: if sys_platform == "win32" {
                "nt"
            } else {
                "posix"
            }
            .into(),
            platform_machine: machine.into(),
            platform_python_implementation: "CPython".into(),
            platform_release: "6.1".into(),
            platform_system: "Linux".into(),
            platform_version: "#1".into(),
            sys_platform: sys_platform.into(),
            sysconfig_platform: "linux-x86_64".into(),
            macos_version: macos.map(Into::into),
            libc: libc.map(|(kind, version)| Libc {
                kind: kind.into(),
                version: version.into(),
            }),
            pointer_bits: 64,
            gil_disabled: false,
            paths: BTreeMap::new(),
            has_pip: false,
            externally_managed: None,
        }
    }

    fn fits(target: &Interpreter, wheel: &str) -> bool {
        parse_wheel_filename(wheel).is_ok_and(|w| w.is_compatible(&target.env.tags))
    }

    #[test]
    fn wheel_fit_follows_pep_425_and_600() {
        let glibc = Interpreter::from_report(
            Path::new("py"),
            report("linux", "x86_64", Some(("glibc", "2.36")), None),
        );
        let Ok(glibc) = glibc else {
            panic!("{glibc:?}")
        };
        assert!(fits(&glibc, "a-1-py3-none-any.whl"));
        assert!(fits(
            &glibc,
            "a-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        ));
        assert!(fits(&glibc, "a-1-cp311-cp311-manylinux_2_36_x86_64.whl"));
        assert!(fits(&glibc, "a-1-cp311-cp311-manylinux1_x86_64.whl"));
        assert!(fits(&glibc, "a-1-cp39-abi3-manylinux_2_28_x86_64.whl"));
        assert!(fits(&glibc, "a-1-cp311-cp311-linux_x86_64.whl"));
        assert!(
            !fits(&glibc, "a-1-cp311-cp311-manylinux_2_39_x86_64.whl"),
            "glibc too old"
        );
        assert!(
            !fits(&glibc, "a-1-cp311-cp311-manylinux_2_17_aarch64.whl"),
            "other arch"
        );
        assert!(
            !fits(&glibc, "a-1-cp311-cp311-musllinux_1_2_x86_64.whl"),
            "musl on glibc"
        );
        assert!(
            !fits(&glibc, "a-1-cp312-cp312-manylinux_2_17_x86_64.whl"),
            "other Python"
        );
        assert!(!fits(&glibc, "a-1-cp311-cp311-win_amd64.whl"));

        let musl = Interpreter::from_report(
            Path::new("py"),
            report("linux", "x86_64", Some(("musl", "1.2.4")), None),
        );
        let Ok(musl) = musl else { panic!("{musl:?}") };
        assert!(fits(&musl, "a-1-cp311-cp311-musllinux_1_2_x86_64.whl"));
        assert!(!fits(&musl, "a-1-cp311-cp311-manylinux_2_17_x86_64.whl"));

        let mac = Interpreter::from_report(
            Path::new("py"),
            report("darwin", "arm64", None, Some("14.2")),
        );
        let Ok(mac) = mac else { panic!("{mac:?}") };
        assert!(fits(&mac, "a-1-cp311-cp311-macosx_11_0_arm64.whl"));
        assert!(fits(&mac, "a-1-cp311-cp311-macosx_10_9_universal2.whl"));
        assert!(!fits(&mac, "a-1-cp311-cp311-macosx_10_9_x86_64.whl"));

        let windows =
            Interpreter::from_report(Path::new("py"), report("win32", "AMD64", None, None));
        let Ok(windows) = windows else {
            panic!("{windows:?}")
        };
        assert!(fits(&windows, "a-1-cp311-cp311-win_amd64.whl"));
        assert!(!fits(&windows, "a-1-cp311-cp311-win32.whl"));
        assert!(fits(&windows, "a-1-py2.py3-none-any.whl"));
    }
}
