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

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;
    use crate::env_lock::LOCK_FILE;
    use crate::faults::FaultPoint;
    use crate::installed;
    use crate::testing::{Env, names};

    /// demo 1.0 installed, 2.0 staged, and the plan between them.
    fn upgrade(env: &Env) -> CommitPlan {
        env.install(
            "demo",
            "1.0",
            &[("demo/__init__.py", "v1"), ("demo/old/gone.py", "gone")],
        );
        let staging = env.staging();
        let staged = env.stage(
            &staging,
            0,
            "demo",
            "2.0",
            &[
                ("demo/__init__.py", "v2"),
                ("demo/new/here.py", "new"),
                ("demo-2.0.dist-info/RECORD", "record"),
            ],
        );
        let installed = installed::scan(&env.layout);
        CommitPlan::new(&env.layout, &[staged], &installed, &staging).unwrap()
    }

    /// Runs the commit until it is "killed" before `step` (its lock released, its journal and
    /// staging left), as SIGKILL would leave it.
    fn kill_at(env: &Env, plan: &CommitPlan, step: usize) {
        let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
        let killed = catch_unwind(AssertUnwindSafe(|| {
            plan.execute_with(&mut lock, &FaultPoint::killing_at(step))
        }));
        assert!(killed.is_err(), "step {step} was reached");
    }

    fn recover_now(env: &Env) {
        let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
        recover(&env.layout, &mut lock);
    }

    /// Only the lock file is left of Wagon's own files, naming no journal.
    fn assert_tidy(env: &Env) {
        assert!(!names(&env.site).iter().any(|n| n.starts_with(".wagon-")));
        assert_eq!(names(&env.layout.prefix), vec![LOCK_FILE, "bin", "lib"]);
        assert_eq!(
            std::fs::read_to_string(env.layout.prefix.join(LOCK_FILE)).unwrap(),
            ""
        );
    }

    #[test]
    fn an_install_killed_before_its_commit_point_is_undone_at_every_step() {
        let steps = upgrade(&Env::new()).set_aside.len()
            + upgrade(&Env::new()).created_dirs.len()
            + upgrade(&Env::new()).place.len();
        assert!(steps >= 6, "{steps} steps");
        for step in 0..steps {
            let env = Env::new();
            let plan = upgrade(&env);
            let before = env.snapshot();
            kill_at(&env, &plan, step);
            if step > 0 {
                assert_ne!(
                    env.snapshot(),
                    before,
                    "step {step} left a half-done commit"
                );
            }
            recover_now(&env);
            assert_eq!(env.snapshot(), before, "after a kill at step {step}");
            assert_tidy(&env);
        }
    }

    #[test]
    fn an_install_killed_after_its_commit_point_is_finished() {
        let env = Env::new();
        let plan = upgrade(&env);
        {
            let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
            plan.execute_with(&mut lock, &FaultPoint::none()).unwrap();
            // Killed here: emptied folders not pruned, staging and journal left.
        }
        assert!(env.site.join("demo/old").is_dir());
        recover_now(&env);
        assert_eq!(env.read("demo/__init__.py").as_deref(), Some("v2"));
        assert_eq!(env.read("demo/new/here.py").as_deref(), Some("new"));
        assert!(!env.site.join("demo/old").exists(), "emptied folder pruned");
        assert!(!env.site.join("demo-1.0.dist-info").exists());
        assert_tidy(&env);
    }

    /// A plan that, if acted on, takes `demo.py` out of the environment: its placed file would
    /// be "rolled back" into staging, which recovery then removes.
    fn harmful(env: &Env) -> CommitPlan {
        env.write("demo.py", "installed");
        let staging = env.staging();
        std::fs::create_dir_all(staging.join("0/0")).unwrap();
        CommitPlan {
            place: vec![(staging.join("0/0/demo.py"), env.site.join("demo.py"))],
            staging,
            ..CommitPlan::default()
        }
    }

    fn journal_of(env: &Env, plan: &CommitPlan) {
        let mut lock = EnvLock::acquire(&env.layout.prefix).unwrap();
        journal::begin(&mut lock, &serde_json::to_vec(plan).unwrap()).unwrap();
    }

    #[test]
    fn a_journal_the_lock_names_is_acted_on_and_one_it_does_not_is_not() {
        // Control: under the lock's token, the plan is rolled back.
        let env = Env::new();
        journal_of(&env, &harmful(&env));
        recover_now(&env);
        assert_eq!(env.read("demo.py"), None);

        // The same plan planted beside a lock naming another token is never read.
        let env = Env::new();
        let plan = serde_json::to_vec(&harmful(&env)).unwrap();
        std::fs::write(env.layout.prefix.join(".wagon-journal-planted.json"), plan).unwrap();
        std::fs::write(env.layout.prefix.join(LOCK_FILE), "Other1").unwrap();
        recover_now(&env);
        assert_eq!(env.read("demo.py").as_deref(), Some("installed"));
        assert_tidy(&env);
    }

    #[test]
    fn a_journal_reaching_outside_the_environment_is_refused() {
        let env = Env::new();
        let outside = env.dir.path().join("outside.py");
        std::fs::write(&outside, "precious").unwrap();
        let mut plan = harmful(&env);
        plan.place = vec![(plan.staging.join("0/0/x.py"), outside.clone())];
        let err = plan.check(&env.layout).unwrap_err();
        assert!(err.contains("outside the environment"), "{err}");
        journal_of(&env, &plan);
        recover_now(&env);
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
        assert_tidy(&env);

        // Nor may the trash lie outside staging.
        let mut plan = harmful(&env);
        plan.place.clear();
        plan.set_aside = vec![(
            env.site.join("demo.py"),
            plan.staging.join("../elsewhere.py"),
        )];
        let err = plan.check(&env.layout).unwrap_err();
        assert!(err.contains("outside its staging folder"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_whose_staging_is_not_a_real_folder_is_refused() {
        let env = Env::new();
        let mut plan = harmful(&env);
        std::fs::remove_dir_all(&plan.staging).unwrap();
        let elsewhere = env.dir.path().join("elsewhere");
        // Were the link followed, the rollback would move `demo.py` out into here.
        std::fs::create_dir_all(elsewhere.join("0/0")).unwrap();
        std::fs::write(elsewhere.join("kept.txt"), "kept").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &plan.staging).unwrap();
        let err = plan.check(&env.layout).unwrap_err();
        assert!(err.contains("is not Wagon's"), "{err}");
        journal_of(&env, &plan);
        recover_now(&env);
        assert_eq!(env.read("demo.py").as_deref(), Some("installed"));
        assert_eq!(
            names(&elsewhere),
            vec!["0", "kept.txt"],
            "the link removed, not its target"
        );
        assert!(names(&elsewhere.join("0/0")).is_empty());
        assert_tidy(&env);

        // A staging folder that is not one of Wagon's, however real.
        plan.staging = env.site.join("demo");
        std::fs::create_dir(&plan.staging).unwrap();
        let err = plan.check(&env.layout).unwrap_err();
        assert!(err.contains("is not Wagon's"), "{err}");
    }
}
