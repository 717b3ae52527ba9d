//! The command line's stable interface, run as a real process: exit codes,
//! `explain --json` and `calendar --json` fields, and the human output's
//! essentials.
//!
//! Exit codes (src/cli/mod.rs): 0 success, 1 the rules or the question are
//! wrong, 2 usage errors.
//!
//! Expected instants are worked out by hand (New York is -05:00 until
//! 2026-03-08 07:00Z and from 2026-11-01 06:00Z, -04:00 in between; Berlin
//! is +01:00, +02:00 from 2026-03-29 01:00Z) or computed here with
//! chrono-tz, never read back from shipgate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc, Weekday};
use serde_json::{Value, json};

mod cli_support;
use cli_support::{Run, run_in};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `shipgate ARGS` at the repository root.
fn run(args: &[&str]) -> Run {
    run_in(&repo(), args)
}

#[track_caller]
fn ok_json(r: &Run) -> Value {
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

/// `explain --rules rules production --at AT --json` on the default rules.
fn explain_default(at: &str) -> Value {
    ok_json(&run(&[
        "explain",
        "--rules",
        "rules",
        "production",
        "--at",
        at,
        "--json",
    ]))
}

/// A directory holding the given files.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn ny() -> chrono_tz::Tz {
    chrono_tz::America::New_York
}

/// Local wall time in `tz` as RFC 3339 UTC, computed with chrono-tz.
fn utc_of(tz: chrono_tz::Tz, d: NaiveDate, h: u32, m: u32) -> String {
    tz.from_local_datetime(&d.and_hms_opt(h, m, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// ------------------------------------------------------------------- check

#[test]
fn check_accepts_the_default_rules() {
    for path in ["rules", "rules/release-process.rules"] {
        let r = run(&["check", path]);
        assert_eq!(r.code, 0, "check {path}: {r:?}");
        assert!(r.stdout.contains("ok"), "{r:?}");
        assert!(r.stderr.trim().is_empty(), "{r:?}");
    }
}

#[test]
fn check_says_what_each_gate_is() {
    let r = run(&["check", "rules/release-process.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("gates: release -> production, cut -> candidate"),
        "{r:?}"
    );
}

#[test]
fn check_fails_without_a_window_for_the_release_gate() {
    // `window prod` alone: the default release gate follows `production`.
    let dir = dir_with(&[
        (
            "prod.rules",
            "window prod {\n    open mon-thu 08:00-16:00\n}\n",
        ),
        (
            "off.rules",
            "window prod {\n    open mon-thu 08:00-16:00\n}\npolicy {\n    gate release off\n}\n",
        ),
        (
            "named.rules",
            "window prod {\n    open mon-thu 08:00-16:00\n}\npolicy {\n    gate release prod\n}\n",
        ),
        (
            "typo.rules",
            "window prod {\n    open mon-thu 08:00-16:00\n}\npolicy {\n    gate release prdo\n}\n",
        ),
    ]);
    let r = run_in(dir.path(), &["check", "prod.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no `production` window"), "{r:?}");
    assert!(r.stderr.contains("prod.rules:1:1"), "{r:?}");
    assert!(r.stderr.contains("did you mean `prod`?"), "{r:?}");
    assert!(r.stderr.contains("`gate release off`"), "{r:?}");
    let r = run_in(dir.path(), &["check", "off.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("gates: release -> off, cut -> off"),
        "{r:?}"
    );
    let r = run_in(dir.path(), &["check", "named.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("gates: release -> prod, cut -> off"),
        "{r:?}"
    );
    let r = run_in(dir.path(), &["check", "typo.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("typo.rules:5:18"), "{r:?}");
    assert!(r.stderr.contains("did you mean `prod`?"), "{r:?}");
}

#[test]
fn check_with_a_config_cross_checks_products() {
    let dir = dir_with(&[
        (
            "team.ron",
            "(database: \"x.db\", prefix: \"!sg \",\n products: [(name: \"berlin\"), (name: \"web\", rules_product: \"berlinn\")],\n people: [(name: \"ana\", timezone: \"Europe/Berlin\")])\n",
        ),
        (
            "r.rules",
            "window production { open mon-thu 08:00-16:00 }\nproduct berln {\n    window production { open mon 08:00-09:00 }\n}\n",
        ),
        (
            "ok.rules",
            "window production { open mon-thu 08:00-16:00 }\nproduct berlinn {\n    window production { open mon 08:00-09:00 }\n}\n",
        ),
    ]);
    let r = run_in(dir.path(), &["check", "--config", "team.ron", "r.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("`product berln`"), "{r:?}");
    assert!(r.stderr.contains("did you mean `berlin`?"), "{r:?}");
    assert!(r.stderr.contains("`rules_product: \"berlinn\"`"), "{r:?}");
    let r = run_in(dir.path(), &["check", "--config", "team.ron", "ok.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Without `--config` the rules alone are fine.
    let r = run_in(dir.path(), &["check", "r.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    // `simulate` refuses to start on them.
    std::fs::write(
        dir.path().join("e.jsonl"),
        "{\"at\": \"2026-04-13T09:00:00Z\"}\n",
    )
    .unwrap();
    let r = run_in(
        dir.path(),
        &[
            "simulate", "--config", "team.ron", "--rules", "r.rules", "e.jsonl",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("did you mean `berlin`?"), "{r:?}");
}

#[test]
fn check_accepts_the_examples() {
    let examples = repo().join("examples/rules");
    let has_rules = std::fs::read_dir(&examples)
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "rules"))
        })
        .unwrap_or(false);
    if !has_rules {
        return;
    }
    let r = run(&["check", "examples/rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Both at once.
    let r = run(&["check", "rules", "examples/rules"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn check_rejects_a_bad_file_with_diagnostics_on_stderr() {
    let dir = dir_with(&[
        (
            "bad.rules",
            "timezone \"America/New_York\"\nwindow w {\n    open mon 25:00-16:00\n}\n",
        ),
        (
            "good.rules",
            "timezone \"UTC\"\nwindow production {\n    open mon 08:00-16:00\n}\n",
        ),
    ]);
    let r = run_in(dir.path(), &["check", "bad.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    // path:line:col of `25:00`, and the problem in words.
    assert!(r.stderr.contains("bad.rules:3:14"), "{r:?}");
    assert!(r.stderr.contains("25:00"), "{r:?}");
    assert!(r.stderr.contains("impossible time"), "{r:?}");
    assert!(!r.stdout.contains("ok"), "{r:?}");
    // A good and a bad file: still 1, the good one reported ok.
    let r = run_in(dir.path(), &["check", "good.rules", "bad.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("good.rules"), "{r:?}");
    assert!(r.stderr.contains("bad.rules:3:14"), "{r:?}");
    // The directory holds the bad file, so it fails as a whole.
    let r = run_in(dir.path(), &["check", "."]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = run_in(dir.path(), &["check", "good.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn check_fails_on_a_failing_test_block() {
    let dir = dir_with(&[(
        "t.rules",
        "timezone \"America/New_York\"\n\
         window production {\n    open mon-thu 08:00-16:00\n}\n\
         test \"friday\" {\n    expect production open at 2026-03-13 10:00\n}\n",
    )]);
    let r = run_in(dir.path(), &["check", "t.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("friday"), "{r:?}");
    assert!(r.stderr.contains("t.rules:6:"), "{r:?}");
    assert!(r.stderr.contains("closed"), "{r:?}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["check"][..],
        &["check", "--no-such-flag", "rules"],
        &["explain", "--no-such-flag"],
        &["calendar", "--days", "not-a-number"],
        &["no-such-command"],
        &[
            "explain",
            "--rules",
            "rules",
            "production",
            "--at",
            "yesterday-ish",
        ],
        &[
            "calendar",
            "--rules",
            "rules",
            "production",
            "--from",
            "2026-13-01",
        ],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(!r.stderr.trim().is_empty(), "{args:?}: {r:?}");
    }
}

// ----------------------------------------------------------------- explain

#[test]
fn explain_json_has_the_stable_fields() {
    // Monday 2026-03-09 08:00 local is EDT: 12:00Z.
    let v = explain_default("2026-03-09 08:00");
    let obj = v.as_object().unwrap();
    for key in [
        "window",
        "product",
        "at",
        "open",
        "because",
        "next_change",
        "exceptions",
    ] {
        assert!(obj.contains_key(key), "missing `{key}` in {v}");
    }
    assert_eq!(v["window"], "production");
    assert_eq!(v["product"], Value::Null);
    assert_eq!(v["at"], "2026-03-09T12:00:00Z");
    assert_eq!(v["open"], true);
    assert_eq!(v["because"]["line"], 6);
    assert_eq!(v["because"]["text"], "open mon-thu 08:00-16:00");
    // 16:00 EDT.
    assert_eq!(v["next_change"], "2026-03-09T20:00:00Z");
    let mut exceptions: Vec<&str> = v["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    exceptions.sort_unstable();
    assert_eq!(
        exceptions,
        ["critical-bug", "production-down", "urgent-delivery"]
    );
}

#[test]
fn explain_accepts_rfc3339_with_an_offset() {
    let a = explain_default("2026-03-09T08:00:00-04:00");
    let b = explain_default("2026-03-09T12:00:00Z");
    let c = explain_default("2026-03-09 08:00");
    assert_eq!(a["at"], "2026-03-09T12:00:00Z");
    assert_eq!(a, b);
    assert_eq!(a, c);
    // 07:59 EDT is not yet open; it opens at 08:00 EDT.
    let v = explain_default("2026-03-09T11:59:00Z");
    assert_eq!(v["open"], false);
    assert_eq!(v["because"], Value::Null);
    assert_eq!(v["next_change"], "2026-03-09T12:00:00Z");
}

#[test]
fn explain_next_change_across_both_changes() {
    // Friday 2026-03-06 18:00 EST (23:00Z): opens Monday 08:00 EDT.
    let v = explain_default("2026-03-06 18:00");
    assert_eq!(v["at"], "2026-03-06T23:00:00Z");
    assert_eq!(v["open"], false);
    assert_eq!(v["because"], Value::Null);
    assert_eq!(v["next_change"], "2026-03-09T12:00:00Z");
    // Friday 2026-10-30 18:00 EDT (22:00Z): opens Monday 08:00 EST.
    let v = explain_default("2026-10-30 18:00");
    assert_eq!(v["at"], "2026-10-30T22:00:00Z");
    assert_eq!(v["next_change"], "2026-11-02T13:00:00Z");
    // The second 01:30 on 2026-11-01, written with its offset.
    let v = explain_default("2026-11-01T01:30:00-05:00");
    assert_eq!(v["at"], "2026-11-01T06:30:00Z");
    assert_eq!(v["next_change"], "2026-11-02T13:00:00Z");
    // A window that never changes.
    let v = ok_json(&run(&[
        "explain",
        "--rules",
        "rules",
        "candidate",
        "--at",
        "2026-03-14 23:30",
        "--json",
    ]));
    assert_eq!(v["window"], "candidate");
    assert_eq!(v["open"], true);
    assert_eq!(v["because"]["text"], "open always");
    assert_eq!(v["next_change"], Value::Null);
    assert_eq!(v["exceptions"], json!([]));
}

#[test]
fn explain_refuses_nonexistent_and_repeated_local_times() {
    // 02:30 does not exist on 2026-03-08 in New York.
    let r = run(&[
        "explain",
        "--rules",
        "rules",
        "production",
        "--at",
        "2026-03-08 02:30",
        "--json",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.trim().is_empty(), "{r:?}");
    assert!(r.stderr.contains("2026-03-08 02:30"), "{r:?}");
    assert!(r.stderr.contains("does not exist"), "{r:?}");
    assert!(r.stderr.contains("America/New_York"), "{r:?}");
    // 01:30 happens twice on 2026-11-01: the help names both offsets.
    let r = run(&[
        "explain",
        "--rules",
        "rules",
        "production",
        "--at",
        "2026-11-01 01:30",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("-04:00"), "{r:?}");
    assert!(r.stderr.contains("-05:00"), "{r:?}");
}

#[test]
fn explain_unknown_window_suggests_the_right_one() {
    let r = run(&[
        "explain",
        "--rules",
        "rules",
        "prodution",
        "--at",
        "2026-03-09T12:00:00Z",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.trim().is_empty(), "{r:?}");
    assert!(r.stderr.contains("prodution"), "{r:?}");
    assert!(r.stderr.contains("did you mean `production`"), "{r:?}");
}

#[test]
fn explain_human_names_the_clause_and_the_next_change() {
    let r = run(&[
        "explain",
        "--rules",
        "rules",
        "production",
        "--at",
        "2026-03-09 09:00",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    assert!(out.contains("OPEN"), "{r:?}");
    assert!(out.contains("open mon-thu 08:00-16:00"), "{r:?}");
    assert!(out.contains("release-process.rules:6"), "{r:?}");
    // Closes 16:00 EDT = 20:00Z, seven hours on.
    assert!(out.contains("2026-03-09 16:00"), "{r:?}");
    assert!(out.contains("2026-03-09T20:00:00Z"), "{r:?}");
    assert!(out.contains("7 hours"), "{r:?}");
    assert!(out.contains("America/New_York"), "{r:?}");
    // Closed on Friday evening: opens Monday 08:00 EDT (12:00Z), and the
    // exceptions that could open it are listed.
    let r = run(&[
        "explain",
        "--rules",
        "rules",
        "production",
        "--at",
        "2026-03-06 18:00",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let out = &r.stdout;
    assert!(out.contains("CLOSED"), "{r:?}");
    assert!(out.contains("2026-03-09 08:00"), "{r:?}");
    assert!(out.contains("EDT"), "{r:?}");
    assert!(out.contains("2026-03-09T12:00:00Z"), "{r:?}");
    for e in ["production-down", "critical-bug", "urgent-delivery"] {
        assert!(out.contains(e), "{e}: {r:?}");
    }
}

#[test]
fn explain_without_rules_uses_the_embedded_defaults() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!dir.path().join("rules").exists());
    let r = run_in(
        dir.path(),
        &[
            "explain",
            "production",
            "--at",
            "2026-03-09 08:00",
            "--json",
        ],
    );
    let v = ok_json(&r);
    assert_eq!(v["at"], "2026-03-09T12:00:00Z");
    assert_eq!(v["open"], true);
    assert_eq!(v["because"]["line"], 6);
    assert_eq!(v["next_change"], "2026-03-09T20:00:00Z");
    let r = run_in(dir.path(), &["explain", "--at", "2026-03-09T12:00:00Z"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("production"), "{r:?}");
    assert!(r.stdout.contains("default"), "{r:?}");
    // A `rules/` directory in the current directory wins over them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/mine.rules"),
        "window production {\n    open daily 00:00-01:00\n}\n",
    )
    .unwrap();
    let v = ok_json(&run_in(
        dir.path(),
        &[
            "explain",
            "production",
            "--at",
            "2026-03-09T00:30:00Z",
            "--json",
        ],
    ));
    assert_eq!(v["open"], true);
    assert_eq!(v["because"]["line"], 2);
    assert_eq!(v["next_change"], "2026-03-09T01:00:00Z");
}

const TEAM: &str = "\
timezone \"Europe/Berlin\"
window production {
    open weekdays 09:00-17:00
}
product payments {
    window production { open tue-wed 10:00-14:00 }
}
";

const HOTFIX: &str = "\
exception hotfix \"A hotfix\" {
    opens production
    reason required
}
";

#[test]
fn rules_directory_and_products() {
    let dir = dir_with(&[("team.rules", TEAM), ("hotfix.rules", HOTFIX)]);
    let rules = dir.path().to_str().unwrap();
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", "--rules", rules];
        args.extend_from_slice(extra);
        args.push("--json");
        ok_json(&run(&args))
    };
    // Mon 2026-03-30 09:00 CEST = 07:00Z; closes 17:00 CEST = 15:00Z.
    let v = explain(&["production", "--at", "2026-03-30 09:00"]);
    assert_eq!(v["at"], "2026-03-30T07:00:00Z");
    assert_eq!(v["open"], true);
    assert_eq!(v["because"]["line"], 3);
    assert_eq!(v["next_change"], "2026-03-30T15:00:00Z");
    assert_eq!(v["exceptions"], json!(["hotfix"]));
    // Fri 2026-03-27 17:00 CET = 16:00Z: closed until Monday 07:00Z.
    let v = explain(&["production", "--at", "2026-03-27 17:00"]);
    assert_eq!(v["at"], "2026-03-27T16:00:00Z");
    assert_eq!(v["open"], false);
    assert_eq!(v["next_change"], "2026-03-30T07:00:00Z");
    // For payments, Monday is closed and Tuesday 10:00 CEST (08:00Z) opens.
    let v = explain(&[
        "--product",
        "payments",
        "production",
        "--at",
        "2026-03-30 09:00",
    ]);
    assert_eq!(v["product"], "payments");
    assert_eq!(v["open"], false);
    assert_eq!(v["next_change"], "2026-03-31T08:00:00Z");
    assert_eq!(v["exceptions"], json!(["hotfix"]));
    let v = explain(&[
        "--product",
        "payments",
        "production",
        "--at",
        "2026-03-31T09:00:00Z",
    ]);
    assert_eq!(v["open"], true);
    assert_eq!(v["because"]["line"], 6);
    assert_eq!(v["next_change"], "2026-03-31T12:00:00Z");
    // An unknown product.
    let r = run(&[
        "explain",
        "--rules",
        rules,
        "--product",
        "paymants",
        "production",
        "--at",
        "2026-03-31T09:00:00Z",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("did you mean `payments`"), "{r:?}");
    // A single file of that directory: no exceptions.
    let file = dir.path().join("team.rules");
    let v = ok_json(&run(&[
        "explain",
        "--rules",
        file.to_str().unwrap(),
        "production",
        "--at",
        "2026-03-30 09:00",
        "--json",
    ]));
    assert_eq!(v["open"], true);
    assert_eq!(v["exceptions"], json!([]));
    // The calendar for payments over a week: Tue and Wed 10:00-14:00 CEST.
    let v = ok_json(&run(&[
        "calendar",
        "--rules",
        rules,
        "--product",
        "payments",
        "production",
        "--from",
        "2026-03-30",
        "--days",
        "7",
        "--json",
    ]));
    assert_eq!(
        v["intervals"],
        json!([
            {"start": "2026-03-31T08:00:00Z", "end": "2026-03-31T12:00:00Z"},
            {"start": "2026-04-01T08:00:00Z", "end": "2026-04-01T12:00:00Z"},
        ])
    );
}

#[test]
fn invalid_rules_make_explain_fail() {
    let dir = dir_with(&[(
        "bad.rules",
        "window production {\n    open mon 08:60-09:00\n}\n",
    )]);
    let r = run(&[
        "explain",
        "--rules",
        dir.path().to_str().unwrap(),
        "production",
        "--at",
        "2026-03-09T12:00:00Z",
        "--json",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.trim().is_empty(), "{r:?}");
    assert!(r.stderr.contains("bad.rules:2:"), "{r:?}");
}

// ---------------------------------------------------------------- calendar

/// The default window's open intervals, computed from its meaning
/// (Mon-Thu 08:00-16:00 New York time) with chrono-tz.
fn default_intervals(from: NaiveDate, days: u64) -> Value {
    let mut out = Vec::new();
    for i in 0..days {
        let d = from + Days::new(i);
        if matches!(
            d.weekday(),
            Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu
        ) {
            out.push(json!({
                "start": utc_of(ny(), d, 8, 0),
                "end": utc_of(ny(), d, 16, 0),
            }));
        }
    }
    Value::Array(out)
}

fn calendar_json(from: &str, days: &str) -> Value {
    ok_json(&run(&[
        "calendar",
        "--rules",
        "rules",
        "production",
        "--from",
        from,
        "--days",
        days,
        "--json",
    ]))
}

#[test]
fn calendar_json_across_the_march_change() {
    let v = calendar_json("2026-03-06", "7");
    assert_eq!(v["window"], "production");
    let from = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
    assert_eq!(v["intervals"], default_intervals(from, 7));
    // The same, by hand: Monday to Thursday after the change, 12:00Z-20:00Z.
    assert_eq!(
        v["intervals"],
        json!([
            {"start": "2026-03-09T12:00:00Z", "end": "2026-03-09T20:00:00Z"},
            {"start": "2026-03-10T12:00:00Z", "end": "2026-03-10T20:00:00Z"},
            {"start": "2026-03-11T12:00:00Z", "end": "2026-03-11T20:00:00Z"},
            {"start": "2026-03-12T12:00:00Z", "end": "2026-03-12T20:00:00Z"},
        ])
    );
    // A week that straddles the change: Thursday 03-05 is still EST.
    let v = calendar_json("2026-03-05", "7");
    let from = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    assert_eq!(v["intervals"], default_intervals(from, 7));
    assert_eq!(
        v["intervals"][0],
        json!({"start": "2026-03-05T13:00:00Z", "end": "2026-03-05T21:00:00Z"})
    );
    assert_eq!(
        v["intervals"][1],
        json!({"start": "2026-03-09T12:00:00Z", "end": "2026-03-09T20:00:00Z"})
    );
    assert_eq!(v["intervals"].as_array().unwrap().len(), 4);
}

#[test]
fn calendar_json_across_the_november_change() {
    let v = calendar_json("2026-10-29", "7");
    let from = NaiveDate::from_ymd_opt(2026, 10, 29).unwrap();
    assert_eq!(v["intervals"], default_intervals(from, 7));
    assert_eq!(
        v["intervals"],
        json!([
            {"start": "2026-10-29T12:00:00Z", "end": "2026-10-29T20:00:00Z"},
            {"start": "2026-11-02T13:00:00Z", "end": "2026-11-02T21:00:00Z"},
            {"start": "2026-11-03T13:00:00Z", "end": "2026-11-03T21:00:00Z"},
            {"start": "2026-11-04T13:00:00Z", "end": "2026-11-04T21:00:00Z"},
        ])
    );
}

#[test]
fn calendar_json_clips_to_the_period() {
    // An always-open window is one interval: local midnight to local
    // midnight, 2026-03-07 00:00 EST (05:00Z) to 03-09 00:00 EDT (04:00Z).
    let v = ok_json(&run(&[
        "calendar",
        "--rules",
        "rules",
        "candidate",
        "--from",
        "2026-03-07",
        "--days",
        "2",
        "--json",
    ]));
    assert_eq!(v["window"], "candidate");
    assert_eq!(
        v["intervals"],
        json!([{"start": "2026-03-07T05:00:00Z", "end": "2026-03-09T04:00:00Z"}])
    );
    // Overnight ranges that touch at midnight merge.
    let dir = dir_with(&[(
        "n.rules",
        "timezone \"UTC\"\nwindow night {\n    open daily 22:00-24:00\n    open daily 00:00-06:00\n}\n",
    )]);
    let v = ok_json(&run(&[
        "calendar",
        "--rules",
        dir.path().to_str().unwrap(),
        "night",
        "--from",
        "2026-06-01",
        "--days",
        "2",
        "--json",
    ]));
    assert_eq!(
        v["intervals"],
        json!([
            {"start": "2026-06-01T00:00:00Z", "end": "2026-06-01T06:00:00Z"},
            {"start": "2026-06-01T22:00:00Z", "end": "2026-06-02T06:00:00Z"},
            {"start": "2026-06-02T22:00:00Z", "end": "2026-06-03T00:00:00Z"},
        ])
    );
}

#[test]
fn calendar_grid_has_one_row_per_day() {
    let r = run(&[
        "calendar",
        "--rules",
        "rules",
        "production",
        "--from",
        "2026-03-06",
        "--days",
        "7",
        "--color",
        "never",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.stdout.contains('\x1b'),
        "colour with --color never: {r:?}"
    );
    let rows: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("2026-"))
        .collect();
    let want: Vec<String> = (6..=12).map(|d| format!("2026-03-{d:02}")).collect();
    assert_eq!(rows.len(), 7, "{r:?}");
    for (row, day) in rows.iter().zip(&want) {
        assert!(row.starts_with(day.as_str()), "{row} should be {day}");
    }
    // Open Monday to Thursday only, 08:00-16:00 local.
    for row in &rows {
        let weekday_open = ["Mon", "Tue", "Wed", "Thu"].iter().any(|d| row.contains(d));
        assert_eq!(row.contains('█'), weekday_open, "{row}");
        assert_eq!(row.contains("08:00-16:00"), weekday_open, "{row}");
    }
    let r = run(&[
        "calendar",
        "--rules",
        "rules",
        "production",
        "--from",
        "2026-03-01",
        "--days",
        "31",
        "--color",
        "never",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("2026-03-"))
            .count(),
        31,
        "{r:?}"
    );
}
