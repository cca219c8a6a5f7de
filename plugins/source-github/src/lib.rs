//! The GitHub source plugin: `gh:OWNER/REPO[@REF]` or `https://github.com/OWNER/REPO[/tree/REF]`,
//! fetched as the tarball of that ref through the GitHub API.
//!
//! The API base is `https://api.github.com` unless the `api-url` setting or `WAGON_GITHUB_API_URL`
//! names another (GitHub Enterprise: `https://HOST/api/v3`; tests: a loopback server). A token in
//! `GITHUB_TOKEN` is sent for private repositories.

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
    let (path, reference) = if let Some(rest) = spec.strip_prefix("gh:") {
        match rest.split_once('@') {
            Some((path, reference)) => (path, Some(reference.to_string())),
            None => (rest, None),
        }
    } else {
        let rest = spec
            .strip_prefix("https://github.com/")
            .or_else(|| spec.strip_prefix("http://github.com/"))?
            .trim_end_matches('/');
        match rest.split_once("/tree/") {
            Some((path, reference)) => (path, Some(reference.to_string())),
            None => (rest, None),
        }
    };
    let (owner, repo) = path.split_once('/')?;
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

impl Source for GithubSource {
    fn name(&self) -> &str {
        NAME
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
        let url = match &repo.reference {
            Some(reference) => format!(
                "{}/repos/{}/{}/tarball/{reference}",
                api.trim_end_matches('/'),
                repo.owner,
                repo.repo
            ),
            None => format!(
                "{}/repos/{}/{}/tarball",
                api.trim_end_matches('/'),
                repo.owner,
                repo.repo
            ),
        };
        let mut headers = vec![("Accept", "application/vnd.github+json".to_string())];
        if let Ok(token) = std::env::var("GITHUB_TOKEN") {
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        let tarball = request.work_dir.join("repository.tar.gz");
        wagon_source_url::download(&url, &headers, &tarball).map_err(|message| {
            if message.contains("HTTP 404") {
                fail(format!(
                    "GitHub has no repository {}/{} at {} ({url} answered 404); check the owner, \
                     the repository and the ref, and set GITHUB_TOKEN for a private repository",
                    repo.owner,
                    repo.repo,
                    repo.reference.as_deref().unwrap_or("its default branch")
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
        assert_eq!(parse("gh:just-a-name"), None);
        assert_eq!(parse("flask"), None);
    }
}
