//! `/api/gate` latency for docs/benchmarks.md (issue 11): the real
//! `shipgate run` on a manual clock (Friday, production closed, so every
//! answer works out when the window next opens), asked
//! `GET /api/gate/web` open loop at a fixed rate (200/s): request `i` is
//! due at `start + i / rate`, its latency runs from that due time to the
//! whole response, over a new connection per request.
//!
//! `cargo bench --bench gate` (release build), or `cargo test --bench gate`
//! for a debug build. Knobs: `SHIPGATE_BENCH_RATE` (requests/s, 200),
//! `SHIPGATE_BENCH_SECS` (measured seconds, 10).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let rate: f64 = env_num("SHIPGATE_BENCH_RATE", 200.0);
    let secs: f64 = env_num("SHIPGATE_BENCH_SECS", 10.0);
    let env = support::TestEnv::new(support::Setup::default());
    let d = env.start(support::FRIDAY_0930_NY);
    let addr = d.addr;
    let warmup = (rate * 1.0) as usize;
    let n = (rate * secs) as usize;
    let (tx, rx) = mpsc::channel();
    let start = Instant::now() + Duration::from_millis(100);
    for i in 0..warmup + n {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let tx = tx.clone();
        std::thread::spawn(move || {
            let r = support::try_http(addr, "GET", "/api/gate/web", &[], b"").unwrap();
            assert_eq!(r.status, 423, "{}", r.body);
            let ms = due.elapsed().as_secs_f64() * 1000.0;
            tx.send((i, ms)).unwrap();
        });
    }
    drop(tx);
    let mut lat: Vec<f64> = rx
        .iter()
        .filter(|(i, _)| *i >= warmup)
        .map(|(_, ms)| ms)
        .collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "GET /api/gate/web, {rate}/s open loop, {} requests: p50 {:.2} / p95 {:.2} / p99 {:.2} / max {:.2} ms",
        lat.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.95),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );
    d.stop();
}
