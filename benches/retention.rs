//! Retention and backup figures (issue 12, "Database care"); results in
//! `docs/benchmarks.md`. Run with `cargo bench --bench retention`.
//!
//! 1. Builds a database of 1,000,000 events spread over 800 days, each with
//!    a sent outbox message and an audit row (as the daemon writes them).
//! 2. Times `shipgate db backup` (the online backup, with its check) of it.
//! 3. Runs a writer committing one realistic event every 5 ms, first alone,
//!    then while a [`Pruner`] removes everything older than 400 days in the
//!    daemon's batches and pauses; prints the writer's commit latency
//!    (p50, p99, max) both ways and the prune speed.
//!
//! `SHIPGATE_BENCH_EVENTS` changes the size (default 1,000,000).

#![expect(
    clippy::panic,
    reason = "a benchmark whose setup fails must stop loudly"
)]

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rusqlite::params;
use shipgate::daemon::retention::{BATCH, PAUSE, pause_after};
use shipgate::store::retention::Pruner;
use shipgate::store::{AuditRow, Commit, NewMessage, Store, maintenance};

fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

fn now() -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0) {
        chrono::LocalResult::Single(t) => t,
        _ => panic!("bad time"),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn event_json(i: u64) -> String {
    format!(
        r##"{{"merged":{{"product":"payments","change":"#{i}","author":"ana@example.com","title":"Fix rounding of refunds in the ledger export","url":"https://git.example.com/payments/pull/{i}"}}}}"##
    )
}

/// Fills `path` (already migrated) with `n` events over the 800 days
/// before [`now`], each with a sent message and an audit row.
fn fill(path: &Path, n: u64) {
    let mut conn = ok(rusqlite::Connection::open(path), "open");
    ok(conn.pragma_update(None, "synchronous", "OFF"), "pragma");
    let tx = ok(conn.transaction(), "begin");
    {
        let mut ev = ok(
            tx.prepare("INSERT INTO events (seq, key, at, kind, event_json) VALUES (?1, ?2, ?3, 'merged', ?4)"),
            "prepare",
        );
        let mut out = ok(
            tx.prepare(
                "INSERT INTO outbox (event_seq, product, text, mentions_json, status, created_at, remote_id) \
                 VALUES (?1, 'payments', ?2, '[\"@ana:example.org\"]', 'sent', ?3, ?4)",
            ),
            "prepare",
        );
        let mut audit = ok(
            tx.prepare(
                "INSERT INTO audit (event_seq, at, actor, action, detail, rules_version, seed) \
                 VALUES (?1, ?2, 'ana', 'change.merged', ?3, '78d8cb34e1aafbc70eba1cb8517a0675f5080b53062aed340dc52534a58500ac', ?4)",
            ),
            "prepare",
        );
        let span = TimeDelta::days(800).num_milliseconds();
        let n_i = i64::try_from(n).unwrap_or(i64::MAX);
        for i in 0..n {
            let i_i = i64::try_from(i).unwrap_or(0);
            let at = stamp(now() - TimeDelta::milliseconds(span - span / n_i * i_i));
            let seq = i_i + 1;
            ok(
                ev.execute(params![seq, format!("github:{i:016x}"), at, event_json(i)]),
                "event",
            );
            ok(
                out.execute(params![
                    seq,
                    format!("Change #{i} by @ana joins the next release candidate."),
                    at,
                    format!("$remote{i}")
                ]),
                "outbox",
            );
            ok(
                audit.execute(params![
                    seq,
                    at,
                    format!("#{i} into payments"),
                    i.to_string()
                ]),
                "audit",
            );
        }
        ok(
            tx.execute(
                "INSERT INTO state (id, seq, state_json) VALUES (1, ?1, '{}')",
                [n_i],
            ),
            "state",
        );
    }
    ok(tx.commit(), "commit");
}

fn commit(i: u64) -> Commit {
    Commit {
        key: format!("bench:{i}"),
        at: now(),
        kind: "merged".to_owned(),
        event_json: event_json(i),
        state_json: format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(2000)),
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
            rules_version: None,
            seed: Some(i),
        }],
    }
}

/// Commits one event every 5 ms until `stop`; the latency of each.
fn writer(store: &mut Store, from: u64, stop: &AtomicBool) -> Vec<Duration> {
    let mut lat = Vec::new();
    let mut i = from;
    while !stop.load(Ordering::SeqCst) {
        let t = Instant::now();
        ok(store.commit(&commit(i)), "writer commit");
        lat.push(t.elapsed());
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    lat
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn report(name: &str, mut lat: Vec<Duration>) -> Duration {
    lat.sort_unstable();
    let p99 = pct(&lat, 0.99);
    println!(
        "{name}: {} commits, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    p99
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u64 = std::env::var("SHIPGATE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = ok(tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")), "tempdir");
    let db = dir.path().join("shipgate.db");
    drop(ok(Store::open(&db), "create"));
    let t = Instant::now();
    fill(&db, n);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {n} events (+ {n} sent messages, {n} audit rows) in {:.1} s: {:.0} MB",
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );

    let backup = dir.path().join("backup.db");
    let r = ok(maintenance::backup(&db, &backup), "backup");
    println!(
        "backup (online backup API + integrity_check of the copy): {:.2} s for {:.0} MB ({} events)",
        r.elapsed.as_secs_f64(),
        r.bytes as f64 / 1e6,
        r.events
    );
    let _ = std::fs::remove_file(&backup);

    let mut store = ok(Store::open(&db), "open writer");
    // The writer alone, as a baseline.
    let stop = Arc::new(AtomicBool::new(false));
    let baseline = {
        let stop2 = stop.clone();
        let timer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(20));
            stop2.store(true, Ordering::SeqCst);
        });
        let lat = writer(&mut store, 0, &stop);
        ok(timer.join(), "timer");
        lat
    };
    let base_p99 = report("writer alone (20 s)", baseline);

    // The writer while the pruner works through everything older than
    // 400 days, with the daemon's batch size and pause.
    stop.store(false, Ordering::SeqCst);
    let cutoff = now() - TimeDelta::days(400);
    let db2 = db.clone();
    let stop2 = stop.clone();
    let pruner = std::thread::spawn(move || {
        let mut p = ok(Pruner::open(&db2, cutoff, BATCH), "pruner");
        let t = Instant::now();
        let mut busy = Duration::ZERO;
        let mut slowest = Duration::ZERO;
        while !p.done() {
            let s = Instant::now();
            ok(p.step(), "prune step");
            let took = s.elapsed();
            busy += took;
            slowest = slowest.max(took);
            std::thread::sleep(pause_after(took));
        }
        stop2.store(true, Ordering::SeqCst);
        println!(
            "slowest prune batch: {:.1} ms",
            slowest.as_secs_f64() * 1000.0
        );
        (p.pruned(), t.elapsed(), busy)
    });
    let lat = writer(&mut store, 1_000_000_000, &stop);
    let (pruned, wall, busy) = ok(pruner.join(), "pruner thread");
    let p99 = report("writer while pruning", lat);
    let rows = pruned.total();
    println!(
        "pruned {} events, {} messages, {} audit rows ({rows} rows) in {:.1} s wall \
         ({:.0} rows/s with the {} ms pauses; {:.1} s in batches of {BATCH}: {:.0} rows/s)",
        pruned.events,
        pruned.outbox,
        pruned.audit,
        wall.as_secs_f64(),
        rows as f64 / wall.as_secs_f64(),
        PAUSE.as_millis(),
        busy.as_secs_f64(),
        rows as f64 / busy.as_secs_f64().max(1e-9)
    );
    let report = ok(maintenance::check(&db), "check");
    println!(
        "after the prune: {} events left, db check problems: {:?}",
        report.events, report.problems
    );
    println!(
        "writer p99: {:.2} ms alone, {:.2} ms while pruning (target: <= 5 ms)",
        base_p99.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}
