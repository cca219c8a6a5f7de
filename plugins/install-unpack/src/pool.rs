//! The worker pool the parallel steps (unpacking, byte-compiling) run on: one thread per core,
//! never more than there is work for.

use crate::UnpackError;

/// A pool of one thread per core, at most `jobs` (and at least one).
pub fn for_jobs(jobs: usize) -> Result<rayon::ThreadPool, UnpackError> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(jobs)
        .max(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("wagon-unpack-{i}"))
        .build()
        .map_err(|e| UnpackError::Other(format!("cannot start worker threads: {e}")))
}
