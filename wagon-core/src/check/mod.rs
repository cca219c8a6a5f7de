//! An archive's consistency with itself, as `install` and `validate` check it before trusting
//! anything: its contents against `package.json` ([`archive`]), its `pylock.toml` against both
//! ([`lock`]) and a multi-target archive's targets against their wheels ([`targets`]).
//! (`package.json`'s own keys and types are [`crate::manifest::check`].)

pub mod archive;
pub mod lock;
pub mod targets;
