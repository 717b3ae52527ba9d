#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Golden files for diagnostics: every file in `tests/rules/err/` is a rules
//! file with one kind of problem (a few have several, to show that all are
//! reported at once). Each must be rejected; the rendered report is pinned
//! in `tests/snapshots/`.
//!
//! Update the snapshots with `INSTA_UPDATE=always cargo test --test
//! rules_diagnostics`, then read every changed one as a user would.

use std::path::Path;

use shipgate::rules::{Diagnostic, Source, compile};

/// The name a file is reported under: stable across machines.
fn display_name(path: &Path) -> String {
    format!(
        "tests/rules/err/{}",
        path.file_name().unwrap().to_string_lossy()
    )
}

fn diagnostics(path: &Path) -> (Source, Vec<Diagnostic>) {
    let bytes = std::fs::read(path).unwrap();
    let source = Source::from_bytes(display_name(path), &bytes)
        .unwrap_or_else(|d| panic!("{} cannot be read: {}", path.display(), d.one_line()));
    match compile(vec![source.clone()]) {
        Ok(_) => panic!(
            "{} compiled, but it is in the corpus of bad files",
            path.display()
        ),
        Err(ds) => (source, ds),
    }
}

#[test]
fn bad_files_render_their_diagnostics() {
    insta::glob!("rules/err/*.rules", |path| {
        let (source, ds) = diagnostics(path);
        assert!(!ds.is_empty());
        for d in &ds {
            // Every problem in a file points at a line and column in it.
            let pos = d
                .position()
                .unwrap_or_else(|| panic!("{}: no position for {}", path.display(), d.one_line()));
            let prefix = format!("{}:", source.name);
            let line_col = pos.strip_prefix(&prefix).unwrap_or_else(|| {
                panic!("{}: position {pos} is not in this file", path.display())
            });
            let (line, col) = line_col.split_once(':').unwrap();
            let (line, col): (usize, usize) = (line.parse().unwrap(), col.parse().unwrap());
            assert!(
                line >= 1 && line <= source.text.lines().count().max(1) + 1 && col >= 1,
                "{}: position {pos} is outside the file",
                path.display()
            );
            // Errors are for people: no grammar rule names, no Rust types.
            for word in ["internal", "Rule::", "kw_", "_range", "Some(", "Err("] {
                assert!(
                    !d.message.contains(word),
                    "{}: message leaks `{word}`: {}",
                    path.display(),
                    d.message
                );
            }
            // Messages start in lowercase (STYLE.md 6).
            let first = d.message.chars().next().unwrap();
            assert!(
                !first.is_uppercase(),
                "{}: message starts in uppercase: {}",
                path.display(),
                d.message
            );
        }
        let rendered: Vec<String> = ds.iter().map(|d| d.render(false)).collect();
        insta::assert_snapshot!(rendered.join("\n"));
    });
}

/// Files that are valid but earn warnings: each compiles, and its warnings
/// (at least one) are pinned like the errors above.
#[test]
fn suspicious_files_render_their_warnings() {
    insta::glob!("rules/warn/*.rules", |path| {
        let bytes = std::fs::read(path).unwrap();
        let name = format!(
            "tests/rules/warn/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let source = Source::from_bytes(name, &bytes).unwrap();
        let set = compile(vec![source]).unwrap_or_else(|ds| {
            panic!(
                "{} does not compile: {}",
                path.display(),
                ds.iter()
                    .map(|d| d.one_line())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert!(!set.warnings.is_empty(), "{}: no warnings", path.display());
        for w in &set.warnings {
            assert!(w.warning, "{}: {}", path.display(), w.one_line());
            assert!(
                w.position().is_some(),
                "{}: {}",
                path.display(),
                w.one_line()
            );
        }
        let rendered: Vec<String> = set.warnings.iter().map(|d| d.render(false)).collect();
        insta::assert_snapshot!(rendered.join("\n"));
    });
}

/// Clauses that overlap without one covering the other, and calendars
/// sharing a day, are not warned about.
#[test]
fn overlapping_but_useful_clauses_are_not_warned_about() {
    let text = "window production {\n    open mon-thu 08:00-16:00\n    open thu-fri 12:00-18:00\n    \
                closed dec 24..dec 26\n    closed dec 26..jan 1\n    open mon 07:00-09:00\n}\n";
    let set = compile(vec![Source::new("ok.rules", text)]).unwrap();
    assert!(
        set.warnings.is_empty(),
        "{:?}",
        set.warnings
            .iter()
            .map(|d| d.one_line())
            .collect::<Vec<_>>()
    );
}

/// The files with several problems report each of them.
#[test]
fn all_problems_are_reported_at_once() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules/err");
    for (file, at_least) in [
        ("many-problems.rules", 6),
        ("many-syntax-errors.rules", 3),
        ("failing-test.rules", 3),
    ] {
        let (_, ds) = diagnostics(&dir.join(file));
        assert!(
            ds.len() >= at_least,
            "{file}: expected at least {at_least} diagnostics, got {}:\n{}",
            ds.len(),
            ds.iter()
                .map(|d| d.one_line())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let mut lines: Vec<String> = ds.iter().filter_map(|d| d.position()).collect();
        lines.dedup();
        assert!(lines.len() >= at_least, "{file}: positions {lines:?}");
    }
}

/// The one-line and JSON forms carry the same position as the report.
#[test]
fn one_line_and_json_agree_with_the_position() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules/err");
    let (_, ds) = diagnostics(&dir.join("unknown-timezone.rules"));
    let d = &ds[0];
    assert_eq!(d.code, "unknown-timezone");
    let pos = d.position().unwrap();
    assert_eq!(pos, "tests/rules/err/unknown-timezone.rules:2:10");
    assert!(
        d.one_line().starts_with(&format!("{pos}: ")),
        "{}",
        d.one_line()
    );
    assert!(d.one_line().contains("did you mean `America/New_York`?"));
    let json = d.to_json();
    assert_eq!(json["file"], "tests/rules/err/unknown-timezone.rules");
    assert_eq!(json["line"], 2);
    assert_eq!(json["column"], 10);
    assert_eq!(json["code"], "unknown-timezone");
    assert_eq!(json["help"], "did you mean `America/New_York`?");
}
