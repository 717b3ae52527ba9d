//! Forge reconciliation through the real daemon, against a fake GitHub
//! and a fake GitLab (`tests/fake_forge`): what was merged while shipgate
//! was stopped is in the next RC after a restart, exactly once, even when
//! its webhook arrives late too; a first run only takes stock.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_forge;
mod support;

use std::time::{Duration, Instant};

use fake_forge::{FakeForge, GITHUB_TOKEN, GITLAB_TOKEN};
use serde_json::Value;
use support::{Daemon, FRIDAY_0930_NY, Setup, TestEnv, WAIT, pr_merged_body, try_github};

/// A test team whose `web` is on the fake GitHub and `payments` on the
/// fake GitLab.
fn env_with_forges(forge: &FakeForge) -> TestEnv {
    let env = TestEnv::new(Setup::default());
    let secrets = env.dir.path().join("secrets");
    std::fs::write(secrets.join("github-api"), format!("{GITHUB_TOKEN}\n")).unwrap();
    std::fs::write(secrets.join("gitlab-api"), format!("{GITLAB_TOKEN}\n")).unwrap();
    let path = env.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let base = forge.base();
    let reconcile = format!(
        r#"reconcile: (
        interval_secs: 3600,
        github: (token: File("secrets/github-api"), api_base: "{base}", repos: ["acme/web"]),
        gitlab: (token: File("secrets/gitlab-api"), api_base: "{base}", repos: ["acme/payments"]),
    ),
    products: ["#
    );
    std::fs::write(&path, text.replacen("products: [", &reconcile, 1)).unwrap();
    env
}

/// The ids of the changes waiting in `product`'s pool.
fn pool(d: &Daemon, product: &str) -> Vec<String> {
    ids(&d.status()["products"][product]["pool"])
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            c["id"]
                .as_str()
                .or(c["change"]["id"].as_str())
                .unwrap_or_else(|| panic!("no id in {c}"))
                .to_owned()
        })
        .collect()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The forge cursors stored: `FORGE:REPO` -> time.
fn cursors(env: &TestEnv) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        env.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn
        .prepare("SELECT key, cursor FROM chat_cursors WHERE adapter = 'forge' ORDER BY key")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Waits until both repos' cursors are stored.
fn wait_cursors(env: &TestEnv, what: &str, f: impl Fn(&[(String, String)]) -> bool) {
    wait_until(what, || {
        let c = cursors(env);
        c.len() == 2 && f(&c)
    });
}

/// Waits until both repos were listed `n` times in all.
fn wait_listed(forge: &FakeForge, n: usize) {
    wait_until("the forges to be listed", || {
        let r = forge.requests();
        let gh = r.iter().filter(|p| p.ends_with("acme/web/pulls")).count();
        let gl = r
            .iter()
            .filter(|p| {
                p.ends_with("acme%2Fpayments/merge_requests")
                    || p.ends_with("acme/payments/merge_requests")
            })
            .count();
        gh >= n && gl >= n
    });
}

#[test]
fn merges_while_stopped_are_in_the_next_rc_exactly_once() {
    let forge = FakeForge::start();
    forge.github_repo("acme/web");
    forge.gitlab_repo("acme/payments");
    // History before shipgate ever ran: taken stock of, not ingested.
    forge.github_merge(
        "acme/web",
        1,
        "ana-acme",
        "Old history",
        "2026-03-01T10:00:00Z",
    );
    forge.gitlab_merge(
        "acme/payments",
        1,
        "clara-b",
        "Old MR",
        "2026-03-01T10:00:00Z",
    );
    let env = env_with_forges(&forge);

    let d = env.start(FRIDAY_0930_NY);
    wait_listed(&forge, 1);
    wait_cursors(&env, "the stock-take", |_| true);
    assert_eq!(
        cursors(&env),
        [
            (
                "github:acme/web".to_owned(),
                "2026-03-01T10:00:00Z".to_owned()
            ),
            (
                "gitlab:acme/payments".to_owned(),
                "2026-03-01T10:00:00Z".to_owned()
            ),
        ]
    );
    assert!(pool(&d, "web").is_empty(), "{:?}", pool(&d, "web"));
    assert!(pool(&d, "payments").is_empty());
    d.stop();

    // While shipgate is down: a pull request, a direct push, a merge request.
    forge.github_merge("acme/web", 2, "benk", "Dark mode", "2026-03-13T12:00:00Z");
    forge.github_push(
        "acme/web",
        "fedcba9876543210fedcba9876543210fedcba98",
        "clara@acme.example",
        "Hotfix typo\n\nbody",
        "2026-03-13T12:30:00Z",
    );
    forge.gitlab_merge(
        "acme/payments",
        2,
        "clara-b",
        "Refunds",
        "2026-03-13T12:10:00Z",
    );

    let mut d = env.start(FRIDAY_0930_NY);
    wait_until("the missed merges to be ingested", || {
        pool(&d, "web").len() == 2 && pool(&d, "payments").len() == 1
    });
    assert_eq!(pool(&d, "web"), ["#2", "fedcba987654"]);
    assert_eq!(pool(&d, "payments"), ["!2"]);
    let status = d.status();
    let web_pool = status["products"]["web"]["pool"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(web_pool[0]["author"], "ben", "git login mapped to a person");
    assert_eq!(
        web_pool[1]["author"], "clara",
        "commit email mapped to a person"
    );
    assert_eq!(web_pool[1]["title"], "Hotfix typo");

    // GitHub's delivery of #2 arrives late: the same change, counted once.
    let late = try_github(
        d.addr,
        &env.setup.github_secret,
        "pull_request",
        "late-delivery-2",
        &pr_merged_body("acme/web", 2, "benk", "Dark mode"),
    )
    .unwrap();
    assert!(late.is_success(), "{} {}", late.status, late.body);
    assert_eq!(pool(&d, "web"), ["#2", "fedcba987654"]);

    d.type_line("!sg rc request after the outage");
    let cut = d.expect_stdout("RC #1 for web is cut");
    assert_eq!(cut.matches("#2 Dark mode").count(), 1, "{cut}");
    assert!(!cut.contains("Old history"), "{cut}");
    let current = ids(&d.status()["products"]["web"]["current"]["changes"]);
    assert_eq!(current, ["#2", "fedcba987654"]);

    // Another late delivery after the cut, then a restart: still once.
    let again = try_github(
        d.addr,
        &env.setup.github_secret,
        "pull_request",
        "late-delivery-2-again",
        &pr_merged_body("acme/web", 2, "benk", "Dark mode"),
    )
    .unwrap();
    assert!(again.is_success());
    d.stop();
    assert_eq!(
        cursors(&env),
        [
            (
                "github:acme/web".to_owned(),
                "2026-03-13T12:30:00Z".to_owned()
            ),
            (
                "gitlab:acme/payments".to_owned(),
                "2026-03-13T12:10:00Z".to_owned()
            ),
        ]
    );
    let before = forge.requests().len();
    let d = env.start(FRIDAY_0930_NY);
    // Both listed again (the GitHub listing ends with the commits).
    wait_until("a new listing", || {
        let r = forge.requests();
        r[before..]
            .iter()
            .any(|p| p.ends_with("acme/payments/merge_requests"))
            && r[before..].iter().any(|p| p.ends_with("acme/web/commits"))
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(pool(&d, "web").is_empty(), "{:?}", pool(&d, "web"));
    assert_eq!(pool(&d, "payments"), ["!2"]);
    assert_eq!(
        ids(&d.status()["products"]["web"]["current"]["changes"]),
        ["#2", "fedcba987654"]
    );

    // The RC leaves flight (CI reports it released); a delivery of #2
    // arriving even later must not put it back in the pool: the engine no
    // longer holds it, the event log does.
    d.events_ok(&support::ci_line("web", 1, "released"), 1);
    wait_until("RC #1 to leave flight", || {
        d.status()["products"]["web"]["current"].is_null()
    });
    let latest = try_github(
        d.addr,
        &env.setup.github_secret,
        "pull_request",
        "late-delivery-2-after-release",
        &pr_merged_body("acme/web", 2, "benk", "Dark mode"),
    )
    .unwrap();
    assert!(latest.is_success(), "{} {}", latest.status, latest.body);
    assert!(latest.body.contains("\"applied\":0"), "{}", latest.body);
    assert!(pool(&d, "web").is_empty(), "{:?}", pool(&d, "web"));
    d.stop();
}

#[test]
fn a_refused_forge_token_leaves_the_daemon_running_and_degraded() {
    let forge = FakeForge::start();
    forge.github_repo("acme/web");
    forge.gitlab_repo("acme/payments");
    let env = env_with_forges(&forge);
    std::fs::write(env.dir.path().join("secrets/github-api"), "gh-wrong-7f3e\n").unwrap();
    let d = env.start(FRIDAY_0930_NY);
    wait_until("/readyz to name the refused token", || {
        d.get("/readyz")
            .body
            .contains("reconciling acme/web with github")
    });
    let body = d.get("/readyz").body;
    assert!(body.contains("the token was refused (HTTP 401)"), "{body}");
    assert!(!body.contains("gh-wrong-7f3e"), "{body}");
    d.stop();
}
