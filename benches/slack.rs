//! Slack figures for docs/benchmarks.md, against the protocol-level fake
//! Slack of the tests (Socket Mode + Web API on localhost): the time from
//! a person's message to shipgate's answer in its thread (p50, p95), side
//! by side with a raw Socket Mode client's receive-ack-post round trip
//! against the same fake in the same run; and the daemon's resident
//! memory serving 10 channels.
//!
//! `cargo bench --bench slack` (release) or `cargo test --bench slack`
//! (debug build; the figures say which).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/daemon_child/mod.rs"]
mod daemon_child;
#[path = "../tests/fake_slack/mod.rs"]
mod fake_slack;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const ROUNDS: usize = 200;
const CHANNELS: usize = 10;
const ANA: &str = "U0ANA";

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

/// A raw Socket Mode bot: acknowledges each message envelope and posts
/// one answer in its thread, nothing else (the fake's own round trip).
async fn raw_client(base: String) -> tokio::task::JoinHandle<()> {
    let http = reqwest::Client::new();
    let open: Value = http
        .post(format!("{base}/apps.connections.open"))
        .bearer_auth(fake_slack::APP_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = open["url"].as_str().unwrap().to_owned();
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    tokio::spawn(async move {
        while let Some(Ok(m)) = ws.next().await {
            let WsMessage::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            let Some(env) = v["envelope_id"].as_str() else {
                continue;
            };
            let ack = json!({ "envelope_id": env }).to_string();
            if ws.send(WsMessage::Text(ack)).await.is_err() {
                return;
            }
            let e = &v["payload"]["event"];
            let body = json!({
                "channel": e["channel"], "thread_ts": e["ts"], "text": "ok",
            });
            let _ = http
                .post(format!("{base}/chat.postMessage"))
                .bearer_auth(fake_slack::BOT_TOKEN)
                .json(&body)
                .send()
                .await;
        }
    })
}

async fn rounds(fake: &fake_slack::FakeSlack, channels: &[String]) -> Vec<f64> {
    let mut out = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let channel = &channels[i % channels.len()];
        let t0 = Instant::now();
        let ts = fake.say_live(channel, ANA, "!sg status");
        let at = fake
            .post_in_thread(&ts, Duration::from_secs(10))
            .await
            .expect("an answer");
        out.push(at.duration_since(t0).as_secs_f64() * 1000.0);
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let channels: Vec<String> = (0..CHANNELS).map(|i| format!("C0P{i:02}")).collect();
    let names: Vec<&str> = channels.iter().map(String::as_str).collect();
    let fake = fake_slack::FakeSlack::start(&names).await;

    // The baseline: the fake's raw round trip, no shipgate.
    let raw = raw_client(fake.base.clone()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _warm = rounds(&fake, &channels[..1]).await;
    let mut base = rounds(&fake, &channels).await;
    raw.abort();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let dir = tempfile::tempdir().unwrap();
    for (f, v) in [
        ("bot", fake_slack::BOT_TOKEN),
        ("app", fake_slack::APP_TOKEN),
        ("api-token", "bench-token"),
    ] {
        std::fs::write(dir.path().join(f), v).unwrap();
    }
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let products: String = channels
        .iter()
        .enumerate()
        .map(|(i, c)| format!("(name: \"product{i}\", channels: (slack: \"{c}\")),\n"))
        .collect();
    let config = dir.path().join("shipgate.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
    database: "shipgate.db",
    rules: "{rules}",
    seed: 7,
    http: (listen: "127.0.0.1:0", api_token: File("api-token")),
    slack: (bot_token: File("bot"), app_token: Some(File("app")), mode: Socket, api_base: Some("{base}")),
    products: [{products}],
    people: [(name: "ana", timezone: "America/New_York", chat: (slack: "{ANA}"), roles: ["engineer"])],
)"#,
            rules = rules.display(),
            base = fake.base,
        ),
    )
    .unwrap();
    let sg = daemon_child::Shipgate::start(
        &config,
        "2026-03-09T14:00:00Z",
        "bench-token",
        Duration::from_secs(60),
    );
    let _warm = rounds(&fake, &channels[..1]).await;
    let mut with = rounds(&fake, &channels).await;
    let rss = sg.rss_kib().unwrap_or(0);
    sg.stop();

    let (b50, b95) = (percentile(&mut base, 0.5), percentile(&mut base, 0.95));
    let (s50, s95) = (percentile(&mut with, 0.5), percentile(&mut with, 0.95));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("slack bench ({profile} build, {ROUNDS} rounds over {CHANNELS} channels)");
    println!("raw Socket Mode round trip: p50 {b50:.2} ms, p95 {b95:.2} ms");
    println!("shipgate answer:            p50 {s50:.2} ms, p95 {s95:.2} ms");
    println!(
        "shipgate adds:              p50 {:.2} ms, p95 {:.2} ms (target < 20 ms at p95)",
        s50 - b50,
        s95 - b95
    );
    println!(
        "shipgate RSS with {CHANNELS} channels: {:.1} MiB",
        rss as f64 / 1024.0
    );
}
