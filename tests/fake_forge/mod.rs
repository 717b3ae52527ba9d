//! A fake GitHub and a fake GitLab REST API (axum, in the test process),
//! as far as forge reconciliation and `doctor` read them:
//!
//! - GitHub: `GET /repos/{owner}/{repo}`, `.../pulls` (`state=closed`,
//!   `base`, newest updated first, `per_page`/`page`), `.../commits` (`sha`,
//!   `since`), `.../commits/{sha}/pulls`. `Authorization: Bearer TOKEN`.
//! - GitLab: `GET /api/v4/projects/{id}` and `.../merge_requests`
//!   (`state=merged`, `target_branch`), with `{id}` the URL-encoded path.
//!   `PRIVATE-TOKEN: TOKEN`.
//!
//! A wrong or missing token gets 401, an unknown repo 404. Every request
//! path is recorded.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub const GITHUB_TOKEN: &str = "fake-github-api-token";
pub const GITLAB_TOKEN: &str = "fake-gitlab-api-token";

#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub login: String,
    pub base: String,
    pub merged_at: Option<String>,
    pub merge_commit_sha: String,
}

#[derive(Debug, Clone)]
pub struct Commit {
    pub sha: String,
    pub message: String,
    pub email: String,
    pub date: String,
    /// The pull request that brought it, if any.
    pub pull: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Mr {
    pub iid: u64,
    pub title: String,
    pub username: String,
    pub target: String,
    pub merged_at: String,
}

#[derive(Default)]
struct Data {
    pulls: HashMap<String, Vec<Pull>>,
    commits: HashMap<String, Vec<Commit>>,
    mrs: HashMap<String, Vec<Mr>>,
    requests: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    data: Arc<Mutex<Data>>,
}

/// The running fake; dropped with the test's runtime.
pub struct FakeForge {
    pub addr: SocketAddr,
    data: Arc<Mutex<Data>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeForge {
    /// Starts both APIs on one port, on a runtime of their own (the tests
    /// that use it are synchronous).
    pub fn start() -> FakeForge {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let data = Arc::new(Mutex::new(Data::default()));
        let fake = Fake { data: data.clone() };
        let app = Router::new()
            .route("/repos/{owner}/{repo}", get(gh_repo))
            .route("/repos/{owner}/{repo}/pulls", get(gh_pulls))
            .route("/repos/{owner}/{repo}/commits", get(gh_commits))
            .route(
                "/repos/{owner}/{repo}/commits/{sha}/pulls",
                get(gh_commit_pulls),
            )
            .route("/api/v4/projects/{id}", get(gl_project))
            .route("/api/v4/projects/{id}/merge_requests", get(gl_mrs))
            .with_state(fake);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeForge {
            addr,
            data,
            _runtime: runtime,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes `repo` known to GitHub (with nothing merged yet).
    pub fn github_repo(&self, repo: &str) {
        let mut d = self.data.lock().unwrap();
        d.pulls.entry(repo.to_owned()).or_default();
        d.commits.entry(repo.to_owned()).or_default();
    }

    /// A merged pull request and its merge commit on `main`.
    pub fn github_merge(&self, repo: &str, number: u64, login: &str, title: &str, at: &str) {
        let sha = format!("{number:0>4}{}", "ab".repeat(18));
        let mut d = self.data.lock().unwrap();
        d.pulls.entry(repo.to_owned()).or_default().push(Pull {
            number,
            title: title.to_owned(),
            login: login.to_owned(),
            base: "main".to_owned(),
            merged_at: Some(at.to_owned()),
            merge_commit_sha: sha.clone(),
        });
        d.commits.entry(repo.to_owned()).or_default().push(Commit {
            sha,
            message: format!("Merge pull request #{number}\n\n{title}"),
            email: "noreply@github.example".to_owned(),
            date: at.to_owned(),
            pull: Some(number),
        });
    }

    /// A commit pushed straight to `main`.
    pub fn github_push(&self, repo: &str, sha: &str, email: &str, message: &str, at: &str) {
        self.data
            .lock()
            .unwrap()
            .commits
            .entry(repo.to_owned())
            .or_default()
            .push(Commit {
                sha: sha.to_owned(),
                message: message.to_owned(),
                email: email.to_owned(),
                date: at.to_owned(),
                pull: None,
            });
    }

    /// Makes `repo` known to GitLab.
    pub fn gitlab_repo(&self, repo: &str) {
        self.data
            .lock()
            .unwrap()
            .mrs
            .entry(repo.to_owned())
            .or_default();
    }

    /// A merge request merged into `main`.
    pub fn gitlab_merge(&self, repo: &str, iid: u64, username: &str, title: &str, at: &str) {
        self.data
            .lock()
            .unwrap()
            .mrs
            .entry(repo.to_owned())
            .or_default()
            .push(Mr {
                iid,
                title: title.to_owned(),
                username: username.to_owned(),
                target: "main".to_owned(),
                merged_at: at.to_owned(),
            });
    }

    /// Paths (with queries) asked for, in order.
    pub fn requests(&self) -> Vec<String> {
        self.data.lock().unwrap().requests.clone()
    }
}

fn record(f: &Fake, what: String) {
    f.data.lock().unwrap().requests.push(what);
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Bad credentials"})),
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response()
}

fn github_ok(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {GITHUB_TOKEN}").as_str())
}

fn gitlab_ok(h: &HeaderMap) -> bool {
    h.get("private-token").and_then(|v| v.to_str().ok()) == Some(GITLAB_TOKEN)
}

fn page<T: Clone>(items: &[T], q: &HashMap<String, String>) -> Vec<T> {
    let per: usize = q.get("per_page").and_then(|v| v.parse().ok()).unwrap_or(30);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    items
        .iter()
        .skip(per * page.saturating_sub(1))
        .take(per)
        .cloned()
        .collect()
}

fn pull_json(p: &Pull) -> Value {
    json!({
        "number": p.number,
        "title": p.title,
        "user": {"login": p.login},
        "state": "closed",
        "merged_at": p.merged_at,
        "updated_at": p.merged_at,
        "merge_commit_sha": p.merge_commit_sha,
        "base": {"ref": p.base},
    })
}

async fn gh_repo(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    record(&f, format!("GET /repos/{owner}/{repo}"));
    if !github_ok(&h) {
        return unauthorized();
    }
    let full = format!("{owner}/{repo}");
    if !f.data.lock().unwrap().pulls.contains_key(&full) {
        return not_found();
    }
    Json(json!({"full_name": full, "default_branch": "main"})).into_response()
}

async fn gh_pulls(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    record(&f, format!("GET /repos/{owner}/{repo}/pulls"));
    if !github_ok(&h) {
        return unauthorized();
    }
    let d = f.data.lock().unwrap();
    let Some(pulls) = d.pulls.get(&format!("{owner}/{repo}")) else {
        return not_found();
    };
    let mut pulls: Vec<Pull> = pulls
        .iter()
        .filter(|p| q.get("base").is_none_or(|b| *b == p.base))
        .cloned()
        .collect();
    pulls.sort_by(|a, b| b.merged_at.cmp(&a.merged_at));
    Json(page(&pulls, &q).iter().map(pull_json).collect::<Vec<_>>()).into_response()
}

async fn gh_commits(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    record(&f, format!("GET /repos/{owner}/{repo}/commits"));
    if !github_ok(&h) {
        return unauthorized();
    }
    let d = f.data.lock().unwrap();
    let Some(commits) = d.commits.get(&format!("{owner}/{repo}")) else {
        return not_found();
    };
    // RFC 3339 UTC with `Z` compares as text.
    let mut commits: Vec<Commit> = commits
        .iter()
        .filter(|c| q.get("since").is_none_or(|s| c.date.as_str() >= s.as_str()))
        .cloned()
        .collect();
    commits.sort_by(|a, b| b.date.cmp(&a.date));
    let out: Vec<Value> = page(&commits, &q)
        .iter()
        .map(|c| {
            json!({
                "sha": c.sha,
                "commit": {
                    "message": c.message,
                    "author": {"email": c.email, "name": c.email, "date": c.date},
                    "committer": {"email": c.email, "name": c.email, "date": c.date},
                },
                "author": null,
            })
        })
        .collect();
    Json(out).into_response()
}

async fn gh_commit_pulls(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((owner, repo, sha)): Path<(String, String, String)>,
) -> Response {
    record(&f, format!("GET /repos/{owner}/{repo}/commits/{sha}/pulls"));
    if !github_ok(&h) {
        return unauthorized();
    }
    let d = f.data.lock().unwrap();
    let full = format!("{owner}/{repo}");
    let Some(commit) = d
        .commits
        .get(&full)
        .and_then(|cs| cs.iter().find(|c| c.sha == sha))
    else {
        return not_found();
    };
    let pulls: Vec<Value> = d
        .pulls
        .get(&full)
        .into_iter()
        .flatten()
        .filter(|p| Some(p.number) == commit.pull)
        .map(pull_json)
        .collect();
    Json(pulls).into_response()
}

async fn gl_project(State(f): State<Fake>, h: HeaderMap, Path(id): Path<String>) -> Response {
    record(&f, format!("GET /api/v4/projects/{id}"));
    if !gitlab_ok(&h) {
        return unauthorized();
    }
    if !f.data.lock().unwrap().mrs.contains_key(&id) {
        return not_found();
    }
    Json(json!({"path_with_namespace": id, "default_branch": "main"})).into_response()
}

async fn gl_mrs(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    record(&f, format!("GET /api/v4/projects/{id}/merge_requests"));
    if !gitlab_ok(&h) {
        return unauthorized();
    }
    let d = f.data.lock().unwrap();
    let Some(mrs) = d.mrs.get(&id) else {
        return not_found();
    };
    let mut mrs: Vec<Mr> = mrs
        .iter()
        .filter(|m| q.get("target_branch").is_none_or(|b| *b == m.target))
        .cloned()
        .collect();
    mrs.sort_by(|a, b| b.merged_at.cmp(&a.merged_at));
    let out: Vec<Value> = page(&mrs, &q)
        .iter()
        .map(|m| {
            json!({
                "iid": m.iid,
                "title": m.title,
                "author": {"username": m.username},
                "state": "merged",
                "merged_at": m.merged_at,
                "updated_at": m.merged_at,
                "merge_commit_sha": format!("{:0>4}{}", m.iid, "cd".repeat(18)),
                "squash_commit_sha": null,
                "target_branch": m.target,
            })
        })
        .collect();
    Json(out).into_response()
}
