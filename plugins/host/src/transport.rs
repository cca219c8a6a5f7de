//! Carrying messages: to an executable (spawned per exchange, JSON lines, stderr passed through,
//! bounded by a timeout) or to a library (loaded once, never unloaded).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use wagon_plugin_sdk::{HostMessage, PluginMessage};

use crate::{HostError, PluginConfig, PluginKind};

/// How messages reach one plugin.
pub enum Transport {
    /// A process started afresh for each exchange; it holds nothing between exchanges.
    Executable,
    /// A library loaded once and called in-process.
    #[cfg(feature = "dynamic")]
    Library(library::Loaded),
}

impl Transport {
    /// Prepares to talk to the plugin `config` describes: loads a library now; an executable is
    /// started only by [`Transport::exchange`].
    pub fn open(config: &PluginConfig) -> Result<Self, HostError> {
        match config.kind {
            PluginKind::Executable => Ok(Self::Executable),
            #[cfg(feature = "dynamic")]
            PluginKind::Library => library::Loaded::open(config).map(Self::Library),
            #[cfg(not(feature = "dynamic"))]
            PluginKind::Library => Err(HostError::NoDynamicSupport {
                plugin: config.name.clone(),
            }),
        }
    }

    /// Sends `messages` and returns one reply per message.
    pub fn exchange(
        &self,
        config: &PluginConfig,
        messages: &[HostMessage],
    ) -> Result<Vec<PluginMessage>, HostError> {
        match self {
            Self::Executable => exchange_with_process(config, messages),
            #[cfg(feature = "dynamic")]
            Self::Library(loaded) => messages.iter().map(|m| loaded.call(config, m)).collect(),
        }
    }
}

fn broken(config: &PluginConfig, detail: impl Into<String>) -> HostError {
    HostError::Protocol {
        plugin: config.name.clone(),
        detail: detail.into(),
    }
}

/// Kills the plugin and everything in its process group.
fn kill_group(child: &mut std::process::Child) {
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

fn exchange_with_process(
    config: &PluginConfig,
    messages: &[HostMessage],
) -> Result<Vec<PluginMessage>, HostError> {
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
        input.push_str(&serde_json::to_string(message).map_err(|e| broken(config, e.to_string()))?);
        input.push('\n');
    }
    if let Some(mut stdin) = child.stdin.take() {
        // A plugin that exits early closes its stdin; its (missing) answers say what went wrong.
        let _ = stdin.write_all(input.as_bytes());
    }
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| broken(config, "no stdout"))?;
    let expected = messages.len();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // Blank lines are skipped, as the SDK skips them on its side.
        let mut lines = BufReader::new(stdout)
            .lines()
            .filter(|line| line.as_ref().map_or(true, |l| !l.trim().is_empty()));
        for _ in 0..expected {
            match lines.next() {
                Some(Ok(line)) => {
                    if sender.send(Ok(line)).is_err() {
                        return;
                    }
                }
                Some(Err(err)) => {
                    let _ = sender.send(Err(err.to_string()));
                    return;
                }
                None => {
                    let _ = sender.send(Err("the plugin closed its output early".to_string()));
                    return;
                }
            }
        }
    });
    let deadline = std::time::Instant::now() + config.timeout;
    let mut replies = Vec::with_capacity(expected);
    for _ in 0..expected {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match receiver.recv_timeout(left) {
            Ok(Ok(line)) => {
                let reply: PluginMessage = serde_json::from_str(&line)
                    .map_err(|e| broken(config, format!("unreadable answer `{line}`: {e}")))?;
                replies.push(reply);
            }
            Ok(Err(detail)) => {
                let _ = child.kill();
                let status = child.wait().ok();
                return Err(broken(config, format!("{detail} (exit status {status:?})")));
            }
            Err(_) => {
                kill_group(&mut child);
                return Err(HostError::Timeout {
                    plugin: config.name.clone(),
                    seconds: config.timeout.as_secs(),
                });
            }
        }
    }
    // Closing stdin (dropped above) ends the plugin's loop.
    let _ = child.wait();
    Ok(replies)
}

#[cfg(feature = "dynamic")]
mod library {
    //! Dynamic plugin libraries. Loading runs the library's initialisers, which is why it is
    //! `unsafe`: a plugin library is trusted code, configured explicitly in wagon.toml.
    #![allow(unsafe_code)]

    // abi_stable's loader (over libloading), the crate the SDK's FFI types come from: one
    // libloading in the tree.
    use abi_stable::library::RawLibrary;
    use wagon_plugin_sdk::dynamic::{CALL_SYMBOL, CallFn, PROTOCOL_SYMBOL, ProtocolFn, RStr};
    use wagon_plugin_sdk::{HostMessage, PROTOCOL_VERSION, PluginMessage};

    use crate::{HostError, PluginConfig};

    /// A loaded library's entry point. The library is leaked: plugins are loaded once and never
    /// unloaded, so no code they registered can outlive them.
    pub struct Loaded {
        call: CallFn,
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
            let library = RawLibrary::load_at(&config.path).map_err(|e| fail(e.to_string()))?;
            let library: &'static RawLibrary = Box::leak(Box::new(library));
            // SAFETY: the symbol's type is fixed by the SDK's `export_plugin!`; a library without
            // it is rejected by the lookup below rather than called.
            let protocol = unsafe { library.get::<ProtocolFn>(PROTOCOL_SYMBOL) }.map_err(|e| {
                fail(format!(
                    "it is not a Wagon plugin (no wagon_plugin_protocol): {e}"
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
                .map_err(|e| fail(format!("it has no wagon_plugin_call: {e}")))?;
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
