//! Daemon figures for docs/benchmarks.md (issue 4), measured on the
//! release-built `shipgate run` with the console adapter and a real clock:
//!
//! 1. Webhook to durable 2xx: signed GitHub `push` / `pull_request`
//!    deliveries (each with its own `X-GitHub-Delivery`) to
//!    `POST /hooks/github`, open loop at a fixed rate (200/s): request `i`
//!    is due at `start + i / rate` whatever happened to the others, and its
//!    latency runs from that due time to the whole 2xx response, so
//!    queueing (in the daemon or in this client) counts. A new connection
//!    per request, as GitHub makes. Then the same for `POST /api/events`.
//! 2. Save-to-active rules reload: a changed valid rules file is written
//!    into the watched rules directory (in place, or to a hidden temporary
//!    file renamed over it, as editors do), and `GET /api/status` is polled
//!    every millisecond until the new version is active, 100-200 ms apart
//!    (as a person saves). Debounce included. The daemon's reload counters
//!    (`/metrics`) are read before and after: one reload per save.
//! 3. Idle resident memory (`VmRSS`) of the daemon a few seconds after it
//!    started, and again after the load.
//!
//! `cargo bench --bench daemon`. The database lives on the real disk, under
//! `target/bench-daemon/` (`SHIPGATE_BENCH_DIR` moves it); the bench prints
//! the file system it is on. Knobs: `SHIPGATE_BENCH_RATE` (requests/s, 200),
//! `SHIPGATE_BENCH_SECS` (measured seconds per endpoint, 30),
//! `SHIPGATE_BENCH_SAVES` (saves per save style, 100), `SHIPGATE_BENCH_LOG`
//! (the daemon's `RUST_LOG`; unset: its default, `info`),
//! `SHIPGATE_BENCH_BIN` (another `shipgate` binary to measure, e.g. an
//! older build for comparison), `SHIPGATE_BENCH_ONLY=reload` (only the
//! reload and memory figures, skipping the webhooks).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const API_TOKEN: &str = "tok-bench-5b1e9c0d7a";
const GITHUB_SECRET: &str = "ghs-bench-8f2a6d4c19";
/// Requests before the measured ones, not counted (connections, caches,
/// the first pages of the database file).
const WARMUP_SECS: f64 = 2.0;
/// Distinct change ids the deliveries cycle through, so the pool (and the
/// state written with every event) stays the size of a busy day's.
const CHANGES: u64 = 25;

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// The mount point and file system type `path` is on, from /proc/mounts.
fn file_system(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && path.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} ({} on {})", f[2], f[0], f[1])))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, s)| s)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0))
            })
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(name: &str, mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.total_cmp(b));
    format!(
        "{name}: n {}  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        ms.len(),
        pct(&ms, 0.50),
        pct(&ms, 0.95),
        pct(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN)
    )
}

/// Signed GitHub deliveries, alternately a `push` of one commit and a
/// merged `pull_request`, to `acme/web`'s default branch.
fn github_request(addr: SocketAddr, run: &str, i: u64) -> Vec<u8> {
    let n = i % CHANGES + 1;
    let (event, body) = if i.is_multiple_of(2) {
        (
            "push",
            serde_json::json!({
                "ref": "refs/heads/main",
                "before": "0000000000000000000000000000000000000000",
                "after": format!("{n:040x}"),
                "repository": { "full_name": "acme/web" },
                "pusher": { "name": "benk" },
                "commits": [{
                    "id": format!("{:040x}", 0xc0ff_ee00_0000_u64 + n),
                    "message": format!("Tune the cache of page {n}\n\nLonger description."),
                    "author": { "name": "Ben K", "email": "ben@acme.example", "username": "benk" },
                }],
            }),
        )
    } else {
        (
            "pull_request",
            serde_json::json!({
                "action": "closed",
                "number": n,
                "pull_request": {
                    "number": n,
                    "merged": true,
                    "title": format!("Fix the layout of form {n}"),
                    "user": { "login": "ana-acme" },
                    "base": { "ref": "main" },
                },
                "repository": { "full_name": "acme/web" },
            }),
        )
    };
    let body = body.to_string().into_bytes();
    let sig = support::github_signature(GITHUB_SECRET, &body);
    let delivery = format!("bench-{run}-{i:08}");
    support::request_bytes(
        addr,
        "POST",
        "/hooks/github",
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", "GitHub-Hookshot/bench"),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", &delivery),
            ("X-Hub-Signature-256", &sig),
        ],
        &body,
    )
}

/// One merged change for `POST /api/events`, with its own idempotency key.
fn api_request(addr: SocketAddr, run: &str, i: u64) -> Vec<u8> {
    let n = i % CHANGES + 1;
    let body = serde_json::json!({ "merged": {
        "product": "web", "change": format!("#{n}"), "author": "ana", "title": format!("Fix the layout of form {n}"),
    }})
    .to_string();
    let auth = format!("Bearer {API_TOKEN}");
    let key = format!("bench-{run}-{i:08}");
    support::request_bytes(
        addr,
        "POST",
        "/api/events",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", &key),
        ],
        body.as_bytes(),
    )
}

/// Sends one request on a new connection; the HTTP status and the body.
async fn exchange(addr: SocketAddr, req: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(req).await?;
    let mut raw = Vec::with_capacity(512);
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// What one open-loop run measured.
struct Run {
    /// Latency from due time to the whole 2xx response, measured requests.
    ok_ms: Vec<f64>,
    /// The same from the moment the client actually started the request
    /// (leaves out the client's own lateness on a busy machine).
    sent_ms: Vec<f64>,
    failures: Vec<String>,
    /// How late the generator itself started requests, worst case.
    worst_start_lag_ms: f64,
    elapsed: Duration,
}

/// Sends `requests` (prepared beforehand, so signing costs nothing during
/// the run) on a fixed schedule of `rate` per second; the first `warmup`
/// are not counted.
async fn open_loop(
    addr: SocketAddr,
    requests: Vec<Vec<u8>>,
    rate: f64,
    warmup: usize,
    expect: &'static str,
) -> Run {
    let period = Duration::from_secs_f64(1.0 / rate);
    // The schedule runs on its own thread with the OS's sleep (tens of
    // microseconds late at worst on an idle core), not on tokio's timer,
    // which rounds every sleep up to the next millisecond.
    let runtime = tokio::runtime::Handle::current();
    let generator = std::thread::spawn(move || {
        let start = Instant::now() + Duration::from_millis(50);
        let mut handles = Vec::with_capacity(requests.len());
        let mut worst_lag = Duration::ZERO;
        for (i, req) in requests.into_iter().enumerate() {
            let due = start + period * u32::try_from(i).unwrap();
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            worst_lag = worst_lag.max(Instant::now() - due);
            handles.push(runtime.spawn(async move {
                let sent = Instant::now();
                let r = exchange(addr, &req).await;
                let done = Instant::now();
                let ms = |from: Instant| (done - from).as_secs_f64() * 1000.0;
                (i, ms(due), ms(sent), r)
            }));
        }
        (start, handles, worst_lag)
    });
    let (start, handles, worst_lag) = tokio::task::spawn_blocking(move || generator.join())
        .await
        .unwrap()
        .unwrap();
    let mut run = Run {
        ok_ms: Vec::new(),
        sent_ms: Vec::new(),
        failures: Vec::new(),
        worst_start_lag_ms: worst_lag.as_secs_f64() * 1000.0,
        elapsed: Duration::ZERO,
    };
    for h in handles {
        let (i, ms, sent_ms, r) = h.await.unwrap();
        let good = matches!(&r, Ok((s, b)) if (200..300).contains(s) && b.contains(expect));
        if !good {
            run.failures.push(format!("request {i}: {r:?}"));
        } else if i >= warmup {
            run.ok_ms.push(ms);
            run.sent_ms.push(sent_ms);
        }
    }
    run.elapsed = start.elapsed();
    run
}

/// The rules file: the repository's default rules, with production's
/// closing time moved (`15:MM`; its `test` block still passes) and the save
/// number in a comment, so every save is a new, valid version.
fn rules_text(base: &str, save: u32) -> String {
    let mm = save % 59 + 1;
    let text = base.replacen(
        "open mon-thu 08:00-16:00",
        &format!("open mon-thu 08:00-15:{mm:02}"),
        1,
    );
    assert_ne!(
        text, base,
        "the default rules changed shape; update the bench"
    );
    format!("# bench save {save}\n{text}")
}

struct Daemon {
    child: Child,
    /// Kept open: the console stops the daemon at end of input.
    _stdin: ChildStdin,
    addr: SocketAddr,
    stdout_lines: Arc<std::sync::atomic::AtomicU64>,
}

impl Daemon {
    fn start(config: &Path) -> Daemon {
        let bin = std::env::var_os("SHIPGATE_BENCH_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_shipgate").into());
        let mut cmd = Command::new(bin);
        cmd.args(["run", "--config"])
            .arg(config)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Ok(filter) = std::env::var("SHIPGATE_BENCH_LOG") {
            cmd.env("RUST_LOG", filter);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout_lines = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut stdout = child.stdout.take().unwrap();
        let counter = stdout_lines.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let lines = buf[..n].iter().filter(|b| **b == b'\n').count();
                counter.fetch_add(lines as u64, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if l.contains("WARN") || l.contains("ERROR") {
                    eprintln!("daemon: {l}");
                }
                let _ = tx.send(l);
            }
        });
        let addr = loop {
            let l = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the daemon did not start listening");
            if let Some(rest) = l.strip_prefix("shipgate: listening on http://") {
                break rest.split(';').next().unwrap().trim().parse().unwrap();
            }
        };
        Daemon {
            child,
            _stdin: stdin,
            addr,
            stdout_lines,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        println!("daemon stopped: {status}");
    }
}

/// Events decided (all kinds) and, when the daemon counts them, the
/// transactions that stored them, from `GET /metrics`.
async fn commit_counts(addr: SocketAddr) -> (f64, Option<f64>) {
    let req = support::request_bytes(addr, "GET", "/metrics", &[], b"");
    let body = exchange(addr, &req).await.map(|r| r.1).unwrap_or_default();
    let value = |l: &str| l.rsplit(' ').next()?.parse::<f64>().ok();
    let events = body
        .lines()
        .filter(|l| l.starts_with("shipgate_events_total{"))
        .filter_map(value)
        .sum();
    let commits = body
        .lines()
        .find(|l| l.starts_with("shipgate_event_commits_total "))
        .and_then(value);
    (events, commits)
}

/// `GET /api/status`'s rules version.
async fn rules_version(addr: SocketAddr) -> Option<String> {
    let req = support::request_bytes(addr, "GET", "/api/status", &[], b"");
    let (status, body) = exchange(addr, &req).await.ok()?;
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["rules"]["version"].as_str().map(str::to_owned)
}

/// `shipgate_rules_reloads_total` from `GET /metrics`: (ok, failed).
async fn reload_counts(addr: SocketAddr) -> (u64, u64) {
    let req = support::request_bytes(addr, "GET", "/metrics", &[], b"");
    let body = exchange(addr, &req).await.map(|r| r.1).unwrap_or_default();
    let read = |label: &str| {
        let prefix = format!("shipgate_rules_reloads_total{{result=\"{label}\"}} ");
        body.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    (read("ok"), read("failed"))
}

/// The version the daemon will compute for the rules directory.
fn expected_version(rules_path: &Path) -> String {
    let sources = shipgate::rules::source::read_sources(&[rules_path.to_owned()]).unwrap();
    shipgate::daemon::reload::hash_sources(&sources)
}

/// Saves new rules `saves` times in the given style and times each until
/// `GET /api/status` shows it active. Returns milliseconds per save.
async fn reload_run(
    addr: SocketAddr,
    rules_dir: &Path,
    rules_path: &Path,
    base: &str,
    first: u32,
    saves: u32,
    atomic: bool,
) -> Vec<f64> {
    let file = rules_dir.join("release-process.rules");
    let mut out = Vec::new();
    let mut current = rules_version(addr).await.unwrap();
    for save in first..first + saves {
        let text = rules_text(base, save);
        let t0 = Instant::now();
        if atomic {
            let tmp = rules_dir.join(".release-process.rules.tmp");
            std::fs::write(&tmp, &text).unwrap();
            std::fs::rename(&tmp, &file).unwrap();
        } else {
            std::fs::write(&file, &text).unwrap();
        }
        let want = expected_version(rules_path);
        assert_ne!(want, current);
        let deadline = t0 + Duration::from_secs(10);
        loop {
            let v = rules_version(addr).await;
            if v.as_deref() == Some(want.as_str()) {
                out.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "save {save}: version {want} not active after 10 s (status says {v:?})"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        current = want;
        // Let the reload's announcement commit and the console print it,
        // then pause a little, as a person between saves would (varied, so
        // saves do not fall in step with anything periodic).
        let pause = 100 + u64::from(save * 37 % 101);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    out
}

fn write_setup(root: &Path, base_rules: &str) -> (PathBuf, PathBuf, PathBuf) {
    let rules_dir = root.join("rules");
    std::fs::create_dir_all(&rules_dir).unwrap();
    std::fs::write(rules_dir.join("release-process.rules"), base_rules).unwrap();
    let secrets = root.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("api-token"), format!("{API_TOKEN}\n")).unwrap();
    std::fs::write(secrets.join("github"), format!("{GITHUB_SECRET}\n")).unwrap();
    let config = root.join("shipgate.ron");
    std::fs::write(
        &config,
        r#"(
    database: "shipgate.db",
    rules: "rules",
    prefix: "!sg ",
    console: (person: "ana", product: "web"),
    http: (
        listen: "127.0.0.1:0",
        body_limit: 1048576,
        api_token: File("secrets/api-token"),
        github_secret: File("secrets/github"),
    ),
    products: [
        (name: "web", default_branch: "main", repos: ["acme/web"]),
        (name: "payments", channels: (console: "payments"), repos: ["acme/payments"]),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", git: ["ana@acme.example", "ana-acme"], roles: ["engineer", "lead"]),
        (name: "ben", timezone: "America/New_York", git: ["ben@acme.example", "benk"]),
        (name: "clara", timezone: "Europe/Berlin", git: ["clara@acme.example", "clara-b"], roles: ["engineer", "lead"]),
    ],
)
"#,
    )
    .unwrap();
    (config, rules_dir.clone(), root.join("shipgate.db"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing to filter here.
    let rate: f64 = env_num("SHIPGATE_BENCH_RATE", 200.0);
    let secs: f64 = env_num("SHIPGATE_BENCH_SECS", 30.0);
    let saves: u32 = env_num("SHIPGATE_BENCH_SAVES", 100);
    let base_dir = std::env::var_os("SHIPGATE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-daemon"));
    std::fs::create_dir_all(&base_dir).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&base_dir)
        .unwrap();
    let base_rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/release-process.rules"),
    )
    .unwrap();
    let (config, rules_dir, db) = write_setup(dir.path(), &base_rules);
    println!("directory: {}", dir.path().display());
    println!("file system: {}", file_system(dir.path()));
    println!("load average at start: {}", load_average());

    let daemon = Daemon::start(&config);
    let addr = daemon.addr;
    let pid = daemon.pid();

    // 3. Idle memory, before any request.
    let started = Instant::now();
    for s in 1..=5 {
        tokio::time::sleep_until((started + Duration::from_secs(s)).into()).await;
        let (rss, hwm) = memory(pid);
        println!(
            "idle {s} s after listening: VmRSS {:.1} MiB (peak {:.1} MiB)",
            mib(rss),
            mib(hwm)
        );
    }
    println!("load average: {}", load_average());

    // 1. Webhooks, then the events API, open loop.
    let run_id = format!("{}", std::process::id());
    let warmup = (WARMUP_SECS * rate) as usize;
    let total = warmup + (secs * rate) as usize;
    let mut summaries = Vec::new();
    let only_reload = std::env::var("SHIPGATE_BENCH_ONLY").is_ok_and(|v| v == "reload");
    let endpoints: &[(&str, &str)] = if only_reload {
        &[]
    } else {
        &[
            ("POST /hooks/github", "\"applied\":1"),
            ("POST /api/events", "\"applied\":1"),
        ]
    };
    for &(name, expect) in endpoints {
        let reqs: Vec<Vec<u8>> = (0..total as u64)
            .map(|i| {
                if name.contains("hooks") {
                    github_request(addr, &run_id, i)
                } else {
                    api_request(addr, &run_id, i)
                }
            })
            .collect();
        let before = load_average();
        let m0 = commit_counts(addr).await;
        let run = open_loop(addr, reqs, rate, warmup, expect).await;
        let m1 = commit_counts(addr).await;
        let per_commit = match (m0, m1) {
            ((e0, Some(c0)), (e1, Some(c1))) if c1 > c0 => {
                format!("{:.2} events per disk commit", (e1 - e0) / (c1 - c0))
            }
            _ => "no commit count (binary without group commit)".to_owned(),
        };
        let line = format!(
            "{} at {rate}/s for {secs} s (+{WARMUP_SECS} s warm-up), {} failed; {}; {per_commit}; generator lag max {:.2} ms, took {:.1} s, load average {before} -> {}",
            summary(name, run.ok_ms),
            run.failures.len(),
            summary("from send", run.sent_ms),
            run.worst_start_lag_ms,
            run.elapsed.as_secs_f64(),
            load_average()
        );
        for f in run.failures.iter().take(5) {
            println!("  failure: {f}");
        }
        println!("{line}");
        summaries.push(line);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // 2. Rules reload, in place then by rename.
    let rules_path = rules_dir.clone();
    for (i, atomic) in [false, true].into_iter().enumerate() {
        let before = load_average();
        let counts_before = reload_counts(addr).await;
        let ms = reload_run(
            addr,
            &rules_dir,
            &rules_path,
            &base_rules,
            u32::try_from(i).unwrap() * saves + 1,
            saves,
            atomic,
        )
        .await;
        // The last reload has settled (its announcement committed) by now.
        let counts_after = reload_counts(addr).await;
        let line = format!(
            "{}; {} reloads loaded, {} rejected for {saves} saves; load average {before} -> {}",
            summary(
                if atomic {
                    "save (write + rename) -> active"
                } else {
                    "save (in place) -> active"
                },
                ms
            ),
            counts_after.0 - counts_before.0,
            counts_after.1 - counts_before.1,
            load_average()
        );
        println!("{line}");
        summaries.push(line);
    }

    // 3b. Memory after the load, settled.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss, hwm) = memory(pid);
    let after = format!(
        "after the load, 5 s idle: VmRSS {:.1} MiB (peak {:.1} MiB)",
        mib(rss),
        mib(hwm)
    );
    println!("{after}");
    let db_size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "database {:.1} MiB; console lines printed {}",
        db_size as f64 / (1024.0 * 1024.0),
        daemon
            .stdout_lines
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    daemon.stop();
    println!("\nsummary:");
    for s in summaries {
        println!("{s}");
    }
    println!("{after}");
}
