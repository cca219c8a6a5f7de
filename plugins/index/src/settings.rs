//! Where to look for distributions, as pip would: explicit values (flags, `wagon.toml`) layered
//! over pip's configuration (`pip.conf`, `PIP_*`).

use std::path::PathBuf;

use url::Url;
use wagon_core::redact::redact_url;

use crate::Error;
use crate::pip_config::{PipSources, Setting, parse_bool};

/// pip's default index.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

/// Values given explicitly (command-line flags, `wagon.toml`); they win over pip's
/// configuration. The CLI fills this plain struct.
#[derive(Debug, Clone, Default)]
pub struct ExplicitSettings {
    /// `--index-url`: replaces the configured primary index.
    pub index_url: Option<String>,
    /// `--extra-index-url`, repeatable: added after the configured ones, as pip does.
    pub extra_index_urls: Vec<String>,
    /// `--find-links`, repeatable (folders, local HTML files or URLs): added after the
    /// configured ones, as pip does.
    pub find_links: Vec<String>,
    /// `--no-index` (`Some(true)`), or an explicit `no_index = false` that overrides
    /// `PIP_NO_INDEX`; `None` leaves it to pip's configuration.
    pub no_index: Option<bool>,
    /// `--trusted-host`, repeatable: `host` or `host:port`, added to the configured ones.
    pub trusted_hosts: Vec<String>,
    /// `--cert`: a PEM bundle of CA certificates, replacing the configured one.
    pub cert: Option<PathBuf>,
}

/// A `--find-links` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindLinks {
    /// A local folder (its distributions are listed) or HTML file (its anchors are read).
    Path(PathBuf),
    /// An http(s) page whose anchors link to distributions.
    Url(Url),
}

/// The resolved settings: what the client reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSettings {
    /// The primary index, then the extra ones; all are equal candidates (pip's semantics).
    /// Each ends with `/`; credentials (`https://user:pass@host/simple/`) are kept here and
    /// become a Basic auth header for that host only.
    pub index_urls: Vec<Url>,
    /// Find-links locations, searched besides the indexes (also with `no_index`).
    pub find_links: Vec<FindLinks>,
    /// Whether the indexes are ignored (`index_urls` is then empty).
    pub no_index: bool,
    /// Hosts (`host` or `host:port`) reachable over plain http, and over https unverified.
    pub trusted_hosts: Vec<String>,
    /// An extra PEM bundle of CA certificates, trusted besides the system store.
    pub cert: Option<PathBuf>,
}

impl Default for IndexSettings {
    fn default() -> Self {
        IndexSettings {
            index_urls: vec![index_url(DEFAULT_INDEX_URL).unwrap_or_else(|_| unreachable!())],
            find_links: Vec::new(),
            no_index: false,
            trusted_hosts: Vec::new(),
            cert: None,
        }
    }
}

impl IndexSettings {
    /// `explicit` over `pip`'s configuration, with pip's rules: a single value (index URL,
    /// `no-index`, `cert`) given explicitly replaces the configured one; repeatable values
    /// (extra index URLs, find-links, trusted hosts) are the configured ones followed by the
    /// explicit ones. Configured lists are whitespace-separated, as pip splits them.
    pub fn resolve(explicit: &ExplicitSettings, pip: &PipSources) -> Result<IndexSettings, Error> {
        let configured = pip.settings()?;
        let list = |key: &str, extra: &[String]| -> Vec<String> {
            configured
                .get(key)
                .map(|s| s.value.split_whitespace().map(str::to_string).collect())
                .unwrap_or_else(Vec::new)
                .into_iter()
                .chain(extra.iter().cloned())
                .collect()
        };
        let no_index = match explicit.no_index {
            Some(value) => value,
            None => configured
                .get("no-index")
                .map(|s| parse_bool("no-index", s))
                .transpose()?
                .unwrap_or(false),
        };
        let primary = explicit
            .index_url
            .clone()
            .or_else(|| configured.get("index-url").map(|s| s.value.clone()))
            .unwrap_or_else(|| DEFAULT_INDEX_URL.to_string());
        let index_urls = if no_index {
            Vec::new()
        } else {
            std::iter::once(primary)
                .chain(list("extra-index-url", &explicit.extra_index_urls))
                .map(|url| index_url(url.trim()))
                .collect::<Result<Vec<_>, _>>()?
        };
        let find_links = list("find-links", &explicit.find_links)
            .iter()
            .map(|location| find_links(location))
            .collect::<Result<Vec<_>, _>>()?;
        let cert = explicit.cert.clone().or_else(|| {
            configured
                .get("cert")
                .map(|s: &Setting| s.value.trim().into())
        });
        Ok(IndexSettings {
            index_urls,
            find_links,
            no_index,
            trusted_hosts: list("trusted-host", &explicit.trusted_hosts),
            cert,
        })
    }
}

/// An index URL, checked and ending with `/` so that project pages join under it.
fn index_url(text: &str) -> Result<Url, Error> {
    let invalid = |reason: String| Error::InvalidUrl {
        what: "index",
        url: redact_url(text),
        reason,
        example: DEFAULT_INDEX_URL,
    };
    let mut url = Url::parse(text).map_err(|err| invalid(err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the scheme `{}` is not http or https (a local folder goes to --find-links)",
            url.scheme()
        )));
    }
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    url.set_fragment(None);
    Ok(url)
}

/// A find-links location: an http(s) URL, a `file:` URL or a path.
fn find_links(text: &str) -> Result<FindLinks, Error> {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Url::parse(text)
            .map(FindLinks::Url)
            .map_err(|err| Error::InvalidUrl {
                what: "find-links",
                url: redact_url(text),
                reason: err.to_string(),
                example: "https://example.com/wheels/ or a local folder",
            });
    }
    if lower.starts_with("file:") {
        return Url::parse(text)
            .ok()
            .and_then(|url| url.to_file_path().ok())
            .map(FindLinks::Path)
            .ok_or_else(|| Error::InvalidUrl {
                what: "find-links",
                url: redact_url(text),
                reason: "it names no local path".to_string(),
                example: "file:///srv/wheels or a local folder",
            });
    }
    Ok(FindLinks::Path(PathBuf::from(text)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn sources(vars: &[(&str, &str)], files: Vec<PathBuf>) -> PipSources {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        PipSources::new(vars, files)
    }

    fn urls(settings: &IndexSettings) -> Vec<&str> {
        settings.index_urls.iter().map(Url::as_str).collect()
    }

    #[test]
    fn nothing_configured_is_pypi() {
        let settings =
            IndexSettings::resolve(&ExplicitSettings::default(), &sources(&[], vec![])).unwrap();
        assert_eq!(settings, IndexSettings::default());
        assert_eq!(urls(&settings), [DEFAULT_INDEX_URL]);
    }

    #[test]
    fn environment_over_files_and_flags_over_all() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("pip.conf");
        std::fs::write(
            &conf,
            "[global]\nindex-url = https://file/simple\nextra-index-url = https://file-extra/simple\n\
             find-links = /file/wheels\ncert = /file.pem\ntrusted-host = file-host\n",
        )
        .unwrap();
        let pip = sources(
            &[
                ("PIP_INDEX_URL", "https://env/simple"),
                ("PIP_EXTRA_INDEX_URL", "https://e1/simple https://e2/simple"),
                (
                    "PIP_FIND_LINKS",
                    "file:///env/wheels https://links/page.html",
                ),
                ("PIP_CERT", "/env.pem"),
            ],
            vec![conf],
        );
        let configured = IndexSettings::resolve(&ExplicitSettings::default(), &pip).unwrap();
        assert_eq!(
            urls(&configured),
            [
                "https://env/simple/",
                "https://e1/simple/",
                "https://e2/simple/"
            ]
        );
        assert_eq!(
            configured.find_links,
            [
                FindLinks::Path("/env/wheels".into()),
                FindLinks::Url(Url::parse("https://links/page.html").unwrap())
            ]
        );
        assert_eq!(configured.cert, Some("/env.pem".into()));
        assert_eq!(configured.trusted_hosts, ["file-host"]);

        let explicit = ExplicitSettings {
            index_url: Some("https://flag/simple/".into()),
            extra_index_urls: vec!["https://flag-extra/simple".into()],
            find_links: vec!["./local".into()],
            trusted_hosts: vec!["flag-host:8080".into()],
            cert: Some("/flag.pem".into()),
            no_index: None,
        };
        let flagged = IndexSettings::resolve(&explicit, &pip).unwrap();
        // Single values are replaced; lists are extended, as pip's optparse appends to them.
        assert_eq!(
            urls(&flagged),
            [
                "https://flag/simple/",
                "https://e1/simple/",
                "https://e2/simple/",
                "https://flag-extra/simple/"
            ]
        );
        assert_eq!(flagged.find_links.len(), 3);
        assert_eq!(flagged.find_links[2], FindLinks::Path("./local".into()));
        assert_eq!(flagged.trusted_hosts, ["file-host", "flag-host:8080"]);
        assert_eq!(flagged.cert, Some("/flag.pem".into()));
    }

    #[test]
    fn no_index_drops_indexes_but_keeps_find_links() {
        let pip = sources(&[("PIP_NO_INDEX", "1"), ("PIP_FIND_LINKS", "/w")], vec![]);
        let settings = IndexSettings::resolve(&ExplicitSettings::default(), &pip).unwrap();
        assert!(settings.no_index && settings.index_urls.is_empty());
        assert_eq!(settings.find_links, [FindLinks::Path("/w".into())]);
        let explicit = ExplicitSettings {
            no_index: Some(false),
            ..ExplicitSettings::default()
        };
        let settings = IndexSettings::resolve(&explicit, &pip).unwrap();
        assert_eq!(urls(&settings), [DEFAULT_INDEX_URL]);
    }

    #[test]
    fn bad_index_urls_are_named_without_their_secrets() {
        let explicit = ExplicitSettings {
            index_url: Some("ftp://user:hunter2@host/simple".into()),
            ..ExplicitSettings::default()
        };
        let err = IndexSettings::resolve(&explicit, &sources(&[], vec![]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ftp://user:****@host/simple"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let credentials = ExplicitSettings {
            index_url: Some("https://user:hunter2@host/simple".into()),
            ..ExplicitSettings::default()
        };
        let settings = IndexSettings::resolve(&credentials, &sources(&[], vec![])).unwrap();
        assert_eq!(settings.index_urls[0].password(), Some("hunter2"));
    }
}
