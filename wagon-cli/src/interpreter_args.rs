//! Which interpreter a command targets: `--python`, else `--venv`, else the active virtualenv,
//! else `python3` on PATH.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use wagon_core::interpreter::{Interpreter, venv_python};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct InterpreterArgs {
    /// The interpreter to install into.
    #[arg(long, value_name = "PATH", conflicts_with = "venv")]
    pub python: Option<PathBuf>,

    /// The virtualenv to install into.
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
}

impl InterpreterArgs {
    /// The interpreter path these arguments name.
    pub fn interpreter(&self) -> anyhow::Result<PathBuf> {
        if let Some(python) = &self.python {
            return resolve_program(python);
        }
        if let Some(venv) = &self.venv {
            return Ok(venv_python(venv)?);
        }
        if let Some(active) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
            return venv_python(Path::new(&active)).with_context(|| {
                "VIRTUAL_ENV names a virtualenv without an interpreter".to_string()
            });
        }
        which::which("python3").map_err(|_| {
            anyhow::anyhow!(
                "no Python interpreter to install into: no --python, no --venv, no active \
                 virtualenv, and no python3 on PATH"
            )
        })
    }

    pub fn probe(&self) -> anyhow::Result<Interpreter> {
        let python = self.interpreter()?;
        let target = Interpreter::probe(&python)?;
        tracing::info!("target interpreter: {}", target.describe());
        Ok(target)
    }
}

/// A bare program name is looked up on PATH; a path is used as given.
pub fn resolve_program(program: &Path) -> anyhow::Result<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        if !program.exists() {
            bail!("the interpreter {} does not exist", program.display());
        }
        return Ok(program.to_path_buf());
    }
    which::which(program).with_context(|| format!("`{}` is not on PATH", program.display()))
}
