//! shipgate's Slack adapter (inside the real daemon) against a fake Slack
//! that speaks the Web API and Socket Mode: prefixed commands, app
//! mentions and slash commands answered in their thread with real
//! mentions, envelopes acknowledged, a 429 waited out and counted, a
//! `disconnect` followed by a new connection, a whole RC, a crash between
//! Slack posting and shipgate hearing so (posted once), catch-up, and the
//! Events API over HTTP with its signature checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod daemon_child;
mod fake_slack;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daemon_child::Shipgate;
use fake_slack::FakeSlack;

const API_TOKEN: &str = "slack-test-api-token";
const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const WEB: &str = "C0WEB";
const PAYMENTS: &str = "C0PAY";
const ELSEWHERE: &str = "C0ELSE";
const ANA: &str = "U0ANA";
const BEN: &str = "U0BEN";

fn start(config: &Path, clock: &str) -> Shipgate {
    Shipgate::start(config, clock, API_TOKEN, Duration::from_secs(60))
}

/// Why a start on `config` (Monday morning) fails; a start that does not
/// fail fails the test.
fn start_error(config: &Path) -> String {
    Shipgate::try_start(
        config,
        "2026-03-09T14:00:00Z",
        API_TOKEN,
        Duration::from_secs(30),
    )
    .err()
    .expect("the start fails")
}

struct World {
    fake: FakeSlack,
    dir: tempfile::TempDir,
    config: PathBuf,
}

async fn world_with(mode: &str) -> World {
    let fake = FakeSlack::start(&[WEB, PAYMENTS, ELSEWHERE]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot"), fake_slack::BOT_TOKEN).unwrap();
    std::fs::write(dir.path().join("app"), fake_slack::APP_TOKEN).unwrap();
    std::fs::write(dir.path().join("signing"), SIGNING_SECRET).unwrap();
    std::fs::write(dir.path().join("api-token"), API_TOKEN).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let config = dir.path().join("shipgate.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
    database: "shipgate.db",
    rules: "{rules}",
    seed: 7,
    http: (listen: "127.0.0.1:0", api_token: File("api-token")),
    slack: (bot_token: File("bot"), app_token: Some(File("app")), signing_secret: Some(File("signing")),
            mode: {mode}, api_base: Some("{base}")),
    products: [
        (name: "web", channels: (slack: "{WEB}")),
        (name: "payments", channels: (slack: "{PAYMENTS}")),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", chat: (slack: "{ANA}"), roles: ["engineer", "lead"]),
        (name: "ben", timezone: "America/New_York", chat: (slack: "{BEN}"), roles: ["engineer"]),
    ],
)"#,
            rules = rules.display(),
            base = fake.base,
        ),
    )
    .unwrap();
    World { fake, dir, config }
}

async fn world() -> World {
    world_with("Socket").await
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_get_threaded_answers_with_mentions() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    let requests = w.fake.requests();
    for m in [
        "auth.test",
        "conversations.info",
        "conversations.history",
        "apps.connections.open",
    ] {
        assert!(requests.iter().any(|r| r == m), "{m}: {requests:?}");
    }

    // A prefixed message: acknowledged, answered in its thread.
    let (ts, env) = w.fake.say(WEB, ANA, "!sg status");
    let (i, answer) = w.fake.wait_for("no RC in flight", 0).await;
    assert_eq!(answer.thread_ts.as_deref(), Some(ts.as_str()), "{answer:?}");
    assert_eq!(answer.channel, WEB);
    assert!(w.fake.acks().contains(&env));
    let meta = answer.metadata.clone().unwrap();
    assert_eq!(meta["event_type"], "shipgate_outbox", "{meta}");

    // A typo: the answer mentions ben as a Slack mention.
    let (typo, _) = w.fake.say(WEB, BEN, "!sg stauts");
    let (i, bad) = w.fake.wait_for("did you mean", i).await;
    assert!(bad.text.starts_with(&format!("<@{BEN}>")), "{bad:?}");
    assert!(!bad.text.contains("@ben"), "{bad:?}");
    assert_eq!(bad.thread_ts.as_deref(), Some(typo.as_str()));

    // An app mention: Slack sends it as a message and as app_mention;
    // it runs once.
    let (m, _) = w.fake.say(PAYMENTS, ANA, "<@U0BOT> status");
    w.fake.app_mention(PAYMENTS, ANA, "<@U0BOT> status", &m);
    let (i, pay) = w.fake.wait_for("payments: no RC in flight", i).await;
    assert_eq!(pay.channel, PAYMENTS);
    assert_eq!(pay.thread_ts.as_deref(), Some(m.as_str()));

    // A slash command: acknowledged, posted as typed, answered under it.
    let env = w.fake.slash(WEB, ANA, "/sg", "windows");
    let (j, echo) = w.fake.wait_for("/sg windows", i).await;
    assert!(echo.text.starts_with(&format!("<@{ANA}>")), "{echo:?}");
    assert!(w.fake.acks().contains(&env));
    let (i, windows) = w.fake.wait_for("production", j).await;
    assert_eq!(windows.thread_ts.as_deref(), Some(echo.ts.as_str()));

    // Not commands: another channel, the bot's own message.
    w.fake.say(ELSEWHERE, ANA, "!sg status");
    w.fake.say(WEB, fake_slack::BOT_USER, "!sg status");

    // A 429 with Retry-After: waited out, counted, then sent once.
    w.fake.rate_limit_next(1);
    let (last, _) = w.fake.say(WEB, ANA, "!sg status");
    let (i, again) = w.fake.wait_for("no RC in flight", i + 1).await;
    assert_eq!(again.thread_ts.as_deref(), Some(last.as_str()));
    assert_eq!(w.fake.rate_limited(), 1);
    assert!(
        sg.metric("shipgate_messages_sent_total{result=\"rate_limited\"}")
            .await
            >= 1.0,
        "the 429 is counted"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.posts().len(), i + 1, "{:#?}", w.fake.posts());
    assert_eq!(w.fake.count("payments: no RC in flight"), 1);

    // Slack asks for a new connection: the adapter opens one and goes on.
    w.fake.disconnect();
    wait_until("a second connection", || w.fake.connections() >= 2).await;
    let (after, _) = w.fake.say(WEB, BEN, "!sg status");
    let (i, answer) = w.fake.wait_for("no RC in flight", i + 1).await;
    assert_eq!(answer.thread_ts.as_deref(), Some(after.as_str()));

    // A 429 on a call that is not an outbox post (a slash command's
    // message): waited out, made again, counted apart.
    w.fake.rate_limit_next(1);
    w.fake.slash(WEB, BEN, "/sg", "windows");
    w.fake.wait_for("/sg windows", i).await;
    assert_eq!(w.fake.rate_limited(), 2);
    assert_eq!(sg.metric("shipgate_chat_api_rate_limited_total").await, 1.0);
    sg.stop();
}

/// shipgate started on a Friday (production closed) with two merged
/// changes for web (ana's #1, ben's #2), and `/sg rc request` typed by ana:
/// the daemon, the command's reply ("done — ..."), and the announcement of
/// the cut that follows it, with its index among the posts.
async fn rc_cut_on_friday(w: &World) -> (Shipgate, fake_slack::Msg, usize, fake_slack::Msg) {
    // Friday 10:00 in New York: production is closed.
    let sg = start(&w.config, "2026-03-13T14:00:00Z");
    sg.events(concat!(
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "Faster login"}}"##,
        "\n",
        r##"{"merged": {"product": "web", "change": "#2", "author": "ben", "title": "Fix footer"}}"##,
    ))
    .await;
    w.fake.slash(WEB, ANA, "/sg", "rc request ship the login");
    // A short reply answers the request; the cut is announced after it.
    let (a, answer) = w.fake.wait_for("done — RC #1 for web is cut", 0).await;
    let (i, cut) = w.fake.wait_for("RC #1 for web is cut", a + 1).await;
    (sg, answer, i, cut)
}

/// CI says RC #1 is deployed (its announcement is waited for, after post
/// `after`), then the clock moves to Monday 09:00 in New York, inside the
/// window. The announcement's index.
async fn deployed_then_monday(sg: &Shipgate, w: &World, after: usize) -> usize {
    sg.events(r#"{"ci": {"product": "web", "rc": 1, "status": "deployed"}}"#)
        .await;
    let (i, _) = w.fake.wait_for("RC #1 is deployed", after).await;
    sg.clock("2026-03-16T13:00:00Z").await;
    i
}

/// CI says RC #1 is released; waits for its announcement after post `after`.
async fn released(sg: &Shipgate, w: &World, after: usize) {
    sg.events(r#"{"ci": {"product": "web", "rc": 1, "status": "released"}}"#)
        .await;
    w.fake.wait_for("released to production", after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rc_in_slack() {
    let w = world().await;
    let (sg, answer, i, cut) = rc_cut_on_friday(&w).await;
    assert!(
        answer.text.starts_with(&format!("<@{ANA}>: done — ")),
        "{answer:?}"
    );
    assert!(cut.text.starts_with("RC #1 for web is cut"), "{cut:?}");
    assert!(cut.text.contains(&format!("<@{BEN}>")), "{cut:?}");
    w.fake.say(WEB, ANA, "!sg verify #1");
    let (i, _) = w.fake.wait_for("verified #1", i).await;
    w.fake
        .say(WEB, BEN, &format!("<@{}> verify #2", fake_slack::BOT_USER));
    let (i, _) = w.fake.wait_for("ready to release", i).await;
    // Outside the window: refused.
    w.fake.say(WEB, ANA, "!sg release");
    let (i, refused) = w.fake.wait_for("not released", i).await;
    assert!(
        refused.text.contains("opens Mon 2026-03-16 08:00 EDT"),
        "{refused:?}"
    );
    let i = deployed_then_monday(&sg, &w, i).await;
    w.fake.slash(WEB, ANA, "/sg", "release");
    let (i, _) = w.fake.wait_for("is releasing RC #1", i).await;
    released(&sg, &w, i).await;
    assert_eq!(
        w.fake.count("RC #1 for web is cut"),
        2,
        "the reply and the cut"
    );
    for needle in ["verified #1", "RC #1 is deployed", "released to production"] {
        assert_eq!(w.fake.count(needle), 1, "{needle}");
    }
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_slack_posted_does_not_post_again() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    // Slack posts the answer but the answer never reaches shipgate: the
    // outbox cannot mark it sent before the crash.
    w.fake.hang_next_post();
    w.fake.say(WEB, ANA, "!sg status");
    w.fake.wait_for("no RC in flight", 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sg.kill();
    // More said while it is down: read on catch-up.
    let missed = w.fake.store_said(WEB, BEN, "!sg windows");
    let sg = start(&w.config, "2026-03-09T14:00:30Z");
    let (_, windows) = w.fake.wait_for("production", 1).await;
    assert_eq!(windows.thread_ts.as_deref(), Some(missed.as_str()));
    // The outbox went on past the message Slack had posted: once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(w.fake.count("no RC in flight"), 1, "{:#?}", w.fake.posts());
    assert_eq!(sg.metric("shipgate_outbox_depth").await, 0.0);
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_survives_kill_9_posted_exactly_once() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    let mut asked = Vec::new();
    for _ in 0..20 {
        let (ts, _) = w.fake.say(WEB, ANA, "!sg status");
        asked.push(ts);
    }
    // Killed while the answers are going out.
    w.fake.wait_for("no RC in flight", 0).await;
    sg.kill();
    let sg = start(&w.config, "2026-03-09T14:00:30Z");
    // Every command answered exactly once, in its own thread.
    wait_until("every answer", || {
        let posts = w.fake.posts();
        asked.iter().all(|ts| {
            posts
                .iter()
                .any(|p| p.thread_ts.as_deref() == Some(ts.as_str()))
        })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let posts = w.fake.posts();
    for ts in &asked {
        let n = posts
            .iter()
            .filter(|p| p.thread_ts.as_deref() == Some(ts.as_str()))
            .count();
        assert_eq!(n, 1, "answers to {ts}: {posts:#?}");
    }
    sg.stop();
}

fn signed(body: &str, ts: i64, secret: &str) -> Vec<(String, String)> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    vec![
        ("x-slack-request-timestamp".to_owned(), ts.to_string()),
        (
            "x-slack-signature".to_owned(),
            format!("v0={}", hex::encode(mac.finalize().into_bytes())),
        ),
    ]
}

async fn post_hook(
    sg: &Shipgate,
    body: &str,
    kind: &str,
    headers: &[(String, String)],
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/hooks/slack", sg.http))
        .header("content-type", kind)
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// [`post_hook`] signed with the configured secret at `now`.
async fn post_signed(sg: &Shipgate, body: &str, kind: &str, now: i64) -> (u16, String) {
    post_hook(sg, body, kind, &signed(body, now, SIGNING_SECRET)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_over_http_are_signed() {
    let w = world_with("Http").await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    assert_eq!(w.fake.connections(), 0, "no Socket Mode in Http mode");
    let now = chrono::Utc::now().timestamp();
    let json = "application/json";
    // The URL verification handshake.
    let body = r#"{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#;
    let (status, text) = post_signed(&sg, body, json, now).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));

    let event = |ts: &str| {
        format!(
            r#"{{"type":"event_callback","event":{{"type":"message","channel":"{WEB}","user":"{ANA}","text":"!sg status","ts":"{ts}"}}}}"#
        )
    };
    // Forged, replayed, unsigned: 401, nothing runs.
    let e = event("1700000100.000001");
    let forged = signed(&e, now, "not-the-secret");
    let replayed = signed(&e, now - 301, SIGNING_SECRET);
    for headers in [forged, replayed, Vec::new()] {
        let (status, text) = post_hook(&sg, &e, json, &headers).await;
        assert_eq!(status, 401, "{text}");
    }
    assert_eq!(
        sg.metric("shipgate_http_auth_failures_total{endpoint=\"/hooks/slack\"}")
            .await,
        3.0
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.posts().len(), 0, "{:#?}", w.fake.posts());
    assert_eq!(sg.metric("shipgate_events_total{kind=\"chat\"}").await, 0.0);

    // Signed: it runs, once even when Slack retries it.
    let (status, _) = post_signed(&sg, &e, json, now).await;
    assert_eq!(status, 200);
    let (status, _) = post_signed(&sg, &e, json, now).await;
    assert_eq!(status, 200);
    let (i, answer) = w.fake.wait_for("no RC in flight", 0).await;
    assert_eq!(answer.thread_ts.as_deref(), Some("1700000100.000001"));

    // A slash command, as Slack posts it: a signed form.
    let form = format!(
        "command=%2Fsg&text=windows&channel_id={WEB}&user_id={BEN}&trigger_id=1.2.3&response_url=http%3A%2F%2F127.0.0.1%3A9%2F"
    );
    let form_kind = "application/x-www-form-urlencoded";
    let (status, _) = post_signed(&sg, &form, form_kind, now).await;
    assert_eq!(status, 200);
    let (j, echo) = w.fake.wait_for("/sg windows", i).await;
    let (_, windows) = w.fake.wait_for("production", j).await;
    assert_eq!(windows.thread_ts.as_deref(), Some(echo.ts.as_str()));
    // In a channel shipgate does not serve: an ephemeral answer, nothing run.
    let other = form.replace(WEB, ELSEWHERE);
    let (status, text) = post_signed(&sg, &other, form_kind, now).await;
    assert_eq!(status, 200);
    assert!(
        text.contains("ephemeral") && text.contains("no product"),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.count("no RC in flight"), 1);
    drop(w.dir);
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_the_bot_is_not_in_stops_the_start_naming_it() {
    let w = world().await;
    w.fake.set_member(PAYMENTS, false);
    let err = start_error(&w.config);
    assert!(
        err.contains("not in the channel `C0PAY` of product `payments`"),
        "{err}"
    );
    assert!(err.contains("/invite @shipgate"), "{err}");
}

/// A message's buttons, as `"action"="value"`.
fn buttons(m: &fake_slack::Msg) -> Vec<String> {
    let blocks = m.blocks.clone().unwrap_or_default();
    let mut out = Vec::new();
    for b in blocks.as_array().cloned().unwrap_or_default() {
        if let Some(a) = b.get("accessory") {
            out.push(format!("{}={}", a["action_id"], a["value"]));
        }
        for e in b
            .get("elements")
            .and_then(|e| e.as_array())
            .cloned()
            .unwrap_or_default()
        {
            if e["type"] == "button" {
                out.push(format!("{}={}", e["action_id"], e["value"]));
            }
        }
    }
    out
}

async fn wait_ephemeral(w: &World, needle: &str, after: usize) -> (usize, fake_slack::Ephemeral) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = w.fake.ephemerals();
        if let Some((i, e)) = all
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, e)| e.text.contains(needle))
        {
            return (i, e.clone());
        }
        assert!(
            Instant::now() < deadline,
            "no ephemeral with {needle:?}: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rc_by_buttons() {
    let w = world().await;
    let (sg, _, i, cut) = rc_cut_on_friday(&w).await;
    // Block Kit: a section per change with its verifier, a button each;
    // the plain text stays as the fallback.
    assert_eq!(
        buttons(&cut),
        ["\"sg_verify\"=\"#1\"", "\"sg_verify\"=\"#2\""],
        "{cut:#?}"
    );
    let shown = cut.blocks.clone().unwrap().to_string();
    assert!(shown.contains(&format!("verifier: <@{BEN}>")), "{shown}");
    assert!(shown.contains("Fix footer"), "{shown}");
    assert!(cut.text.contains("Changes to verify"), "{cut:?}");

    // Ben may not verify ana's change: told privately why; nothing
    // changes, nothing is posted, the message is not updated.
    let wrong = w.fake.click(WEB, BEN, &cut.ts, "sg_verify", "#1");
    w.fake.interact(&wrong);
    let (e, refused) = wait_ephemeral(&w, "is ana's to verify", 0).await;
    assert_eq!(refused.user, BEN);
    assert_eq!(refused.thread_ts.as_deref(), Some(cut.ts.as_str()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.posts().len(), i + 1, "{:#?}", w.fake.posts());
    assert!(w.fake.updates().is_empty());

    // Ana's click, delivered twice by Slack: run once, answered in the
    // announcement's thread, and her button replaced on the message.
    let click = w.fake.click(WEB, ANA, &cut.ts, "sg_verify", "#1");
    let env = w.fake.interact(&click);
    w.fake.interact(&click);
    let (i, verified) = w.fake.wait_for("verified #1", i).await;
    assert_eq!(verified.thread_ts.as_deref(), Some(cut.ts.as_str()));
    assert!(w.fake.acks().contains(&env), "the envelope is acknowledged");
    wait_until("the announcement updated", || !w.fake.updates().is_empty()).await;
    let now = w.fake.message(WEB, &cut.ts);
    assert_eq!(buttons(&now), ["\"sg_verify\"=\"#2\""], "{now:#?}");
    assert!(
        now.blocks
            .unwrap()
            .to_string()
            .contains(&format!("verified by <@{ANA}>"))
    );

    // Ben's click makes the RC ready: the manager's "Release" button.
    let click = w.fake.click(WEB, BEN, &cut.ts, "sg_verify", "#2");
    w.fake.interact(&click);
    let (i, ready) = w.fake.wait_for("ready to release", i).await;
    assert_eq!(buttons(&ready), ["\"sg_release\"=\"1\""], "{ready:#?}");

    // Outside the window the manager's click is refused, privately.
    let release = w.fake.click(WEB, ANA, &ready.ts, "sg_release", "1");
    w.fake.interact(&release);
    let (_, closed) = wait_ephemeral(&w, "not released", e + 1).await;
    assert_eq!(closed.user, ANA);
    assert!(
        closed.text.contains("opens Mon 2026-03-16 08:00 EDT"),
        "{closed:?}"
    );
    assert_eq!(w.fake.count("not released"), 0, "not said in the channel");

    // Monday 09:00: inside the window, the same button releases.
    let i = deployed_then_monday(&sg, &w, i).await;
    let release = w.fake.click(WEB, ANA, &ready.ts, "sg_release", "1");
    w.fake.interact(&release);
    let (i, _) = w.fake.wait_for("is releasing RC #1", i).await;
    wait_until("the Release button gone", || {
        buttons(&w.fake.message(WEB, &ready.ts)).is_empty()
    })
    .await;
    released(&sg, &w, i).await;
    // The reply to `rc request` and the cut; the reply to the "Release"
    // click and the announcement.
    assert_eq!(w.fake.count("RC #1 for web is cut"), 2);
    assert_eq!(w.fake.count("is releasing RC #1"), 2);
    for needle in ["verified #1", "verified #2", "released to production"] {
        assert_eq!(w.fake.count(needle), 1, "{needle}");
    }
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicks_over_http_are_signed() {
    let w = world_with("Http").await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    sg.events(
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "Faster login"}}"##,
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    let json = "application/json";
    let e = format!(
        r#"{{"type":"event_callback","event":{{"type":"message","channel":"{WEB}","user":"{ANA}","text":"!sg rc request now","ts":"1700000100.000001"}}}}"#
    );
    let (status, _) = post_signed(&sg, &e, json, now).await;
    assert_eq!(status, 200);
    // The command's reply ("done — ..."), then the announcement.
    let (a, _) = w.fake.wait_for("done — RC #1 for web is cut", 0).await;
    let (i, cut) = w.fake.wait_for("RC #1 for web is cut", a + 1).await;
    let click = w.fake.click(WEB, ANA, &cut.ts, "sg_verify", "#1");
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &click.to_string())
        .finish();
    let kind = "application/x-www-form-urlencoded";
    // Forged: 401, nothing runs.
    let (status, _) = post_hook(&sg, &form, kind, &signed(&form, now, "forged")).await;
    assert_eq!(status, 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.count("verified #1"), 0);
    // Signed, and again (Slack retries): run once.
    for _ in 0..2 {
        let (status, _) = post_signed(&sg, &form, kind, now).await;
        assert_eq!(status, 200);
    }
    let (_, verified) = w.fake.wait_for("verified #1", i).await;
    assert_eq!(verified.thread_ts.as_deref(), Some(cut.ts.as_str()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.count("verified #1"), 1);
    assert_eq!(w.fake.count("ready to release"), 1);
    drop(w.dir);
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_stops_the_start_naming_it() {
    for (method, scope) in [
        ("conversations.info", "channels:read"),
        ("conversations.history", "channels:history"),
    ] {
        let w = world().await;
        w.fake.missing_scope(method, scope);
        let err = start_error(&w.config);
        assert!(
            err.contains(&format!("add the `{scope}` bot scope")),
            "{err}"
        );
        assert!(err.contains("C0WEB"), "{err}");
    }
}
