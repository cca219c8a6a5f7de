//! A per-run DNS cache for the index client: each host and port is looked up once for the life of
//! the client, where ureq alone looks the name up again on every request, even over a pooled
//! connection (a warm create made 91 lookups over one TCP connection, and each lookup the system
//! resolver drops costs its 5 s timeout).
//!
//! It plugs into ureq through `ureq::unversioned::resolver::Resolver`, an API ureq marks as not
//! following semver: `tests::an_agent_looks_each_host_up_once` pins that ureq still asks it, so
//! a ureq update that changes the API or stops calling it fails there rather than silently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// One lookup's outcome, filled by the first request for its host.
type Slot = Arc<Mutex<Option<ResolvedSocketAddrs>>>;

/// Looks each `host:port` up once through `inner` and answers from memory afterwards. Clones
/// share the cache (the verified and the unverified agents of one client use one).
///
/// Only successes are kept: a failed lookup is tried afresh on the next request (the caller
/// retries transient failures). IP literals never reach the system resolver (std parses them),
/// so loopback addresses cost nothing either way.
#[derive(Debug, Clone)]
pub(crate) struct CachingResolver {
    inner: Arc<dyn Resolver>,
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

impl CachingResolver {
    /// A cache over ureq's own resolver (the system's `getaddrinfo`).
    pub fn new() -> CachingResolver {
        CachingResolver::over(DefaultResolver::default())
    }

    /// A cache over `inner`.
    pub fn over(inner: impl Resolver) -> CachingResolver {
        CachingResolver {
            inner: Arc::new(inner),
            slots: Arc::default(),
        }
    }
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority),
            _ => None,
        };
        // Not a full URL: the inner resolver says why.
        let Some(key) = key else {
            return self.inner.resolve(uri, config, timeout);
        };
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        // Held across the lookup, so threads asking for the same host at once wait for the
        // first one's answer instead of each asking the network.
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(addrs) = slot.as_ref() {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *slot = Some(addrs.clone());
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// ureq's resolver, counting the calls that reach it.
    #[derive(Debug, Default)]
    struct Counting {
        calls: Arc<AtomicUsize>,
    }

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            config: &Config,
            timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            DefaultResolver::default().resolve(uri, config, timeout)
        }
    }

    #[test]
    fn each_host_and_port_is_looked_up_once() {
        let counting = Counting::default();
        let calls = counting.calls.clone();
        let resolver = CachingResolver::over(counting);
        let shared = resolver.clone();
        let config = Config::default();
        let resolve = |resolver: &CachingResolver, uri: &str| {
            let uri: Uri = uri.parse().unwrap();
            let addrs = resolver
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap();
            addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>()
        };
        for path in ["/simple/a/", "/simple/b/", "/files/c.whl"] {
            let addrs = resolve(&resolver, &format!("http://127.0.0.1:8080{path}"));
            assert_eq!(addrs, ["127.0.0.1:8080"]);
        }
        // A clone shares the cache.
        resolve(&shared, "http://127.0.0.1:8080/again/");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another port, or another scheme's default port, is another entry.
        resolve(&resolver, "http://127.0.0.1:8081/");
        resolve(&resolver, "http://127.0.0.1/");
        resolve(&resolver, "https://127.0.0.1/");
        resolve(&resolver, "https://127.0.0.1:443/x");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_failed_lookup_is_not_kept() {
        /// Fails the first call, then answers.
        #[derive(Debug, Default)]
        struct FlakyOnce {
            calls: Arc<AtomicUsize>,
        }
        impl Resolver for FlakyOnce {
            fn resolve(
                &self,
                uri: &Uri,
                config: &Config,
                timeout: NextTimeout,
            ) -> Result<ResolvedSocketAddrs, ureq::Error> {
                if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(ureq::Error::HostNotFound);
                }
                DefaultResolver::default().resolve(uri, config, timeout)
            }
        }
        let flaky = FlakyOnce::default();
        let calls = flaky.calls.clone();
        let resolver = CachingResolver::over(flaky);
        let uri: Uri = "http://127.0.0.1:9/".parse().unwrap();
        let config = Config::default();
        let first = resolver.resolve(&uri, &config, NextTimeout::default());
        assert!(matches!(first, Err(ureq::Error::HostNotFound)));
        for _ in 0..3 {
            let addrs = resolver
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap();
            assert_eq!(addrs.len(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_agent_looks_each_host_up_once() {
        // Through a real agent on loopback, by name: ureq asks the resolver on every request
        // (the reason for this cache); the name reaches the system once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        let counting = Counting::default();
        let calls = counting.calls.clone();
        let config = Config::builder()
            .ip_family(ureq::config::IpFamily::Ipv4Only)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            CachingResolver::over(counting),
        );
        for path in ["a", "b", "c"] {
            let body = agent
                .get(&format!("http://localhost:{port}/{path}"))
                .call()
                .unwrap()
                .into_body()
                .read_to_string()
                .unwrap();
            assert_eq!(body, "ok");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
