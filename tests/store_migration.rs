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
    std::fs::write(
        &path,
        TEAM.replace("RULES", &rules_dir.to_string_lossy()),
    )
    .unwrap();
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
    let out = PathBuf::from(std::env::var_os("SHIPGATE_FIXTURE_OUT").expect("SHIPGATE_FIXTURE_OUT"));
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
