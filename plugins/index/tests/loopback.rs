//! The index client against the loopback index: pages in both formats, each way to core
//! metadata (asserted from the index's request log), downloads, the cache, hashes, credentials.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use wagon_index::{Cache, Error, ExplicitSettings, Index, IndexFile, IndexSettings, PipSources};
use wagon_test_support::index::{CoreMetadata, IndexOptions, LoopbackIndex};
use wagon_test_support::wheel::WheelBuilder;

fn name(text: &str) -> wagon_core::python::PackageName {
    wagon_core::python::package_name(text).unwrap()
}

/// A client of `index_url` alone, with an empty environment (this machine sets `PIP_*`).
fn client(index_url: &str, cache: &Path) -> Index {
    let explicit = ExplicitSettings {
        index_url: Some(index_url.to_string()),
        ..ExplicitSettings::default()
    };
    let settings = IndexSettings::resolve(&explicit, &PipSources::default()).unwrap();
    Index::new(settings, Cache::at(cache)).unwrap()
}

/// A served folder with `demo 1.0` (a wheel with dependencies), an sdist and a yanked `0.9`.
fn served() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wheel = WheelBuilder::new("Demo", "1.0")
        .requires_python(">=3.8")
        .requires_dist("dep>=2")
        .requires_dist("extra-dep; extra == \"fast\"")
        .provides_extra("fast")
        .module("demo", "")
        .build(dir.path());
    WheelBuilder::new("Demo", "0.9").build(dir.path());
    fs::write(
        dir.path().join("demo-0.9-py3-none-any.whl.yanked"),
        "broken build\n",
    )
    .unwrap();
    fs::write(dir.path().join("demo-1.0.tar.gz"), b"sdist").unwrap();
    (dir, wheel)
}

fn wheel_of<'a>(files: &'a [IndexFile], version: &str) -> &'a IndexFile {
    files
        .iter()
        .find(|f| f.is_wheel() && f.filename.version().to_string() == version)
        .unwrap()
}

#[test]
fn json_and_html_only_indexes_list_the_same_files() {
    let (dir, _) = served();
    let cache = tempfile::tempdir().unwrap();
    let json = LoopbackIndex::serve(dir.path());
    let html = LoopbackIndex::serve_with(
        dir.path(),
        IndexOptions {
            html_only: true,
            ..IndexOptions::default()
        },
    );
    let summary = |index: &LoopbackIndex| {
        let files = client(&index.simple_url(), cache.path())
            .files(&name("DEMO"))
            .unwrap();
        assert_eq!(index.requests(), ["/simple/demo/"]);
        files
            .iter()
            .map(|f| {
                (
                    f.raw_filename.clone(),
                    f.url.path().to_string(),
                    f.sha256.clone().unwrap(),
                    f.requires_python.as_ref().map(ToString::to_string),
                    f.yanked.as_ref().map(|y| y.reason.clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    let from_json = summary(&json);
    assert_eq!(from_json, summary(&html));
    let names: Vec<&str> = from_json.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "demo-0.9-py3-none-any.whl",
            "demo-1.0-py3-none-any.whl",
            "demo-1.0.tar.gz"
        ]
    );
    assert_eq!(from_json[0].4, Some(Some("broken build".to_string())));
    assert_eq!(from_json[1].4, None);
    assert_eq!(from_json[1].3.as_deref(), Some(">=3.8"));
    assert_eq!(from_json[1].1, "/files/demo-1.0-py3-none-any.whl");

    let unknown = client(&json.simple_url(), cache.path())
        .files(&name("nothing-here"))
        .unwrap();
    assert!(unknown.is_empty());
}

/// The metadata of `demo 1.0` through `options`, and the requests it took.
fn metadata_requests(
    options: IndexOptions,
    wheel_big: bool,
) -> (Vec<(String, Option<String>)>, usize) {
    let (dir, _) = served();
    if wheel_big {
        // Enough members that the central directory and METADATA lie beyond the first tail read.
        let mut big = WheelBuilder::new("Demo", "1.0").requires_dist("dep>=2");
        for i in 0..1500 {
            big = big.file(
                &format!("demo/module_with_a_long_name_{i:05}.py"),
                format!("x = {i}\n"),
            );
        }
        big.build(dir.path());
    }
    let index = LoopbackIndex::serve_with(dir.path(), options);
    let cache = tempfile::tempdir().unwrap();
    let client = client(&index.simple_url(), cache.path());
    let files = client.files(&name("demo")).unwrap();
    let metadata = client.metadata(wheel_of(&files, "1.0")).unwrap();
    assert_eq!(metadata.name.as_ref(), "demo");
    assert_eq!(metadata.version.to_string(), "1.0");
    let requires: Vec<String> = metadata
        .requires_dist
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(requires.contains(&"dep>=2".to_string()), "{requires:?}");

    // A second client on the same cache asks nothing: the wheel's hash keys the metadata.
    let before = index.requests().len();
    let warm = self::client(&index.simple_url(), cache.path());
    let again = warm.metadata(wheel_of(&files, "1.0")).unwrap();
    assert_eq!(again.requires_dist.len(), metadata.requires_dist.len());
    assert_eq!(index.requests().len(), before, "{:?}", index.requests());

    let log = index
        .request_log()
        .into_iter()
        .skip(1) // the project page
        .map(|r| (r.path, r.range))
        .collect();
    let cached_wheel = cache
        .path()
        .join("wheels-v1/sha256")
        .read_dir()
        .map(|dirs| dirs.count())
        .unwrap_or(0);
    (log, cached_wheel)
}

const WHEEL: &str = "/files/demo-1.0-py3-none-any.whl";
const METADATA: &str = "/files/demo-1.0-py3-none-any.whl.metadata";

#[test]
fn metadata_comes_from_the_advertised_metadata_file() {
    let options = IndexOptions {
        core_metadata: CoreMetadata::Advertised,
        ..IndexOptions::default()
    };
    let (log, cached) = metadata_requests(options, false);
    assert_eq!(log, [(METADATA.to_string(), None)]);
    assert_eq!(cached, 0, "no wheel was downloaded");
}

#[test]
fn metadata_files_are_tried_when_not_advertised() {
    let options = IndexOptions {
        core_metadata: CoreMetadata::Unadvertised,
        ranges: true,
        ..IndexOptions::default()
    };
    let (log, _) = metadata_requests(options, false);
    assert_eq!(log, [(METADATA.to_string(), None)]);
}

#[test]
fn metadata_comes_from_range_reads_without_a_metadata_file() {
    let options = IndexOptions {
        ranges: true,
        ..IndexOptions::default()
    };
    let (log, cached) = metadata_requests(options, true);
    assert_eq!(log[0], (METADATA.to_string(), None));
    assert_eq!(
        log[1],
        (WHEEL.to_string(), Some("bytes=-65536".to_string()))
    );
    // The central directory lies beyond the tail: more ranges, never the whole file.
    assert!(log.len() > 2, "{log:?}");
    for (path, range) in &log[1..] {
        assert_eq!(path, WHEEL);
        let range = range.as_deref().unwrap();
        assert!(range.starts_with("bytes="), "{range}");
    }
    assert_eq!(cached, 0, "no wheel was downloaded");
}

#[test]
fn metadata_falls_back_to_the_whole_wheel_which_is_then_cached() {
    let (log, cached) = metadata_requests(IndexOptions::default(), false);
    // The range request is answered with the whole file (200), which is kept.
    assert_eq!(
        log,
        [
            (METADATA.to_string(), None),
            (WHEEL.to_string(), Some("bytes=-65536".to_string()))
        ]
    );
    assert_eq!(cached, 1, "the wheel was kept");
}

#[test]
fn downloads_are_verified_cached_and_reused() {
    let (dir, wheel) = served();
    let index = LoopbackIndex::serve(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let first = client(&index.simple_url(), cache.path());
    let files = first.files(&name("demo")).unwrap();
    let wheels: Vec<IndexFile> = files.iter().filter(|f| f.is_wheel()).cloned().collect();
    let downloaded = first.download(&wheels).unwrap();
    assert_eq!(downloaded.len(), 2);
    assert!(downloaded.iter().all(|d| !d.cached));
    assert_eq!(
        fs::read(&downloaded[1].path).unwrap(),
        fs::read(&wheel).unwrap()
    );
    assert_eq!(
        downloaded[1].path.file_name().unwrap(),
        "demo-1.0-py3-none-any.whl"
    );
    assert!(downloaded[1].path.starts_with(cache.path()));
    assert_eq!(index.count(WHEEL), 1);

    // Another run: the cache answers, the index is not asked for a file.
    let second = client(&index.simple_url(), cache.path());
    let again = second.download(&wheels).unwrap();
    assert!(again.iter().all(|d| d.cached));
    assert_eq!(again[1].path, downloaded[1].path);
    assert_eq!(index.count(WHEEL), 1);
    assert!(
        index.requests().iter().all(|r| !r.starts_with("/files/")
            || r == WHEEL
            || r == "/files/demo-0.9-py3-none-any.whl"),
        "{:?}",
        index.requests()
    );
}

#[test]
fn a_file_that_does_not_match_its_listed_hash_is_refused() {
    let (dir, wheel) = served();
    let index = LoopbackIndex::serve(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let client = client(&index.simple_url(), cache.path());
    let files = client.files(&name("demo")).unwrap();
    // The file changes between the listing and the download (a tampering mirror).
    fs::write(&wheel, b"not the listed bytes").unwrap();
    let err = client
        .download(&[wheel_of(&files, "1.0").clone()])
        .unwrap_err();
    assert!(matches!(err, Error::HashMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("demo-1.0-py3-none-any.whl"), "{message}");
    assert!(message.contains(&index.simple_url()), "{message}");
    // Nothing was kept.
    assert!(!cache.path().join("wheels-v1").exists());
}

#[test]
fn credentials_go_as_basic_auth_and_never_into_messages() {
    let (dir, _) = served();
    let index = LoopbackIndex::serve_with(
        dir.path(),
        IndexOptions {
            basic_auth: Some(("alice".into(), "s3cret".into())),
            ..IndexOptions::default()
        },
    );
    let cache = tempfile::tempdir().unwrap();
    let with_credentials = format!("http://alice:s3cret@127.0.0.1:{}/simple/", index.port());
    let client = client(&with_credentials, cache.path());
    let files = client.files(&name("demo")).unwrap();
    client.download(&[wheel_of(&files, "1.0").clone()]).unwrap();
    let log = index.request_log();
    assert_eq!(log.len(), 2);
    // base64("alice:s3cret")
    for request in &log {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Basic YWxpY2U6czNjcmV0"),
            "{request:?}"
        );
    }

    let wrong = format!("http://alice:wrong-pw@127.0.0.1:{}/simple/", index.port());
    let err = self::client(&wrong, cache.path())
        .files(&name("demo"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 401"), "{err}");
    // The request went out without credentials in its URL, so none are in the message.
    assert!(
        err.contains(&format!("http://127.0.0.1:{}/simple/demo/", index.port())),
        "{err}"
    );
    assert!(!err.contains("wrong-pw"), "{err}");
}

#[test]
fn find_links_folders_add_files_even_without_an_index() {
    let (dir, _) = served();
    let explicit = ExplicitSettings {
        no_index: Some(true),
        find_links: vec![dir.path().display().to_string()],
        ..ExplicitSettings::default()
    };
    let settings = IndexSettings::resolve(&explicit, &PipSources::default()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = Index::new(settings, Cache::at(cache.path())).unwrap();
    let files = client.files(&name("demo")).unwrap();
    assert_eq!(files.len(), 3);
    let wheel = wheel_of(&files, "1.0");
    assert_eq!(wheel.url.scheme(), "file");
    let metadata = client.metadata(wheel).unwrap();
    assert_eq!(metadata.version.to_string(), "1.0");
    let downloaded = client.download(std::slice::from_ref(wheel)).unwrap();
    assert_eq!(
        downloaded[0].path,
        dir.path().join("demo-1.0-py3-none-any.whl")
    );
}

/// The files of `demo` a client lists from `settings`, by name.
fn listed(explicit: &ExplicitSettings, cache: &Path) -> Vec<String> {
    let settings = IndexSettings::resolve(explicit, &PipSources::default()).unwrap();
    let client = Index::new(settings, Cache::at(cache)).unwrap();
    let files = client.files(&name("demo")).unwrap();
    files.iter().map(|f| f.raw_filename.clone()).collect()
}

#[test]
fn remote_pages_may_link_only_http_files_and_local_pages_local_ones() {
    let (dir, _) = served();
    // A genuine wheel outside the served folder: a remote page must not make us read it.
    let elsewhere = tempfile::tempdir().unwrap();
    let local_wheel = WheelBuilder::new("Demo", "2.0").build(elsewhere.path());
    let local_url = url::Url::from_file_path(&local_wheel).unwrap().to_string();
    let links = vec![
        ("demo-2.0-py3-none-any.whl".to_string(), local_url.clone()),
        (
            "demo-3.0-py3-none-any.whl".to_string(),
            "local:/demo-3.0-py3-none-any.whl".to_string(),
        ),
        (
            "demo-4.0-py3-none-any.whl".to_string(),
            "ftp://127.0.0.1/demo-4.0-py3-none-any.whl".to_string(),
        ),
        (
            "demo-6.0-py3-none-any.whl".to_string(),
            "file:///etc/passwd".to_string(),
        ),
        (
            "demo-5.0-py3-none-any.whl".to_string(),
            "/elsewhere/demo-5.0-py3-none-any.whl".to_string(),
        ),
    ];
    let expected = [
        "demo-0.9-py3-none-any.whl",
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
        "demo-5.0-py3-none-any.whl",
    ];
    let cache = tempfile::tempdir().unwrap();
    for html_only in [false, true] {
        let index = LoopbackIndex::serve_with(
            dir.path(),
            IndexOptions {
                html_only,
                extra_links: links.clone(),
                ..IndexOptions::default()
            },
        );
        let explicit = ExplicitSettings {
            index_url: Some(index.simple_url()),
            ..ExplicitSettings::default()
        };
        assert_eq!(
            listed(&explicit, cache.path()),
            expected,
            "html: {html_only}"
        );
    }

    // A find-links page: over http it may not link local files; as a local file it may.
    let page = format!(
        "<a href=\"{local_url}\">local</a><a href=\"local:/demo-3.0-py3-none-any.whl\">odd</a>"
    );
    fs::write(dir.path().join("links.html"), &page).unwrap();
    let index = LoopbackIndex::serve(dir.path());
    let remote = ExplicitSettings {
        no_index: Some(true),
        find_links: vec![index.static_url("links.html")],
        ..ExplicitSettings::default()
    };
    assert!(listed(&remote, cache.path()).is_empty());
    let local = ExplicitSettings {
        no_index: Some(true),
        find_links: vec![dir.path().join("links.html").display().to_string()],
        ..ExplicitSettings::default()
    };
    assert_eq!(listed(&local, cache.path()), ["demo-2.0-py3-none-any.whl"]);
}

#[test]
fn a_body_longer_or_shorter_than_the_listed_size_is_refused() {
    let (dir, wheel) = served();
    let real = fs::metadata(&wheel).unwrap().len();
    // The bytes served are the listed hash's own: only the size gives the lie away.
    for (offset, says) in [(-1, "longer than"), (1, "shorter than")] {
        let index = LoopbackIndex::serve_with(
            dir.path(),
            IndexOptions {
                listed_size_offset: offset,
                ..IndexOptions::default()
            },
        );
        let cache = tempfile::tempdir().unwrap();
        let client = client(&index.simple_url(), cache.path());
        let files = client.files(&name("demo")).unwrap();
        let listed = wheel_of(&files, "1.0").clone();
        assert_eq!(listed.size, Some(real.saturating_add_signed(offset)));
        let err = client.download(&[listed]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(says), "{message}");
        assert!(message.contains("demo-1.0-py3-none-any.whl"), "{message}");
        assert!(!cache.path().join("wheels-v1").exists(), "nothing kept");
    }
    // An honest size passes.
    let index = LoopbackIndex::serve(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let client = client(&index.simple_url(), cache.path());
    let files = client.files(&name("demo")).unwrap();
    assert_eq!(wheel_of(&files, "1.0").size, Some(real));
    client.download(&[wheel_of(&files, "1.0").clone()]).unwrap();
}

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn files_without_a_listed_hash_are_taken_and_named_as_not_verified() {
    let (dir, _) = served();
    // A find-links page listing a wheel without a hash, beside the index that lists one.
    fs::write(
        dir.path().join("links.html"),
        "<a href=\"/files/demo-0.9-py3-none-any.whl\">0.9</a>",
    )
    .unwrap();
    let index = LoopbackIndex::serve(dir.path());
    let explicit = ExplicitSettings {
        index_url: Some(index.simple_url()),
        find_links: vec![index.static_url("links.html")],
        ..ExplicitSettings::default()
    };
    let settings = IndexSettings::resolve(&explicit, &PipSources::default()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = Index::new(settings, Cache::at(cache.path())).unwrap();
    let files = client.files(&name("demo")).unwrap();
    let hashed = wheel_of(&files, "1.0").clone();
    let unhashed = files
        .iter()
        .find(|f| f.sha256.is_none() && f.is_wheel())
        .unwrap()
        .clone();
    assert_eq!(unhashed.raw_filename, "demo-0.9-py3-none-any.whl");

    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .finish();
    let downloaded = tracing::subscriber::with_default(subscriber, || {
        client.download(&[hashed, unhashed]).unwrap()
    });
    assert_eq!(
        downloaded.len(),
        2,
        "the unhashed file is taken, as pip takes it"
    );
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("not verified"))
        .unwrap_or_else(|| panic!("no line says what was not verified:\n{log}"));
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("demo-0.9-py3-none-any.whl"), "{line}");
    assert!(line.contains("links.html"), "{line}");
    assert!(!line.contains("demo-1.0"), "{line}");
}

/// The file names listed, in order.
fn names(files: &[IndexFile]) -> Vec<String> {
    files.iter().map(|f| f.raw_filename.clone()).collect()
}

/// The requests for `path` so far, with their `If-None-Match` and the status answered.
fn page_requests(index: &LoopbackIndex, path: &str) -> Vec<(Option<String>, u16)> {
    index
        .request_log()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| (r.if_none_match, r.status))
        .collect()
}

#[test]
fn a_fresh_cached_page_costs_no_request_and_a_stale_one_is_revalidated() {
    let (dir, _) = served();
    let cache = tempfile::tempdir().unwrap();
    let fresh = LoopbackIndex::serve_with(
        dir.path(),
        IndexOptions {
            page_max_age: Some(600),
            ..IndexOptions::default()
        },
    );
    let first = client(&fresh.simple_url(), cache.path())
        .files(&name("demo"))
        .unwrap();
    // A second run (a new client, the same cache) within max-age asks nothing.
    let second = client(&fresh.simple_url(), cache.path())
        .files(&name("demo"))
        .unwrap();
    assert_eq!(page_requests(&fresh, "/simple/demo/"), [(None, 200)]);
    assert_eq!(names(&first), names(&second));

    // max-age=0: every run revalidates with the ETag, and a 304 reuses the stored body.
    let stale = LoopbackIndex::serve_with(
        dir.path(),
        IndexOptions {
            page_max_age: Some(0),
            ..IndexOptions::default()
        },
    );
    let cache = tempfile::tempdir().unwrap();
    let listed = client(&stale.simple_url(), cache.path())
        .files(&name("demo"))
        .unwrap();
    let again = client(&stale.simple_url(), cache.path())
        .files(&name("demo"))
        .unwrap();
    let log = page_requests(&stale, "/simple/demo/");
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0], (None, 200));
    let etag = log[1].0.clone().expect("revalidated with If-None-Match");
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(log[1].1, 304);
    assert_eq!(names(&listed), names(&again));

    // The page changed: the 200 answer replaces the stored one.
    WheelBuilder::new("Demo", "1.1").build(dir.path());
    let changed = client(&stale.simple_url(), cache.path())
        .files(&name("demo"))
        .unwrap();
    assert_eq!(changed.len(), listed.len() + 1);
    assert_eq!(page_requests(&stale, "/simple/demo/")[2], (Some(etag), 200));
}

#[test]
fn no_cache_reads_no_stored_page() {
    let (dir, _) = served();
    let index = LoopbackIndex::serve_with(
        dir.path(),
        IndexOptions {
            page_max_age: Some(600),
            ..IndexOptions::default()
        },
    );
    let settings = || {
        let explicit = ExplicitSettings {
            index_url: Some(index.simple_url()),
            ..ExplicitSettings::default()
        };
        IndexSettings::resolve(&explicit, &PipSources::default()).unwrap()
    };
    for _ in 0..2 {
        Index::new(settings(), Cache::temporary().unwrap())
            .unwrap()
            .files(&name("demo"))
            .unwrap();
    }
    assert_eq!(
        page_requests(&index, "/simple/demo/"),
        [(None, 200), (None, 200)]
    );
}
