//! URLs as they may be shown: credentials masked.
//!
//! The masking is uv's (`uv-redacted`'s `DisplaySafeUrl`), pinned with the other `uv-*` crates;
//! this is the one module besides `python` that uses one of them, so an upgrade touches it too.

/// A URL as it may be shown or logged: a password (or a lone user name, often a token) replaced
/// by `****` (`https://user:****@host/`). Text with no `://` (a path, a requirement, `gh:o/r@v`)
/// holds no URL credentials and is shown as written; a PEP 508 `name @ URL` has its URL masked;
/// anything else that fails to parse is cut after its scheme.
pub fn redact_url(text: &str) -> String {
    match uv_redacted::DisplaySafeUrl::parse(text) {
        Ok(url) => url.to_string(),
        Err(_) if !text.contains("://") => text.to_string(),
        Err(_) => match text.split_once(" @ ") {
            Some((name, url)) => format!("{name} @ {}", redact_url(url.trim())),
            None => text.split_once("://").map_or_else(
                || "****".to_string(),
                |(scheme, _)| format!("{scheme}://****"),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_secrets() {
        assert_eq!(
            redact_url("https://bob:hunter2@pypi.corp/simple"),
            "https://bob:****@pypi.corp/simple"
        );
        assert_eq!(
            redact_url("https://ghp_token@pypi.corp/simple"),
            "https://****@pypi.corp/simple"
        );
        assert_eq!(
            redact_url("https://pypi.org/simple"),
            "https://pypi.org/simple"
        );
        assert_eq!(redact_url("--no-index"), "--no-index");
        assert_eq!(redact_url("http://a:b@c:d@[x"), "http://****");
        // No `://`, no URL credentials: paths and requirements are shown as written.
        assert_eq!(redact_url("./my@project"), "./my@project");
        assert_eq!(
            redact_url("gh:pallets/flask@3.0.3"),
            "gh:pallets/flask@3.0.3"
        );
        assert_eq!(
            redact_url("demo @ https://bob:hunter2@host/demo-1.0.tar.gz"),
            "demo @ https://bob:****@host/demo-1.0.tar.gz"
        );
    }
}
