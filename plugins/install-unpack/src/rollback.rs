//! Undoing a commit plan however far it got: new files back into staging, created folders
//! removed, old files back from the trash.

use crate::plan::CommitPlan;

impl CommitPlan {
    /// Puts everything back as it was. Idempotent: it checks what each step left behind, so it
    /// also undoes a commit that was killed half-way.
    pub fn roll_back(&self) {
        for (staged, dest) in self.place.iter().rev() {
            if staged.symlink_metadata().is_err()
                && dest.symlink_metadata().is_ok()
                && let Err(err) = std::fs::rename(dest, staged)
            {
                tracing::error!("rolling back {}: {err}", dest.display());
            }
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        for (original, kept) in self.set_aside.iter().rev() {
            if kept.symlink_metadata().is_ok()
                && original.symlink_metadata().is_err()
                && let Err(err) = std::fs::rename(kept, original)
            {
                tracing::error!("restoring {}: {err}", original.display());
            }
        }
    }
}
