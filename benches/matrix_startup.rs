//! Start-up to ready against a local Synapse with quiet rooms, for
//! docs/benchmarks.md: from spawning `shipgate run` until `/readyz`
//! answers `200` (logged in or session restored, whoami checked, rooms
//! joined, caught up), for a first start (fresh store: password login)
//! and for restarts with the stored session. Target: under 3 s.
//!
//! `cargo bench --bench matrix_startup` (installs Synapse like the tests;
//! `--profile dev` measures a debug build, an upper bound for release).
//! `SHIPGATE_BENCH_ROOMS` (default 10) and `SHIPGATE_BENCH_RESTARTS`
//! (default 10) change the size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/synapse_support/mod.rs"]
mod synapse_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};

const PW: &str = "bench password";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawns the daemon; the time until `/readyz` answers `200`.
#[expect(
    clippy::zombie_processes,
    reason = "the child is returned; the caller stops it and waits"
)]
async fn start(config: &std::path::Path, port: u16) -> (Child, Duration) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/readyz");
    loop {
        if let Ok(r) = http.get(&url).send().await
            && r.status().as_u16() == 200
        {
            return (child, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("not ready within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(synapse) = synapse_support::start_or_skip("matrix_startup bench") else {
        return;
    };
    let rooms_n = env_usize("SHIPGATE_BENCH_ROOMS", 10);
    let restarts = env_usize("SHIPGATE_BENCH_RESTARTS", 10);
    synapse.register("shipgate", PW);
    synapse.register("ana", PW);
    let ana = synapse_support::logged_in(&synapse.url, "ana", PW).await;
    let bot: OwnedUserId = "@shipgate:localhost".try_into().unwrap();
    let mut rooms: Vec<OwnedRoomId> = Vec::new();
    for i in 0..rooms_n {
        let mut req = CreateRoom::new();
        req.name = Some(format!("product{i}"));
        req.invite = vec![bot.clone()];
        rooms.push(ana.create_room(req).await.unwrap().room_id().to_owned());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), PW).unwrap();
    let products: String = rooms
        .iter()
        .enumerate()
        .map(|(i, r)| format!("(name: \"product{i}\", channels: (matrix: \"{r}\")),"))
        .collect();
    let port = free_port();
    let config = dir.path().join("shipgate.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
    database: "shipgate.db",
    http: (listen: "127.0.0.1:{port}"),
    matrix: (homeserver: "{}", user: "@shipgate:localhost", password: File("pw")),
    products: [{products}],
    people: [(name: "ana", timezone: "America/New_York", chat: (matrix: "@ana:localhost"))],
)"#,
            synapse.url
        ),
    )
    .unwrap();
    println!("load average before: {}", loadavg());
    let (child, first) = start(&config, port).await;
    // Let the first start finish its key upload before stopping it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop(child);
    let mut again = Vec::new();
    for _ in 0..restarts {
        let (child, took) = start(&config, port).await;
        again.push(took.as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop(child);
    }
    println!("quiet rooms: {rooms_n}");
    println!(
        "first start (fresh store, password login) -> ready: {:.0} ms",
        first.as_secs_f64() * 1000.0
    );
    println!(
        "restart (stored session) -> ready, {restarts} runs: p50 {:.0} ms  p95 {:.0} ms  max {:.0} ms",
        percentile(&again, 0.5),
        percentile(&again, 0.95),
        percentile(&again, 1.0)
    );
    println!("load average after: {}", loadavg());
}
