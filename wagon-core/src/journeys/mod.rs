//! The journeys, one per command that changes or proves something: `create` (source → archive),
//! `install` (archive → environment), `validate` (archive → findings, by a trial install),
//! `lock` (archive → archive with a `pylock.toml`) and `repair` (archive → archive with its
//! `linux_*` wheels made `manylinux_*`). Each strings together the core's single-job
//! modules; the CLI only parses arguments and renders what a journey returns. `read` is the stage
//! the journeys over an existing archive start with.

pub mod create;
pub mod install;
pub mod lock;
pub mod read;
pub mod repair;
pub mod validate;

use crate::archive::ArchiveError;
use crate::manifest::ManifestError;
use crate::plan::PlanError;
use crate::plugin::InstallerError;
use crate::pylock::LockError;
use crate::python::PythonSyntaxError;
use crate::wheel::WheelError;

/// Why a journey over an existing archive (read, install, validate, lock) failed.
#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{archive}: {source}")]
    Manifest {
        archive: String,
        #[source]
        source: ManifestError,
    },
    #[error(
        "{archive} does not match its own package.json:\n{}\nThe archive was altered or damaged; do not install it.",
        .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Inconsistent {
        archive: String,
        problems: Vec<String>,
    },
    #[error(transparent)]
    Wheel(#[from] WheelError),
    #[error(transparent)]
    Syntax(#[from] PythonSyntaxError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Installer(#[from] InstallerError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot create a scratch directory: {0}")]
    Scratch(#[source] std::io::Error),
    #[error("cannot read {path} of the unpacked archive: {source}")]
    ReadUnpacked {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{target} is externally managed (PEP 668): its packages belong to the system's package \
         manager, and installing into it can break the system.{}\nInstall into a virtualenv \
         instead (`python3 -m venv DIR`, then `wagon install ARCHIVE --venv DIR`), or pass \
         --break-system-packages if you really mean to install into this interpreter.",
        quoted(.error.as_deref())
    )]
    ExternallyManaged {
        target: String,
        /// The distribution's own words (`EXTERNALLY-MANAGED`'s `Error`).
        error: Option<String>,
    },
    #[error(
        "the archive was made without some of the projects it needs (`--exclude`), and \
         {target} does not provide them:\n{}\nInstall them into that environment first, then \
         install the archive again.",
        listed(.unmet)
    )]
    ExcludedNotProvided { target: String, unmet: Vec<String> },
    #[error(
        "{target} has other versions of projects the archive installs:\n{}\nPass -u/--upgrade \
         to replace them with the archive's versions.",
        listed(.conflicts)
    )]
    OtherVersionsInstalled {
        target: String,
        conflicts: Vec<String>,
    },
}

/// Indented list lines, one per item.
fn listed(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("  - {item}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The distribution's message, indented, on lines of its own.
fn quoted(error: Option<&str>) -> String {
    error.map_or_else(String::new, |text| {
        let lines: Vec<String> = text.trim().lines().map(|l| format!("    {l}")).collect();
        format!("\nIts distribution says:\n{}", lines.join("\n"))
    })
}
