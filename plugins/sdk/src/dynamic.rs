//! Exporting a plugin from a `cdylib`: two C-ABI functions carrying the same JSON messages as the
//! executable protocol, with abi_stable's FFI-safe strings, so each side frees what it allocated.
//! A panic inside the plugin becomes an error response, never an unwind across the boundary.

pub use abi_stable::std_types::{RStr, RString};

use crate::{HostMessage, Plugin, PluginMessage, answer};

/// The symbol holding the protocol version a library speaks.
pub const PROTOCOL_SYMBOL: &[u8] = b"wagon_plugin_protocol";
/// The symbol answering one message.
pub const CALL_SYMBOL: &[u8] = b"wagon_plugin_call";

/// The signature of [`CALL_SYMBOL`].
pub type CallFn = extern "C" fn(RStr<'_>) -> RString;
/// The signature of [`PROTOCOL_SYMBOL`].
pub type ProtocolFn = extern "C" fn() -> u32;

/// Handles one JSON message for an exported plugin (used by [`crate::export_plugin!`]).
pub fn call<P: Plugin>(plugin: &P, message: RStr<'_>) -> RString {
    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || match serde_json::from_str::<HostMessage>(message.as_str()) {
            Ok(message) => answer(plugin, message),
            Err(err) => PluginMessage::Response {
                id: 0,
                result: None,
                error: Some(crate::ErrorBody {
                    code: "bad_request".into(),
                    message: format!("cannot read the host's message: {err}"),
                }),
            },
        },
    ))
    .unwrap_or_else(|_| PluginMessage::Response {
        id: 0,
        result: None,
        error: Some(crate::ErrorBody {
            code: "panic".into(),
            message: "the plugin panicked".into(),
        }),
    });
    RString::from(serde_json::to_string(&reply).unwrap_or_default())
}

/// Exports a plugin from a `cdylib`: `export_plugin!(MyPlugin, MyPlugin::new());` at the
/// crate's top level. The plugin is built once, on first use, and lives as long as the process.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty, $constructor:expr) => {
        static __WAGON_PLUGIN: ::std::sync::LazyLock<$plugin> =
            ::std::sync::LazyLock::new(|| $constructor);

        /// The protocol version this library speaks.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn wagon_plugin_protocol() -> u32 {
            $crate::PROTOCOL_VERSION
        }

        /// Answers one JSON message.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn wagon_plugin_call(
            message: $crate::dynamic::RStr<'_>,
        ) -> $crate::dynamic::RString {
            $crate::dynamic::call(&*__WAGON_PLUGIN, message)
        }
    };
}
