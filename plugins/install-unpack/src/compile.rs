//! Byte-compiling installed `.py` files with the target interpreter, on all cores, and adding the
//! `.pyc` files to each RECORD so an uninstall removes them too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use wagon_core::record;

use crate::UnpackError;
use crate::layout::Layout;
use crate::unpack::StagedWheel;

/// Byte-compiles the installed `.py` files with the target interpreter — one process per core,
/// each asking for the next file as it finishes one, largest first, so the cores stay evenly
/// busy — and adds the `.pyc` files to each RECORD, so an uninstall removes them too.
pub fn compile_bytecode(layout: &Layout, staged: &[StagedWheel]) -> Result<(), UnpackError> {
    // One path per line in, the `.pyc` written (or an empty line) out, flushed per file.
    const SCRIPT: &str = "import sys, py_compile, importlib.util\nfor line in iter(sys.stdin.readline, ''):\n    path = line.rstrip('\\n')\n    try:\n        py_compile.compile(path, doraise=True)\n        out = importlib.util.cache_from_source(path)\n    except Exception:\n        out = ''\n    sys.stdout.write(out + '\\n')\n    sys.stdout.flush()\n";
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
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(sources.len());
    let next = AtomicUsize::new(0);
    let outputs: Vec<Result<Vec<(usize, String)>, UnpackError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| compile_worker(&layout.python, SCRIPT, &sources, &next)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(UnpackError::Other("a compile thread panicked".into())))
            })
            .collect()
    });
    let mut extra_rows: BTreeMap<usize, String> = BTreeMap::new();
    for output in outputs {
        for (source, pyc) in output? {
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

/// Runs one compiling interpreter, feeding it the next source in `sources` each time it has
/// finished one; returns (index in `sources`, `.pyc` written) for each file it compiled.
fn compile_worker(
    python: &Path,
    script: &str,
    sources: &[(usize, &Path, u64)],
    next: &AtomicUsize,
) -> Result<Vec<(usize, String)>, UnpackError> {
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(python)
        // Isolated, no site: the wheels just installed (their `.pth` files) run nothing here.
        .args(["-I", "-S", "-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(UnpackError::io("run", python))?;
    let died = || UnpackError::Other(format!("{} stopped while compiling", python.display()));
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(died());
    };
    let mut stdout = std::io::BufReader::new(stdout);
    let mut compiled = Vec::new();
    let mut line = String::new();
    let result = loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some((_, path, _)) = sources.get(index) else {
            break Ok(());
        };
        let mut request = path.as_os_str().as_encoded_bytes().to_vec();
        request.push(b'\n');
        if stdin
            .write_all(&request)
            .and_then(|()| stdin.flush())
            .is_err()
        {
            break Err(died());
        }
        line.clear();
        match stdout.read_line(&mut line) {
            Ok(read) if read > 0 => {
                let pyc = line.trim_end_matches('\n');
                if !pyc.is_empty() {
                    compiled.push((index, pyc.to_string()));
                }
            }
            _ => break Err(died()),
        }
    };
    drop(stdin);
    let _ = child.wait();
    result.map(|()| compiled)
}
