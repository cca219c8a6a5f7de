//! An archive's consistency with itself, as `install` and `validate` check it before trusting
//! anything: its contents against `package.json` ([`archive`]) and its `pylock.toml` against both
//! ([`lock`]). (`package.json`'s own keys and types are [`crate::manifest::check`].)

pub mod archive;
pub mod lock;
