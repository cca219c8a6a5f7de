//! The GitHub source plugin: `gh:OWNER/REPO[@REF]` or `https://github.com/OWNER/REPO[/tree/REF]`,
//! fetched as the tarball of that ref through the GitHub API.
//!
//! The API base is `https://api.github.com` unless the `api-url` setting or `WAGON_GITHUB_API_URL`
//! names another (GitHub Enterprise: `https://HOST/api/v3`; tests: a loopback server). A token in
//! `GITHUB_TOKEN` is sent for private repositories.

use url::Url;
use wagon_core::plugin::{FetchRequest, Fetched, Source, SourceError};

/// Fetches repositories from GitHub.
#[derive(Debug, Default, Clone, Copy)]
pub struct GithubSource;

const NAME: &str = "github";
const DEFAULT_API: &str = "https://api.github.com";

/// A repository at a ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub repo: String,
    pub reference: Option<String>,
}

/// Parses the spellings users write; `None` when `spec` is not a GitHub source.
pub fn parse(spec: &str) -> Option<RepoRef> {
    let (owner, repo, reference) = if let Some(rest) = spec.strip_prefix("gh:") {
        let (path, reference) = match rest.split_once('@') {
            Some((path, reference)) => (path, Some(reference.to_string())),
            None => (rest, None),
        };
        let (owner, repo) = path.split_once('/')?;
        (owner.to_string(), repo.to_string(), reference)
    } else {
        let url = Url::parse(spec).ok()?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str() != Some("github.com") {
            return None;
        }
        let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [owner, repo] => (owner.to_string(), repo.to_string(), None),
            [owner, repo, "tree", reference @ ..] if !reference.is_empty() => (
                owner.to_string(),
                repo.to_string(),
                Some(reference.join("/")),
            ),
            _ => return None,
        }
    };
    let (owner, repo) = (owner.as_str(), repo.as_str());
    let repo = repo.trim_end_matches(".git");
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (valid(owner) && valid(repo)).then(|| RepoRef {
        owner: owner.to_string(),
        repo: repo.to_string(),
        reference: reference.filter(|r| !r.is_empty()),
    })
}

/// `API/repos/OWNER/REPO/tarball[/REF]`, each part percent-encoded as a path segment (a ref's
/// `/` kept as a separator, as GitHub takes it).
fn tarball_url(api: &str, repo: &RepoRef) -> Option<Url> {
    let mut url = Url::parse(api).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    {
        let mut segments = url.path_segments_mut().ok()?;
        segments
            .pop_if_empty()
            .extend(["repos", &repo.owner, &repo.repo, "tarball"]);
        if let Some(reference) = &repo.reference {
            segments.extend(reference.split('/'));
        }
    }
    Some(url)
}

impl Source for GithubSource {
    fn name(&self) -> &str {
        NAME
    }

    fn schemes(&self) -> &[&str] {
        &["gh"]
    }

    fn claims(&self, spec: &str) -> bool {
        spec.starts_with("gh:")
            || spec.starts_with("https://github.com/")
            || spec.starts_with("http://github.com/")
    }

    fn fetch(&self, request: &FetchRequest<'_>) -> Result<Fetched, SourceError> {
        let spec = request.spec;
        let fail = |message: String| SourceError::new(NAME, spec, message);
        let repo = parse(spec).ok_or_else(|| {
            fail(
                "expected gh:OWNER/REPO[@REF] or https://github.com/OWNER/REPO[/tree/REF]"
                    .to_string(),
            )
        })?;
        let api = request
            .settings
            .get("api-url")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .or_else(|| std::env::var("WAGON_GITHUB_API_URL").ok())
            .unwrap_or_else(|| DEFAULT_API.to_string());
        let url = tarball_url(&api, &repo).ok_or_else(|| {
            fail(format!(
                "the GitHub API address `{}` is not an http(s) URL",
                wagon_core::redact::redact_url(&api)
            ))
        })?;
        let url = url.as_str();
        let mut headers = vec![("Accept", "application/vnd.github+json".to_string())];
        if let Ok(token) = std::env::var("GITHUB_TOKEN") {
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        let tarball = request.work_dir.join("repository.tar.gz");
        wagon_source_url::download(url, &headers, &tarball).map_err(|message| {
            if message.contains("HTTP 404") {
                fail(format!(
                    "GitHub has no repository {}/{} at {} ({} answered 404); check the owner, \
                     the repository and the ref, and set GITHUB_TOKEN for a private repository",
                    repo.owner,
                    repo.repo,
                    repo.reference.as_deref().unwrap_or("its default branch"),
                    wagon_core::redact::redact_url(url)
                ))
            } else {
                fail(message)
            }
        })?;
        wagon_core::archive::unpack_project(
            &tarball,
            request.registry,
            request.limits,
            &request.work_dir.join("unpacked"),
        )
        .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_users_write() {
        let expect = |owner: &str, repo: &str, reference: Option<&str>| {
            Some(RepoRef {
                owner: owner.into(),
                repo: repo.into(),
                reference: reference.map(Into::into),
            })
        };
        assert_eq!(parse("gh:pallets/flask"), expect("pallets", "flask", None));
        assert_eq!(
            parse("gh:pallets/flask@3.0.3"),
            expect("pallets", "flask", Some("3.0.3"))
        );
        assert_eq!(
            parse("https://github.com/pallets/flask"),
            expect("pallets", "flask", None)
        );
        assert_eq!(
            parse("https://github.com/pallets/flask.git"),
            expect("pallets", "flask", None)
        );
        assert_eq!(
            parse("https://github.com/pallets/flask/tree/main"),
            expect("pallets", "flask", Some("main"))
        );
        assert_eq!(
            parse("https://github.com/pallets/flask/tree/feature/x?tab=1"),
            expect("pallets", "flask", Some("feature/x"))
        );
        assert_eq!(parse("https://github.com.evil/pallets/flask"), None);
        assert_eq!(parse("https://github.com/pallets/flask/blob/main"), None);
        assert_eq!(parse("gh:just-a-name"), None);
        assert_eq!(parse("flask"), None);
    }

    #[test]
    fn tarball_urls_keep_the_api_path_and_encode_the_ref() {
        let repo = |reference: Option<&str>| RepoRef {
            owner: "o".into(),
            repo: "r".into(),
            reference: reference.map(Into::into),
        };
        let url = |api: &str, reference| tarball_url(api, &repo(reference)).map(String::from);
        assert_eq!(
            url("https://ghe.corp/api/v3/", Some("feature/x")).as_deref(),
            Some("https://ghe.corp/api/v3/repos/o/r/tarball/feature/x")
        );
        assert_eq!(
            url("http://127.0.0.1:9", Some("v1?#")).as_deref(),
            Some("http://127.0.0.1:9/repos/o/r/tarball/v1%3F%23")
        );
        assert_eq!(url("ftp://x", None), None);
    }
}
