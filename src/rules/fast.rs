//! A shortcut from text straight to the AST, for files without mistakes.
//!
//! The pest grammar names every keyword and punctuation mark so that a
//! syntax error can say what was expected, and the walk in `parse.rs` turns
//! its pairs into the AST. Most of the time `compile` spends on a big file
//! went there (docs/benchmarks.md). This module reads the common forms of
//! `timezone`, `window`, `exception`, `product` and `test` directly into the
//! same AST, with the same spans. It is only a shortcut:
//!
//! - Anything it is not sure of (a `policy` block, an unusual spelling, a
//!   quote that does not close, ...) makes it hand the whole top-level
//!   definition to the pest parser and the usual walk, at the same offset.
//! - By design, so do the calendar forms: `calendar` definitions (with
//!   entries or `from "FILE.ics"`), and windows with day offsets, Easter,
//!   whole months, days of every month or a week cadence. They are rare
//!   next to plain clauses; the tests pin exactly which definitions go to
//!   pest (`left_to_pest`). A clause `open calendar NAME` / `closed
//!   calendar NAME` (with an optional label) is read here: every window of
//!   a big file may use a calendar, and pest would then read all of them.
//! - If that finds a problem (a syntax error, or anything the walk reports),
//!   it gives up, and [`super::parse::parse_file`] runs the pest path on the
//!   whole file, so every diagnostic is the one the pest path produces.
//!
//! The contract: when [`parse`] returns `Some(file)`, the pest path returns
//! `Ok` with the same `file`, spans included. It may be stricter than the
//! grammar (then the pest path does the work), never looser. The tests below
//! compare both paths on valid files and on many small corruptions of them.
//!
//! Every span ends where the last token of its node ends, as
//! `parse::trimmed_end` makes the walk's spans end.

use pest::Parser as _;

use super::ast::*;
use super::parse::{Walker, month, parse_offset, weekday};
use super::source::Source;
use super::syntax::{Rule, RulesParser};

/// The AST of `source` if it parses without any diagnostic; `None` means
/// "ask the pest path" (which may still succeed).
pub(super) fn parse(source: &Source) -> Option<File> {
    let text: &str = &source.text;
    let mut c = Cursor {
        text,
        pos: 0,
        last_end: 0,
    };
    let mut items = Vec::new();
    loop {
        c.skip();
        if c.pos >= text.len() {
            break;
        }
        let start = c.pos;
        match c.item() {
            Some(item) => items.push(item),
            None => {
                let (item, end) = pest_item(source, start)?;
                items.push(item);
                c.pos = end;
            }
        }
    }
    Some(File { items })
}

/// One top-level definition at `start`, by the grammar and the usual walk;
/// `None` on any diagnostic. Returns the item and where it ends.
fn pest_item(source: &Source, start: usize) -> Option<(Item, usize)> {
    let text = source.text.get(start..)?;
    let pair = RulesParser::parse(Rule::item, text).ok()?.next()?;
    let end = start + pair.as_span().end();
    let mut walker = Walker {
        source,
        offset: start,
        errors: Vec::new(),
    };
    let item = walker.item(pair)?;
    walker.errors.is_empty().then_some((item, end))
}

/// `word_char` in the grammar.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const DAYS: [&str; 14] = [
    "monday",
    "mon",
    "tuesday",
    "tue",
    "wednesday",
    "wed",
    "thursday",
    "thu",
    "friday",
    "fri",
    "saturday",
    "sat",
    "sunday",
    "sun",
];

const MONTHS: [&str; 23] = [
    "january",
    "jan",
    "february",
    "feb",
    "march",
    "mar",
    "april",
    "apr",
    "may",
    "june",
    "jun",
    "july",
    "jul",
    "august",
    "aug",
    "september",
    "sep",
    "october",
    "oct",
    "november",
    "nov",
    "december",
    "dec",
];

const ORDINALS: [&str; 6] = ["1st", "2nd", "3rd", "4th", "5th", "last"];

/// A day word as the grammar's `day` reads it.
fn day_word(w: &str) -> Option<chrono::Weekday> {
    if DAYS.contains(&w) { weekday(w) } else { None }
}

/// A month word as the grammar's `month` reads it.
fn month_word(w: &str) -> Option<u32> {
    if MONTHS.contains(&w) { month(w) } else { None }
}

/// Reads tokens. Every reader either succeeds and moves past its token, or
/// returns `None` without a usable position: a `None` abandons the whole
/// top-level definition, so nothing ever backtracks.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    /// Where the last token read ends: the end of every span.
    last_end: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    fn peek(&self) -> Option<u8> {
        self.byte(self.pos)
    }

    /// Moves to `end`, past a token.
    fn take(&mut self, end: usize) {
        self.pos = end;
        self.last_end = end;
    }

    /// The grammar's implicit `WHITESPACE` and `COMMENT`.
    fn skip(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => {
                    while self.peek().is_some_and(|b| b != b'\r' && b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// Skips spaces and comments only if `want` follows them.
    fn skip_to(&mut self, want: impl Fn(u8) -> bool) -> bool {
        let save = self.pos;
        self.skip();
        if self.peek().is_some_and(want) {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn digits(&self, from: usize) -> usize {
        self.text
            .as_bytes()
            .get(from..)
            .map_or(0, |b| b.iter().take_while(|b| b.is_ascii_digit()).count())
    }

    /// The run of word characters at the cursor.
    fn word(&self) -> &'a str {
        let bytes = self.text.as_bytes();
        let mut end = self.pos;
        while bytes.get(end).is_some_and(|&b| is_word(b)) {
            end += 1;
        }
        self.text.get(self.pos..end).unwrap_or("")
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.text
            .as_bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(kw.as_bytes()))
            && !self.byte(self.pos + kw.len()).is_some_and(is_word)
    }

    /// A keyword (`kw_*`: the word, not followed by a word character).
    fn keyword(&mut self, kw: &str) -> bool {
        let found = self.at_keyword(kw);
        if found {
            self.take(self.pos + kw.len());
        }
        found
    }

    fn punct(&mut self, p: u8) -> Option<()> {
        (self.peek() == Some(p)).then(|| self.take(self.pos + 1))
    }

    /// `name`: a letter, then letters, digits, `_` and `-`.
    fn name(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        if !self.peek()?.is_ascii_alphabetic() {
            return None;
        }
        let bytes = self.text.as_bytes();
        let mut end = start + 1;
        while bytes
            .get(end)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            end += 1;
        }
        let node = self.text.get(start..end)?.to_owned();
        self.take(end);
        Some(Spanned::new(node, Span::new(start, end)))
    }

    /// `string`, closed on its line; its text unescaped as `Walker::text`
    /// does it.
    fn string(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return None;
        }
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            match self.byte(i)? {
                b'"' => break,
                b'\\' => match self.byte(i + 1) {
                    Some(b'"' | b'\\') => {
                        escaped = true;
                        i += 2;
                    }
                    _ => return None,
                },
                b'\r' | b'\n' => return None,
                _ => i += 1,
            }
        }
        let inner = self.text.get(start + 1..i)?;
        let node = if escaped {
            inner.replace("\\\"", "\"").replace("\\\\", "\\")
        } else {
            inner.to_owned()
        };
        self.take(i + 1);
        Some(Spanned::new(node, Span::new(start, i + 1)))
    }

    /// `time`: `H:MM` or `HH:MM`, not followed by a digit.
    fn time(&mut self) -> Option<TimeAst> {
        let start = self.pos;
        let h = self.digits(start);
        if !(1..=2).contains(&h) || self.byte(start + h) != Some(b':') {
            return None;
        }
        if self.digits(start + h + 1) != 2 {
            return None;
        }
        let end = start + h + 3;
        let hour = self.text.get(start..start + h)?.parse().ok()?;
        let minute = self.text.get(start + h + 1..end)?.parse().ok()?;
        self.take(end);
        Some(TimeAst {
            hour,
            minute,
            span: Span::new(start, end),
        })
    }

    /// `time_range`: two times and a `-`, no spaces.
    fn time_range(&mut self) -> Option<TimeRangeAst> {
        let start = self.pos;
        let from = self.time()?;
        self.punct(b'-')?;
        let to = self.time()?;
        Some(TimeRangeAst {
            start: from,
            end: to,
            span: Span::new(start, self.last_end),
        })
    }

    /// An optional time range after days or dates: one is read only when a
    /// digit follows.
    fn optional_time_range(&mut self) -> Option<Option<TimeRangeAst>> {
        if self.skip_to(|b| b.is_ascii_digit()) {
            self.time_range().map(Some)
        } else {
            Some(None)
        }
    }

    /// `date`: `YYYY-M-D` with one or two digits for month and day, not
    /// followed by a digit. Moves only if it is one.
    fn date(&mut self) -> Option<DateAst> {
        let start = self.pos;
        if self.digits(start) != 4 || self.byte(start + 4) != Some(b'-') {
            return None;
        }
        let m = self.digits(start + 5);
        if !(1..=2).contains(&m) || self.byte(start + 5 + m) != Some(b'-') {
            return None;
        }
        let day_start = start + 6 + m;
        let d = self.digits(day_start);
        if !(1..=2).contains(&d) {
            return None;
        }
        let end = day_start + d;
        let year = self.text.get(start..start + 4)?.parse().ok()?;
        let month = self.text.get(start + 5..start + 5 + m)?.parse().ok()?;
        let day = self.text.get(day_start..end)?.parse().ok()?;
        self.take(end);
        Some(DateAst {
            year,
            month,
            day,
            span: Span::new(start, end),
        })
    }

    /// `month_day`: a month word and `day_of_month`.
    fn month_day(&mut self) -> Option<MonthDayAst> {
        let start = self.pos;
        let w = self.word();
        let month = month_word(w)?;
        self.take(start + w.len());
        self.skip();
        let at = self.pos;
        let n = self.digits(at);
        if !(1..=2).contains(&n) || self.byte(at + n).is_some_and(is_word) {
            return None;
        }
        let day = self.text.get(at..at + n)?.parse().ok()?;
        self.take(at + n);
        Some(MonthDayAst {
            month,
            day,
            span: Span::new(start, self.last_end),
        })
    }

    /// `date_spec`: a date or date range, a weekday of a month, or a yearly
    /// date or range, in the grammar's order.
    fn date_spec(&mut self) -> Option<Spanned<DateSpec>> {
        let start = self.pos;
        let spec = if let Some(from) = self.date() {
            let to = if self.skip_to(|b| b == b'.') {
                if self.byte(self.pos + 1) != Some(b'.') {
                    return None;
                }
                self.take(self.pos + 2);
                self.skip();
                Some(self.date()?)
            } else {
                None
            };
            DateSpec::Range { from, to }
        } else if ORDINALS.contains(&self.word()) {
            let ordinal = match self.word() {
                "last" => Ordinal::Last,
                s => Ordinal::Nth(s.as_bytes().first().map_or(1, |b| b - b'0')),
            };
            let w = self.word();
            self.take(self.pos + w.len());
            self.skip();
            let w = self.word();
            let weekday = day_word(w)?;
            self.take(self.pos + w.len());
            self.skip();
            let w = self.word();
            let month = month_word(w)?;
            self.take(self.pos + w.len());
            DateSpec::NthWeekday {
                ordinal,
                weekday,
                month,
            }
        } else {
            let from = self.month_day()?;
            let to = if self.skip_to(|b| b == b'.') {
                if self.byte(self.pos + 1) != Some(b'.') {
                    return None;
                }
                self.take(self.pos + 2);
                self.skip();
                Some(self.month_day()?)
            } else {
                None
            };
            DateSpec::Yearly { from, to }
        };
        Some(Spanned::new(spec, Span::new(start, self.last_end)))
    }

    /// `day_spec`: `weekdays`, `weekends`, `daily`, a day or a day range.
    fn day_spec(&mut self) -> Option<Spanned<DaySpec>> {
        let start = self.pos;
        let w = self.word();
        self.take(start + w.len());
        let spec = match w {
            "weekdays" => DaySpec::Weekdays,
            "weekends" => DaySpec::Weekends,
            "daily" => DaySpec::Daily,
            _ => {
                let from = day_word(w)?;
                if self.skip_to(|b| b == b'-') {
                    self.take(self.pos + 1);
                    self.skip();
                    let w = self.word();
                    let to = day_word(w)?;
                    self.take(self.pos + w.len());
                    DaySpec::Range(from, to)
                } else {
                    DaySpec::One(from)
                }
            }
        };
        Some(Spanned::new(spec, Span::new(start, self.last_end)))
    }

    /// Items separated by commas.
    fn comma_list<T>(&mut self, mut one: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut items = vec![one(self)?];
        while self.skip_to(|b| b == b',') {
            self.take(self.pos + 1);
            self.skip();
            items.push(one(self)?);
        }
        Some(items)
    }

    /// `clause`, after its verb (read from `start`).
    fn clause(&mut self, verb: Verb, start: usize) -> Option<Clause> {
        self.skip();
        let first = self.word();
        let when = if self.keyword("always") {
            When::Always
        } else if self.keyword("calendar") {
            self.skip();
            When::Calendar(self.name()?)
        } else if self.peek().is_some_and(|b| b.is_ascii_digit())
            || ORDINALS.contains(&first)
            || MONTHS.contains(&first)
        {
            let dates = self.comma_list(Self::date_spec)?;
            let time = self.optional_time_range()?;
            When::Dated { dates, time }
        } else {
            let days = self.comma_list(Self::day_spec)?;
            let time = self.optional_time_range()?;
            When::Weekly { days, time }
        };
        let label = if self.skip_to(|b| b == b'"') {
            Some(self.string()?)
        } else {
            None
        };
        Some(Clause {
            verb,
            when,
            cadence: None,
            label,
            span: Span::new(start, self.last_end),
        })
    }

    /// `timezone "ZONE"`, after the keyword.
    fn timezone(&mut self) -> Option<Spanned<String>> {
        self.skip();
        self.string()
    }

    /// `{`, then items read by `item` until `}`.
    fn block(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.skip();
        self.punct(b'{')?;
        loop {
            self.skip();
            if self.punct(b'}').is_some() {
                return Some(());
            }
            item(self)?;
        }
    }

    fn window(&mut self) -> Option<WindowDef> {
        let start = self.pos;
        if !self.keyword("window") {
            return None;
        }
        self.skip();
        let name = self.name()?;
        let mut timezones = Vec::new();
        let mut clauses = Vec::new();
        self.block(|c| {
            let at = c.pos;
            if c.keyword("timezone") {
                timezones.push(c.timezone()?);
            } else if c.keyword("open") {
                clauses.push(c.clause(Verb::Open, at)?);
            } else if c.keyword("closed") {
                clauses.push(c.clause(Verb::Closed, at)?);
            } else {
                return None;
            }
            Some(())
        })?;
        Some(WindowDef {
            name,
            timezones,
            clauses,
            span: Span::new(start, self.last_end),
        })
    }

    fn exception(&mut self) -> Option<ExceptionDef> {
        let start = self.pos;
        if !self.keyword("exception") {
            return None;
        }
        self.skip();
        let name = self.name()?;
        let description = if self.skip_to(|b| b == b'"') {
            Some(self.string()?)
        } else {
            None
        };
        let mut opens = Vec::new();
        let mut reason = Vec::new();
        let mut approvals = Vec::new();
        self.block(|c| {
            let at = c.pos;
            if c.keyword("opens") {
                c.skip();
                opens.push(c.name()?);
            } else if c.keyword("reason") {
                c.skip();
                let r = if c.keyword("required") {
                    ReasonAst::Required
                } else if c.keyword("optional") {
                    ReasonAst::Optional
                } else {
                    return None;
                };
                reason.push(Spanned::new(r, Span::new(at, c.last_end)));
            } else if c.keyword("approvals") {
                c.skip();
                let from = c.pos;
                let n = c.digits(from);
                if n == 0 {
                    return None;
                }
                let node = c.text.get(from..from + n)?.to_owned();
                c.take(from + n);
                approvals.push(Spanned::new(node, Span::new(from, from + n)));
            } else {
                return None;
            }
            Some(())
        })?;
        Some(ExceptionDef {
            name,
            description,
            opens,
            reason,
            approvals,
            span: Span::new(start, self.last_end),
        })
    }

    /// A product; `None` for one with a `policy` (left to the pest path).
    fn product(&mut self) -> Option<ProductDef> {
        let start = self.pos;
        if !self.keyword("product") {
            return None;
        }
        self.skip();
        let name = self.name()?;
        let mut timezones = Vec::new();
        let mut windows = Vec::new();
        let mut exceptions = Vec::new();
        self.block(|c| {
            if c.keyword("timezone") {
                timezones.push(c.timezone()?);
            } else if c.at_keyword("window") {
                windows.push(c.window()?);
            } else if c.at_keyword("exception") {
                exceptions.push(c.exception()?);
            } else {
                return None;
            }
            Some(())
        })?;
        Some(ProductDef {
            name,
            timezones,
            windows,
            exceptions,
            policies: Vec::new(),
            span: Span::new(start, self.last_end),
        })
    }

    fn test(&mut self) -> Option<TestDef> {
        let start = self.pos;
        if !self.keyword("test") {
            return None;
        }
        self.skip();
        let name = self.string()?;
        let mut expects = Vec::new();
        self.block(|c| {
            expects.push(c.expect()?);
            Some(())
        })?;
        Some(TestDef {
            name,
            expects,
            span: Span::new(start, self.last_end),
        })
    }

    /// `expect WINDOW open|closed at LOCAL_TIME [for PRODUCT]`.
    fn expect(&mut self) -> Option<Expect> {
        let start = self.pos;
        if !self.keyword("expect") {
            return None;
        }
        self.skip();
        let window = self.name()?;
        self.skip();
        let open = if self.keyword("open") {
            true
        } else if self.keyword("closed") {
            false
        } else {
            return None;
        };
        self.skip();
        if !self.keyword("at") {
            return None;
        }
        self.skip();
        let at = self.local_time()?;
        let product = if self.skip_to(|b| b == b'f') {
            if !self.keyword("for") {
                return None;
            }
            self.skip();
            Some(self.name()?)
        } else {
            None
        };
        Some(Expect {
            window,
            open,
            at,
            product,
            span: Span::new(start, self.last_end),
        })
    }

    /// `local_time`: a date, a time and an optional UTC offset.
    fn local_time(&mut self) -> Option<LocalTimeAst> {
        let start = self.pos;
        let date = self.date()?;
        self.skip();
        let time = self.time()?;
        let offset = if self.skip_to(|b| matches!(b, b'+' | b'-' | b'Z')) {
            let from = self.pos;
            let end = if self.peek() == Some(b'Z') {
                from + 1
            } else {
                let ok = self.digits(from + 1) >= 2
                    && self.byte(from + 3) == Some(b':')
                    && self.digits(from + 4) >= 2;
                if !ok {
                    return None;
                }
                from + 6
            };
            let written = self.text.get(from..end)?;
            self.take(end);
            Some(Spanned::new(parse_offset(written), Span::new(from, end)))
        } else {
            None
        };
        Some(LocalTimeAst {
            date,
            time,
            offset,
            span: Span::new(start, self.last_end),
        })
    }

    /// A top-level definition this module reads itself, or `None`.
    fn item(&mut self) -> Option<Item> {
        if self.keyword("timezone") {
            return self.timezone().map(Item::Timezone);
        }
        if self.at_keyword("window") {
            return self.window().map(Item::Window);
        }
        if self.at_keyword("exception") {
            return self.exception().map(Item::Exception);
        }
        if self.at_keyword("product") {
            return self.product().map(Item::Product);
        }
        if self.at_keyword("test") {
            return self.test().map(Item::Test);
        }
        None
    }
}

#[cfg(test)]
mod tests;
