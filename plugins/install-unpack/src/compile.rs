//! Byte-compiling installed `.py` files with the target interpreter, on all cores, and adding the
//! `.pyc` files to each RECORD so an uninstall removes them too.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use rayon::iter::{ParallelBridge, ParallelIterator};
use wagon_core::record;

use crate::UnpackError;
use crate::layout::Layout;
use crate::unpack::StagedWheel;

// One path per line in, the `.pyc` written (or an empty line) out, flushed per file.
const SCRIPT: &str = "import sys, py_compile, importlib.util\nfor line in iter(sys.stdin.readline, ''):\n    path = line.rstrip('\\n')\n    try:\n        py_compile.compile(path, doraise=True)\n        out = importlib.util.cache_from_source(path)\n    except Exception:\n        out = ''\n    sys.stdout.write(out + '\\n')\n    sys.stdout.flush()\n";

/// Byte-compiles the installed `.py` files with the target interpreter — one process per core,
/// each asking for the next file as it finishes one, largest first, so the cores stay evenly
/// busy — and adds the `.pyc` files to each RECORD, so an uninstall removes them too.
pub fn compile_bytecode(layout: &Layout, staged: &[StagedWheel]) -> Result<(), UnpackError> {
    let mut sources: Vec<(usize, &Path, u64)> = staged
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.files.iter().map(move |f| (i, f.dest.as_path())))
        .filter(|(i, path)| {
            path.extension().is_some_and(|e| e == "py")
                && path.starts_with(&staged[*i].lib_dir)
                // The exchange is line by line.
                && !path.as_os_str().as_encoded_bytes().contains(&b'\n')
        })
        .map(|(i, path)| (i, path, std::fs::metadata(path).map_or(0, |m| m.len())))
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    sources.sort_by_key(|(_, _, size)| std::cmp::Reverse(*size));
    // `par_bridge` hands the sources out in order, one at a time, to whichever interpreter is
    // free; each pool thread starts its interpreter on its first file and keeps it.
    let compiled: Vec<Option<(usize, String)>> =
        crate::pool::for_jobs(sources.len())?.install(|| {
            sources
                .iter()
                .enumerate()
                .par_bridge()
                .map_init(
                    || Compiler::new(&layout.python),
                    |compiler, (index, (_, path, _))| {
                        Ok(compiler.compile(path)?.map(|pyc| (index, pyc)))
                    },
                )
                .collect::<Result<_, UnpackError>>()
        })?;
    // In the order of `sources`, whichever interpreter compiled each: RECORD is reproducible.
    let mut compiled: Vec<(usize, String)> = compiled.into_iter().flatten().collect();
    compiled.sort_unstable();
    let mut extra_rows: BTreeMap<usize, String> = BTreeMap::new();
    for (source, pyc) in compiled {
        let wheel = sources[source].0;
        let pyc = PathBuf::from(pyc);
        if let Ok(bytes) = std::fs::read(&pyc) {
            extra_rows.entry(wheel).or_default().push_str(&record::row(
                &staged[wheel].lib_dir,
                &pyc,
                Some(&record::sha256(&bytes)),
                Some(bytes.len() as u64),
            ));
        }
    }
    for (wheel, rows) in extra_rows {
        let record_path = staged[wheel].dist_info.join("RECORD");
        let mut text =
            std::fs::read_to_string(&record_path).map_err(UnpackError::io("read", &record_path))?;
        text.push_str(&rows);
        std::fs::write(&record_path, text).map_err(UnpackError::io("write", &record_path))?;
    }
    Ok(())
}

/// One compiling interpreter, started on its first file, fed one path a line and answering
/// with the `.pyc` written (or an empty line).
struct Compiler<'a> {
    python: &'a Path,
    running: Option<Running>,
}

struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl<'a> Compiler<'a> {
    fn new(python: &'a Path) -> Self {
        Self {
            python,
            running: None,
        }
    }

    /// Compiles `path`; the `.pyc` written, or `None` if Python could not compile it.
    fn compile(&mut self, path: &Path) -> Result<Option<String>, UnpackError> {
        if self.running.is_none() {
            self.running = Some(self.start()?);
        }
        let python = self.python;
        let Some(Running {
            stdin: Some(stdin),
            stdout,
            ..
        }) = self.running.as_mut()
        else {
            return Err(died(python));
        };
        let mut request = path.as_os_str().as_encoded_bytes().to_vec();
        request.push(b'\n');
        stdin
            .write_all(&request)
            .and_then(|()| stdin.flush())
            .map_err(|_| died(python))?;
        let mut line = String::new();
        match stdout.read_line(&mut line) {
            Ok(read) if read > 0 => {
                let pyc = line.trim_end_matches('\n');
                Ok((!pyc.is_empty()).then(|| pyc.to_string()))
            }
            _ => Err(died(python)),
        }
    }

    fn start(&self) -> Result<Running, UnpackError> {
        let mut child = Command::new(self.python)
            // Isolated, no site: the wheels just installed (their `.pth` files) run nothing here.
            .args(["-I", "-S", "-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(UnpackError::io("run", self.python))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(died(self.python));
        };
        Ok(Running {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
        })
    }
}

fn died(python: &Path) -> UnpackError {
    UnpackError::Other(format!("{} stopped while compiling", python.display()))
}

impl Drop for Running {
    /// Closing its input ends the interpreter's loop; it is waited for, never left behind.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
