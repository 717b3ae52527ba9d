//! shipgate's Discord adapter (the real serenity client inside the real
//! daemon) against a fake Discord that speaks REST and the gateway:
//! commands and replies, a whole RC, a gateway drop with RESUME, a 429, a
//! long answer split under Discord's limit, slash commands, and a channel
//! the bot cannot post to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod daemon_child;
mod fake_discord;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use daemon_child::Shipgate;
use fake_discord::{BOT_ID, FakeDiscord, GUILD_MESSAGES, MESSAGE_CONTENT};

const API_TOKEN: &str = "discord-test-api-token";
const WEB: &str = "1200000000000000001";
const PAYMENTS: &str = "1200000000000000002";
const ELSEWHERE: &str = "1200000000000000003";
const ANA: &str = "1100000000000000001";
const BEN: &str = "1100000000000000002";

/// Starts the daemon on `config` with its manual clock at `clock`.
fn start(config: &Path, clock: &str) -> Shipgate {
    Shipgate::start(config, clock, API_TOKEN, Duration::from_secs(60))
}

struct World {
    fake: FakeDiscord,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

async fn world() -> World {
    let fake = FakeDiscord::start(&[WEB, PAYMENTS, ELSEWHERE]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("token"),
        format!("{}\n", fake_discord::TOKEN),
    )
    .unwrap();
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
    discord: (token: File("token"), api_base: Some("{base}")),
    products: [
        (name: "web", channels: (discord: "{WEB}")),
        (name: "payments", channels: (discord: "{PAYMENTS}")),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", chat: (discord: "{ANA}"), roles: ["engineer", "lead"]),
        (name: "ben", timezone: "America/New_York", chat: (discord: "{BEN}"), roles: ["engineer"]),
    ],
)"#,
            rules = rules.display(),
            base = fake.base,
        ),
    )
    .unwrap();
    World {
        fake,
        _dir: dir,
        config,
    }
}

fn ana(w: &World, channel: &str, text: &str) -> String {
    w.fake.say(channel, ANA, "ana", text)
}

fn ben(w: &World, channel: &str, text: &str) -> String {
    w.fake.say(channel, BEN, "ben", text)
}

fn replies_to(c: &fake_discord::Created, id: &str) -> bool {
    c.message_reference
        .as_ref()
        .and_then(|r| r["message_id"].as_str())
        == Some(id)
}

fn allowed_users(c: &fake_discord::Created) -> Vec<String> {
    let am = c
        .allowed_mentions
        .as_ref()
        .expect("allowed_mentions is set");
    assert_eq!(
        am["parse"],
        serde_json::json!([]),
        "no @everyone or role pings: {am}"
    );
    am["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_get_replies_with_mentions() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    // Start-up: the token was checked, the gateway URL asked for, and the
    // IDENTIFY asked for message content.
    let requests = w.fake.requests();
    assert!(
        requests.contains(&"GET /api/v10/users/@me".to_owned()),
        "{requests:?}"
    );
    assert!(
        requests.contains(&"GET /api/v10/gateway".to_owned()),
        "{requests:?}"
    );
    let ids = w.fake.identifies();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let intents = ids[0]["intents"].as_u64().unwrap();
    assert_eq!(
        intents & (GUILD_MESSAGES | MESSAGE_CONTENT),
        GUILD_MESSAGES | MESSAGE_CONTENT
    );
    assert!(w.fake.gateway_queries()[0].contains("v=10"));

    let cmd = ana(&w, WEB, "!sg status");
    let (_, answer) = w.fake.wait_for(WEB, "no RC in flight", 0).await;
    assert!(
        replies_to(&answer, &cmd),
        "the answer replies to the command: {answer:?}"
    );
    assert!(answer.enforce_nonce, "{answer:?}");
    assert!(
        answer
            .nonce
            .as_ref()
            .and_then(|n| n.as_str())
            .is_some_and(|n| n.starts_with("sg") && n.len() <= 25)
    );
    assert_eq!(allowed_users(&answer), Vec::<String>::new());
    assert!(
        answer.message_reference.as_ref().unwrap()["fail_if_not_exists"] == false,
        "a deleted command still gets its answer: {answer:?}"
    );

    // A typo: the answer mentions ben as a Discord user mention.
    let typo = ben(&w, WEB, "!sg stauts");
    let (_, bad) = w.fake.wait_for(WEB, "did you mean", 0).await;
    assert!(bad.content.starts_with(&format!("<@{BEN}>")), "{bad:?}");
    assert!(!bad.content.contains("@ben"), "{bad:?}");
    assert_eq!(allowed_users(&bad), vec![BEN.to_owned()]);
    assert!(replies_to(&bad, &typo));

    // The other product's channel is the other product.
    ana(&w, PAYMENTS, "!sg status");
    w.fake
        .wait_for(PAYMENTS, "payments: no RC in flight", 0)
        .await;

    // Not commands: an edit, another bot, an unconfigured channel, and
    // the bot's own messages (which the fake echoes over the gateway).
    w.fake.edit(WEB, &cmd, ANA, "ana", "!sg windows");
    w.fake.say_as_bot(WEB, "!sg windows");
    ana(&w, ELSEWHERE, "!sg windows");
    let last = ana(&w, WEB, "!sg status");
    let (i, again) = w.fake.wait_for(WEB, "no RC in flight", 1).await;
    assert!(replies_to(&again, &last));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        w.fake.count(WEB, "production: "),
        0,
        "{:#?}",
        w.fake.created()
    );
    assert_eq!(w.fake.count(ELSEWHERE, ""), 0);
    assert_eq!(w.fake.created().len(), i + 1, "{:#?}", w.fake.created());
    assert!(w.fake.rejected().is_empty(), "{:?}", w.fake.rejected());
    sg.stop();
    // The shard closed the gateway cleanly on shutdown.
    w.fake
        .wait_until("a clean close", |f| f.client_closes() == vec![1000])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rc_in_discord() {
    let w = world().await;
    // Friday 10:00 in New York: production is closed.
    let sg = start(&w.config, "2026-03-13T14:00:00Z");
    sg.events(concat!(
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "Faster login"}}"##,
        "\n",
        r##"{"merged": {"product": "web", "change": "#2", "author": "ben", "title": "Fix footer"}}"##,
    ))
    .await;
    let req = ana(&w, WEB, "!sg rc request ship the login");
    // The request is answered by a reply of its own; the cut is an
    // announcement to the channel after it, not a reply.
    let (a, answer) = w.fake.wait_for(WEB, "done — RC #1 for web is cut", 0).await;
    assert!(replies_to(&answer, &req), "{answer:?}");
    assert!(
        answer.content.starts_with(&format!("<@{ANA}>: done — ")),
        "{answer:?}"
    );
    let (i, cut) = w.fake.wait_for(WEB, "RC #1 for web is cut", a + 1).await;
    assert!(cut.content.starts_with("RC #1 for web is cut"), "{cut:?}");
    assert!(cut.message_reference.is_none(), "{cut:?}");
    assert!(cut.content.contains(&format!("<@{BEN}>")), "{cut:?}");
    let mut users = allowed_users(&cut);
    users.sort();
    assert_eq!(users, vec![ANA.to_owned(), BEN.to_owned()]);

    ana(&w, WEB, "!sg verify all");
    let (i, _) = w.fake.wait_for(WEB, "verified #1", i).await;
    // A handoff target may be a Discord mention, as the client types it.
    ben(&w, WEB, &format!("!sg handoff #2 to <@!{ANA}>"));
    let (i, to_ana) = w.fake.wait_for(WEB, "handed you #2", i).await;
    assert!(
        to_ana
            .content
            .starts_with(&format!("<@{ANA}>: <@{BEN}> handed you #2")),
        "{to_ana:?}"
    );
    ana(&w, WEB, &format!("!sg handoff #2 to <@{BEN}>"));
    let (i, back) = w.fake.wait_for(WEB, "handed you #2", i + 1).await;
    assert!(
        back.content.starts_with(&format!("<@{BEN}>: <@{ANA}>")),
        "{back:?}"
    );
    ana(&w, WEB, "!sg handoff #2 to <@123>");
    let (i, unknown) = w.fake.wait_for(WEB, "nobody in the team config", i).await;
    assert!(unknown.content.contains("Discord id `123`"), "{unknown:?}");
    // An hour after the cut, ben is reminded.
    sg.clock("2026-03-13T15:01:00Z").await;
    let (i, reminder) = w.fake.wait_for(WEB, "reminder: please verify #2", i).await;
    assert!(
        reminder.content.starts_with(&format!("<@{BEN}>")),
        "{reminder:?}"
    );
    ben(&w, WEB, "!sg verify #2");
    let (i, _) = w.fake.wait_for(WEB, "ready to release", i).await;
    ana(&w, WEB, "!sg release");
    let (i, refused) = w.fake.wait_for(WEB, "not released", i).await;
    assert!(
        refused.content.contains("opens Mon 2026-03-16 08:00 EDT"),
        "{refused:?}"
    );
    sg.events(r#"{"ci": {"product": "web", "rc": 1, "status": "deployed"}}"#)
        .await;
    let (i, _) = w.fake.wait_for(WEB, "RC #1 is deployed", i).await;
    ana(
        &w,
        WEB,
        "!sg release exception urgent-delivery partner launch today",
    );
    let (i, asked) = w.fake.wait_for(WEB, "needs 1 approval", i).await;
    // The people who may approve it are mentioned (ana asked; ben may).
    assert!(
        asked.content.contains(&format!("(<@{BEN}> can approve)")),
        "{asked:?}"
    );
    assert_eq!(allowed_users(&asked), vec![BEN.to_owned()]);
    let id: String = asked
        .content
        .split("approve ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    // Exception ids are written `E1`.
    assert!(id.starts_with('E') && id.len() > 1, "{}", asked.content);
    ana(&w, WEB, &format!("!sg approve {id}"));
    let (i, _) = w.fake.wait_for(WEB, "does not count", i).await;
    ben(&w, WEB, &format!("!sg approve {id}"));
    let (i, _) = w.fake.wait_for(WEB, "is releasing RC #1", i).await;
    sg.events(r#"{"ci": {"product": "web", "rc": 1, "status": "released"}}"#)
        .await;
    w.fake.wait_for(WEB, "released to production", i).await;
    let announced = w
        .fake
        .created()
        .iter()
        .filter(|c| c.content.starts_with("RC #1 for web is cut"))
        .count();
    assert_eq!(announced, 1);
    for needle in ["verified #1", "RC #1 is deployed", "released to production"] {
        assert_eq!(w.fake.count(WEB, needle), 1, "{needle}");
    }
    assert_eq!(w.fake.deduplicated(), 0);
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_drop_is_resumed() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    ana(&w, WEB, "!sg status");
    w.fake.wait_for(WEB, "no RC in flight", 0).await;

    // Discord drops the connection; while the bot is away, ana types a
    // command. The bot reconnects, RESUMEs, and gets it replayed.
    w.fake.drop_gateway(true);
    w.fake
        .wait_until("the bot to reconnect", |f| f.gateway_queries().len() >= 2)
        .await;
    let missed = ana(&w, WEB, "!sg windows");
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.fake.release();
    let (_, answer) = w.fake.wait_for(WEB, "production: open", 0).await;
    assert!(replies_to(&answer, &missed));
    assert_eq!(w.fake.resumes().len(), 1, "resumed: {:?}", w.fake.resumes());
    assert_eq!(w.fake.identifies().len(), 1, "RESUME, not a new IDENTIFY");

    // And after it, commands work as before, each answered once.
    let after = ben(&w, WEB, "!sg status");
    let (_, a2) = w.fake.wait_for(WEB, "no RC in flight", 1).await;
    assert!(replies_to(&a2, &after));
    // A second drop, this time without holding the reconnect.
    w.fake.drop_gateway(false);
    w.fake
        .wait_until("a second resume", |f| {
            f.resumes().len() == 2 && f.connected()
        })
        .await;
    let third = ana(&w, PAYMENTS, "!sg windows");
    let (_, a3) = w.fake.wait_for(PAYMENTS, "production: open", 0).await;
    assert!(replies_to(&a3, &third));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        w.fake.count(WEB, "production: open"),
        1,
        "{:#?}",
        w.fake.created()
    );
    assert_eq!(w.fake.count(WEB, "no RC in flight"), 2);
    assert_eq!(w.fake.count(PAYMENTS, "production: open"), 1);
    assert_eq!(w.fake.identifies().len(), 1);
    // Heartbeats flow on the resumed session.
    let beats = w.fake.heartbeats();
    w.fake
        .wait_until("a heartbeat", |f| f.heartbeats() > beats)
        .await;
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_a_crash_is_not_a_duplicate() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    // Discord creates the answer, but shipgate dies before it hears so.
    w.fake.stall_next_post();
    let cmd = ana(&w, WEB, "!sg status");
    let (_, answer) = w.fake.wait_for(WEB, "no RC in flight", 0).await;
    sg.kill();
    // After the restart the outbox sends it again, with the same nonce:
    // Discord hands back the message it has instead of a second one.
    let sg = start(&w.config, "2026-03-09T14:01:00Z");
    w.fake
        .wait_until("the resend", |f| f.deduplicated() == 1)
        .await;
    assert_eq!(w.fake.count(WEB, "no RC in flight"), 1);
    assert!(replies_to(&answer, &cmd));
    assert_eq!(
        w.fake.identifies().len(),
        2,
        "a new process identifies anew"
    );
    let next = ben(&w, WEB, "!sg windows");
    let (_, a2) = w.fake.wait_for(WEB, "production: open", 0).await;
    assert!(replies_to(&a2, &next));
    assert_eq!(w.fake.count(WEB, "no RC in flight"), 1);
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    w.fake.rate_limit_next_post();
    let cmd = ana(&w, WEB, "!sg status");
    let (_, answer) = w.fake.wait_for(WEB, "no RC in flight", 0).await;
    assert!(replies_to(&answer, &cmd));
    // The wait is real time: the message was resent although the daemon's
    // (manual) clock never moved.
    assert_eq!(status(&sg).await["now"], "2026-03-09T14:00:00Z");
    let limited = w.fake.rate_limited_at();
    assert_eq!(limited.len(), 1);
    let waited = answer.at.duration_since(limited[0]);
    assert!(
        waited >= Duration::from_millis(500),
        "retry_after (0.5 s) is honoured: resent after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "and not much later: {waited:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.fake.count(WEB, "no RC in flight"), 1);
    assert!(
        sg.log().contains("rate limited"),
        "the wait is logged:\n{}",
        sg.log()
    );
    assert_eq!(
        sg.metric("shipgate_messages_sent_total{result=\"rate_limited\"}")
            .await,
        1.0
    );
    assert_eq!(
        sg.metric("shipgate_messages_sent_total{result=\"failed\"}")
            .await,
        0.0
    );
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_answer_is_split() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-13T14:00:00Z");
    let merges: Vec<String> = (1..=60)
        .map(|n| {
            format!(
                r##"{{"merged": {{"product": "web", "change": "#{n}", "author": "{}", "title": "Change number {n} with a title long enough to fill the line"}}}}"##,
                if n % 2 == 0 { "ana" } else { "ben" }
            )
        })
        .collect();
    sg.events(&merges.join("\n")).await;
    // The cut announcement lists all 60 changes: well over 2,000
    // characters. Its second part is rate limited: the retry sends only
    // what is left.
    // (The first message is the short reply to the request.)
    w.fake.rate_limit_after(2);
    let req = ana(&w, WEB, "!sg rc request big batch");
    let (a, answer) = w.fake.wait_for(WEB, "done — RC #1 for web is cut", 0).await;
    assert!(replies_to(&answer, &req), "{answer:?}");
    let (first_i, first) = w.fake.wait_for(WEB, "RC #1 for web is cut", a + 1).await;
    let (last_i, _) = w.fake.wait_for(WEB, "#60 Change number 60", first_i).await;
    assert!(first.content.starts_with("RC #1 for web is cut"));
    check_parts(&w.fake.created()[first_i..=last_i], None);
    // A long answer to a command: only its first part is the reply.
    let status = ben(&w, WEB, "!sg status");
    let (first_i, _) = w.fake.wait_for(WEB, "RC #1 (", last_i + 1).await;
    let (last_i, _) = w.fake.wait_for(WEB, "#60 Change number 60", first_i).await;
    check_parts(&w.fake.created()[first_i..=last_i], Some(&status));
    assert!(
        w.fake.rejected().iter().all(|(s, _)| *s == 429),
        "{:?}",
        w.fake.rejected()
    );
    assert_eq!(w.fake.rate_limited_at().len(), 1);
    assert_eq!(
        w.fake.deduplicated(),
        0,
        "the first part was not sent again"
    );
    let _ = BOT_ID;
    sg.stop();
}

/// The parts of one split message: each under the limit, code spans
/// whole, its own nonce, only the first replying, all 60 changes once.
fn check_parts(parts: &[fake_discord::Created], reply_to: Option<&str>) {
    assert!(parts.len() >= 2, "{parts:#?}");
    for (k, p) in parts.iter().enumerate() {
        assert!(
            p.content.chars().count() <= 2000,
            "part {k}: {}",
            p.content.chars().count()
        );
        assert_eq!(
            p.content.matches('`').count() % 2,
            0,
            "a code span was cut: {}",
            p.content
        );
        let replies = reply_to.is_some_and(|r| replies_to(p, r));
        assert_eq!(
            replies,
            k == 0 && reply_to.is_some(),
            "only the first part replies: {p:?}"
        );
    }
    let nonces: std::collections::BTreeSet<_> = parts
        .iter()
        .map(|p| p.nonce.as_ref().map(ToString::to_string))
        .collect();
    assert_eq!(nonces.len(), parts.len(), "each part has its own nonce");
    let all = parts
        .iter()
        .map(|p| p.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for n in 1..=60 {
        assert_eq!(
            all.matches(&format!("#{n} Change number {n} ")).count(),
            1,
            "#{n}:\n{all}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_the_daemon() {
    let w = world().await;
    std::fs::write(w.config.parent().unwrap().join("token"), "not-the-token").unwrap();
    let config = w.config.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_shipgate"))
            .args(["run", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("discord: the bot token is not accepted"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-token"),
        "the token is not shown: {stderr}"
    );
    assert!(w.fake.identifies().is_empty());
}

/// `/api/status` as JSON.
async fn status(sg: &Shipgate) -> serde_json::Value {
    reqwest::get(format!("{}/api/status", sg.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits (up to `secs`) until `/api/status`'s `outbox_failing` satisfies
/// `done`; returns it.
async fn wait_failing(
    sg: &Shipgate,
    secs: u64,
    what: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = status(sg).await;
        let failing = s["outbox_failing"].as_array().unwrap().clone();
        if done(&failing) {
            return failing;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeliverable_message_is_kept_shown_and_sent_once_access_is_back() {
    let w = world().await;
    // The bot has lost access to the payments channel.
    w.fake.remove_channel(PAYMENTS);
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    sg.events(r#"{"chat": {"product": "payments", "from": "ana", "text": "!sg status"}}"#)
        .await;
    // Discord says 404 Unknown Channel: a permanent failure. The message is
    // kept, and status says which one and why.
    let failing = wait_failing(&sg, 30, "no failure shown", |f| !f.is_empty()).await;
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!(failing[0]["product"], "payments");
    assert!(failing[0]["attempts"].as_u64().unwrap() >= 1);
    let error = failing[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("404") && error.contains("Unknown Channel"),
        "{error}"
    );
    // The next attempt is recorded on the daemon's clock (a manual one
    // here, standing still): its time plus the 5 minutes' wait.
    assert_eq!(
        failing[0]["retry_at"], "2026-03-09T14:05:00Z",
        "{failing:?}"
    );
    assert!(
        sg.wait_log("a message cannot be delivered").await,
        "the operator is told: {}",
        sg.log()
    );
    // Other products are not held up.
    ana(&w, WEB, "!sg status");
    w.fake.wait_for(WEB, "web: no RC in flight", 0).await;
    assert_eq!(w.fake.count(PAYMENTS, ""), 0);
    // Access is given back; the operator asks for the retry now.
    w.fake.restore_channel(PAYMENTS);
    let unauthorized = reqwest::Client::new()
        .post(format!("{}/-/outbox/retry", sg.http))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401, "the API token guards it");
    let r = reqwest::Client::new()
        .post(format!("{}/-/outbox/retry", sg.http))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["rescheduled"], 1, "{body}");
    w.fake
        .wait_for(PAYMENTS, "payments: no RC in flight", 0)
        .await;
    // Sent exactly once, and no longer shown as failing.
    assert_eq!(w.fake.count(PAYMENTS, "payments: no RC in flight"), 1);
    wait_failing(&sg, 10, "still shown as failing", <[_]>::is_empty).await;
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_are_the_same_commands() {
    let w = world().await;
    // Monday 10:00 in New York.
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    // Registered at start in the guild: `/sg` (from the prefix `!sg `), one
    // required text option.
    w.fake
        .wait_until("the slash command to be registered", |f| {
            !f.registered().is_empty()
        })
        .await;
    let (guild, commands) = w.fake.registered()[0].clone();
    assert_eq!(guild, fake_discord::GUILD_ID.to_string());
    assert_eq!(commands.as_array().unwrap().len(), 1, "{commands}");
    let sg_command = &commands[0];
    assert_eq!(sg_command["name"], "sg", "{sg_command}");
    assert_eq!(sg_command["options"][0]["name"], "command");
    assert_eq!(sg_command["options"][0]["type"], 3, "a text option");
    assert_eq!(sg_command["options"][0]["required"], true);
    assert_eq!(
        sg_command["options"][0]["max_length"], 1900,
        "the echo of the command must fit in one message"
    );

    // `/sg command: status`: answered at once with the command as typed,
    // and the engine's answer replies to that.
    let id = w.fake.slash(WEB, ANA, "ana", "sg", "status");
    let (_, answer) = w.fake.wait_for(WEB, "web: no RC in flight", 0).await;
    let i = w.fake.interaction(&id);
    assert_eq!(i.callbacks, vec![4], "{i:?}");
    let echo = i.response.clone().expect("a public answer");
    let created = w.fake.created();
    let shown = created.iter().find(|c| c.id == echo).unwrap();
    assert_eq!(shown.content, "!sg status");
    assert_eq!(shown.interaction.as_deref(), Some(id.as_str()));
    assert_eq!(
        shown.allowed_mentions.as_ref().unwrap()["parse"],
        serde_json::json!([]),
        "the echo pings nobody"
    );
    assert!(replies_to(&answer, &echo), "{answer:?}");

    // A command that changes state, and one with a typo (the answer
    // mentions the person, as for typed commands).
    sg.events(
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "Faster login"}}"##,
    )
    .await;
    w.fake
        .slash(WEB, ANA, "ana", "sg", "rc request ship the login");
    let (n, cut) = w.fake.wait_for(WEB, "RC #1 for web is cut", 0).await;
    assert!(cut.content.contains("ana"), "{cut:?}");
    w.fake.slash(WEB, BEN, "ben", "sg", "stauts");
    let (_, typo) = w.fake.wait_for(WEB, "did you mean", n).await;
    assert!(typo.content.starts_with(&format!("<@{BEN}>")), "{typo:?}");
    assert_eq!(allowed_users(&typo), vec![BEN.to_owned()]);

    // Elsewhere: a private answer, and nothing is run. Another app's
    // command is not ours.
    let other = w
        .fake
        .slash(ELSEWHERE, ANA, "ana", "sg", "rc request again");
    let not_ours = w.fake.slash(WEB, ANA, "ana", "deploy", "status");
    w.fake
        .wait_until("the answer elsewhere", |f| {
            !f.interaction(&other).callbacks.is_empty()
        })
        .await;
    let i = w.fake.interaction(&other);
    assert_eq!(i.callbacks, vec![4]);
    let data = i.callback_data.unwrap();
    assert_eq!(
        data["flags"].as_u64().unwrap() & 64,
        64,
        "ephemeral: {data}"
    );
    assert!(data["content"].as_str().unwrap().contains("no product"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(w.fake.interaction(&not_ours).callbacks.is_empty());
    assert_eq!(w.fake.count(ELSEWHERE, ""), 0);
    assert_eq!(w.fake.count(WEB, "RC #2"), 0);
    assert!(w.fake.rejected().is_empty(), "{:?}", w.fake.rejected());
    sg.stop();
}

/// The index in `created` of the answer to message `id`.
fn answer_to(w: &World, id: &str) -> Option<(usize, fake_discord::Created)> {
    w.fake
        .created()
        .into_iter()
        .enumerate()
        .find(|(_, c)| replies_to(c, id))
}

async fn wait_answer(w: &World, id: &str) -> (usize, fake_discord::Created) {
    w.fake
        .wait_until("an answer", |f| {
            f.created().iter().any(|c| replies_to(c, id))
        })
        .await;
    answer_to(w, id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_the_daemon_is_down_are_caught_up_once_in_order() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    let first = ana(&w, WEB, "!sg status");
    wait_answer(&w, &first).await;
    sg.wait_readyz(200).await;

    // Stopped (SIGTERM): three commands in two channels, and a release
    // typed an hour before the daemon is back.
    sg.stop();
    let stale = w.fake.say_at(
        WEB,
        ANA,
        "ana",
        "!sg release",
        "2026-03-09T13:00:00.000000+00:00",
    );
    let windows = ana(&w, WEB, "!sg windows");
    let status = ben(&w, WEB, "!sg status");
    let pay = ana(&w, PAYMENTS, "!sg windows");
    let sg = start(&w.config, "2026-03-09T14:05:00Z");
    let (i_stale, a_stale) = wait_answer(&w, &stale).await;
    let (i_windows, a_windows) = wait_answer(&w, &windows).await;
    let (i_status, a_status) = wait_answer(&w, &status).await;
    let (_, a_pay) = wait_answer(&w, &pay).await;
    assert!(
        a_stale
            .content
            .contains("was sent at 09:00 EDT while shipgate was offline; not run"),
        "{a_stale:?}"
    );
    assert!(
        a_windows
            .content
            .starts_with("(caught up: sent at 10:00 EDT while shipgate was offline)")
            && a_windows.content.contains("production: open"),
        "{a_windows:?}"
    );
    assert!(a_status.content.contains("no RC in flight"), "{a_status:?}");
    assert!(a_pay.content.contains("production: open"), "{a_pay:?}");
    assert!(
        i_stale < i_windows && i_windows < i_status,
        "in the order sent"
    );
    assert!(
        w.fake
            .requests()
            .iter()
            .any(|r| r == &format!("GET /api/v10/channels/{WEB}/messages?after={first}")),
        "{:#?}",
        w.fake.requests()
    );
    sg.wait_readyz(200).await;

    // Killed (SIGKILL) this time: the same.
    sg.kill();
    let crashed = ben(&w, PAYMENTS, "!sg status");
    let sg = start(&w.config, "2026-03-09T14:06:00Z");
    let (_, a_crashed) = wait_answer(&w, &crashed).await;
    assert!(
        a_crashed.content.contains("no RC in flight"),
        "{a_crashed:?}"
    );

    // Another restart reads nothing again: each was answered once.
    sg.stop();
    let sg = start(&w.config, "2026-03-09T14:07:00Z");
    sg.wait_readyz(200).await;
    let live = ana(&w, WEB, "!sg status");
    let (_, a_live) = wait_answer(&w, &live).await;
    assert!(!a_live.content.contains("caught up"), "{a_live:?}");
    for id in [&first, &stale, &windows, &status, &pay, &crashed, &live] {
        let n = w
            .fake
            .created()
            .iter()
            .filter(|c| replies_to(c, id))
            .count();
        assert_eq!(n, 1, "answers to {id}: {:#?}", w.fake.created());
    }
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_resume_catches_up() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    let first = ana(&w, WEB, "!sg status");
    wait_answer(&w, &first).await;
    // The gateway drops the bot and forgets its session; what ana types
    // meanwhile is never replayed by a RESUME.
    w.fake.forget_session();
    w.fake.drop_gateway(true);
    w.fake
        .wait_until("the bot to reconnect", |f| f.gateway_queries().len() >= 2)
        .await;
    let missed = ana(&w, WEB, "!sg windows");
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.fake.release();
    let (_, answer) = wait_answer(&w, &missed).await;
    assert!(answer.content.contains("production: open"), "{answer:?}");
    assert_eq!(w.fake.identifies().len(), 2, "a new session");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        w.fake
            .created()
            .iter()
            .filter(|c| replies_to(c, &missed))
            .count(),
        1
    );
    sg.wait_readyz(200).await;
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_code_that_forbids_resuming_catches_up() {
    let w = world().await;
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    let first = ana(&w, WEB, "!sg status");
    wait_answer(&w, &first).await;
    // 4009: the session timed out; the client must IDENTIFY anew, and
    // what ana types meanwhile is never replayed to it.
    w.fake.close_gateway(4009, true);
    w.fake
        .wait_until("the bot to reconnect", |f| f.gateway_queries().len() >= 2)
        .await;
    let missed = ana(&w, WEB, "!sg windows");
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.fake.release();
    let (_, answer) = wait_answer(&w, &missed).await;
    assert!(answer.content.contains("production: open"), "{answer:?}");
    assert_eq!(w.fake.identifies().len(), 2, "a new session");
    assert!(w.fake.resumes().is_empty(), "{:?}", w.fake.resumes());
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in [&first, &missed] {
        let n = w
            .fake
            .created()
            .iter()
            .filter(|c| replies_to(c, id))
            .count();
        assert_eq!(n, 1, "answers to {id}");
    }
    sg.wait_readyz(200).await;
    sg.stop();
}
