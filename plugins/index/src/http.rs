//! HTTP for the index client: one agent on `wagon-source-url`'s network setup (proxies, system
//! certificates) plus `--cert`, plain http only to loopback or trusted hosts, and credentials
//! from index URLs sent as Basic auth to their own host alone.

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;
use ureq::tls::{Certificate, PemItem, TlsConfig};
use ureq::{Agent, ResponseExt as _};
use url::{Host, Url};
use wagon_core::redact::redact_url;

use crate::Error;
use crate::settings::{FindLinks, IndexSettings};

/// How long the index client waits on the network. There is no end-to-end budget (source-url's
/// 600 s global timeout counts the body too, so a large wheel over a slow link would always
/// fail): instead, setting up a connection and each transport read or write are bounded, which
/// stops a stalled server without bounding a slow honest one. A server that trickles bytes just
/// fast enough is bounded by the sizes instead (see `download::store`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Connecting: the proxy, TCP and TLS handshakes. DNS is left to the system resolver's own
    /// timeouts (ureq would spawn a thread per lookup to bound it).
    pub connect: Duration,
    /// Each read (ureq's `timeout_per_read`, restarted on every read: the wait for the answer's
    /// headers and each wait for body bytes) and each write.
    pub io: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(30),
            io: Duration::from_secs(60),
        }
    }
}

/// A GET's answer: status, final URL (after redirects, without credentials), some headers and
/// the body still to read.
pub(crate) struct Reply {
    pub status: u16,
    pub url: Url,
    pub content_type: String,
    pub content_range: Option<String>,
    pub body: ureq::Body,
}

impl Reply {
    /// The body, at most `limit` bytes.
    pub fn bytes(mut self, limit: u64) -> Result<Vec<u8>, Error> {
        let shown = redact_url(self.url.as_str());
        self.body
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|err| Error::Network {
                url: shown,
                reason: format!("the answer broke off or was too large: {err}"),
            })
    }

    /// The body as a reader without a limit (downloads count their own bytes).
    pub fn reader(self) -> impl Read {
        self.body.into_reader()
    }

    /// `Ok(self)` for a 2xx answer, else the error a user can act on.
    pub fn success(self) -> Result<Reply, Error> {
        let url = redact_url(self.url.as_str());
        match self.status {
            200..=299 => Ok(self),
            401 => Err(Error::Unauthorized {
                url,
                status: 401,
                hint: "credentials needed or refused",
            }),
            403 => Err(Error::Unauthorized {
                url,
                status: 403,
                hint: "forbidden",
            }),
            status => Err(Error::Status { url, status }),
        }
    }
}

/// The HTTP client shared by all requests of a run.
pub(crate) struct HttpClient {
    agent: Agent,
    /// For https to trusted hosts: pip's `--trusted-host` also skips certificate checks.
    unverified: Agent,
    /// `(host, port, Authorization value)` from the credentials in configured URLs.
    credentials: Vec<(Host<String>, Option<u16>, String)>,
    trusted_hosts: Vec<String>,
}

impl HttpClient {
    pub fn new(settings: &IndexSettings) -> Result<HttpClient, Error> {
        HttpClient::with_timeouts(settings, Timeouts::default())
    }

    pub fn with_timeouts(
        settings: &IndexSettings,
        timeouts: Timeouts,
    ) -> Result<HttpClient, Error> {
        let extra_roots = match &settings.cert {
            Some(path) => read_bundle(path)?,
            None => Vec::new(),
        };
        let config = || {
            wagon_source_url::agent_config(&extra_roots)
                .timeout_global(None)
                .timeout_connect(Some(timeouts.connect))
                .timeout_per_read(Some(timeouts.io))
                .timeout_per_write(Some(timeouts.io))
                .http_status_as_error(false)
                // Many files from one host: keep connections for reuse.
                .max_idle_connections_per_host(16)
        };
        let agent: Agent = config().build().into();
        let unverified: Agent = config()
            .tls_config(TlsConfig::builder().disable_verification(true).build())
            .build()
            .into();
        let find_links = settings.find_links.iter().filter_map(|f| match f {
            FindLinks::Url(url) => Some(url),
            FindLinks::Path(_) => None,
        });
        let credentials = settings
            .index_urls
            .iter()
            .chain(find_links)
            .filter_map(|url| {
                let header = basic_auth(url)?;
                Some((url.host()?.to_owned(), url.port_or_known_default(), header))
            })
            .collect();
        Ok(HttpClient {
            agent,
            unverified,
            credentials,
            trusted_hosts: settings.trusted_hosts.clone(),
        })
    }

    /// GETs `url` with extra `headers`. Any status is an `Ok` reply (see [`Reply::success`]);
    /// only a request that gets no answer is an error.
    pub fn get(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Reply, Error> {
        let shown = redact_url(url.as_str());
        let host = url.host_str().unwrap_or_default().to_string();
        let trusted = self.is_trusted(url);
        match url.scheme() {
            "https" => {}
            "http" if trusted || is_loopback(url) => {}
            "http" => return Err(Error::Insecure { url: shown, host }),
            other => {
                return Err(Error::InvalidUrl {
                    what: "download",
                    url: shown,
                    reason: format!("the scheme `{other}` is not http or https"),
                    example: "https://pypi.org/simple/",
                });
            }
        }
        // Credentials travel in a header, never in the request line (nor in logs).
        let authorization = basic_auth(url).or_else(|| self.stored_credentials(url));
        let mut clean = url.clone();
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        clean.set_fragment(None);
        let agent = if trusted && url.scheme() == "https" {
            &self.unverified
        } else {
            &self.agent
        };
        let mut request = agent.get(clean.as_str());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        tracing::debug!("GET {shown}");
        let response = request.call().map_err(|err| Error::Network {
            url: shown.clone(),
            reason: redact_url(&err.to_string()),
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let content_range = header("content-range");
        let final_url = Url::parse(&response.get_uri().to_string()).unwrap_or(clean);
        Ok(Reply {
            status: response.status().as_u16(),
            url: final_url,
            content_type,
            content_range,
            body: response.into_body(),
        })
    }

    fn stored_credentials(&self, url: &Url) -> Option<String> {
        let host = url.host()?.to_owned();
        let port = url.port_or_known_default();
        self.credentials
            .iter()
            .find(|(h, p, _)| *h == host && *p == port)
            .map(|(_, _, header)| header.clone())
    }

    /// pip's `--trusted-host`: `host` matches any port, `host:port` only that one.
    fn is_trusted(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let with_port = url.port().map(|port| format!("{host}:{port}"));
        self.trusted_hosts
            .iter()
            .any(|t| t == host || with_port.as_deref() == Some(t.as_str()))
    }
}

/// pip's secure origins include loopback addresses over plain http.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The Basic `Authorization` value for the credentials in `url`, if any (decoded, as pip
/// decodes `%40` in a password).
fn basic_auth(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let pair = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// The CA certificates of a PEM bundle.
fn read_bundle(path: &std::path::Path) -> Result<Vec<Certificate<'static>>, Error> {
    let invalid = |reason: String| Error::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let pem = fs_err::read(path).map_err(|err| invalid(format!("cannot be read: {err}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|err| invalid(format!("is not valid PEM: {err}")))? {
            PemItem::Certificate(cert) => certs.push(cert),
            _ => continue,
        }
    }
    if certs.is_empty() {
        return Err(invalid("holds no certificate".to_string()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(trusted: &[&str], index: &str) -> HttpClient {
        let settings = IndexSettings {
            index_urls: vec![Url::parse(index).unwrap()],
            trusted_hosts: trusted.iter().map(|t| (*t).to_string()).collect(),
            ..IndexSettings::default()
        };
        HttpClient::new(&settings).unwrap()
    }

    #[test]
    fn credentials_go_to_their_host_only() {
        let client = client(&[], "https://alice:s%40cret@private.example/simple/");
        let header = client
            .stored_credentials(&Url::parse("https://private.example/files/a.whl").unwrap())
            .unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"alice:s@cret");
        for elsewhere in [
            "https://files.example/a.whl",
            "https://private.example:8443/a.whl",
            "http://private.example/a.whl",
        ] {
            let url = Url::parse(elsewhere).unwrap();
            assert_eq!(client.stored_credentials(&url), None, "{elsewhere}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback_or_trusted_hosts() {
        let client = client(&["intranet", "other:8080"], "https://pypi.org/simple/");
        let refused = client
            .get(
                &Url::parse("http://user:pw@mirror.example/simple/x/").unwrap(),
                &[],
            )
            .err()
            .unwrap()
            .to_string();
        assert!(
            refused.contains("--trusted-host mirror.example"),
            "{refused}"
        );
        assert!(
            refused.contains("http://user:****@mirror.example"),
            "{refused}"
        );
        assert!(client.is_trusted(&Url::parse("http://intranet:9000/").unwrap()));
        assert!(client.is_trusted(&Url::parse("http://other:8080/").unwrap()));
        assert!(!client.is_trusted(&Url::parse("http://other:8081/").unwrap()));
        for loopback in ["http://localhost:1/", "http://127.0.0.2/", "http://[::1]/"] {
            assert!(is_loopback(&Url::parse(loopback).unwrap()), "{loopback}");
        }
    }

    #[test]
    fn timeouts_bound_each_phase_not_the_whole_transfer() {
        let client = client(&[], "https://pypi.org/simple/");
        for agent in [&client.agent, &client.unverified] {
            let timeouts = agent.config().timeouts();
            assert_eq!(timeouts.global, None);
            assert_eq!(timeouts.per_call, None);
            assert_eq!(timeouts.recv_body, None);
            assert_eq!(timeouts.connect, Some(Duration::from_secs(30)));
            assert_eq!(
                agent.config().timeout_per_read(),
                Some(Duration::from_secs(60))
            );
        }
    }

    /// A one-answer server on loopback: the head, then the body's bytes `gap` apart.
    fn slow_server(body: &'static [u8], gap: Duration) -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            stream.write_all(head.as_bytes()).unwrap();
            for byte in body {
                std::thread::sleep(gap);
                // The client may have given up.
                if stream
                    .write_all(&[*byte])
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
            }
        });
        Url::parse(&format!("http://127.0.0.1:{port}/file")).unwrap()
    }

    #[test]
    fn a_slow_honest_server_is_waited_for_and_a_stalled_one_is_not() {
        let timeouts = Timeouts {
            connect: Duration::from_secs(5),
            io: Duration::from_millis(800),
        };
        let client = HttpClient::with_timeouts(&IndexSettings::default(), timeouts).unwrap();
        // Eight bytes 300 ms apart: 2.4 s in all, three times the read timeout.
        let url = slow_server(b"12345678", Duration::from_millis(300));
        let body = client.get(&url, &[]).unwrap().bytes(100).unwrap();
        assert_eq!(body, b"12345678");
        // The answer's head, then nothing: given up after the read timeout, not minutes.
        let stalled = slow_server(b"x", Duration::from_secs(30));
        let started = std::time::Instant::now();
        let err = client.get(&stalled, &[]).unwrap().bytes(100).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{err}");
        assert!(err.to_string().contains("broke off"), "{err}");
    }

    #[test]
    fn certificate_bundles_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem").unwrap();
        let err = read_bundle(&empty).unwrap_err().to_string();
        assert!(
            err.contains("empty.pem") && err.contains("no certificate"),
            "{err}"
        );
        let missing = read_bundle(&dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot be read"), "{missing}");
    }
}
