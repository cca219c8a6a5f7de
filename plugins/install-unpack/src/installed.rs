//! The distributions already installed in the environment, and the files each one's RECORD
//! claims — read as untrusted input: a RECORD path leaving the environment's scheme roots, or
//! passing through a link, is reported and left alone, never removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wagon_core::installed::dist_infos_in;
use wagon_core::record;

use crate::UnpackError;
use crate::layout::Layout;
use wagon_core::containment::Scheme;

/// An installed distribution found in the environment.
#[derive(Debug, Clone)]
pub struct Installed {
    pub dist_info: PathBuf,
    pub version: String,
}

/// The distributions installed in the environment, by normalised name. A `.dist-info` that is
/// a link rather than a folder is not a distribution Wagon will touch.
pub fn scan(layout: &Layout) -> BTreeMap<String, Installed> {
    let mut found = BTreeMap::new();
    let purelib = layout.lib_dir(Scheme::Purelib);
    let platlib = layout.lib_dir(Scheme::Platlib);
    let mut dirs = vec![&purelib];
    if platlib != purelib {
        dirs.push(&platlib);
    }
    for dir in dirs {
        for dist in dist_infos_in(dir) {
            found.insert(
                dist.name.to_string(),
                Installed {
                    dist_info: dist.path,
                    version: dist.version,
                },
            );
        }
    }
    found
}

/// Every file an installed distribution's RECORD lists inside the environment, and anything
/// else in its dist-info. Folders are never listed (only files and links, which are removed
/// themselves, not followed).
pub fn files(layout: &Layout, old: &Installed) -> Result<Vec<PathBuf>, UnpackError> {
    let base = old
        .dist_info
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let record_path = old.dist_info.join("RECORD");
    let rows = std::fs::read(&record_path)
        .map_err(UnpackError::io("read", &record_path))
        .and_then(|bytes| record::parse(&bytes).map_err(UnpackError::Other))?;
    let roots = &layout.roots;
    let is_file_or_link = |path: &Path| {
        path.symlink_metadata()
            .is_ok_and(|m| !m.file_type().is_dir())
    };
    let mut files = Vec::new();
    for listed in rows.keys() {
        let dest = match roots.recorded(&base, listed) {
            Ok(dest) => dest,
            Err(why) => {
                tracing::warn!(
                    "{}: leaving `{}` alone: {why}",
                    record_path.display(),
                    listed.escape_debug()
                );
                continue;
            }
        };
        if !is_file_or_link(&dest.path) {
            continue;
        }
        if let Err(why) = roots.check_no_links(&dest) {
            tracing::warn!("{}: leaving it alone: {why}", record_path.display());
            continue;
        }
        files.push(dest.path);
    }
    if let Ok(entries) = std::fs::read_dir(&old.dist_info) {
        files.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
                .map(|e| e.path()),
        );
    }
    files.sort();
    files.dedup();
    Ok(files)
}
