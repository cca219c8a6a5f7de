//! Running a tool (pip, an interpreter) with its output logged line by line as it comes — so
//! `-v` shows progress live — and the tail kept for error messages.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

/// How much of a failing tool's output an error message quotes.
const TAIL_LINES: usize = 25;

/// A finished run: its status, full stdout, and the last lines of both streams.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub tail: Vec<String>,
}

/// Renders a command for messages: `python -m pip wheel …`, with the credentials of any URL
/// argument (`--index-url https://user:secret@…`) redacted.
pub fn render(command: &Command) -> String {
    std::iter::once(command.get_program().to_string_lossy().into_owned())
        .chain(command.get_args().map(|arg| {
            let arg = arg.to_string_lossy();
            if arg.contains("://") {
                crate::redact::redact_url(&arg)
            } else {
                arg.into_owned()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command`, logging each output line at info level under `label`.
pub fn run_logged(command: &mut Command, label: &'static str) -> std::io::Result<Finished> {
    tracing::info!("running {}", render(command));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
    let stderr = child.stderr.take().map(|pipe| {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || pump(pipe, label, &tail, false))
    });
    let stdout = child
        .stdout
        .take()
        .map(|pipe| pump(pipe, label, &tail, true))
        .unwrap_or_default();
    if let Some(handle) = stderr {
        let _ = handle.join();
    }
    let status = child.wait()?;
    let tail = tail
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Finished {
        status,
        stdout,
        tail,
    })
}

/// How a process ended, in words for messages: `exited with status 7`, `killed by signal 9
/// (SIGKILL)`.
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match exit_signal(status) {
        Some(signal) => match signal_name(signal) {
            Some(name) => format!("killed by signal {signal} ({name})"),
            None => format!("killed by signal {signal}"),
        },
        None => "ended without an exit status".to_string(),
    }
}

/// The signal that killed the process, if one did.
pub fn exit_signal(status: ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(&status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// The usual name of a signal (`SIGSEGV`), for the common ones.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    #[cfg(unix)]
    {
        let names = [
            (libc::SIGHUP, "SIGHUP"),
            (libc::SIGINT, "SIGINT"),
            (libc::SIGQUIT, "SIGQUIT"),
            (libc::SIGILL, "SIGILL"),
            (libc::SIGTRAP, "SIGTRAP"),
            (libc::SIGABRT, "SIGABRT"),
            (libc::SIGBUS, "SIGBUS"),
            (libc::SIGFPE, "SIGFPE"),
            (libc::SIGKILL, "SIGKILL"),
            (libc::SIGUSR1, "SIGUSR1"),
            (libc::SIGSEGV, "SIGSEGV"),
            (libc::SIGUSR2, "SIGUSR2"),
            (libc::SIGPIPE, "SIGPIPE"),
            (libc::SIGALRM, "SIGALRM"),
            (libc::SIGTERM, "SIGTERM"),
        ];
        names
            .iter()
            .find(|(number, _)| *number == signal)
            .map(|(_, name)| *name)
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        None
    }
}

fn pump(pipe: impl Read, label: &str, tail: &Mutex<VecDeque<String>>, keep: bool) -> String {
    let mut kept = String::new();
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        tracing::info!("{label}: {line}");
        if keep {
            kept.push_str(&line);
            kept.push('\n');
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn exits_are_told_in_words() {
        let status = |script: &str| Command::new("sh").args(["-c", script]).status().unwrap();
        assert_eq!(describe_exit(status("exit 7")), "exited with status 7");
        assert_eq!(
            describe_exit(status("kill -9 $$")),
            "killed by signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn rendered_commands_hide_index_credentials() {
        let mut command = Command::new("python");
        command.args([
            "-m",
            "pip",
            "--index-url",
            "https://bob:hunter2@pypi.corp/simple",
        ]);
        assert_eq!(
            render(&command),
            "python -m pip --index-url https://bob:****@pypi.corp/simple"
        );
    }
}
