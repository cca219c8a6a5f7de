//! The journeys, one per command that changes or proves something: `create` (source → archive),
//! `install` (archive → environment), `validate` (archive → findings, by a trial install) and
//! `lock` (archive → archive with a `pylock.toml`). Each strings together the core's single-job
//! modules; the CLI only parses arguments and renders what a journey returns.

pub mod create;
pub mod install;
pub mod lock;
pub mod validate;
