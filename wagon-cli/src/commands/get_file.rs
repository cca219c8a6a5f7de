//! `wagon get-file ARCHIVE NAME`: extract one file packed under `files/`, streamed.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use wagon_core::archive::{FILES_DIR, Flow, safety::safe_relative_path};
use wagon_core::partial::PartialFile;

use super::Context;
use wagon_core::size::Size;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wagon archive: a file, or an http(s) URL to download it from.
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

    /// Print where the file was written as JSON (not with --stdout, which prints the file).
    #[arg(long, conflicts_with = "stdout")]
    json: bool,
}

pub fn run(context: &Context, args: &Args) -> anyhow::Result<ExitCode> {
    let wanted = safe_relative_path(args.name.as_bytes()).map_err(|why| {
        anyhow::anyhow!("`{}` is not a file name Wagon can write: {why}", args.name)
    })?;
    let archive = context.open(&args.archive)?;
    let relative = format!("{FILES_DIR}/{wanted}");
    let destination = args.output_dir.join(wanted.to_path());
    // Streamed, never held in memory: to stdout, or to a partial file renamed when whole.
    let mut out: Box<dyn Write> = Box::new(std::io::stdout().lock());
    let mut partial = None;
    if !args.stdout {
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
        let file = PartialFile::beside(&destination)
            .with_context(|| format!("cannot write {}", destination.display()))?;
        out = Box::new(BufWriter::with_capacity(
            256 * 1024,
            file.as_file().try_clone()?,
        ));
        partial = Some(file);
    }
    let mut found = false;
    let mut written = 0;
    let mut write_failed = None;
    let contents = archive.walk(|top, entry, reader| {
        if entry.strip_top(top) != Some(relative.as_str()) {
            return Ok(Flow::Continue);
        }
        found = true;
        match copy(reader, &mut out) {
            Ok(bytes) => written = bytes,
            Err(err) => match err {
                Copy::Read(err) => {
                    return Err(wagon_core::archive::ArchiveError::Corrupt {
                        archive: crate::remote::shown(&args.archive).into(),
                        detail: format!("reading {entry}: {err}"),
                    });
                }
                // Not the archive's fault (a full disk, a closed pipe): reported as such below.
                Copy::Write(err) => write_failed = Some(err),
            },
        }
        Ok(Flow::Stop)
    })?;
    if !found {
        let available: Vec<&str> = contents.files_in(FILES_DIR).collect();
        bail!(
            "{} holds no file `{}` (files: {}); `wagon list-files` shows them",
            crate::remote::shown(&args.archive),
            args.name,
            if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            }
        );
    }
    let target = if args.stdout {
        "standard output".to_string()
    } else {
        destination.display().to_string()
    };
    if let Some(err) = write_failed {
        return Err(err).with_context(|| format!("cannot write {target}"));
    }
    out.flush()
        .with_context(|| format!("cannot write {target}"))?;
    drop(out);
    let Some(partial) = partial else {
        return Ok(ExitCode::SUCCESS);
    };
    partial
        .persist(&destination)
        .with_context(|| format!("cannot write {}", destination.display()))?;
    if args.json {
        let report = serde_json::json!({
            "archive": crate::remote::shown(&args.archive),
            "file": args.name,
            "written": destination,
            "bytes": written,
        });
        crate::ui::output::line(format_args!("{report}"))?;
    } else if !context.quiet {
        eprintln!("wrote {} ({})", destination.display(), Size(written));
    }
    Ok(ExitCode::SUCCESS)
}

/// Which side of a copy failed.
enum Copy {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// `io::copy`, telling a failed read (the archive's fault) from a failed write; the bytes copied.
fn copy(reader: &mut dyn Read, out: &mut dyn Write) -> Result<u64, Copy> {
    let mut buffer = vec![0u8; 256 * 1024];
    let mut copied: u64 = 0;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => return Ok(copied),
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Copy::Read(err)),
        };
        out.write_all(&buffer[..read]).map_err(Copy::Write)?;
        copied = copied.saturating_add(read as u64);
    }
}
