//! Performing a commit plan under its journal: old files aside, folders created, staged files
//! moved into place — rolled back on any error — and, once committed, emptied folders pruned.

use std::path::Path;

use wagon_core::containment::SchemeRoots;

use crate::UnpackError;
use crate::env_lock::EnvLock;
use crate::faults::FaultPoint;
use crate::journal;
use crate::plan::CommitPlan;

impl CommitPlan {
    /// Journals the plan, then performs it; on any error undoes what was done.
    pub fn execute(&self, lock: &mut EnvLock) -> Result<(), UnpackError> {
        self.execute_with(lock, &FaultPoint::from_env())
    }

    /// [`Self::execute`], with each step announced to `fault` first.
    pub(crate) fn execute_with(
        &self,
        lock: &mut EnvLock,
        fault: &FaultPoint,
    ) -> Result<(), UnpackError> {
        let text = serde_json::to_vec(self).map_err(|e| UnpackError::Other(e.to_string()))?;
        let journal = journal::begin(lock, &text)?;
        if let Some(trash) = self.set_aside.first().and_then(|(_, kept)| kept.parent()) {
            std::fs::create_dir_all(trash).map_err(UnpackError::io("create", trash))?;
        }
        let result = (|| {
            for (original, kept) in &self.set_aside {
                fault.step()?;
                move_file(original, kept)?;
            }
            for dir in &self.created_dirs {
                fault.step()?;
                match std::fs::create_dir(dir) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(UnpackError::io("create", dir)(err)),
                }
            }
            for (staged, dest) in &self.place {
                fault.step()?;
                move_file(staged, dest)?;
            }
            Ok(())
        })();
        if let Err(err) = result {
            self.roll_back();
            journal.abandon();
            return Err(err);
        }
        journal.commit()
    }

    /// After a successful commit: remove folders that setting old files aside left empty.
    pub fn prune_emptied(&self, roots: &SchemeRoots) {
        for (original, _) in &self.set_aside {
            let mut dir = original.parent();
            while let Some(current) = dir {
                if roots.roots().iter().any(|root| root.starts_with(current))
                    || std::fs::remove_dir(current).is_err()
                {
                    break;
                }
                dir = current.parent();
            }
        }
    }
}

fn move_file(from: &Path, to: &Path) -> Result<(), UnpackError> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        // Another file system (a scripts folder mounted elsewhere): copy, then remove.
        Err(err) if err.kind() == std::io::ErrorKind::CrossesDevices => {
            std::fs::copy(from, to).map_err(UnpackError::io("copy", to))?;
            std::fs::remove_file(from).map_err(UnpackError::io("remove", from))
        }
        Err(err) => Err(UnpackError::Io {
            action: "move a file to",
            path: to.to_path_buf(),
            source: err,
        }),
    }
}
