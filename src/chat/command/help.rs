//! `help`, generated from [`CommandKind::ALL`] through one exhaustive match:
//! a new command cannot ship without its usage, description and example.

use super::CommandKind;
use super::words::{Cursor, closest, invocation, resolve, shorten, strip_prefix};

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
    /// answers (`{p}` stands for the prefix).
    pub example: (&'static str, &'static str),
}

impl CommandKind {
    pub(super) fn spec(self) -> Spec {
        match self {
            CommandKind::RcRequest => Spec {
                name: "rc request",
                aliases: &[],
                usage: "rc request [urgent] REASON",
                summary: "ask for a release candidate now",
                details: "With no RC in flight, one is cut at once and you manage it. With an RC in \
                          flight, a normal request waits until it ends; an `urgent` one replaces it \
                          after a notice period, unless someone objects.",
                example: (
                    "rc request urgent checkout fails for EU cards",
                    "Urgent RC requested by @ana: the running RC will be replaced in 15 minutes \
                     unless someone objects with `{p}rc object REASON`.",
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
                    "Objection from @sam noted. @maria, as manager of the running RC, decide with \
                     `{p}rc proceed` or `{p}rc withdraw`.",
                ),
            },
            CommandKind::RcProceed => Spec {
                name: "rc proceed",
                aliases: &[],
                usage: "rc proceed",
                summary: "(manager) let the urgent request replace the running RC",
                details: "Answers an objection: the running RC is closed as superseded, its changes \
                          go back into the pool and the urgent RC is cut.",
                example: (
                    "rc proceed",
                    "RC-41 is superseded; cutting the urgent RC now.",
                ),
            },
            CommandKind::RcWithdraw => Spec {
                name: "rc withdraw",
                aliases: &[],
                usage: "rc withdraw",
                summary: "(manager) keep the running RC; the urgent request waits",
                details: "Answers an objection: the running RC stays and the urgent request is \
                          cut when it ends.",
                example: (
                    "rc withdraw",
                    "RC-41 stays; the urgent request is queued until it ends.",
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
                          the reason and the steps may run over several lines.",
                example: (
                    "rc not-viable login is broken on staging next: revert #131, then a new RC",
                    "RC-41 is not viable: login is broken on staging. Next: revert #131, then a \
                     new RC.",
                ),
            },
            CommandKind::RcReleased => Spec {
                name: "rc released",
                aliases: &[],
                usage: "rc released",
                summary: "report that the RC is in production",
                details: "Use it when CI does not report the release itself.",
                example: ("rc released", "RC-42 is released. Thanks, everyone!"),
            },
            CommandKind::Verify => Spec {
                name: "verify",
                aliases: &["verified"],
                usage: "verify CHANGE... | all",
                summary: "say you verified your changes in the RC",
                details: "Name changes as the RC lists them (`#123`, `abc123f`, `web-42`), \
                          separated by spaces or commas; `all` means every change of yours.",
                example: (
                    "verify #123, #124",
                    "Thanks @ana: 4 of 5 changes in RC-42 are verified; waiting on #125 (@sam).",
                ),
            },
            CommandKind::Handoff => Spec {
                name: "handoff",
                aliases: &["hand-off", "hand off"],
                usage: "handoff CHANGE to PERSON",
                summary: "ask someone else to verify your change",
                details: "PERSON may be written with or without `@`. Do it before you go away.",
                example: (
                    "handoff #123 to @sam",
                    "@sam, you now verify #123 in RC-42 for @ana.",
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
                    "Noted: @ana is away until 2026-03-16. @maria, #123 in RC-42 still needs \
                     verifying.",
                ),
            },
            CommandKind::Back => Spec {
                name: "back",
                aliases: &[],
                usage: "back",
                summary: "say you are back before the date you gave",
                details: "Ends `away` early.",
                example: ("back", "Welcome back, @ana."),
            },
            CommandKind::Release => Spec {
                name: "release",
                aliases: &[],
                usage: "release",
                summary: "release the running RC to production",
                details: "Allowed while the `production` window is open; otherwise the answer \
                          says which rule closed it, when it opens next and how to ask for an \
                          exception.",
                example: (
                    "release",
                    "Releasing RC-42: the production window is open until 16:00.",
                ),
            },
            CommandKind::ReleaseException => Spec {
                name: "release exception",
                aliases: &[],
                usage: "release exception NAME REASON",
                summary: "ask to release outside the production window",
                details: "NAME is an exception from the rules, such as `production-down`, \
                          `critical-bug` or `urgent-delivery`. Some need approvals from other \
                          people; a granted exception expires.",
                example: (
                    "release exception urgent-delivery billing launches on Friday",
                    "Exception request #7 (urgent-delivery) needs 1 approval from someone else: \
                     `{p}approve 7`.",
                ),
            },
            CommandKind::Approve => Spec {
                name: "approve",
                aliases: &[],
                usage: "approve ID",
                summary: "approve someone else's exception request",
                details: "ID is the number the request was given; `#7` works too.",
                example: (
                    "approve #7",
                    "Exception #7 is granted for 2 hours: releasing RC-42.",
                ),
            },
            CommandKind::Status => Spec {
                name: "status",
                aliases: &[],
                usage: "status",
                summary: "show the RC in flight, its manager and what still needs verifying",
                details: "Also shows queued requests and the production window.",
                example: (
                    "status",
                    "RC-42 (manual, managed by @ana): 4 of 5 changes verified; waiting on #125 \
                     (@sam). Production is open until 16:00.",
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
                    "production: closed until Mon 08:00 (America/New_York). candidate: open.",
                ),
            },
            CommandKind::Explain => Spec {
                name: "explain",
                aliases: &[],
                usage: "explain [WINDOW] [at TIME]",
                summary: "explain why a window is open or closed",
                details: "WINDOW defaults to `production` and TIME to now; TIME is written like \
                          `2026-03-09 08:00`.",
                example: (
                    "explain production at 2026-03-13 10:00",
                    "production is closed at Fri 2026-03-13 10:00: no `open` clause matches \
                     (open mon-thu 08:00-16:00).",
                ),
            },
            CommandKind::Help => Spec {
                name: "help",
                aliases: &["?", "commands"],
                usage: "help [COMMAND]",
                summary: "list the commands, or explain one",
                details: "COMMAND may be written with or without `rc`, e.g. `help request`.",
                example: (
                    "help verify",
                    "`{p}verify CHANGE... | all`: say you verified your changes in the RC. ...",
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

fn detail(p: &str, kind: CommandKind) -> String {
    let spec = kind.spec();
    let mut out = format!("`{p}{}`: {}.\n{}", spec.usage, spec.summary, spec.details);
    if !spec.aliases.is_empty() {
        let aliases: Vec<String> = spec.aliases.iter().map(|a| format!("`{a}`")).collect();
        out.push_str(&format!("\nAlso written: {}.", aliases.join(", ")));
    }
    let (typed, answer) = spec.example;
    out.push_str(&format!(
        "\nExample:\n  you: {p}{typed}\n  shipgate: {}",
        answer.replace("{p}", p)
    ));
    out
}
