//! The command line's diagnostics and reasons (issue 10, items 8 and 9),
//! run as a real process: hostile long lines, warnings and
//! `--deny-warnings`, failing `test` blocks that do not stop `explain` and
//! `calendar`, and the labels of closed days in `calendar` and `explain`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;

mod cli_support;
use cli_support::{Run, run_in};

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// `shipgate explain --rules r.rules production --at AT MORE…` in `dir`.
fn explain(dir: &Path, at: &str, more: &[&str]) -> Run {
    let mut args = vec!["explain", "--rules", "r.rules", "production", "--at", at];
    args.extend_from_slice(more);
    run_in(dir, &args)
}

/// `shipgate calendar --rules r.rules production --from FROM --days DAYS
/// MORE…` in `dir`.
fn calendar(dir: &Path, from: &str, days: u32, more: &[&str]) -> Run {
    let days = days.to_string();
    let mut args = vec![
        "calendar",
        "--rules",
        "r.rules",
        "production",
        "--from",
        from,
        "--days",
        &days,
    ];
    args.extend_from_slice(more);
    run_in(dir, &args)
}

const HOLIDAYS: &str = "timezone \"America/New_York\"\n\
calendar us-holidays \"US holidays\" {\n    4th thu nov \"Thanksgiving\"\n}\n\
window production {\n    open mon-fri 09:00-17:00\n    closed calendar us-holidays\n    \
closed dec 24 12:00-24:00 \"Christmas Eve afternoon\"\n}\n";

#[test]
fn a_120000_character_line_is_a_readable_error_not_a_panic() {
    let long = format!(
        "window production {{\n    open {}xyz 08:00-16:00\n}}\n",
        " ".repeat(120_000)
    );
    let quoted = format!(
        "window production {{\n    open mon 08:00-16:00 \"{}\n}}\n",
        "x".repeat(120_000)
    );
    let dir = dir_with(&[("long.rules", &long), ("quoted.rules", &quoted)]);
    for file in ["long.rules", "quoted.rules"] {
        let r = run_in(dir.path(), &["check", file]);
        assert_eq!(r.code, 1, "{file}: {r:?}");
        assert!(!r.stderr.contains("panicked"), "{file}: {r:?}");
        // The snippet is cut around the problem: short lines, caret shown.
        let longest = r.stderr.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(longest < 200, "{file}: a line of {longest} characters");
        assert!(r.stderr.contains('…'), "{file}: {r:?}");
        assert!(r.stderr.contains("╰──"), "{file}: {r:?}");
    }
    let r = run_in(dir.path(), &["check", "long.rules"]);
    // The column is the real one, past the cut.
    assert!(r.stderr.contains("long.rules:2:120010"), "{r:?}");
    assert!(r.stderr.contains("found `xyz`"), "{r:?}");
    let r = run_in(dir.path(), &["check", "quoted.rules"]);
    assert!(r.stderr.contains("never closed"), "{r:?}");
}

#[test]
fn warnings_pass_check_unless_denied() {
    let dir = dir_with(&[(
        "w.rules",
        "window production {\n    open mon-thu,wed 08:00-16:00\n    open mon 09:00-10:00\n}\n",
    )]);
    let r = run_in(dir.path(), &["check", "w.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("(2 warnings)"), "{r:?}");
    assert!(r.stderr.contains("⚠"), "{r:?}");
    assert!(r.stderr.contains("w.rules:2:18"), "{r:?}");
    assert!(r.stderr.contains("can never matter"), "{r:?}");
    let r = run_in(dir.path(), &["check", "--deny-warnings", "w.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("2 warnings, denied by `--deny-warnings`"),
        "{r:?}"
    );
    let r = run_in(dir.path(), &["check", "--json", "w.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{r:?}");
    assert_eq!(lines[0]["severity"], "warning");
    assert_eq!(lines[0]["code"], "repeated-day");
    assert_eq!(lines[1]["code"], "covered-clause");
    assert_eq!(lines[1]["line"], 3);
    // Clean rules: no warnings, and denying them changes nothing.
    let dir = dir_with(&[(
        "ok.rules",
        "window production {\n    open mon-thu 08:00-16:00\n}\n",
    )]);
    let r = run_in(dir.path(), &["check", "--deny-warnings", "ok.rules"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("warning"), "{r:?}");
}

#[test]
fn a_failing_test_block_does_not_stop_explain_or_calendar() {
    let rules = format!(
        "{HOLIDAYS}test \"wrong\" {{\n    expect production open at 2026-11-26 10:00\n}}\n"
    );
    let dir = dir_with(&[("r.rules", &rules)]);
    let r = run_in(dir.path(), &["check", "r.rules"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = explain(dir.path(), "2026-11-26T15:00:00Z", &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("test `wrong` failed"), "{r:?}");
    assert!(r.stderr.contains("evaluating anyway"), "{r:?}");
    assert!(r.stdout.contains("is CLOSED"), "{r:?}");
    let r = calendar(dir.path(), "2026-11-26", 1, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("test `wrong` failed"), "{r:?}");
    assert!(r.stdout.contains("2026-11-26 Thu"), "{r:?}");
}

#[test]
fn calendar_lists_the_labels_of_closed_days() {
    let dir = dir_with(&[("r.rules", HOLIDAYS)]);
    let r = calendar(dir.path(), "2026-11-25", 3, &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("2026-11-26 Thu  closed all day: Thanksgiving (us-holidays)"),
        "{r:?}"
    );
    // Thanksgiving's row is marked, the ordinary closed hours are not.
    let row = |day: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(day))
            .unwrap()
            .to_owned()
    };
    assert_eq!(row("2026-11-26").matches('×').count(), 24, "{r:?}");
    assert_eq!(row("2026-11-25").matches('×').count(), 0, "{r:?}");
    assert_eq!(row("2026-11-25").matches('·').count(), 16, "{r:?}");
    let r = calendar(dir.path(), "2026-12-24", 1, &[]);
    assert!(
        r.stdout
            .contains("2026-12-24 Thu  closed 12:00-24:00: Christmas Eve afternoon"),
        "{r:?}"
    );
}

#[test]
fn calendar_json_gives_the_closed_intervals_and_their_reasons() {
    let dir = dir_with(&[("r.rules", HOLIDAYS)]);
    let r = calendar(dir.path(), "2026-11-25", 2, &["--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    // New York is -05:00 in November: Thanksgiving is 05:00Z to 05:00Z.
    assert_eq!(v["intervals"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["intervals"][0]["start"], "2026-11-25T14:00:00Z");
    let closed = v["closed"].as_array().unwrap();
    assert_eq!(closed.len(), 1, "{v}");
    assert_eq!(closed[0]["start"], "2026-11-26T05:00:00Z");
    assert_eq!(closed[0]["end"], "2026-11-27T05:00:00Z");
    assert_eq!(closed[0]["label"], "Thanksgiving");
    assert_eq!(closed[0]["calendar"], "us-holidays");
    assert_eq!(closed[0]["file"], "r.rules");
    assert_eq!(closed[0]["line"], 3);
}

#[test]
fn explain_names_the_label_and_calendar_that_decided() {
    let dir = dir_with(&[("r.rules", HOLIDAYS)]);
    let r = explain(dir.path(), "2026-11-26T15:00:00Z", &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("(r.rules:3)"), "{r:?}");
    assert!(
        r.stdout
            .contains("reason:    Thanksgiving (calendar us-holidays)"),
        "{r:?}"
    );
    let r = explain(dir.path(), "2026-11-26T15:00:00Z", &["--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["because"]["label"], "Thanksgiving");
    assert_eq!(v["because"]["calendar"], "us-holidays");
    assert_eq!(v["because"]["line"], 3);
}
