//! Fault injection for the interrupted-install tests: a process abort (as with SIGKILL) just
//! before a chosen step of the commit, or, in unit tests, an error or an unwinding "kill" there.

use crate::UnpackError;

/// What happens at the chosen step.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `std::process::abort`: no clean-up runs.
    Abort,
    /// The step fails: the commit rolls back in-process.
    #[cfg(test)]
    Fail,
    /// A panic unwinds out of the commit, skipping its rollback and leaving its journal, as a
    /// kill would, without ending the test process.
    #[cfg(test)]
    Kill,
}

/// Counts the commit's steps. `WAGON_FAULT_ABORT_AT=N` aborts the process just before the
/// N-th step (counting from 0).
pub struct FaultPoint {
    at: Option<(usize, Fault)>,
    steps: std::cell::Cell<usize>,
}

impl FaultPoint {
    pub fn from_env() -> Self {
        let at = std::env::var("WAGON_FAULT_ABORT_AT")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(|step| (step, Fault::Abort));
        Self::new(at)
    }

    fn new(at: Option<(usize, Fault)>) -> Self {
        Self {
            at,
            steps: std::cell::Cell::new(0),
        }
    }

    /// No fault: every step runs.
    #[cfg(test)]
    pub fn none() -> Self {
        Self::new(None)
    }

    /// Step `step` fails with an error.
    #[cfg(test)]
    pub fn failing_at(step: usize) -> Self {
        Self::new(Some((step, Fault::Fail)))
    }

    /// The commit is "killed" (a panic) just before step `step`.
    #[cfg(test)]
    pub fn killing_at(step: usize) -> Self {
        Self::new(Some((step, Fault::Kill)))
    }

    /// Called before each step of the commit.
    pub fn step(&self) -> Result<(), UnpackError> {
        let step = self.steps.get();
        self.steps.set(step + 1);
        match self.at {
            Some((at, Fault::Abort)) if at == step => std::process::abort(),
            #[cfg(test)]
            Some((at, Fault::Fail)) if at == step => {
                Err(UnpackError::Other(format!("injected fault at step {step}")))
            }
            #[cfg(test)]
            Some((at, Fault::Kill)) if at == step => panic!("killed at step {step}"),
            _ => Ok(()),
        }
    }

    /// How many steps have been taken.
    #[cfg(test)]
    pub fn steps(&self) -> usize {
        self.steps.get()
    }
}
