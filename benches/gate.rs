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

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Sample {
    total: f64,
    lag: f64,
    connect: f64,
    answer: f64,
}

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
            let began = Instant::now();
            let mut stream = TcpStream::connect(addr).unwrap();
            let connected = Instant::now();
            stream.set_nodelay(true).unwrap();
            stream
                .write_all(&support::request_bytes(
                    addr,
                    "GET",
                    "/api/gate/web",
                    &[],
                    b"",
                ))
                .unwrap();
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).unwrap();
            let done = Instant::now();
            assert!(
                raw.starts_with(b"HTTP/1.1 423"),
                "{}",
                String::from_utf8_lossy(&raw)
            );
            let ms = |a: Instant, b: Instant| b.duration_since(a).as_secs_f64() * 1000.0;
            let s = Sample {
                total: ms(due, done),
                lag: ms(due, began),
                connect: ms(began, connected),
                answer: ms(connected, done),
            };
            tx.send((i, s)).unwrap();
        });
    }
    drop(tx);
    let samples: Vec<Sample> = rx
        .iter()
        .filter(|(i, _)| *i >= warmup)
        .map(|(_, s)| s)
        .collect();
    let sorted = |f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    };
    let line = |name: &str, v: &[f64]| {
        println!(
            "  {name:<8} p50 {:.2} / p95 {:.2} / p99 {:.2} / max {:.2} ms",
            pct(v, 0.50),
            pct(v, 0.95),
            pct(v, 0.99),
            v.last().copied().unwrap_or(0.0)
        );
    };
    let lat = sorted(|s| s.total);
    println!(
        "GET /api/gate/web, {rate}/s open loop, {} requests: p50 {:.2} / p95 {:.2} / p99 {:.2} / max {:.2} ms",
        lat.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.95),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );
    // Where the time goes: the generator's own lag (its sleep overshooting
    // and the request's thread starting), `connect`, then the request
    // written until the whole response is read.
    line("lag", &sorted(|s| s.lag));
    line("connect", &sorted(|s| s.connect));
    line("answer", &sorted(|s| s.answer));
    // The slowest 1%: which part made them slow.
    let mut worst: Vec<&Sample> = samples.iter().collect();
    worst.sort_by(|a, b| b.total.partial_cmp(&a.total).unwrap());
    let k = (samples.len() / 100).max(1);
    let mean = |f: fn(&Sample) -> f64| worst[..k].iter().map(|s| f(s)).sum::<f64>() / k as f64;
    println!(
        "  slowest {k}: mean lag {:.2} + connect {:.2} + answer {:.2} ms",
        mean(|s| s.lag),
        mean(|s| s.connect),
        mean(|s| s.answer)
    );
    d.stop();
}
