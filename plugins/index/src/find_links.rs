//! `--find-links` locations: a folder's distributions, or the links of an HTML page (local or
//! http), each page read once per run.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use url::Url;
use wagon_core::path_error::PathIoError;
use wagon_core::python::{DistFilename, PackageName};
use wagon_core::redact::redact_url;

use crate::Error;
use crate::file::{IndexFile, is_plain_file_name};
use crate::http::HttpClient;
use crate::settings::FindLinks;
use crate::simple::{parse_html, without_credentials};

/// Pages are listings of many projects: bound a hostile one.
const PAGE_LIMIT: u64 = 64 * 1024 * 1024;

/// Find-links pages read so far (final URL and text), by location.
#[derive(Default)]
pub(crate) struct Pages(Mutex<HashMap<Url, Arc<(Url, String)>>>);

/// The files of `name` at `location`. A folder that does not exist is skipped with a warning,
/// as pip skips it.
pub(crate) fn files(
    client: &HttpClient,
    pages: &Pages,
    location: &FindLinks,
    name: &PackageName,
) -> Result<Vec<IndexFile>, Error> {
    match location {
        FindLinks::Path(path) if path.is_dir() => folder(path, name),
        FindLinks::Path(path) if path.is_file() => {
            let text = std::fs::read_to_string(path).map_err(PathIoError::doing("read", path))?;
            let page = file_url(path)?;
            Ok(parse_html(&text, &page, name, &path.display().to_string()))
        }
        FindLinks::Path(path) => {
            tracing::warn!(
                "skipping find-links {}: no such folder or file",
                path.display()
            );
            Ok(Vec::new())
        }
        FindLinks::Url(url) => {
            let page = page(client, pages, url)?;
            Ok(parse_html(
                &page.1,
                &page.0,
                name,
                &redact_url(url.as_str()),
            ))
        }
    }
}

fn page(client: &HttpClient, pages: &Pages, url: &Url) -> Result<Arc<(Url, String)>, Error> {
    if let Ok(read) = pages.0.lock()
        && let Some(page) = read.get(url)
    {
        return Ok(Arc::clone(page));
    }
    let reply = client.get(url, &[("Accept", "text/html")])?.success()?;
    let final_url = without_credentials(&reply.url);
    let text = String::from_utf8_lossy(&reply.bytes(PAGE_LIMIT)?).into_owned();
    let page = Arc::new((final_url, text));
    if let Ok(mut write) = pages.0.lock() {
        write.insert(url.clone(), Arc::clone(&page));
    }
    Ok(page)
}

/// The distributions of `name` directly in `dir`.
fn folder(dir: &Path, name: &PackageName) -> Result<Vec<IndexFile>, Error> {
    let origin = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(PathIoError::doing("list", dir))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(PathIoError::doing("list", dir))?;
        let Ok(filename) = entry.file_name().into_string() else {
            continue;
        };
        if !is_plain_file_name(&filename) || !entry.path().is_file() {
            continue;
        }
        let Some(parsed) =
            DistFilename::try_from_filename(&filename, name).filter(|parsed| parsed.name() == name)
        else {
            continue;
        };
        files.push(IndexFile {
            filename: parsed,
            raw_filename: filename,
            url: file_url(&entry.path())?,
            sha256: None,
            requires_python: None,
            yanked: None,
            metadata_advertised: false,
            metadata_sha256: None,
            size: entry.metadata().ok().map(|m| m.len()),
            origin: origin.clone(),
        });
    }
    files.sort_by(|a, b| a.raw_filename.cmp(&b.raw_filename));
    Ok(files)
}

fn file_url(path: &Path) -> Result<Url, Error> {
    let absolute = std::path::absolute(path).map_err(PathIoError::doing("resolve", path))?;
    Url::from_file_path(&absolute).map_err(|()| Error::InvalidUrl {
        what: "find-links",
        url: absolute.display().to_string(),
        reason: "it cannot be a file URL".to_string(),
        example: "a local folder",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_local_pages_list_a_projects_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "demo-1.0.tar.gz",
            "demo-1.1-py3-none-any.whl",
            "demo_extra-1.0-py3-none-any.whl",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let page = dir.path().join("links.html");
        std::fs::write(
            &page,
            "<a href=\"demo-1.1-py3-none-any.whl#sha256=0000000000000000000000000000000000000000000000000000000000000000\">d</a>\
             <a href=\"https://elsewhere.example/demo-2.0.tar.gz\">r</a>",
        )
        .unwrap();
        let name = wagon_core::python::package_name("demo").unwrap();
        let client = HttpClient::new(&crate::IndexSettings::default()).unwrap();
        let pages = Pages::default();
        let listed = files(&client, &pages, &FindLinks::Path(dir.path().into()), &name).unwrap();
        let names: Vec<&str> = listed.iter().map(|f| f.raw_filename.as_str()).collect();
        assert_eq!(names, ["demo-1.0.tar.gz", "demo-1.1-py3-none-any.whl"]);
        assert_eq!(
            listed[1].url.to_file_path().unwrap(),
            dir.path().join(names[1])
        );

        let linked = files(&client, &pages, &FindLinks::Path(page), &name).unwrap();
        assert_eq!(linked.len(), 2);
        assert_eq!(
            linked[0].url.to_file_path().unwrap(),
            dir.path().join(names[1])
        );
        assert!(linked[0].sha256.is_some());
        assert_eq!(
            linked[1].url.as_str(),
            "https://elsewhere.example/demo-2.0.tar.gz"
        );

        let missing = FindLinks::Path(dir.path().join("missing"));
        assert!(files(&client, &pages, &missing, &name).unwrap().is_empty());
    }
}
