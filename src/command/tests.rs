//! Table-driven tests: every command, its aliases, whitespace and case,
//! every error with its message and suggestion, and properties.

use chrono::NaiveDate;

use super::*;

mod errors;
mod help;
mod props;

fn ok(command: Command) -> Result<Option<Command>, String> {
    Ok(Some(command))
}

fn err(message: &str) -> Result<Option<Command>, String> {
    Err(message.to_owned())
}

fn run(text: &str) -> Result<Option<Command>, String> {
    parse(text, DEFAULT_PREFIX).map_err(|e| e.to_string())
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn ids(list: &[&str]) -> ChangeSelection {
    ChangeSelection::Some(list.iter().map(|s| s.to_string()).collect())
}

fn check(table: &[(&str, Result<Option<Command>, String>)]) {
    let mut failures = Vec::new();
    for (input, expected) in table {
        let got = run(input);
        if &got != expected {
            failures.push(format!(
                "input:    {input:?}\nexpected: {expected:?}\ngot:      {got:?}\n"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn not_addressed() {
    check(&[
        ("", Ok(None)),
        ("   ", Ok(None)),
        ("hello team", Ok(None)),
        ("sg status", Ok(None)),
        ("!sgstatus", Ok(None)),
        ("!s status", Ok(None)),
        ("please !sg status", Ok(None)),
        ("!", Ok(None)),
    ]);
}

#[test]
fn prefix_variations() {
    check(&[
        ("!sg", ok(Command::Help { topic: None })),
        ("!sg ", ok(Command::Help { topic: None })),
        ("  !SG   ", ok(Command::Help { topic: None })),
        ("!sg\nstatus", ok(Command::Help { topic: None })),
        ("!sg status", ok(Command::Status { product: None })),
        ("!Sg    status   ", ok(Command::Status { product: None })),
        ("\n  !sg\tstatus", ok(Command::Status { product: None })),
        ("!sg STATUS", ok(Command::Status { product: None })),
        (
            "!sg status Payments",
            ok(Command::Status {
                product: Some("Payments".into()),
            }),
        ),
        (
            "!sg status\r\nignored second line",
            ok(Command::Status { product: None }),
        ),
    ]);
    // Other prefixes: no trailing space, punctuation, empty.
    assert_eq!(
        parse("@shipgate: status", "@shipgate:"),
        Ok(Some(Command::Status { product: None }))
    );
    assert_eq!(
        parse("@shipgate:status", "@shipgate:"),
        Ok(Some(Command::Status { product: None }))
    );
    assert_eq!(parse("/SG windows", "/sg"), Ok(Some(Command::Windows)));
    assert_eq!(parse("/sgwindows", "/sg"), Ok(None));
    assert_eq!(
        parse("status", ""),
        Ok(Some(Command::Status { product: None }))
    );
    assert_eq!(parse("", ""), Ok(Some(Command::Help { topic: None })));
    assert_eq!(
        parse("ÄBC status", "äbc"),
        Ok(Some(Command::Status { product: None }))
    );
}

#[test]
fn every_command() {
    check(&[
        (
            "!sg rc request hotfix for login",
            ok(Command::RcRequest {
                urgent: false,
                reason: s("hotfix for login"),
            }),
        ),
        (
            "!sg rc request urgent Checkout is DOWN",
            ok(Command::RcRequest {
                urgent: true,
                reason: s("Checkout is DOWN"),
            }),
        ),
        (
            "!sg RC Request URGENT  two  spaces kept  ",
            ok(Command::RcRequest {
                urgent: true,
                reason: s("two  spaces kept"),
            }),
        ),
        (
            "!sg rc request urgent urgent fix",
            ok(Command::RcRequest {
                urgent: true,
                reason: s("urgent fix"),
            }),
        ),
        (
            "!sg rc request urgently needed",
            ok(Command::RcRequest {
                urgent: false,
                reason: s("urgently needed"),
            }),
        ),
        (
            "!sg rc object I'm verifying `#12` right now",
            ok(Command::RcObject {
                reason: s("I'm verifying `#12` right now"),
            }),
        ),
        ("!sg rc proceed", ok(Command::RcProceed)),
        ("!sg rc withdraw", ok(Command::RcWithdraw)),
        (
            "!sg rc not-viable login broken",
            ok(Command::RcNotViable {
                reason: s("login broken"),
                next_steps: None,
            }),
        ),
        (
            "!sg rc not-viable login broken next: revert #131 and recut",
            ok(Command::RcNotViable {
                reason: s("login broken"),
                next_steps: Some(s("revert #131 and recut")),
            }),
        ),
        (
            "!sg rc not-viable login broken NEXT STEPS: revert; next: recut",
            ok(Command::RcNotViable {
                reason: s("login broken"),
                next_steps: Some(s("revert; next: recut")),
            }),
        ),
        (
            "!sg rc not-viable the nextday job fails",
            ok(Command::RcNotViable {
                reason: s("the nextday job fails"),
                next_steps: None,
            }),
        ),
        ("!sg rc released", ok(Command::RcReleased)),
        (
            "!sg verify #123",
            ok(Command::Verify {
                changes: ids(&["#123"]),
            }),
        ),
        (
            "!sg verify #123 abc123f web-42",
            ok(Command::Verify {
                changes: ids(&["#123", "abc123f", "web-42"]),
            }),
        ),
        (
            "!sg verify 1, 2",
            ok(Command::Verify {
                changes: ids(&["1", "2"]),
            }),
        ),
        (
            "!sg verify 1,2,",
            ok(Command::Verify {
                changes: ids(&["1", "2"]),
            }),
        ),
        (
            "!sg verify 1 2 1",
            ok(Command::Verify {
                changes: ids(&["1", "2"]),
            }),
        ),
        (
            "!sg verify Web-42",
            ok(Command::Verify {
                changes: ids(&["Web-42"]),
            }),
        ),
        (
            "!sg verify all",
            ok(Command::Verify {
                changes: ChangeSelection::All,
            }),
        ),
        (
            "!sg VERIFY ALL",
            ok(Command::Verify {
                changes: ChangeSelection::All,
            }),
        ),
        (
            "!sg verify all\n#12",
            ok(Command::Verify {
                changes: ChangeSelection::All,
            }),
        ),
        (
            "!sg handoff #123 to @Sam",
            ok(Command::Handoff {
                change: s("#123"),
                to: s("Sam"),
            }),
        ),
        (
            "!sg handoff abc123f TO sam",
            ok(Command::Handoff {
                change: s("abc123f"),
                to: s("sam"),
            }),
        ),
        (
            "!sg handoff to to to",
            ok(Command::Handoff {
                change: s("to"),
                to: s("to"),
            }),
        ),
        (
            "!sg handoff #1 to @@bob:matrix.org",
            ok(Command::Handoff {
                change: s("#1"),
                to: s("bob:matrix.org"),
            }),
        ),
        (
            "!sg away until 2026-03-16",
            ok(Command::Away {
                until: date(2026, 3, 16),
            }),
        ),
        (
            "!sg away UNTIL 2026-3-6",
            ok(Command::Away {
                until: date(2026, 3, 6),
            }),
        ),
        (
            "!sg away until 2028-02-29",
            ok(Command::Away {
                until: date(2028, 2, 29),
            }),
        ),
        ("!sg back", ok(Command::Back)),
        ("!sg release", ok(Command::Release)),
        (
            "!sg release exception critical-bug checkout fails for EU cards",
            ok(Command::ReleaseException {
                exception: s("critical-bug"),
                reason: s("checkout fails for EU cards"),
            }),
        ),
        (
            "!sg Release Exception Production-Down site is down",
            ok(Command::ReleaseException {
                exception: s("Production-Down"),
                reason: s("site is down"),
            }),
        ),
        ("!sg approve 12", ok(Command::Approve { id: 12 })),
        ("!sg approve #12", ok(Command::Approve { id: 12 })),
        ("!sg approve E12", ok(Command::Approve { id: 12 })),
        ("!sg approve e12", ok(Command::Approve { id: 12 })),
        ("!sg approve 0", ok(Command::Approve { id: 0 })),
        (
            "!sg approve 18446744073709551615",
            ok(Command::Approve { id: u64::MAX }),
        ),
        ("!sg status", ok(Command::Status { product: None })),
        ("!sg windows", ok(Command::Windows)),
        (
            "!sg explain",
            ok(Command::Explain {
                window: None,
                at: None,
            }),
        ),
        (
            "!sg explain production",
            ok(Command::Explain {
                window: Some(s("production")),
                at: None,
            }),
        ),
        (
            "!sg explain at 2026-03-09 08:00",
            ok(Command::Explain {
                window: None,
                at: Some(s("2026-03-09 08:00")),
            }),
        ),
        (
            "!sg explain Production AT next monday  9am",
            ok(Command::Explain {
                window: Some(s("Production")),
                at: Some(s("next monday  9am")),
            }),
        ),
        ("!sg help", ok(Command::Help { topic: None })),
        (
            "!sg help verify",
            ok(Command::Help {
                topic: Some(s("verify")),
            }),
        ),
        (
            "!sg help rc   Request",
            ok(Command::Help {
                topic: Some(s("rc Request")),
            }),
        ),
    ]);
}

#[test]
fn aliases() {
    let not_viable = || {
        ok(Command::RcNotViable {
            reason: s("broken"),
            next_steps: None,
        })
    };
    check(&[
        ("!sg rc notviable broken", not_viable()),
        ("!sg rc non-viable broken", not_viable()),
        ("!sg rc nonviable broken", not_viable()),
        ("!sg rc not_viable broken", not_viable()),
        ("!sg rc not viable broken", not_viable()),
        ("!sg rc NOT-VIABLE broken", not_viable()),
        (
            "!sg verified #1",
            ok(Command::Verify {
                changes: ids(&["#1"]),
            }),
        ),
        (
            "!sg hand-off 1 to a",
            ok(Command::Handoff {
                change: s("1"),
                to: s("a"),
            }),
        ),
        (
            "!sg hand off 1 to a",
            ok(Command::Handoff {
                change: s("1"),
                to: s("a"),
            }),
        ),
        ("!sg window", ok(Command::Windows)),
        ("!sg ?", ok(Command::Help { topic: None })),
        ("!sg commands", ok(Command::Help { topic: None })),
    ]);
}

#[test]
fn multi_line() {
    check(&[
        (
            "!sg rc request urgent checkout is down\nsee incident #4\n  - logs attached",
            ok(Command::RcRequest {
                urgent: true,
                reason: s("checkout is down\nsee incident #4\n  - logs attached"),
            }),
        ),
        (
            "!sg rc request\nurgent the reason is below",
            ok(Command::RcRequest {
                urgent: true,
                reason: s("the reason is below"),
            }),
        ),
        (
            "!sg rc object\r\nwait for me",
            ok(Command::RcObject {
                reason: s("wait for me"),
            }),
        ),
        (
            "!sg rc not-viable migrations fail\non staging\nnext: fix the migration\nthen recut",
            ok(Command::RcNotViable {
                reason: s("migrations fail\non staging"),
                next_steps: Some(s("fix the migration\nthen recut")),
            }),
        ),
        (
            "!sg release exception\ncritical-bug\npayments down",
            ok(Command::ReleaseException {
                exception: s("critical-bug"),
                reason: s("payments down"),
            }),
        ),
        ("!sg status\nplease", ok(Command::Status { product: None })),
        ("!sg approve 3\nthanks!", ok(Command::Approve { id: 3 })),
        (
            "!sg explain production\nat 2026-03-09",
            ok(Command::Explain {
                window: Some(s("production")),
                at: None,
            }),
        ),
    ]);
}

#[test]
fn actions_and_names() {
    let table = [
        ("rc request x", Action::Request, "rc request"),
        ("rc object x", Action::Object, "rc object"),
        ("rc proceed", Action::Decide, "rc proceed"),
        ("rc withdraw", Action::Decide, "rc withdraw"),
        ("rc not-viable x", Action::NotViable, "rc not-viable"),
        ("rc released", Action::Released, "rc released"),
        ("verify all", Action::Verify, "verify"),
        ("handoff 1 to a", Action::Handoff, "handoff"),
        ("away until 2026-01-01", Action::Away, "away"),
        ("back", Action::Away, "back"),
        ("release", Action::Release, "release"),
        (
            "release exception a b",
            Action::Exception,
            "release exception",
        ),
        ("approve 1", Action::Approve, "approve"),
        ("status", Action::Read, "status"),
        ("windows", Action::Read, "windows"),
        ("explain", Action::Read, "explain"),
        ("help", Action::Read, "help"),
    ];
    let mut seen = Vec::new();
    for (text, action, name) in table {
        let command = parse(text, "").ok().flatten();
        let Some(command) = command else {
            unreachable!("{text:?} does not parse");
        };
        assert_eq!(command.action(), action, "{text}");
        assert_eq!(command.name(), name, "{text}");
        seen.push(command.kind());
    }
    // The table covers every kind.
    for kind in CommandKind::ALL {
        assert!(seen.contains(kind), "{kind:?} missing from the table");
    }
}

#[test]
fn display_is_canonical() {
    let table = [
        ("!sg RC REQUEST urgent  x  y", "rc request urgent x  y"),
        ("!sg rc request x", "rc request x"),
        ("!sg rc object x", "rc object x"),
        (
            "!sg rc not viable a next steps: b",
            "rc not-viable a next: b",
        ),
        ("!sg verified 1,2", "verify 1 2"),
        ("!sg verify ALL", "verify all"),
        ("!sg hand off 1 to @a", "handoff 1 to a"),
        ("!sg away until 2026-3-6", "away until 2026-03-06"),
        ("!sg approve #7", "approve E7"),
        ("!sg release exception a b", "release exception a b"),
        ("!sg explain", "explain"),
        ("!sg explain w", "explain w"),
        ("!sg explain at t", "explain at t"),
        ("!sg explain w AT t", "explain w at t"),
        ("!sg ?", "help"),
        ("!sg help rc  request", "help rc request"),
        ("!sg window", "windows"),
    ];
    for (input, canonical) in table {
        let command = parse(input, DEFAULT_PREFIX).ok().flatten();
        assert_eq!(
            command.map(|c| c.to_string()).as_deref(),
            Some(canonical),
            "{input}"
        );
    }
}
