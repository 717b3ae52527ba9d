//! From pest pairs to the typed AST in `ast.rs`.
//!
//! The walk never panics: a pair of an unexpected shape becomes an
//! `internal` diagnostic at its span rather than an `unwrap`.

use chrono::Weekday;
use pest::iterators::Pair;

use super::ast::*;
use super::diagnostic::Diagnostic;
use super::source::Source;
use super::syntax::{Rule, parse_source};

/// Parses one source into its AST, or every syntax error in it.
///
/// A file without mistakes is read by the shortcut in `fast.rs`; anything
/// else goes through the pest grammar and the walk below, which make every
/// diagnostic.
pub fn parse_file(source: &Source) -> Result<File, Vec<Diagnostic>> {
    match super::fast::parse(source) {
        Some(file) => Ok(file),
        None => parse_file_with_pest(source),
    }
}

/// [`parse_file`] without the shortcut: the pest grammar and the walk.
pub fn parse_file_with_pest(source: &Source) -> Result<File, Vec<Diagnostic>> {
    let (file, errors) = parse_partial(source);
    if errors.is_empty() {
        Ok(file)
    } else {
        Err(errors)
    }
}

/// Every definition that parsed, and every syntax error: after an error,
/// the definitions before and after the one holding it are still read, so
/// their own problems can be reported with it.
pub fn parse_partial(source: &Source) -> (File, Vec<Diagnostic>) {
    if let Some(file) = super::fast::parse(source) {
        return (file, Vec::new());
    }
    let (parts, mut errors) = parse_source(source);
    let mut walker = Walker {
        source,
        offset: 0,
        errors: Vec::new(),
    };
    let mut file = File::default();
    for (offset, pairs) in parts {
        walker.offset = offset;
        for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::file) {
            for item in pair.into_inner() {
                if let Some(item) = walker.item(item) {
                    file.items.push(item);
                }
            }
        }
    }
    errors.extend(walker.errors);
    errors.sort_by_key(|d| d.location.as_ref().map(|l| l.span.start));
    (file, errors)
}

pub(super) type P<'i> = Pair<'i, Rule>;

pub(super) struct Walker<'s> {
    pub(super) source: &'s Source,
    pub(super) offset: usize,
    pub(super) errors: Vec<Diagnostic>,
}

/// Marks a failed walk step; the diagnostic is already recorded.
pub(super) struct Failed;

pub(super) type R<T> = Result<T, Failed>;

impl Walker<'_> {
    /// The span of a pair without the spaces and comments pest lets a rule
    /// swallow after its last token (`local_time = { date ~ time ~
    /// utc_offset? }` otherwise ends after the comment and line break that
    /// follow it), so labels underline what was written and messages quote
    /// it exactly.
    pub(super) fn span(&self, p: &P<'_>) -> Span {
        let s = p.as_span();
        Span::new(s.start() + self.offset, trimmed_end(p) + self.offset)
    }

    pub(super) fn error(
        &mut self,
        span: Span,
        code: &'static str,
        msg: String,
        label: &str,
    ) -> Failed {
        self.errors.push(Diagnostic::error(code, msg).in_file(
            &self.source.name,
            self.source.text.clone(),
            span,
            label,
        ));
        Failed
    }

    pub(super) fn unexpected(&mut self, p: &P<'_>) -> Failed {
        let span = self.span(p);
        self.error(
            span,
            "internal",
            format!(
                "internal error: unexpected {:?} in the parse tree",
                p.as_rule()
            ),
            "here",
        )
    }

    pub(super) fn item(&mut self, p: P<'_>) -> Option<Item> {
        let r = match p.as_rule() {
            Rule::timezone => self.timezone(p).map(Item::Timezone),
            Rule::calendar_def => self.calendar_def(p).map(Item::Calendar),
            Rule::window => self.window(p).map(Item::Window),
            Rule::exception => self.exception(p).map(Item::Exception),
            Rule::product => self.product(p).map(Item::Product),
            Rule::test => self.test(p).map(Item::Test),
            Rule::policy => self.policy(p).map(Item::Policy),
            Rule::EOI => return None,
            _ => Err(self.unexpected(&p)),
        };
        r.ok()
    }

    pub(super) fn spanned_str(&self, p: &P<'_>) -> Spanned<String> {
        Spanned::new(p.as_str().to_owned(), self.span(p))
    }

    /// A quoted text: its contents, unescaped, spanning the quotes.
    pub(super) fn text(&mut self, p: P<'_>) -> R<Spanned<String>> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::string => {
                let inner = p.into_inner().next().map(|i| i.as_str()).unwrap_or("");
                Ok(Spanned::new(
                    inner.replace("\\\"", "\"").replace("\\\\", "\\"),
                    span,
                ))
            }
            Rule::unclosed_string => {
                if let Some(at) = super::syntax::bad_escape(&self.source.text, span.start) {
                    self.errors
                        .push(super::syntax::bad_escape_error(self.source, at));
                    return Err(Failed);
                }
                let failed = self.error(
                    span,
                    "unclosed-string",
                    "this quoted text is never closed".to_owned(),
                    "opened here",
                );
                if let Some(last) = self.errors.last_mut() {
                    last.help = Some("close it with `\"` on the same line".to_owned());
                }
                Err(failed)
            }
            _ => Err(self.unexpected(&p)),
        }
    }

    pub(super) fn timezone(&mut self, p: P<'_>) -> R<Spanned<String>> {
        let mut inner = p.into_inner();
        let _kw = inner.next();
        match inner.next() {
            Some(t) => self.text(t),
            None => Err(Failed),
        }
    }

    fn window(&mut self, p: P<'_>) -> R<WindowDef> {
        let span = self.span(&p);
        let mut name = None;
        let mut timezones = Vec::new();
        let mut clauses = Vec::new();
        let mut failed = false;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_window | Rule::lbrace | Rule::rbrace => {}
                Rule::name => name = Some(self.spanned_str(&c)),
                Rule::timezone => match self.timezone(c) {
                    Ok(tz) => timezones.push(tz),
                    Err(Failed) => failed = true,
                },
                Rule::clause => match self.clause(c) {
                    Ok(cl) => clauses.push(cl),
                    Err(Failed) => failed = true,
                },
                _ => return Err(self.unexpected(&c)),
            }
        }
        let name = name.ok_or(Failed)?;
        if failed {
            return Err(Failed);
        }
        Ok(WindowDef {
            name,
            timezones,
            clauses,
            span,
        })
    }

    fn clause(&mut self, p: P<'_>) -> R<Clause> {
        let span = self.span(&p);
        let mut verb = Verb::Open;
        let mut when = None;
        let mut label = None;
        let mut cadence = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::calendar_ref => {
                    let name = c
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::name)
                        .ok_or(Failed)?;
                    when = Some(When::Calendar(self.spanned_str(&name)));
                }
                Rule::cadence => cadence = Some(self.cadence(c)?),
                Rule::verb => {
                    verb = match c.into_inner().next().map(|k| k.as_rule()) {
                        Some(Rule::kw_closed) => Verb::Closed,
                        _ => Verb::Open,
                    }
                }
                Rule::kw_always => when = Some(When::Always),
                Rule::weekly => when = Some(self.weekly(c)?),
                Rule::dated => when = Some(self.dated(c)?),
                Rule::string | Rule::unclosed_string => label = Some(self.text(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(Clause {
            verb,
            when: when.ok_or(Failed)?,
            cadence,
            label,
            span,
        })
    }

    fn weekly(&mut self, p: P<'_>) -> R<When> {
        let mut days = Vec::new();
        let mut time = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::day_set => days = self.day_set(c)?,
                Rule::time_range => time = Some(self.time_range(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(When::Weekly { days, time })
    }

    pub(super) fn day_set(&mut self, p: P<'_>) -> R<Vec<Spanned<DaySpec>>> {
        let mut days = Vec::new();
        for d in p.into_inner() {
            let span = self.span(&d);
            match d.as_rule() {
                Rule::comma => {}
                Rule::day_group => {
                    let spec = match d.as_str() {
                        s if s.starts_with("weekdays") => DaySpec::Weekdays,
                        s if s.starts_with("weekends") => DaySpec::Weekends,
                        _ => DaySpec::Daily,
                    };
                    days.push(Spanned::new(spec, span));
                }
                Rule::day_range => {
                    let ds: Vec<Weekday> = d
                        .into_inner()
                        .filter(|x| x.as_rule() == Rule::day)
                        .filter_map(|x| weekday(x.as_str()))
                        .collect();
                    let spec = match ds.as_slice() {
                        [one] => DaySpec::One(*one),
                        [a, b] => DaySpec::Range(*a, *b),
                        _ => {
                            return Err(self.error(
                                span,
                                "internal",
                                "internal error: bad day range".into(),
                                "here",
                            ));
                        }
                    };
                    days.push(Spanned::new(spec, span));
                }
                _ => return Err(self.unexpected(&d)),
            }
        }
        Ok(days)
    }

    pub(super) fn dated(&mut self, p: P<'_>) -> R<When> {
        let mut dates = Vec::new();
        let mut time = None;
        for c in p.into_inner() {
            let span = self.span(&c);
            match c.as_rule() {
                Rule::comma => {}
                Rule::date_range => {
                    let ds: Vec<DateAst> = c
                        .into_inner()
                        .filter(|x| x.as_rule() == Rule::date)
                        .map(|x| self.date(&x))
                        .collect::<R<_>>()?;
                    let spec = match ds.as_slice() {
                        [from] => DateSpec::Range {
                            from: *from,
                            to: None,
                        },
                        [from, to] => DateSpec::Range {
                            from: *from,
                            to: Some(*to),
                        },
                        _ => {
                            return Err(self.error(
                                span,
                                "internal",
                                "internal error: bad date range".into(),
                                "here",
                            ));
                        }
                    };
                    dates.push(Spanned::new(spec, span));
                }
                Rule::yearly_range => dates.push(Spanned::new(self.yearly_range(c)?, span)),
                Rule::month_range => dates.push(Spanned::new(self.month_range(c)?, span)),
                Rule::monthly => dates.push(Spanned::new(self.monthly(c)?, span)),
                Rule::time_range => time = Some(self.time_range(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(When::Dated { dates, time })
    }

    pub(super) fn number(&mut self, p: &P<'_>) -> R<u32> {
        let span = self.span(p);
        p.as_str().parse().map_err(|_| {
            self.error(
                span,
                "bad-number",
                format!("`{}` is too large", p.as_str()),
                "here",
            )
        })
    }

    pub(super) fn date(&mut self, p: &P<'_>) -> R<DateAst> {
        let span = self.span(p);
        let mut it = p.as_str().split('-');
        let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
            return Err(self.error(span, "internal", "internal error: bad date".into(), "here"));
        };
        match (y.parse(), m.parse(), d.parse()) {
            (Ok(year), Ok(month), Ok(day)) => Ok(DateAst {
                year,
                month,
                day,
                span,
            }),
            _ => Err(self.error(
                span,
                "bad-date",
                format!("`{}` is not a date", p.as_str()),
                "here",
            )),
        }
    }

    pub(super) fn month_day(&mut self, p: P<'_>) -> R<MonthDayAst> {
        let span = self.span(&p);
        let mut month_no = None;
        let mut day = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::month => month_no = month(x.as_str()),
                Rule::day_of_month => day = Some(self.number(&x)?),
                _ => return Err(self.unexpected(&x)),
            }
        }
        match (month_no, day) {
            (Some(month), Some(day)) => Ok(MonthDayAst { month, day, span }),
            _ => Err(self.error(
                span,
                "internal",
                "internal error: bad month day".into(),
                "here",
            )),
        }
    }

    pub(super) fn time(&mut self, p: &P<'_>) -> R<TimeAst> {
        let span = self.span(p);
        let (h, m) = p.as_str().split_once(':').unwrap_or(("", ""));
        match (h.parse(), m.parse()) {
            (Ok(hour), Ok(minute)) => Ok(TimeAst { hour, minute, span }),
            _ => Err(self.error(
                span,
                "bad-time",
                format!("`{}` is not a time", p.as_str()),
                "here",
            )),
        }
    }

    pub(super) fn time_range(&mut self, p: P<'_>) -> R<TimeRangeAst> {
        let span = self.span(&p);
        let times: Vec<TimeAst> = p
            .into_inner()
            .filter(|x| x.as_rule() == Rule::time)
            .map(|x| self.time(&x))
            .collect::<R<_>>()?;
        match times.as_slice() {
            [start, end] => Ok(TimeRangeAst {
                start: *start,
                end: *end,
                span,
            }),
            _ => Err(self.error(
                span,
                "internal",
                "internal error: bad time range".into(),
                "here",
            )),
        }
    }

    fn exception(&mut self, p: P<'_>) -> R<ExceptionDef> {
        let span = self.span(&p);
        let mut def = ExceptionDef {
            name: Spanned::new(String::new(), span),
            description: None,
            opens: Vec::new(),
            reason: Vec::new(),
            approvals: Vec::new(),
            span,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_exception | Rule::lbrace | Rule::rbrace => {}
                Rule::name => def.name = self.spanned_str(&c),
                Rule::string | Rule::unclosed_string => def.description = Some(self.text(c)?),
                Rule::opens => {
                    if let Some(n) = c.into_inner().find(|x| x.as_rule() == Rule::name) {
                        def.opens.push(self.spanned_str(&n));
                    }
                }
                Rule::reason => {
                    let s = self.span(&c);
                    let required = c.into_inner().any(|x| x.as_rule() == Rule::kw_required);
                    let r = if required {
                        ReasonAst::Required
                    } else {
                        ReasonAst::Optional
                    };
                    def.reason.push(Spanned::new(r, s));
                }
                Rule::approvals => {
                    if let Some(n) = c.into_inner().find(|x| x.as_rule() == Rule::number) {
                        def.approvals.push(self.spanned_str(&n));
                    }
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(def)
    }

    fn product(&mut self, p: P<'_>) -> R<ProductDef> {
        let span = self.span(&p);
        let mut def = ProductDef {
            name: Spanned::new(String::new(), span),
            timezones: Vec::new(),
            windows: Vec::new(),
            exceptions: Vec::new(),
            policies: Vec::new(),
            span,
        };
        let mut failed = false;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_product | Rule::lbrace | Rule::rbrace => {}
                Rule::name => def.name = self.spanned_str(&c),
                Rule::timezone => match self.timezone(c) {
                    Ok(t) => def.timezones.push(t),
                    Err(Failed) => failed = true,
                },
                Rule::window => match self.window(c) {
                    Ok(w) => def.windows.push(w),
                    Err(Failed) => failed = true,
                },
                Rule::exception => match self.exception(c) {
                    Ok(e) => def.exceptions.push(e),
                    Err(Failed) => failed = true,
                },
                Rule::policy => match self.policy(c) {
                    Ok(x) => def.policies.push(x),
                    Err(Failed) => failed = true,
                },
                _ => return Err(self.unexpected(&c)),
            }
        }
        if failed { Err(Failed) } else { Ok(def) }
    }

    fn test(&mut self, p: P<'_>) -> R<TestDef> {
        let span = self.span(&p);
        let mut name = None;
        let mut expects = Vec::new();
        let mut failed = false;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_test | Rule::lbrace | Rule::rbrace => {}
                Rule::string | Rule::unclosed_string => name = Some(self.text(c)?),
                Rule::expect => match self.expect(c) {
                    Ok(e) => expects.push(e),
                    Err(Failed) => failed = true,
                },
                _ => return Err(self.unexpected(&c)),
            }
        }
        if failed {
            return Err(Failed);
        }
        Ok(TestDef {
            name: name.ok_or(Failed)?,
            expects,
            span,
        })
    }

    fn expect(&mut self, p: P<'_>) -> R<Expect> {
        let span = self.span(&p);
        let mut window = None;
        let mut open = true;
        let mut at = None;
        let mut product = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_expect | Rule::kw_at => {}
                Rule::name => window = Some(self.spanned_str(&c)),
                Rule::state => open = c.into_inner().any(|x| x.as_rule() == Rule::kw_open),
                Rule::local_time => at = Some(self.local_time(c)?),
                Rule::for_product => {
                    if let Some(n) = c.into_inner().find(|x| x.as_rule() == Rule::name) {
                        product = Some(self.spanned_str(&n));
                    }
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        match (window, at) {
            (Some(window), Some(at)) => Ok(Expect {
                window,
                open,
                at,
                product,
                span,
            }),
            _ => Err(self.error(
                span,
                "internal",
                "internal error: bad expect".into(),
                "here",
            )),
        }
    }

    fn local_time(&mut self, p: P<'_>) -> R<LocalTimeAst> {
        let span = self.span(&p);
        let mut date = None;
        let mut time = None;
        let mut offset = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::date => date = Some(self.date(&x)?),
                Rule::time => time = Some(self.time(&x)?),
                Rule::utc_offset => {
                    offset = Some(Spanned::new(parse_offset(x.as_str()), self.span(&x)))
                }
                _ => return Err(self.unexpected(&x)),
            }
        }
        match (date, time) {
            (Some(date), Some(time)) => Ok(LocalTimeAst {
                date,
                time,
                offset,
                span,
            }),
            _ => Err(self.error(
                span,
                "internal",
                "internal error: bad local time".into(),
                "here",
            )),
        }
    }
}

/// Where a pair's text really ends: at the end of its last inner pair when
/// only spaces and comments follow it inside the pair (implicit whitespace
/// after a trailing optional or repeated part), else at the pair's end (an
/// atomic rule, or a closing literal like a string's quote).
fn trimmed_end(p: &P<'_>) -> usize {
    let end = p.as_span().end();
    let Some(last) = p.clone().into_inner().last() else {
        return end;
    };
    let inner_end = trimmed_end(&last);
    let gap = p.get_input().get(inner_end..end).unwrap_or("");
    if is_trivia(gap) { inner_end } else { end }
}

/// Whether `s` is only whitespace and `#` comments.
fn is_trivia(s: &str) -> bool {
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if rest.is_empty() {
            return true;
        }
        if !rest.starts_with('#') {
            return false;
        }
        rest = rest.find(['\r', '\n']).map_or("", |i| &rest[i..]);
    }
}

/// `-05:00` as seconds east of UTC; `Z` is 0. The grammar guarantees the shape.
pub fn parse_offset(s: &str) -> i32 {
    if s == "Z" {
        return 0;
    }
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits = s.get(1..).unwrap_or("");
    let (h, m) = digits.split_once(':').unwrap_or(("0", "0"));
    let h: i32 = h.parse().unwrap_or(0);
    let m: i32 = m.parse().unwrap_or(0);
    sign * (h * 3600 + m * 60)
}

pub fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.get(..3)? {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

pub fn month(s: &str) -> Option<u32> {
    Some(match s.get(..3)? {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    })
}
