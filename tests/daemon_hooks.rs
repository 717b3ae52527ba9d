//! What the webhooks mean: GitHub `push` and merged `pull_request`, GitLab
//! `Push Hook` and `Merge Request Hook`, through the real daemon. Pushes to
//! the default branch become one merged change per commit, with authors
//! mapped through the team's git identities; other branches, other repos,
//! unmerged requests and unknown events change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{Daemon, FRIDAY_0930_NY, Setup, TestEnv, pr_merged_body, try_github};

fn github(d: &Daemon, env: &TestEnv, event: &str, delivery: &str, body: &Value) -> Value {
    let r = try_github(
        d.addr,
        &env.setup.github_secret,
        event,
        delivery,
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert!(
        r.is_success(),
        "{event} {delivery}: {} {}",
        r.status,
        r.body
    );
    r.json()
}

fn gitlab(d: &Daemon, env: &TestEnv, event: &str, uuid: &str, body: &Value) -> Value {
    let r = d.http(
        "POST",
        "/hooks/gitlab",
        &[
            ("Content-Type", "application/json"),
            ("X-Gitlab-Event", event),
            ("X-Gitlab-Event-UUID", uuid),
            ("X-Gitlab-Token", &env.setup.gitlab_token),
        ],
        body.to_string().as_bytes(),
    );
    assert!(r.is_success(), "{event} {uuid}: {} {}", r.status, r.body);
    r.json()
}

/// (id, author, title) of each change waiting in `product`'s pool.
fn pool(d: &Daemon, product: &str) -> Vec<(String, String, String)> {
    d.status()["products"][product]["pool"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["author"].as_str().unwrap().to_owned(),
                c["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn change(id: &str, author: &str, title: &str) -> (String, String, String) {
    (id.to_owned(), author.to_owned(), title.to_owned())
}

#[test]
fn github_pushes_and_pull_requests_become_merged_changes() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    let push = |git_ref: &str, repo: &str| {
        json!({
            "ref": git_ref,
            "repository": { "full_name": repo },
            "commits": [
                {
                    "id": "0123456789abcdef0123456789abcdef01234567",
                    "message": "Faster login\n\nLong description that is not the title.",
                    "author": { "name": "Ana", "email": "ana@acme.example", "username": "someone-else" },
                },
                {
                    "id": "fedcba9876543210fedcba9876543210fedcba98",
                    "message": "Fix footer",
                    "author": { "name": "Ben K", "email": "ben@private.example", "username": "benk" },
                },
                {
                    "id": "aaaaaaaaaaaabbbbbbbbbbbbccccccccccccdddd",
                    "message": "Drive-by fix",
                    "author": { "name": "Visitor", "email": "visitor@elsewhere.example" },
                },
            ],
        })
    };
    // Not the default branch, not a product's repo: nothing.
    let r = github(
        &d,
        &env,
        "push",
        "p-1",
        &push("refs/heads/feature", "acme/web"),
    );
    assert_eq!(r["applied"], 0, "{r}");
    let r = github(
        &d,
        &env,
        "push",
        "p-2",
        &push("refs/heads/main", "acme/other"),
    );
    assert_eq!(r["applied"], 0, "{r}");
    let r = github(
        &d,
        &env,
        "ping",
        "p-3",
        &json!({ "zen": "Keep it simple." }),
    );
    assert_eq!(r["applied"], 0, "{r}");
    assert!(pool(&d, "web").is_empty());
    // The default branch: one change per commit, first line of the
    // message, authors by a known email, else the login, else as given.
    let r = github(
        &d,
        &env,
        "push",
        "p-4",
        &push("refs/heads/main", "acme/web"),
    );
    assert_eq!(r["applied"], 3, "{r}");
    assert_eq!(
        pool(&d, "web"),
        vec![
            change("0123456789ab", "ana", "Faster login"),
            change("fedcba987654", "ben", "Fix footer"),
            change("aaaaaaaaaaaa", "visitor@elsewhere.example", "Drive-by fix"),
        ]
    );
    // Merged pull requests into the default branch; closed unmerged ones
    // and ones into other branches are not changes.
    let r = github(&d, &env, "pull_request", "p-5", &{
        let mut b: Value =
            serde_json::from_slice(&pr_merged_body("acme/payments", 41, "clara-b", "SEPA"))
                .unwrap();
        b["pull_request"]["merged"] = json!(false);
        b
    });
    assert_eq!(r["applied"], 0, "{r}");
    let r = github(&d, &env, "pull_request", "p-6", &{
        let mut b: Value =
            serde_json::from_slice(&pr_merged_body("acme/payments", 42, "clara-b", "SEPA"))
                .unwrap();
        b["pull_request"]["base"]["ref"] = json!("release-1.x");
        b
    });
    assert_eq!(r["applied"], 0, "{r}");
    let body: Value = serde_json::from_slice(&pr_merged_body(
        "acme/payments",
        43,
        "clara-b",
        "SEPA mandates",
    ))
    .unwrap();
    let r = github(&d, &env, "pull_request", "p-7", &body);
    assert_eq!(r["applied"], 1, "{r}");
    assert_eq!(
        pool(&d, "payments"),
        vec![change("#43", "clara", "SEPA mandates")]
    );
    d.stop();
}

#[test]
fn gitlab_pushes_and_merge_requests_become_merged_changes() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    let push = |git_ref: &str| {
        json!({
            "object_kind": "push",
            "ref": git_ref,
            "project": { "path_with_namespace": "acme/web" },
            "commits": [
                {
                    "id": "1111111111112222222222223333333333334444",
                    "message": "Dark mode\n\nDetails.",
                    "author": { "name": "Clara", "email": "clara@acme.example" },
                },
                {
                    "id": "5555555555556666666666667777777777778888",
                    "message": "Typo",
                    "author": { "name": "Someone New" },
                },
            ],
        })
    };
    let r = gitlab(&d, &env, "Push Hook", "g-1", &push("refs/heads/feature"));
    assert_eq!(r["applied"], 0, "{r}");
    let r = gitlab(&d, &env, "Push Hook", "g-2", &push("refs/heads/main"));
    assert_eq!(r["applied"], 2, "{r}");
    assert_eq!(
        pool(&d, "web"),
        vec![
            change("111111111111", "clara", "Dark mode"),
            change("555555555555", "Someone New", "Typo"),
        ]
    );
    let mr = |action: &str, iid: u64| {
        json!({
            "object_kind": "merge_request",
            "user": { "username": "benk" },
            "project": { "path_with_namespace": "acme/payments" },
            "object_attributes": { "iid": iid, "title": "Card retry", "action": action, "target_branch": "main" },
        })
    };
    let r = gitlab(&d, &env, "Merge Request Hook", "g-3", &mr("open", 8));
    assert_eq!(r["applied"], 0, "{r}");
    let r = gitlab(&d, &env, "Merge Request Hook", "g-4", &mr("merge", 9));
    assert_eq!(r["applied"], 1, "{r}");
    assert_eq!(
        pool(&d, "payments"),
        vec![change("!9", "ben", "Card retry")]
    );
    d.stop();
}
