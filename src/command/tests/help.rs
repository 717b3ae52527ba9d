//! `help`: every command listed, every topic explained.

use super::*;

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
        for topic in super::words::phrases(*kind, true) {
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
         or commas; `all` means every change left for you to verify (yours, and any handed to \
         you).\n\
         Also written: `verified`.\n\
         Example:\n  \
         you: !sg verify #123, #124\n  \
         shipgate: @ana: verified #123, #124 in RC #41; 1 change left to verify."
    );
    // The prefix in an answer is the configured one.
    let object = help(Some("rc object"), "/sg");
    assert!(
        object.contains("decide: `/sg rc proceed` (replace it now) or `/sg rc withdraw` (keep it)"),
        "{object}"
    );
    assert!(!object.contains("!sg"), "{object}");
}

#[test]
fn help_example_layout() {
    // Every message of the answer on its own `shipgate:` line; the later
    // lines of a message under its first.
    let away = help(Some("away"), DEFAULT_PREFIX);
    let example = away.split_once("\nExample:\n").map(|(_, e)| e);
    assert_eq!(
        example,
        Some(
            "  you: !sg away until 2026-03-16\n  \
             shipgate: @ana: noted, you are away until 2026-03-16 (inclusive).\n  \
             shipgate: @maria: @ana is away until 2026-03-16 and has not verified #123 and #124 \
             in RC #41. Hand them to someone with `!sg handoff CHANGE to PERSON`."
        ),
        "{away}"
    );
    let windows = help(Some("windows"), DEFAULT_PREFIX);
    assert!(
        windows.ends_with(
            "\n  shipgate: candidate: open\n            production: closed, opens Mon \
             2026-03-16 08:00 EDT (in 2 days 15 hours)"
        ),
        "{windows}"
    );
}

#[test]
fn help_list_snapshot() {
    insta::assert_snapshot!(help(None, DEFAULT_PREFIX), @r"
    shipgate commands (`!sg help COMMAND` for details and an example):
      !sg rc request [urgent] REASON          ask for a release candidate now
      !sg rc object REASON                    object to an urgent request replacing the running RC
      !sg rc proceed                          (manager) let the urgent request replace the running RC
      !sg rc withdraw                         (manager or requester) drop the urgent request; the running RC continues
      !sg rc not-viable REASON [next: STEPS]  close the running RC as not viable, saying why and what happens next
      !sg rc released                         report that the RC is in production
      !sg verify CHANGE... | all              say you verified your changes in the RC
      !sg handoff CHANGE to PERSON            ask someone else to verify your change
      !sg away until YYYY-MM-DD               say you are away until a date
      !sg back                                say you are back before the date you gave
      !sg release                             release the running RC to production
      !sg release exception NAME [REASON]     ask to release outside the production window
      !sg approve ID                          approve someone else's exception request
      !sg status [PRODUCT]                    show the RC in flight, its manager and what still needs verifying
      !sg windows                             show each window from the rules and whether it is open now
      !sg explain [WINDOW] [at TIME]          explain why a window is open or closed
      !sg help [COMMAND]                      list the commands, or explain one
    ");
}

#[test]
fn help_for_a_word_of_a_command_points_at_it() {
    for (word, kind) in [
        ("exception", CommandKind::ReleaseException),
        ("Exception", CommandKind::ReleaseException),
        ("released", CommandKind::RcReleased),
        ("object", CommandKind::RcObject),
        ("viable", CommandKind::RcNotViable),
    ] {
        let text = help(Some(word), DEFAULT_PREFIX);
        assert!(
            text.starts_with(&format!("`!sg {}`", kind.usage())),
            "help {word:?}:\n{text}"
        );
    }
    // A word of an alias counts too.
    let hand = help(Some("off"), DEFAULT_PREFIX);
    assert!(hand.starts_with("`!sg handoff"), "{hand}");
}
