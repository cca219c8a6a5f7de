//! Carrying messages: to an executable (spawned per exchange, JSON lines, stderr passed through,
//! every phase up to its exit bounded by one timeout) or to a library (loaded once, never
//! unloaded).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wagon_plugin_sdk::{HostMessage, PluginMessage};

use crate::{HostError, PluginConfig};

fn broken(config: &PluginConfig, detail: impl Into<String>) -> HostError {
    HostError::Protocol {
        plugin: config.name.clone(),
        detail: detail.into(),
    }
}

/// Kills the plugin and everything in its process group.
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        // The plugin leads its own group (spawned with `process_group(0)`), so its pid names it.
        let group = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One exchange with a fresh process: start it, send `messages`, read one reply per message,
/// close its stdin and let it exit — all within `config.timeout`. A plugin still running when
/// the time is up is killed with everything it started; one that lingers after answering costs
/// at most the time left, and its answers stand.
pub(crate) fn exchange_with_process(
    config: &PluginConfig,
    messages: &[HostMessage],
) -> Result<Vec<PluginMessage>, HostError> {
    let deadline = Instant::now() + config.timeout;
    let mut command = Command::new(&config.path);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Its own process group, so a timeout stops whatever the plugin started too.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|source| HostError::Spawn {
        plugin: config.name.clone(),
        path: config.path.clone(),
        source,
    })?;
    let mut input = String::new();
    for message in messages {
        let line = match serde_json::to_string(message) {
            Ok(line) => line,
            Err(err) => {
                kill_group(&mut child);
                return Err(broken(config, err.to_string()));
            }
        };
        input.push_str(&line);
        input.push('\n');
    }
    if let Some(mut stdin) = child.stdin.take() {
        // Written from a thread, so a plugin that never reads cannot block Wagon past the
        // deadline; dropping the pipe afterwards is the plugin's signal to finish. A plugin that
        // exits early closes its stdin; its (missing) answers say what went wrong.
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let Some(stdout) = child.stdout.take() else {
        kill_group(&mut child);
        return Err(broken(config, "no stdout"));
    };
    let expected = messages.len();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // Blank lines are skipped, as the SDK skips them on its side.
        let mut lines = BufReader::new(stdout)
            .lines()
            .filter(|line| line.as_ref().map_or(true, |l| !l.trim().is_empty()));
        for _ in 0..expected {
            let next = match lines.next() {
                Some(Ok(line)) => Ok(line),
                Some(Err(err)) => Err(err.to_string()),
                None => Err("it closed its output before answering".to_string()),
            };
            let failed = next.is_err();
            if sender.send(next).is_err() || failed {
                return;
            }
        }
    });
    let mut replies = Vec::with_capacity(expected);
    for _ in 0..expected {
        match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(line)) => match serde_json::from_str(&line) {
                Ok(reply) => replies.push(reply),
                Err(err) => {
                    kill_group(&mut child);
                    return Err(broken(config, format!("unreadable answer `{line}`: {err}")));
                }
            },
            Ok(Err(detail)) => {
                // It is going or gone: give it the time left to say how it ended.
                let ended = wait_until(&mut child, deadline)
                    .map(|status| format!(" ({})", wagon_core::process::describe_exit(status)))
                    .unwrap_or_default();
                kill_group(&mut child);
                return Err(broken(config, format!("{detail}{ended}")));
            }
            Err(_) => {
                kill_group(&mut child);
                return Err(timed_out(config));
            }
        }
    }
    if wait_until(&mut child, deadline).is_none() {
        tracing::warn!(
            "plugin `{}` answered but was still running after {} s; it was stopped",
            config.name,
            config.timeout.as_secs()
        );
        kill_group(&mut child);
    }
    Ok(replies)
}

fn timed_out(config: &PluginConfig) -> HostError {
    HostError::Timeout {
        plugin: config.name.clone(),
        seconds: config.timeout.as_secs(),
    }
}

/// The child's exit status, if it exits before `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => return None,
        }
    }
}

#[cfg(feature = "dynamic")]
pub(crate) mod library {
    //! Dynamic plugin libraries. Loading runs the library's initialisers, which is why it is
    //! `unsafe`: a plugin library is trusted code, configured explicitly in wagon.toml.
    #![allow(unsafe_code)]

    // abi_stable's loader (over libloading), the crate the SDK's FFI types come from: one
    // libloading in the tree.
    use abi_stable::library::{LibraryError, RawLibrary};
    use wagon_plugin_sdk::dynamic::{CALL_SYMBOL, CallFn, PROTOCOL_SYMBOL, ProtocolFn, RStr};
    use wagon_plugin_sdk::{HostMessage, PROTOCOL_VERSION, PluginMessage};

    use crate::{HostError, PluginConfig};

    /// A loaded library's entry point. The library is leaked: plugins are loaded once and never
    /// unloaded, so no code they registered can outlive them.
    pub struct Loaded {
        call: CallFn,
    }

    /// The system loader's own words (`dlerror`: "file too short", "undefined symbol: …"),
    /// without abi_stable's multi-line framing around them.
    fn reason(err: LibraryError) -> String {
        match err {
            LibraryError::OpenError { err, .. } | LibraryError::GetSymbolError { err, .. } => {
                err.to_string()
            }
            other => other.to_string().trim().replace(['\n', '\t'], " "),
        }
    }

    impl Loaded {
        pub fn open(config: &PluginConfig) -> Result<Self, HostError> {
            let fail = |detail: String| HostError::Library {
                plugin: config.name.clone(),
                path: config.path.clone(),
                detail,
            };
            // Loading runs the library's initialisers (`load_at` takes that `unsafe` on itself):
            // the user configured this path as a plugin and trusts it like any program they run.
            let library = RawLibrary::load_at(&config.path).map_err(|e| fail(reason(e)))?;
            let library: &'static RawLibrary = Box::leak(Box::new(library));
            // SAFETY: the symbol's type is fixed by the SDK's `export_plugin!`; a library without
            // it is rejected by the lookup below rather than called.
            let protocol = unsafe { library.get::<ProtocolFn>(PROTOCOL_SYMBOL) }.map_err(|e| {
                fail(format!(
                    "it is not a Wagon plugin (no wagon_plugin_protocol): {}",
                    reason(e)
                ))
            })?;
            let theirs = protocol();
            if theirs != PROTOCOL_VERSION {
                return Err(HostError::ProtocolMismatch {
                    plugin: config.name.clone(),
                    theirs: theirs.to_string(),
                    ours: PROTOCOL_VERSION,
                });
            }
            // SAFETY: as above; the protocol version matched, so the call signature is this one.
            let call = unsafe { library.get::<CallFn>(CALL_SYMBOL) }
                .map_err(|e| fail(format!("it has no wagon_plugin_call: {}", reason(e))))?;
            Ok(Self { call: *call })
        }

        pub fn call(
            &self,
            config: &PluginConfig,
            message: &HostMessage,
        ) -> Result<PluginMessage, HostError> {
            let text =
                serde_json::to_string(message).map_err(|e| super::broken(config, e.to_string()))?;
            let reply = (self.call)(RStr::from(text.as_str()));
            serde_json::from_str(reply.as_str())
                .map_err(|e| super::broken(config, format!("unreadable answer: {e}")))
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    /// Whether `pid` is still running (not gone, not a zombie waiting to be reaped).
    fn running(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|s| !s.trim_start().starts_with('Z'))
        })
    }

    #[test]
    fn a_timed_out_plugin_takes_its_children_along() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let grandchild = line.trim().to_string();
        assert!(running(&grandchild), "sleep {grandchild} did not start");
        super::kill_group(&mut child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while running(&grandchild) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            !running(&grandchild),
            "sleep {grandchild} outlived its group"
        );
    }
}
