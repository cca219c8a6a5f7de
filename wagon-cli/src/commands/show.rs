//! `wagon show ARCHIVE`: print package.json.

use std::process::ExitCode;

use anyhow::Context as _;
use wagon_core::manifest::pretty_json;

use super::Context;

/// An archive to read, and whether to answer in JSON.
pub type Args = super::ReadArgs;

pub fn run(context: &Context, args: &Args) -> anyhow::Result<ExitCode> {
    let archive = context.open(&args.archive)?;
    let doc = archive.read_manifest()?;
    let value: serde_json::Value = serde_json::from_slice(&doc.bytes).with_context(|| {
        format!(
            "{}: package.json is not valid JSON",
            crate::remote::shown(&args.archive)
        )
    })?;
    let problems = wagon_core::manifest::check(&value);
    let text = if args.json {
        serde_json::to_vec(&value)?
    } else {
        pretty_json(&value)?
    };
    crate::ui::output::line(format_args!("{}", String::from_utf8_lossy(&text)))?;
    // The document is shown either way (it helps to see it), but a broken one is an error.
    if !problems.is_empty() {
        eprintln!(
            "error: {}: package.json does not fit the wagon metadata format:\n  - {}",
            crate::remote::shown(&args.archive),
            problems.join("\n  - ")
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
