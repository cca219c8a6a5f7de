//! Carrying messages: to an executable (spawned per exchange, JSON lines, stderr passed through,
//! bounded by a timeout) or to a library (loaded once, never unloaded).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use wagon_plugin_sdk::{HostMessage, PluginMessage};

use crate::{HostError, PluginConfig, PluginKind};

/// How messages reach one plugin.
pub enum Transport {
    Executable,
    #[cfg(feature = "dynamic")]
    Library(library::Loaded),
}

impl Transport {
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
        // `kill -KILL -- -PGID` reaches the whole group without unsafe FFI.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
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
        let mut lines = BufReader::new(stdout).lines();
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
            // SAFETY: loading a library runs its initialisers; the user configured this path as a
            // plugin and so trusts it like any other program they run.
            let library = unsafe { libloading::Library::new(&config.path) }
                .map_err(|e| fail(e.to_string()))?;
            let library: &'static libloading::Library = Box::leak(Box::new(library));
            // SAFETY: the symbol's type is fixed by the SDK's `export_plugin!`; a library without
            // it is rejected by the lookup below rather than called.
            let protocol: libloading::Symbol<'static, ProtocolFn> =
                unsafe { library.get(PROTOCOL_SYMBOL) }.map_err(|e| {
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
            let call: libloading::Symbol<'static, CallFn> = unsafe { library.get(CALL_SYMBOL) }
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
