//! `help`, generated from [`CommandKind::ALL`] through one exhaustive match:
//! a new command cannot ship without its usage, description and example.

use super::CommandKind;
use super::words::{Cursor, closest, invocation, phrases, resolve, shorten, strip_prefix};

/// What `help` says about one kind of command.
pub(super) struct Spec {
    /// Canonical name, e.g. `rc request`.
    pub name: &'static str,
    /// Other spellings the parser accepts.
    pub aliases: &'static [&'static str],
    /// Usage without prefix.
    pub usage: &'static str,
    /// One line for the command list.
    pub summary: &'static str,
    /// A few sentences for `help COMMAND`.
    pub details: &'static str,
    /// An example: what a person types (without prefix) and what shipgate
    /// answers, one message or more (`{p}` stands for the prefix). The
    /// answer is real: `tests/help_examples.rs` checks it against the
    /// engine.
    pub example: (&'static str, &'static [&'static str]),
}

impl CommandKind {
    pub(super) fn spec(self) -> Spec {
        match self {
            CommandKind::RcRequest => Spec {
                name: "rc request",
                aliases: &[],
                usage: "rc request [urgent] REASON",
                summary: "ask for a release candidate now",
                details: "With no RC in flight, one is cut at once from the changes merged since \
                          the last RC, and you manage it. With an RC in flight, a normal request \
                          waits until it ends; an `urgent` one replaces it after a notice period, \
                          unless someone objects.",
                example: (
                    "rc request urgent checkout fails for EU cards",
                    &["@ana asks for an urgent RC: checkout fails for EU cards.\n\
                         @maria (manager of RC #41): RC #41 will be closed and replaced at Tue \
                         2026-03-10 10:15 EDT unless someone objects with `{p}rc object REASON`. \
                         Its changes go into the new RC."],
                ),
            },
            CommandKind::RcObject => Spec {
                name: "rc object",
                aliases: &[],
                usage: "rc object REASON",
                summary: "object to an urgent request replacing the running RC",
                details: "The running RC's manager then decides with `rc proceed` or `rc withdraw`.",
                example: (
                    "rc object I am halfway through verifying #123",
                    &[
                        "@sam objects to @ana's urgent RC: I am halfway through verifying #123.\n\
                         @maria: as manager of RC #41, decide: `{p}rc proceed` (replace it now) or \
                         `{p}rc withdraw` (keep it).",
                    ],
                ),
            },
            CommandKind::RcProceed => Spec {
                name: "rc proceed",
                aliases: &[],
                usage: "rc proceed",
                summary: "(manager) let the urgent request replace the running RC",
                details: "Answers an objection: the running RC is closed as superseded and the \
                          urgent RC is cut at once, carrying the old RC's changes.",
                example: (
                    "rc proceed",
                    &[
                        "RC #41 is closed: superseded by an urgent RC for @ana (checkout fails for \
                         EU cards). Its changes are carried into the new RC.",
                        "RC #42 for web is cut (urgent: checkout fails for EU cards). Release \
                         manager: @ana (requested it urgently).\n\
                         Changes to verify, by @ana and @sam:\n  \
                         • #123 Search suggestions (@maria, verifying: @sam)\n  \
                         • #124 Fix EU card checkout (@ana)\n\
                         Verify yours with `{p}verify all` (or `{p}verify CHANGE`), or hand one \
                         over with `{p}handoff CHANGE to PERSON`.",
                    ],
                ),
            },
            CommandKind::RcWithdraw => Spec {
                name: "rc withdraw",
                aliases: &[],
                usage: "rc withdraw",
                summary: "(manager or requester) drop the urgent request; the running RC continues",
                details: "The running RC's manager uses it to answer an objection; whoever asked \
                          for the urgent RC may take the request back at any time. To have those \
                          changes released later, ask again, or wait for the next daily RC.",
                example: (
                    "rc withdraw",
                    &["@ana's urgent request was withdrawn by @maria; the current RC continues."],
                ),
            },
            CommandKind::RcNotViable => Spec {
                name: "rc not-viable",
                aliases: &[
                    "rc notviable",
                    "rc non-viable",
                    "rc nonviable",
                    "rc not_viable",
                    "rc not viable",
                ],
                usage: "rc not-viable REASON [next: STEPS]",
                summary: "close the running RC as not viable, saying why and what happens next",
                details: "Its changes go back into the pool. Write the next steps after `next:`; \
                          the reason and the steps may run over several lines. Only the RC's \
                          manager can, unless the rules `allow` it to a role.",
                example: (
                    "rc not-viable login is broken on staging next: revert #131, then a new RC",
                    &["RC #41 is not viable: login is broken on staging\n\
                       Next steps: revert #131, then a new RC"],
                ),
            },
            CommandKind::RcReleased => Spec {
                name: "rc released",
                aliases: &[],
                usage: "rc released",
                summary: "report that the RC is in production",
                details: "Use it when CI does not report the release itself. Only the RC's manager \
                          can, unless the rules `allow` it to a role.",
                example: (
                    "rc released",
                    &["RC #41 is released to production. Thank you, @maria, @ana and @sam."],
                ),
            },
            CommandKind::Verify => Spec {
                name: "verify",
                aliases: &["verified"],
                usage: "verify CHANGE... | all",
                summary: "say you verified your changes in the RC",
                details: "Name changes as the RC lists them (`#123`, `abc123f`, `web-42`), \
                          separated by spaces or commas; `all` means every change left for you to \
                          verify (yours, and any handed to you).",
                example: (
                    "verify #123, #124",
                    &["@ana: verified #123, #124 in RC #41; 1 change left to verify."],
                ),
            },
            CommandKind::Handoff => Spec {
                name: "handoff",
                aliases: &["hand-off", "hand off"],
                usage: "handoff CHANGE to PERSON",
                summary: "ask someone else to verify your change",
                details: "PERSON may be written with or without `@`. Do it before you go away. The \
                          RC's manager may hand over anyone's change.",
                example: (
                    "handoff #123 to @sam",
                    &[
                        "@sam: @ana handed you #123 (Search suggestions) to verify in RC #41. \
                         `{p}verify #123` when it works.",
                    ],
                ),
            },
            CommandKind::Away => Spec {
                name: "away",
                aliases: &[],
                usage: "away until YYYY-MM-DD",
                summary: "say you are away until a date",
                details: "Your pending verifications are flagged to the release manager, and you \
                          are not picked to manage daily RCs until you are back.",
                example: (
                    "away until 2026-03-16",
                    &[
                        "@ana: noted, you are away until 2026-03-16 (inclusive).",
                        "@maria: @ana is away until 2026-03-16 and has not verified #123 and #124 \
                         in RC #41. Hand them to someone with `{p}handoff CHANGE to PERSON`.",
                    ],
                ),
            },
            CommandKind::Back => Spec {
                name: "back",
                aliases: &[],
                usage: "back",
                summary: "say you are back before the date you gave",
                details: "Ends `away` early.",
                example: ("back", &["@ana: welcome back."]),
            },
            CommandKind::Release => Spec {
                name: "release",
                aliases: &[],
                usage: "release",
                summary: "release the running RC to production",
                details: "Every change in the RC must be verified first. Allowed while the \
                          `production` window is open, or with a granted exception; otherwise the \
                          answer says which rule closed it, when it opens next and how to ask for \
                          an exception.",
                example: (
                    "release",
                    &[
                        "@maria is releasing RC #41 to production: production is open until Tue \
                         2026-03-10 16:00 EDT by `open mon-thu 08:00-16:00` \
                         (rules/release-process.rules:6).",
                    ],
                ),
            },
            CommandKind::ReleaseException => Spec {
                name: "release exception",
                aliases: &[],
                usage: "release exception NAME [REASON]",
                summary: "ask to release outside the production window",
                details: "NAME is an exception from the rules, such as `production-down`, \
                          `critical-bug` or `urgent-delivery`. Some need approvals from other \
                          people; a granted exception expires. REASON is required unless the \
                          exception says `reason optional`. Once it is granted, an RC whose \
                          changes are all verified is released at once; otherwise `release` it \
                          before the exception expires.",
                example: (
                    "release exception urgent-delivery billing launches at noon",
                    &[
                        "@ana asks for exception E7 `urgent-delivery` (Delivery is urgent for \
                         another team's deadline) to release RC #41 outside the production window: \
                         billing launches at noon.\n\
                         It needs 1 approval from someone else (@maria or @sam can approve): `{p}approve E7`.",
                    ],
                ),
            },
            CommandKind::Approve => Spec {
                name: "approve",
                aliases: &[],
                usage: "approve ID",
                summary: "approve someone else's exception request",
                details: "ID is the id the request was given, like `E7`; `7` works too. Approving \
                          your own request does not count.",
                example: (
                    "approve E7",
                    &[
                        "Exception E7 `urgent-delivery` is granted to @ana (approved by maria).",
                        "@ana is releasing RC #41 to production: production is closed: no `open` \
                         rule covers Friday 11:05 (America/New_York), but exception E7 \
                         `urgent-delivery` is granted until Fri 2026-03-13 13:05 EDT.",
                    ],
                ),
            },
            CommandKind::Status => Spec {
                name: "status",
                aliases: &[],
                usage: "status [PRODUCT]",
                summary: "show the RC in flight, its manager and what still needs verifying",
                details: "Also shows the changes waiting for the next RC, queued and urgent \
                          requests, exception requests and the production window. PRODUCT \
                          (any case) asks about another product than the channel's.",
                example: (
                    "status",
                    &[
                        "web: RC #41 (manual, manager @maria) is open: 2 of 3 changes verified, \
                         cut 2 hours ago.\n  \
                         ✓ #123 Search suggestions (@ana)\n  \
                         ✓ #124 Fix EU card checkout (@ana)\n  \
                         • #125 Faster receipts (@sam)\n\
                         Production is open; it closes Tue 2026-03-10 16:00 EDT (in 5 hours).",
                    ],
                ),
            },
            CommandKind::Windows => Spec {
                name: "windows",
                aliases: &["window"],
                usage: "windows",
                summary: "show each window from the rules and whether it is open now",
                details: "Each window says when it next opens or closes.",
                example: (
                    "windows",
                    &["candidate: open\n\
                       production: closed, opens Mon 2026-03-16 08:00 EDT (in 2 days 15 hours)"],
                ),
            },
            CommandKind::Explain => Spec {
                name: "explain",
                aliases: &[],
                usage: "explain [WINDOW] [at TIME]",
                summary: "explain why a window is open or closed",
                details: "WINDOW defaults to `production` and TIME to now. TIME is a local time in \
                          the window's time zone, like `2026-03-09 08:00`, or RFC 3339 like \
                          `2026-03-09T12:00:00Z`.",
                example: (
                    "explain production at 2026-03-13 10:00",
                    &[
                        "production is closed at Fri 2026-03-13 10:00 EDT: no `open` rule covers \
                         Friday 10:00 local time. It opens Mon 2026-03-16 08:00 EDT (in 2 days 22 \
                         hours). Exceptions that can open it: critical-bug, production-down, \
                         urgent-delivery.",
                    ],
                ),
            },
            CommandKind::Help => Spec {
                name: "help",
                aliases: &["?", "commands"],
                usage: "help [COMMAND]",
                summary: "list the commands, or explain one",
                details: "COMMAND may be written with or without `rc`, e.g. `help request`.",
                example: (
                    "help back",
                    &["`{p}back`: say you are back before the date you gave.\n\
                       Ends `away` early.\n\
                       Example:\n  \
                       you: {p}back\n  \
                       shipgate: @ana: welcome back."],
                ),
            },
        }
    }
}

/// `help` text. With no topic: every command with its usage and one-line
/// description. With a topic (`rc request`, `request`, `verify`, `rc`...):
/// its usage, description and an example exchange.
pub fn help(topic: Option<&str>, prefix: &str) -> String {
    let p = invocation(prefix);
    let topic = topic.map(|t| strip_prefix(t, prefix).unwrap_or(t).trim());
    let Some(topic) = topic.filter(|t| !t.is_empty()) else {
        return list(&p, CommandKind::ALL, "shipgate commands");
    };
    if matches!(Cursor::new(topic).words().as_slice(), [rc] if rc.eq_ignore_ascii_case("rc")) {
        let rc: Vec<CommandKind> = CommandKind::ALL
            .iter()
            .copied()
            .filter(|k| k.name().starts_with("rc "))
            .collect();
        return list(&p, &rc, "release candidate commands");
    }
    if let Some((kind, _)) = resolve(topic, true) {
        return detail(&p, kind);
    }
    // A word that is part of a command's name (`exception` of `release
    // exception`): that command, or the list of those it is part of.
    if let [word] = Cursor::new(topic).words().as_slice() {
        let containing: Vec<CommandKind> = CommandKind::ALL
            .iter()
            .copied()
            .filter(|&k| {
                phrases(k, false)
                    .iter()
                    .any(|ph| ph.split(' ').any(|w| w.eq_ignore_ascii_case(word)))
            })
            .collect();
        match containing.as_slice() {
            [] => {}
            [kind] => return detail(&p, *kind),
            kinds => {
                return list(&p, kinds, &format!("commands with `{}`", shorten(word, 40)));
            }
        }
    }
    let not_found = format!("there is no command `{}`", shorten(topic, 40));
    let hint = match closest(topic) {
        Some((kind, _)) => format!("{not_found} (did you mean `{p}help {}`?)", kind.name()),
        None => format!("{not_found}."),
    };
    format!(
        "{hint}\n\n{}",
        list(&p, CommandKind::ALL, "shipgate commands")
    )
}

fn list(p: &str, kinds: &[CommandKind], title: &str) -> String {
    let usages: Vec<String> = kinds.iter().map(|k| format!("{p}{}", k.usage())).collect();
    let width = usages.iter().map(|u| u.chars().count()).max().unwrap_or(0);
    let mut out = format!("{title} (`{p}help COMMAND` for details and an example):");
    for (kind, usage) in kinds.iter().zip(&usages) {
        let pad = width - usage.chars().count();
        out.push_str(&format!(
            "\n  {usage}{}  {}",
            " ".repeat(pad),
            kind.summary()
        ));
    }
    out
}

/// What starts the answer in an example.
const SHIPGATE: &str = "  shipgate: ";

fn detail(p: &str, kind: CommandKind) -> String {
    let spec = kind.spec();
    let mut out = format!("`{p}{}`: {}.\n{}", spec.usage, spec.summary, spec.details);
    if !spec.aliases.is_empty() {
        let aliases: Vec<String> = spec.aliases.iter().map(|a| format!("`{a}`")).collect();
        out.push_str(&format!("\nAlso written: {}.", aliases.join(", ")));
    }
    let (typed, answer) = spec.example;
    out.push_str(&format!("\nExample:\n  you: {p}{typed}"));
    // One `shipgate:` line per message; its later lines line up under its
    // first.
    let indent = format!("\n{}", " ".repeat(SHIPGATE.len()));
    for message in answer {
        let message = message.replace("{p}", p).replace('\n', &indent);
        out.push_str(&format!("\n{SHIPGATE}{message}"));
    }
    out
}
