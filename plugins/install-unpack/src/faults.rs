//! Fault injection for the interrupted-install tests: a process abort (as with SIGKILL) just
//! before a chosen step of the commit.

use crate::UnpackError;

/// Counts the commit's steps. `WAGON_FAULT_ABORT_AT=N` aborts the process (no clean-up runs)
/// just before the N-th step (counting from 0).
pub struct FaultPoint {
    abort_at: Option<usize>,
    steps: std::cell::Cell<usize>,
}

impl FaultPoint {
    pub fn from_env() -> Self {
        Self {
            abort_at: std::env::var("WAGON_FAULT_ABORT_AT")
                .ok()
                .and_then(|v| v.parse().ok()),
            steps: std::cell::Cell::new(0),
        }
    }

    /// Called before each step of the commit.
    pub fn step(&self) -> Result<(), UnpackError> {
        let step = self.steps.get();
        self.steps.set(step + 1);
        if self.abort_at == Some(step) {
            std::process::abort();
        }
        Ok(())
    }
}
