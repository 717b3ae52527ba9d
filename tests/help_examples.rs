#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every `help COMMAND` example is a real exchange.
//!
//! For each command kind (all of [`CommandKind::ALL`], so a new command
//! cannot ship without a checked example) a small setup is played through
//! the ledger, timers firing on the way by its one catch-up (the daemon's
//! and `shipgate simulate`'s);
//! then the example's command, read from the help text as people see it,
//! is typed, and shipgate's answer (every post the command makes, one after
//! the other) must be exactly the example's answer.
//!
//! The team: ana and maria in New York, sam in Berlin; one product, `web`;
//! the default rules (production open Monday to Thursday, 08:00-16:00 New
//! York). The week is the one of Monday 2026-03-09 (EDT). The team has used
//! shipgate for a while: the next RC is #41 and the next exception request
//! #7 (the state starts there; everything else comes from the events).
//! Each example runs with three prefixes, so a hard-coded `!sg ` in an
//! example fails, and so does a hint that glues a prefix without a
//! trailing space (`!ship`) to the command. The rules are the embedded defaults, as a daemon without
//! a `rules` file runs them, so rule origins read
//! `rules/release-process.rules:LINE`.
//!
//! `docs/chat.md` must show each example too, as a block of its own (the
//! person who types it is the one in [`exchange`]).
//!
//! When an answer changes on purpose, the failure shows the new answer as
//! strings to paste into `Spec.example` in `src/chat/command/help.rs`.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;

use shipgate::command::{CommandKind, help};
use shipgate::engine::{Context, Effect, Event, Member, State, Team};
use shipgate::ledger::{Applied, Ledger};
use shipgate::rules::RuleSet;
use shipgate::store::Store;

const PRODUCT: &str = "web";

/// What happens before the example, at a New York local time
/// (`YYYY-MM-DD HH:MM`).
enum Input {
    Merged {
        at: String,
        change: &'static str,
        author: &'static str,
        title: &'static str,
    },
    /// A chat message, without the prefix.
    Says {
        at: String,
        from: &'static str,
        text: &'static str,
    },
}

fn merged(at: &str, change: &'static str, author: &'static str, title: &'static str) -> Input {
    Input::Merged {
        at: at.to_owned(),
        change,
        author,
        title,
    }
}

fn says(at: &str, from: &'static str, text: &'static str) -> Input {
    Input::Says {
        at: at.to_owned(),
        from,
        text,
    }
}

/// The setup of one example, and who types the example's command when.
struct Exchange {
    setup: Vec<Input>,
    from: &'static str,
    at: &'static str,
}

/// Tuesday: maria cuts RC #41 for her search suggestions and hands the
/// change to sam; then ana's checkout fix is merged.
fn urgent_story() -> Vec<Input> {
    vec![
        merged("2026-03-10 09:00", "#123", "maria", "Search suggestions"),
        says(
            "2026-03-10 09:05",
            "maria",
            "rc request search suggestions for the demo",
        ),
        says("2026-03-10 09:10", "maria", "handoff #123 to sam"),
        merged("2026-03-10 09:50", "#124", "ana", "Fix EU card checkout"),
    ]
}

/// ... ana asks for an urgent RC, and sam objects.
fn objected_story() -> Vec<Input> {
    let mut story = urgent_story();
    story.extend([
        says(
            "2026-03-10 10:00",
            "ana",
            "rc request urgent checkout fails for EU cards",
        ),
        says(
            "2026-03-10 10:05",
            "sam",
            "rc object I am halfway through verifying #123",
        ),
    ]);
    story
}

/// Tuesday: ana's two changes and sam's one are in RC #41, which maria
/// asked for at 09:00.
fn rc_story() -> Vec<Input> {
    rc_story_on("2026-03-10")
}

/// [`rc_story`] on another day (the changes are merged at 08:xx, the RC is
/// cut at 09:00).
fn rc_story_on(day: &str) -> Vec<Input> {
    let t = |hm: &str| format!("{day} {hm}");
    vec![
        merged(&t("08:40"), "#123", "ana", "Search suggestions"),
        merged(&t("08:45"), "#124", "ana", "Fix EU card checkout"),
        merged(&t("08:50"), "#125", "sam", "Faster receipts"),
        says(&t("09:00"), "maria", "rc request checkout fix for EU cards"),
    ]
}

/// [`rc_story`], verified by everyone; the RC is ready at 10:40.
fn verified_story_on(day: &str) -> Vec<Input> {
    let t = |hm: &str| format!("{day} {hm}");
    let mut story = rc_story_on(day);
    story.extend([
        says(&t("10:30"), "ana", "verify all"),
        says(&t("10:40"), "sam", "verify #125"),
    ]);
    story
}

/// The setup of each command's example. An exhaustive match: a new command
/// needs one.
fn exchange(kind: CommandKind) -> Exchange {
    match kind {
        CommandKind::RcRequest => Exchange {
            setup: urgent_story(),
            from: "ana",
            at: "2026-03-10 10:00",
        },
        CommandKind::RcObject => {
            let mut setup = urgent_story();
            setup.push(says(
                "2026-03-10 10:00",
                "ana",
                "rc request urgent checkout fails for EU cards",
            ));
            Exchange {
                setup,
                from: "sam",
                at: "2026-03-10 10:05",
            }
        }
        CommandKind::RcProceed | CommandKind::RcWithdraw => Exchange {
            setup: objected_story(),
            from: "maria",
            at: "2026-03-10 10:10",
        },
        CommandKind::RcNotViable => Exchange {
            setup: vec![
                merged("2026-03-10 08:30", "#131", "sam", "New login page"),
                merged(
                    "2026-03-10 08:40",
                    "#132",
                    "ana",
                    "Remember the last search",
                ),
                says("2026-03-10 09:00", "maria", "rc request weekly features"),
            ],
            from: "maria",
            at: "2026-03-10 11:00",
        },
        CommandKind::RcReleased => {
            let mut setup = verified_story_on("2026-03-10");
            setup.push(says("2026-03-10 11:00", "maria", "release"));
            Exchange {
                setup,
                from: "maria",
                at: "2026-03-10 11:30",
            }
        }
        CommandKind::Verify => Exchange {
            setup: rc_story(),
            from: "ana",
            at: "2026-03-10 10:30",
        },
        CommandKind::Handoff => Exchange {
            setup: rc_story(),
            from: "ana",
            at: "2026-03-10 10:30",
        },
        CommandKind::Away => Exchange {
            setup: rc_story(),
            from: "ana",
            at: "2026-03-10 11:00",
        },
        CommandKind::Back => Exchange {
            setup: vec![says("2026-03-10 11:00", "ana", "away until 2026-03-16")],
            from: "ana",
            at: "2026-03-12 09:00",
        },
        CommandKind::Release => Exchange {
            setup: verified_story_on("2026-03-10"),
            from: "maria",
            at: "2026-03-10 11:00",
        },
        CommandKind::ReleaseException => Exchange {
            setup: verified_story_on("2026-03-13"),
            from: "ana",
            at: "2026-03-13 11:00",
        },
        CommandKind::Approve => {
            let mut setup = verified_story_on("2026-03-13");
            setup.push(says(
                "2026-03-13 11:00",
                "ana",
                "release exception urgent-delivery billing launches at noon",
            ));
            Exchange {
                setup,
                from: "maria",
                at: "2026-03-13 11:05",
            }
        }
        CommandKind::Status => {
            let mut setup = rc_story();
            setup.push(says("2026-03-10 10:30", "ana", "verify #123, #124"));
            Exchange {
                setup,
                from: "maria",
                at: "2026-03-10 11:00",
            }
        }
        CommandKind::Windows => Exchange {
            setup: Vec::new(),
            from: "sam",
            at: "2026-03-13 17:00",
        },
        CommandKind::Explain | CommandKind::Help => Exchange {
            setup: Vec::new(),
            from: "ana",
            at: "2026-03-10 10:00",
        },
    }
}

fn local(at: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M").unwrap();
    New_York
        .from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn team(prefix: &str) -> Team {
    let person = |tz: Tz| Member {
        tz,
        roles: vec!["engineer".to_owned()],
    };
    Team {
        people: [
            ("ana".to_owned(), person(New_York)),
            ("maria".to_owned(), person(New_York)),
            ("sam".to_owned(), person(Berlin)),
        ]
        .into(),
        products: [(PRODUCT.to_owned(), None)].into(),
        // As the daemon builds it from the config: `!ship` becomes `!ship `.
        prefix: shipgate::command::invocation(prefix),
        chat_ids: Default::default(),
    }
}

/// The ledger (in memory), with timers fired as time moves by its one
/// catch-up (the daemon's and `shipgate simulate`'s), and a transcript for
/// failure messages.
struct World {
    rules: RuleSet,
    team: Team,
    ledger: Ledger,
    n: u64,
    transcript: String,
}

/// The posts among `applied`'s effects.
fn posts(applied: &Applied) -> Vec<String> {
    match applied {
        Applied::New { effects, .. } => effects
            .iter()
            .filter_map(|e| match e {
                Effect::Post(p) => Some(p.text.clone()),
                _ => None,
            })
            .collect(),
        Applied::Duplicate { .. } => Vec::new(),
    }
}

fn show(transcript: &mut String, posts: &[String]) {
    for p in posts {
        transcript.push_str(&format!("  shipgate: {}\n", p.replace('\n', "\n    ")));
    }
}

impl World {
    fn new(prefix: &str) -> Self {
        let state = State {
            next_rc: 41,
            next_request: 7,
            ..State::default()
        };
        World {
            rules: shipgate::rules::defaults().unwrap(),
            team: team(prefix),
            ledger: Ledger::open_with(Store::open_in_memory().unwrap(), state).unwrap(),
            n: 0,
            transcript: String::new(),
        }
    }

    /// Fires the timers due up to `at`, then handles the event at `at`
    /// (`what` for the transcript): the posts the event made.
    fn at(&mut self, at: DateTime<Utc>, what: String, event: &Event) -> Vec<String> {
        let transcript = &mut self.transcript;
        self.ledger
            .catch_up(&self.rules, &self.team, at, 0, |due, applied| {
                let local = due.with_timezone(&New_York).format("%Y-%m-%d %H:%M");
                transcript.push_str(&format!("[{local}] (timers)\n"));
                show(transcript, &posts(applied));
            })
            .unwrap();
        self.transcript.push_str(&what);
        self.n += 1;
        let ctx = Context {
            rules: &self.rules,
            team: &self.team,
            now: at,
            seed: self.ledger.next_seed(0),
        };
        let applied = self
            .ledger
            .apply(&ctx, &format!("line:{}", self.n), event)
            .unwrap();
        let posts = posts(&applied);
        show(&mut self.transcript, &posts);
        posts
    }

    fn say(&mut self, at: &str, from: &str, text: &str) -> Vec<String> {
        let what = format!("[{at}] {from}: {text}\n");
        let event = Event::Chat {
            product: PRODUCT.to_owned(),
            from: from.to_owned(),
            text: text.to_owned(),
            message_id: None,
            said: shipgate::command::read(text, &self.team.prefix),
        };
        self.at(local(at), what, &event)
    }

    fn input(&mut self, input: &Input) {
        match input {
            Input::Merged {
                at,
                change,
                author,
                title,
            } => {
                let what = format!("[{at}] {author} merged {change} {title}\n");
                let event = Event::Merged {
                    product: PRODUCT.to_owned(),
                    change: (*change).to_owned(),
                    author: (*author).to_owned(),
                    title: (*title).to_owned(),
                };
                self.at(local(at), what, &event);
            }
            Input::Says { at, from, text } => {
                let text = format!("{} {text}", self.team.prefix.trim());
                self.say(at, from, &text);
            }
        }
    }
}

/// The example in `help COMMAND` as shown: what you type, and each message
/// shipgate answers (a `shipgate:` line each, later lines indented under
/// the first), unindented.
fn shown_example(kind: CommandKind, prefix: &str) -> (String, Vec<String>) {
    let text = help(Some(kind.name()), prefix);
    let (_, example) = text
        .split_once("\nExample:\n  you: ")
        .unwrap_or_else(|| panic!("`help {}` has no example:\n{text}", kind.name()));
    let indent = " ".repeat("  shipgate: ".len());
    for line in example.lines().skip(1) {
        assert!(
            line.starts_with("  shipgate: ") || line.starts_with(&indent),
            "`help {}`: the answer line {line:?} is not indented:\n{text}",
            kind.name()
        );
    }
    let mut parts = example.split("\n  shipgate: ");
    let typed = parts.next().unwrap_or_default().to_owned();
    let messages: Vec<String> = parts
        .map(|m| m.replace(&format!("\n{indent}"), "\n"))
        .collect();
    assert!(
        !messages.is_empty(),
        "`help {}` example has no answer:\n{text}",
        kind.name()
    );
    (typed, messages)
}

fn check(kind: CommandKind, prefix: &str) -> Result<(), String> {
    let (typed, shown) = shown_example(kind, prefix);
    if !typed.starts_with(prefix) {
        return Err(format!(
            "{kind:?}: the example command {typed:?} lacks the prefix {prefix:?}"
        ));
    }
    let Exchange { setup, from, at } = exchange(kind);
    let mut world = World::new(prefix);
    for input in &setup {
        world.input(input);
    }
    let answer = world.say(at, from, &typed);
    if answer == shown {
        Ok(())
    } else {
        let show = |messages: &[String]| -> String {
            messages
                .iter()
                .map(|m| format!("  shipgate: {}\n", m.replace('\n', "\n    ")))
                .collect()
        };
        Err(format!(
            "{kind:?} with prefix {prefix:?}: the help example does not match what shipgate \
             answers.\n--- help shows:\n{}--- shipgate answers:\n{}--- as strings:\n{answer:#?}\n\
             --- the exchange:\n{}",
            show(&shown),
            show(&answer),
            world.transcript
        ))
    }
}

#[test]
fn every_help_example_is_what_shipgate_answers() {
    let failures: Vec<String> = CommandKind::ALL
        .iter()
        .flat_map(|kind| ["!sg ", "/sg ", "!ship"].map(|prefix| check(*kind, prefix)))
        .filter_map(Result::err)
        .collect();
    assert!(
        failures.is_empty(),
        "{} example(s) are wrong:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `docs/chat.md` shows every help example, as a block of its own.
#[test]
fn the_chat_docs_show_every_help_example() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/chat.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let (_, commands) = docs.split_once("\n## Commands\n").unwrap();
    let missing: Vec<String> = CommandKind::ALL
        .iter()
        .filter_map(|kind| {
            let (typed, answer) = shown_example(*kind, "!sg ");
            let Exchange { from, .. } = exchange(*kind);
            let mut block = format!("```text\n{:<10}{typed}\n", format!("{from}:"));
            for message in answer {
                let message = message.replace('\n', "\n          ");
                block.push_str(&format!("shipgate: {message}\n"));
            }
            block.push_str("```\n");
            (!commands.contains(&block)).then(|| format!("{kind:?}:\n{block}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/chat.md lacks these help examples (under `## Commands`):\n\n{}",
        missing.join("\n")
    );
}
