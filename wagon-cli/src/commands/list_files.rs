//! `wagon list-files ARCHIVE`: the extra files packed under `files/`.

use std::process::ExitCode;

use wagon_core::archive::{FILES_DIR, Flow};

use super::Context;

/// An archive to read, and whether to answer in JSON.
pub type Args = super::ReadArgs;

pub fn run(context: &Context, args: &Args) -> anyhow::Result<ExitCode> {
    let archive = context.open(&args.archive)?;
    let contents = archive.walk(|_, _, _| Ok(Flow::Continue))?;
    let files: Vec<&str> = contents.files_in(FILES_DIR).collect();
    if args.json {
        crate::ui::output::line(format_args!("{}", serde_json::to_string(&files)?))?;
    } else {
        for file in files {
            crate::ui::output::line(format_args!("{file}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
