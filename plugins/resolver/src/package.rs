//! The packages PubGrub solves over: the root, each project, and each project-with-an-extra as a
//! virtual package (`name[extra]` pinned to the same version as `name`), as pip and uv do.

use std::fmt;
use std::sync::Arc;

use wagon_core::python::{ExtraName, PackageName};

/// A PubGrub package; an `Arc` inside, since PubGrub clones them freely.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Pkg(Arc<PkgKind>);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PkgKind {
    /// What the user asked for; its one version depends on the root requirements.
    Root,
    /// A project.
    Project(PackageName),
    /// A project with one extra: depends on the project at the same version plus the extra's
    /// requirements, so an extra never selects a version of its own.
    Extra(PackageName, ExtraName),
}

impl Pkg {
    pub(crate) fn root() -> Self {
        Self(Arc::new(PkgKind::Root))
    }

    pub(crate) fn project(name: PackageName) -> Self {
        Self(Arc::new(PkgKind::Project(name)))
    }

    pub(crate) fn extra(name: PackageName, extra: ExtraName) -> Self {
        Self(Arc::new(PkgKind::Extra(name, extra)))
    }

    pub(crate) fn kind(&self) -> &PkgKind {
        &self.0
    }

    /// The project this package stands for; `None` for the root.
    pub(crate) fn name(&self) -> Option<&PackageName> {
        match self.kind() {
            PkgKind::Root => None,
            PkgKind::Project(name) | PkgKind::Extra(name, _) => Some(name),
        }
    }
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            PkgKind::Root => f.write_str("the requirements"),
            PkgKind::Project(name) => write!(f, "{name}"),
            PkgKind::Extra(name, extra) => write!(f, "{name}[{extra}]"),
        }
    }
}
