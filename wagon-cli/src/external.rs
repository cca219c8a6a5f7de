//! External subcommands, as cargo does: `wagon foo ARGS` runs `wagon-foo ARGS`, found in
//! `$WAGON_HOME/bin` and then on PATH, with `WAGON` set to this executable.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

/// The folders searched, in order.
pub fn search_path() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("WAGON_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

/// The executable for `wagon-<name>`, if any.
pub fn find(name: &str) -> Option<PathBuf> {
    let program = format!("wagon-{name}{}", std::env::consts::EXE_SUFFIX);
    search_path()
        .into_iter()
        .map(|dir| dir.join(&program))
        .find(|p| is_executable(p))
}

/// Every `wagon-*` subcommand on the search path.
pub fn discover() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for dir in search_path() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(name) = file.strip_prefix("wagon-") else {
                continue;
            };
            let name = name
                .strip_suffix(std::env::consts::EXE_SUFFIX)
                .unwrap_or(name);
            if !name.is_empty() && is_executable(&entry.path()) {
                found.insert(name.to_string());
            }
        }
    }
    found
}

fn is_executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Runs `wagon-<name> ARGS`, passing its exit code through.
pub fn run(args: &[OsString], builtins: &[String]) -> anyhow::Result<ExitCode> {
    let Some((name, rest)) = args.split_first() else {
        bail!("no command given")
    };
    let name = name.to_string_lossy().into_owned();
    let Some(program) = find(&name) else {
        let mut known: Vec<String> = builtins.to_vec();
        known.extend(discover());
        let hint = nearest(&name, &known)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        bail!(
            "no such command `{name}`{hint} (`wagon --list` shows all; external commands are `wagon-<name>` executables on PATH or in $WAGON_HOME/bin)"
        );
    };
    let myself = std::env::current_exe().context("cannot find the wagon executable")?;
    let status = std::process::Command::new(&program)
        .args(rest)
        .env("WAGON", myself)
        .status()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if let Some(code) = status.code() {
        return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
    }
    // Killed by a signal: said in one line, and the shell's convention of 128 + its number.
    let signal = wagon_core::process::exit_signal(status);
    crate::ui::print_error(&anyhow::anyhow!(
        "`{}` {}",
        program.display(),
        wagon_core::process::describe_exit(status)
    ));
    Ok(signal
        .and_then(|n| u8::try_from(128 + n).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

/// Turns `wagon help NAME`, for a `wagon-NAME` that is no built-in command, into `wagon NAME
/// --help`, which runs `wagon-NAME --help`.
pub fn rewrite_help(args: &mut Vec<OsString>, builtins: &[String]) {
    let [_, help, name] = args.as_slice() else {
        return;
    };
    let name = name.to_string_lossy();
    if help != "help" || name.starts_with('-') || builtins.iter().any(|b| *b == name) {
        return;
    }
    if find(&name).is_some() {
        args.remove(1);
        args.push(OsString::from("--help"));
    }
}

/// The known name closest to `typed`, when close enough to be a likely typo.
fn nearest<'a>(typed: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(typed, k), k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.as_str())
}
