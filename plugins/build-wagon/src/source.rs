//! The resolver's view of where projects come from: the package's own local wheels first, then
//! the indexes and find-links locations through `wagon-index`. A version offered only as an sdist
//! is built once, on this machine, to read its metadata — and that wheel is kept for the
//! wheelhouse.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use wagon_build_pip::{Pip, build_one};
use wagon_core::python::{DistFilename, PackageName};
use wagon_core::wheel::WheelInfo;
use wagon_index::{Index, IndexFile};
use wagon_resolver::{Candidate, CandidateMetadata, DistFile, PackageSource, SourceError};

/// The id of the package's own wheels: never looked up by id (an index controls ids), only by
/// project and file name through [`WagonSource::local_wheel`].
const LOCAL: &str = "local";

/// Local wheels over an index.
pub struct WagonSource<'a> {
    index: &'a Index,
    local: &'a [WheelInfo],
    pip: Pip<'a>,
    build_dir: PathBuf,
    /// The index's files by id (their URL), as listed.
    files: Mutex<HashMap<String, IndexFile>>,
    /// Wheels built from sdists, by the sdist's id.
    built: Mutex<HashMap<String, WheelInfo>>,
}

impl<'a> WagonSource<'a> {
    pub fn new(index: &'a Index, local: &'a [WheelInfo], pip: Pip<'a>, build_dir: &Path) -> Self {
        Self {
            index,
            local,
            pip,
            build_dir: build_dir.to_path_buf(),
            files: Mutex::default(),
            built: Mutex::default(),
        }
    }

    /// The index file behind a resolved file's id, if it came from the index.
    pub fn index_file(&self, id: &str) -> Option<IndexFile> {
        self.files.lock().ok()?.get(id).cloned()
    }

    /// The path of the package's own wheel `filename` of project `name`: only a project the user
    /// gave locally has one (its candidates come from `local` alone), so nothing an index lists
    /// can name a local file.
    pub fn local_wheel(&self, name: &PackageName, filename: &str) -> Option<PathBuf> {
        self.local
            .iter()
            .find(|w| &w.filename.name == name && w.file_name == filename)
            .map(|w| w.path.clone())
    }

    /// Builds the sdist `file` (once), returning its wheel.
    pub fn build_sdist(&self, file: &DistFile) -> Result<WheelInfo, SourceError> {
        if let Some(built) = self
            .built
            .lock()
            .ok()
            .and_then(|b| b.get(&file.id).cloned())
        {
            return Ok(built);
        }
        let index_file = self
            .index_file(&file.id)
            .ok_or_else(|| SourceError::new(format!("{} was not listed", file.filename)))?;
        let downloaded = self
            .index
            .download(std::slice::from_ref(&index_file))
            .map_err(|err| {
                SourceError::with_source(format!("cannot fetch {}", file.filename), err)
            })?;
        let sdist = downloaded
            .first()
            .ok_or_else(|| SourceError::new(format!("{} was not fetched", file.filename)))?;
        let into = self.build_dir.join(file.filename.replace(['/', '\\'], "_"));
        tracing::info!(
            "building {} on this machine (it has no wheel)",
            file.filename
        );
        let wheel =
            build_one(&self.pip, &sdist.path.display().to_string(), &into).map_err(|err| {
                SourceError::with_source(format!("cannot build {}", file.filename), err)
            })?;
        let info = WheelInfo::read(&wheel).map_err(|err| {
            SourceError::with_source(format!("cannot read the wheel of {}", file.filename), err)
        })?;
        if let Ok(mut built) = self.built.lock() {
            built.insert(file.id.clone(), info.clone());
        }
        Ok(info)
    }
}

impl PackageSource for WagonSource<'_> {
    fn candidates(&self, name: &PackageName) -> Result<Vec<Candidate>, SourceError> {
        // The package's own wheel is the package: the index's versions of it do not count.
        let local: Vec<Candidate> = self
            .local
            .iter()
            .filter(|w| &w.filename.name == name)
            .map(|w| {
                DistFile::wheel(&w.file_name, LOCAL)
                    .map(|file| Candidate {
                        name: name.clone(),
                        version: w.filename.version.clone(),
                        files: vec![file],
                    })
                    .map_err(|err| SourceError::with_source(w.file_name.clone(), err))
            })
            .collect::<Result<_, _>>()?;
        if !local.is_empty() {
            return Ok(local);
        }
        let listed = self
            .index
            .files(name)
            .map_err(|err| SourceError::with_source(format!("cannot list {name}"), err))?;
        let mut by_version: Vec<Candidate> = Vec::new();
        let mut remembered = self
            .files
            .lock()
            .map_err(|_| SourceError::new("the file table was poisoned"))?;
        for file in listed.iter() {
            let version = match &file.filename {
                DistFilename::WheelFilename(wheel) => wheel.version.clone(),
                DistFilename::SourceDistFilename(sdist) => sdist.version.clone(),
            };
            let id = file.url.to_string();
            let mut dist = match &file.filename {
                DistFilename::WheelFilename(_) => {
                    DistFile::wheel(&file.raw_filename, id.clone())
                        .map_err(|err| SourceError::with_source(file.raw_filename.clone(), err))?
                }
                DistFilename::SourceDistFilename(_) => {
                    DistFile::sdist(&file.raw_filename, id.clone())
                }
            };
            dist.sha256.clone_from(&file.sha256);
            if let Some(requires) = &file.requires_python {
                dist = dist.with_requires_python(requires.clone());
            }
            if let Some(yank) = &file.yanked {
                dist = dist.yanked(yank.reason.clone().unwrap_or_default());
            }
            remembered.insert(id, file.clone());
            match by_version.iter_mut().find(|c| c.version == version) {
                Some(candidate) => candidate.files.push(dist),
                None => by_version.push(Candidate {
                    name: name.clone(),
                    version,
                    files: vec![dist],
                }),
            }
        }
        Ok(by_version)
    }

    fn metadata(&self, candidate: &Candidate) -> Result<CandidateMetadata, SourceError> {
        let from_wheel = |info: &WheelInfo| CandidateMetadata {
            requires_dist: info.metadata.requires_dist.clone(),
            requires_python: info.metadata.requires_python.clone(),
        };
        if let Some(local) = self
            .local
            .iter()
            .find(|w| w.filename.name == candidate.name && w.filename.version == candidate.version)
        {
            return Ok(from_wheel(local));
        }
        // Any wheel of a version carries its metadata; only an sdist-only version is built.
        if let Some(wheel) = candidate.files.iter().find(|f| !f.is_sdist())
            && let Some(file) = self.index_file(&wheel.id)
        {
            let metadata = self.index.metadata(&file).map_err(|err| {
                SourceError::with_source(
                    format!("cannot read the metadata of {}", file.raw_filename),
                    err,
                )
            })?;
            return Ok(CandidateMetadata {
                requires_dist: metadata.requires_dist,
                requires_python: metadata.requires_python,
            });
        }
        let sdist = candidate
            .files
            .iter()
            .find(|f| f.is_sdist())
            .ok_or_else(|| {
                SourceError::new(format!(
                    "{} {} has no file",
                    candidate.name, candidate.version
                ))
            })?;
        Ok(from_wheel(&self.build_sdist(sdist)?))
    }
}
