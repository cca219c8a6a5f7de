//! An all-or-nothing install, step by step: under the environment's lock, recover from an
//! interrupted install, skip what is installed, stage every wheel, plan, commit, tidy up.

use std::path::PathBuf;

use wagon_core::python;

use crate::UnpackError;
use crate::env_lock::EnvLock;
use crate::installed;
use crate::journal;
use crate::layout::Layout;
use crate::plan::CommitPlan;
use crate::recovery::recover;
use crate::staging::{STAGING_PREFIX, unpack_all};

/// Installs `wheels` (path, requested) into `layout`; returns `name==version` of each installed.
pub fn install(
    layout: &Layout,
    wheels: &[(PathBuf, bool)],
    reinstall: bool,
    compile: bool,
) -> Result<Vec<String>, UnpackError> {
    let mut lock = EnvLock::acquire(&layout.prefix)?;
    // Ctrl-C or SIGTERM from here to the cleared journal waits for the environment to be whole
    // again (a few seconds at most); SIGKILL is what the journal is for.
    let interrupts = wagon_core::scratch::defer_interrupts();
    recover(layout, &mut lock);
    let installed = installed::scan(layout);
    let mut todo = Vec::new();
    for (wheel, requested) in wheels {
        let file = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name =
            python::parse_wheel_filename(&file).map_err(|e| UnpackError::Other(e.to_string()))?;
        let already = installed.get(name.name.as_str());
        if !reinstall
            && already
                .is_some_and(|i| python::version(&i.version).ok().as_ref() == Some(&name.version))
        {
            tracing::info!("{} {} is already installed", name.name, name.version);
            continue;
        }
        todo.push((wheel.clone(), *requested));
    }
    if todo.is_empty() {
        return Ok(Vec::new());
    }

    let purelib = layout.purelib();
    std::fs::create_dir_all(&purelib).map_err(UnpackError::io("create", &purelib))?;
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(&purelib)
        .map_err(UnpackError::io("create a staging folder in", &purelib))?;
    let started = std::time::Instant::now();
    let staged = unpack_all(layout, &todo, staging.path())?;
    tracing::debug!(
        "unpacked {} wheels into staging in {:.3?}",
        staged.len(),
        started.elapsed()
    );

    let plan = CommitPlan::new(layout, &staged, &installed, staging.path())?;
    plan.execute(&mut lock)?;
    tracing::debug!("moved into place in {:.3?}", started.elapsed());
    plan.prune_emptied(&layout.roots);
    drop(staging);
    journal::clear(&mut lock)?;
    drop(interrupts);
    tracing::debug!("cleaned up in {:.3?}", started.elapsed());

    if compile {
        crate::compile::compile_bytecode(layout, &staged)?;
    }
    Ok(staged
        .iter()
        .map(|w| format!("{}=={}", w.name, w.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::path::Path;

    use wagon_test_support::wheel::WheelBuilder;

    use super::*;
    use crate::testing::{Env, names};

    /// `builder`'s wheel with `path_in_wheel` altered after its RECORD was written.
    fn tampered(builder: &WheelBuilder, dir: &Path, path_in_wheel: &str) -> PathBuf {
        let good = builder.build_bytes();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(good)).unwrap();
        let record_path = format!("{}/RECORD", builder.dist_info());
        let mut record = Vec::new();
        zip.by_name(&record_path)
            .unwrap()
            .read_to_end(&mut record)
            .unwrap();
        builder
            .clone()
            .file(path_in_wheel, "altered")
            .file(&record_path, record)
            .build(dir)
    }

    fn wheels(env: &Env) -> Vec<(PathBuf, bool)> {
        let dir = env.dir.path().join("wheels");
        [
            WheelBuilder::new("alpha", "1.0").package("alpha", "A = 1\n"),
            WheelBuilder::new("beta", "2.0")
                .package("beta", "B = 2\n")
                .module("beta.big", &"# padding\n".repeat(5000)),
            WheelBuilder::new("gamma", "3.0").module("gamma", "G = 3\n"),
        ]
        .iter()
        .map(|w| (w.build(&dir), w.filename().starts_with("alpha")))
        .collect()
    }

    #[test]
    fn every_wheel_unpacks_and_lands_in_place() {
        let env = Env::new();
        let wheels = wheels(&env);
        let installed = install(&env.layout, &wheels, false, false).unwrap();
        assert_eq!(installed, vec!["alpha==1.0", "beta==2.0", "gamma==3.0"]);
        assert_eq!(env.read("alpha/__init__.py").as_deref(), Some("A = 1\n"));
        assert_eq!(env.read("gamma.py").as_deref(), Some("G = 3\n"));
        assert_eq!(env.read("beta/big.py").map(|s| s.len()), Some(50_000));
        assert_eq!(
            env.read("alpha-1.0.dist-info/INSTALLER").as_deref(),
            Some("wagon\n")
        );
        assert!(env.site.join("alpha-1.0.dist-info/REQUESTED").exists());
        assert!(!env.site.join("beta-2.0.dist-info/REQUESTED").exists());
        let record = env.read("gamma-3.0.dist-info/RECORD").unwrap();
        assert!(record.contains("gamma.py,sha256="), "{record}");
        assert!(!names(&env.site).iter().any(|n| n.starts_with(".wagon-")));

        // The same versions again: nothing to do.
        let before = env.snapshot();
        assert!(
            install(&env.layout, &wheels, false, false)
                .unwrap()
                .is_empty()
        );
        assert_eq!(env.snapshot(), before);
    }

    #[test]
    fn one_damaged_wheel_installs_nothing() {
        let env = Env::new();
        let mut wheels = wheels(&env);
        let bad = WheelBuilder::new("delta", "4.0").package("delta", "D = 4\n");
        wheels.insert(
            1,
            (
                tampered(&bad, &env.dir.path().join("bad"), "delta/__init__.py"),
                false,
            ),
        );
        let before = env.snapshot();
        let err = install(&env.layout, &wheels, false, false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("delta-4.0-py3-none-any.whl: "), "{err}");
        assert!(err.contains("does not match the wheel's RECORD"), "{err}");
        assert_eq!(
            env.snapshot(),
            before,
            "no wheel of the install was committed"
        );
        assert!(!names(&env.site).iter().any(|n| n.starts_with(".wagon-")));
    }

    #[test]
    fn a_new_version_replaces_the_old_one() {
        let env = Env::new();
        let dir = env.dir.path().join("wheels");
        let old = WheelBuilder::new("demo", "1.0")
            .package("demo", "v1\n")
            .module("demo.old", "old\n")
            .build(&dir);
        install(&env.layout, &[(old, true)], false, false).unwrap();
        assert_eq!(env.read("demo/old.py").as_deref(), Some("old\n"));
        let new = WheelBuilder::new("demo", "2.0")
            .package("demo", "v2\n")
            .build(&dir);
        assert_eq!(
            install(&env.layout, &[(new, true)], false, false).unwrap(),
            vec!["demo==2.0"]
        );
        assert_eq!(env.read("demo/__init__.py").as_deref(), Some("v2\n"));
        assert_eq!(
            env.read("demo/old.py"),
            None,
            "the old version's file is gone"
        );
        assert!(!env.site.join("demo-1.0.dist-info").exists());
        assert!(env.site.join("demo-2.0.dist-info/RECORD").exists());
    }
}
