//! Rough edges people hit in chat, each pinned by what shipgate answers:
//! `status PRODUCT`, help for a word of a command, real plurals, exception
//! ids (`E1`), an empty change title, CI `deployed` with nothing left to
//! verify, the "ready" message under a granted exception, the escalation
//! held to the manager's working hours, and names typed in any case.
//!
//! Each script runs through `simulate`'s library code with the scenario
//! team (`tests/scenarios/team.ron`) and the default rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use shipgate::config::Config;
use shipgate::engine::Effect;
use shipgate::sim;

fn config() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/team.ron"))
        .expect("team.ron loads")
}

/// The posts of a script, with when they were made (RFC 3339, UTC).
fn posts(script: &str) -> Vec<(String, String)> {
    let config = config();
    let rules =
        shipgate::rules::load(&[PathBuf::from("rules/release-process.rules")]).expect("rules load");
    let mut lines = sim::input::parse_script(script).expect("script parses");
    sim::input::resolve_names(&mut lines, &config).expect("names resolve");
    sim::run(&config, &rules, &lines, 0)
        .expect("simulation runs")
        .into_iter()
        .filter_map(|e| match e {
            sim::Entry::Effect {
                at,
                effect: Effect::Post(p),
            } => Some((shipgate::timefmt::utc(at), p.text)),
            _ => None,
        })
        .collect()
}

fn texts(script: &str) -> Vec<String> {
    posts(script).into_iter().map(|(_, t)| t).collect()
}

fn find<'a>(texts: &'a [String], needle: &str) -> &'a str {
    texts
        .iter()
        .find(|t| t.contains(needle))
        .unwrap_or_else(|| panic!("no post with {needle:?} in {texts:#?}"))
}

fn chat(at: &str, from: &str, text: &str) -> String {
    format!(r#"{{"at": "{at}", "chat": {{"product": "web", "from": "{from}", "text": "{text}"}}}}"#)
}

fn merged(at: &str, change: &str, author: &str, title: &str) -> String {
    format!(
        r#"{{"at": "{at}", "merged": {{"product": "web", "change": "{change}", "author": "{author}", "title": "{title}"}}}}"#
    )
}

fn ci(at: &str, rc: u64, status: &str) -> String {
    format!(r#"{{"at": "{at}", "ci": {{"product": "web", "rc": {rc}, "status": "{status}"}}}}"#)
}

/// Tuesday 2026-03-10, New York.
const TUE: &str = "2026-03-10T10:00:00-04:00";
const TUE_1005: &str = "2026-03-10T10:05:00-04:00";
const TUE_1010: &str = "2026-03-10T10:10:00-04:00";
const TUE_1015: &str = "2026-03-10T10:15:00-04:00";
const TUE_1020: &str = "2026-03-10T10:20:00-04:00";

#[test]
fn status_takes_a_product_in_any_case() {
    let script = [
        merged(TUE, "#1", "ana@acme.example", "One"),
        r#"{"at": "2026-03-10T10:01:00-04:00", "chat": {"product": "payments", "from": "ana", "text": "!sg status WEB"}}"#.to_owned(),
        chat(TUE_1005, "ana", "!sg status nope"),
    ]
    .join("\n");
    let t = texts(&script);
    let web = find(&t, "web: no RC in flight.");
    assert!(
        web.contains("Waiting for the next RC: 1 merged change: #1."),
        "{web}"
    );
    let nope = find(&t, "there is no product `nope`");
    assert!(nope.contains("the products are payments, web"), "{nope}");
}

#[test]
fn help_for_a_word_of_a_command() {
    let script = [
        chat(TUE, "ana", "!sg help exception"),
        chat(TUE_1005, "ana", "!sg help released"),
        chat(TUE_1010, "ana", "!sg help object"),
    ]
    .join("\n");
    let t = texts(&script);
    assert!(
        t[0].starts_with("`!sg release exception NAME [REASON]`"),
        "{}",
        t[0]
    );
    assert!(t[1].starts_with("`!sg rc released`"), "{}", t[1]);
    assert!(t[2].starts_with("`!sg rc object REASON`"), "{}", t[2]);
}

#[test]
fn plurals_titles_and_an_empty_still_to_verify() {
    let script = [
        merged(TUE, "#1", "ana@acme.example", "One"),
        merged(TUE, "D1", "ben@acme.example", ""),
        chat(TUE_1005, "ana", "!sg rc request one"),
        chat(TUE_1010, "ana", "!sg status"),
        chat(TUE_1010, "ana", "!sg verify all"),
        chat(TUE_1015, "ben", "!sg handoff D1 to ana"),
        chat(TUE_1015, "ana", "!sg verify D1"),
        ci(TUE_1020, 1, "deployed"),
    ]
    .join("\n");
    let t = texts(&script);
    let cut = find(&t, "RC #1 for web is cut");
    assert!(cut.contains("  • D1 (@ben)"), "no double space: {cut}");
    assert!(!cut.contains("D1  "), "{cut}");
    let status = find(&t, "web: RC #1");
    assert!(status.contains("0 of 2 changes verified"), "{status}");
    find(&t, "@ana: verified #1 in RC #1; 1 change left to verify.");
    let handed = find(&t, "handed you D1 to verify");
    assert!(!handed.contains("()"), "{handed}");
    let deployed = find(&t, "RC #1 is deployed for verification");
    assert!(!deployed.contains("Still to verify"), "{deployed}");
    assert!(
        deployed.contains("every change in it is already verified"),
        "{deployed}"
    );
}

#[test]
fn exceptions_have_their_own_ids_and_hold_the_ready_message() {
    // Friday 2026-03-13, production closed in New York.
    let script = [
        merged("2026-03-13T10:00:00-04:00", "#1", "ana@acme.example", "One"),
        chat("2026-03-13T10:01:00-04:00", "ana", "!sg rc request one"),
        chat(
            "2026-03-13T10:02:00-04:00",
            "ana",
            "!sg release exception urgent-delivery billing launches",
        ),
        chat("2026-03-13T10:03:00-04:00", "ben", "!sg status"),
        chat("2026-03-13T10:04:00-04:00", "ben", "!sg approve E1"),
        chat("2026-03-13T10:05:00-04:00", "ana", "!sg verify all"),
    ]
    .join("\n");
    let t = texts(&script);
    let asked = find(&t, "asks for exception E1 `urgent-delivery`");
    assert!(
        asked.contains(
            "It needs 1 approval from someone else (@ben, @clara, @dieter or @priya can approve): \
             `!sg approve E1`."
        ),
        "{asked}"
    );
    let status = find(&t, "web: RC #1");
    assert!(
        status.contains("Exception E1 `urgent-delivery` by ana: waiting for 1 approval."),
        "{status}"
    );
    find(&t, "Exception E1 `urgent-delivery` is granted to @ana");
    let ready = find(&t, "it is ready to release");
    assert!(
        ready.contains(
            "Production is closed, but exception E1 `urgent-delivery` allows the release until Fri 2026-03-13 12:04 EDT"
        ),
        "{ready}"
    );
    assert!(!ready.contains("it opens Mon"), "{ready}");
}

#[test]
fn approve_takes_the_bare_number_too() {
    let script = [
        merged("2026-03-13T10:00:00-04:00", "#1", "ana@acme.example", "One"),
        chat("2026-03-13T10:01:00-04:00", "ana", "!sg rc request one"),
        chat(
            "2026-03-13T10:02:00-04:00",
            "ana",
            "!sg release exception urgent-delivery billing launches",
        ),
        chat("2026-03-13T10:04:00-04:00", "ben", "!sg approve 1"),
    ]
    .join("\n");
    find(&texts(&script), "Exception E1 `urgent-delivery` is granted");
}

#[test]
fn the_escalation_waits_for_the_managers_working_hours() {
    // Cut Thursday 2026-04-16 20:00 in New York, by clara (Berlin): 24 hours
    // later is Friday 20:00 New York = Saturday 02:00 Berlin; clara's next
    // working hour is Monday 09:00 Berlin (07:00 UTC).
    let script = [
        merged("2026-04-16T19:50:00-04:00", "#1", "ben@acme.example", "One"),
        chat("2026-04-16T20:00:00-04:00", "clara", "!sg rc request one"),
        r#"{"at": "2026-04-21T00:00:00Z"}"#.to_owned(),
    ]
    .join("\n");
    let p = posts(&script);
    let (at, text) = p
        .iter()
        .find(|(_, t)| t.contains("still has unverified changes after 24 hours"))
        .unwrap_or_else(|| panic!("no escalation in {p:#?}"));
    assert!(text.starts_with("@clara:"), "{text}");
    assert_eq!(at, "2026-04-20T07:00:00Z");
}

#[test]
fn names_in_any_case_are_the_configs() {
    let script = [
        r##"{"at": "2026-03-10T10:00:00-04:00", "merged": {"product": "WEB", "change": "#1", "author": "Ana@Acme.example", "title": "One"}}"##.to_owned(),
        r#"{"at": "2026-03-10T10:01:00-04:00", "chat": {"product": "Web", "from": "Ana", "text": "!sg rc request one"}}"#.to_owned(),
        chat(TUE_1005, "ANA", "!sg handoff #1 to BEN"),
        chat(TUE_1010, "Ben", "!sg verify #1"),
    ]
    .join("\n");
    let t = texts(&script);
    let cut = find(&t, "RC #1 for web is cut");
    assert!(cut.contains("Release manager: @ana"), "{cut}");
    find(&t, "@ben: @ana handed you #1 (One) to verify");
    find(&t, "@ben: verified #1 in RC #1; 0 changes left to verify.");
    assert!(
        t.iter()
            .all(|x| !x.contains("I don't know") && !x.contains("not in the team config")),
        "{t:#?}"
    );
}

/// A name nobody has gets a clear answer, not a silent drop: a handoff to
/// an unknown person, a command from an unknown sender, `status` of an
/// unknown product.
#[test]
fn an_unknown_name_gets_a_clear_answer() {
    let script = [
        r##"{"at": "2026-03-10T10:00:00-04:00", "merged": {"product": "web", "change": "#1", "author": "ana", "title": "One"}}"##.to_owned(),
        chat(TUE_1005, "ana", "!sg rc request one"),
        chat(TUE_1010, "ana", "!sg handoff #1 to Zed"),
        chat(TUE_1010, "Zed", "!sg release"),
        chat(TUE_1010, "ana", "!sg status SHOP"),
    ]
    .join("\n");
    let t = texts(&script);
    find(&t, "RC #1 for web is cut");
    find(&t, "I don't know `Zed`. The team is ana, ben");
    find(
        &t,
        "you are not in the team config, so I can't let you `release`",
    );
    find(&t, "there is no product `SHOP`; the products are");
}

#[test]
fn an_unknown_product_in_a_script_is_an_error() {
    let config = config();
    let script = r##"{"at": "2026-03-10T10:00:00-04:00", "merged": {"product": "shop", "change": "#1", "author": "ana", "title": "One"}}"##;
    let mut lines = sim::input::parse_script(script).unwrap();
    let errors = sim::input::resolve_names(&mut lines, &config).unwrap_err();
    assert_eq!(
        errors,
        ["line 1: unknown product `shop`; the products are web, payments"]
    );
}

#[test]
fn script_json_errors_name_the_line_and_column_once() {
    let script = "{\"at\": \"2026-03-10T10:00:00Z\"}\n\n{\"at\": \"2026-03-10T10:00:00Z\", \"chat\": {\"product\"";
    let errors = sim::input::parse_script(script).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("line 3, column 49: EOF while parsing"),
        "{errors:?}"
    );
    assert!(!errors[0].contains("at line 1"), "{errors:?}");
}
