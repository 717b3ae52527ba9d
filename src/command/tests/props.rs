//! Properties: parse never panics, errors are one line, Display round-trips.

use proptest::prelude::*;

use super::*;

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
        prop::option::of(word()).prop_map(|product| Command::Status { product }),
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
