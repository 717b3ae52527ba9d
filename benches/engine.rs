//! Speed of the RC engine (issue 3, "Tests and figures"); figures in
//! `docs/benchmarks.md`. Run with `cargo bench --bench engine`.
//!
//! - `status/*` with 100,000 past events in a real SQLite store, the history
//!   built through the ledger (one transaction per event) — target under
//!   1 ms:
//!   - `status/handle`: a `!sg status` chat event through `engine::handle`
//!     on the state the store holds;
//!   - `status/open+handle`: open the database, load the latest state
//!     snapshot, then answer `status` (what a fresh reader pays).
//! - `simulate/products/{1,100,1000}`: the same generated script of
//!   10,000 lines through `sim::run` (fresh in-memory database, every event
//!   one transaction, timers fired on the way), its cycles spread over 1,
//!   100 or 1,000 products (issue 9): the per-event cost at 1,000 products
//!   must stay within 1.5x of 1 product — target under 2 s for 10,000.
//!
//! The store file lives in `/dev/shm` when there is one, so building the
//! 100,000-event history does not wait on 100,000 disk flushes; set
//! `SHIPGATE_BENCH_DIR` to put it elsewhere.

#![expect(
    clippy::panic,
    reason = "a benchmark whose inputs are broken must stop loudly"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Timelike, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use shipgate::config::Config;
use shipgate::engine::{self, Context, Event, Team};
use shipgate::ledger::Ledger;
use shipgate::rules::RuleSet;
use shipgate::store::Store;
use shipgate::team::team_from_config;

const PAST_EVENTS: u64 = 100_000;
const SIM_EVENTS: usize = 10_000;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn config() -> Config {
    Config::load(&root().join("tests/scenarios/team.ron"))
        .unwrap_or_else(|e| panic!("team config: {e}"))
}

fn rules() -> RuleSet {
    shipgate::rules::load(&[root().join("rules/release-process.rules")])
        .unwrap_or_else(|d| panic!("rules: {d:?}"))
}

fn chat(product: &str, from: &str, text: &str) -> Event {
    Event::Chat {
        product: product.to_owned(),
        from: from.to_owned(),
        text: text.to_owned(),
        message_id: None,
        said: shipgate::command::read(text, shipgate::command::DEFAULT_PREFIX),
    }
}

/// One working cycle of a product: four merges, a manual RC, verification,
/// a release and the CI report — ten events.
fn cycle(product: &str, k: u64) -> Vec<Event> {
    let people = ["ana", "ben", "clara", "priya"];
    let mut events: Vec<Event> = people
        .iter()
        .enumerate()
        .map(|(i, p)| Event::Merged {
            product: product.to_owned(),
            change: format!("#{k}-{i}"),
            author: (*p).to_owned(),
            title: format!("change {i} of cycle {k}"),
        })
        .collect();
    events.push(chat(product, "ana", "!sg rc request cycle"));
    events.extend(people.iter().map(|p| chat(product, p, "!sg verify all")));
    events.push(chat(product, "ana", "!sg release"));
    events
}

fn bench_dir() -> PathBuf {
    std::env::var_os("SHIPGATE_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir)
}

/// Writes `PAST_EVENTS` events through the ledger into a file database:
/// cycles of [`cycle`], each closed by a CI `released` report.
fn build_history(path: &Path, rules: &RuleSet, team: &Team) {
    let store = Store::open(path).unwrap_or_else(|e| panic!("store: {e}"));
    let mut ledger = Ledger::open(store).unwrap_or_else(|e| panic!("ledger: {e}"));
    // Monday 2026-04-13 09:00 New York, inside the production window.
    let start: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 4, 13, 13, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("start time"));
    let mut n: u64 = 0;
    let mut k: u64 = 0;
    while n < PAST_EVENTS {
        let mut events = cycle("web", k);
        let rc = ledger.state().next_rc.max(1);
        events.push(Event::Ci {
            product: "web".to_owned(),
            rc,
            status: engine::CiStatus::Released,
        });
        for event in events
            .iter()
            .take(usize::try_from(PAST_EVENTS - n).unwrap_or(usize::MAX))
        {
            ledger
                .apply(&ctx(rules, team, start, n), &format!("bench:{n}"), event)
                .unwrap_or_else(|e| panic!("apply: {e}"));
            n += 1;
        }
        k += 1;
    }
}

/// Ten events a second from Monday 09:00 New York: the whole history fits
/// in the production window.
fn ctx<'a>(rules: &'a RuleSet, team: &'a Team, start: DateTime<Utc>, n: u64) -> Context<'a> {
    Context {
        rules,
        team,
        now: start + TimeDelta::seconds(i64::try_from(n).unwrap_or(i64::MAX) / 10),
        seed: n,
    }
}

fn status(c: &mut Criterion) {
    // Building the history takes long: skip it when only `simulate` runs.
    if std::env::args().skip(1).any(|a| a.starts_with("simulate")) {
        return;
    }
    let rules = rules();
    let team = team_from_config(&config());
    let dir = tempfile::tempdir_in(bench_dir()).unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("history.db");
    build_history(&path, &rules, &team);
    let store = Store::open(&path).unwrap_or_else(|e| panic!("store: {e}"));
    let events = store.event_count().unwrap_or_else(|e| panic!("count: {e}"));
    assert!(events >= PAST_EVENTS, "only {events} events stored");
    let ledger = Ledger::open(store).unwrap_or_else(|e| panic!("ledger: {e}"));
    let state = ledger.state().clone();
    drop(ledger);
    let now = Utc
        .with_ymd_and_hms(2026, 4, 20, 14, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("now"));
    let context = Context {
        rules: &rules,
        team: &team,
        now,
        seed: 1,
    };
    let question = chat("web", "ben", "!sg status");
    let answer = engine::handle(&state, &context, &question);
    assert_eq!(answer.effects.len(), 1, "status answers with one post");

    let mut g = c.benchmark_group("status");
    g.sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("handle", |b| {
        b.iter(|| engine::handle(black_box(&state), &context, black_box(&question)));
    });
    g.bench_function("open+handle", |b| {
        b.iter(|| {
            let store = Store::open(&path).unwrap_or_else(|e| panic!("store: {e}"));
            let ledger = Ledger::open(store).unwrap_or_else(|e| panic!("ledger: {e}"));
            engine::handle(ledger.state(), &context, black_box(&question))
        });
    });
    g.finish();
}

/// The scenario team with `n` products (`p0`, `p1`, ...) instead of its
/// own.
fn config_with_products(n: usize) -> Config {
    let mut config = config();
    let template = config
        .products
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("the scenario team has no product"));
    config.products = (0..n)
        .map(|i| {
            let mut p = template.clone();
            p.name = format!("p{i}");
            p.repos = vec![format!("acme/p{i}")];
            p
        })
        .collect();
    config
}

/// A script of `SIM_EVENTS` lines, five minutes apart, over about five
/// weeks: cycles of ten lines going round `products` (three merges, a
/// request, three `verify all`, `status`, `release` — refused outside the
/// window — and the CI `released` report that closes the RC).
/// A cycle never spans 07:00 New York (the daily cut), so each cycle cuts
/// exactly one RC and the CI report names it; the 07:00 timers still fire
/// (with nothing to cut), and so do refusals outside the window.
fn script(products: &[String]) -> String {
    let people = ["ana", "ben", "clara", "priya", "dieter"];
    let start = Utc
        .with_ymd_and_hms(2026, 4, 13, 10, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("start"));
    let mut out = String::new();
    let mut rc = 0u64;
    let mut at = start;
    let mut i: usize = 0;
    while i < SIM_EVENTS {
        let cycle = i / 10;
        let product = &products[cycle % products.len()];
        let who = |k: usize| people[(cycle + k) % people.len()];
        if i.is_multiple_of(10) {
            rc += 1;
            let local = at.with_timezone(&chrono_tz::America::New_York);
            let minute = local.hour() * 60 + local.minute();
            if (6 * 60 + 5..=7 * 60).contains(&minute) {
                at += TimeDelta::minutes(i64::from(7 * 60 + 5 - minute));
            }
        }
        let t = at.format("%Y-%m-%dT%H:%M:%SZ");
        at += TimeDelta::minutes(5);
        let chat = |from: &str, text: &str| {
            format!(
                r#"{{"at": "{t}", "chat": {{"product": "{product}", "from": "{from}", "text": "{text}"}}}}"#
            )
        };
        let line = match i % 10 {
            k @ 0..=2 => format!(
                r##"{{"at": "{t}", "merged": {{"product": "{product}", "change": "#{i}", "author": "{}@acme.example", "title": "change {i}"}}}}"##,
                who(k)
            ),
            3 => chat(who(0), "!sg rc request bench"),
            k @ 4..=6 => chat(who(k - 4), "!sg verify all"),
            7 => chat(who(3), "!sg status"),
            8 => chat(who(0), "!sg release"),
            _ => format!(
                r#"{{"at": "{t}", "ci": {{"product": "{product}", "rc": {rc}, "status": "released"}}}}"#
            ),
        };
        let _ = writeln!(out, "{line}");
        i += 1;
    }
    out
}

fn simulate(c: &mut Criterion) {
    let rules = rules();
    let mut g = c.benchmark_group("simulate/products");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(8));
    let only: Option<usize> = std::env::var("SHIPGATE_BENCH_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok());
    for n in [1usize, 100, 1000] {
        if only.is_some_and(|o| o != n) {
            continue;
        }
        let config = config_with_products(n);
        let names: Vec<String> = config.products.iter().map(|p| p.name.clone()).collect();
        let lines = shipgate::sim::input::parse_script(&script(&names))
            .unwrap_or_else(|e| panic!("script: {e:?}"));
        assert_eq!(lines.len(), SIM_EVENTS);
        let entries = shipgate::sim::run(&config, &rules, &lines, 0)
            .unwrap_or_else(|e| panic!("simulate: {e}"));
        let effects = entries
            .iter()
            .filter(|e| matches!(e, shipgate::sim::Entry::Effect { .. }))
            .count();
        eprintln!("simulate, {n} products: {SIM_EVENTS} input lines -> {effects} effects");
        g.bench_function(n.to_string(), |b| {
            b.iter(|| shipgate::sim::run(&config, &rules, black_box(&lines), 0));
        });
    }
    g.finish();
}

criterion_group!(benches, status, simulate);
criterion_main!(benches);
