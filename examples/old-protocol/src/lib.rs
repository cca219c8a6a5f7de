//! A plugin library built "against another protocol": it exports the SDK's symbols but reports
//! version 0, as a library compiled with an old SDK would. Wagon must refuse to use it.
#![allow(unsafe_code)]

use wagon_plugin_sdk::dynamic::{RStr, RString};

/// The protocol version this library claims.
#[unsafe(no_mangle)]
pub extern "C" fn wagon_plugin_protocol() -> u32 {
    0
}

/// Never called: the host checks the version first.
#[unsafe(no_mangle)]
pub extern "C" fn wagon_plugin_call(_message: RStr<'_>) -> RString {
    RString::from("{}")
}
