//! Text -> [`Command`]: prefix, first line, command words, arguments.

use chrono::NaiveDate;

use super::words::{Cursor, closest, invocation, quote, resolve, shorten, strip_prefix};
use super::{ChangeSelection, Command, CommandKind, ParseError};

/// Reads a chat message into a command.
///
/// `Ok(None)`: the text is not addressed to shipgate (it does not start with
/// `prefix`). The prefix match ignores case and surrounding spaces; a bare
/// prefix (`!sg`) means `help`. Only the first line is the command, except
/// that a reason (or the next steps of `rc not-viable`) may continue on the
/// following lines. A Matrix pill (a link to a user on matrix.to) reads as
/// the user's id.
pub fn parse(text: &str, prefix: &str) -> Result<Option<Command>, ParseError> {
    let text = crate::command::mention::unlink_pills(text);
    let Some(body) = strip_prefix(&text, prefix) else {
        return Ok(None);
    };
    let (line, more) = match body.split_once('\n') {
        Some((line, more)) => (line.strip_suffix('\r').unwrap_or(line), Some(more)),
        None => (body, None),
    };
    let parser = Parser {
        p: invocation(prefix),
        line,
        more,
    };
    parser.command().map(Some)
}

struct Parser<'a> {
    /// The prefix as typed before a command, for messages.
    p: String,
    /// The first line, after the prefix.
    line: &'a str,
    /// The lines after the first, if any.
    more: Option<&'a str>,
}

impl Parser<'_> {
    fn command(&self) -> Result<Command, ParseError> {
        if Cursor::new(self.line).next_word().is_none() {
            return Ok(Command::Help { topic: None });
        }
        let Some((kind, args)) = resolve(self.line, false) else {
            return Err(self.unknown());
        };
        match kind {
            CommandKind::RcRequest => {
                let text = self.text(args);
                let mut cur = Cursor::new(&text);
                let urgent = cur.peek().is_some_and(|w| w.eq_ignore_ascii_case("urgent"));
                if urgent {
                    cur.next_word();
                }
                let reason = self.required(kind, cur.rest(), "a reason")?;
                Ok(Command::RcRequest { urgent, reason })
            }
            CommandKind::RcObject => {
                let reason = self.required(kind, &self.text(args), "a reason")?;
                Ok(Command::RcObject { reason })
            }
            CommandKind::RcNotViable => self.not_viable(kind, &self.text(args)),
            CommandKind::Verify => self.verify(kind, args),
            CommandKind::Handoff => self.handoff(kind, args.words()),
            CommandKind::Away => self.away(kind, args.words()),
            CommandKind::ReleaseException => {
                let text = self.text(args);
                let mut cur = Cursor::new(&text);
                let Some(exception) = cur.next_word() else {
                    return Err(self.missing(kind, "the exception's name (and a reason, unless the exception makes it optional)"));
                };
                // The reason may be left out: the engine asks for one when
                // the exception's rules say `reason required`.
                let reason = cur.rest().trim().to_owned();
                Ok(Command::ReleaseException {
                    exception: exception.to_owned(),
                    reason,
                })
            }
            CommandKind::Approve => self.approve(kind, args.words()),
            CommandKind::Explain => self.explain(kind, args),
            CommandKind::Help => {
                let words = args.words();
                let topic = (!words.is_empty()).then(|| words.join(" "));
                Ok(Command::Help { topic })
            }
            CommandKind::RcProceed => self.no_args(kind, args, Command::RcProceed),
            CommandKind::RcWithdraw => self.no_args(kind, args, Command::RcWithdraw),
            CommandKind::RcReleased => self.no_args(kind, args, Command::RcReleased),
            CommandKind::Back => self.no_args(kind, args, Command::Back),
            CommandKind::Release => self.no_args(kind, args, Command::Release),
            CommandKind::Status => match args.words().as_slice() {
                [] => Ok(Command::Status { product: None }),
                [product] => Ok(Command::Status {
                    product: Some((*product).to_owned()),
                }),
                [_, extra @ ..] => Err(self.error(
                    format!(
                        "`status` takes one product at most, but got {}",
                        quote(&extra.join(" "))
                    ),
                    Some(kind.name().to_owned()),
                )),
            },
            CommandKind::Windows => self.no_args(kind, args, Command::Windows),
        }
    }

    /// Free text: the rest of the first line and every line after it.
    fn text(&self, args: Cursor<'_>) -> String {
        match self.more {
            Some(more) => format!("{}\n{more}", args.rest()).trim().to_owned(),
            None => args.rest().to_owned(),
        }
    }

    fn required(&self, kind: CommandKind, text: &str, what: &str) -> Result<String, ParseError> {
        let text = text.trim();
        if text.is_empty() {
            Err(self.missing(kind, what))
        } else {
            Ok(text.to_owned())
        }
    }

    fn no_args(
        &self,
        kind: CommandKind,
        args: Cursor<'_>,
        command: Command,
    ) -> Result<Command, ParseError> {
        let extra = args.rest();
        if extra.is_empty() {
            return Ok(command);
        }
        let mut message = format!(
            "`{}` takes no arguments, but got {}",
            kind.name(),
            quote(extra)
        );
        if kind == CommandKind::Release {
            message.push_str(&format!(
                "; to ask for an exception write `{}{}`",
                self.p,
                CommandKind::ReleaseException.usage()
            ));
        }
        Err(self.error(message, Some(kind.name().to_owned())))
    }

    fn not_viable(&self, kind: CommandKind, text: &str) -> Result<Command, ParseError> {
        let (reason, next_steps) = match next_marker(text) {
            Some((start, end)) => {
                let steps = text.get(end..).unwrap_or("").trim();
                if steps.is_empty() {
                    return Err(self.missing(kind, "the next steps after `next:`"));
                }
                (text.get(..start).unwrap_or(""), Some(steps.to_owned()))
            }
            None => (text, None),
        };
        let reason = self.required(kind, reason, "a reason")?;
        Ok(Command::RcNotViable { reason, next_steps })
    }

    fn verify(&self, kind: CommandKind, args: Cursor<'_>) -> Result<Command, ParseError> {
        let mut ids: Vec<String> = Vec::new();
        let mut all = false;
        for id in args
            .rest()
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|id| !id.is_empty())
        {
            if id.eq_ignore_ascii_case("all") {
                all = true;
            } else if !ids.iter().any(|known| known == id) {
                ids.push(id.to_owned());
            }
        }
        match (all, ids.is_empty()) {
            (true, true) => Ok(Command::Verify {
                changes: ChangeSelection::All,
            }),
            (false, false) => Ok(Command::Verify {
                changes: ChangeSelection::Some(ids),
            }),
            (false, true) => Err(self.missing(kind, "the changes you verified, or `all`")),
            (true, false) => Err(self.error(
                "`verify` takes either change ids or `all`, not both".to_owned(),
                Some("verify all".to_owned()),
            )),
        }
    }

    fn handoff(&self, kind: CommandKind, words: Vec<&str>) -> Result<Command, ParseError> {
        let is_to = |w: &str| w.eq_ignore_ascii_case("to");
        match words.as_slice() {
            [] => Err(self.missing(kind, "a change and a person")),
            [_] => Err(self.missing(kind, "`to` and a person after the change")),
            [_, to] if is_to(to) => Err(self.missing(kind, "a person after `to`")),
            [change, to, person] if is_to(to) => {
                let person = person.trim_start_matches('@');
                if person.is_empty() {
                    return Err(self.missing(kind, "a name after `@`"));
                }
                Ok(Command::Handoff {
                    change: (*change).to_owned(),
                    to: person.to_owned(),
                })
            }
            [change, person] => Err(self.error(
                "`handoff` needs `to` between the change and the person".to_owned(),
                Some(format!("handoff {change} to {person}")),
            )),
            [change, other, person] => Err(self.error(
                format!(
                    "`handoff` expected `to` after the change, but got {}",
                    quote(other)
                ),
                Some(format!("handoff {change} to {person}")),
            )),
            [first, .., to, person] if is_to(to) => Err(self.error(
                "`handoff` takes one change at a time".to_owned(),
                Some(format!("handoff {first} to {person}")),
            )),
            [..] => Err(self.error(
                format!(
                    "`handoff` takes one change and one person (usage: `{}{}`)",
                    self.p,
                    kind.usage()
                ),
                None,
            )),
        }
    }

    fn away(&self, kind: CommandKind, words: Vec<&str>) -> Result<Command, ParseError> {
        match words.as_slice() {
            [] => Err(self.missing(kind, "`until` and a date")),
            [until] if until.eq_ignore_ascii_case("until") => {
                Err(self.missing(kind, "a date after `until`"))
            }
            [until, date, extra @ ..] if until.eq_ignore_ascii_case("until") => {
                let until = self.date(date)?;
                match extra {
                    [] => Ok(Command::Away { until }),
                    [..] => Err(self.error(
                        format!(
                            "`away` takes only a date, but got {} after it",
                            quote(&extra.join(" "))
                        ),
                        Some(format!("away until {date}")),
                    )),
                }
            }
            [first, rest @ ..] => {
                let date = if looks_like_date(first) {
                    Some(first)
                } else {
                    rest.first().filter(|d| looks_like_date(d))
                };
                Err(self.error(
                    format!(
                        "`away` needs `until` before the date, but got {}",
                        quote(first)
                    ),
                    date.map(|d| format!("away until {d}")),
                ))
            }
        }
    }

    fn date(&self, text: &str) -> Result<NaiveDate, ParseError> {
        if !looks_like_date(text) {
            return Err(self.error(
                format!(
                    "the date must be written YYYY-MM-DD, like `2026-03-16`, not {}",
                    quote(text)
                ),
                None,
            ));
        }
        let mut parts = text.split('-').map(str::parse::<u32>);
        let date = match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) => i32::try_from(y)
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
            _ => None,
        };
        date.ok_or_else(|| {
            self.error(
                format!("{} is not a date on the calendar", quote(text)),
                None,
            )
        })
    }

    fn approve(&self, kind: CommandKind, words: Vec<&str>) -> Result<Command, ParseError> {
        match words.as_slice() {
            [] => Err(self.missing(kind, "the id of the exception request")),
            [written] => {
                // `E12` as shipgate writes it; `12` and `#12` too.
                let digits = written
                    .strip_prefix(['E', 'e'])
                    .or_else(|| written.strip_prefix('#'))
                    .unwrap_or(written);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.error(
                        format!(
                            "the id to approve is an exception request's, like `E12` (or `12`), not {}",
                            quote(written)
                        ),
                        None,
                    ));
                }
                match digits.parse::<u64>() {
                    Ok(id) => Ok(Command::Approve { id }),
                    Err(_) => Err(self.error(
                        format!("{} is too large to be a request id", quote(written)),
                        None,
                    )),
                }
            }
            [first, rest @ ..] => Err(self.error(
                format!(
                    "`approve` takes one id, but got {} after it",
                    quote(&rest.join(" "))
                ),
                Some(format!("approve {first}")),
            )),
        }
    }

    fn explain(&self, kind: CommandKind, mut args: Cursor<'_>) -> Result<Command, ParseError> {
        let is_at = |w: &str| w.eq_ignore_ascii_case("at");
        let time = |args: Cursor<'_>| match args.rest() {
            "" => Err(self.missing(kind, "a time after `at`")),
            time => Ok(Some(time.to_owned())),
        };
        match args.next_word() {
            None => Ok(Command::Explain {
                window: None,
                at: None,
            }),
            Some(at) if is_at(at) => Ok(Command::Explain {
                window: None,
                at: time(args)?,
            }),
            Some(window) => match args.next_word() {
                None => Ok(Command::Explain {
                    window: Some(window.to_owned()),
                    at: None,
                }),
                Some(at) if is_at(at) => Ok(Command::Explain {
                    window: Some(window.to_owned()),
                    at: time(args)?,
                }),
                Some(other) => Err(self.error(
                    format!(
                        "`explain` expected `at TIME` after the window, but got {}",
                        quote(other)
                    ),
                    Some(format!(
                        "explain {window} at {}",
                        shorten(format!("{other} {}", args.rest()).trim_end(), 80)
                    )),
                )),
            },
        }
    }

    fn unknown(&self) -> ParseError {
        let mut cur = Cursor::new(self.line);
        let first = cur.next_word().unwrap_or("");
        if first.eq_ignore_ascii_case("rc") && cur.peek().is_none() {
            let subs: Vec<String> = CommandKind::ALL
                .iter()
                .filter_map(|k| k.name().strip_prefix("rc "))
                .map(|s| format!("`{s}`"))
                .collect();
            return self.error(
                format!("`rc` needs one of {}", subs.join(", ")),
                Some("help rc".to_owned()),
            );
        }
        match closest(self.line) {
            Some((kind, consumed)) => {
                let mut cur = Cursor::new(self.line);
                let mut typed = Vec::new();
                for _ in 0..consumed {
                    typed.extend(cur.next_word());
                }
                let rest = shorten(cur.rest(), 80);
                let suggestion = if rest.is_empty() {
                    kind.name().to_owned()
                } else {
                    format!("{} {rest}", kind.name())
                };
                self.error(
                    format!("unknown command {}", quote(&typed.join(" "))),
                    Some(suggestion),
                )
            }
            None => {
                let typed = if first.eq_ignore_ascii_case("rc") {
                    format!("{first} {}", cur.peek().unwrap_or(""))
                } else {
                    first.to_owned()
                };
                self.error(
                    format!(
                        "unknown command {}; `{}help` lists every command",
                        quote(&typed),
                        self.p
                    ),
                    None,
                )
            }
        }
    }

    fn missing(&self, kind: CommandKind, what: &str) -> ParseError {
        self.error(
            format!(
                "`{}` needs {what} (usage: `{}{}`)",
                kind.name(),
                self.p,
                kind.usage()
            ),
            None,
        )
    }

    /// An error; `suggestion` is a command without prefix.
    fn error(&self, message: String, suggestion: Option<String>) -> ParseError {
        ParseError {
            message,
            suggestion: suggestion.map(|s| format!("{}{s}", self.p)),
        }
    }
}

/// `YYYY-MM-DD` in shape (4, 1-2 and 1-2 ASCII digits); the calendar is
/// checked separately.
fn looks_like_date(text: &str) -> bool {
    let digits = |s: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let mut parts = text.split('-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d), None) => {
            digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2)
        }
        _ => false,
    }
}

/// Where `next:` (or `next steps:`) starts and ends, at the start of a word.
fn next_marker(text: &str) -> Option<(usize, usize)> {
    let mut after_space = true;
    for (i, c) in text.char_indices() {
        if after_space && (c == 'n' || c == 'N') {
            let tail = text.get(i..).unwrap_or("");
            if tail
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("next:"))
            {
                return Some((i, i + 5));
            }
            if tail
                .get(..4)
                .is_some_and(|s| s.eq_ignore_ascii_case("next"))
            {
                let after = tail.get(4..).unwrap_or("");
                let trimmed = after.trim_start();
                if trimmed.len() < after.len()
                    && trimmed
                        .get(..6)
                        .is_some_and(|s| s.eq_ignore_ascii_case("steps:"))
                {
                    let end = text.len() - trimmed.len() + 6;
                    return Some((i, end));
                }
            }
        }
        after_space = c.is_whitespace();
    }
    None
}
