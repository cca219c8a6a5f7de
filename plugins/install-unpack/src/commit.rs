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
        Err(err) => Err(UnpackError::io("move a file to", to)(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::installed;
    use crate::testing::Env;

    /// demo 1.0 installed (with a subfolder 2.0 drops), 2.0 staged, and the plan between them.
    fn upgrade(env: &Env) -> CommitPlan {
        env.install(
            "demo",
            "1.0",
            &[
                ("demo/__init__.py", "v1"),
                ("demo/old/gone.py", "gone"),
                ("shared.py", "v1 shared"),
            ],
        );
        env.write("unrelated.py", "not ours");
        let staging = env.staging();
        let staged = env.stage(
            &staging,
            0,
            "demo",
            "2.0",
            &[
                ("demo/__init__.py", "v2"),
                ("shared.py", "v2 shared"),
                ("demo-2.0.dist-info/RECORD", "record"),
            ],
        );
        let installed = installed::scan(&env.layout);
        CommitPlan::new(&env.layout, &[staged], &installed, &staging).unwrap()
    }

    #[test]
    fn a_commit_replaces_the_old_version_entirely() {
        let env = Env::new();
        let plan = upgrade(&env);
        let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
        plan.execute_with(&mut lock, &FaultPoint::none()).unwrap();
        plan.prune_emptied(&env.layout.roots);
        assert_eq!(env.read("demo/__init__.py").as_deref(), Some("v2"));
        assert_eq!(env.read("shared.py").as_deref(), Some("v2 shared"));
        assert_eq!(env.read("unrelated.py").as_deref(), Some("not ours"));
        assert!(!env.site.join("demo/old").exists(), "emptied folder pruned");
        assert!(!env.site.join("demo-1.0.dist-info").exists());
        assert_eq!(
            env.read("demo-2.0.dist-info/RECORD").as_deref(),
            Some("record")
        );
        assert!(
            matches!(
                crate::journal::interrupted(&mut lock),
                Some(crate::journal::Interrupted::Committed(_))
            ),
            "the journal stands at its commit point until cleared"
        );
    }

    #[test]
    fn a_failure_at_any_step_leaves_the_environment_as_it_was() {
        let steps = {
            let env = Env::new();
            let plan = upgrade(&env);
            let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
            let fault = FaultPoint::none();
            plan.execute_with(&mut lock, &fault).unwrap();
            fault.steps()
        };
        assert!(steps >= 6, "{steps} steps");
        for step in 0..steps {
            let env = Env::new();
            let plan = upgrade(&env);
            let before = env.snapshot();
            let staging_before = crate::testing::names(&plan.staging.join("0/0"));
            let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
            let err = plan
                .execute_with(&mut lock, &FaultPoint::failing_at(step))
                .unwrap_err();
            assert!(err.to_string().contains("injected fault"), "{err}");
            assert_eq!(env.snapshot(), before, "after a failure at step {step}");
            assert_eq!(
                crate::testing::names(&plan.staging.join("0/0")),
                staging_before,
                "staged files back in staging after a failure at step {step}"
            );
            assert!(
                crate::journal::interrupted(&mut lock).is_none(),
                "the journal of a rolled-back commit is gone"
            );
        }
    }

    #[test]
    fn a_real_move_failure_rolls_back_too() {
        let env = Env::new();
        let plan = upgrade(&env);
        let before = env.snapshot();
        // The last staged file vanishes: its move fails after the others were made.
        let (last, _) = plan.place.last().unwrap();
        std::fs::remove_dir_all(last).unwrap();
        let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
        let err = plan.execute(&mut lock).unwrap_err();
        assert!(err.to_string().contains("cannot move a file to"), "{err}");
        assert_eq!(env.snapshot(), before);
    }
}
