//! A Python environment as planning sees it: its PEP 425 tags, its PEP 508 marker environment
//! and its Python version — what decides which wheels install and which requirements apply. A
//! probed interpreter has one; so does a target declared for another machine.

use crate::python::{MarkerEnvironment, Tags, Version};

/// What planning needs to know of where wheels will be installed.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The wheel tags it accepts, best first.
    pub tags: Tags,
    /// The values PEP 508 markers are evaluated against.
    pub markers: MarkerEnvironment,
    /// `python_full_version`, parsed: what `Requires-Python` is checked against.
    pub python_full_version: Version,
    /// How messages name it: `CPython 3.11.7 on linux x86_64 (/usr/bin/python3)`, or a target's
    /// `cp312-win_amd64`.
    pub description: String,
}

impl Environment {
    /// How messages name it.
    pub fn describe(&self) -> &str {
        &self.description
    }
}
