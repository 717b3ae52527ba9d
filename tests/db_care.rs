//! Database care with the real binary: `shipgate db backup` while the
//! daemon runs under load, restore, start again; `db check`; `outbox list`
//! and `outbox skip`; retention's pruning; `--log-format json`;
//! `--version`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use shipgate::store::Store;
use support::{FRIDAY_0930_NY, Setup, TestEnv, merged_line, try_http};

fn shipgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The key `/api/events` stores line 0 of a request under.
fn key(i: usize) -> String {
    format!("api:load-{i}:0")
}

#[test]
fn backup_under_load_then_restore_keeps_everything_acknowledged_before_it() {
    let env = TestEnv::new(Setup::default());
    let config = env.config_path();
    let config = config.to_str().unwrap();
    let d = env.start(FRIDAY_0930_NY);
    let token = format!("Bearer {}", env.setup.api_token);
    // A writer under load: merged changes, one request each, as fast as
    // the daemon acknowledges them.
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (acked, stop, addr, token) = (acked.clone(), stop.clone(), d.addr, token.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let idem = format!("load-{i}");
                let body = merged_line("web", &format!("#{}", 1000 + i), "ben", "load");
                let r = try_http(
                    addr,
                    "POST",
                    "/api/events",
                    &[
                        ("Authorization", &token),
                        ("Content-Type", "application/json"),
                        ("Idempotency-Key", &idem),
                    ],
                    body.as_bytes(),
                )
                .unwrap();
                assert_eq!(r.status, 200, "{}", r.body);
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 50 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let before = acked.load(Ordering::SeqCst);
    let backup = env.dir.path().join("backup.db");
    let out = shipgate(&["db", "backup", "--config", config, backup.to_str().unwrap()]);
    let during = acked.load(Ordering::SeqCst);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("checked"), "{}", text(&out));
    // More was written after the backup started: it really ran under load.
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    load.join().unwrap();
    let after = acked.load(Ordering::SeqCst);
    assert!(
        after > during,
        "no writes after the backup ({during} then {after})"
    );
    d.stop();

    // Restore: the daemon stopped, the database and its WAL replaced by
    // the copy.
    let db = env.db_path();
    for ext in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(ext);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    std::fs::copy(&backup, &db).unwrap();
    let out = shipgate(&["db", "check", "--config", config]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).lines().any(|l| l == "ok"), "{}", text(&out));
    let d = env.start(FRIDAY_0930_NY);
    let store = Store::open_read_only(&db).unwrap();
    for i in 0..before {
        assert!(
            store.event_exists(&key(i)).unwrap(),
            "event {i} was acknowledged before the backup started but is missing after the restore"
        );
    }
    // The restored daemon takes new events.
    d.events_ok(&merged_line("web", "#9999", "ana", "after restore"), 1);
    d.stop();
}

#[test]
fn backup_refuses_to_overwrite_and_check_finds_damage() {
    let env = TestEnv::new(Setup::default());
    let config = env.config_path();
    let config = config.to_str().unwrap();
    let d = env.start(FRIDAY_0930_NY);
    d.events_ok(&merged_line("web", "#1", "ben", "one"), 1);
    d.stop();
    let backup = env.dir.path().join("b.db");
    std::fs::write(&backup, b"precious").unwrap();
    let out = shipgate(&["db", "backup", "--config", config, backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert_eq!(std::fs::read(&backup).unwrap(), b"precious");

    // A reference broken by hand: `db check` says so and exits 1.
    {
        let conn = rusqlite_conn(&env.db_path());
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF; \
             INSERT INTO audit (event_seq, at, action, detail) VALUES (424242, 'x', 'hand', '');",
        )
        .unwrap();
    }
    let out = shipgate(&["db", "check", "--config", config]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("foreign_key_check"), "{}", text(&out));
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn outbox_skip_moves_a_stuck_message_out_and_audits_it() {
    let env = TestEnv::new(Setup::default());
    let config = env.config_path();
    let config = config.to_str().unwrap();
    let d = env.start(FRIDAY_0930_NY);
    d.events_ok(&merged_line("web", "#1", "ben", "one"), 1);
    d.stop();
    // A pending message the daemon never delivered (as if its channel
    // were gone), written as the store queues it.
    let id: i64 = {
        let conn = rusqlite_conn(&env.db_path());
        conn.execute(
            "INSERT INTO outbox (event_seq, product, text, mentions_json, created_at, attempts, last_error, retry_at) \
             SELECT max(seq), 'web', 'stuck message', '[]', '2026-03-13T13:30:00.000000000Z', 7, 'channel not found', '2099-01-01T00:00:00.000000000Z' FROM events",
            [],
        )
        .unwrap();
        conn.last_insert_rowid()
    };
    let out = shipgate(&["outbox", "list", "--config", config]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = text(&out);
    assert!(listed.contains("stuck message"), "{listed}");
    assert!(listed.contains("failing"), "{listed}");
    assert!(listed.contains("channel not found"), "{listed}");

    let out = shipgate(&[
        "outbox",
        "skip",
        "--config",
        config,
        "--by",
        "ops-oncall",
        "--reason",
        "the channel was deleted",
        &id.to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let store = Store::open_read_only(&env.db_path()).unwrap();
    let m = store.outbox_message(id).unwrap().unwrap();
    assert!(m.sent);
    let audit = store.audit(10).unwrap();
    let row = audit
        .iter()
        .find(|a| a.action == "outbox_skip")
        .expect("an audit row for the skip");
    assert_eq!(row.actor.as_deref(), Some("ops-oncall"));
    assert!(
        row.detail.contains("the channel was deleted"),
        "{}",
        row.detail
    );
    // No longer pending; shown as skipped with --all; skipping again fails.
    let out = shipgate(&["outbox", "list", "--config", config]);
    assert!(!text(&out).contains("stuck message"), "{}", text(&out));
    let out = shipgate(&["outbox", "list", "--config", config, "--all", "--json"]);
    let skipped: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["id"] == id)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["state"], "skipped");
    let out = shipgate(&[
        "outbox",
        "skip",
        "--config",
        config,
        "--reason",
        "again",
        &id.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("outbox message {id} was already skipped")),
        "{}",
        text(&out)
    );
    let out = shipgate(&[
        "outbox", "skip", "--config", config, "--reason", "x", "999999",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no outbox message 999999"),
        "{}",
        text(&out)
    );
}

#[test]
fn log_format_json_writes_one_object_a_line() {
    let env = TestEnv::new(Setup::default());
    let d = support::Daemon::try_start_with(
        &env.config_path(),
        FRIDAY_0930_NY,
        &["--log-format", "json"],
    )
    .unwrap();
    let f = d.close_stdin();
    let logs: Vec<serde_json::Value> = f
        .stderr
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let running = logs
        .iter()
        .find(|v| v["message"] == "shipgate is running")
        .unwrap_or_else(|| panic!("no JSON start line in {:?}", f.stderr));
    assert_eq!(running["level"], "INFO");
    assert!(
        running["addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    );
    assert!(running["timestamp"].is_string());
}

#[test]
fn version_names_the_commit() {
    let out = shipgate(&["--version"]);
    assert!(out.status.success());
    let v = String::from_utf8_lossy(&out.stdout);
    // `shipgate 0.1.0 (abcdef123456)`, or `(unknown)` outside a checkout.
    let commit = v
        .trim()
        .strip_prefix(&format!("shipgate {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version: {v}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{v}"
    );
}

#[test]
fn retention_prunes_old_history_in_the_running_daemon() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    for i in 0..5 {
        d.events_ok(
            &merged_line("web", &format!("#{i}"), "ben", "old change"),
            1,
        );
    }
    d.stop();
    let db = env.db_path();
    // Events from before the cut-off (a day before the restart below)
    // other than those the state was saved with: the global state's and
    // each product's (an idle product's row may be old: it is written
    // only when the product changes).
    let old = || -> i64 {
        rusqlite_conn(&db)
            .query_row(
                "SELECT count(*) FROM events WHERE at < '2026-04-12' \
                 AND seq <> (SELECT seq FROM state) \
                 AND seq NOT IN (SELECT seq FROM product_state)",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!(old() >= 3, "{}", old());
    // Turn retention on and start a month later.
    let path = env.config_path();
    let config = std::fs::read_to_string(&path).unwrap();
    let end = config.rfind(')').unwrap();
    std::fs::write(
        &path,
        format!("{}    retention: \"1d\",\n)\n", &config[..end]),
    )
    .unwrap();
    let d = env.start("2026-04-13T13:30:00Z");
    let deadline = std::time::Instant::now() + support::WAIT;
    while old() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(old(), 0, "old events left after the retention pass");
    let audit_old: i64 = rusqlite_conn(&db)
        .query_row(
            "SELECT count(*) FROM audit WHERE at < '2026-04-12'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audit_old, 0);
    let out = shipgate(&["db", "check", "--config", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    // The daemon still works on the pruned database.
    d.events_ok(&merged_line("web", "#100", "ana", "new change"), 1);
    d.stop();
}
