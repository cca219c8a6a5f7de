//! Wagon's core: the wagon archive format (safe reading, reproducible writing), its metadata
//! (`package.json`), archive naming, Python packaging semantics behind one module, the target
//! interpreter probe, install planning, and the plugin traits with their registry.
//!
//! The core knows no particular compressor, installer or source: those are plugins registered
//! in a [`plugin::Registry`] by whoever embeds the core (the `wagon` CLI, tests, third parties).

pub mod archive;
pub mod auditwheel;
pub mod check;
pub mod containment;
pub mod entry_points;
pub mod environment;
pub mod error_chain;
pub mod installed;
pub mod interpreter;
pub mod journeys;
pub mod manifest;
pub mod naming;
pub mod os_release;
pub mod pack;
pub mod partial;
pub mod path_error;
pub mod plan;
pub mod plugin;
pub mod process;
pub mod pylock;
pub mod python;
pub mod record;
pub mod redact;
pub mod requirements_file;
pub mod scratch;
pub mod size;
pub mod targets;
#[cfg(test)]
mod testing;
pub mod wheel;
pub mod wheel_contents;
pub mod wheelhouse;

/// This Wagon's version, recorded in `created_by_wagon_version`.
pub const WAGON_VERSION: &str = env!("CARGO_PKG_VERSION");
