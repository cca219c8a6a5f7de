//! A multi-target archive's targets, checked from the wheels' own metadata: every wheel a target
//! lists is in the archive and fits that target's tags, and the target's wheels hold the whole
//! closure of the archive's roots there.

use crate::environment::Environment;
use crate::manifest::{Manifest, TargetRecord};
use crate::plan::{roots, select};
use crate::targets::{TargetError, TargetSpec};
use crate::wheel::WheelInfo;

/// Every problem with `manifest`'s targets, one message each, naming the target.
pub fn problems(manifest: &Manifest, wheels: &[WheelInfo]) -> Vec<String> {
    let mut problems = Vec::new();
    let roots = match roots(manifest, &[]) {
        Ok(roots) => roots,
        Err(err) => return vec![err.to_string()],
    };
    let excluded = crate::plan::excluded_projects(manifest);
    for target in &manifest.targets {
        let env = match environment(target) {
            Ok(env) => env,
            Err(err) => {
                problems.push(format!("target {}: {err}", target.tag));
                continue;
            }
        };
        let mut own = Vec::new();
        for file in &target.wheels {
            match wheels.iter().find(|w| &w.file_name == file) {
                None => problems.push(format!(
                    "target {} lists {file}, which the archive does not hold",
                    target.tag
                )),
                Some(wheel) if !wheel.filename.is_compatible(&env.tags) => problems.push(format!(
                    "target {} lists {file}, which does not fit it",
                    target.tag
                )),
                Some(wheel) => own.push(wheel.clone()),
            }
        }
        if let Err(err) = select(&own, &roots, &excluded, &env, false) {
            problems.push(format!(
                "target {}: its wheels do not install together there: {err}",
                target.tag
            ));
        }
    }
    problems
}

/// The environment a recorded target stands for, with the marker values it was resolved with.
pub fn environment(target: &TargetRecord) -> Result<Environment, TargetError> {
    match TargetSpec::parse(&target.tag, None)? {
        TargetSpec::Declared(mut machine) => {
            machine.markers = target.marker_environment.clone();
            machine.environment()
        }
        TargetSpec::Host => Err(TargetError::Spec {
            spec: target.tag.clone(),
            reason: "a recorded target names its machine, not `host`".to_string(),
        }),
    }
}
