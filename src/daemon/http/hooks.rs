//! Forge webhooks. The signature or token is checked in constant time
//! before the body is parsed; a delivery id makes redelivery harmless.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AppState, error, same_secret};
use crate::config::Config;
use crate::daemon::metrics::Endpoint;
use crate::engine::Event;
use crate::ledger::input::{Input, Merged};
use crate::ledger::to_event;

/// Checks `X-Hub-Signature-256: sha256=HEX` against HMAC-SHA256(secret, body).
pub fn github_signature_ok(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

#[derive(Debug, Deserialize)]
struct Repo {
    full_name: String,
}

#[derive(Debug, Deserialize)]
struct CommitAuthor {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PushCommit {
    id: String,
    #[serde(default)]
    message: String,
    author: CommitAuthor,
}

#[derive(Debug, Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    repository: Repo,
    #[serde(default)]
    commits: Vec<PushCommit>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct BaseRef {
    #[serde(rename = "ref")]
    git_ref: String,
}

#[derive(Debug, Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    title: String,
    user: User,
    base: BaseRef,
}

#[derive(Debug, Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: PullRequest,
    repository: Repo,
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// A merged change through the ledger's one input conversion (the author's
/// git identity becomes the person's name). The product comes from the
/// config, so it is always known; `None` only if it were not.
fn merged(
    config: &Config,
    product: &str,
    change: String,
    author: &str,
    title: String,
) -> Option<Event> {
    let input = Input::Merged(Merged {
        product: product.to_owned(),
        change,
        author: author.to_owned(),
        title,
    });
    match to_event(config, input) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!(error = %e, "a webhook named a product the config does not have");
            None
        }
    }
}

/// A push (GitHub or GitLab): one merged change per commit (`sha`,
/// message, who), when it went to the default branch of a product's repo.
fn push_events<'a>(
    config: &Config,
    repo: &str,
    git_ref: &str,
    commits: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Vec<Event> {
    let Some(product) = config.product_by_repo(repo) else {
        return Vec::new();
    };
    if git_ref != format!("refs/heads/{}", product.default_branch) {
        return Vec::new();
    }
    commits
        .filter_map(|(sha, message, who)| {
            merged(config, &product.name, short(sha), who, first_line(message))
        })
        .collect()
}

/// The engine events a GitHub delivery means (may be none).
fn github_events(s: &AppState, kind: &str, body: &[u8]) -> Result<Vec<Event>, String> {
    let config = &s.shared.config();
    match kind {
        "ping" => Ok(Vec::new()),
        "push" => {
            let push: Push =
                serde_json::from_slice(body).map_err(|e| format!("not a push payload: {e}"))?;
            let commits = push.commits.iter().map(|c| {
                let who = c
                    .author
                    .email
                    .as_deref()
                    .filter(|e| config.person_by_git(e).is_some())
                    .or(c.author.username.as_deref())
                    .or(c.author.email.as_deref())
                    .or(c.author.name.as_deref())
                    .unwrap_or("unknown");
                (c.id.as_str(), c.message.as_str(), who)
            });
            Ok(push_events(
                config,
                &push.repository.full_name,
                &push.git_ref,
                commits,
            ))
        }
        "pull_request" => {
            let ev: PullRequestEvent = serde_json::from_slice(body)
                .map_err(|e| format!("not a pull_request payload: {e}"))?;
            let Some(product) = config.product_by_repo(&ev.repository.full_name) else {
                return Ok(Vec::new());
            };
            if ev.action != "closed"
                || !ev.pull_request.merged
                || ev.pull_request.base.git_ref != product.default_branch
            {
                return Ok(Vec::new());
            }
            Ok(merged(
                config,
                &product.name,
                format!("#{}", ev.pull_request.number),
                &ev.pull_request.user.login,
                first_line(&ev.pull_request.title),
            )
            .into_iter()
            .collect())
        }
        "deployment_protection_rule" | "workflow_run" => {
            super::deployments::events(config, kind, body)
        }
        _ => Ok(Vec::new()),
    }
}

async fn submit(s: &AppState, key: &str, events: Vec<Event>) -> Response {
    let n = events.len();
    let items = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| (format!("{key}:{i}"), e))
        .collect::<Vec<_>>();
    if items.is_empty() {
        return axum::Json(serde_json::json!({ "applied": 0, "duplicates": 0, "note": "nothing to do for this delivery" }))
            .into_response();
    }
    let items = match unseen(s, items).await {
        Ok(items) => items,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    if items.is_empty() {
        return axum::Json(serde_json::json!({ "applied": 0, "duplicates": n })).into_response();
    }
    match s.shared.submit(items).await {
        Ok(results) => {
            let applied = results
                .iter()
                .filter(|r| matches!(r, crate::ledger::Applied::New { .. }))
                .count();
            axum::Json(serde_json::json!({ "applied": applied, "duplicates": n - applied }))
                .into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

/// The keyed events of a delivery without the merged changes the event log
/// already has for their product under another key (from an earlier
/// delivery, or from forge reconciliation): a change counts once even when
/// its webhook arrives after its RC left flight and the engine no longer
/// holds it. A redelivery (same key) still goes to the writer, which
/// ignores it and counts it as a duplicate.
async fn unseen(s: &AppState, items: Vec<(String, Event)>) -> Result<Vec<(String, Event)>, String> {
    let reader = s.shared.reader.lock().await;
    let mut out = Vec::with_capacity(items.len());
    for (key, e) in items {
        if let Event::Merged {
            product, change, ..
        } = &e
            && reader
                .merged_change_seen(product, std::slice::from_ref(change))
                .map_err(|e| e.to_string())?
            && !reader.event_exists(&key).map_err(|e| e.to_string())?
        {
            continue;
        }
        out.push((key, e));
    }
    Ok(out)
}

/// `POST /hooks/github`
pub async fn github(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = s.secrets.github_secret.as_ref() else {
        return error(
            StatusCode::NOT_FOUND,
            "the GitHub webhook is disabled: no `http.github_secret` is configured",
        );
    };
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !github_signature_ok(secret.expose().as_bytes(), &body, sig) {
        super::refused(&s, Endpoint::GitHub, "a missing or wrong signature");
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-Hub-Signature-256",
        );
    }
    let kind = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let delivery = match headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok())
    {
        Some(d) if !d.is_empty() => d.to_owned(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(&body))),
    };
    match github_events(&s, kind, &body) {
        Ok(events) => submit(&s, &format!("github:{delivery}"), events).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Debug, Deserialize)]
struct GlProject {
    path_with_namespace: String,
}

#[derive(Debug, Deserialize)]
struct GlCommitAuthor {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlCommit {
    id: String,
    #[serde(default)]
    message: String,
    author: GlCommitAuthor,
}

#[derive(Debug, Deserialize)]
struct GlPush {
    #[serde(rename = "ref")]
    git_ref: String,
    project: GlProject,
    #[serde(default)]
    commits: Vec<GlCommit>,
}

#[derive(Debug, Deserialize)]
struct GlUser {
    username: String,
}

#[derive(Debug, Deserialize)]
struct GlMrAttrs {
    iid: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    action: Option<String>,
    target_branch: String,
}

#[derive(Debug, Deserialize)]
struct GlMr {
    user: GlUser,
    project: GlProject,
    object_attributes: GlMrAttrs,
}

fn gitlab_events(s: &AppState, kind: &str, body: &[u8]) -> Result<Vec<Event>, String> {
    let config = &s.shared.config();
    match kind {
        "Push Hook" => {
            let push: GlPush =
                serde_json::from_slice(body).map_err(|e| format!("not a push payload: {e}"))?;
            let commits = push.commits.iter().map(|c| {
                let who = c
                    .author
                    .email
                    .as_deref()
                    .or(c.author.name.as_deref())
                    .unwrap_or("unknown");
                (c.id.as_str(), c.message.as_str(), who)
            });
            Ok(push_events(
                config,
                &push.project.path_with_namespace,
                &push.git_ref,
                commits,
            ))
        }
        "Merge Request Hook" => {
            let mr: GlMr = serde_json::from_slice(body)
                .map_err(|e| format!("not a merge request payload: {e}"))?;
            let Some(product) = config.product_by_repo(&mr.project.path_with_namespace) else {
                return Ok(Vec::new());
            };
            let a = &mr.object_attributes;
            if a.action.as_deref() != Some("merge") || a.target_branch != product.default_branch {
                return Ok(Vec::new());
            }
            Ok(merged(
                config,
                &product.name,
                format!("!{}", a.iid),
                &mr.user.username,
                first_line(&a.title),
            )
            .into_iter()
            .collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// `POST /hooks/gitlab`
pub async fn gitlab(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = s.secrets.gitlab_token.as_ref() else {
        return error(
            StatusCode::NOT_FOUND,
            "the GitLab webhook is disabled: no `http.gitlab_token` is configured",
        );
    };
    let presented = headers
        .get("x-gitlab-token")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    if presented.is_empty() || !same_secret(presented, token) {
        super::refused(&s, Endpoint::GitLab, "a missing or wrong token");
        return error(StatusCode::UNAUTHORIZED, "missing or wrong X-Gitlab-Token");
    }
    let kind = headers
        .get("x-gitlab-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let delivery = match headers
        .get("x-gitlab-event-uuid")
        .and_then(|v| v.to_str().ok())
    {
        Some(d) if !d.is_empty() => d.to_owned(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(&body))),
    };
    match gitlab_events(&s, kind, &body) {
        Ok(events) => submit(&s, &format!("gitlab:{delivery}"), events).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

#[cfg(test)]
mod tests {
    use super::github_signature_ok;

    /// GitHub's published example ("Validating webhook deliveries").
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_test_vector() {
        assert!(github_signature_ok(SECRET, BODY, Some(SIG)));
    }

    #[test]
    fn github_signature_refusals() {
        assert!(!github_signature_ok(SECRET, BODY, None), "missing header");
        assert!(
            !github_signature_ok(
                SECRET,
                BODY,
                Some("sha1=0123456789abcdef0123456789abcdef01234567")
            ),
            "sha1 only"
        );
        let mut one_digit = SIG.to_owned();
        one_digit.replace_range(SIG.len() - 1.., "8");
        assert!(
            !github_signature_ok(SECRET, BODY, Some(&one_digit)),
            "one changed hex digit"
        );
        assert!(
            !github_signature_ok(SECRET, b"Hello, World?", Some(SIG)),
            "one changed body byte"
        );
        assert!(
            !github_signature_ok(SECRET, BODY, Some("sha256=zz")),
            "not hex"
        );
    }
}
