//! The daemon and `simulate` are one machine: the same script, driven into
//! the real `shipgate run` on its manual clock (`POST /-/clock` to each
//! line's time, then the line to `/api/events`) and run by
//! `shipgate::sim::run` with the same config, rules and seed, makes the
//! same posts in the same order, timers included (both fire them through
//! `Ledger::catch_up`, decided at their due time with one seed per
//! decision).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use shipgate::engine::Effect;
use shipgate::sim::{self, Entry};
use support::{Setup, TestEnv, posts};

/// Thursday evening to Monday in New York: merges, the daily cut at 07:00
/// Friday (a random manager from the seed), deploy, reminders an hour
/// later, verification, a release refused on Friday and done on Monday.
/// Names in other cases on purpose (`WEB`, `Ana`).
const SCRIPT: &str = r##"{"at": "2026-03-12T22:00:00Z", "merged": {"product": "WEB", "change": "#7", "author": "ana-acme", "title": "Tidy the header"}}
{"at": "2026-03-12T22:05:00Z", "merged": {"product": "web", "change": "#8", "author": "benk", "title": "Faster search"}}
{"at": "2026-03-13T12:00:00Z", "ci": {"product": "web", "rc": 1, "status": "deployed"}}
{"at": "2026-03-13T14:30:00Z"}
{"at": "2026-03-13T14:40:00Z", "chat": {"product": "web", "from": "Ana", "text": "!sg verify all"}}
{"at": "2026-03-13T14:41:00Z", "chat": {"product": "web", "from": "ben", "text": "!sg verify all"}}
{"at": "2026-03-13T14:42:00Z", "chat": {"product": "Web", "from": "ben", "text": "!sg release"}}
{"at": "2026-03-16T13:00:00Z", "chat": {"product": "web", "from": "ana", "text": "!sg status"}}
"##;

/// The posts `simulate` makes, as the console prints them.
fn simulated(env: &TestEnv) -> Vec<String> {
    let config = shipgate::config::Config::load(&env.config_path()).unwrap();
    let dir = env.dir.path().join("rules");
    let sources = shipgate::rules::source::read_sources(&[dir]).unwrap();
    let rules = shipgate::rules::compile(sources).unwrap();
    let mut lines = sim::input::parse_script(SCRIPT).unwrap();
    sim::input::resolve_names(&mut lines, &config).unwrap();
    let seed = env.setup.seed.unwrap();
    sim::run(&config, &rules, &lines, seed)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            Entry::Effect {
                effect: Effect::Post(p),
                ..
            } => Some(format!(
                "[{}] shipgate: {}",
                p.product,
                p.text.replace('\n', "\n    ")
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn the_daemon_and_simulate_make_the_same_posts_from_the_same_script() {
    let env = TestEnv::new(Setup::default());
    let expected = simulated(&env);
    assert!(
        expected.iter().any(|p| p.contains("is cut (daily)")),
        "the script cuts a daily RC: {expected:#?}"
    );
    assert!(
        expected.iter().any(|p| p.contains("reminder")),
        "the script fires reminders: {expected:#?}"
    );
    let mut d = env.start("2026-03-12T22:00:00Z");
    d.expect_stdout("shipgate console: you are ana, in web.");
    for line in SCRIPT.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        d.clock_to(v["at"].as_str().unwrap());
        if v.as_object().unwrap().len() > 1 {
            d.events_ok(line, 1);
        }
    }
    let last = expected.last().unwrap();
    d.expect_stdout(last.lines().next().unwrap());
    let finished = d.stop();
    let got: Vec<String> = posts(&finished.stdout)
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.starts_with('['))
        .collect();
    assert_eq!(got, expected);
}
