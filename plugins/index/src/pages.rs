//! Project pages kept between runs as HTTP caching says (RFC 9111, a private cache): a page
//! still fresh by its `Cache-Control: max-age` (less its `Age`) is read back with no request;
//! a stale one is asked for again with its `ETag` (`If-None-Match`) and `Last-Modified`
//! (`If-Modified-Since`), and a 304 reuses the stored body. `no-store` pages are not kept and
//! `no-cache` ones are always revalidated; a page with neither a lifetime nor a validator is
//! not kept. A `--no-cache` run's cache starts empty, so nothing is read from it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use url::Url;

use crate::cache::Cache;
use crate::http::Caching;

/// A page as stored: where it was served from (relative links resolve against it), its type,
/// body and what its freshness and revalidation need.
pub(crate) struct StoredPage {
    pub url: Url,
    pub content_type: String,
    pub body: Vec<u8>,
    etag: Option<String>,
    last_modified: Option<String>,
    /// When the answer was generated, in seconds since the epoch (received less its `Age`).
    generated: u64,
    /// Its freshness lifetime in seconds (`max-age`; 0 for `no-cache` or none given).
    max_age: u64,
}

impl StoredPage {
    /// Whether the page may be used without asking the index.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        // A clock set back before the page was stored makes it stale, not fresh forever.
        seconds(now)
            .checked_sub(self.generated)
            .is_some_and(|age| age < self.max_age)
    }

    /// The conditional headers that revalidate the page.
    pub fn validators(&self) -> Vec<(&'static str, &str)> {
        let mut headers = Vec::new();
        if let Some(etag) = &self.etag {
            headers.push(("If-None-Match", etag.as_str()));
        }
        if let Some(date) = &self.last_modified {
            headers.push(("If-Modified-Since", date.as_str()));
        }
        headers
    }

    /// The page after a 304 answer: the same body, the answer's caching headers over the old.
    pub fn revalidated(mut self, caching: &Caching, now: SystemTime) -> StoredPage {
        let (generated, max_age) = freshness(caching, now);
        self.generated = generated;
        self.max_age = max_age.unwrap_or(0);
        if caching.etag.is_some() {
            self.etag.clone_from(&caching.etag);
        }
        if caching.last_modified.is_some() {
            self.last_modified.clone_from(&caching.last_modified);
        }
        self
    }

    /// A page just served, if HTTP lets it be kept.
    pub fn served(
        url: &Url,
        content_type: &str,
        body: Vec<u8>,
        caching: &Caching,
        now: SystemTime,
    ) -> Option<StoredPage> {
        let (generated, max_age) = freshness(caching, now);
        let max_age = max_age?;
        let page = StoredPage {
            url: url.clone(),
            content_type: content_type.to_string(),
            body,
            etag: caching.etag.clone(),
            last_modified: caching.last_modified.clone(),
            generated,
            max_age,
        };
        (page.max_age > 0 || !page.validators().is_empty()).then_some(page)
    }
}

/// The stored page for `page_url`, if there is a readable one.
pub(crate) fn load(cache: &Cache, page_url: &Url) -> Option<StoredPage> {
    let bytes = std::fs::read(cache.page_path(page_url)).ok()?;
    let split = bytes.iter().position(|b| *b == b'\n')?;
    let head: Value = serde_json::from_slice(&bytes[..split]).ok()?;
    let text = |key: &str| head.get(key).and_then(Value::as_str).map(str::to_string);
    Some(StoredPage {
        url: Url::parse(&text("url")?).ok()?,
        content_type: text("content_type")?,
        etag: text("etag"),
        last_modified: text("last_modified"),
        generated: head.get("generated")?.as_u64()?,
        max_age: head.get("max_age")?.as_u64()?,
        body: bytes[split + 1..].to_vec(),
    })
}

/// Keeps `page` for `page_url`; a cache that cannot be written costs the next run a request.
pub(crate) fn store(cache: &Cache, page_url: &Url, page: &StoredPage) {
    let head = json!({
        "url": page.url.as_str(),
        "content_type": page.content_type,
        "etag": page.etag,
        "last_modified": page.last_modified,
        "generated": page.generated,
        "max_age": page.max_age,
    });
    let mut bytes = head.to_string().into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(&page.body);
    if let Err(err) = cache.write(&cache.page_path(page_url), &bytes) {
        tracing::warn!("not caching the page {}: {err}", page.url);
    }
}

/// When the answer was generated and its freshness lifetime (`None`: `no-store`, keep nothing).
fn freshness(caching: &Caching, now: SystemTime) -> (u64, Option<u64>) {
    let age = caching
        .age
        .as_deref()
        .and_then(|age| age.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let mut max_age = Some(0);
    let mut no_cache = false;
    for directive in caching.cache_control.as_deref().unwrap_or("").split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" {
            return (0, None);
        }
        if directive == "no-cache" {
            no_cache = true;
        } else if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = seconds.trim_matches('"').parse::<u64>().ok().or(Some(0));
        }
    }
    if no_cache {
        max_age = Some(0);
    }
    (seconds(now).saturating_sub(age), max_age)
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn caching(cache_control: &str, age: Option<&str>, etag: Option<&str>) -> Caching {
        Caching {
            cache_control: Some(cache_control.to_string()),
            age: age.map(str::to_string),
            etag: etag.map(str::to_string),
            last_modified: None,
        }
    }

    #[test]
    fn freshness_follows_max_age_less_age() {
        let url = Url::parse("https://idx.example/simple/demo/").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let page = StoredPage::served(
            &url,
            "text/html",
            b"x".to_vec(),
            &caching("max-age=600, public", Some("100"), None),
            now,
        )
        .unwrap();
        assert!(page.is_fresh(now));
        assert!(page.is_fresh(now + Duration::from_secs(499)));
        assert!(!page.is_fresh(now + Duration::from_secs(500)));
        // A clock set back: stale.
        assert!(!page.is_fresh(now - Duration::from_secs(200)));
        // no-store keeps nothing; no-cache keeps for revalidation only; nothing to go on keeps
        // nothing.
        let served = |cc: &str, etag| {
            StoredPage::served(&url, "t", Vec::new(), &caching(cc, None, etag), now)
        };
        assert!(served("no-store, max-age=600", Some("\"e\"")).is_none());
        let no_cache = served("no-cache, max-age=600", Some("\"e\"")).unwrap();
        assert!(!no_cache.is_fresh(now));
        assert_eq!(no_cache.validators(), [("If-None-Match", "\"e\"")]);
        assert!(served("private", None).is_none());
        assert!(served("max-age=oops", None).is_none());
    }

    #[test]
    fn stored_pages_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let url = Url::parse("https://idx.example/simple/demo/").unwrap();
        let now = SystemTime::now();
        let page = StoredPage::served(
            &url,
            "application/vnd.pypi.simple.v1+json",
            b"{\"a\":\n1}".to_vec(),
            &caching("max-age=60", None, Some("W/\"tag\"")),
            now,
        )
        .unwrap();
        store(&cache, &url, &page);
        let back = load(&cache, &url).unwrap();
        assert_eq!(back.body, b"{\"a\":\n1}");
        assert_eq!(back.url, url);
        assert_eq!(back.content_type, "application/vnd.pypi.simple.v1+json");
        assert!(back.is_fresh(now));
        assert_eq!(back.validators(), [("If-None-Match", "W/\"tag\"")]);
        // A 304 with a new lifetime restarts the clock and keeps the body.
        let later = now + Duration::from_secs(120);
        assert!(!back.is_fresh(later));
        let renewed = back.revalidated(&caching("max-age=60", None, None), later);
        assert!(renewed.is_fresh(later));
        assert_eq!(renewed.body, b"{\"a\":\n1}");
        assert_eq!(renewed.validators(), [("If-None-Match", "W/\"tag\"")]);
        // A damaged entry is no entry.
        std::fs::write(cache.page_path(&url), b"garbage").unwrap();
        assert!(load(&cache, &url).is_none());
    }
}
