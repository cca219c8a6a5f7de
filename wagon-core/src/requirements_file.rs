//! Requirements files (`-r FILE`) read as requirements: one PEP 508 requirement per line, `#`
//! comments, `\` continuations and nested `-r`/`--requirement` files. The resolver's root
//! requirements at create time, the archive's recorded roots, and `install -r FILE`.
//!
//! Read here rather than through uv's `uv-requirements-txt`, which is not published at the
//! version Wagon pins its uv crates to. pip's other options (`--index-url`, `-e`, hashes, ...)
//! are refused with the way to say the same to Wagon, never ignored — unless the caller only
//! wants the projects named (a file meant for pip, built by pip).

use std::path::{Path, PathBuf};

use crate::python::{self, Requirement};

/// Why a requirements file could not be read: the message names the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RequirementsFileError(String);

impl RequirementsFileError {
    /// The message, for callers that fold it into their own error.
    pub fn message(&self) -> &str {
        &self.0
    }
}

/// What to do with a line holding one of pip's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipOptions {
    /// Refuse it, saying how to tell Wagon the same.
    Refuse,
    /// Skip it (the file is pip's to read; only the projects it names are wanted).
    Skip,
}

/// Every requirement of `file` and the files it includes, in order.
pub fn read(file: &Path) -> Result<Vec<Requirement>, RequirementsFileError> {
    read_with(file, PipOptions::Refuse)
}

/// [`read`], with pip's option lines handled as `options` says.
pub fn read_with(
    file: &Path,
    options: PipOptions,
) -> Result<Vec<Requirement>, RequirementsFileError> {
    let mut requirements = Vec::new();
    read_into(file, options, &mut requirements, &mut Vec::new()).map_err(RequirementsFileError)?;
    Ok(requirements)
}

fn read_into(
    file: &Path,
    options: PipOptions,
    out: &mut Vec<Requirement>,
    seen: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let canonical =
        std::fs::canonicalize(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if seen.contains(&canonical) {
        return Err(format!("{} includes itself", file.display()));
    }
    seen.push(canonical);
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    for (number, line) in logical_lines(&text) {
        let at = || format!("{}:{number}", file.display());
        if let Some(nested) = line
            .strip_prefix("-r ")
            .or_else(|| line.strip_prefix("--requirement "))
            .or_else(|| line.strip_prefix("--requirement="))
        {
            let nested = file.parent().unwrap_or(Path::new(".")).join(nested.trim());
            read_into(&nested, options, out, seen)?;
        } else if line.starts_with('-') && options == PipOptions::Skip {
            tracing::debug!("{}: skipping pip's option `{line}`", at());
        } else if line.starts_with('-') {
            return Err(format!(
                "{}: `{line}` is a pip option Wagon's resolver does not read from requirements \
                 files; give indexes with --index-url/--extra-index-url/--find-links (or \
                 wagon.toml), or use --resolver pip",
                at()
            ));
        } else {
            out.push(python::requirement(&line).map_err(|err| format!("{}: {err}", at()))?);
        }
    }
    Ok(())
}

/// The requirement lines, continuations joined and comments removed, with their line numbers.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        if let Some(body) = raw.strip_suffix('\\') {
            joined.push_str(body);
            pending = Some((start, joined));
            continue;
        }
        joined.push_str(raw);
        // A comment starts at `#` at the line's start or after whitespace (pip's rule).
        let content = match joined.find(" #").or_else(|| joined.find("\t#")) {
            Some(at) => &joined[..at],
            None if joined.trim_start().starts_with('#') => "",
            None => &joined,
        };
        let content = content.trim();
        if !content.is_empty() {
            lines.push((start, content.to_string()));
        }
    }
    if let Some((start, joined)) = pending
        && !joined.trim().is_empty()
    {
        lines.push((start, joined.trim().to_string()));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_comments_continuations_and_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.txt"), "six==1.16.0  # pinned\n").unwrap();
        std::fs::write(
            dir.path().join("reqs.txt"),
            "# a comment\n\nflask[async]>=3 ; python_version >= '3.8'\n-r base.txt\nrequests\\\n>=2\n",
        )
        .unwrap();
        let read = read(&dir.path().join("reqs.txt")).unwrap();
        let shown: Vec<String> = read.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "flask[async]>=3 ; python_full_version >= '3.8'",
                "six==1.16.0",
                "requests>=2"
            ]
        );
    }

    #[test]
    fn pip_options_and_loops_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("opts.txt"),
            "--index-url https://x/simple\n",
        )
        .unwrap();
        let err = read(&dir.path().join("opts.txt")).unwrap_err().to_string();
        assert!(
            err.contains("opts.txt:1") && err.contains("--resolver pip"),
            "{err}"
        );
        std::fs::write(dir.path().join("loop.txt"), "-r loop.txt\n").unwrap();
        let err = read(&dir.path().join("loop.txt")).unwrap_err().to_string();
        assert!(err.contains("includes itself"), "{err}");
        std::fs::write(dir.path().join("bad.txt"), "ok\nnot a requirement!\n").unwrap();
        let err = read(&dir.path().join("bad.txt")).unwrap_err().to_string();
        assert!(err.contains("bad.txt:2"), "{err}");
        let skipped = read_with(&dir.path().join("opts.txt"), PipOptions::Skip).unwrap();
        assert!(skipped.is_empty());
    }
}
