//! The simple repository API: a project's page on one index, PEP 691 JSON preferred and PEP 503
//! HTML understood, turned into [`IndexFile`]s.

use std::str::FromStr;
use std::time::SystemTime;

use url::Url;
use wagon_core::python::{
    DistFilename, Hashes, LenientVersionSpecifiers, PackageName, PypiSimpleDetail,
    SimpleApiMetadata, VersionSpecifiers, Yanked,
};
use wagon_core::redact::redact_url;

use crate::cache::Cache;
use crate::file::{IndexFile, Yank, is_plain_file_name};
use crate::http::HttpClient;
use crate::pages::{self, StoredPage};
use crate::{Error, html};

/// JSON first, HTML as the fallback (PEP 691's recommended header).
pub(crate) const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
     application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
/// Large projects' pages run to tens of megabytes; this bounds a hostile one.
const PAGE_LIMIT: u64 = 256 * 1024 * 1024;

/// The files `name` has on the index at `index` (a URL ending with `/`); none when the index
/// does not know the project (HTTP 404 or 410). The page comes from `cache` when HTTP caching
/// allows (see `pages`).
pub(crate) fn project_files(
    client: &HttpClient,
    cache: &Cache,
    index: &Url,
    name: &PackageName,
) -> Result<Vec<IndexFile>, Error> {
    // A normalised name is `[a-z0-9-]+`: it joins as one path segment.
    let page_url = index
        .join(&format!("{name}/"))
        .map_err(|err| Error::InvalidUrl {
            what: "index",
            url: redact_url(index.as_str()),
            reason: err.to_string(),
            example: crate::DEFAULT_INDEX_URL,
        })?;
    let origin = redact_url(index.as_str());
    let stored = pages::load(cache, &page_url);
    if let Some(page) = &stored
        && page.is_fresh(SystemTime::now())
    {
        tracing::debug!("{} is fresh in the cache", redact_url(page_url.as_str()));
        return parse_stored(page, name, &origin);
    }
    let mut headers = vec![("Accept", ACCEPT)];
    if let Some(page) = &stored {
        headers.extend(page.validators());
    }
    let reply = client.get(&page_url, &headers)?;
    if reply.status == 304
        && let Some(page) = stored
    {
        tracing::debug!("{} has not changed", redact_url(page_url.as_str()));
        let page = page.revalidated(&reply.caching, SystemTime::now());
        pages::store(cache, &page_url, &page);
        return parse_stored(&page, name, &origin);
    }
    if matches!(reply.status, 404 | 410) {
        tracing::debug!("{} has no page for {name}", redact_url(index.as_str()));
        return Ok(Vec::new());
    }
    let reply = reply.success()?;
    let served = without_credentials(&reply.url);
    let caching = reply.caching.clone();
    let content_type = reply.content_type.clone();
    let body = reply.bytes(PAGE_LIMIT)?;
    let files = parse_page(&served, &content_type, &body, name, &origin)?;
    // Kept only once it parsed: a broken page is asked for again next time.
    if let Some(keep) =
        StoredPage::served(&served, &content_type, body, &caching, SystemTime::now())
    {
        pages::store(cache, &page_url, &keep);
    }
    Ok(files)
}

/// The files of a project page in whichever format it came.
fn parse_page(
    page: &Url,
    content_type: &str,
    body: &[u8],
    name: &PackageName,
    origin: &str,
) -> Result<Vec<IndexFile>, Error> {
    if content_type.to_ascii_lowercase().starts_with(JSON_TYPE) {
        parse_json(body, page, name, origin)
    } else {
        Ok(parse_html(
            &String::from_utf8_lossy(body),
            page,
            name,
            origin,
        ))
    }
}

/// [`parse_page`] of a stored page.
fn parse_stored(
    page: &StoredPage,
    name: &PackageName,
    origin: &str,
) -> Result<Vec<IndexFile>, Error> {
    parse_page(&page.url, &page.content_type, &page.body, name, origin)
}

/// The files of a PEP 691 project page served from `page`.
pub(crate) fn parse_json(
    body: &[u8],
    page: &Url,
    name: &PackageName,
    origin: &str,
) -> Result<Vec<IndexFile>, Error> {
    let detail: PypiSimpleDetail = serde_json::from_slice(body).map_err(|err| Error::Page {
        url: redact_url(page.as_str()),
        reason: format!("invalid PEP 691 JSON: {err}"),
    })?;
    let files = detail.files.into_iter().filter_map(|file| {
        let requires_python = match file.requires_python {
            Some(Ok(specifiers)) => Some((*specifiers).clone()),
            Some(Err(err)) => {
                tracing::warn!("{}: ignoring its Requires-Python: {err}", file.filename);
                None
            }
            None => None,
        };
        let yanked = file.yanked.and_then(|yanked| match *yanked {
            Yanked::Bool(true) => Some(Yank { reason: None }),
            Yanked::Bool(false) => None,
            Yanked::Reason(reason) => Some(Yank {
                reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
            }),
        });
        let (metadata_advertised, metadata_sha256) = match file.core_metadata {
            Some(SimpleApiMetadata::Bool(advertised)) => (advertised, None),
            Some(SimpleApiMetadata::Hashes(hashes)) => (true, sha256_of(&hashes)),
            None => (false, None),
        };
        let entry = Entry {
            filename: &file.filename,
            href: &file.url,
            hashes: &file.hashes,
            requires_python,
            yanked,
            metadata_advertised,
            metadata_sha256,
            size: file.size,
        };
        entry.into_file(page, name, origin)
    });
    Ok(files.collect())
}

/// The files of a PEP 503 page (or a find-links page) served from `page` that belong to `name`.
pub(crate) fn parse_html(
    html: &str,
    page: &Url,
    name: &PackageName,
    origin: &str,
) -> Vec<IndexFile> {
    let parsed = html::parse(html);
    let base = parsed
        .base
        .as_deref()
        .and_then(|base| page.join(base).ok())
        .unwrap_or_else(|| page.clone());
    let mut files = Vec::new();
    for anchor in &parsed.anchors {
        let Some(href) = anchor.get("href") else {
            continue;
        };
        let Ok(mut url) = base.join(href) else {
            tracing::debug!("skipping the link `{href}`: not a URL");
            continue;
        };
        let hashes = url
            .fragment()
            .and_then(|fragment| Hashes::parse_fragment(fragment).ok())
            .unwrap_or_default();
        url.set_fragment(None);
        let filename = url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .map(|last| {
                percent_encoding::percent_decode_str(last)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        let requires_python = anchor
            .get("data-requires-python")
            .filter(|v| !v.trim().is_empty())
            .and_then(|value| match LenientVersionSpecifiers::from_str(value) {
                Ok(lenient) => Some(VersionSpecifiers::from(lenient)),
                Err(err) => {
                    tracing::warn!("{filename}: ignoring its Requires-Python `{value}`: {err}");
                    None
                }
            });
        let yanked = anchor.get("data-yanked").map(|reason| Yank {
            reason: Some(reason.clone()).filter(|r| !r.is_empty()),
        });
        // PEP 714's name first, then PEP 658's.
        let metadata = anchor
            .get("data-core-metadata")
            .or_else(|| anchor.get("data-dist-info-metadata"))
            .map(|value| value.trim());
        let (metadata_advertised, metadata_sha256) = match metadata {
            None | Some("false") => (false, None),
            Some(value) => (
                true,
                Hashes::parse_fragment(value)
                    .ok()
                    .and_then(|hashes| sha256_of(&hashes)),
            ),
        };
        let entry = Entry {
            filename: &filename,
            href: url.as_str(),
            hashes: &hashes,
            requires_python,
            yanked,
            metadata_advertised,
            metadata_sha256,
            size: None,
        };
        files.extend(entry.into_file(page, name, origin));
    }
    files
}

/// A file entry as either format gives it.
struct Entry<'a> {
    filename: &'a str,
    href: &'a str,
    hashes: &'a Hashes,
    requires_python: Option<VersionSpecifiers>,
    yanked: Option<Yank>,
    metadata_advertised: bool,
    metadata_sha256: Option<String>,
    size: Option<u64>,
}

impl Entry<'_> {
    /// The file, when it is a distribution of `name` with a usable name and URL.
    fn into_file(self, page: &Url, name: &PackageName, origin: &str) -> Option<IndexFile> {
        if !is_plain_file_name(self.filename) {
            tracing::debug!("skipping `{}`: not a plain file name", self.filename);
            return None;
        }
        let filename = match DistFilename::try_from_filename_with_reason(self.filename, name) {
            // The name is only a hint for splitting: a file of another project parses too.
            Ok(filename) if filename.name() == name => filename,
            Ok(_) => {
                tracing::debug!("skipping `{}`: not a file of {name}", self.filename);
                return None;
            }
            Err(err) => {
                tracing::debug!("skipping `{}`: {err}", self.filename);
                return None;
            }
        };
        let mut url = page.join(self.href).ok()?;
        url.set_fragment(None);
        if !may_link(page, &url) {
            // Skipped rather than refused: one bad link should not cost the project's other
            // files, and the file is never read. Warned: a remote page naming local files is
            // a hostile or broken index.
            tracing::warn!(
                "skipping `{}` from {origin}: a page at {} may not link {}",
                self.filename,
                redact_url(page.as_str()),
                redact_url(url.as_str()),
            );
            return None;
        }
        Some(IndexFile {
            filename,
            raw_filename: self.filename.to_string(),
            url: without_credentials(&url),
            sha256: sha256_of(self.hashes),
            requires_python: self.requires_python,
            yanked: self.yanked,
            metadata_advertised: self.metadata_advertised,
            metadata_sha256: self.metadata_sha256,
            size: self.size,
            origin: origin.to_string(),
        })
    }
}

/// Whether a page at `page` may list a file at `link`: http(s) files from anywhere, `file:`
/// ones only from a local page (a find-links file). A remote page naming `file:///dev/zero`
/// or `/etc/passwd` would have us read local files as if they were its distributions.
fn may_link(page: &Url, link: &Url) -> bool {
    match link.scheme() {
        "http" | "https" => true,
        "file" => page.scheme() == "file",
        _ => false,
    }
}

fn sha256_of(hashes: &Hashes) -> Option<String> {
    hashes
        .sha256
        .as_ref()
        .map(|digest| digest.to_ascii_lowercase())
        .filter(|digest| digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `url` without user name and password: the client adds credentials by host.
pub(crate) fn without_credentials(url: &Url) -> Url {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn demo() -> PackageName {
        wagon_core::python::package_name("Demo.Pkg").unwrap()
    }

    #[test]
    fn json_pages_give_every_field() {
        let page = Url::parse("https://idx.example/simple/demo-pkg/").unwrap();
        let body = format!(
            r#"{{"meta": {{"api-version": "1.1"}}, "name": "demo-pkg", "files": [
              {{"filename": "demo_pkg-1.0-py3-none-any.whl", "url": "../../files/demo_pkg-1.0-py3-none-any.whl",
                "hashes": {{"sha256": "{}"}}, "requires-python": ">=3.8", "core-metadata": {{"sha256": "{SHA}"}},
                "size": 1234, "yanked": "broken build"}},
              {{"filename": "demo-pkg-0.9.tar.gz", "url": "https://files.example/demo-pkg-0.9.tar.gz",
                "hashes": {{}}, "dist-info-metadata": true, "yanked": false}},
              {{"filename": "other-1.0-py3-none-any.whl", "url": "x.whl", "hashes": {{}}}},
              {{"filename": "../demo_pkg-1.0-py3-none-any.whl", "url": "y.whl", "hashes": {{}}}}
            ]}}"#,
            SHA.to_uppercase()
        );
        let files = parse_json(
            body.as_bytes(),
            &page,
            &demo(),
            "https://idx.example/simple/",
        )
        .unwrap();
        assert_eq!(files.len(), 2, "{files:#?}");
        let wheel = &files[0];
        assert!(wheel.is_wheel());
        assert_eq!(
            wheel.url.as_str(),
            "https://idx.example/files/demo_pkg-1.0-py3-none-any.whl"
        );
        assert_eq!(wheel.sha256.as_deref(), Some(SHA));
        assert_eq!(wheel.requires_python.as_ref().unwrap().to_string(), ">=3.8");
        assert_eq!(
            wheel.yanked.as_ref().unwrap().reason.as_deref(),
            Some("broken build")
        );
        assert!(wheel.metadata_advertised);
        assert_eq!(wheel.metadata_sha256.as_deref(), Some(SHA));
        assert_eq!(wheel.size, Some(1234));
        let sdist = &files[1];
        assert!(!sdist.is_wheel());
        assert_eq!(sdist.filename.version().to_string(), "0.9");
        assert!(sdist.metadata_advertised && sdist.metadata_sha256.is_none());
        assert!(sdist.yanked.is_none() && sdist.sha256.is_none());

        let err = parse_json(b"<html>", &page, &demo(), "o")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("https://idx.example/simple/demo-pkg/"),
            "{err}"
        );
    }

    #[test]
    fn html_pages_resolve_links_and_read_attributes() {
        let page = Url::parse("https://idx.example/simple/demo-pkg/").unwrap();
        let html = format!(
            "<html><body>\
             <a href=\"/files/demo_pkg-1.0%2Blocal-py3-none-any.whl#sha256={SHA}\" \
                data-requires-python=\"&gt;=3.7,&lt;4\" data-dist-info-metadata=\"true\">w</a>\
             <a href=\"demo-pkg-1.0.tar.gz#md5=00\" data-yanked=\"\">s</a>\
             <a href=\"https://u:p@cdn.example/demo_pkg-2.0-cp312-cp312-win_amd64.whl\" \
                data-core-metadata=\"sha256={SHA}\" data-requires-python=\"&gt;=3.6.*\">c</a>\
             <a href=\"unrelated-1.0.tar.gz\">u</a><a href=\"notes.txt\">n</a>\
             </body></html>"
        );
        let files = parse_html(&html, &page, &demo(), "origin");
        assert_eq!(files.len(), 3, "{files:#?}");
        assert_eq!(
            files[0].url.as_str(),
            "https://idx.example/files/demo_pkg-1.0%2Blocal-py3-none-any.whl"
        );
        assert_eq!(files[0].raw_filename, "demo_pkg-1.0+local-py3-none-any.whl");
        assert_eq!(files[0].sha256.as_deref(), Some(SHA));
        assert_eq!(
            files[0].requires_python.as_ref().unwrap().to_string(),
            ">=3.7, <4"
        );
        assert!(files[0].metadata_advertised && files[0].metadata_sha256.is_none());
        assert_eq!(
            files[1].url.as_str(),
            "https://idx.example/simple/demo-pkg/demo-pkg-1.0.tar.gz"
        );
        assert_eq!(files[1].sha256, None);
        assert_eq!(files[1].yanked, Some(Yank { reason: None }));
        // Credentials in a link are dropped; the client sends configured ones by host.
        assert_eq!(
            files[2].url.as_str(),
            "https://cdn.example/demo_pkg-2.0-cp312-cp312-win_amd64.whl"
        );
        assert_eq!(files[2].metadata_sha256.as_deref(), Some(SHA));
        // Lenient parsing, as uv and pip accept `>=3.6.*`.
        assert!(files[2].requires_python.is_some());
        assert_eq!(files[2].origin, "origin");
    }

    #[test]
    fn base_tags_move_relative_links() {
        let page = Url::parse("https://idx.example/simple/demo-pkg/").unwrap();
        let html = "<base href=\"https://mirror.example/pkgs/\"><a href=\"demo_pkg-1.0-py3-none-any.whl\">w</a>";
        let files = parse_html(html, &page, &demo(), "o");
        assert_eq!(
            files[0].url.as_str(),
            "https://mirror.example/pkgs/demo_pkg-1.0-py3-none-any.whl"
        );
    }

    #[test]
    fn only_local_pages_may_link_local_files() {
        let remote = Url::parse("https://idx.example/simple/demo-pkg/").unwrap();
        let local = Url::parse("file:///srv/links.html").unwrap();
        for (link, from_remote, from_local) in [
            ("https://cdn.example/a.whl", true, true),
            ("http://127.0.0.1/a.whl", true, true),
            ("file:///dev/zero", false, true),
            ("local:/x", false, false),
            ("ftp://mirror.example/a.whl", false, false),
            ("data:,x", false, false),
        ] {
            let link = Url::parse(link).unwrap();
            assert_eq!(may_link(&remote, &link), from_remote, "{link}");
            assert_eq!(may_link(&local, &link), from_local, "{link}");
        }
        // A `<base>` cannot lend a remote page a local origin.
        let html = "<base href=\"file:///srv/\"><a href=\"demo_pkg-1.0-py3-none-any.whl\">w</a>";
        assert!(parse_html(html, &remote, &demo(), "o").is_empty());
    }
}
