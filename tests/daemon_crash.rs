//! Crash safety: `kill -9` the real daemon at random moments while signed
//! webhooks and chat events arrive, at least 100 times, restarting it on
//! the same database each time.
//!
//! After every kill (before the restart) the database passes
//! `PRAGMA integrity_check` and holds every delivery that was acknowledged
//! with a 2xx. At the end, after one clean run, every outbox message is
//! sent and was printed exactly once across all runs.
//!
//! The kill moments come from a seeded RNG; the seed is printed, and
//! `SHIPGATE_CRASH_SEED=N` replays a run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shipgate::store::Store;
use support::{
    FRIDAY_0930_NY, Setup, TestEnv, chat_line, posts, pr_merged_body, try_github, try_http,
};

const CYCLES: u64 = 100;

/// What the sender thread got acknowledged.
#[derive(Debug, Default)]
struct Acked {
    deliveries: Vec<String>,
    api_keys: Vec<String>,
}

/// Sends a few deliveries and chat events until done or refused.
fn send_cycle(
    addr: std::net::SocketAddr,
    secret: &str,
    token: &str,
    cycle: u64,
    deliveries: u64,
    acked: &Mutex<Acked>,
) {
    let auth = format!("Bearer {token}");
    for j in 0..deliveries {
        let delivery = format!("crash-{cycle}-{j}");
        let pr = cycle * 10 + j + 1;
        let body = pr_merged_body("acme/web", pr, "benk", &format!("Change {pr}"));
        match try_github(addr, secret, "pull_request", &delivery, &body) {
            Ok(r) if r.is_success() => acked.lock().unwrap().deliveries.push(delivery),
            Ok(r) => panic!("delivery {delivery} refused: {} {}", r.status, r.body),
            Err(_) => return,
        }
        // A chat event that posts something unique to this cycle: an RC
        // cut (with the cycle in its reason), or its release.
        let text = match j {
            0 => format!("!sg rc request crash cycle {cycle}"),
            1 => "!sg rc released".to_owned(),
            _ => continue,
        };
        let key = format!("crash-{cycle}-chat-{j}");
        let body = chat_line("web", "ana", &text);
        match try_http(
            addr,
            "POST",
            "/api/events",
            &[("Authorization", &auth), ("Idempotency-Key", &key)],
            body.as_bytes(),
        ) {
            Ok(r) if r.is_success() => acked.lock().unwrap().api_keys.push(key),
            Ok(r) => panic!("chat event {key} refused: {} {}", r.status, r.body),
            Err(_) => return,
        }
    }
}

/// How the console renders a stored message.
fn rendered(product: &str, text: &str) -> String {
    format!("[{product}] shipgate: {}", text.replace('\n', "\n    "))
}

#[test]
fn kill_9_at_random_moments_loses_and_repeats_nothing() {
    let seed: u64 = std::env::var("SHIPGATE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test seed: {seed} (replay with SHIPGATE_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let env = TestEnv::new(Setup::default());
    let setup = env.setup.clone();
    let db = env.db_path();
    let started = Instant::now();
    let mut stdout: Vec<String> = Vec::new();
    let mut all_acked: Vec<String> = Vec::new();
    let mut acked_api = 0usize;
    let mut start_time = Duration::ZERO;

    for cycle in 0..CYCLES {
        let t0 = Instant::now();
        let d = env.start(FRIDAY_0930_NY);
        start_time += t0.elapsed();
        let acked = Arc::new(Mutex::new(Acked::default()));
        let n = rng.random_range(2..=5);
        let sender = {
            let (addr, acked) = (d.addr, acked.clone());
            let (secret, token) = (setup.github_secret.clone(), setup.api_token.clone());
            std::thread::spawn(move || send_cycle(addr, &secret, &token, cycle, n, &acked))
        };
        std::thread::sleep(Duration::from_millis(rng.random_range(0..=50)));
        let f = d.kill9();
        sender.join().unwrap();
        stdout.extend(f.stdout);

        // Before the restart: the file is sound and holds every delivery
        // the daemon acknowledged.
        let store = Store::open(&db).unwrap_or_else(|e| panic!("cycle {cycle} (seed {seed}): {e}"));
        assert!(
            store.integrity_check().unwrap(),
            "cycle {cycle} (seed {seed}): integrity_check failed"
        );
        let acked = acked.lock().unwrap();
        for delivery in &acked.deliveries {
            assert!(
                store.event_exists(&format!("github:{delivery}:0")).unwrap(),
                "cycle {cycle} (seed {seed}): acknowledged delivery {delivery} is missing"
            );
        }
        for key in &acked.api_keys {
            assert!(
                store.event_exists(&format!("api:{key}:0")).unwrap(),
                "cycle {cycle} (seed {seed}): acknowledged event {key} is missing"
            );
        }
        all_acked.extend(acked.deliveries.iter().cloned());
        acked_api += acked.api_keys.len();
    }
    let crash_time = started.elapsed();

    // One clean run: it sends what is left, then stops on SIGTERM.
    let mut d = env.start(FRIDAY_0930_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    let deadline = Instant::now() + support::WAIT;
    while d.metric("shipgate_outbox_depth") > 0.0 {
        assert!(Instant::now() < deadline, "the outbox did not drain");
        std::thread::sleep(Duration::from_millis(20));
    }
    let f = d.stop();
    stdout.extend(f.stdout);

    let store = Store::open(&db).unwrap();
    assert!(store.integrity_check().unwrap());
    for delivery in &all_acked {
        assert!(store.event_exists(&format!("github:{delivery}:0")).unwrap());
    }
    assert_eq!(store.outbox_depth().unwrap(), 0, "messages left unsent");

    // Every stored message was printed exactly once over all the runs.
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    let (mut id, mut misses, mut total) = (1i64, 0, 0usize);
    while misses < 100 {
        match store.outbox_message(id).unwrap() {
            Some(m) => {
                misses = 0;
                total += 1;
                assert!(m.sent, "message {id} is not sent: {m:?}");
                *stored.entry(rendered(&m.product, &m.text)).or_default() += 1;
            }
            None => misses += 1,
        }
        id += 1;
    }
    let mut printed: BTreeMap<String, usize> = BTreeMap::new();
    for (_, p) in posts(&stdout) {
        if p.starts_with('[') {
            *printed.entry(p).or_default() += 1;
        }
    }
    let mut wrong = Vec::new();
    for (text, n) in &stored {
        let p = printed.get(text).copied().unwrap_or(0);
        if p != *n {
            wrong.push(format!("stored {n}x, printed {p}x: {text}"));
        }
    }
    for (text, p) in &printed {
        if !stored.contains_key(text) {
            wrong.push(format!("printed {p}x, never stored: {text}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "seed {seed}: outbox and stdout disagree:\n{}",
        wrong.join("\n")
    );
    let cuts = stored.keys().filter(|t| t.contains("is cut")).count();
    println!(
        "{CYCLES} kill -9 cycles in {crash_time:?} (start-up {start_time:?}); {} deliveries and {acked_api} chat events acknowledged; {total} messages ({cuts} RC cuts), each printed once",
        all_acked.len()
    );
    assert!(!all_acked.is_empty(), "no delivery was ever acknowledged");
    assert!(cuts > 0, "no RC was ever cut");
}
