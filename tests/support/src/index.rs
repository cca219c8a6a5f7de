//! A loopback HTTP package index (PEP 503 HTML and PEP 691 JSON) over a directory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use sha2::{Digest, Sha256};

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
const HTML_V1_TYPE: &str = "application/vnd.pypi.simple.v1+html";
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// A package index on `127.0.0.1` serving one directory until dropped.
///
/// Distributions (`*.whl`, `*.tar.gz`, `*.zip`, `*.tar.bz2`) directly in the
/// directory are listed; the directory is re-read on every request, so files may be
/// added after the server starts. Routes:
///
/// - `/simple/` and `/simple/{project}/`: PEP 503 HTML, or PEP 691 JSON when the
///   `Accept` header prefers `application/vnd.pypi.simple.v1+json`;
/// - `/files/{filename}`: a distribution's bytes (ranges with [`IndexOptions::ranges`]);
/// - `/files/{wheel}.metadata`: the wheel's METADATA, with [`IndexOptions::core_metadata`];
/// - `/static/{path}`: any file under the directory, for URL sources;
/// - `/repos/{owner}/{repo}/tarball/{ref}`: GitHub's tarball API, served from
///   `github/{owner}/{repo}/{ref}.tar.gz` under the directory.
///
/// Everything else is 404. Each connection gets one response and `Connection: close`.
///
/// A distribution `F` with a sidecar file `F.yanked` is listed as yanked, with the sidecar's
/// text (trimmed) as the reason. [`IndexOptions`] turns on what only some tests want: PEP 658
/// metadata files, `Range` requests, an HTML-only index, required credentials.
pub struct LoopbackIndex {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

/// Whether and how the index offers PEP 658/714 metadata files (`/files/{wheel}.metadata`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CoreMetadata {
    /// Neither served nor advertised (404), as before PEP 658.
    #[default]
    Absent,
    /// Served and advertised with its sha256 (`data-core-metadata` and `data-dist-info-metadata`
    /// in HTML, `core-metadata` in JSON).
    Advertised,
    /// Served but not advertised, as some mirrors do.
    Unadvertised,
}

/// What an index offers beyond the plain PEP 503/691 pages and files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexOptions {
    /// PEP 658/714 metadata files.
    pub core_metadata: CoreMetadata,
    /// Answer `Range: bytes=a-b` and `bytes=-n` on `/files/` with 206; otherwise the header is
    /// ignored and the whole file sent (200).
    pub ranges: bool,
    /// Serve HTML whatever the `Accept` header asks (an index without PEP 691).
    pub html_only: bool,
    /// Require HTTP Basic credentials `(user, password)` on every route (401 without).
    pub basic_auth: Option<(String, String)>,
    /// Extra `(filename, href)` entries listed, without a hash, on the page of the project the
    /// file name belongs to (which must have a served file), after its real files; the href is
    /// written as given, so a test can list links a hostile index would (`file:///etc/passwd`).
    pub extra_links: Vec<(String, String)>,
    /// Added to every size the JSON pages list (PEP 700 `size`), so a test can have the index
    /// lie: `-1` lists each file a byte shorter than the body it serves, `1` a byte longer.
    pub listed_size_offset: i64,
    /// HTTP caching of project pages (`/simple/{project}/`): `Some(seconds)` sends
    /// `Cache-Control: max-age=seconds` and an `ETag` (the body's sha256), and answers a request
    /// whose `If-None-Match` names the current one with `304 Not Modified` and no body.
    pub page_max_age: Option<u64>,
}

/// One request as the index saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The path, percent-decoded, without query.
    pub path: String,
    /// The `Range` header, if sent.
    pub range: Option<String>,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
    /// The `If-None-Match` header, if sent.
    pub if_none_match: Option<String>,
    /// The status answered.
    pub status: u16,
}

impl LoopbackIndex {
    /// Starts serving `dir` on an ephemeral loopback port.
    pub fn serve(dir: &Path) -> LoopbackIndex {
        LoopbackIndex::serve_with(dir, IndexOptions::default())
    }

    /// Starts serving `dir` with `options` on an ephemeral loopback port.
    pub fn serve_with(dir: &Path, options: IndexOptions) -> LoopbackIndex {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let root = Arc::new(dir.to_path_buf());
        let options = Arc::new(options);
        let accept_thread = {
            let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
            thread::Builder::new()
                .name(format!("loopback-index-{}", addr.port()))
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let (root, log) = (Arc::clone(&root), Arc::clone(&log));
                        let options = Arc::clone(&options);
                        thread::spawn(move || handle(stream, &root, &options, &log));
                    }
                })
                .unwrap()
        };
        LoopbackIndex {
            addr,
            log,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simple index's URL, `http://127.0.0.1:PORT/simple/`, for `--index-url`.
    pub fn simple_url(&self) -> String {
        format!("{}/simple/", self.url())
    }

    /// URL of `path` (relative to the served directory) through the `/static/` route.
    pub fn static_url(&self, path: &str) -> String {
        format!("{}/static/{}", self.url(), path.trim_start_matches('/'))
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Paths (percent-decoded, without query) of all requests so far, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }

    /// All requests so far with the headers tests look at, in arrival order.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests so far had exactly this path.
    pub fn count(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }
}

impl Drop for LoopbackIndex {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // The accept loop blocks; one last connection wakes it to see the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

/// PEP 503 normalization: runs of `-_.` become `-`, lowercased.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// The project a distribution file belongs to (unnormalized), or `None` for other files.
pub fn project_of(filename: &str) -> Option<&str> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        return stem.split('-').next().filter(|n| !n.is_empty());
    }
    [".tar.gz", ".zip", ".tar.bz2"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))
        .and_then(|stem| stem.rsplit_once('-'))
        .map(|(name, _version)| name)
        .filter(|n| !n.is_empty())
}

struct Request {
    method: String,
    path: String,
    accept: Option<String>,
    range: Option<String>,
    authorization: Option<String>,
    if_none_match: Option<String>,
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra_headers: Vec<String>,
}

impl Response {
    fn ok(content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status: 200,
            content_type,
            body,
            extra_headers: Vec::new(),
        }
    }

    fn error(status: u16) -> Response {
        Response {
            status,
            content_type: "text/plain",
            body: format!("{status} {}\n", reason(status)).into_bytes(),
            extra_headers: Vec::new(),
        }
    }
}

fn handle(
    mut stream: TcpStream,
    root: &Path,
    options: &IndexOptions,
    log: &Mutex<Vec<LoggedRequest>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(request) = read_request(&stream) else {
        return send(&mut stream, &Response::error(400), true);
    };
    let response = if !authorized(&request, options) {
        let mut response = Response::error(401);
        response
            .extra_headers
            .push("WWW-Authenticate: Basic realm=\"loopback\"".to_owned());
        response
    } else if matches!(request.method.as_str(), "GET" | "HEAD") {
        route(&request, root, options)
    } else {
        Response::error(405)
    };
    log.lock().unwrap().push(LoggedRequest {
        path: request.path.clone(),
        range: request.range.clone(),
        authorization: request.authorization.clone(),
        if_none_match: request.if_none_match.clone(),
        status: response.status,
    });
    // HEAD reports the GET body's length but sends no body.
    send(&mut stream, &response, request.method != "HEAD");
}

fn send(stream: &mut TcpStream, response: &Response, with_body: bool) {
    let extra: String = response
        .extra_headers
        .iter()
        .map(|h| format!("{h}\r\n"))
        .collect();
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len(),
    );
    let _ = stream.write_all(head.as_bytes());
    if with_body {
        let _ = stream.write_all(&response.body);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads the request line and headers; requests this index serves carry no body.
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream).take(MAX_HEADER_BYTES as u64);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let raw_path = target.split(['?', '#']).next()?;
    let path = percent_decode(raw_path)?;
    let mut accept = None;
    let mut range = None;
    let mut authorization = None;
    let mut if_none_match = None;
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((key, value)) = header.split_once(':') {
            let value = Some(value.trim().to_owned());
            match key.trim().to_ascii_lowercase().as_str() {
                "accept" => accept = value,
                "range" => range = value,
                "authorization" => authorization = value,
                "if-none-match" => if_none_match = value,
                _ => {}
            }
        }
    }
    Some(Request {
        method,
        path,
        accept,
        range,
        authorization,
        if_none_match,
    })
}

/// Whether the request carries the credentials the index requires, if any.
fn authorized(request: &Request, options: &IndexOptions) -> bool {
    use base64::Engine as _;
    let Some((user, password)) = &options.basic_auth else {
        return true;
    };
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    request.authorization.as_deref() == Some(format!("Basic {expected}").as_str())
}

fn route(request: &Request, root: &Path, options: &IndexOptions) -> Response {
    let path = request.path.as_str();
    if path == "/simple" || path == "/simple/" {
        let projects = projects(root);
        return negotiate(
            request,
            options,
            || project_list_html(&projects),
            || project_list_json(&projects),
        );
    }
    if let Some(name) = path.strip_prefix("/simple/") {
        let name = normalize(name.trim_end_matches('/'));
        let Some(files) = projects(root).remove(&name) else {
            return Response::error(404);
        };
        let extra = options
            .extra_links
            .iter()
            .filter(|(filename, _)| project_of(filename).map(normalize) == Some(name.clone()))
            .map(|(filename, href)| FileInfo::link(filename, href));
        let files: Vec<FileInfo> = files
            .iter()
            .map(|f| FileInfo::read(root, f, options))
            .chain(extra)
            .collect();
        let page = negotiate(
            request,
            options,
            || project_html(&name, &files),
            || project_json(&name, &files),
        );
        return match options.page_max_age {
            Some(max_age) => cacheable(request, page, max_age),
            None => page,
        };
    }
    if let Some(filename) = path.strip_prefix("/files/") {
        if let Some(wheel) = filename.strip_suffix(".metadata")
            && wheel.ends_with(".whl")
            && !wheel.contains('/')
            && options.core_metadata != CoreMetadata::Absent
        {
            return match wheel_metadata(&root.join(wheel)) {
                Some(metadata) => Response::ok("application/octet-stream", metadata),
                None => Response::error(404),
            };
        }
        if filename.contains('/') || project_of(filename).is_none() {
            return Response::error(404);
        }
        let response = serve_file(&root.join(filename));
        return match &request.range {
            Some(range) if options.ranges && response.status == 200 => partial(&response, range),
            _ => response,
        };
    }
    if let Some(rel) = path.strip_prefix("/static/") {
        return match safe_join(root, rel) {
            Some(file) => serve_file(&file),
            None => Response::error(404),
        };
    }
    if let Some(rest) = path.strip_prefix("/repos/") {
        // Refs may contain slashes (`feature/x`), so everything after `tarball/` is the ref.
        let mut parts = rest.splitn(4, '/');
        if let (Some(owner), Some(repo), Some("tarball"), Some(reference)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            let rel = format!("github/{owner}/{repo}/{reference}.tar.gz");
            if let Some(file) = safe_join(root, &rel) {
                return serve_file(&file);
            }
        }
    }
    Response::error(404)
}

/// `page` with `Cache-Control: max-age` and an `ETag`, or a bodiless 304 when the request's
/// `If-None-Match` names that tag.
fn cacheable(request: &Request, mut page: Response, max_age: u64) -> Response {
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&page.body)));
    let headers = vec![
        format!("Cache-Control: max-age={max_age}, public"),
        format!("ETag: {etag}"),
    ];
    if request.if_none_match.as_deref() == Some(etag.as_str()) {
        return Response {
            status: 304,
            content_type: page.content_type,
            body: Vec::new(),
            extra_headers: headers,
        };
    }
    page.extra_headers.extend(headers);
    page
}

/// Joins `rel` under `root`, refusing anything that could climb out of it.
fn safe_join(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !rel.as_os_str().is_empty()).then(|| root.join(rel))
}

fn serve_file(path: &Path) -> Response {
    if !path.is_file() {
        return Response::error(404);
    }
    match fs::read(path) {
        Ok(bytes) => Response::ok(content_type_of(path), bytes),
        Err(_) => Response::error(404),
    }
}

fn content_type_of(path: &Path) -> &'static str {
    let name = path.to_string_lossy();
    if name.ends_with(".whl") || name.ends_with(".zip") || name.ends_with(".wgn") {
        "application/zip"
    } else if name.ends_with(".gz") || name.ends_with(".tgz") {
        "application/x-gzip"
    } else {
        "application/octet-stream"
    }
}

/// A 206 answer with the part of `whole` that `range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`)
/// asks for; 416 when it asks for nothing in the file.
fn partial(whole: &Response, range: &str) -> Response {
    let len = whole.body.len() as u64;
    let spec = range.trim().strip_prefix("bytes=").unwrap_or("");
    let bounds = spec.split_once('-').and_then(|(a, b)| {
        let (a, b) = (a.trim(), b.trim());
        match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
            (None, Some(n)) if a.is_empty() && n > 0 => Some((len.saturating_sub(n), len - 1)),
            (Some(start), None) if b.is_empty() => Some((start, len.checked_sub(1)?)),
            (Some(start), Some(end)) => Some((start, end.min(len.checked_sub(1)?))),
            _ => None,
        }
    });
    match bounds {
        Some((start, end)) if start <= end && end < len => {
            let body = whole.body[start as usize..=end as usize].to_vec();
            Response {
                status: 206,
                content_type: whole.content_type,
                body,
                extra_headers: vec![format!("Content-Range: bytes {start}-{end}/{len}")],
            }
        }
        _ => {
            let mut response = Response::error(416);
            response
                .extra_headers
                .push(format!("Content-Range: bytes */{len}"));
            response
        }
    }
}

/// Chooses JSON or HTML by the `Accept` header's q-values; HTML when undecided or HTML-only.
fn negotiate(
    request: &Request,
    options: &IndexOptions,
    html: impl FnOnce() -> String,
    json: impl FnOnce() -> serde_json::Value,
) -> Response {
    if options.html_only {
        return Response::ok("text/html; charset=utf-8", html().into_bytes());
    }
    match preferred_type(request.accept.as_deref()) {
        Format::Json => Response::ok(JSON_TYPE, json().to_string().into_bytes()),
        Format::HtmlV1 => Response::ok(HTML_V1_TYPE, html().into_bytes()),
        Format::Html => Response::ok("text/html; charset=utf-8", html().into_bytes()),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Format {
    Json,
    HtmlV1,
    Html,
}

fn preferred_type(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Html;
    };
    let mut best = (0.0_f32, Format::Html);
    for item in accept.split(',') {
        let mut params = item.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            JSON_TYPE => Format::Json,
            HTML_V1_TYPE => Format::HtmlV1,
            "text/html" | "*/*" => Format::Html,
            _ => continue,
        };
        // Ties keep the earlier entry, as the client listed it first.
        if q > best.0 {
            best = (q, format);
        }
    }
    best.1
}

/// Distribution files by normalized project name, each list sorted.
fn projects(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut projects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in fs::read_dir(root).into_iter().flatten().flatten() {
        let Ok(filename) = entry.file_name().into_string() else {
            continue;
        };
        if !entry.path().is_file() {
            continue;
        }
        if let Some(project) = project_of(&filename) {
            projects
                .entry(normalize(project))
                .or_default()
                .push(filename);
        }
    }
    for files in projects.values_mut() {
        files.sort();
    }
    projects
}

struct FileInfo {
    filename: String,
    /// The href: `/files/{filename}` for a served file.
    url: String,
    /// `None` for an extra link (listed without a hash).
    sha256: Option<String>,
    /// The size the JSON page lists; `None` for an extra link.
    size: Option<u64>,
    requires_python: Option<String>,
    /// The yank reason (possibly empty) when a `.yanked` sidecar exists.
    yanked: Option<String>,
    /// The sha256 of the PEP 658 metadata file, when advertised.
    metadata_sha256: Option<String>,
}

impl FileInfo {
    fn read(root: &Path, filename: &str, options: &IndexOptions) -> FileInfo {
        let path = root.join(filename);
        let bytes = fs::read(&path).unwrap();
        let metadata_sha256 = (options.core_metadata == CoreMetadata::Advertised)
            .then(|| wheel_metadata(&path))
            .flatten()
            .map(|metadata| hex::encode(Sha256::digest(metadata)));
        FileInfo {
            filename: filename.to_owned(),
            url: format!("/files/{}", percent_encode(filename)),
            sha256: Some(hex::encode(Sha256::digest(&bytes))),
            size: Some((bytes.len() as u64).saturating_add_signed(options.listed_size_offset)),
            requires_python: filename
                .ends_with(".whl")
                .then(|| wheel_requires_python(&bytes))
                .flatten(),
            yanked: fs::read_to_string(root.join(format!("{filename}.yanked")))
                .ok()
                .map(|reason| reason.trim().to_owned()),
            metadata_sha256,
        }
    }

    fn link(filename: &str, href: &str) -> FileInfo {
        FileInfo {
            filename: filename.to_owned(),
            url: href.to_owned(),
            sha256: None,
            size: None,
            requires_python: None,
            yanked: None,
            metadata_sha256: None,
        }
    }
}

/// The top-level `*.dist-info/METADATA` of the wheel at `path`, if it is one.
fn wheel_metadata(path: &Path) -> Option<Vec<u8>> {
    if !path.is_file() {
        return None;
    }
    let mut archive = zip::ZipArchive::new(fs::File::open(path).ok()?).ok()?;
    let name = archive
        .file_names()
        .find(|n| n.ends_with(".dist-info/METADATA") && n.matches('/').count() == 1)?
        .to_owned();
    let mut metadata = Vec::new();
    archive
        .by_name(&name)
        .ok()?
        .read_to_end(&mut metadata)
        .ok()?;
    Some(metadata)
}

/// `Requires-Python` from a wheel's METADATA, so pip can skip incompatible files. A served
/// `.whl` that is not a readable zip is a broken fixture, and says so.
fn wheel_requires_python(bytes: &[u8]) -> Option<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let name = archive
        .file_names()
        .find(|n| n.ends_with(".dist-info/METADATA") && n.matches('/').count() == 1)?
        .to_owned();
    let mut metadata = String::new();
    archive
        .by_name(&name)
        .unwrap()
        .read_to_string(&mut metadata)
        .unwrap();
    metadata
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Requires-Python:"))
        .map(|v| v.trim().to_owned())
}

const HTML_HEAD: &str = "<!DOCTYPE html>\n<html>\n  <head>\n    \
    <meta name=\"pypi:repository-version\" content=\"1.0\">\n";

fn project_list_html(projects: &BTreeMap<String, Vec<String>>) -> String {
    let mut html = format!("{HTML_HEAD}    <title>Simple index</title>\n  </head>\n  <body>\n");
    for name in projects.keys() {
        let name = html_escape(name);
        writeln!(html, "    <a href=\"/simple/{name}/\">{name}</a><br/>").unwrap();
    }
    html.push_str("  </body>\n</html>\n");
    html
}

fn project_list_json(projects: &BTreeMap<String, Vec<String>>) -> serde_json::Value {
    serde_json::json!({
        "meta": {"api-version": "1.0"},
        "projects": projects.keys().map(|name| serde_json::json!({"name": name})).collect::<Vec<_>>(),
    })
}

fn project_html(name: &str, files: &[FileInfo]) -> String {
    let name = html_escape(name);
    let mut html = format!(
        "{HTML_HEAD}    <title>Links for {name}</title>\n  </head>\n  <body>\n    <h1>Links for {name}</h1>\n"
    );
    for file in files {
        let requires_python = file
            .requires_python
            .as_deref()
            .map(|rp| format!(" data-requires-python=\"{}\"", html_escape(rp)))
            .unwrap_or_default();
        let yanked = file
            .yanked
            .as_deref()
            .map(|reason| format!(" data-yanked=\"{}\"", html_escape(reason)))
            .unwrap_or_default();
        let metadata = file
            .metadata_sha256
            .as_deref()
            .map(|sha| {
                format!(
                    " data-dist-info-metadata=\"sha256={sha}\" data-core-metadata=\"sha256={sha}\""
                )
            })
            .unwrap_or_default();
        let hash = file
            .sha256
            .as_deref()
            .map(|sha| format!("#sha256={sha}"))
            .unwrap_or_default();
        writeln!(
            html,
            "    <a href=\"{}{hash}\"{requires_python}{yanked}{metadata}>{}</a><br/>",
            html_escape(&file.url),
            html_escape(&file.filename),
        )
        .unwrap();
    }
    html.push_str("  </body>\n</html>\n");
    html
}

fn project_json(name: &str, files: &[FileInfo]) -> serde_json::Value {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|file| {
            let mut entry = serde_json::json!({
                "filename": file.filename,
                "url": file.url,
                "hashes": file.sha256.as_ref().map(|sha| serde_json::json!({"sha256": sha})).unwrap_or_else(|| serde_json::json!({})),
            });
            if let Some(size) = file.size {
                entry["size"] = size.into();
            }
            if let Some(rp) = &file.requires_python {
                entry["requires-python"] = rp.clone().into();
            }
            if let Some(reason) = &file.yanked {
                entry["yanked"] = if reason.is_empty() {
                    true.into()
                } else {
                    reason.clone().into()
                };
            }
            if let Some(sha) = &file.metadata_sha256 {
                entry["core-metadata"] = serde_json::json!({"sha256": sha});
            }
            entry
        })
        .collect();
    serde_json::json!({"meta": {"api-version": "1.0"}, "name": name, "files": files})
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Encodes everything but RFC 3986 unreserved characters (so `+` in local versions survives).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::python::{python3, run_checked};
    use crate::wheel::WheelBuilder;

    /// Sends one raw request and returns the status line, headers and body.
    fn raw_request(
        index: &LoopbackIndex,
        method: &str,
        path: &str,
        accept: Option<&str>,
    ) -> (String, String, Vec<u8>) {
        let accept = accept.map(|a| format!("Accept: {a}"));
        raw_request_with(index, method, path, accept.as_slice())
    }

    /// Sends one raw request with extra header lines.
    fn raw_request_with(
        index: &LoopbackIndex,
        method: &str,
        path: &str,
        headers: &[String],
    ) -> (String, String, Vec<u8>) {
        let mut stream = TcpStream::connect(index.addr).unwrap();
        let headers: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Connection: keep-alive\r\n\r\n",
            index.addr
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(response[..split].to_vec()).unwrap();
        let (status, headers) = head.split_once("\r\n").unwrap();
        (
            status.to_owned(),
            headers.to_owned(),
            response[split + 4..].to_vec(),
        )
    }

    #[test]
    fn names_normalize_and_files_map_to_projects() {
        assert_eq!(normalize("Foo.Bar__baz-Qux"), "foo-bar-baz-qux");
        assert_eq!(project_of("My_Pkg-1.0-py3-none-any.whl"), Some("My_Pkg"));
        assert_eq!(project_of("my-pkg-1.0.tar.gz"), Some("my-pkg"));
        assert_eq!(project_of("my.pkg-2.zip"), Some("my.pkg"));
        assert_eq!(project_of("README.txt"), None);
        assert_eq!(
            percent_decode(&percent_encode("a+b c.whl")).unwrap(),
            "a+b c.whl"
        );
    }

    #[test]
    fn accept_header_picks_json_or_html() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(preferred_type(Some(pip)), Format::Json);
        assert_eq!(preferred_type(Some("text/html")), Format::Html);
        assert_eq!(
            preferred_type(Some("application/vnd.pypi.simple.v1+html")),
            Format::HtmlV1
        );
        assert_eq!(
            preferred_type(Some("application/vnd.pypi.simple.v1+json;q=0.2, text/html")),
            Format::Html
        );
        assert_eq!(preferred_type(None), Format::Html);
    }

    #[test]
    fn pip_downloads_from_the_index() {
        let served = tempfile::tempdir().unwrap();
        let wheel = WheelBuilder::new("Index_Demo", "1.0")
            .requires_python(">=3")
            .module("index_demo", "")
            .build(served.path());
        let index = LoopbackIndex::serve(served.path());
        let dest = tempfile::tempdir().unwrap();
        run_checked(
            Command::new(python3())
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-cache-dir",
                    "--index-url",
                ])
                .arg(index.simple_url())
                .arg("-d")
                .arg(dest.path())
                .arg("index-demo"),
        );
        let downloaded = dest.path().join(wheel.file_name().unwrap());
        assert_eq!(fs::read(downloaded).unwrap(), fs::read(&wheel).unwrap());
        let requests = index.requests();
        assert!(
            requests.contains(&"/simple/index-demo/".to_owned()),
            "{requests:?}"
        );
        assert!(
            requests.contains(&"/files/index_demo-1.0-py3-none-any.whl".to_owned()),
            "{requests:?}"
        );
    }

    #[test]
    fn serves_pep_691_json_and_pep_503_html() {
        let served = tempfile::tempdir().unwrap();
        let wheel = WheelBuilder::new("json.demo", "1.0+local.1")
            .requires_python(">=3.8")
            .build(served.path());
        fs::write(served.path().join("json_demo-0.9.tar.gz"), b"sdist").unwrap();
        fs::write(served.path().join("notes.txt"), b"ignored").unwrap();
        let index = LoopbackIndex::serve(served.path());
        let sha = hex::encode(Sha256::digest(fs::read(&wheel).unwrap()));

        let (status, headers, body) = raw_request(&index, "GET", "/simple/", Some(JSON_TYPE));
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains(&format!("Content-Type: {JSON_TYPE}")));
        assert!(headers.contains("Connection: close"));
        let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            list,
            serde_json::json!({"meta": {"api-version": "1.0"}, "projects": [{"name": "json-demo"}]})
        );

        let (_, _, body) = raw_request(&index, "GET", "/simple/JSON_Demo/", Some(JSON_TYPE));
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page["name"], "json-demo");
        let files = page["files"].as_array().unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0]["filename"], "json_demo-0.9.tar.gz");
        assert_eq!(
            files[1]["filename"],
            "json_demo-1.0+local.1-py3-none-any.whl"
        );
        assert_eq!(
            files[1]["url"],
            "/files/json_demo-1.0%2Blocal.1-py3-none-any.whl"
        );
        assert_eq!(files[1]["hashes"]["sha256"], sha.as_str());
        assert_eq!(files[1]["requires-python"], ">=3.8");
        assert_eq!(
            files[1]["size"],
            fs::metadata(&wheel).unwrap().len(),
            "PEP 700 sizes"
        );

        let (_, headers, body) = raw_request(&index, "GET", "/simple/json-demo/", None);
        assert!(headers.contains("Content-Type: text/html"));
        let html = String::from_utf8(body).unwrap();
        assert!(
            html.contains(&format!(
                "#sha256={sha}\" data-requires-python=\"&gt;=3.8\">"
            )),
            "{html}"
        );

        let (status, headers, body) =
            raw_request(&index, "HEAD", "/files/json_demo-0.9.tar.gz", None);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(headers.contains("Content-Length: 5"));
        assert!(body.is_empty());

        let (_, _, body) = raw_request(
            &index,
            "GET",
            "/files/json_demo-1.0%2Blocal.1-py3-none-any.whl",
            None,
        );
        assert_eq!(body, fs::read(&wheel).unwrap());
        assert_eq!(
            index.requests().last().unwrap(),
            "/files/json_demo-1.0+local.1-py3-none-any.whl"
        );
    }

    #[test]
    fn static_github_and_missing_routes() {
        let served = tempfile::tempdir().unwrap();
        fs::create_dir_all(served.path().join("github/acme/tool")).unwrap();
        fs::write(
            served.path().join("github/acme/tool/v1.2.tar.gz"),
            b"tarball",
        )
        .unwrap();
        fs::write(served.path().join("notes.txt"), b"notes").unwrap();
        let index = LoopbackIndex::serve(served.path());
        assert!(index.static_url("notes.txt").ends_with("/static/notes.txt"));

        let get = |path: &str| {
            let (status, _, body) = raw_request(&index, "GET", path, None);
            (status, body)
        };
        assert_eq!(get("/static/notes.txt").1, b"notes");
        assert_eq!(get("/static/github/acme/tool/v1.2.tar.gz").1, b"tarball");
        assert_eq!(get("/repos/acme/tool/tarball/v1.2").1, b"tarball");
        for missing in [
            "/repos/acme/tool/tarball/v9",
            "/repos/acme/other/tarball/v1.2",
            "/simple/unknown/",
            "/static/../etc/passwd",
            "/static/missing",
            "/files/notes.txt",
            "/elsewhere",
        ] {
            assert_eq!(get(missing).0, "HTTP/1.1 404 Not Found", "{missing}");
        }
        let (status, _, _) = raw_request(&index, "POST", "/simple/", None);
        assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    }

    #[test]
    fn optional_metadata_ranges_yanks_html_only_and_auth() {
        let served = tempfile::tempdir().unwrap();
        let wheel = WheelBuilder::new("opt", "1.0").build(served.path());
        let name = wheel.file_name().unwrap().to_str().unwrap().to_owned();
        fs::write(served.path().join(format!("{name}.yanked")), "broken\n").unwrap();
        let bytes = fs::read(&wheel).unwrap();
        let metadata = wheel_metadata(&wheel).unwrap();
        let metadata_sha = hex::encode(Sha256::digest(&metadata));
        let files = format!("/files/{name}");

        // Defaults: no metadata file, ranges ignored, yanks listed.
        let plain = LoopbackIndex::serve(served.path());
        assert_eq!(
            raw_request(&plain, "GET", &format!("{files}.metadata"), None).0,
            "HTTP/1.1 404 Not Found"
        );
        let (status, _, body) =
            raw_request_with(&plain, "GET", &files, &["Range: bytes=-10".into()]);
        assert_eq!(
            (status.as_str(), body.len()),
            ("HTTP/1.1 200 OK", bytes.len())
        );
        let (_, _, page) = raw_request(&plain, "GET", "/simple/opt/", Some(JSON_TYPE));
        let page: serde_json::Value = serde_json::from_slice(&page).unwrap();
        assert_eq!(page["files"][0]["yanked"], "broken");
        assert!(page["files"][0].get("core-metadata").is_none());
        assert_eq!(plain.request_log()[1].range.as_deref(), Some("bytes=-10"));
        assert_eq!(plain.count(&files), 1);

        let options = IndexOptions {
            core_metadata: CoreMetadata::Advertised,
            ranges: true,
            html_only: true,
            basic_auth: None,
            extra_links: Vec::new(),
            listed_size_offset: 0,
            page_max_age: None,
        };
        let full = LoopbackIndex::serve_with(served.path(), options.clone());
        let (_, _, page) = raw_request(&full, "GET", "/simple/opt/", Some(JSON_TYPE));
        let html = String::from_utf8(page).unwrap();
        assert!(
            html.contains(&format!("data-core-metadata=\"sha256={metadata_sha}\"")),
            "{html}"
        );
        assert!(html.contains("data-yanked=\"broken\""), "{html}");
        assert_eq!(
            raw_request(&full, "GET", &format!("{files}.metadata"), None).2,
            metadata
        );
        let len = bytes.len();
        for (range, start, end) in [
            ("bytes=-10", len - 10, len - 1),
            ("bytes=2-5", 2, 5),
            ("bytes=3-", 3, len - 1),
        ] {
            let (status, headers, body) =
                raw_request_with(&full, "GET", &files, &[format!("Range: {range}")]);
            assert_eq!(status, "HTTP/1.1 206 Partial Content", "{range}");
            assert!(
                headers.contains(&format!("Content-Range: bytes {start}-{end}/{len}")),
                "{headers}"
            );
            assert_eq!(body, &bytes[start..=end], "{range}");
        }
        let (status, _, _) =
            raw_request_with(&full, "GET", &files, &[format!("Range: bytes={len}-")]);
        assert_eq!(status, "HTTP/1.1 416 Range Not Satisfiable");

        let unadvertised = LoopbackIndex::serve_with(
            served.path(),
            IndexOptions {
                core_metadata: CoreMetadata::Unadvertised,
                ..IndexOptions::default()
            },
        );
        let (_, _, page) = raw_request(&unadvertised, "GET", "/simple/opt/", None);
        assert!(!String::from_utf8(page).unwrap().contains("metadata"));
        assert_eq!(
            raw_request(&unadvertised, "GET", &format!("{files}.metadata"), None).2,
            metadata
        );

        let private = LoopbackIndex::serve_with(
            served.path(),
            IndexOptions {
                basic_auth: Some(("u".into(), "p".into())),
                ..IndexOptions::default()
            },
        );
        assert_eq!(
            raw_request(&private, "GET", "/simple/", None).0,
            "HTTP/1.1 401 Unauthorized"
        );
        let (status, _, _) = raw_request_with(
            &private,
            "GET",
            "/simple/",
            &["Authorization: Basic dTpw".into()],
        );
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(
            private.request_log()[1].authorization.as_deref(),
            Some("Basic dTpw")
        );
    }

    #[test]
    fn drop_stops_the_server() {
        let served = tempfile::tempdir().unwrap();
        let index = LoopbackIndex::serve(served.path());
        let addr = index.addr;
        drop(index);
        assert!(TcpStream::connect(addr).is_err());
    }
}
