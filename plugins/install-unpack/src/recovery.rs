//! Finishing or undoing an install a killed process left behind: the journal the lock names is
//! checked, then rolled back (before its commit point) or tidied (after), and leftovers removed.

use std::path::{Component, Path};

use wagon_core::containment::Destination;

use crate::env_lock::EnvLock;
use crate::journal::{self, Interrupted};
use crate::layout::Layout;
use crate::plan::CommitPlan;
use crate::staging::STAGING_PREFIX;

/// Finishes or undoes an install that was interrupted (killed, or the machine stopped): the
/// journal the lock names is checked, then rolled back (before its commit point) or tidied
/// (after); leftover staging folders and journals then go. Runs under the install lock, so no
/// other install is live.
pub fn recover(layout: &Layout, lock: &mut EnvLock) {
    if let Some(interrupted) = journal::interrupted(lock) {
        let (bytes, committed) = match interrupted {
            Interrupted::Pending(bytes) => (bytes, false),
            Interrupted::Committed(bytes) => (bytes, true),
        };
        match serde_json::from_slice::<CommitPlan>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|plan| plan.check(layout).map(|()| plan))
        {
            Ok(plan) if committed => plan.prune_emptied(&layout.roots),
            Ok(plan) => {
                tracing::warn!(
                    "rolling back an interrupted install ({})",
                    plan.staging.display()
                );
                plan.roll_back();
            }
            Err(why) => tracing::error!("ignoring an install journal that is not Wagon's: {why}"),
        }
    }
    let purelib = layout.purelib();
    if let Ok(entries) = std::fs::read_dir(&purelib) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // `remove_dir_all` removes a link itself, never what it points to.
            if name.starts_with(STAGING_PREFIX)
                && let Err(err) = std::fs::remove_dir_all(entry.path())
            {
                tracing::error!("removing {}: {err}", entry.path().display());
            }
        }
    }
    if let Err(err) = journal::clear(lock) {
        tracing::error!("{err}");
    }
}

impl CommitPlan {
    /// Checks a journaled plan before recovery acts on it: the staging folder is one of
    /// Wagon's in site-packages, every staged or trashed path lies inside it, and every path
    /// in the environment passes the containment rule. A journal is Wagon's own, named by a
    /// token only the lock holds; this is the second line of defence.
    pub(crate) fn check(&self, layout: &Layout) -> Result<(), String> {
        let purelib = layout.purelib();
        let staging_ok = self.staging.parent() == Some(purelib.as_path())
            && self
                .staging
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(STAGING_PREFIX));
        // A real folder, not a link out of the environment that renames would follow.
        let staging_ok = staging_ok
            && self
                .staging
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_dir());
        if !staging_ok {
            return Err(format!(
                "its staging folder {} is not Wagon's",
                self.staging.display()
            ));
        }
        let in_staging = |path: &Path| {
            path.strip_prefix(&self.staging)
                .is_ok_and(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
        };
        let contained = |path: &Path| -> Result<Destination, String> {
            layout.roots.contain(path).map_err(|e| e.to_string())
        };
        for dir in &self.created_dirs {
            let is_root_or_above = layout.roots.roots().iter().any(|r| r.starts_with(dir));
            if !is_root_or_above {
                contained(dir)?;
            }
        }
        for (original, kept) in &self.set_aside {
            contained(original)?;
            if !in_staging(kept) {
                return Err(format!("{} is outside its staging folder", kept.display()));
            }
        }
        for (staged, dest) in &self.place {
            contained(dest)?;
            if !in_staging(staged) {
                return Err(format!(
                    "{} is outside its staging folder",
                    staged.display()
                ));
            }
        }
        Ok(())
    }
}
