//! The command line's conventions, as uv and cargo users expect them: shell completions,
//! `--color` and NO_COLOR under a real terminal, help headings, human sizes, conflicting flags,
//! spinners that keep out of logging's way, and `--json` for every report and every error.

use std::path::{Path, PathBuf};
use std::process::Output;

use wagon_test_support::python::python3;

use crate::common::{Format, assert_success, demo_archive, stdout, wagon};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Single-quotes a word for `sh -c`.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs `wagon ARGS` with its stdout and stderr on a pseudo-terminal (util-linux `script`),
/// with `env` added and the colour variables of the test's own environment removed; returns
/// everything the terminal showed.
fn on_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut line = String::from("exec ");
    line.push_str(&quoted(env!("CARGO_BIN_EXE_wagon")));
    for arg in args {
        line.push(' ');
        line.push_str(&quoted(arg));
    }
    let mut command = std::process::Command::new("script");
    command
        .args(["-qfec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .env("TERM", "xterm-256color")
        .env("SHELL", "/bin/sh")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env_remove("WAGON_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().expect("util-linux `script` runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn archive(dir: &Path) -> PathBuf {
    demo_archive(dir, Format::TarGz)
}

#[test]
fn bash_completion_completes_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = wagon().args(["completions", "bash"]).output().unwrap();
    assert_success(&out);
    let script = dir.path().join("wagon.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // What bash does on `wagon ins<TAB>`: the words so far, the cursor, then the function.
    let drive = format!(
        "source {}\nCOMP_WORDS=(wagon ins); COMP_CWORD=1; COMP_LINE='wagon ins'; COMP_POINT=9\n\
         _wagon wagon ins wagon\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted(script.to_str().unwrap())
    );
    let completed = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &drive])
        .output()
        .unwrap();
    assert_success(&completed);
    assert_eq!(
        stdout(&completed).split_whitespace().collect::<Vec<_>>(),
        ["install"]
    );

    // Flags of a subcommand complete too.
    let drive = format!(
        "source {}\nCOMP_WORDS=(wagon get-file --st); COMP_CWORD=2; \
         COMP_LINE='wagon get-file --st'; COMP_POINT=19\n\
         _wagon wagon --st get-file\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted(script.to_str().unwrap())
    );
    let completed = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &drive])
        .output()
        .unwrap();
    assert_success(&completed);
    assert_eq!(
        stdout(&completed).split_whitespace().collect::<Vec<_>>(),
        ["--stdout"]
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = wagon().args(["completions", shell]).output().unwrap();
        assert_success(&out);
        let script = stdout(&out);
        assert!(
            script.contains("install") && script.contains("max-unpacked-bytes"),
            "{shell}: {script}"
        );
    }
    let out = wagon().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("possible values"), "{}", stderr(&out));
    // No wagon.toml is read: a broken one in the way does not stop completions.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wagon.toml"), "not [ toml").unwrap();
    let out = wagon()
        .current_dir(dir.path())
        .args(["completions", "fish"])
        .output()
        .unwrap();
    assert_success(&out);
}

#[test]
fn no_color_silences_escape_codes_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let archive = archive.to_str().unwrap();
    // The control: on a terminal, by default, debug logging is coloured.
    let shown = on_terminal(&["-vv", "show", archive], &[]);
    assert!(shown.contains("DEBUG"), "{shown}");
    assert!(
        shown.contains("\x1b["),
        "no colour on a terminal: {shown:?}"
    );

    let shown = on_terminal(&["-vv", "show", archive], &[("NO_COLOR", "1")]);
    assert!(shown.contains("DEBUG"), "{shown}");
    assert!(shown.contains("demo-app"), "{shown}");
    assert!(
        !shown.contains("\x1b["),
        "colour despite NO_COLOR: {shown:?}"
    );

    let shown = on_terminal(&["-vv", "--color", "never", "show", archive], &[]);
    assert!(
        !shown.contains("\x1b["),
        "colour despite --color never: {shown:?}"
    );

    // An explicit flag wins over NO_COLOR; errors are coloured as well as logs.
    let shown = on_terminal(
        &["-vv", "--color", "always", "show", archive],
        &[("NO_COLOR", "1")],
    );
    assert!(
        shown.contains("\x1b["),
        "no colour with --color always: {shown:?}"
    );
    let shown = on_terminal(&["--color=always", "show", "missing.wgn"], &[]);
    assert!(
        shown.contains("\x1b[31m\x1b[1merror:\x1b[0m"),
        "the error label is not red: {shown:?}"
    );

    // Clap's own help follows NO_COLOR too.
    let shown = on_terminal(&["show", "--help"], &[("NO_COLOR", "1")]);
    assert!(shown.contains("Usage"), "{shown}");
    assert!(!shown.contains("\x1b["), "{shown:?}");
    let shown = on_terminal(
        &["--color", "always", "show", "--help"],
        &[("NO_COLOR", "1")],
    );
    assert!(shown.contains("\x1b["), "{shown:?}");
}

#[test]
fn clicolor_force_colours_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let plain = wagon()
        .arg("-vv")
        .arg("show")
        .arg(&archive)
        .output()
        .unwrap();
    assert_success(&plain);
    assert!(stderr(&plain).contains("DEBUG"));
    assert!(!stderr(&plain).contains("\x1b["), "{}", stderr(&plain));
    let forced = wagon()
        .env("CLICOLOR_FORCE", "1")
        .arg("-vv")
        .arg("show")
        .arg(&archive)
        .output()
        .unwrap();
    assert_success(&forced);
    assert!(stderr(&forced).contains("\x1b["), "{}", stderr(&forced));
    // NO_COLOR wins over it, and `--color never` over both.
    for (extra, env) in [(None, Some("1")), (Some("--color=never"), None)] {
        let mut command = wagon();
        command.env("CLICOLOR_FORCE", "1");
        if let Some(value) = env {
            command.env("NO_COLOR", value);
        }
        command.args(extra).arg("-vv").arg("show").arg(&archive);
        let out = command.output().unwrap();
        assert_success(&out);
        assert!(!stderr(&out).contains("\x1b["), "{}", stderr(&out));
    }
}

#[test]
fn global_options_have_their_own_heading() {
    let out = wagon().args(["show", "--help"]).output().unwrap();
    assert_success(&out);
    let help = stdout(&out);
    let (own, global) = help
        .split_once("Global options:")
        .unwrap_or_else(|| panic!("no Global options heading: {help}"));
    for flag in [
        "--verbose",
        "--quiet",
        "--color",
        "--config",
        "--max-unpacked-bytes",
    ] {
        assert!(
            global.contains(flag),
            "{flag} not under Global options: {help}"
        );
        assert!(
            !own.contains(flag),
            "{flag} among show's own options: {help}"
        );
    }
    assert!(own.contains("--json"), "{help}");

    let out = wagon().arg("--help").output().unwrap();
    assert_success(&out);
    let help = stdout(&out);
    assert!(
        help.starts_with("Pack a Python package"),
        "the root help opens with: {}",
        help.lines().next().unwrap_or_default()
    );
    assert!(!help.contains("The `wagon` command"), "{help}");
    assert!(help.contains("completions"), "{help}");
}

#[test]
fn sizes_are_human_in_help_and_on_the_command_line() {
    let out = wagon().args(["show", "--help"]).output().unwrap();
    let help = stdout(&out);
    assert!(help.contains("[default: 16 GiB]"), "{help}");
    assert!(help.contains("[default: 16 MiB]"), "{help}");
    assert!(!help.contains("17179869184"), "{help}");

    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    for size in ["16GiB", "16 GiB", "500M", "18446744073709551615", "99EiB"] {
        let out = wagon()
            .args(["--max-unpacked-bytes", size, "--max-metadata-bytes", size])
            .arg("show")
            .arg(&archive)
            .output()
            .unwrap();
        assert_success(&out);
    }
    // A bare number is bytes: 1234 of them is too few for the demo archive.
    let out = wagon()
        .args(["--max-unpacked-bytes", "1234", "show"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("1234"), "{}", stderr(&out));
    // IEC units: a bare K is 1000 bytes, not 1024.
    let out = wagon()
        .args(["--max-unpacked-bytes", "1K", "show"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("than 1000 bytes"), "{}", stderr(&out));
    let out = wagon()
        .args(["--max-unpacked-bytes", "12 apples", "show"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a size"), "{}", stderr(&out));
}

#[test]
fn quiet_and_verbose_conflict() {
    for words in [["-q", "-v"], ["-v", "--quiet"]] {
        let out = wagon()
            .args(words)
            .args(["show", "x.wgn"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
}

/// The braille frames of indicatif's default spinner.
fn has_spinner(shown: &str) -> bool {
    shown
        .chars()
        .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
}

#[test]
fn no_spinner_while_logging() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let archive = archive.to_str().unwrap();
    let python = python3();
    let python = python.to_str().unwrap();
    let run = ["validate", archive, "--python", python];
    // The control: a stage taking seconds (a trial install) spins on a terminal.
    let shown = on_terminal(&run, &[]);
    assert!(shown.contains("valid"), "{shown}");
    assert!(has_spinner(&shown), "no spinner on a terminal: {shown:?}");
    // With -v the stages are log lines instead, none drawn over.
    let shown = on_terminal(&[&["-v", "--color", "never"][..], &run[..]].concat(), &[]);
    assert!(shown.contains("INFO"), "{shown}");
    assert!(shown.contains("checking"), "{shown}");
    assert!(!has_spinner(&shown), "a spinner while logging: {shown:?}");
    assert!(!shown.contains("\x1b["), "{shown:?}");
    // Nor under --json, whose reader wants stdout alone.
    let shown = on_terminal(&[&run[..], &["--json"]].concat(), &[]);
    assert!(!has_spinner(&shown), "a spinner under --json: {shown:?}");
}

#[test]
fn lock_and_get_file_report_json() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let locked = dir.path().join("locked.tar.gz.wgn");
    let out = wagon()
        .arg("lock")
        .arg(&archive)
        .arg("-o")
        .arg(&locked)
        .arg("--python")
        .arg(python3())
        .arg("--json")
        .output()
        .unwrap();
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["archive"], locked.to_str().unwrap());
    assert!(report["packages"].as_u64().unwrap() >= 2, "{report}");
    assert!(report["environments"].is_array(), "{report}");

    let into = dir.path().join("out");
    let out = wagon()
        .arg("get-file")
        .arg(&archive)
        .arg("notes.txt")
        .arg("-o")
        .arg(&into)
        .arg("--json")
        .output()
        .unwrap();
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["file"], "notes.txt");
    assert_eq!(report["written"], into.join("notes.txt").to_str().unwrap());
    assert_eq!(report["bytes"], 19);
    assert_eq!(
        std::fs::read(into.join("notes.txt")).unwrap(),
        b"remember the wagon\n"
    );

    // Without --json the size is told in the same units as the flags take.
    let out = wagon()
        .arg("get-file")
        .arg(&archive)
        .arg("notes.txt")
        .arg("-o")
        .arg(&into)
        .arg("--force")
        .output()
        .unwrap();
    assert_success(&out);
    assert!(stderr(&out).contains("(19 bytes)"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    for command in ["show", "list-files"] {
        let out = wagon()
            .arg(command)
            .arg(&archive)
            .arg("--json")
            .output()
            .unwrap();
        assert_success(&out);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
    }
}

/// The one JSON document a failed `--json` command prints on stdout.
fn json_error(out: &Output) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {}", stdout(out)));
    assert!(report["error"]["message"].is_string(), "{report}");
    report
}

#[test]
fn errors_are_json_under_json() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let missing = dir.path().join("missing.wgn");

    let out = wagon()
        .arg("show")
        .arg(&missing)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json_error(&out);
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.wgn"),
        "{report}"
    );
    assert_eq!(report["error"]["kind"], "archive", "{report}");
    // The paragraph on stderr stays.
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));

    let out = wagon()
        .arg("get-file")
        .arg(&archive)
        .arg("absent.txt")
        .arg("--json")
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json_error(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("absent.txt")
    );

    let out = wagon()
        .arg("install")
        .arg(&archive)
        .arg("--venv")
        .arg(dir.path().join("no-such-venv"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    json_error(&out);

    let out = wagon()
        .arg("lock")
        .arg(&missing)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    json_error(&out);

    // A usage error keeps clap's status, 2, and is JSON too.
    let out = wagon().args(["show", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_error(&out)["error"]["kind"], "usage");
    assert!(stderr(&out).contains("Usage"), "{}", stderr(&out));

    // Without --json, stdout stays empty on failure.
    let out = wagon().arg("show").arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
}

#[test]
fn wagon_one_long_flags_still_parse() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-reqs.txt");
    let out = wagon()
        .args(["create", "--requirements-file"])
        .arg(&missing)
        .arg("--output-directory")
        .arg(dir.path().join("out"))
        .args(["--name", "bundle", "--version", "1"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("missing-reqs.txt"), "{err}");

    let out = wagon()
        .args(["install", "missing.wgn", "--requirements-file"])
        .arg(&missing)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("missing-reqs.txt"), "{err}");
}
