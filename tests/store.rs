#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The durable store against real SQLite files: migrations, settings,
//! idempotency, atomicity, concurrent readers, the outbox, rules versions,
//! and crash safety under SIGKILL.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rusqlite::Connection;
use shipgate::store::{
    AuditRow, Commit, CommitOutcome, NewMessage, Store, StoreError, migrations, rules_hash,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap()
}

/// A commit of realistic size: ~300-byte event, ~2 KB state, one message,
/// one audit row.
fn commit(key: &str, i: u64) -> Commit {
    Commit {
        key: key.to_owned(),
        at: t0() + TimeDelta::seconds(i as i64),
        kind: "merged".to_owned(),
        event_json: format!(
            r##"{{"merged":{{"product":"payments","change":"#{i}","author":"ana@example.com","title":"{}"}}}}"##,
            "x".repeat(200)
        ),
        state_json: format!(r#"{{"seq_hint":{i},"pad":"{}"}}"#, "s".repeat(2000)),
        outbox: vec![NewMessage {
            card_json: None,
            product: "payments".to_owned(),
            text: format!("change #{i} joins the next RC"),
            mentions: vec!["@ana:example.org".to_owned()],
            reply_to: None,
        }],
        audit: vec![AuditRow {
            actor: Some("ana".to_owned()),
            action: "change.merged".to_owned(),
            detail: format!("#{i}"),
            rules_version: Some("abc123".to_owned()),
            seed: Some(i),
        }],
    }
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn migrations_apply_once_and_reopening_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shipgate.db");
    assert!(!db.exists());
    let mut store = Store::open(&db).unwrap();
    assert!(db.exists(), "open creates the file");
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    store.commit(&commit("k:1", 1)).unwrap();
    drop(store);

    let schema = |db: &Path| -> Vec<String> {
        let conn = Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = schema(&db);
    let store = Store::open(&db).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version()
    );
    assert_eq!(store.event_count().unwrap(), 1);
    assert_eq!(schema(&db), before);
    assert!(store.integrity_check().unwrap());
}

#[test]
fn a_database_from_a_newer_build_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("future.db");
    drop(Store::open(&db).unwrap());
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", migrations::latest_version() + 1)
        .unwrap();
    for err in [
        Store::open(&db).unwrap_err(),
        Store::open_read_only(&db).unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{msg}");
        assert!(msg.contains(&*db.to_string_lossy()), "{msg}");
    }
}

#[test]
fn pragmas_are_really_set() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let store = Store::open(&db).unwrap();
    let p = store.pragmas().unwrap();
    assert_eq!(p.journal_mode, "wal");
    assert_eq!(p.synchronous, 2, "FULL");
    assert!(p.foreign_keys);
    assert_eq!(p.busy_timeout_ms, 5000);
    // WAL is a property of the file: a fresh connection sees it too.
    let raw = Connection::open(&db).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // The read-only opening enforces foreign keys and waits for locks too.
    let ro = Store::open_read_only(&db).unwrap();
    let p = ro.pragmas().unwrap();
    assert_eq!((p.journal_mode.as_str(), p.foreign_keys), ("wal", true));
    assert_eq!(p.busy_timeout_ms, 5000);
}

#[test]
fn a_duplicate_key_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let mut store = Store::open(&db).unwrap();
    assert_eq!(
        store.commit(&commit("github:abc", 1)).unwrap(),
        CommitOutcome::Applied { seq: 1 }
    );
    store.commit(&commit("github:def", 2)).unwrap();
    let counts = |db: &Path| ["events", "state", "outbox", "audit"].map(|t| count(db, t));
    let before = (counts(&db), store.state().unwrap());
    let mut replay = commit("github:abc", 99);
    replay.state_json = "{\"changed\":true}".to_owned();
    assert_eq!(
        store.commit(&replay).unwrap(),
        CommitOutcome::Duplicate { seq: 1 }
    );
    assert_eq!((counts(&db), store.state().unwrap()), before);
    assert_eq!(counts(&db), [2, 1, 2, 2]);
}

#[test]
fn a_commit_whose_outbox_insert_fails_leaves_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let mut store = Store::open(&db).unwrap();
    store.commit(&commit("k:1", 1)).unwrap();
    let state = store.state().unwrap();

    let mut bad = commit("k:2", 2);
    // Two good messages, then one that violates `CHECK (product <> '')`.
    bad.outbox.push(bad.outbox[0].clone());
    bad.outbox.push(NewMessage::default());
    let err = store.commit(&bad).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("queue a message"), "{msg}");
    assert!(msg.contains(&*db.to_string_lossy()), "{msg}");

    assert!(!store.event_exists("k:2").unwrap());
    assert_eq!(store.state().unwrap(), state);
    assert_eq!(count(&db, "events"), 1);
    assert_eq!(count(&db, "outbox"), 1);
    assert_eq!(count(&db, "audit"), 1);
    // The key was not consumed.
    assert_eq!(
        store.commit(&commit("k:2", 2)).unwrap(),
        CommitOutcome::Applied { seq: 2 }
    );
}

#[test]
fn another_connection_reads_while_a_write_transaction_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wal.db");
    let mut writer = Store::open(&db).unwrap();
    writer.commit(&commit("k:1", 1)).unwrap();

    // Hold a write transaction open on another connection.
    let raw = Connection::open(&db).unwrap();
    raw.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO events (key, at, kind, event_json) VALUES ('k:held', 'x', 'tick', '{}');",
    )
    .unwrap();

    let started = Instant::now();
    let reader = Store::open_read_only(&db).unwrap();
    assert_eq!(reader.state().unwrap().unwrap().0, 1);
    assert_eq!(
        reader.event_count().unwrap(),
        1,
        "uncommitted rows are not seen"
    );
    assert!(!reader.event_exists("k:held").unwrap());
    // A second writable opening is not blocked either (the schema is current).
    let other = Store::open(&db).unwrap();
    assert_eq!(other.event_count().unwrap(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "readers waited {:?} for the writer",
        started.elapsed()
    );

    raw.execute_batch("COMMIT").unwrap();
    assert!(reader.event_exists("k:held").unwrap());
    drop(writer);
}

#[test]
fn the_read_only_opening_refuses_writes_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ro.db");
    let err = Store::open_read_only(&db).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("ro.db"), "{err}");
    assert!(!db.exists(), "a read-only opening never creates the file");

    // A file no shipgate has migrated yet.
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE x (y)")
        .unwrap();
    let err = Store::open_read_only(&db).unwrap_err();
    assert!(matches!(err, StoreError::OldSchema { .. }), "{err}");

    drop(Store::open(&db).unwrap());
    let mut ro = Store::open_read_only(&db).unwrap();
    assert!(ro.is_read_only());
    let err = ro.commit(&commit("k:1", 1)).unwrap_err();
    assert!(err.to_string().contains("opened read-only"), "{err}");
    assert!(ro.record_rules_version("h", "t", t0()).is_err());
    assert!(ro.mark_sent(1, None).is_err());
    assert_eq!(ro.event_count().unwrap(), 0);
}

#[test]
fn the_outbox_survives_reopening_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    let mut store = Store::open(&db).unwrap();
    for i in 1..=3 {
        store.commit(&commit(&format!("k:{i}"), i)).unwrap();
    }
    let pending = store.pending_outbox(t0(), 10).unwrap();
    let ids: Vec<i64> = pending.iter().map(|m| m.id).collect();
    assert_eq!(pending.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(pending[1].created_at, t0() + TimeDelta::seconds(2));

    store.mark_sent(ids[0], Some("$1")).unwrap();
    let retry = t0() + TimeDelta::minutes(1);
    store.mark_attempt_failed(ids[1], "503", retry).unwrap();
    drop(store);

    let store = Store::open(&db).unwrap();
    assert_eq!(store.outbox_depth().unwrap(), 2);
    // The failed one waits, and holds back the later one of its channel.
    assert!(store.pending_outbox(t0(), 10).unwrap().is_empty());
    let later = store.pending_outbox(retry, 10).unwrap();
    assert_eq!(later.iter().map(|m| m.id).collect::<Vec<_>>(), ids[1..]);
    assert_eq!(later[0].attempts, 1);
    let sent = store.outbox_message(ids[0]).unwrap().unwrap();
    assert!(sent.sent);
    assert_eq!(sent.remote_id.as_deref(), Some("$1"));
}

#[test]
fn rules_versions_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let text_a = "window production { open mon-thu 08:00-16:00 }";
    let text_b = "window production { open always }";
    let (ha, hb) = (
        rules_hash(&[("release-process.rules", text_a)]),
        rules_hash(&[("release-process.rules", text_b)]),
    );
    let mut store = Store::open(&db).unwrap();
    store.record_rules_version(&ha, text_a, t0()).unwrap();
    store
        .record_rules_version(&hb, text_b, t0() + TimeDelta::hours(1))
        .unwrap();
    store
        .record_rules_version(&hb, text_b, t0() + TimeDelta::hours(2))
        .unwrap();
    drop(store);

    let store = Store::open_read_only(&db).unwrap();
    let last = store.last_good_rules().unwrap().unwrap();
    assert_eq!(
        (last.hash.as_str(), last.text.as_str()),
        (hb.as_str(), text_b)
    );
    assert_eq!(last.loaded_at, t0() + TimeDelta::hours(2));
    assert_eq!(last.first_seen_at, t0() + TimeDelta::hours(1));
    assert_eq!(count(&db, "rules_versions"), 2, "idempotent by hash");
}

#[test]
fn state_stays_fast_with_100_000_past_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let mut store = Store::open(&db).unwrap();
    // 100,000 past events in one go (committing them one by one would only
    // measure the disk).
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
             INSERT INTO events (key, at, kind, event_json)
             SELECT 'old:' || i, '2026-01-01T00:00:00.000000000Z', 'merged', '{}' FROM n;
             INSERT INTO state (id, seq, state_json) VALUES (1, 100000, '{}');",
        )
        .unwrap();
    let seq = store.commit(&commit("k:new", 1)).unwrap().seq();
    assert_eq!(seq, 100_001);
    assert_eq!(store.event_count().unwrap(), 100_001);

    let mut best = Duration::MAX;
    for _ in 0..50 {
        let started = Instant::now();
        let (s, json) = store.state().unwrap().unwrap();
        best = best.min(started.elapsed());
        assert_eq!(s, seq);
        assert!(json.len() > 2000);
    }
    assert!(best < Duration::from_millis(1), "state() took {best:?}");
    assert!(store.event_exists("old:99999").unwrap());
    assert_eq!(store.events_since(99_999, 10).unwrap().len(), 2);
}

// ------------------------------------------------------------ crash safety

const CRASH_DB: &str = "SHIPGATE_STORE_CRASH_DB";
const CRASH_RUN: &str = "SHIPGATE_STORE_CRASH_RUN";

/// Not a test on its own: when `SHIPGATE_STORE_CRASH_DB` is set, this is the
/// child process of `acknowledged_commits_survive_sigkill`. It commits in a
/// loop and prints `ACK <key>` after each commit returns, until killed.
#[test]
fn crash_writer_child() {
    let Some(db) = std::env::var_os(CRASH_DB) else {
        return;
    };
    let run = std::env::var(CRASH_RUN).unwrap();
    let mut store = Store::open(Path::new(&db)).unwrap();
    let mut out = std::io::stdout().lock();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0u64;
    while Instant::now() < deadline {
        let key = format!("crash:{run}:{i}");
        let outcome = store.commit(&commit(&key, i)).unwrap();
        assert!(matches!(outcome, CommitOutcome::Applied { .. }));
        writeln!(out, "ACK {key}").unwrap();
        out.flush().unwrap();
        i += 1;
    }
}

#[test]
fn acknowledged_commits_survive_sigkill() {
    const RUNS: u32 = 20;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let exe = std::env::current_exe().unwrap();
    let mut total_acked = 0usize;
    let mut runs_with_acks = 0;
    for run in 0..RUNS {
        let mut child = Command::new(&exe)
            .args([
                "crash_writer_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DB, &db)
            .env(CRASH_RUN, run.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            // Only whole lines count: a line cut by the kill was never
            // acknowledged.
            let mut acked = Vec::new();
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(key) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ACK ")) {
                    acked.push(key.to_owned());
                }
                line.clear();
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(rand::random_range(20..400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();

        let store = Store::open(&db).unwrap();
        assert!(
            store.integrity_check().unwrap(),
            "run {run}: integrity_check failed"
        );
        for key in &acked {
            assert!(
                store.event_exists(key).unwrap(),
                "run {run}: acknowledged {key} is lost"
            );
        }
        // Every stored event came with its state, message and audit row.
        let events = count(&db, "events");
        assert_eq!(count(&db, "outbox"), events, "run {run}");
        assert_eq!(count(&db, "audit"), events, "run {run}");
        let last_seq = store
            .events_since(0, usize::MAX)
            .unwrap()
            .last()
            .map(|e| e.seq);
        assert_eq!(store.state().unwrap().map(|s| s.0), last_seq, "run {run}");
        total_acked += acked.len();
        runs_with_acks += usize::from(!acked.is_empty());
    }
    eprintln!("crash test: {total_acked} acknowledged commits over {RUNS} kills");
    assert!(
        runs_with_acks >= 5,
        "only {runs_with_acks} runs got to commit anything"
    );
}
