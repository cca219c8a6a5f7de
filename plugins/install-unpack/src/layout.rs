//! Where a wheel's files land for a target interpreter: its scheme roots (through
//! [`wagon_core::containment`], the one place destinations are computed), its absolute
//! interpreter path for launchers, and the environment root holding Wagon's lock and journal.

use std::path::PathBuf;

use wagon_core::containment::{Scheme, SchemeRoots};
use wagon_core::interpreter::Interpreter;

/// The target's install paths.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The interpreter's absolute path, written into launchers and rewritten shebangs.
    pub python: PathBuf,
    pub roots: SchemeRoots,
    /// The environment's root, where the install lock and the commit journal live.
    pub prefix: PathBuf,
}

impl Layout {
    pub fn of(target: &Interpreter) -> Result<Self, String> {
        Ok(Self {
            python: target.executable(),
            roots: SchemeRoots::of(target)?,
            prefix: target.report.prefix.clone(),
        })
    }

    /// The library folder of a wheel: purelib or platlib by `Root-Is-Purelib`.
    pub fn lib_dir(&self, scheme: Scheme) -> PathBuf {
        self.roots.root(scheme).to_path_buf()
    }

    /// site-packages, where staging folders live (so that moves into place are renames).
    pub fn purelib(&self) -> PathBuf {
        self.roots.root(Scheme::Purelib).to_path_buf()
    }
}
