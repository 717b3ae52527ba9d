//! shipgate as the GitHub App behind a deployment protection rule, against
//! a fake GitHub API in this process: it issues installation tokens only
//! for a JWT it verifies with the App's public key (a test-only key pair in
//! `tests/fixtures/`), records the callbacks, and the test sends signed
//! `deployment_protection_rule` deliveries to the real daemon.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use support::{Setup, TestEnv, try_github};

const APP_ID: u64 = 424242;
const INSTALLATION: u64 = 77;
/// Thursday 2026-03-12 10:00 in New York: production open.
const THU_1000: &str = "2026-03-12T14:00:00Z";
/// Friday 09:30 in New York: closed until Monday 08:00.
const FRI_0930: &str = support::FRIDAY_0930_NY;
const MON_0800: &str = "2026-03-16T12:00:00Z";

#[derive(Default)]
struct Fake {
    /// (installation, token) issued.
    tokens: Vec<String>,
    refused_jwts: usize,
    /// (run, Authorization header, body) of each callback.
    callbacks: Vec<(u64, String, serde_json::Value)>,
}

type Shared = Arc<Mutex<Fake>>;

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
}

async fn access_tokens(
    State(fake): State<Shared>,
    Path(installation): Path<u64>,
    headers: HeaderMap,
) -> (StatusCode, Json<serde_json::Value>) {
    let jwt = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(include_bytes!(
        "fixtures/github-app-TEST-ONLY.public-key.pem"
    ))
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_required_spec_claims(&["exp", "iat", "iss"]);
    let ok = jsonwebtoken::decode::<Claims>(jwt, &key, &v)
        .is_ok_and(|d| d.claims.iss == APP_ID.to_string());
    let mut f = fake.lock().unwrap();
    if !ok || installation != INSTALLATION {
        f.refused_jwts += 1;
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"message": "A JSON web token could not be decoded"})),
        );
    }
    let token = format!("ghs_fake_{}", f.tokens.len() + 1);
    f.tokens.push(token.clone());
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"token": token, "expires_at": "2099-01-01T00:00:00Z"})),
    )
}

async fn callback(
    State(fake): State<Shared>,
    Path((_owner, _repo, run)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut f = fake.lock().unwrap();
    if !f.tokens.iter().any(|t| auth == format!("token {t}")) {
        return StatusCode::UNAUTHORIZED;
    }
    f.callbacks.push((run, auth, body));
    StatusCode::NO_CONTENT
}

/// Starts the fake GitHub API on its own thread; its base URL.
fn fake_github(fake: Shared) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/app/installations/{id}/access_tokens", post(access_tokens))
                .route(
                    "/repos/{owner}/{repo}/actions/runs/{run}/deployment_protection_rule",
                    post(callback),
                )
                .with_state(fake);
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

fn env(base: &str, hold: bool) -> TestEnv {
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github-app-TEST-ONLY.private-key.pem");
    TestEnv::new(Setup {
        web_extra: format!(
            r#"environments: {{"production": "production", "staging": "candidate"}}, hold_until_open: {hold},"#
        ),
        top_extra: format!(
            r#"github_app: (app_id: {APP_ID}, private_key: File("{}"), api_base: "{base}", hold_max_secs: 604800),"#,
            key.display()
        ),
        ..Setup::default()
    })
}

fn delivery(base: &str, run: u64, environment: &str) -> Vec<u8> {
    serde_json::json!({
        "action": "requested",
        "environment": environment,
        "event": "push",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "ref": "refs/heads/main",
        "deployment_callback_url": format!("{base}/repos/acme/web/actions/runs/{run}/deployment_protection_rule"),
        "deployment": {"sha": "0123456789abcdef0123456789abcdef01234567"},
        "repository": {"full_name": "acme/web"},
        "installation": {"id": INSTALLATION},
    })
    .to_string()
    .into_bytes()
}

fn wait_callbacks(fake: &Shared, n: usize) -> Vec<(u64, String, serde_json::Value)> {
    let deadline = Instant::now() + support::WAIT;
    loop {
        let f = fake.lock().unwrap();
        if f.callbacks.len() >= n {
            return f.callbacks.clone();
        }
        drop(f);
        assert!(Instant::now() < deadline, "no callback {n}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn approve_inside_reject_outside_duplicates_and_forgeries() {
    let fake: Shared = Arc::default();
    let base = fake_github(fake.clone());
    let env = env(&base, false);
    let secret = env.setup.github_secret.clone();
    let mut d = env.start(THU_1000);

    // Inside the window: approved, with the reason.
    let body = delivery(&base, 101, "production");
    let r = try_github(
        d.addr,
        &secret,
        "deployment_protection_rule",
        "dpr-1",
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let cb = wait_callbacks(&fake, 1);
    assert_eq!(cb[0].0, 101);
    assert_eq!(cb[0].1, "token ghs_fake_1");
    assert_eq!(cb[0].2["state"], "approved");
    assert_eq!(cb[0].2["environment_name"], "production");
    assert!(
        cb[0].2["comment"]
            .as_str()
            .unwrap()
            .contains("production is open")
    );
    d.expect_stdout(
        "GitHub deployment of `acme/web` to `production` (0123456, run 101): approved.",
    );

    // The same delivery again: ignored.
    let r = try_github(
        d.addr,
        &secret,
        "deployment_protection_rule",
        "dpr-1",
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["duplicates"], 1, "{}", r.body);

    // A forged signature: 401, nothing recorded.
    let forged = delivery(&base, 102, "production");
    let r = try_github(
        d.addr,
        "not-the-secret",
        "deployment_protection_rule",
        "dpr-2",
        &forged,
    )
    .unwrap();
    assert_eq!(r.status, 401, "{}", r.body);

    // Friday: rejected, saying why and when it opens.
    d.clock_to(FRI_0930);
    let body = delivery(&base, 103, "production");
    let r = try_github(
        d.addr,
        &secret,
        "deployment_protection_rule",
        "dpr-3",
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let cb = wait_callbacks(&fake, 2);
    assert_eq!(cb[1].0, 103);
    assert_eq!(cb[1].2["state"], "rejected");
    let comment = cb[1].2["comment"].as_str().unwrap();
    assert!(comment.contains("production is closed"), "{comment}");
    assert!(
        comment.contains("it opens Mon 2026-03-16 08:00 EDT"),
        "{comment}"
    );
    d.expect_stdout("(0123456, run 103): rejected.");

    // Staging follows `candidate`, open always.
    let body = delivery(&base, 104, "staging");
    try_github(
        d.addr,
        &secret,
        "deployment_protection_rule",
        "dpr-4",
        &body,
    )
    .unwrap();
    let cb = wait_callbacks(&fake, 3);
    assert_eq!(
        (cb[2].0, cb[2].2["state"].as_str()),
        (104, Some("approved"))
    );

    // One token served every answer; only the forged delivery's run is unanswered.
    std::thread::sleep(Duration::from_millis(300));
    let f = fake.lock().unwrap();
    assert_eq!(f.tokens.len(), 1, "the installation token is cached");
    assert_eq!(f.refused_jwts, 0);
    assert_eq!(f.callbacks.len(), 3, "{:?}", f.callbacks);
    drop(f);
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    let actions: Vec<String> = db
        .prepare("SELECT action FROM audit WHERE action LIKE 'deployment-%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        actions,
        [
            "deployment-approved",
            "deployment-rejected",
            "deployment-approved"
        ]
    );
    d.stop();
}

#[test]
fn held_until_open_across_a_kill_9() {
    let fake: Shared = Arc::default();
    let base = fake_github(fake.clone());
    let env = env(&base, true);
    let secret = env.setup.github_secret.clone();
    let mut d = env.start(FRI_0930);
    let body = delivery(&base, 201, "production");
    let r = try_github(
        d.addr,
        &secret,
        "deployment_protection_rule",
        "dpr-h1",
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    d.expect_stdout("(0123456, run 201): holding it.");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        fake.lock().unwrap().callbacks.is_empty(),
        "held, not answered"
    );
    d.kill9();

    // Back up before the window opens: still held; at 08:00 it is approved.
    let mut d = env.start("2026-03-16T11:00:00Z");
    std::thread::sleep(Duration::from_millis(300));
    assert!(fake.lock().unwrap().callbacks.is_empty(), "still closed");
    d.clock_to(MON_0800);
    let cb = wait_callbacks(&fake, 1);
    assert_eq!(
        (cb[0].0, cb[0].2["state"].as_str()),
        (201, Some("approved"))
    );
    let comment = cb[0].2["comment"].as_str().unwrap();
    assert!(comment.contains("held for 2 days"), "{comment}");
    d.expect_stdout("(0123456, run 201): approved.");

    // A second held deployment withdrawn when GitHub reports its run ended.
    d.clock_to("2026-03-16T21:00:00Z");
    let body = delivery(&base, 202, "production");
    try_github(
        d.addr,
        &secret,
        "deployment_protection_rule",
        "dpr-h2",
        &body,
    )
    .unwrap();
    d.expect_stdout("run 202): holding it.");
    let run = serde_json::json!({
        "action": "completed",
        "workflow_run": {"id": 202, "conclusion": "cancelled"},
        "repository": {"full_name": "acme/web"},
    })
    .to_string();
    try_github(d.addr, &secret, "workflow_run", "wr-1", run.as_bytes()).unwrap();
    d.expect_stdout("run 202): withdrawn");
    d.clock_to("2026-03-17T13:00:00Z");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        fake.lock().unwrap().callbacks.len(),
        1,
        "the withdrawn one is never answered"
    );
    d.stop();
}
