//! Reading the facts Wagon needs out of a wheel file: its parsed file name, its core metadata
//! (`*.dist-info/METADATA`) and its sha256.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::python::{self, CoreMetadata, PythonSyntaxError, WheelFilename};

/// The largest METADATA file Wagon reads (real ones are a few KiB to a few hundred).
const MAX_METADATA_BYTES: u64 = 8 * 1024 * 1024;

/// Why a wheel could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error(transparent)]
    Syntax(#[from] PythonSyntaxError),
    #[error(transparent)]
    Io(#[from] crate::path_error::PathIoError),
    #[error("{path} is not a valid wheel (zip): {detail}")]
    Zip { path: PathBuf, detail: String },
    #[error("{path} has no {dist_info}/METADATA, so it is not a valid wheel")]
    NoMetadata { path: PathBuf, dist_info: String },
    #[error(
        "{path} says it is {found}, but its file name says {expected}; the wheel was renamed or \
         is damaged"
    )]
    NameMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
}

/// A wheel on disk with its parsed name and metadata.
#[derive(Debug, Clone)]
pub struct WheelInfo {
    pub path: PathBuf,
    pub file_name: String,
    pub filename: WheelFilename,
    pub metadata: CoreMetadata,
    /// The project name as METADATA spells it (`Flask`, not `flask`).
    pub display_name: String,
}

impl WheelInfo {
    /// Reads the wheel at `path`: its name must parse and its METADATA must agree with it.
    pub fn read(path: &Path) -> Result<Self, WheelError> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let filename = python::parse_wheel_filename(&file_name)?;
        let io_error = |source| {
            WheelError::Io(crate::path_error::PathIoError::doing("read wheel", path)(
                source,
            ))
        };
        // Names unique, entries disjoint, sizes plausible: what every installer relies on.
        let mut zip =
            crate::archive::zip_check::open(path, u64::MAX).map_err(|err| WheelError::Zip {
                path: path.to_path_buf(),
                detail: err.to_string(),
            })?;
        // The dist-info folder is named from the normalised project name; compare normalised.
        let metadata_entry = dist_info_dir(zip.file_names(), &filename.name, "METADATA")
            .map(|dir| format!("{dir}/METADATA"));
        let dist_info = format!(
            "{}-{}.dist-info",
            filename.name.as_dist_info_name(),
            filename.version
        );
        let Some(metadata_entry) = metadata_entry else {
            return Err(WheelError::NoMetadata {
                path: path.to_path_buf(),
                dist_info,
            });
        };
        let mut bytes = Vec::new();
        zip.by_name(&metadata_entry)
            .map_err(|err| WheelError::Zip {
                path: path.to_path_buf(),
                detail: err.to_string(),
            })?
            .take(MAX_METADATA_BYTES)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        let metadata =
            python::parse_core_metadata(&bytes, &format!("{}/{metadata_entry}", path.display()))?;
        if metadata.name != filename.name || metadata.version != filename.version {
            return Err(WheelError::NameMismatch {
                path: path.to_path_buf(),
                expected: format!("{} {}", filename.name, filename.version),
                found: format!("{} {}", metadata.name, metadata.version),
            });
        }
        let display_name = metadata.display_name.clone();
        Ok(Self {
            path: path.to_path_buf(),
            file_name,
            filename,
            metadata,
            display_name,
        })
    }
}

/// The wheel's `{name}-{version}.dist-info` folder among `entries`: the top-level one holding
/// `file` whose project part matches `name` once normalised (wheels spell it in several ways).
pub fn dist_info_dir<'a>(
    entries: impl Iterator<Item = &'a str>,
    name: &crate::python::PackageName,
    file: &str,
) -> Option<String> {
    let wanted = name.as_dist_info_name().to_lowercase();
    let suffix = format!("/{file}");
    entries
        .filter_map(|entry| entry.strip_suffix(suffix.as_str()))
        .filter(|dir| !dir.contains('/') && dir.ends_with(".dist-info"))
        .find(|dir| {
            dir.trim_end_matches(".dist-info")
                .rsplit_once('-')
                .is_some_and(|(project, _)| {
                    project.replace(['-', '.'], "_").to_lowercase() == wanted
                })
        })
        .map(str::to_string)
}

/// Lowercase hex sha256 and size of everything `reader` yields.
pub fn sha256_of(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// sha256 and size of a file.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    sha256_of(BufReader::new(File::open(path)?))
}
