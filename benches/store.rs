//! Speed of the durable store (issue 3, "Tests and figures"); figures in
//! `docs/benchmarks.md`. Run with `cargo bench --bench store`.
//!
//! - `commit/durable` vs `commit/bare_insert`: one [`Store::commit`] per
//!   transaction with realistic sizes (~300-byte event, ~2 KB state, one
//!   outbox row, one audit row) next to a bare rusqlite `INSERT` of the same
//!   event in its own transaction, with the same pragmas (WAL,
//!   `synchronous=FULL`), on the same file system (target: ratio >= 0.5).
//!   After the criterion groups a paired pass alternates rounds of both and
//!   prints commits per second and the ratio.
//! - `read/state_100k`: [`Store::state`] with 100,000 past events (target:
//!   under 1 ms), and a few other reads at that size.

#![expect(
    clippy::panic,
    reason = "a benchmark whose setup fails must stop loudly"
)]

use std::fmt::Debug;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, Throughput};
use rusqlite::Connection;
use shipgate::store::{AuditRow, Commit, NewMessage, Store};

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

fn t0() -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0) {
        chrono::LocalResult::Single(t) => t,
        _ => panic!("bad time"),
    }
}

fn event_json(i: u64) -> String {
    let s = format!(
        r##"{{"merged":{{"product":"payments","change":"#{i}","author":"ana@example.com","title":"Fix rounding of refunds in the ledger export","url":"https://git.example.com/payments/pull/{i}","at":"2026-03-09T13:00:00Z","pad":"{}"}}}}"##,
        "x".repeat(80)
    );
    debug_assert!((280..=330).contains(&s.len()), "{}", s.len());
    s
}

fn commit(i: u64, state: &str) -> Commit {
    Commit {
        key: format!("github:{i:016x}"),
        at: t0() + TimeDelta::seconds(i64::try_from(i).unwrap_or(0)),
        kind: "merged".to_owned(),
        event_json: event_json(i),
        state_json: state.to_owned(),
        outbox: vec![NewMessage {
            card_json: None,
            product: "payments".to_owned(),
            text: format!("Change #{i} by @ana joins the next release candidate."),
            mentions: vec!["@ana:example.org".to_owned()],
            reply_to: None,
        }],
        audit: vec![AuditRow {
            actor: Some("ana".to_owned()),
            action: "change.merged".to_owned(),
            detail: format!("#{i} into payments"),
            rules_version: Some(
                "78d8cb34e1aafbc70eba1cb8517a0675f5080b53062aed340dc52534a58500ac".to_owned(),
            ),
            seed: Some(i),
        }],
    }
}

/// A ~2 KB engine state.
fn state_json() -> String {
    let changes: Vec<String> = (0..20)
        .map(|i| {
            format!(r##"{{"change":"#{i}","author":"person{i}@example.com","verified":false}}"##)
        })
        .collect();
    let s = format!(
        r#"{{"products":{{"payments":{{"rc":{{"id":"payments-2026-03-09.1","state":"verifying","manager":"ana","changes":[{}]}},"pool":[],"queue":[]}}}},"away":{{}}}}"#,
        changes.join(",")
    );
    debug_assert!((1800..=2300).contains(&s.len()), "{}", s.len());
    s
}

/// The bare baseline: the same pragmas, one autocommit INSERT per event.
fn bare(path: &Path) -> Connection {
    let conn = ok(Connection::open(path), "open the bare database");
    ok(conn.busy_timeout(Duration::from_secs(5)), "busy_timeout");
    let mode: String = ok(
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)),
        "journal_mode",
    );
    assert_eq!(mode, "wal");
    ok(
        conn.pragma_update(None, "synchronous", "FULL"),
        "synchronous",
    );
    ok(
        conn.pragma_update(None, "foreign_keys", "ON"),
        "foreign_keys",
    );
    ok(
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
        ),
        "create the bare table",
    );
    conn
}

fn bare_insert(conn: &Connection, i: u64, body: &str) {
    let mut stmt = ok(
        conn.prepare_cached("INSERT INTO events (key, body) VALUES (?1, ?2)"),
        "prepare",
    );
    ok(
        stmt.execute((format!("bare:{i:016x}"), body)),
        "bare insert",
    );
}

fn bench_commits(c: &mut Criterion, dir: &Path) {
    let state = state_json();
    let mut g = c.benchmark_group("commit");
    g.throughput(Throughput::Elements(1));

    let mut store = ok(Store::open(&dir.join("durable.db")), "open the store");
    let mut i = 0u64;
    g.bench_function("durable", |b| {
        b.iter(|| {
            i += 1;
            black_box(ok(store.commit(&commit(i, &state)), "commit"))
        })
    });

    let conn = bare(&dir.join("bare.db"));
    let body = event_json(0);
    let mut j = 0u64;
    g.bench_function("bare_insert", |b| {
        b.iter(|| {
            j += 1;
            bare_insert(&conn, j, &body);
        })
    });
    g.finish();
}

fn bench_reads(c: &mut Criterion, dir: &Path) {
    let path = dir.join("big.db");
    let mut store = ok(Store::open(&path), "open the big store");
    // 100,000 past events with their outbox (sent) and audit rows, written
    // in one transaction; then one real commit on top.
    ok(
        ok(Connection::open(&path), "open raw").execute_batch(
            "BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
             INSERT INTO events (key, at, kind, event_json)
             SELECT 'old:' || i, '2026-01-01T00:00:00.000000000Z', 'merged', printf('%.300c', 'x') FROM n;
             INSERT INTO outbox (event_seq, product, text, mentions_json, created_at, status)
             SELECT seq, 'payments', 'old message', '[]', at, 'sent' FROM events;
             INSERT INTO audit (event_seq, at, action, detail, seed)
             SELECT seq, at, 'change.merged', 'old', '1' FROM events;
             COMMIT;",
        ),
        "fill the big store",
    );
    ok(store.commit(&commit(1, &state_json())), "commit on top");
    assert_eq!(ok(store.event_count(), "count"), 100_001);

    let mut g = c.benchmark_group("read");
    g.bench_function("state_100k", |b| {
        b.iter(|| black_box(ok(store.state(), "state")))
    });
    g.bench_function("event_exists_100k", |b| {
        b.iter(|| black_box(ok(store.event_exists("old:54321"), "event_exists")))
    });
    g.bench_function("pending_outbox_100k", |b| {
        b.iter(|| black_box(ok(store.pending_outbox(t0(), 50), "pending_outbox")))
    });
    g.finish();
}

/// Alternate rounds of durable commits and bare inserts in the same run
/// and print the rates and their ratio.
fn paired_ratio(dir: &Path) {
    const ROUNDS: usize = 5;
    const PER_ROUND: u64 = 200;
    let state = state_json();
    let body = event_json(0);
    let mut store = ok(Store::open(&dir.join("paired-durable.db")), "open");
    let conn = bare(&dir.join("paired-bare.db"));
    let (mut durable, mut baseline) = (Vec::new(), Vec::new());
    let mut n = 0u64;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            n += 1;
            ok(store.commit(&commit(n, &state)), "commit");
        }
        durable.push(PER_ROUND as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            n += 1;
            bare_insert(&conn, n, &body);
        }
        baseline.push(PER_ROUND as f64 / started.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (d, b) = (median(&mut durable), median(&mut baseline));
    println!(
        "paired ({ROUNDS} rounds x {PER_ROUND}, medians): durable commits {d:.0}/s, \
         bare inserts {b:.0}/s, ratio {:.2}",
        d / b
    );
}

fn main() {
    // Next to the build output: the project's file system, not a tmpfs.
    let dir = ok(
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")),
        "create a scratch directory",
    );
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_commits(&mut c, dir.path());
    bench_reads(&mut c, dir.path());
    paired_ratio(dir.path());
    c.final_summary();
}
