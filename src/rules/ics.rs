//! iCalendar files for `calendar NAME from "holidays.ics"`.
//!
//! The `icalendar` crate reads the file (line unfolding, components,
//! properties and their parameters); the `rrule` crate expands `RRULE`,
//! `RDATE` and `EXDATE`. This module only picks the events out, resolves
//! their time zones, bounds the expansion to [`HORIZON_FROM_YEAR`] ..=
//! [`HORIZON_TO_YEAR`], and keeps the place of every property in the file
//! so a problem is reported at its line.
//!
//! Pure: the file's text comes in, the events go out.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::ast::Span;

/// Occurrences are expanded from the start of this year...
pub const HORIZON_FROM_YEAR: i32 = 2000;
/// ...to the end of this one: an `RRULE` without `COUNT` or `UNTIL` stops
/// here, and so does what a calendar file can say.
pub const HORIZON_TO_YEAR: i32 = 2100;
/// The most occurrences one file may expand to within the horizon (a daily
/// event for the whole horizon is some 37,000).
pub const MAX_OCCURRENCES: usize = 200_000;

/// One event of the file with every occurrence in the horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `SUMMARY`, or `(no summary)`.
    pub summary: String,
    /// Where the event is written: its `SUMMARY` line, else `BEGIN:VEVENT`.
    pub span: Span,
    /// Start (inclusive) and end (exclusive) of each occurrence, sorted.
    pub occurrences: Vec<(When, When)>,
}

/// An instant of an event: a local time in whatever zone the rules put it
/// in (all-day events and times without a zone), or an exact instant
/// (`...Z` times and times with a `TZID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum When {
    Floating(NaiveDateTime),
    Instant(DateTime<Utc>),
}

impl When {
    /// Wall-clock time in `tz`.
    pub fn local(self, tz: Tz) -> NaiveDateTime {
        match self {
            When::Floating(t) => t,
            When::Instant(t) => t.with_timezone(&tz).naive_local(),
        }
    }
}

/// A problem in the file, at a place in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub span: Span,
    pub message: String,
    pub label: &'static str,
    pub help: String,
}

/// One content line after unfolding, and where it starts in the file.
struct Line {
    text: String,
    /// The first physical line of it, without its line ending.
    span: Span,
}

/// Unfolds the text (a line starting with a space or tab continues the one
/// before), keeping each logical line's place.
fn lines(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut at = 0;
    for raw in text.split_inclusive('\n') {
        let start = at;
        at += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        match (body.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some(last)) => last.text.push_str(rest),
            _ => {
                if body.trim().is_empty() {
                    continue;
                }
                out.push(Line {
                    text: body.to_owned(),
                    span: Span::new(start, start + body.len()),
                });
            }
        }
    }
    out
}

fn problem(span: Span, message: String, label: &'static str, help: &str) -> Problem {
    Problem {
        span,
        message,
        label,
        help: help.to_owned(),
    }
}

/// The property name of a content line, upper-cased.
fn line_name(l: &str) -> String {
    l.split([';', ':'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase()
}

/// Places of the properties of each `VEVENT`, in file order: the event's
/// `BEGIN` line and each of its own property lines (not those of a nested
/// `VALARM`), in the order the parser lists them.
struct Places {
    begin: Span,
    props: Vec<Span>,
}

fn event_places(ls: &[Line]) -> Vec<Places> {
    let mut out = Vec::new();
    let mut depth_in_event: Option<usize> = None;
    for l in ls {
        let name = line_name(&l.text);
        let value = l
            .text
            .split_once(':')
            .map(|(_, v)| v.trim().to_ascii_uppercase());
        match (name.as_str(), depth_in_event) {
            ("BEGIN", None) if value.as_deref() == Some("VEVENT") => {
                out.push(Places {
                    begin: l.span,
                    props: Vec::new(),
                });
                depth_in_event = Some(0);
            }
            ("BEGIN", Some(d)) => depth_in_event = Some(d + 1),
            ("END", Some(0)) => depth_in_event = None,
            ("END", Some(d)) => depth_in_event = Some(d - 1),
            (_, Some(0)) => {
                if let Some(p) = out.last_mut() {
                    p.props.push(l.span);
                }
            }
            _ => {}
        }
    }
    out
}

/// The first line that is not `NAME[;PARAM=...]:VALUE`, for a parser error
/// that names no line we can map back.
fn first_bad_line(ls: &[Line]) -> Option<&Line> {
    ls.iter().find(|l| {
        let name = l.text.split([';', ':']).next().unwrap_or("");
        !l.text.contains(':')
            || name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// The line number in an `icalendar` parser error (`at line 5:`).
fn parser_line(e: &str) -> Option<usize> {
    let at = e.find("at line ")? + "at line ".len();
    let digits: String = e[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Reads every event of an iCalendar file and expands it over the horizon.
pub fn read(text: &str) -> Result<Vec<Event>, Problem> {
    let ls = lines(text);
    let whole = Span::new(0, text.find('\n').unwrap_or(text.len()));
    let first = ls.first().map_or(whole, |l| l.span);
    if !ls
        .first()
        .is_some_and(|l| l.text.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(problem(
            first,
            "this is not an iCalendar file: it does not start with `BEGIN:VCALENDAR`".into(),
            "expected `BEGIN:VCALENDAR`",
            "export the calendar as an `.ics` file (RFC 5545)",
        ));
    }
    // Unfolded once, line by line, so a parser error's line is ours too.
    let unfolded: String = ls.iter().map(|l| format!("{}\r\n", l.text)).collect();
    let parsed = match icalendar::parser::read_calendar(&unfolded) {
        Ok(p) => p,
        Err(e) => {
            // A line that is no content line at all is the likely cause;
            // else the line the parser names (of the unfolded text, which
            // is ours), usually the start of the component it gave up on.
            let (span, msg) = match first_bad_line(&ls) {
                Some(l) => (
                    l.span,
                    format!(
                        "`{}` is not an iCalendar content line",
                        text.get(l.span.start..l.span.end).unwrap_or("")
                    ),
                ),
                None => (
                    parser_line(&e)
                        .and_then(|n| ls.get(n.checked_sub(1)?))
                        .map_or(first, |l| l.span),
                    e.lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("")
                        .trim()
                        .to_owned(),
                ),
            };
            return Err(problem(
                span,
                format!("the calendar file cannot be read: {msg}"),
                "not an iCalendar content line",
                "each line is `NAME:VALUE` or `NAME;PARAM=X:VALUE`; \
                 a line starting with a space continues the one before",
            ));
        }
    };
    let mut vevents = Vec::new();
    let mut zones = Vec::new();
    collect(&parsed.components, &mut vevents, &mut zones);
    // Occurrences moved or changed by a `RECURRENCE-ID` event: the series
    // with that `UID` skips them (the override is an event of its own).
    let mut moved: Vec<(String, Stamp)> = Vec::new();
    for ev in &vevents {
        let uid = prop(ev, "UID").map(|p| p.val.as_str().trim().to_owned());
        if let (Some(uid), Some(p)) = (uid, prop(ev, "RECURRENCE-ID"))
            && let Ok(s) = stamp(p.val.as_str(), p, &zones, first)
        {
            moved.push((uid, s));
        }
    }
    let places = event_places(&ls);
    let mut out = Vec::with_capacity(vevents.len());
    let mut total = 0usize;
    for (i, ev) in vevents.iter().enumerate() {
        let place = places.get(i);
        let at = |j: usize| {
            place
                .and_then(|p| p.props.get(j).copied())
                .or(place.map(|p| p.begin))
                .unwrap_or(first)
        };
        let begin = place.map_or(first, |p| p.begin);
        let skipped: Vec<Stamp> = match (prop(ev, "UID"), prop(ev, "RECURRENCE-ID")) {
            (Some(uid), None) => moved
                .iter()
                .filter(|(u, _)| u == uid.val.as_str().trim())
                .map(|(_, s)| *s)
                .collect(),
            _ => Vec::new(),
        };
        if let Some(e) = event(ev, &zones, begin, at, &skipped)? {
            total += e.occurrences.len();
            if total > MAX_OCCURRENCES {
                return Err(problem(
                    e.span,
                    format!(
                        "the calendar file expands to more than {MAX_OCCURRENCES} occurrences \
                         between {HORIZON_FROM_YEAR} and {HORIZON_TO_YEAR}"
                    ),
                    "the limit is reached here",
                    "give the repeating events a `COUNT` or an `UNTIL`",
                ));
            }
            out.push(e);
        }
    }
    Ok(out)
}

type Component<'a> = icalendar::parser::Component<'a>;
type Property<'a> = icalendar::parser::Property<'a>;

/// Every `VEVENT` and `VTIMEZONE`, wherever nested.
fn collect<'c, 'a>(
    cs: &'c [Component<'a>],
    events: &mut Vec<&'c Component<'a>>,
    zones: &mut Vec<&'c Component<'a>>,
) {
    for c in cs {
        let name = c.name.as_str().to_ascii_uppercase();
        match name.as_str() {
            "VEVENT" => events.push(c),
            "VTIMEZONE" => zones.push(c),
            _ => collect(&c.components, events, zones),
        }
    }
}

fn prop<'c, 'a>(c: &'c Component<'a>, name: &str) -> Option<&'c Property<'a>> {
    c.properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'p>(p: &'p Property<'_>, key: &str) -> Option<&'p str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// A start, end or excluded date as written, in its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    Date(NaiveDate),
    Floating(NaiveDateTime),
    Utc(NaiveDateTime),
    Zoned(NaiveDateTime, Tz),
}

impl Stamp {
    fn naive(self) -> NaiveDateTime {
        match self {
            Stamp::Date(d) => d.and_time(NaiveTime::MIN),
            Stamp::Floating(t) | Stamp::Utc(t) | Stamp::Zoned(t, _) => t,
        }
    }

    /// The time zone `rrule` expands in: the event's own, or UTC for
    /// dates and floating times (whose wall-clock time is kept as is).
    fn rrule_tz(self) -> rrule::Tz {
        match self {
            Stamp::Zoned(_, tz) => rrule::Tz::Tz(tz),
            Stamp::Date(_) | Stamp::Floating(_) | Stamp::Utc(_) => rrule::Tz::UTC,
        }
    }

    /// A wall-clock time of this stamp's frame as an event instant.
    fn when(self, t: NaiveDateTime) -> When {
        match self {
            Stamp::Date(_) | Stamp::Floating(_) => When::Floating(t),
            Stamp::Utc(_) => When::Instant(t.and_utc()),
            Stamp::Zoned(_, tz) => When::Instant(zoned(tz, t)),
        }
    }
}

/// A wall-clock time in `tz`; in a gap (a skipped hour), the instant the
/// clock jumps past it.
fn zoned(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = t;
    for _ in 0..4 {
        if let Some(x) = tz.from_local_datetime(&probe).earliest() {
            return x.with_timezone(&Utc);
        }
        probe += TimeDelta::minutes(30);
    }
    t.and_utc()
}

/// The IANA zone a `TZID` names: the name itself, the `X-LIC-LOCATION` of
/// its `VTIMEZONE`, or the `Area/City` at the end of a path-like id
/// (`/mozilla.org/20050126_1/Europe/Berlin`).
fn resolve_tz(tzid: &str, zones: &[&Component<'_>]) -> Option<Tz> {
    if let Ok(tz) = tzid.parse::<Tz>() {
        return Some(tz);
    }
    for z in zones {
        let own = z
            .properties
            .iter()
            .any(|p| p.name.as_str().eq_ignore_ascii_case("TZID") && p.val.as_str() == tzid);
        if !own {
            continue;
        }
        for p in &z.properties {
            if p.name.as_str().eq_ignore_ascii_case("X-LIC-LOCATION")
                && let Ok(tz) = p.val.as_str().trim().parse::<Tz>()
            {
                return Some(tz);
            }
        }
    }
    let parts: Vec<&str> = tzid.split('/').filter(|s| !s.is_empty()).collect();
    for n in (2..=3).rev() {
        if parts.len() >= n
            && let Ok(tz) = parts[parts.len() - n..].join("/").parse::<Tz>()
        {
            return Some(tz);
        }
    }
    None
}

/// One `DATE` or `DATE-TIME` value of a property.
fn stamp(
    value: &str,
    p: &Property<'_>,
    zones: &[&Component<'_>],
    span: Span,
) -> Result<Stamp, Problem> {
    let v = value.trim();
    let bad = || {
        problem(
            span,
            format!("`{v}` is not an iCalendar date or date-time"),
            "bad date",
            "write `20261224` for a day, `20261224T090000` for a time, with `Z` for UTC",
        )
    };
    let date_only = param(p, "VALUE").is_some_and(|x| x.eq_ignore_ascii_case("DATE"))
        || (v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()));
    // Exactly the digits RFC 5545 writes: chrono alone would take `2026011`.
    let shaped = |x: &str, n: usize| {
        x.len() == n
            && x.bytes().enumerate().all(|(i, b)| {
                if i == 8 {
                    b == b'T' || b == b't'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    if date_only {
        if !shaped(v, 8) {
            return Err(bad());
        }
        return NaiveDate::parse_from_str(v, "%Y%m%d")
            .map(Stamp::Date)
            .map_err(|_| bad());
    }
    let (body, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(b) => (b, true),
        None => (v, false),
    };
    if !shaped(body, 15) {
        return Err(bad());
    }
    let t = NaiveDateTime::parse_from_str(&body.to_ascii_uppercase(), "%Y%m%dT%H%M%S")
        .map_err(|_| bad())?;
    if utc {
        return Ok(Stamp::Utc(t));
    }
    match param(p, "TZID") {
        None => Ok(Stamp::Floating(t)),
        Some(id) => match resolve_tz(id, zones) {
            Some(tz) => Ok(Stamp::Zoned(t, tz)),
            None => Err(problem(
                span,
                format!("unknown time zone `{id}`"),
                "not an IANA time zone",
                "use an IANA name such as `Europe/Berlin` as `TZID`, or give its \
                 `VTIMEZONE` an `X-LIC-LOCATION`; the zone's rules come from the IANA \
                 database, not from the `VTIMEZONE`",
            )),
        },
    }
}

/// `DURATION` (`P1D`, `PT1H30M`, `P2W`, `-PT15M`).
fn duration(v: &str) -> Option<TimeDelta> {
    let v = v.trim();
    let (neg, v) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let v = v.strip_prefix(['P', 'p'])?;
    let mut total = TimeDelta::zero();
    let mut num = String::new();
    let mut in_time = false;
    let mut any = false;
    for ch in v.chars() {
        match ch.to_ascii_uppercase() {
            'T' => in_time = true,
            c if c.is_ascii_digit() => num.push(c),
            unit => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                any = true;
                total += match (unit, in_time) {
                    ('W', false) => TimeDelta::try_weeks(n)?,
                    ('D', false) => TimeDelta::try_days(n)?,
                    ('H', true) => TimeDelta::try_hours(n)?,
                    ('M', true) => TimeDelta::try_minutes(n)?,
                    ('S', true) => TimeDelta::try_seconds(n)?,
                    _ => return None,
                };
            }
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(if neg { -total } else { total })
}

/// `UNTIL` in the form `rrule` wants: UTC, given the start's frame.
fn until_in_utc(rule: &str, start: Stamp) -> String {
    rule.split(';')
        .map(|part| {
            let Some((k, v)) = part.split_once('=') else {
                return part.to_owned();
            };
            if !k.trim().eq_ignore_ascii_case("UNTIL") {
                return part.to_owned();
            }
            let v = v.trim();
            let local = if v.len() == 8 {
                NaiveDate::parse_from_str(v, "%Y%m%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(23, 59, 59))
            } else {
                NaiveDateTime::parse_from_str(v.trim_end_matches(['Z', 'z']), "%Y%m%dT%H%M%S").ok()
            };
            let Some(local) = local else {
                return part.to_owned();
            };
            let utc = if v.ends_with(['Z', 'z']) {
                local.and_utc()
            } else {
                match start {
                    Stamp::Zoned(_, tz) => zoned(tz, local),
                    Stamp::Date(_) | Stamp::Floating(_) | Stamp::Utc(_) => local.and_utc(),
                }
            };
            let utc = match start {
                // Dates and floating times are expanded as if in UTC: an
                // `UNTIL` in UTC means the same wall-clock time.
                Stamp::Date(_) | Stamp::Floating(_) if v.ends_with(['Z', 'z']) => local.and_utc(),
                _ => utc,
            };
            format!("{k}={}", utc.format("%Y%m%dT%H%M%SZ"))
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn horizon() -> (NaiveDateTime, NaiveDateTime) {
    let from = NaiveDate::from_ymd_opt(HORIZON_FROM_YEAR, 1, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(HORIZON_TO_YEAR + 1, 1, 1).unwrap_or_default();
    (from.and_time(NaiveTime::MIN), to.and_time(NaiveTime::MIN))
}

/// One `VEVENT`; `None` for a cancelled one.
fn event(
    ev: &Component<'_>,
    zones: &[&Component<'_>],
    begin: Span,
    at: impl Fn(usize) -> Span,
    skipped: &[Stamp],
) -> Result<Option<Event>, Problem> {
    let mut summary = None;
    let mut start = None;
    let mut end = None;
    let mut length = None;
    let mut rules = Vec::new();
    let mut exdates = Vec::new();
    let mut rdates = Vec::new();
    for (j, p) in ev.properties.iter().enumerate() {
        let span = at(j);
        let name = p.name.as_str().to_ascii_uppercase();
        let val = p.val.as_str();
        match name.as_str() {
            "SUMMARY" => summary = Some((unescape(val), span)),
            "DTSTART" => start = Some(stamp(val, p, zones, span)?),
            "DTEND" => end = Some(stamp(val, p, zones, span)?),
            "DURATION" => {
                length = Some(duration(val).ok_or_else(|| {
                    problem(
                        span,
                        format!("`{}` is not an iCalendar duration", val.trim()),
                        "bad duration",
                        "write a duration like `P1D`, `PT1H30M` or `P1W`",
                    )
                })?);
            }
            "RRULE" => rules.push((val.to_owned(), span)),
            "EXDATE" => {
                for v in val.split(',') {
                    exdates.push(stamp(v, p, zones, span)?);
                }
            }
            "RDATE" => {
                if param(p, "VALUE").is_some_and(|x| x.eq_ignore_ascii_case("PERIOD")) {
                    return Err(problem(
                        span,
                        "`RDATE` periods are not supported".into(),
                        "a period",
                        "list the extra dates or date-times without an end",
                    ));
                }
                for v in val.split(',') {
                    rdates.push(stamp(v, p, zones, span)?);
                }
            }
            "STATUS" if val.trim().eq_ignore_ascii_case("CANCELLED") => return Ok(None),
            _ => {}
        }
    }
    let Some(start) = start else {
        return Err(problem(
            begin,
            "this event has no `DTSTART`".into(),
            "an event without a start",
            "give every `VEVENT` a `DTSTART`",
        ));
    };
    let length = match (end, length) {
        (Some(e), _) => e.naive() - start.naive(),
        (None, Some(d)) => d,
        (None, None) => match start {
            Stamp::Date(_) => TimeDelta::days(1),
            Stamp::Floating(_) | Stamp::Utc(_) | Stamp::Zoned(..) => TimeDelta::zero(),
        },
    };
    if length < TimeDelta::zero() {
        let span = at(ev
            .properties
            .iter()
            .position(|p| p.name.as_str().eq_ignore_ascii_case("DTEND"))
            .unwrap_or(0));
        return Err(problem(
            span,
            "this event ends before it starts".into(),
            "before `DTSTART`",
            "`DTEND` is the first instant after the event",
        ));
    }
    exdates.extend_from_slice(skipped);
    let starts = expand(start, &rules, &exdates, &rdates)?;
    let (summary, span) = summary.unwrap_or_else(|| ("(no summary)".to_owned(), begin));
    let mut occurrences: Vec<(When, When)> = starts
        .into_iter()
        .filter(|_| length > TimeDelta::zero())
        .map(|s| (start.when(s), start.when(s + length)))
        .collect();
    occurrences.sort_unstable();
    occurrences.dedup();
    Ok(Some(Event {
        summary,
        span,
        occurrences,
    }))
}

/// `\,`, `\;`, `\n` and `\\` of a TEXT value.
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push(' '),
            Some(x) => out.push(x),
            None => {}
        }
    }
    out.trim().to_owned()
}

/// The wall-clock starts (in the start's frame) of every occurrence in
/// the horizon.
fn expand(
    start: Stamp,
    rules: &[(String, Span)],
    exdates: &[Stamp],
    rdates: &[Stamp],
) -> Result<Vec<NaiveDateTime>, Problem> {
    let (from, to) = horizon();
    let in_horizon = |t: &NaiveDateTime| from <= *t && *t < to;
    let tz = start.rrule_tz();
    let as_rrule = |s: Stamp| -> Option<DateTime<rrule::Tz>> {
        let naive = match (s, start) {
            // An `EXDATE` of a date matches the occurrence at the start's
            // time on that day.
            (Stamp::Date(d), _) => d.and_time(start.naive().time()),
            (x, _) => x.naive(),
        };
        let local = match (s, start) {
            (Stamp::Utc(t), Stamp::Zoned(_, z)) => t.and_utc().with_timezone(&z).naive_local(),
            (Stamp::Zoned(t, z), Stamp::Utc(_)) => zoned(z, t).naive_utc(),
            (Stamp::Zoned(t, z), Stamp::Zoned(_, own)) if z != own => {
                zoned(z, t).with_timezone(&own).naive_local()
            }
            _ => naive,
        };
        tz.from_local_datetime(&local).earliest()
    };
    if rules.is_empty() {
        let ex: Vec<NaiveDateTime> = exdates
            .iter()
            .filter_map(|s| as_rrule(*s))
            .map(|d| d.naive_local())
            .collect();
        let mut all: Vec<NaiveDateTime> = std::iter::once(start.naive())
            .chain(
                rdates
                    .iter()
                    .filter_map(|s| as_rrule(*s))
                    .map(|d| d.naive_local()),
            )
            .filter(|t| !ex.contains(t))
            .filter(in_horizon)
            .collect();
        all.sort_unstable();
        all.dedup();
        return Ok(all);
    }
    let bad_start = |span| {
        problem(
            span,
            "the event's start cannot be used for repetition".into(),
            "here",
            "check `DTSTART`",
        )
    };
    let Some(dtstart) = as_rrule(start) else {
        return Err(bad_start(rules.first().map_or(Span::default(), |r| r.1)));
    };
    let mut set = rrule::RRuleSet::new(dtstart);
    for (rule, span) in rules {
        let text = until_in_utc(rule, start);
        let bad = |e: &dyn std::fmt::Display| {
            problem(
                *span,
                format!("`RRULE:{}` cannot be used: {e}", rule.trim()),
                "this repetition",
                "see RFC 5545, 3.3.10: e.g. `FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25`",
            )
        };
        let parsed: rrule::RRule<rrule::Unvalidated> = text.parse().map_err(|e| bad(&e))?;
        let valid = parsed.validate(dtstart).map_err(|e| bad(&e))?;
        set = set.rrule(valid);
    }
    for s in exdates {
        if let Some(d) = as_rrule(*s) {
            set = set.exdate(d);
        }
    }
    for s in rdates {
        if let Some(d) = as_rrule(*s) {
            set = set.rdate(d);
        }
    }
    let lo = tz.from_utc_datetime(&(from - TimeDelta::days(2)));
    let hi = tz.from_utc_datetime(&(to + TimeDelta::days(2)));
    let result = set.after(lo).before(hi).all(u16::MAX);
    if result.limited {
        let span = rules.first().map_or(Span::default(), |r| r.1);
        return Err(problem(
            span,
            format!(
                "this event repeats more than {} times between {HORIZON_FROM_YEAR} and {HORIZON_TO_YEAR}",
                u16::MAX
            ),
            "too many occurrences",
            "give it a `COUNT` or an `UNTIL`, or repeat less often",
        ));
    }
    Ok(result
        .dates
        .iter()
        .map(|d| d.naive_local())
        .filter(in_horizon)
        .collect())
}

/// The pieces of one occurrence in wall-clock time: whole days, and parts
/// of days as minutes (start inclusive, end exclusive, end up to 1440).
pub fn day_pieces(
    start: NaiveDateTime,
    end: NaiveDateTime,
    mut whole: impl FnMut(NaiveDate),
    mut part: impl FnMut(NaiveDate, u16, u16),
) {
    use chrono::Timelike;
    let minute = |t: NaiveDateTime| (t.hour() * 60 + t.minute()) as u16;
    // Minute resolution: the start rounds down, the end up.
    let end_min = |t: NaiveDateTime| minute(t) + u16::from(t.second() > 0);
    if end <= start {
        return;
    }
    let mut day = start.date();
    let mut from = minute(start);
    loop {
        let last = day == end.date()
            || (day.succ_opt() == Some(end.date()) && end.time() == NaiveTime::MIN);
        let to = if day == end.date() {
            end_min(end)
        } else {
            1440
        };
        if from == 0 && to == 1440 {
            whole(day);
        } else if to > from {
            part(day, from, to);
        }
        if last {
            return;
        }
        let Some(next) = day.succ_opt() else { return };
        if next.year() > HORIZON_TO_YEAR + 1 {
            return;
        }
        day = next;
        from = 0;
    }
}
