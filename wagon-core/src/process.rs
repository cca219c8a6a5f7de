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
