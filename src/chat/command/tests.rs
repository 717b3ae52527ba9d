//! Table-driven tests: every command, its aliases, whitespace and case,
//! every error with its message and suggestion, and properties.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

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
        ("!sg status", ok(Command::Status)),
        ("!Sg    status   ", ok(Command::Status)),
        ("\n  !sg\tstatus", ok(Command::Status)),
        ("!sg STATUS", ok(Command::Status)),
        ("!sg status\r\nignored second line", ok(Command::Status)),
    ]);
    // Other prefixes: no trailing space, punctuation, empty.
    assert_eq!(
        parse("@shipgate: status", "@shipgate:"),
        Ok(Some(Command::Status))
    );
    assert_eq!(
        parse("@shipgate:status", "@shipgate:"),
        Ok(Some(Command::Status))
    );
    assert_eq!(parse("/SG windows", "/sg"), Ok(Some(Command::Windows)));
    assert_eq!(parse("/sgwindows", "/sg"), Ok(None));
    assert_eq!(parse("status", ""), Ok(Some(Command::Status)));
    assert_eq!(parse("", ""), Ok(Some(Command::Help { topic: None })));
    assert_eq!(parse("ÄBC status", "äbc"), Ok(Some(Command::Status)));
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
        ("!sg approve 0", ok(Command::Approve { id: 0 })),
        (
            "!sg approve 18446744073709551615",
            ok(Command::Approve { id: u64::MAX }),
        ),
        ("!sg status", ok(Command::Status)),
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
        ("!sg status\nplease", ok(Command::Status)),
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
fn errors() {
    check(&[
        // Unknown commands and "did you mean".
        (
            "!sg rc reqest now",
            err("unknown command `rc reqest` (did you mean `!sg rc request now`?)"),
        ),
        (
            "!sg request urgent site down",
            err("unknown command `request` (did you mean `!sg rc request urgent site down`?)"),
        ),
        (
            "!sg stauts",
            err("unknown command `stauts` (did you mean `!sg status`?)"),
        ),
        (
            "!sg verfy #1 #2",
            err("unknown command `verfy` (did you mean `!sg verify #1 #2`?)"),
        ),
        (
            "!sg relase",
            err("unknown command `relase` (did you mean `!sg release`?)"),
        ),
        (
            "!sg released",
            err("unknown command `released` (did you mean `!sg rc released`?)"),
        ),
        (
            "!sg rc status",
            err("unknown command `rc status` (did you mean `!sg status`?)"),
        ),
        (
            "!sg rc not vaible x",
            err("unknown command `rc not vaible` (did you mean `!sg rc not-viable x`?)"),
        ),
        (
            "!sg hand of 1 to b",
            err("unknown command `hand of` (did you mean `!sg handoff 1 to b`?)"),
        ),
        (
            "!sg released rc \r rc",
            err("unknown command `released` (did you mean `!sg rc released rc   rc`?)"),
        ),
        (
            "!sg banana split",
            err("unknown command `banana`; `!sg help` lists every command"),
        ),
        (
            "!sg rc banana",
            err("unknown command `rc banana`; `!sg help` lists every command"),
        ),
        (
            "!sg rc",
            err(
                "`rc` needs one of `request`, `object`, `proceed`, `withdraw`, `not-viable`, \
                 `released` (did you mean `!sg help rc`?)",
            ),
        ),
        // Missing arguments say what is missing and show usage.
        (
            "!sg rc request",
            err("`rc request` needs a reason (usage: `!sg rc request [urgent] REASON`)"),
        ),
        (
            "!sg rc request urgent",
            err("`rc request` needs a reason (usage: `!sg rc request [urgent] REASON`)"),
        ),
        (
            "!sg rc request  \n  \n",
            err("`rc request` needs a reason (usage: `!sg rc request [urgent] REASON`)"),
        ),
        (
            "!sg rc object",
            err("`rc object` needs a reason (usage: `!sg rc object REASON`)"),
        ),
        (
            "!sg rc not-viable",
            err("`rc not-viable` needs a reason (usage: `!sg rc not-viable REASON [next: STEPS]`)"),
        ),
        (
            "!sg rc not-viable next: revert",
            err("`rc not-viable` needs a reason (usage: `!sg rc not-viable REASON [next: STEPS]`)"),
        ),
        (
            "!sg rc not-viable broken next:",
            err("`rc not-viable` needs the next steps after `next:` \
                 (usage: `!sg rc not-viable REASON [next: STEPS]`)"),
        ),
        (
            "!sg verify",
            err(
                "`verify` needs the changes you verified, or `all` (usage: `!sg verify CHANGE... | all`)",
            ),
        ),
        (
            "!sg verify , ,",
            err(
                "`verify` needs the changes you verified, or `all` (usage: `!sg verify CHANGE... | all`)",
            ),
        ),
        (
            "!sg verify all #12",
            err(
                "`verify` takes either change ids or `all`, not both (did you mean `!sg verify all`?)",
            ),
        ),
        (
            "!sg handoff",
            err("`handoff` needs a change and a person (usage: `!sg handoff CHANGE to PERSON`)"),
        ),
        (
            "!sg handoff #1",
            err("`handoff` needs `to` and a person after the change \
                 (usage: `!sg handoff CHANGE to PERSON`)"),
        ),
        (
            "!sg handoff #1 to",
            err("`handoff` needs a person after `to` (usage: `!sg handoff CHANGE to PERSON`)"),
        ),
        (
            "!sg handoff #1 to @",
            err("`handoff` needs a name after `@` (usage: `!sg handoff CHANGE to PERSON`)"),
        ),
        (
            "!sg handoff #1 @sam",
            err("`handoff` needs `to` between the change and the person \
                 (did you mean `!sg handoff #1 to @sam`?)"),
        ),
        (
            "!sg handoff #1 for sam",
            err("`handoff` expected `to` after the change, but got `for` \
                 (did you mean `!sg handoff #1 to sam`?)"),
        ),
        (
            "!sg handoff #1 #2 to sam",
            err("`handoff` takes one change at a time (did you mean `!sg handoff #1 to sam`?)"),
        ),
        (
            "!sg handoff #1 to sam and bob",
            err("`handoff` takes one change and one person \
                 (usage: `!sg handoff CHANGE to PERSON`)"),
        ),
        (
            "!sg away",
            err("`away` needs `until` and a date (usage: `!sg away until YYYY-MM-DD`)"),
        ),
        (
            "!sg away until",
            err("`away` needs a date after `until` (usage: `!sg away until YYYY-MM-DD`)"),
        ),
        (
            "!sg away until tomorrow",
            err("the date must be written YYYY-MM-DD, like `2026-03-16`, not `tomorrow`"),
        ),
        (
            "!sg away until 16/03/2026",
            err("the date must be written YYYY-MM-DD, like `2026-03-16`, not `16/03/2026`"),
        ),
        (
            "!sg away until 2026-03-016",
            err("the date must be written YYYY-MM-DD, like `2026-03-16`, not `2026-03-016`"),
        ),
        (
            "!sg away until 2026-02-30",
            err("`2026-02-30` is not a date on the calendar"),
        ),
        (
            "!sg away until 2026-13-01",
            err("`2026-13-01` is not a date on the calendar"),
        ),
        (
            "!sg away until 2027-02-29",
            err("`2027-02-29` is not a date on the calendar"),
        ),
        (
            "!sg away until 2026-03-16 on holiday",
            err("`away` takes only a date, but got `on holiday` after it \
                 (did you mean `!sg away until 2026-03-16`?)"),
        ),
        (
            "!sg away 2026-03-16",
            err(
                "`away` needs `until` before the date, but got `2026-03-16` \
                 (did you mean `!sg away until 2026-03-16`?)",
            ),
        ),
        (
            "!sg away till 2026-03-16",
            err("`away` needs `until` before the date, but got `till` \
                 (did you mean `!sg away until 2026-03-16`?)"),
        ),
        (
            "!sg away for a week",
            err("`away` needs `until` before the date, but got `for`"),
        ),
        (
            "!sg approve",
            err("`approve` needs the id of the exception request (usage: `!sg approve ID`)"),
        ),
        (
            "!sg approve abc",
            err("the id to approve must be a number, like `12` or `#12`, not `abc`"),
        ),
        (
            "!sg approve #",
            err("the id to approve must be a number, like `12` or `#12`, not `#`"),
        ),
        (
            "!sg approve +3",
            err("the id to approve must be a number, like `12` or `#12`, not `+3`"),
        ),
        (
            "!sg approve 18446744073709551616",
            err("`18446744073709551616` is too large to be a request id"),
        ),
        (
            "!sg approve 7 8",
            err("`approve` takes one id, but got `8` after it (did you mean `!sg approve 7`?)"),
        ),
        (
            "!sg status now",
            err("`status` takes no arguments, but got `now` (did you mean `!sg status`?)"),
        ),
        (
            "!sg rc proceed go ahead",
            err(
                "`rc proceed` takes no arguments, but got `go ahead` (did you mean `!sg rc proceed`?)",
            ),
        ),
        (
            "!sg rc withdraw x",
            err("`rc withdraw` takes no arguments, but got `x` (did you mean `!sg rc withdraw`?)"),
        ),
        (
            "!sg rc released x",
            err("`rc released` takes no arguments, but got `x` (did you mean `!sg rc released`?)"),
        ),
        (
            "!sg back x",
            err("`back` takes no arguments, but got `x` (did you mean `!sg back`?)"),
        ),
        (
            "!sg windows x",
            err("`windows` takes no arguments, but got `x` (did you mean `!sg windows`?)"),
        ),
        (
            "!sg release now please",
            err(
                "`release` takes no arguments, but got `now please`; to ask for an exception \
                 write `!sg release exception NAME REASON` (did you mean `!sg release`?)",
            ),
        ),
        (
            "!sg release exception",
            err(
                "`release exception` needs the exception's name and a reason \
                 (usage: `!sg release exception NAME REASON`)",
            ),
        ),
        (
            "!sg release exception critical-bug",
            err(
                "`release exception` needs a reason after the exception's name \
                 (usage: `!sg release exception NAME REASON`)",
            ),
        ),
        (
            "!sg explain at",
            err("`explain` needs a time after `at` (usage: `!sg explain [WINDOW] [at TIME]`)"),
        ),
        (
            "!sg explain production at   ",
            err("`explain` needs a time after `at` (usage: `!sg explain [WINDOW] [at TIME]`)"),
        ),
        (
            "!sg explain production tomorrow 9am",
            err(
                "`explain` expected `at TIME` after the window, but got `tomorrow` \
                 (did you mean `!sg explain production at tomorrow 9am`?)",
            ),
        ),
    ]);
}

#[test]
fn errors_use_the_prefix_and_shorten_user_text() {
    let e = parse("/sg rc reqest x", "/sg").err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("unknown command `rc reqest` (did you mean `/sg rc request x`?)")
    );
    let e = parse("verfy 1", "").err();
    assert_eq!(
        e.map(|e| e.to_string()).as_deref(),
        Some("unknown command `verfy` (did you mean `verify 1`?)")
    );
    let long = format!("!sg {}", "x".repeat(10_000));
    let e = run(&long).err().unwrap_or_default();
    assert!(e.len() < 200, "{e}");
    assert!(!e.contains('\n'));
    let e = run("!sg approve `drop`").err().unwrap_or_default();
    assert_eq!(
        e,
        "the id to approve must be a number, like `12` or `#12`, not `'drop'`"
    );
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
fn help_lists_every_command() {
    let text = help(None, DEFAULT_PREFIX);
    for kind in CommandKind::ALL {
        let line = format!("!sg {}", kind.usage());
        assert!(text.contains(&line), "help lacks {line:?}:\n{text}");
        assert!(text.contains(kind.summary()));
    }
    assert_eq!(text.lines().count(), CommandKind::ALL.len() + 1);
}

#[test]
fn help_for_every_command() {
    for kind in CommandKind::ALL {
        for topic in super::parse::phrases(*kind, true) {
            let text = help(Some(topic), DEFAULT_PREFIX);
            assert!(
                text.starts_with(&format!("`!sg {}`", kind.usage())),
                "help {topic:?}:\n{text}"
            );
            assert!(text.contains("Example:\n  you: !sg "), "{text}");
            assert!(!text.contains("{p}"), "{text}");
            // The example is a valid command of this kind.
            let (typed, _) = kind.spec().example;
            let parsed = parse(typed, "").ok().flatten().map(|c| c.kind());
            assert_eq!(parsed, Some(*kind), "example of {kind:?}");
        }
    }
}

#[test]
fn help_topics() {
    let verify = help(Some("verify"), DEFAULT_PREFIX);
    assert_eq!(help(Some("VERIFY"), DEFAULT_PREFIX), verify);
    assert_eq!(help(Some("!sg verify all"), DEFAULT_PREFIX), verify);
    assert_eq!(help(Some("  verified "), DEFAULT_PREFIX), verify);
    assert_eq!(
        help(Some("request"), DEFAULT_PREFIX),
        help(Some("rc request"), DEFAULT_PREFIX)
    );
    assert_eq!(help(Some(""), DEFAULT_PREFIX), help(None, DEFAULT_PREFIX));

    let rc = help(Some("rc"), DEFAULT_PREFIX);
    assert!(rc.starts_with("release candidate commands"), "{rc}");
    assert_eq!(rc.lines().count(), 7, "{rc}");

    let typo = help(Some("stauts"), DEFAULT_PREFIX);
    assert!(
        typo.starts_with("there is no command `stauts` (did you mean `!sg help status`?)\n\n"),
        "{typo}"
    );
    let unknown = help(Some("banana"), DEFAULT_PREFIX);
    assert!(
        unknown.starts_with("there is no command `banana`.\n\nshipgate commands"),
        "{unknown}"
    );

    assert_eq!(
        verify,
        "`!sg verify CHANGE... | all`: say you verified your changes in the RC.\n\
         Name changes as the RC lists them (`#123`, `abc123f`, `web-42`), separated by spaces \
         or commas; `all` means every change of yours.\n\
         Also written: `verified`.\n\
         Example:\n  \
         you: !sg verify #123, #124\n  \
         shipgate: Thanks @ana: 4 of 5 changes in RC-42 are verified; waiting on #125 (@sam)."
    );
    let object = help(Some("rc object"), "/sg");
    assert!(
        object.contains("decide with `/sg rc proceed` or `/sg rc withdraw`"),
        "{object}"
    );
}

#[test]
fn help_list_snapshot() {
    insta::assert_snapshot!(help(None, DEFAULT_PREFIX), @r"
    shipgate commands (`!sg help COMMAND` for details and an example):
      !sg rc request [urgent] REASON          ask for a release candidate now
      !sg rc object REASON                    object to an urgent request replacing the running RC
      !sg rc proceed                          (manager) let the urgent request replace the running RC
      !sg rc withdraw                         (manager) keep the running RC; the urgent request waits
      !sg rc not-viable REASON [next: STEPS]  close the running RC as not viable, saying why and what happens next
      !sg rc released                         report that the RC is in production
      !sg verify CHANGE... | all              say you verified your changes in the RC
      !sg handoff CHANGE to PERSON            ask someone else to verify your change
      !sg away until YYYY-MM-DD               say you are away until a date
      !sg back                                say you are back before the date you gave
      !sg release                             release the running RC to production
      !sg release exception NAME REASON       ask to release outside the production window
      !sg approve ID                          approve someone else's exception request
      !sg status                              show the RC in flight, its manager and what still needs verifying
      !sg windows                             show each window from the rules and whether it is open now
      !sg explain [WINDOW] [at TIME]          explain why a window is open or closed
      !sg help [COMMAND]                      list the commands, or explain one
    ");
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
        ("!sg approve #7", "approve 7"),
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

#[test]
fn error_display() {
    let e = ParseError {
        message: s("bad"),
        suggestion: None,
    };
    assert_eq!(e.to_string(), "bad");
    let e = ParseError {
        message: s("bad"),
        suggestion: Some(s("!sg good")),
    };
    assert_eq!(e.to_string(), "bad (did you mean `!sg good`?)");
    let _: &dyn std::error::Error = &e;
}

/// Text that looks like commands: keywords, aliases, ids, dates, odd spaces
/// and unicode, so the properties reach every branch.
fn commandish() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("rc"),
        Just("RC"),
        Just("request"),
        Just("urgent"),
        Just("object"),
        Just("proceed"),
        Just("withdraw"),
        Just("not-viable"),
        Just("not"),
        Just("viable"),
        Just("next:"),
        Just("NEXT"),
        Just("steps:"),
        Just("released"),
        Just("verify"),
        Just("all"),
        Just("handoff"),
        Just("hand"),
        Just("off"),
        Just("to"),
        Just("@sam"),
        Just("@"),
        Just("away"),
        Just("until"),
        Just("2026-03-16"),
        Just("2026-02-30"),
        Just("0000-01-01"),
        Just("9999-12-31"),
        Just("back"),
        Just("release"),
        Just("exception"),
        Just("approve"),
        Just("#12"),
        Just("12"),
        Just("status"),
        Just("windows"),
        Just("explain"),
        Just("at"),
        Just("help"),
        Just("?"),
        Just("#"),
        Just("1,"),
        Just(","),
        Just("é"),
        Just("🚀"),
        Just("x\u{301}"),
        Just("`"),
        Just("\r"),
        Just("\n"),
        Just("\u{a0}"),
        Just("\u{2028}"),
    ]
    .prop_map(str::to_owned);
    let token = prop_oneof![4 => word, 1 => "\\PC{0,6}", 1 => "[ \t\n\r]{1,3}"];
    (prop::bool::ANY, prop::collection::vec(token, 0..10)).prop_map(|(prefixed, tokens)| {
        let body = tokens.join(" ");
        if prefixed {
            format!("!sg {body}")
        } else {
            body
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_any_text(text in "\\PC*|[\\s\\S]{0,300}") {
        let _ = parse(&text, DEFAULT_PREFIX);
        let _ = parse(&format!("!sg {text}"), DEFAULT_PREFIX);
        let _ = parse(&text, "");
        let _ = help(Some(&text), DEFAULT_PREFIX);
    }

    #[test]
    fn errors_are_one_line(text in commandish()) {
        if let Err(e) = parse(&text, DEFAULT_PREFIX) {
            let line = e.to_string();
            prop_assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            prop_assert!(!line.is_empty());
        }
    }

    #[test]
    fn display_round_trips(text in commandish()) {
        if let Ok(Some(command)) = parse(&text, DEFAULT_PREFIX) {
            let canonical = command.to_string();
            let again = parse(&format!("{DEFAULT_PREFIX}{canonical}"), DEFAULT_PREFIX);
            prop_assert_eq!(again, Ok(Some(command)), "canonical text {:?}", canonical);
        }
    }
}

/// Every kind of command, with the arguments `parse` can produce.
fn any_command() -> impl Strategy<Value = Command> {
    let word = || "[^\\s]{1,8}";
    let text = |max: usize| {
        let sep = prop_oneof![Just(" "), Just("\n"), Just("  ")];
        prop::collection::vec(("[^\\s]{1,8}", sep), 1..max).prop_map(|words| {
            let mut out = String::new();
            for (i, (word, sep)) in words.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                out.push_str(word);
            }
            out
        })
    };
    let line = || prop::collection::vec("[^\\s]{1,8}", 1..5).prop_map(|w| w.join(" "));
    let starts_urgent = |text: &str| {
        text.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("urgent"))
    };
    let no_marker = |text: &String| {
        !text
            .to_lowercase()
            .split_whitespace()
            .any(|w| w.starts_with("next"))
    };
    prop_oneof![
        (any::<bool>(), text(6))
            .prop_filter("reads as urgent", move |(urgent, r)| *urgent
                || !starts_urgent(r))
            .prop_map(|(urgent, reason)| Command::RcRequest { urgent, reason }),
        text(6).prop_map(|reason| Command::RcObject { reason }),
        Just(Command::RcProceed),
        Just(Command::RcWithdraw),
        (
            text(6).prop_filter("has next:", no_marker),
            prop::option::of(text(6))
        )
            .prop_map(|(reason, next_steps)| Command::RcNotViable { reason, next_steps }),
        Just(Command::RcReleased),
        Just(Command::Verify {
            changes: ChangeSelection::All
        }),
        prop::collection::vec("[^\\s,]{1,8}", 1..5)
            .prop_filter("all or duplicates", |ids| {
                let mut seen = std::collections::HashSet::new();
                ids.iter()
                    .all(|id| !id.eq_ignore_ascii_case("all") && seen.insert(id.clone()))
            })
            .prop_map(|ids| Command::Verify {
                changes: ChangeSelection::Some(ids)
            }),
        (word(), "[^\\s@][^\\s]{0,8}").prop_map(|(change, to)| Command::Handoff { change, to }),
        (0i32..=9999, 1u32..=12, 1u32..=31)
            .prop_filter_map("no such day", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
            .prop_map(|until| Command::Away { until }),
        Just(Command::Back),
        Just(Command::Release),
        (word(), text(6))
            .prop_map(|(exception, reason)| Command::ReleaseException { exception, reason }),
        any::<u64>().prop_map(|id| Command::Approve { id }),
        Just(Command::Status),
        Just(Command::Windows),
        (
            prop::option::of(word().prop_filter("at", |w| !w.eq_ignore_ascii_case("at"))),
            prop::option::of(line()),
        )
            .prop_map(|(window, at)| Command::Explain { window, at }),
        prop::option::of(line()).prop_map(|topic| Command::Help { topic }),
    ]
}

#[test]
fn any_command_covers_every_kind() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        if let Ok(tree) = any_command().new_tree(&mut runner) {
            seen.insert(tree.current().kind());
        }
    }
    assert_eq!(seen.len(), CommandKind::ALL.len());
}

proptest! {
    #[test]
    fn every_command_round_trips(command in any_command()) {
        let canonical = command.to_string();
        let parsed = parse(&format!("!SG  {canonical}"), DEFAULT_PREFIX);
        prop_assert_eq!(parsed, Ok(Some(command)), "canonical text {:?}", canonical);
    }
}

#[test]
fn never_panics_on_huge_text() {
    let huge = format!(
        "!sg rc not-viable {} next: {}",
        "é".repeat(200_000),
        "n ".repeat(100_000)
    );
    assert!(matches!(run(&huge), Ok(Some(Command::RcNotViable { .. }))));
    let word = format!("!sg {}", "reqest".repeat(50_000));
    assert!(run(&word).is_err());
    let many = format!("!sg verify {}", "1, ".repeat(20_000));
    assert!(matches!(run(&many), Ok(Some(Command::Verify { .. }))));
}
