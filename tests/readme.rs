//! The README's quick-start walk-through, extracted from README.md and
//! pasted as it stands into the console of the real daemon, inside and
//! outside the production window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Daemon, Setup, TestEnv};

/// Monday 2026-03-16 10:00 in New York (EDT): production is open.
const MONDAY_1000_NY: &str = "2026-03-16T14:00:00Z";
/// Friday 2026-03-13 18:00 in New York (EDT): production is closed.
const FRIDAY_1800_NY: &str = "2026-03-13T22:00:00Z";

/// The `text` code blocks of the README's quick start, in order.
fn quick_start_blocks() -> Vec<Vec<String>> {
    let readme = include_str!("../README.md");
    let start = readme.find("## Quick start").expect("a quick start");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in section[..end].lines() {
        match (&mut current, line.trim_end()) {
            (None, "```text") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), l) => b.push(l.to_owned()),
            (None, _) => {}
        }
    }
    blocks
}

fn paste(d: &mut Daemon, block: &[String]) {
    for line in block {
        d.type_line(line);
    }
}

#[test]
fn the_blocks_are_commands_and_comments_only() {
    let blocks = quick_start_blocks();
    assert_eq!(blocks.len(), 3, "{blocks:#?}");
    for line in blocks.iter().flatten() {
        // A trailing `# ...` would become chat text; only whole-line
        // comments are ignored by the console.
        let ok = line.starts_with("# ")
            || (line.starts_with('/') && !line.contains(" # "))
            || (line.starts_with("!sg ") && !line.contains(" # "));
        assert!(ok, "not a command or a comment line: {line:?}");
    }
}

#[test]
fn the_walk_through_releases_inside_the_window() {
    let blocks = quick_start_blocks();
    let env = TestEnv::new(Setup::default());
    let mut d = env.start(MONDAY_1000_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    paste(&mut d, &blocks[0]);
    let cut = d.expect_stdout("RC #1 for web is cut (manual: ship the login fix)");
    assert!(cut.contains("Release manager: @ana"), "{cut}");
    d.expect_stdout("@ana: verified #101 in RC #1");
    d.expect_stdout("every change in RC #1 is verified; it is ready to release");
    d.expect_stdout("@ana is releasing RC #1 to production");
    d.expect_stdout("production is open");
    paste(&mut d, &blocks[1]);
    d.expect_stdout("RC #1 is released to production. Thank you, @ana and @ben.");
    let history = &d.status()["products"]["web"]["history"];
    assert_eq!(history[0]["id"], 1, "{history}");
    assert_eq!(history[0]["state"], "released", "{history}");
    // No line of the walk-through was taken for something else.
    let stray: Vec<String> = d
        .posts_containing("console: ")
        .into_iter()
        .filter(|l| l.starts_with("console: "))
        .collect();
    assert!(
        stray
            .iter()
            .all(|l| l.starts_with("console: you are now") || l.starts_with("console: #10")),
        "{stray:#?}"
    );
    assert!(d.posts_containing("I don't know").is_empty());
    assert!(d.posts_containing("not in the team config").is_empty());
    assert!(d.posts_containing("not a command").is_empty());
    d.stop();
}

#[test]
fn the_walk_through_is_refused_on_an_evening_and_an_exception_releases() {
    let blocks = quick_start_blocks();
    let env = TestEnv::new(Setup::default());
    let mut d = env.start(FRIDAY_1800_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    paste(&mut d, &blocks[0]);
    d.expect_stdout("RC #1 for web is cut (manual: ship the login fix)");
    d.expect_stdout("every change in RC #1 is verified; it is ready to release");
    let refused = d.expect_stdout("@ana: not released: production is closed");
    assert!(refused.contains("Friday 18:"), "{refused}");
    assert!(
        refused.contains("it opens Mon 2026-03-16 08:00 EDT"),
        "{refused}"
    );
    assert_eq!(d.status()["products"]["web"]["current"]["state"], "ready");
    // The README's way to try the release path anyway.
    paste(&mut d, &blocks[2]);
    d.expect_stdout("`critical-bug`");
    d.expect_stdout("@ana is releasing RC #1 to production");
    d.expect_stdout("RC #1 is released to production.");
    assert_eq!(
        d.status()["products"]["web"]["history"][0]["state"],
        "released"
    );
    d.stop();
}

#[test]
fn console_ci_reports_on_the_rc_in_flight_and_says_when_it_is_not() {
    let env = TestEnv::new(Setup::default());
    let mut d = env.start(MONDAY_1000_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.type_line("/ci built");
    d.expect_stdout("console: no RC is in flight in web");
    d.type_line("/merge #1 One");
    d.type_line("!sg rc request first");
    d.expect_stdout("RC #1 for web is cut");
    d.type_line("!sg rc not-viable broken next: fix it");
    d.type_line("/merge #2 Two");
    d.type_line("!sg rc request second");
    d.expect_stdout("RC #2 for web is cut");
    // The RC number from an earlier run of the walk-through.
    d.type_line("/ci 1 deployed");
    d.expect_stdout("console: RC #1 is not in flight in web (RC #2 is)");
    d.type_line("/ci deployed");
    d.expect_stdout("RC #2 is deployed for verification.");
    d.stop();
}

/// The README's first command runs the daemon on `examples/shipgate.ron` as
/// shipped: it must start on the embedded rules, with only the port moved
/// so that tests can run side by side.
#[test]
fn the_example_config_starts_as_shipped() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let text = std::fs::read_to_string(examples.join("shipgate.ron")).unwrap();
    assert!(text.contains("\"127.0.0.1:8080\""), "the README's port");
    let text = text.replace("\"127.0.0.1:8080\"", "\"127.0.0.1:0\"");
    std::fs::write(dir.path().join("shipgate.ron"), text).unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    for entry in std::fs::read_dir(examples.join("secrets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), secrets.join(entry.file_name())).unwrap();
    }
    let mut d = Daemon::start(&dir.path().join("shipgate.ron"), MONDAY_1000_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.type_line("!sg status payments");
    d.expect_stdout("payments: no RC in flight.");
    d.stop();
}
