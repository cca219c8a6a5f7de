//! HTTP for the index client: one agent on `wagon-source-url`'s network setup (proxies, system
//! certificates) plus `--cert`, plain http only to loopback or trusted hosts (on every redirect
//! hop), and credentials from index URLs sent as Basic auth to their own host alone.

use std::io::Read;
use std::time::Duration;

use base64::Engine as _;
use ureq::Agent;
use ureq::tls::{Certificate, PemItem, TlsConfig};
use ureq::unversioned::transport::DefaultConnector;
use url::{Host, Url};
use wagon_core::redact::redact_url;

use crate::Error;
use crate::dns::CachingResolver;
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
    /// What HTTP caching reads (RFC 9111): `Cache-Control`, `Age`, `ETag`, `Last-Modified`.
    pub caching: Caching,
    pub body: ureq::Body,
}

/// An answer's caching headers, as sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caching {
    pub cache_control: Option<String>,
    pub age: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
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

/// Redirects followed for one request, as ureq's default.
const MAX_REDIRECTS: usize = 10;

/// The waits before each retry of a request that failed in a transient way (see
/// [`is_transient`]): three retries, about 1.7 s in all, enough to ride out a dropped DNS
/// answer or a server restarting, short enough not to hide a server that is down.
const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// One request's answer, with where it redirects to, if it does.
struct Hop {
    location: Option<String>,
    reply: Reply,
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
                // Followed by `get`, which holds each hop to the http/https rule.
                .max_redirects(0)
                // Many files from one host: keep connections for reuse.
                .max_idle_connections_per_host(16)
        };
        // One DNS cache for both agents (see `dns`): ureq alone looks the host up again on
        // every request, even over a pooled connection.
        let resolver = CachingResolver::new();
        let agent = Agent::with_parts(
            config().build(),
            DefaultConnector::default(),
            resolver.clone(),
        );
        let unverified = Agent::with_parts(
            config()
                .tls_config(TlsConfig::builder().disable_verification(true).build())
                .build(),
            DefaultConnector::default(),
            resolver,
        );
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

    /// GETs `url` with extra `headers`, following up to [`MAX_REDIRECTS`] redirects, each hop
    /// held to the rule the first URL is (see [`HttpClient::check_redirect`]). Any final
    /// status is an `Ok` reply (see [`Reply::success`]); only a request that gets no answer,
    /// or a refused hop, is an error.
    pub fn get(&self, url: &Url, headers: &[(&str, &str)]) -> Result<Reply, Error> {
        self.check(url)?;
        // Credentials travel in a header, never in the request line (nor in logs).
        let first = basic_auth(url).or_else(|| self.stored_credentials(url));
        let mut authorization = first.clone();
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let reply = self.get_once(&current, headers, authorization.as_deref())?;
            let Some(location) = reply.location.as_deref() else {
                return Ok(reply.reply);
            };
            let next = current.join(location).map_err(|err| Error::Network {
                url: redact_url(current.as_str()),
                reason: format!("it redirects to `{location}`, which is not a URL: {err}"),
            })?;
            self.check_redirect(&current, &next)?;
            tracing::debug!(
                "{} redirects to {}",
                redact_url(current.as_str()),
                redact_url(next.as_str())
            );
            // A URL's own credentials go to its origin only; elsewhere those configured by host.
            authorization = if next.origin() == url.origin() {
                first.clone()
            } else {
                self.stored_credentials(&next)
            };
            current = next;
        }
        Err(Error::Network {
            url: redact_url(url.as_str()),
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// The first URL's rule: https, or plain http to loopback or a trusted host.
    fn check(&self, url: &Url) -> Result<(), Error> {
        let shown = redact_url(url.as_str());
        let host = url.host_str().unwrap_or_default().to_string();
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.is_trusted(url) || is_loopback(url) => Ok(()),
            "http" => Err(Error::Insecure { url: shown, host }),
            other => Err(Error::InvalidUrl {
                what: "download",
                url: shown,
                reason: format!("the scheme `{other}` is not http or https"),
                example: "https://pypi.org/simple/",
            }),
        }
    }

    /// Whether a redirect from `from` to `to` may be followed: `to` must pass the first URL's
    /// rule, and https never steps down to plain http except to a `--trusted-host` (not even
    /// to loopback: a remote index has no business sending us to this machine's services).
    fn check_redirect(&self, from: &Url, to: &Url) -> Result<(), Error> {
        let refused = |reason| Error::InsecureRedirect {
            from: redact_url(from.as_str()),
            to: redact_url(to.as_str()),
            host: to.host_str().unwrap_or_default().to_string(),
            reason,
        };
        match to.scheme() {
            "https" => Ok(()),
            "http" if from.scheme() == "https" && !self.is_trusted(to) => {
                Err(refused("from https down to plain http"))
            }
            "http" if self.is_trusted(to) || is_loopback(to) => Ok(()),
            "http" => Err(refused("plain http to a host that is not trusted")),
            _ => Err(refused("a scheme that is not http or https")),
        }
    }

    /// One request, redirects not followed (the agents follow none).
    fn get_once(
        &self,
        url: &Url,
        headers: &[(&str, &str)],
        authorization: Option<&str>,
    ) -> Result<Hop, Error> {
        let shown = redact_url(url.as_str());
        let mut clean = url.clone();
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        clean.set_fragment(None);
        let agent = if url.scheme() == "https" && self.is_trusted(url) {
            &self.unverified
        } else {
            &self.agent
        };
        tracing::debug!("GET {shown}");
        // A GET is idempotent and `call` returns before any byte of the body is read, so a
        // transient failure here can be retried whole.
        let mut retries = RETRY_BACKOFF.iter();
        let mut tries = 1;
        let response = loop {
            let mut request = agent.get(clean.as_str());
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            let err = match request.call() {
                Ok(response) => break response,
                Err(err) => err,
            };
            let reason = redact_url(&err.to_string());
            match retries.next() {
                Some(wait) if is_transient(&err) => {
                    tracing::warn!("GET {shown} failed ({reason}); retrying in {wait:?}");
                    std::thread::sleep(*wait);
                    tries += 1;
                }
                _ => {
                    let reason = if tries > 1 {
                        format!("{reason} (tried {tries} times)")
                    } else {
                        reason
                    };
                    return Err(Error::Network { url: shown, reason });
                }
            }
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let location = matches!(status, 301 | 302 | 303 | 307 | 308)
            .then(|| header("location"))
            .flatten();
        let content_type = header("content-type").unwrap_or_default();
        let content_range = header("content-range");
        let caching = Caching {
            cache_control: header("cache-control"),
            age: header("age"),
            etag: header("etag"),
            last_modified: header("last-modified"),
        };
        Ok(Hop {
            location,
            reply: Reply {
                status,
                url: clean,
                content_type,
                content_range,
                caching,
                body: response.into_body(),
            },
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

/// Whether a request that got no answer may succeed if tried again: the DNS server did not
/// answer in time, or the connection was refused, reset or closed before the answer's head.
/// A name that does not exist, a TLS or protocol error and timeouts (already long) are not.
fn is_transient(err: &ureq::Error) -> bool {
    use std::io::ErrorKind;
    let ureq::Error::Io(io) = err else {
        return false;
    };
    match io.kind() {
        ErrorKind::ConnectionRefused
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof
        | ErrorKind::NotConnected => true,
        // std reports a failed `getaddrinfo` by its message alone; EAI_AGAIN reads
        // "Temporary failure in name resolution" (glibc, musl; lower case on macOS).
        _ => io
            .to_string()
            .to_ascii_lowercase()
            .contains("temporary failure in name resolution"),
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    /// A loopback server giving `answers` (raw HTTP), one a connection, in order.
    fn canned_server(answers: Vec<String>) -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            for answer in answers {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Url::parse(&format!("http://127.0.0.1:{port}/simple/demo/")).unwrap()
    }

    fn redirect(to: &str) -> String {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    #[test]
    fn redirect_hops_keep_the_http_rule() {
        let client = client(&["intranet", "mirror:8080"], "https://pypi.org/simple/");
        for (from, to, allowed) in [
            (
                "https://pypi.org/simple/",
                "https://files.example/a.whl",
                true,
            ),
            (
                "https://pypi.org/simple/",
                "http://files.example/a.whl",
                false,
            ),
            // Down to plain http only to a host the user trusts; not even to loopback.
            ("https://pypi.org/simple/", "http://intranet/a.whl", true),
            ("https://pypi.org/simple/", "http://mirror:8080/a.whl", true),
            (
                "https://pypi.org/simple/",
                "http://mirror:8081/a.whl",
                false,
            ),
            (
                "https://pypi.org/simple/",
                "http://127.0.0.1:9/a.whl",
                false,
            ),
            (
                "http://127.0.0.1:1/simple/",
                "http://localhost:2/a.whl",
                true,
            ),
            (
                "http://127.0.0.1:1/simple/",
                "http://files.example/a.whl",
                false,
            ),
            ("http://intranet/simple/", "http://intranet:81/a.whl", true),
            (
                "http://intranet/simple/",
                "https://files.example/a.whl",
                true,
            ),
            ("https://pypi.org/simple/", "file:///etc/passwd", false),
            (
                "https://pypi.org/simple/",
                "ftp://files.example/a.whl",
                false,
            ),
        ] {
            let (from_url, to_url) = (Url::parse(from).unwrap(), Url::parse(to).unwrap());
            let result = client.check_redirect(&from_url, &to_url);
            assert_eq!(result.is_ok(), allowed, "{from} -> {to}: {result:?}");
        }
        let err = client
            .check_redirect(
                &Url::parse("https://u:secret@pypi.org/simple/").unwrap(),
                &Url::parse("http://u:secret@files.example/a.whl").unwrap(),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("from https down to plain http"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn redirects_are_followed_only_where_the_first_url_could_go() {
        let client = client(&[], "https://pypi.org/simple/");
        // A relative hop on loopback is followed; the reply names where it ended.
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        let url = canned_server(vec![redirect("/elsewhere/"), ok.to_string()]);
        let reply = client.get(&url, &[]).unwrap();
        assert_eq!(reply.url.path(), "/elsewhere/");
        assert_eq!(reply.bytes(10).unwrap(), b"ok");
        // A hop to plain http on a host that is not trusted is refused before any request.
        let url = canned_server(vec![redirect("http://mirror.invalid/simple/demo/")]);
        let err = client.get(&url, &[]).err().unwrap();
        assert!(matches!(err, Error::InsecureRedirect { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("http://mirror.invalid/simple/demo/"),
            "{message}"
        );
        assert!(
            message.contains("--trusted-host mirror.invalid"),
            "{message}"
        );
    }

    /// A loopback server that closes the first `drops` connections unanswered (after reading
    /// the request), then answers `ok`; and the count of connections it took.
    fn dropping_server(drops: usize) -> (Url, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                if counter.fetch_add(1, Ordering::SeqCst) < drops {
                    // Closed without a byte of answer.
                    drop(reader);
                    drop(stream);
                    continue;
                }
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/simple/demo/")).unwrap();
        (url, seen)
    }

    #[test]
    fn a_dropped_connection_is_retried() {
        let client = client(&[], "https://pypi.org/simple/");
        let (url, seen) = dropping_server(2);
        let reply = client.get(&url, &[]).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.bytes(10).unwrap(), b"ok");
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_server_that_always_drops_fails_after_the_retries() {
        let client = client(&[], "https://pypi.org/simple/");
        let (url, seen) = dropping_server(usize::MAX);
        let started = std::time::Instant::now();
        let err = client.get(&url, &[]).err().unwrap();
        let message = err.to_string();
        assert!(matches!(err, Error::Network { .. }), "{err:?}");
        assert!(message.contains("tried 4 times"), "{message}");
        assert!(message.contains(url.as_str()), "{message}");
        assert_eq!(seen.load(Ordering::SeqCst), 4);
        // The backoff was waited for, and no more.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1700), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }

    #[test]
    fn http_error_statuses_are_not_retried() {
        let client = client(&[], "https://pypi.org/simple/");
        let answer =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        // One answer only: a retry would find no server and fail instead of replying 503.
        let url = canned_server(vec![answer.to_string()]);
        let reply = client.get(&url, &[]).unwrap();
        assert_eq!(reply.status, 503);
        assert!(matches!(
            reply.success(),
            Err(Error::Status { status: 503, .. })
        ));
    }

    #[test]
    fn transient_failures_are_told_from_lasting_ones() {
        use std::io::{Error as IoError, ErrorKind};
        let io = |kind, message: &str| ureq::Error::Io(IoError::new(kind, message.to_string()));
        for transient in [
            io(ErrorKind::ConnectionRefused, "refused"),
            io(ErrorKind::ConnectionReset, "reset"),
            io(ErrorKind::UnexpectedEof, "closed"),
            io(
                ErrorKind::Other,
                "failed to lookup address information: Temporary failure in name resolution",
            ),
        ] {
            assert!(is_transient(&transient), "{transient}");
        }
        for lasting in [
            io(
                ErrorKind::Other,
                "failed to lookup address information: Name or service not known",
            ),
            io(ErrorKind::PermissionDenied, "denied"),
            ureq::Error::HostNotFound,
            ureq::Error::Timeout(ureq::Timeout::Connect),
            ureq::Error::ConnectionFailed,
        ] {
            assert!(!is_transient(&lasting), "{lasting}");
        }
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
