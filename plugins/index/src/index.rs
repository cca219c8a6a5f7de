//! The client the resolver and `create` use: every configured location's files for a project,
//! merged; a wheel's metadata; downloads — one HTTP client and one cache for the whole run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wagon_core::python::{CoreMetadata, PackageName};

use crate::cache::Cache;
use crate::download::{self, Downloaded};
use crate::file::IndexFile;
use crate::find_links::{self, Pages};
use crate::http::HttpClient;
use crate::settings::IndexSettings;
use crate::{Error, metadata, simple};

/// Downloads running at once unless told otherwise.
const DEFAULT_PARALLEL_DOWNLOADS: usize = 8;

/// The package index client. It is `Sync`: a resolver may ask from several threads.
pub struct Index {
    settings: IndexSettings,
    client: HttpClient,
    cache: Cache,
    find_links_pages: Pages,
    projects: Mutex<HashMap<PackageName, Arc<Vec<IndexFile>>>>,
    parallel_downloads: usize,
}

impl Index {
    /// A client reading the locations of `settings`, keeping downloads in `cache`. Fails when
    /// the `cert` bundle cannot be read.
    pub fn new(settings: IndexSettings, cache: Cache) -> Result<Index, Error> {
        Ok(Index {
            client: HttpClient::new(&settings)?,
            settings,
            cache,
            find_links_pages: Pages::default(),
            projects: Mutex::new(HashMap::new()),
            parallel_downloads: DEFAULT_PARALLEL_DOWNLOADS,
        })
    }

    /// At most `n` downloads at once (at least one).
    #[must_use]
    pub fn with_parallel_downloads(mut self, n: usize) -> Index {
        self.parallel_downloads = n.max(1);
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &IndexSettings {
        &self.settings
    }

    /// The cache in use.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Every file of `name` on every index and find-links location, in the order the locations
    /// are configured (indexes, then find-links). All are equal candidates, as in pip; a file
    /// listed twice with the same hash is kept once. Read once per run and remembered.
    /// An index that does not know the project adds nothing; one that fails is an error.
    pub fn files(&self, name: &PackageName) -> Result<Arc<Vec<IndexFile>>, Error> {
        if let Ok(projects) = self.projects.lock()
            && let Some(files) = projects.get(name)
        {
            return Ok(Arc::clone(files));
        }
        let mut files: Vec<IndexFile> = Vec::new();
        for index in &self.settings.index_urls {
            files.extend(simple::project_files(
                &self.client,
                &self.cache,
                index,
                name,
            )?);
        }
        for location in &self.settings.find_links {
            files.extend(find_links::files(
                &self.client,
                &self.find_links_pages,
                location,
                name,
            )?);
        }
        let mut seen = std::collections::HashSet::new();
        files.retain(|file| match &file.sha256 {
            Some(sha256) => seen.insert((file.raw_filename.clone(), sha256.clone())),
            None => true,
        });
        let files = Arc::new(files);
        if let Ok(mut projects) = self.projects.lock() {
            projects.insert(name.clone(), Arc::clone(&files));
        }
        Ok(files)
    }

    /// The core metadata of a wheel: from the cache, the PEP 658 `.metadata` file (tried even
    /// when not advertised), a range read of the wheel, or the whole wheel — in that order.
    /// Checked to name the wheel's project and version; cached when the index lists the
    /// wheel's hash, so a second run asks nothing.
    pub fn metadata(&self, file: &IndexFile) -> Result<CoreMetadata, Error> {
        metadata::fetch(&self.client, &self.cache, file)
    }

    /// Downloads `files` (several at once), each checked against the sha256 its index lists
    /// when it lists one (files without one are taken, and named at info level) and kept in
    /// the cache; a file already there costs no request. Returns the files' paths
    /// in order, or the first failure once all are done.
    pub fn download(&self, files: &[IndexFile]) -> Result<Vec<Downloaded>, Error> {
        download::fetch_all(&self.client, &self.cache, files, self.parallel_downloads)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Index>();
    }
}
