#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Engine scenarios: each `tests/scenarios/*.jsonl` is a `shipgate simulate`
//! script for one behaviour of the release process, run through the library
//! with the team in `tests/scenarios/team.ron`. The snapshot pins the chat
//! transcript followed by the JSON lines `simulate` prints.
//!
//! A script may start with directives in comment lines:
//! `// rules: FILE` (a rules file beside the scripts instead of the team's)
//! and `// seed: N` (default 0).

use std::path::{Path, PathBuf};
use std::process::Command;

use shipgate::config::Config;
use shipgate::sim;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn directive<'a>(script: &'a str, name: &str) -> Option<&'a str> {
    script
        .lines()
        .take_while(|l| l.trim_start().starts_with("//"))
        .find_map(|l| {
            l.trim_start()
                .trim_start_matches("//")
                .trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(str::trim)
        })
}

/// Runs a script; returns the transcript and the JSON lines.
fn simulate(script: &str) -> (String, String) {
    let config = Config::load(&dir().join("team.ron")).expect("team.ron loads");
    // Paths relative to the package root (the tests' working directory), so
    // rule origins in messages do not depend on where the checkout is.
    let rules_path = match directive(script, "rules") {
        Some(file) => Path::new("tests/scenarios").join(file),
        None => PathBuf::from("rules/release-process.rules"),
    };
    let rules = shipgate::rules::load(&[rules_path]).expect("rules load");
    let seed = directive(script, "seed").map_or(0, |s| s.parse().expect("seed is a number"));
    let mut lines = sim::input::parse_script(script).expect("script parses");
    sim::input::resolve_names(&mut lines, &config).expect("names resolve");
    let entries = sim::run(&config, &rules, &lines, seed).expect("simulation runs");
    let transcript = sim::transcript::render(&entries, rules.policy(None).timezone);
    let mut json = String::new();
    for e in &entries {
        if let sim::Entry::Effect { at, effect } = e {
            json.push_str(&sim::effect_json(*at, effect).to_string());
            json.push('\n');
        }
    }
    (transcript, json)
}

#[test]
fn scenarios() {
    insta::glob!("scenarios/*.jsonl", |path| {
        let script = std::fs::read_to_string(path).unwrap();
        let (transcript, json) = simulate(&script);
        insta::assert_snapshot!(format!(
            "{transcript}\n--- effects (simulate JSON lines) ---\n{json}"
        ));
    });
}

fn run_binary(script: &Path, seed: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("simulate")
        .arg("--rules")
        .arg("rules/release-process.rules")
        .arg("--config")
        .arg(dir().join("team.ron"))
        .arg("--seed")
        .arg(seed.to_string())
        .arg(script)
        .output()
        .expect("shipgate runs");
    assert!(
        out.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

fn daily_managers(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["rc"]["trigger"] == "daily" && v["rc"]["state"] == "open")
        .map(|v| v["rc"]["manager"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn simulate_binary_is_deterministic_and_seeded() {
    let script = dir().join("daily-manager.jsonl");
    let a = run_binary(&script, 7);
    let b = run_binary(&script, 7);
    assert!(!a.is_empty());
    assert_eq!(a, b, "same script and seed must give byte-identical output");
    let first = daily_managers(&a);
    assert!(!first.is_empty());
    let differs = (0..40u64).any(|seed| daily_managers(&run_binary(&script, seed)) != first);
    assert!(differs, "no seed in 0..40 changed the daily managers");
}

#[test]
fn library_matches_binary() {
    let script = dir().join("daily-cut.jsonl");
    let (_, json) = simulate(&std::fs::read_to_string(&script).unwrap());
    assert_eq!(json, run_binary(&script, 0));
}

/// The daemon was down over several daily slots: when it comes back, the
/// missed slot is taken once, late, and not once per missed day.
#[test]
fn a_missed_daily_slot_is_cut_once_late() {
    use chrono::{TimeDelta, TimeZone, Utc};
    use shipgate::engine::{self, Context, Effect, Event, RcState, State};

    let config = Config::load(&dir().join("team.ron")).unwrap();
    let rules = shipgate::rules::load(&[PathBuf::from("rules/release-process.rules")]).unwrap();
    let team = shipgate::team::team_from_config(&config);
    let ctx = |now| Context {
        rules: &rules,
        team: &team,
        now,
        seed: 1,
    };
    let opened = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Rc(r) if r.state == RcState::Open))
            .count()
    };
    // Monday 12:00 New York: a change is merged.
    let monday = Utc.with_ymd_and_hms(2026, 4, 13, 16, 0, 0).unwrap();
    let merged = engine::handle(
        &State::default(),
        &ctx(monday),
        &Event::Merged {
            product: "web".to_owned(),
            change: "#1".to_owned(),
            author: "ana".to_owned(),
            title: "Late".to_owned(),
        },
    );
    // The next timer is Tuesday 07:00 New York (11:00 UTC) ...
    let tuesday = Utc.with_ymd_and_hms(2026, 4, 14, 11, 0, 0).unwrap();
    assert_eq!(
        engine::next_due(&merged.state, &rules, &team),
        Some(tuesday)
    );
    // ... but nothing runs until Thursday 10:00.
    let thursday = Utc.with_ymd_and_hms(2026, 4, 16, 14, 0, 0).unwrap();
    let late = engine::handle(&merged.state, &ctx(thursday), &Event::Tick);
    assert_eq!(opened(&late.effects), 1, "{:#?}", late.effects);
    // Firing again at once does nothing more: the next slot is Friday's.
    let again = engine::handle(
        &late.state,
        &ctx(thursday + TimeDelta::minutes(1)),
        &Event::Tick,
    );
    assert_eq!(opened(&again.effects), 0, "{:#?}", again.effects);
    assert_eq!(
        late.state.products["web"].last_daily,
        Some(chrono::NaiveDate::from_ymd_opt(2026, 4, 16).unwrap())
    );
}
