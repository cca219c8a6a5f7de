//! `wagon get-file ARCHIVE NAME`: extract one file packed under `files/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use wagon_core::archive::{FILES_DIR, Flow, safety::safe_relative_path};

use super::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wagon archive.
    archive: PathBuf,

    /// The file's name, as `wagon list-files` prints it.
    name: String,

    /// The directory to write the file into.
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,

    /// Write the file to standard output instead.
    #[arg(long, conflicts_with = "output_dir")]
    stdout: bool,

    /// Overwrite an existing file.
    #[arg(short, long)]
    force: bool,
}

pub fn run(context: &Context, args: Args) -> anyhow::Result<ExitCode> {
    let wanted = safe_relative_path(args.name.as_bytes()).map_err(|why| {
        anyhow::anyhow!("`{}` is not a file name Wagon can write: {why}", args.name)
    })?;
    let archive = context.open(&args.archive)?;
    let relative = format!("{FILES_DIR}/{wanted}");
    let mut found = None;
    let contents = archive.walk(|top, entry, reader| {
        if entry.strip_top(top) == Some(relative.as_str()) {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(|err| {
                wagon_core::archive::ArchiveError::Corrupt {
                    archive: args.archive.clone(),
                    detail: format!("reading {entry}: {err}"),
                }
            })?;
            found = Some(bytes);
            return Ok(Flow::Stop);
        }
        Ok(Flow::Continue)
    })?;
    let Some(bytes) = found else {
        let available: Vec<&str> = contents.files_in(FILES_DIR).collect();
        bail!(
            "{} holds no file `{}` (files: {}); `wagon list-files` shows them",
            args.archive.display(),
            args.name,
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        );
    };
    if args.stdout {
        std::io::stdout().write_all(&bytes)?;
        return Ok(ExitCode::SUCCESS);
    }
    let destination = args.output_dir.join(wanted.to_path());
    if destination.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            destination.display()
        );
    }
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&destination, bytes)
        .with_context(|| format!("cannot write {}", destination.display()))?;
    if !context.quiet {
        eprintln!("wrote {}", destination.display());
    }
    Ok(ExitCode::SUCCESS)
}
