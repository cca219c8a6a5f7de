//! End-to-end tests: the real `wagon` binary against real archives, real venvs and real pip.
//! Every fixture is built locally; nothing here reaches the network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod archive_bugs;
mod bad_inputs;
mod cli;
mod common;
mod containment;
mod create;
mod faults;
mod hostile;
mod install;
mod interrupts;
mod managed;
mod native;
mod parity_create;
mod parity_install;
mod plugin_lifecycle;
mod plugins;
mod pylock;
mod python_api;
mod read_side;
mod repair;
mod targets;
mod validate;
