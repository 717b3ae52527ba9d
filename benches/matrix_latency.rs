//! Matrix figures for docs/benchmarks.md, through a local Synapse:
//! the time from a user's command to shipgate's reply (p50, p95) side by
//! side with a raw client's send-then-receive round trip in the same run,
//! and the daemon's resident memory connected to 10 rooms.
//!
//! `cargo bench --bench matrix_latency` (installs Synapse like the tests).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![recursion_limit = "256"]

#[path = "../tests/synapse_support/mod.rs"]
mod synapse_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Reply;
use matrix_sdk::ruma::events::room::message::{
    OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};

const PW: &str = "bench password";
const ROUNDS: usize = 100;

const ROOMS: usize = 10;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(synapse) = synapse_support::start_or_skip("matrix_latency bench") else {
        return;
    };
    synapse.register("shipgate", PW);
    synapse.register("ana", PW);
    synapse.register("echo", PW);
    let ana = synapse_support::logged_in(&synapse.url, "ana", PW).await;
    let bot: OwnedUserId = "@shipgate:localhost".try_into().unwrap();
    let mut rooms: Vec<OwnedRoomId> = Vec::new();
    for i in 0..ROOMS {
        let mut req = CreateRoom::new();
        req.name = Some(format!("product{i}"));
        req.invite = vec![bot.clone()];
        rooms.push(ana.create_room(req).await.unwrap().room_id().to_owned());
    }
    let seen: Arc<Mutex<Vec<(String, String, Instant)>>> = Arc::default();
    let s2 = seen.clone();
    ana.add_event_handler(move |ev: OriginalSyncRoomMessageEvent| {
        let seen = s2.clone();
        async move {
            seen.lock().unwrap().push((
                ev.sender.to_string(),
                ev.content.body().to_owned(),
                Instant::now(),
            ));
        }
    });
    // Back-to-back long polls, like the daemon: `Client::sync` sleeps a
    // second after any poll that returned within a second of the previous
    // one, which would add that second to whatever the client sees next.
    let c2 = ana.clone();
    tokio::spawn(async move {
        let settings = SyncSettings::default().timeout(Duration::from_secs(5));
        loop {
            if c2.sync_once(settings.clone()).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    // The baseline for "what shipgate adds": a raw matrix-sdk bot that
    // answers every message at once, in its own room, polling like the
    // daemon. Same path (user -> homeserver -> bot -> homeserver -> user),
    // nothing in between.
    let echo = Client::builder()
        .homeserver_url(&synapse.url)
        .build()
        .await
        .unwrap();
    echo.matrix_auth()
        .login_username("echo", PW)
        .send()
        .await
        .unwrap();
    echo.sync_once(SyncSettings::default()).await.unwrap();
    let echo_id: OwnedUserId = "@echo:localhost".try_into().unwrap();
    let echo_room_id = {
        let mut req = CreateRoom::new();
        req.name = Some("echo".to_owned());
        req.invite = vec![echo_id.clone()];
        ana.create_room(req).await.unwrap().room_id().to_owned()
    };
    echo.join_room_by_id(&echo_room_id).await.unwrap();
    let me_for_echo: OwnedUserId = "@ana:localhost".try_into().unwrap();
    echo.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
        let me = me_for_echo.clone();
        async move {
            if ev.sender == me {
                // The same shape as shipgate's answers: an HTML notice that
                // replies to the message and mentions its sender.
                let body = format!("echo reply: {}", ev.content.body());
                let html = format!("<a href=\"https://matrix.to/#/{me}\">ana</a> {body}");
                let mut content = RoomMessageEventContent::notice_html(body, html)
                    .add_mentions(Mentions::with_user_ids([me.clone()]));
                content.relates_to = Some(Relation::Reply(Reply::with_event_id(ev.event_id)));
                let _ = room.send(content).await;
            }
        }
    });
    let e2 = echo.clone();
    tokio::spawn(async move {
        let settings = SyncSettings::default().timeout(Duration::from_secs(5));
        loop {
            if e2.sync_once(settings.clone()).await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), PW).unwrap();
    let products: String = rooms
        .iter()
        .enumerate()
        .map(|(i, r)| format!("(name: \"product{i}\", channels: (matrix: \"{r}\")),"))
        .collect();
    let config = dir.path().join("shipgate.ron");
    std::fs::write(
        &config,
        format!(
            r#"(
    database: "shipgate.db",
    http: (listen: "127.0.0.1:0"),
    matrix: (homeserver: "{}", user: "@shipgate:localhost", password: File("pw")),
    products: [{products}],
    people: [(name: "ana", timezone: "America/New_York", chat: (matrix: "@ana:localhost"))],
)"#,
            synapse.url
        ),
    )
    .unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .args(["run", "--config"])
        .arg(&config)
        .env(
            "RUST_LOG",
            std::env::var("SHIPGATE_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = daemon.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let log =
            std::env::var_os("SHIPGATE_BENCH_LOG_FILE").and_then(|p| std::fs::File::create(p).ok());
        let mut log = log.map(std::io::BufWriter::new);
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(f) = log.as_mut() {
                use std::io::Write as _;
                let _ = writeln!(f, "{l}");
                let _ = f.flush();
            }
            let _ = tx.send(l);
        }
    });
    loop {
        let l = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("daemon start");
        if l.contains("listening on") {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let room = ana.get_room(&rooms[0]).unwrap();
    let echo_room = ana.get_room(&echo_room_id).unwrap();
    let wait = |needle: String, sender: String, from: usize| {
        let seen = seen.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(t) = seen
                    .lock()
                    .unwrap()
                    .iter()
                    .skip(from)
                    .find(|(s, b, _)| *s == sender && b.contains(&needle))
                    .map(|x| x.2)
                {
                    return t;
                }
                assert!(Instant::now() < deadline, "timed out waiting for {needle}");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    let me = "@ana:localhost".to_owned();
    let mut raw = Vec::new();
    let mut echo_rt = Vec::new();
    let mut bot_rt = Vec::new();
    for i in 0..ROUNDS {
        // Raw client: send, then see our own message come back through sync.
        let from = seen.lock().unwrap().len();
        let start = Instant::now();
        room.send(RoomMessageEventContent::text_plain(format!("ping {i}")))
            .await
            .unwrap();
        let t = wait(format!("ping {i}"), me.clone(), from).await;
        raw.push((t - start).as_secs_f64() * 1000.0);
        // The raw echo bot: send, see its answer come back.
        let from = seen.lock().unwrap().len();
        let start = Instant::now();
        echo_room
            .send(RoomMessageEventContent::text_plain(format!("hello {i}")))
            .await
            .unwrap();
        let t = wait(format!("echo reply: hello {i}"), echo_id.to_string(), from).await;
        echo_rt.push((t - start).as_secs_f64() * 1000.0);
        // shipgate: send a command, see the bot's reply come back.
        let from = seen.lock().unwrap().len();
        let start = Instant::now();
        room.send(RoomMessageEventContent::text_plain("!sg status"))
            .await
            .unwrap();
        let t = wait("no RC in flight".to_owned(), bot.to_string(), from).await;
        bot_rt.push((t - start).as_secs_f64() * 1000.0);
    }
    let rss_kib: u64 = std::fs::read_to_string(format!("/proc/{}/status", daemon.id()))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let (r50, r95) = (
        percentile(&mut raw.clone(), 0.5),
        percentile(&mut raw, 0.95),
    );
    let (e50, e95) = (
        percentile(&mut echo_rt.clone(), 0.5),
        percentile(&mut echo_rt, 0.95),
    );
    let (b50, b95) = (
        percentile(&mut bot_rt.clone(), 0.5),
        percentile(&mut bot_rt, 0.95),
    );
    println!("rounds: {ROUNDS}, rooms: {ROOMS}");
    println!("raw client send->receive:   p50 {r50:.1} ms  p95 {r95:.1} ms");
    println!("raw echo bot message->reply: p50 {e50:.1} ms  p95 {e95:.1} ms");
    println!("shipgate command->reply:    p50 {b50:.1} ms  p95 {b95:.1} ms");
    println!(
        "shipgate adds (vs echo bot): p50 {:.1} ms  p95 {:.1} ms",
        b50 - e50,
        b95 - e95
    );
    println!(
        "shipgate vs one-way raw:    p50 +{:.1} ms  p95 +{:.1} ms",
        b50 - r50,
        b95 - r95
    );
    println!(
        "daemon resident memory with {ROOMS} rooms: {:.1} MiB",
        rss_kib as f64 / 1024.0
    );
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
}
