//! Every error: its one-line message and its suggestion.

use super::*;

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
            err("the id to approve is an exception request's, like `E12` (or `12`), not `abc`"),
        ),
        (
            "!sg approve #",
            err("the id to approve is an exception request's, like `E12` (or `12`), not `#`"),
        ),
        (
            "!sg approve +3",
            err("the id to approve is an exception request's, like `E12` (or `12`), not `+3`"),
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
            "!sg status web now",
            err("`status` takes one product at most, but got `now` (did you mean `!sg status`?)"),
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
                 write `!sg release exception NAME [REASON]` (did you mean `!sg release`?)",
            ),
        ),
        (
            "!sg release exception",
            err(
                "`release exception` needs the exception's name (and a reason, unless the \
                 exception makes it optional) (usage: `!sg release exception NAME [REASON]`)",
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
        "the id to approve is an exception request's, like `E12` (or `12`), not `'drop'`"
    );
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
