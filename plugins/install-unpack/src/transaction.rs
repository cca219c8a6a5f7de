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
