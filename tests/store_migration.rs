#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Databases written by an earlier shipgate keep working: the fixture
//! `tests/fixtures/schema-v2.db` was written by the release before the
//! state was stored per product (schema version 2, the whole state in one
//! row), with [`make_schema_v2_fixture`] (run it with
//! `SHIPGATE_FIXTURE_OUT=path cargo test --test store_migration -- --ignored`
//! on that release to make it again).

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shipgate::config::Config;
use shipgate::engine::{Context, Event, Team};
use shipgate::ledger::{Applied, Ledger};
use shipgate::rules::RuleSet;
use shipgate::store::Store;
use shipgate::team::team_from_config;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Three products, five people (the scenario team plus `docs`).
const TEAM: &str = r#"(
    database: "fixture.db",
    rules: "RULES",
    prefix: "!sg ",
    products: [
        (name: "web", repos: ["acme/web"]),
        (name: "payments", repos: ["acme/payments"]),
        (name: "docs", repos: ["acme/docs"]),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", git: ["ana@acme.example"], roles: ["engineer", "lead"]),
        (name: "ben", timezone: "America/New_York", git: ["ben@acme.example"], roles: ["engineer"]),
        (name: "clara", timezone: "Europe/Berlin", git: ["clara@acme.example"], roles: ["engineer", "lead"]),
        (name: "dieter", timezone: "Europe/Berlin", git: ["dieter@acme.example"], roles: ["engineer"]),
        (name: "priya", timezone: "Asia/Kolkata", git: ["priya@acme.example"], roles: ["engineer"]),
    ],
)"#;

fn team_and_rules(dir: &Path) -> (Config, Team, RuleSet) {
    let path = dir.join("team.ron");
    let rules_dir = root().join("rules");
    std::fs::write(&path, TEAM.replace("RULES", &rules_dir.to_string_lossy())).unwrap();
    let config = Config::load(&path).unwrap();
    let team = team_from_config(&config);
    let rules = shipgate::rules::load(&[root().join("rules/release-process.rules")]).unwrap();
    (config, team, rules)
}

/// Monday 2026-04-13 10:00 New York.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 13, 14, 0, 0).unwrap()
}

fn merged(product: &str, change: &str, author: &str) -> Event {
    Event::Merged {
        product: product.to_owned(),
        change: change.to_owned(),
        author: author.to_owned(),
        title: format!("change {change}"),
    }
}

fn chat(product: &str, from: &str, text: &str) -> Event {
    Event::Chat {
        product: product.to_owned(),
        from: from.to_owned(),
        text: text.to_owned(),
        said: shipgate::command::read(text, "!sg "),
        message_id: None,
    }
}

/// The story the fixture holds: `payments` released an RC, `web` has one
/// in flight (one change verified), `docs` has a change in its pool, clara
/// is away, and some messages were sent while others are still owed.
fn story() -> Vec<Event> {
    vec![
        merged("payments", "#1", "ana"),
        merged("payments", "#2", "ben"),
        chat("payments", "ana", "!sg rc request fixture"),
        chat("payments", "ana", "!sg verify all"),
        chat("payments", "ben", "!sg verify all"),
        chat("payments", "ana", "!sg release"),
        Event::Ci {
            product: "payments".to_owned(),
            rc: 1,
            status: shipgate::engine::CiStatus::Released,
        },
        merged("web", "#10", "ana"),
        merged("web", "#11", "ben"),
        merged("web", "#12", "clara"),
        chat("web", "ben", "!sg rc request in flight"),
        chat("web", "ana", "!sg verify all"),
        chat("web", "clara", "!sg away until 2026-04-14"),
        merged("docs", "#20", "priya"),
    ]
}

fn ctx<'a>(rules: &'a RuleSet, team: &'a Team, i: usize) -> Context<'a> {
    Context {
        rules,
        team,
        now: t0() + TimeDelta::minutes(i64::try_from(i).unwrap()),
        seed: 7,
    }
}

/// Writes the fixture with the build it runs on (see the module comment).
#[test]
#[ignore = "makes tests/fixtures/schema-v2.db; run by hand on the old release"]
fn make_schema_v2_fixture() {
    let out =
        PathBuf::from(std::env::var_os("SHIPGATE_FIXTURE_OUT").expect("SHIPGATE_FIXTURE_OUT"));
    let _ = std::fs::remove_file(&out);
    let dir = tempfile::tempdir().unwrap();
    let (_config, team, rules) = team_and_rules(dir.path());
    let store = Store::open(&out).unwrap();
    let mut ledger = Ledger::open(store).unwrap();
    ledger
        .record_rules_version("fixture-rules", "the rules text", t0())
        .unwrap();
    for (i, event) in story().iter().enumerate() {
        let applied = ledger
            .apply(&ctx(&rules, &team, i), &format!("fixture:{i}"), event)
            .unwrap();
        assert!(matches!(applied, Applied::New { .. }));
    }
    drop(ledger);
    let mut store = Store::open(&out).unwrap();
    let pending = store.pending_outbox(t0() + TimeDelta::days(1), 3).unwrap();
    for m in pending {
        store.mark_sent(m.id, Some("remote")).unwrap();
    }
    drop(store);
    let conn = rusqlite::Connection::open(&out).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
        .unwrap();
}

/// A copy of the fixture in a fresh directory.
fn fixture_copy(dir: &Path) -> PathBuf {
    let db = dir.join("old.db");
    std::fs::copy(root().join("tests/fixtures/schema-v2.db"), &db).unwrap();
    db
}

/// The whole state as the old schema stored it, read with plain SQL.
fn old_state(db: &Path) -> shipgate::engine::State {
    let conn = rusqlite::Connection::open(db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2, "the fixture is a schema-v2 database");
    let json: String = conn
        .query_row("SELECT state_json FROM state WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

fn pending(store: &Store) -> Vec<(String, String)> {
    store
        .pending_outbox(t0() + TimeDelta::days(30), 1000)
        .unwrap()
        .into_iter()
        .map(|m| (m.product, m.text))
        .collect()
}

#[test]
fn a_schema_v2_database_migrates_to_the_same_state_and_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path());
    let before = old_state(&db);
    assert_eq!(before.products.len(), 3);

    let store = Store::open(&db).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        shipgate::store::migrations::latest_version()
    );
    // One row per product, and a global row without products.
    let rows = store.product_states().unwrap();
    let names: Vec<&str> = rows.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(names, ["docs", "payments", "web"]);
    let (seq, global) = store.state().unwrap().unwrap();
    assert_eq!(seq, 14);
    assert!(rows.iter().all(|(_, s, _)| *s == seq));
    assert!(!global.contains("\"products\""), "{global}");
    // The outbox and the history are untouched.
    let owed = pending(&store);
    assert_eq!(owed.len(), 7, "{owed:?}");
    assert_eq!(store.event_count().unwrap(), 14);
    assert_eq!(store.audit(1000).unwrap().len(), 15);

    let ledger = Ledger::open(store).unwrap();
    let state = ledger.state();
    assert_eq!(
        *state, before,
        "the migrated state is the state stored before"
    );
    let web = state.products["web"].current.as_ref().unwrap();
    assert_eq!(web.id, 2);
    assert_eq!(web.state.as_str(), "open");
    assert_eq!(web.changes.len(), 3);
    assert_eq!(web.pending().count(), 2, "ana verified hers");
    assert!(state.products["payments"].current.is_none());
    assert_eq!(
        state.products["payments"].history[0].state.as_str(),
        "released"
    );
    assert_eq!(state.products["docs"].pool.len(), 1);
    assert!(state.away.contains_key("clara"));
    assert_eq!(state.next_rc, 3);

    // It keeps working: the next event applies, writes only `web`, and
    // the state reads back the same.
    let (_config, team, rules) = team_and_rules(dir.path());
    let mut ledger = ledger;
    let applied = ledger
        .apply(
            &ctx(&rules, &team, 20),
            "after:1",
            &chat("web", "ben", "!sg verify all"),
        )
        .unwrap();
    let Applied::New { seq, effects } = applied else {
        panic!("not applied: {applied:?}");
    };
    assert_eq!(seq, 15);
    assert!(!effects.is_empty());
    let after = ledger.state().clone();
    assert_eq!(
        after.products["web"]
            .current
            .as_ref()
            .unwrap()
            .pending()
            .count(),
        1
    );
    let rows = ledger.store().product_states().unwrap();
    let seqs: Vec<(&str, u64)> = rows.iter().map(|(p, s, _)| (p.as_str(), *s)).collect();
    assert_eq!(seqs, [("docs", 14), ("payments", 14), ("web", 15)]);
    assert_eq!(
        pending(ledger.store()).len(),
        7 + effects
            .iter()
            .filter(|e| matches!(e, shipgate::engine::Effect::Post(_)))
            .count()
    );
    drop(ledger);
    let reopened = Ledger::open(Store::open(&db).unwrap()).unwrap();
    assert_eq!(*reopened.state(), after);
}

#[test]
fn a_schema_v2_database_can_be_read_after_the_daemon_migrated_it() {
    // A reader (e.g. `shipgate status`) refuses an unmigrated file and
    // reads a migrated one.
    let dir = tempfile::tempdir().unwrap();
    let db = fixture_copy(dir.path());
    let err = Store::open_read_only(&db).unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
    drop(Store::open(&db).unwrap());
    let reader = Store::open_read_only(&db).unwrap();
    let ledger = Ledger::open(reader).unwrap();
    assert_eq!(ledger.state().products.len(), 3);
}

#[test]
fn an_event_writes_only_its_products_and_the_timer_cache_agrees_with_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (_config, team, rules) = team_and_rules(dir.path());
    let mut ledger = Ledger::open(Store::open_in_memory().unwrap()).unwrap();
    let story = story();
    for (i, event) in story.iter().enumerate() {
        let before: Vec<(String, u64, String)> = ledger.store().product_states().unwrap();
        let applied = ledger
            .apply(&ctx(&rules, &team, i), &format!("k:{i}"), event)
            .unwrap();
        let Applied::New { seq, .. } = applied else {
            panic!("not applied: {applied:?}");
        };
        // The cached next timer is the engine's.
        assert_eq!(
            ledger.next_due(&rules, &team),
            shipgate::engine::next_due(ledger.state(), &rules, &team),
            "after event {i}"
        );
        // A merge into a product that exists writes that product's row only.
        if let Event::Merged { product, .. } = event
            && !before.is_empty()
        {
            let after = ledger.store().product_states().unwrap();
            for ((p, s, json), (p0, s0, json0)) in after.iter().zip(&before) {
                assert_eq!(p, p0);
                if p == product {
                    assert_eq!(*s, seq, "{p} is written");
                } else {
                    assert_eq!((s, json), (s0, json0), "{p} is not written");
                }
            }
        }
        // What is stored reads back as the state in memory.
        let (_, global) = ledger.store().state().unwrap().unwrap();
        let mut stored: shipgate::engine::State = serde_json::from_str(&global).unwrap();
        for (p, _, json) in ledger.store().product_states().unwrap() {
            stored
                .products
                .insert(p, serde_json::from_str(&json).unwrap());
        }
        assert_eq!(&stored, ledger.state(), "after event {i}");
    }
    // A duplicate changes nothing, in memory either.
    let state = ledger.state().clone();
    let again = ledger
        .apply(
            &ctx(&rules, &team, 99),
            "k:3",
            &chat("payments", "ben", "!sg verify all"),
        )
        .unwrap();
    assert!(matches!(again, Applied::Duplicate { seq: 4 }), "{again:?}");
    assert_eq!(*ledger.state(), state);
    // Timers fired through the catch-up agree too.
    let fired = ledger
        .catch_up(&rules, &team, t0() + TimeDelta::days(3), 1, |_, _| {})
        .unwrap();
    assert!(fired > 0);
    assert_eq!(
        ledger.next_due(&rules, &team),
        shipgate::engine::next_due(ledger.state(), &rules, &team)
    );
}
