//! Unpacking every wheel of an install into its staging folder, on all cores, largest first;
//! the first failure stops the rest.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::UnpackError;
use crate::layout::Layout;
use crate::unpack::{self, StagedWheel};

/// Staging folders are named so; they live directly in site-packages.
pub const STAGING_PREFIX: &str = ".wagon-staging-";

/// Unpacks `wheels` (path, requested) into `staging`, each into its own numbered folder; returns
/// them in the order given. On failure, the error of the first failed wheel (in that order) of
/// those that ran.
pub fn unpack_all(
    layout: &Layout,
    wheels: &[(PathBuf, bool)],
    staging: &Path,
) -> Result<Vec<StagedWheel>, UnpackError> {
    let mut order: Vec<usize> = (0..wheels.len()).collect();
    let size = |i: &usize| {
        std::fs::metadata(&wheels[*i].0)
            .map(|m| m.len())
            .unwrap_or(0)
    };
    // The largest start first so that no core is left with a big one at the end.
    order.sort_by_key(|i| std::cmp::Reverse(size(i)));
    let failed = AtomicBool::new(false);
    // `par_bridge` hands the wheels out one at a time, in order, as threads come free.
    let mut results: Vec<(usize, Result<StagedWheel, UnpackError>)> =
        crate::pool::for_jobs(wheels.len())?.install(|| {
            order
                .iter()
                .par_bridge()
                .filter_map(|&index| {
                    if failed.load(Ordering::Relaxed) {
                        // Hand out no more work: the install is going to fail anyway.
                        return None;
                    }
                    let (wheel, requested) = &wheels[index];
                    let wheel_staging = staging.join(index.to_string());
                    let result = unpack::unpack(wheel, *requested, layout, &wheel_staging);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    Some((index, result))
                })
                .collect()
        });
    results.sort_by_key(|(index, _)| *index);
    let staged = results
        .into_iter()
        .map(|(_, result)| result)
        .collect::<Result<Vec<_>, _>>()?;
    if staged.len() != wheels.len() {
        return Err(UnpackError::Other(
            "not every wheel was unpacked".to_string(),
        ));
    }
    Ok(staged)
}
