//! The forges' REST APIs, as far as reconciliation and `doctor` need
//! them: the changes merged to a branch since a time, and whether a token
//! may read a repo.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::{Config, Forge, SecretString};

/// At most this many pages of 100 are read per listing.
const MAX_PAGES: u32 = 10;
const PER_PAGE: usize = 100;

/// A change merged to the default branch, as a forge lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// The change id the webhooks use: `#12` (GitHub pull request), `!7`
    /// (GitLab merge request), or a short commit id (a pushed commit).
    pub change: String,
    /// Other names the same change may have been seen under (the merge
    /// commit of a pull request, which a push webhook reports).
    pub aliases: Vec<String>,
    /// The git identity, mapped to a person like a webhook's.
    pub who: String,
    pub title: String,
    pub merged_at: DateTime<Utc>,
}

/// What a forge answered that reconciliation cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    #[error("the token was refused (HTTP {0})")]
    Unauthorized(u16),
    #[error("`{0}` was not found, or the token may not read it")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// One forge's API with a token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    pub forge: Forge,
    base: String,
    token: SecretString,
}

/// The short commit id webhooks use for a pushed commit.
pub fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn encode_path(repo: &str) -> String {
    let mut out = String::new();
    for b in repo.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_query(v: &str) -> String {
    encode_path(v)
}

#[derive(Debug, Deserialize)]
struct GhUser {
    login: String,
}

#[derive(Debug, Deserialize)]
struct GhBase {
    #[serde(rename = "ref")]
    git_ref: String,
}

#[derive(Debug, Deserialize)]
struct GhPull {
    number: u64,
    #[serde(default)]
    title: String,
    user: Option<GhUser>,
    merged_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    base: GhBase,
}

#[derive(Debug, Deserialize)]
struct GhGitPerson {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    date: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct GhGitCommit {
    #[serde(default)]
    message: String,
    author: Option<GhGitPerson>,
    committer: GhGitPerson,
}

#[derive(Debug, Deserialize)]
struct GhCommit {
    sha: String,
    commit: GhGitCommit,
    #[serde(default)]
    author: Option<GhUser>,
}

#[derive(Debug, Deserialize)]
struct GlUser {
    username: String,
}

#[derive(Debug, Deserialize)]
struct GlMr {
    iid: u64,
    #[serde(default)]
    title: String,
    author: Option<GlUser>,
    merged_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    squash_commit_sha: Option<String>,
}

impl Client {
    pub fn new(forge: Forge, base: &str, token: SecretString) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            http,
            forge,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<T, ForgeError> {
        let url = format!("{}{path}", self.base);
        let req = self.http.get(&url);
        let req = match self.forge {
            Forge::GitHub => req
                .bearer_auth(self.token.expose())
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28"),
            Forge::GitLab => req.header("PRIVATE-TOKEN", self.token.expose()),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| ForgeError::Other(format!("cannot reach {}: {e}", self.base)))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ForgeError::Unauthorized(status.as_u16()));
        }
        if status == StatusCode::NOT_FOUND {
            return Err(ForgeError::NotFound(what.to_owned()));
        }
        if !status.is_success() {
            return Err(ForgeError::Other(format!("{url} answered HTTP {status}")));
        }
        resp.json::<T>()
            .await
            .map_err(|e| ForgeError::Other(format!("{url}: unexpected answer: {e}")))
    }

    /// Whether the token may read `repo` (`doctor`).
    pub async fn check_repo(&self, repo: &str) -> Result<(), ForgeError> {
        let path = match self.forge {
            Forge::GitHub => format!("/repos/{repo}"),
            Forge::GitLab => format!("/api/v4/projects/{}", encode_path(repo)),
        };
        self.get::<serde_json::Value>(&path, repo).await.map(|_| ())
    }

    /// The changes merged to `branch` of `repo` after `since`, oldest
    /// first, and the newest merge time listed (the next cursor). With no
    /// `since`, only the newest merge time (a first run takes stock).
    pub async fn merged_since(
        &self,
        config: &Config,
        repo: &str,
        branch: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<(Vec<Merge>, Option<DateTime<Utc>>), ForgeError> {
        let mut merges = match self.forge {
            Forge::GitHub => self.github(config, repo, branch, since).await?,
            Forge::GitLab => self.gitlab(repo, branch, since).await?,
        };
        merges.sort_by_key(|m| m.merged_at);
        let newest = merges.last().map(|m| m.merged_at);
        match since {
            None => Ok((Vec::new(), newest)),
            Some(t) => {
                merges.retain(|m| m.merged_at > t);
                Ok((merges, newest))
            }
        }
    }

    async fn github(
        &self,
        config: &Config,
        repo: &str,
        branch: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Merge>, ForgeError> {
        let mut out = Vec::new();
        let mut pr_commits = std::collections::BTreeSet::new();
        let pages = if since.is_some() { MAX_PAGES } else { 1 };
        'pulls: for page in 1..=pages {
            let pulls: Vec<GhPull> = self
                .get(
                    &format!(
                        "/repos/{repo}/pulls?state=closed&base={}&sort=updated&direction=desc&per_page={PER_PAGE}&page={page}",
                        encode_query(branch)
                    ),
                    repo,
                )
                .await?;
            let n = pulls.len();
            for p in pulls {
                if since.is_some_and(|t| p.updated_at < t) {
                    break 'pulls;
                }
                let Some(merged_at) = p.merged_at else {
                    continue;
                };
                if p.base.git_ref != branch {
                    continue;
                }
                let aliases = p.merge_commit_sha.iter().map(|s| short(s)).collect();
                if let Some(sha) = &p.merge_commit_sha {
                    pr_commits.insert(sha.clone());
                }
                out.push(Merge {
                    change: format!("#{}", p.number),
                    aliases,
                    who: p.user.map_or_else(|| "unknown".to_owned(), |u| u.login),
                    title: first_line(&p.title),
                    merged_at,
                });
            }
            if n < PER_PAGE {
                break;
            }
        }
        let since_q = since
            .map(|t| {
                format!(
                    "&since={}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
            .unwrap_or_default();
        for page in 1..=pages {
            let commits: Vec<GhCommit> = self
                .get(
                    &format!(
                        "/repos/{repo}/commits?sha={}{since_q}&per_page={PER_PAGE}&page={page}",
                        encode_query(branch)
                    ),
                    repo,
                )
                .await?;
            let n = commits.len();
            for c in commits {
                if pr_commits.contains(&c.sha)
                    || since.is_some_and(|t| c.commit.committer.date <= t)
                {
                    continue;
                }
                if since.is_none() {
                    // Taking stock: only the time matters.
                    out.push(Merge {
                        change: short(&c.sha),
                        aliases: Vec::new(),
                        who: String::new(),
                        title: String::new(),
                        merged_at: c.commit.committer.date,
                    });
                    continue;
                }
                // A commit a merged pull request brought is that request.
                let pulls: Vec<GhPull> = self
                    .get(&format!("/repos/{repo}/commits/{}/pulls", c.sha), repo)
                    .await?;
                if pulls
                    .iter()
                    .any(|p| p.merged_at.is_some() && p.base.git_ref == branch)
                {
                    continue;
                }
                let author = c.commit.author.as_ref();
                let email = author.and_then(|a| a.email.as_deref());
                let who = email
                    .filter(|e| config.person_by_git(e).is_some())
                    .or(c.author.as_ref().map(|u| u.login.as_str()))
                    .or(email)
                    .or(author.and_then(|a| a.name.as_deref()))
                    .unwrap_or("unknown")
                    .to_owned();
                out.push(Merge {
                    change: short(&c.sha),
                    aliases: Vec::new(),
                    who,
                    title: first_line(&c.commit.message),
                    merged_at: c.commit.committer.date,
                });
            }
            if n < PER_PAGE {
                break;
            }
        }
        Ok(out)
    }

    async fn gitlab(
        &self,
        repo: &str,
        branch: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Merge>, ForgeError> {
        let mut out = Vec::new();
        let pages = if since.is_some() { MAX_PAGES } else { 1 };
        'pages: for page in 1..=pages {
            let mrs: Vec<GlMr> = self
                .get(
                    &format!(
                        "/api/v4/projects/{}/merge_requests?state=merged&target_branch={}&order_by=updated_at&sort=desc&per_page={PER_PAGE}&page={page}",
                        encode_path(repo),
                        encode_query(branch)
                    ),
                    repo,
                )
                .await?;
            let n = mrs.len();
            for m in mrs {
                if since.is_some_and(|t| m.updated_at < t) {
                    break 'pages;
                }
                let aliases = m
                    .merge_commit_sha
                    .iter()
                    .chain(m.squash_commit_sha.iter())
                    .map(|s| short(s))
                    .collect();
                out.push(Merge {
                    change: format!("!{}", m.iid),
                    aliases,
                    who: m
                        .author
                        .map_or_else(|| "unknown".to_owned(), |u| u.username),
                    title: first_line(&m.title),
                    merged_at: m.merged_at.unwrap_or(m.updated_at),
                });
            }
            if n < PER_PAGE {
                break;
            }
        }
        Ok(out)
    }
}
