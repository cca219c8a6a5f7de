//! `pylock.toml` (PEP 751): `PyLock::parse` on UTF-8 input; whatever parses must serialise with
//! `to_toml` and parse back to an equal lock.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagon_core::pylock::PyLock;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(lock) = PyLock::parse(text) else {
        return;
    };
    let toml = lock
        .to_toml()
        .unwrap_or_else(|err| panic!("a parsed lock does not serialise: {err}"));
    let again = PyLock::parse(&toml)
        .unwrap_or_else(|err| panic!("to_toml's output does not parse back: {err}\n{toml}"));
    assert_eq!(again, lock, "pylock.toml round trip changed the lock");
});
