//! Property tests: random windows, rendered as rules text and compiled,
//! checked against a reference evaluator written here from the generator's
//! own representation, and `next_change` against a minute-by-minute scan.
//!
//! The reference knows nothing of `shipgate::rules::model`: it converts an
//! instant to local wall time with chrono-tz and applies the language's
//! meaning directly (half-open ranges, `24:00`, ranges past midnight belong
//! to the day they start, closed wins). It knows every date form: days of
//! the week, dates, yearly days, nth weekdays, offsets and ranges between
//! them, Easter and Orthodox Easter (from the published tables), whole
//! months, days of every month, week cadences, and named calendars (whose
//! entries it matches one by one). Instants and dates are drawn over
//! 2026-2035 and near both daylight-saving changes of every year.
//!
//! Checked by hand (not committed): a cadence off by one week and Easter
//! moved by a day each make `is_open_matches_reference` fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::sample::select;
use shipgate::rules::Window;

mod rules_support;
// Western and Orthodox Easter Sunday, from the published tables:
// `(year, month, day)`.
use rules_support::{ORTHODOX_EASTER, WESTERN_EASTER};

// ------------------------------------------------------ the representation

const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Santiago",
    "America/Havana",
];

/// Every UTC offset change of the zones above in 2026-2035, found with
/// chrono-tz (the IANA rules), so that instants and dates can be drawn
/// near both daylight-saving changes of every year.
fn transitions() -> &'static [DateTime<Utc>] {
    static ALL: std::sync::OnceLock<Vec<DateTime<Utc>>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let offset = |tz: Tz, t: DateTime<Utc>| {
            use chrono::Offset as _;
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc()
        };
        let mut out = Vec::new();
        for zone in ZONES {
            let tz: Tz = zone.parse().unwrap();
            let mut t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            let end = Utc.with_ymd_and_hms(2036, 1, 1, 0, 0, 0).unwrap();
            while t < end {
                let next = t + chrono::TimeDelta::hours(6);
                if offset(tz, t) != offset(tz, next) {
                    let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
                    while hi - lo > 1 {
                        let mid = lo + (hi - lo) / 2;
                        let m = DateTime::<Utc>::from_timestamp(mid, 0).unwrap();
                        if offset(tz, m) == offset(tz, t) {
                            lo = mid;
                        } else {
                            hi = mid;
                        }
                    }
                    out.push(DateTime::<Utc>::from_timestamp(hi, 0).unwrap());
                }
                t = next;
            }
        }
        out
    })
}

fn transition(i: usize) -> DateTime<Utc> {
    let all = transitions();
    all[i % all.len()]
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LONG_DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const LONG_MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

#[derive(Debug, Clone)]
enum DayAtom {
    /// 0 = Monday.
    One(usize, bool),
    /// `a-b`, wrapping past Sunday when `b < a`.
    Range(usize, usize),
    Weekdays,
    Weekends,
    Daily,
}

#[derive(Debug, Clone)]
enum DateSpec {
    /// Inclusive.
    Range(NaiveDate, NaiveDate),
    /// `(month, day)`, inclusive, wrapping over the new year.
    Yearly((u32, u32), (u32, u32), bool),
    /// 1..=5, or -1 for `last`; weekday 0 = Monday; month 1..=12.
    Nth(i8, usize, u32, bool),
    /// `BASE +Nd..BASE +Md` (one day when the offsets are equal), with
    /// `from <= to`.
    Anchored(Base, i32, i32),
    /// Whole months, inclusive, wrapping over the new year.
    Months(u32, u32),
    /// Days of every month: `A..B every month` (one point when equal).
    Monthly(Point, Point),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Base {
    MonthDay(u32, u32),
    /// n (1..=5 or -1), weekday (0 = Monday), month.
    Nth(i8, usize, u32),
    Easter,
    Orthodox,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Point {
    Day(u32),
    LastDay,
    /// n (1..=5 or -1), weekday (0 = Monday).
    Nth(i8, usize),
    /// n (1..=5 or -1) of the Monday-to-Friday days.
    Workday(i8),
}

/// One entry of a named calendar.
#[derive(Debug, Clone)]
struct EntrySpec {
    dates: Vec<DateSpec>,
    time: Option<(u16, u16)>,
    cadence: Option<(u32, NaiveDate)>,
}

#[derive(Debug, Clone)]
enum DaySel {
    Always,
    Weekly(Vec<DayAtom>),
    Dated(Vec<DateSpec>),
    /// `calendar cN`: its entries, rendered as a top-level calendar.
    Calendar(Vec<EntrySpec>),
}

#[derive(Debug, Clone)]
struct ClauseSpec {
    open: bool,
    days: DaySel,
    /// `every N weeks from DATE`.
    cadence: Option<(u32, NaiveDate)>,
    /// Minutes after midnight; `end` 1440 is `24:00`, `end <= start` runs
    /// past midnight.
    time: Option<(u16, u16)>,
    label: Option<String>,
}

#[derive(Debug, Clone)]
struct WindowSpec {
    zone: usize,
    /// 0: no time zone anywhere (UTC), 1: file level, 2: in the window.
    placement: u8,
    clauses: Vec<ClauseSpec>,
}

impl WindowSpec {
    fn tz(&self) -> Tz {
        if self.placement == 0 {
            chrono_tz::UTC
        } else {
            ZONES[self.zone].parse().unwrap()
        }
    }
}

// ------------------------------------------------------------- rendering

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn render_days(atoms: &[DayAtom]) -> String {
    atoms
        .iter()
        .map(|a| match a {
            DayAtom::One(d, long) => {
                if *long {
                    LONG_DAY_NAMES[*d].to_owned()
                } else {
                    DAY_NAMES[*d].to_owned()
                }
            }
            DayAtom::Range(a, b) => format!("{}-{}", DAY_NAMES[*a], DAY_NAMES[*b]),
            DayAtom::Weekdays => "weekdays".to_owned(),
            DayAtom::Weekends => "weekends".to_owned(),
            DayAtom::Daily => "daily".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn month_name(m: u32, long: bool) -> &'static str {
    let i = (m - 1) as usize;
    if long { LONG_MONTHS[i] } else { MONTHS[i] }
}

fn render_dates(specs: &[DateSpec]) -> String {
    specs
        .iter()
        .map(|s| match s {
            DateSpec::Range(a, b) if a == b => a.format("%Y-%m-%d").to_string(),
            DateSpec::Range(a, b) => format!("{}..{}", a.format("%Y-%m-%d"), b.format("%Y-%m-%d")),
            DateSpec::Yearly(from, to, long) if from == to => {
                format!("{} {}", month_name(from.0, *long), from.1)
            }
            DateSpec::Yearly(from, to, long) => format!(
                "{} {}..{} {}",
                month_name(from.0, *long),
                from.1,
                month_name(to.0, *long),
                to.1
            ),
            DateSpec::Nth(n, wd, month, long) => {
                format!(
                    "{} {} {}",
                    ordinal(*n),
                    DAY_NAMES[*wd],
                    month_name(*month, *long)
                )
            }
            DateSpec::Anchored(base, a, b) => {
                let one = |off: i32| {
                    let base = match base {
                        Base::MonthDay(m, d) => format!("{} {d}", month_name(*m, false)),
                        Base::Nth(n, wd, m) => {
                            format!(
                                "{} {} {}",
                                ordinal(*n),
                                DAY_NAMES[*wd],
                                month_name(*m, false)
                            )
                        }
                        Base::Easter => "easter".to_owned(),
                        Base::Orthodox => "orthodox easter".to_owned(),
                    };
                    match off {
                        0 => base,
                        o if o > 0 => format!("{base} +{o}d"),
                        o => format!("{base} {o}d"),
                    }
                };
                if a == b {
                    one(*a)
                } else {
                    format!("{}..{}", one(*a), one(*b))
                }
            }
            DateSpec::Months(a, b) if a == b => month_name(*a, true).to_owned(),
            DateSpec::Months(a, b) => {
                format!("{}..{}", month_name(*a, false), month_name(*b, false))
            }
            DateSpec::Monthly(a, b) => {
                let one = |p: &Point| match p {
                    Point::Day(n) => format!("day {n}"),
                    Point::LastDay => "last day".to_owned(),
                    Point::Nth(n, wd) => format!("{} {}", ordinal(*n), DAY_NAMES[*wd]),
                    Point::Workday(n) => format!("{} weekday", ordinal(*n)),
                };
                if a == b {
                    format!("{} every month", one(a))
                } else {
                    format!("{}..{} every month", one(a), one(b))
                }
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn ordinal(n: i8) -> &'static str {
    match n {
        1 => "1st",
        2 => "2nd",
        3 => "3rd",
        4 => "4th",
        5 => "5th",
        _ => "last",
    }
}

fn render_cadence(c: Option<(u32, NaiveDate)>) -> String {
    c.map(|(n, d)| format!(" every {n} weeks from {}", d.format("%Y-%m-%d")))
        .unwrap_or_default()
}

fn render_time(t: Option<(u16, u16)>) -> String {
    t.map(|(a, b)| format!(" {}-{}", hhmm(a), hhmm(b)))
        .unwrap_or_default()
}

fn render(spec: &WindowSpec) -> String {
    let mut s = String::from("# generated\n");
    if spec.placement == 1 {
        s.push_str(&format!("timezone \"{}\"\n", ZONES[spec.zone]));
    }
    for (i, c) in spec.clauses.iter().enumerate() {
        if let DaySel::Calendar(entries) = &c.days {
            s.push_str(&format!("calendar c{i} {{\n"));
            for e in entries {
                s.push_str(&format!(
                    "    {}{}{} \"entry\"\n",
                    render_dates(&e.dates),
                    render_time(e.time),
                    render_cadence(e.cadence)
                ));
            }
            s.push_str("}\n");
        }
    }
    s.push_str("window w {\n");
    if spec.placement == 2 {
        s.push_str(&format!("    timezone \"{}\"\n", ZONES[spec.zone]));
    }
    for (i, c) in spec.clauses.iter().enumerate() {
        let verb = if c.open { "open" } else { "closed" };
        let when = match &c.days {
            DaySel::Always => "always".to_owned(),
            DaySel::Weekly(atoms) => render_days(atoms),
            DaySel::Dated(specs) => render_dates(specs),
            DaySel::Calendar(_) => format!("calendar c{i}"),
        };
        let time = format!("{}{}", render_time(c.time), render_cadence(c.cadence));
        let label = c
            .label
            .as_ref()
            .map(|l| format!(" \"{l}\""))
            .unwrap_or_default();
        s.push_str(&format!("    {verb} {when}{time}{label}\n"));
    }
    s.push_str("}\n");
    s
}

// ------------------------------------------------------ reference evaluator

fn weekday_index(d: NaiveDate) -> usize {
    match d.weekday() {
        Weekday::Mon => 0,
        Weekday::Tue => 1,
        Weekday::Wed => 2,
        Weekday::Thu => 3,
        Weekday::Fri => 4,
        Weekday::Sat => 5,
        Weekday::Sun => 6,
    }
}

fn atom_has(atom: &DayAtom, wd: usize) -> bool {
    match atom {
        DayAtom::One(d, _) => *d == wd,
        DayAtom::Range(a, b) => {
            // Walk from a to b, wrapping after Sunday.
            let mut d = *a;
            loop {
                if d == wd {
                    return true;
                }
                if d == *b {
                    return false;
                }
                d = (d + 1) % 7;
            }
        }
        DayAtom::Weekdays => wd < 5,
        DayAtom::Weekends => wd >= 5,
        DayAtom::Daily => true,
    }
}

fn month_length(year: i32, month: u32) -> u32 {
    (28..=31)
        .rev()
        .find(|d| NaiveDate::from_ymd_opt(year, month, *d).is_some())
        .unwrap()
}

fn date_spec_has(spec: &DateSpec, d: NaiveDate) -> bool {
    match spec {
        DateSpec::Range(a, b) => *a <= d && d <= *b,
        DateSpec::Yearly(from, to, _) => {
            let md = (d.month(), d.day());
            if from <= to {
                *from <= md && md <= *to
            } else {
                md >= *from || md <= *to
            }
        }
        DateSpec::Nth(n, wd, month, _) => {
            if d.month() != *month || weekday_index(d) != *wd {
                return false;
            }
            if *n > 0 {
                // How many of this weekday in the month so far, this one
                // included.
                let count = (1..=d.day())
                    .filter(|day| {
                        weekday_index(NaiveDate::from_ymd_opt(d.year(), d.month(), *day).unwrap())
                            == *wd
                    })
                    .count();
                count == *n as usize
            } else {
                d.day() + 7 > month_length(d.year(), d.month())
            }
        }
        DateSpec::Anchored(base, a, b) => (d.year() - 1..=d.year() + 1).any(|y| {
            base_in(*base, y).is_some_and(|x| {
                x + chrono::TimeDelta::days(i64::from(*a)) <= d
                    && d <= x + chrono::TimeDelta::days(i64::from(*b))
            })
        }),
        DateSpec::Months(a, b) => {
            let m = d.month();
            if a <= b {
                *a <= m && m <= *b
            } else {
                m >= *a || m <= *b
            }
        }
        DateSpec::Monthly(a, b) => {
            let (y, m) = (d.year(), d.month());
            [prev_month(y, m), (y, m)].iter().any(|&(y, m)| {
                monthly_span(*a, *b, y, m).is_some_and(|(from, to)| from <= d && d <= to)
            })
        }
    }
}

/// The days of a month, in order.
fn month_days(y: i32, m: u32) -> Vec<NaiveDate> {
    (1..=month_length(y, m))
        .map(|d| NaiveDate::from_ymd_opt(y, m, d).unwrap())
        .collect()
}

/// The nth (1..=5, or -1 for the last) of `days`.
fn pick(days: &[NaiveDate], n: i8) -> Option<NaiveDate> {
    if n > 0 {
        days.get(n as usize - 1).copied()
    } else {
        days.last().copied()
    }
}

fn easter_in(table: &[(i32, u32, u32)], y: i32) -> Option<NaiveDate> {
    let &(_, m, d) = table.iter().find(|e| e.0 == y)?;
    NaiveDate::from_ymd_opt(y, m, d)
}

fn base_in(base: Base, y: i32) -> Option<NaiveDate> {
    match base {
        Base::MonthDay(m, d) => NaiveDate::from_ymd_opt(y, m, d),
        Base::Nth(n, wd, m) => {
            let days: Vec<NaiveDate> = month_days(y, m)
                .into_iter()
                .filter(|d| weekday_index(*d) == wd)
                .collect();
            pick(&days, n)
        }
        Base::Easter => easter_in(WESTERN_EASTER, y),
        Base::Orthodox => easter_in(ORTHODOX_EASTER, y),
    }
}

fn point_in(p: Point, y: i32, m: u32) -> Option<NaiveDate> {
    let days = month_days(y, m);
    match p {
        Point::Day(n) => NaiveDate::from_ymd_opt(y, m, n),
        Point::LastDay => days.last().copied(),
        Point::Nth(n, wd) => {
            let ds: Vec<NaiveDate> = days
                .into_iter()
                .filter(|d| weekday_index(*d) == wd)
                .collect();
            pick(&ds, n)
        }
        Point::Workday(n) => {
            let ds: Vec<NaiveDate> = days.into_iter().filter(|d| weekday_index(*d) < 5).collect();
            pick(&ds, n)
        }
    }
}

fn next_month(y: i32, m: u32) -> (i32, u32) {
    if m == 12 { (y + 1, 1) } else { (y, m + 1) }
}

fn prev_month(y: i32, m: u32) -> (i32, u32) {
    if m == 1 { (y - 1, 12) } else { (y, m - 1) }
}

/// The days `A..B every month` covers starting in month `(y, m)`: from A
/// to B of that month, or on to B of the next month when B comes before A.
fn monthly_span(a: Point, b: Point, y: i32, m: u32) -> Option<(NaiveDate, NaiveDate)> {
    let from = point_in(a, y, m)?;
    let to = point_in(b, y, m)?;
    if to >= from {
        return Some((from, to));
    }
    let (ny, nm) = next_month(y, m);
    Some((from, point_in(b, ny, nm)?))
}

fn cadence_has(c: Option<(u32, NaiveDate)>, d: NaiveDate) -> bool {
    let Some((n, from)) = c else { return true };
    let monday = |x: NaiveDate| x - Days::new(weekday_index(x) as u64);
    let weeks = (monday(d) - monday(from)).num_days() / 7;
    weeks.rem_euclid(i64::from(n)) == 0
}

fn day_has(days: &DaySel, d: NaiveDate) -> bool {
    match days {
        DaySel::Always => true,
        DaySel::Weekly(atoms) => atoms.iter().any(|a| atom_has(a, weekday_index(d))),
        DaySel::Dated(specs) => specs.iter().any(|s| date_spec_has(s, d)),
        // Entries are matched one by one in `clause_has`.
        DaySel::Calendar(_) => false,
    }
}

/// Whether days matched by `has` (the day a time range starts on) cover
/// `local` under `time`.
fn timed_has(
    time: Option<(u16, u16)>,
    has: impl Fn(NaiveDate) -> bool,
    local: NaiveDateTime,
) -> bool {
    let d = local.date();
    let Some((start, end)) = time else {
        return has(d);
    };
    let m = (local.hour() * 60 + local.minute()) as u16;
    if start < end {
        start <= m && m < end && has(d)
    } else {
        let yesterday = d.pred_opt().unwrap();
        (m >= start && has(d)) || (m < end && has(yesterday))
    }
}

fn clause_has(c: &ClauseSpec, local: NaiveDateTime) -> bool {
    if let DaySel::Calendar(entries) = &c.days {
        return entries.iter().any(|e| {
            timed_has(
                e.time,
                |d| e.dates.iter().any(|s| date_spec_has(s, d)) && cadence_has(e.cadence, d),
                local,
            )
        });
    }
    timed_has(
        c.time,
        |d| day_has(&c.days, d) && cadence_has(c.cadence, d),
        local,
    )
}

fn reference_open(spec: &WindowSpec, at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&spec.tz()).naive_local();
    let mut open = false;
    for c in &spec.clauses {
        if clause_has(c, local) {
            if !c.open {
                return false;
            }
            open = true;
        }
    }
    open
}

/// The first whole minute after `at`, within `days` days, at which
/// `is_open` differs from its value at `at`.
fn brute_next_change(w: &Window, at: DateTime<Utc>, days: i64) -> Option<DateTime<Utc>> {
    let state = w.is_open(at);
    let limit = at + chrono::TimeDelta::days(days);
    let secs = at.timestamp();
    let on_minute = secs.rem_euclid(60) == 0 && at.timestamp_subsec_nanos() == 0;
    let mut m = if on_minute {
        secs + 60
    } else {
        (secs.div_euclid(60) + 1) * 60
    };
    loop {
        let t = DateTime::<Utc>::from_timestamp(m, 0).unwrap();
        if t > limit {
            return None;
        }
        if w.is_open(t) != state {
            return Some(t);
        }
        m += 60;
    }
}

// -------------------------------------------------------------- strategies

fn day_atom() -> impl Strategy<Value = DayAtom> {
    prop_oneof![
        4 => (0usize..7, any::<bool>()).prop_map(|(d, l)| DayAtom::One(d, l)),
        3 => (0usize..7, 0usize..7).prop_map(|(a, b)| DayAtom::Range(a, b)),
        1 => Just(DayAtom::Weekdays),
        1 => Just(DayAtom::Weekends),
        1 => Just(DayAtom::Daily),
    ]
}

fn minute() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => 0u16..1440,
        // Near midnight and the hours daylight saving moves.
        3 => select(vec![0u16, 30, 60, 90, 105, 120, 135, 150, 180, 210, 240, 1380, 1410, 1439]),
    ]
}

fn time_range() -> impl Strategy<Value = (u16, u16)> {
    (
        minute(),
        prop_oneof![4 => minute(), 1 => Just(1440u16), 1 => Just(0u16)],
    )
        // `08:00-08:00` is an error; move the end an hour on.
        .prop_map(|(start, end)| {
            if start == end {
                (start, (start + 60) % 1440)
            } else {
                (start, end)
            }
        })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    prop_oneof![
        (0u64..3652).prop_map(move |d| base + Days::new(d)),
        // Around a daylight-saving change (as a date in any zone).
        (0usize..10_000, 0u64..5).prop_map(|(i, k)| {
            let d = transition(i).date_naive();
            d - Days::new(2) + Days::new(k)
        }),
    ]
}

fn month_day() -> impl Strategy<Value = (u32, u32)> {
    // Any day of a leap year, so `feb 29` appears.
    (1u32..=12, 1u32..=31).prop_map(|(m, d)| (m, d.min(month_length(2024, m))))
}

fn date_spec() -> impl Strategy<Value = DateSpec> {
    prop_oneof![
        3 => (date(), prop_oneof![Just(0u64), 0u64..10, 0u64..60])
            .prop_map(|(a, k)| DateSpec::Range(a, a + Days::new(k))),
        2 => (month_day(), prop::option::of(month_day()), any::<bool>())
            .prop_map(|(a, b, l)| DateSpec::Yearly(a, b.unwrap_or(a), l)),
        2 => (prop_oneof![1i8..=5, Just(-1i8)], 0usize..7, 1u32..=12, any::<bool>())
            .prop_map(|(n, wd, m, l)| DateSpec::Nth(n, wd, m, l)),
        3 => (base(), -10i32..=10, 0i32..=5).prop_map(|(b, a, len)| DateSpec::Anchored(b, a, a + len)),
        1 => (1u32..=12, 1u32..=12).prop_map(|(a, b)| DateSpec::Months(a, b)),
        3 => (point(), prop::option::weighted(0.4, point()))
            .prop_map(|(a, b)| DateSpec::Monthly(a, b.unwrap_or(a))),
    ]
}

fn nth() -> impl Strategy<Value = i8> {
    prop_oneof![1i8..=5, Just(-1i8)]
}

fn base() -> impl Strategy<Value = Base> {
    prop_oneof![
        2 => month_day().prop_map(|(m, d)| Base::MonthDay(m, d)),
        2 => (nth(), 0usize..7, 1u32..=12).prop_map(|(n, wd, m)| Base::Nth(n, wd, m)),
        2 => Just(Base::Easter),
        1 => Just(Base::Orthodox),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    prop_oneof![
        3 => (1u32..=31).prop_map(Point::Day),
        1 => Just(Point::LastDay),
        2 => (nth(), 0usize..7).prop_map(|(n, wd)| Point::Nth(n, wd)),
        2 => nth().prop_map(Point::Workday),
    ]
}

fn cadence() -> impl Strategy<Value = Option<(u32, NaiveDate)>> {
    prop::option::weighted(0.2, (2u32..=5, date()))
}

fn entry() -> impl Strategy<Value = EntrySpec> {
    (
        prop::collection::vec(date_spec(), 1..=2),
        prop::option::weighted(0.5, time_range()),
        cadence(),
    )
        .prop_map(|(dates, time, cadence)| EntrySpec {
            dates,
            time,
            cadence,
        })
}

fn clause() -> impl Strategy<Value = ClauseSpec> {
    let days = prop_oneof![
        1 => Just(DaySel::Always),
        6 => prop::collection::vec(day_atom(), 1..=3).prop_map(DaySel::Weekly),
        3 => prop::collection::vec(date_spec(), 1..=2).prop_map(DaySel::Dated),
        1 => prop::collection::vec(entry(), 1..=3).prop_map(DaySel::Calendar),
    ];
    (
        prop::bool::weighted(0.65),
        days,
        prop::option::weighted(0.8, time_range()),
        cadence(),
        prop::option::weighted(0.2, "[a-z ]{1,12}"),
    )
        .prop_map(|(open, days, time, cadence, label)| {
            // `always` and `calendar NAME` take no time range here; a
            // calendar's entries carry their own times and cadences.
            let plain = !matches!(days, DaySel::Always | DaySel::Calendar(_));
            ClauseSpec {
                open,
                time: if plain { time } else { None },
                cadence: if plain { cadence } else { None },
                days,
                label,
            }
        })
}

fn window_spec() -> impl Strategy<Value = WindowSpec> {
    (
        0usize..ZONES.len(),
        prop_oneof![1 => Just(0u8), 3 => Just(1u8), 2 => Just(2u8)],
        prop::collection::vec(clause(), 1..=4),
    )
        .prop_map(|(zone, placement, clauses)| WindowSpec {
            zone,
            placement,
            clauses,
        })
}

/// An instant, drawn from raw numbers once the window is known: uniform in
/// 2026-2035, near an offset change, or on (or a second either side of) a
/// clause boundary in local time.
fn instant(spec: &WindowSpec, kind: u8, a: u64, b: u64) -> DateTime<Utc> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let span = Utc
        .with_ymd_and_hms(2036, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp()
        - start;
    let uniform = DateTime::<Utc>::from_timestamp(start + (a % span as u64) as i64, 0).unwrap();
    let jitter = [0i64, 0, 0, -1, 1, -60, 30, 59][(b % 8) as usize];
    match kind % 3 {
        0 if b % 16 == 15 => uniform + chrono::TimeDelta::milliseconds(500),
        0 => uniform,
        1 => {
            // Within 36 hours of a change; on a whole minute half the time.
            let t = transition(a as usize);
            let offset = (b / 8 % (72 * 3600)) as i64 - 36 * 3600;
            let offset = if b.is_multiple_of(2) {
                offset / 60 * 60
            } else {
                offset
            };
            t + chrono::TimeDelta::seconds(offset)
        }
        _ => {
            let tz = spec.tz();
            let mut boundaries = vec![0u16];
            for c in &spec.clauses {
                let entries: Vec<Option<(u16, u16)>> = match &c.days {
                    DaySel::Calendar(es) => es.iter().map(|e| e.time).collect(),
                    _ => vec![c.time],
                };
                for (s, e) in entries.into_iter().flatten() {
                    boundaries.push(s);
                    boundaries.push(e % 1440);
                }
            }
            let m = boundaries[(b / 8) as usize % boundaries.len()];
            // A date near a change half the time.
            let day = if a.is_multiple_of(2) {
                transition((a / 2) as usize).date_naive() + Days::new(a / 64 % 3) - Days::new(1)
            } else {
                uniform.date_naive()
            };
            let local = day
                .and_hms_opt(u32::from(m / 60), u32::from(m % 60), 0)
                .unwrap();
            let t = match tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => t,
                chrono::LocalResult::Ambiguous(x, y) => {
                    if a % 4 < 2 {
                        x
                    } else {
                        y
                    }
                }
                chrono::LocalResult::None => return uniform,
            };
            t.with_timezone(&Utc) + chrono::TimeDelta::seconds(jitter)
        }
    }
}

fn compile_spec(spec: &WindowSpec) -> (String, Arc<Window>) {
    let text = render(spec);
    let w = rules_support::window(&rules_support::rules(&text), "w");
    assert_eq!(w.tz, spec.tz(), "time zone of\n{text}");
    (text, w)
}

// ------------------------------------------------------------------ tests

/// 256 cases per property, or `PROPTEST_CASES` for a longer run.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 256;
    }
    config.max_shrink_iters = 4000;
    config
}

/// The instants drawn near offset changes cover both daylight-saving
/// changes of every year 2026-2035 in the zones that have them.
#[test]
fn transitions_cover_both_changes_every_year() {
    for zone in [
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "America/Santiago",
    ] {
        let tz: Tz = zone.parse().unwrap();
        for year in 2026..=2035 {
            let n = transitions()
                .iter()
                .filter(|t| {
                    t.year() == year && {
                        use chrono::Offset as _;
                        let before = tz
                            .offset_from_utc_datetime(
                                &(**t - chrono::TimeDelta::seconds(1)).naive_utc(),
                            )
                            .fix();
                        let after = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
                        before != after
                    }
                })
                .count();
            assert_eq!(n, 2, "{zone} {year}");
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// `is_open` and `decide` agree with the reference at random instants.
    #[test]
    fn is_open_matches_reference(
        spec in window_spec(),
        draws in prop::collection::vec((0u8..3, any::<u64>(), any::<u64>()), 24),
    ) {
        let (text, w) = compile_spec(&spec);
        for (kind, a, b) in draws {
            let at = instant(&spec, kind, a, b);
            let want = reference_open(&spec, at);
            prop_assert_eq!(w.is_open(at), want, "is_open at {} ({}) for\n{}", at,
                at.with_timezone(&spec.tz()), text);
            let d = w.decide(at);
            prop_assert_eq!(d.open, want, "decide at {} for\n{}", at, text);
            prop_assert_eq!(d.local, at.with_timezone(&spec.tz()).naive_local());
            match d.because {
                Some(c) => {
                    prop_assert_eq!(c.open, want);
                    prop_assert!(c.matches(d.local));
                }
                // Closed with no clause: no clause matches at all.
                None => prop_assert!(!want && spec.clauses.iter().all(|c| !clause_has(c, d.local))),
            }
        }
    }

    /// `next_change(t, 8)` is the first minute a scan finds a different state.
    #[test]
    fn next_change_matches_scan(
        spec in window_spec(),
        draws in prop::collection::vec((0u8..3, any::<u64>(), any::<u64>()), 4),
    ) {
        let (text, w) = compile_spec(&spec);
        for (kind, a, b) in draws {
            let at = instant(&spec, kind, a, b);
            let want = brute_next_change(&w, at, 8);
            let got = w.next_change(at, 8);
            prop_assert_eq!(got, want, "next_change from {} ({}) for\n{}", at,
                at.with_timezone(&spec.tz()), text);
        }
    }

    /// `open_intervals` over a few days agrees with `is_open` sampled every
    /// few minutes, and its intervals are sorted, clipped, and never touch.
    #[test]
    fn open_intervals_match_is_open(
        spec in window_spec(),
        (kind, a, b) in (0u8..3, any::<u64>(), any::<u64>()),
        hours in 1i64..96,
    ) {
        let (text, w) = compile_spec(&spec);
        let from = instant(&spec, kind, a, b);
        let to = from + chrono::TimeDelta::hours(hours);
        let iv = w.open_intervals(from, to);
        for pair in iv.windows(2) {
            prop_assert!(pair[0].1 < pair[1].0, "touching or unsorted {:?} for\n{}", iv, text);
        }
        for (s, e) in &iv {
            prop_assert!(from <= *s && s < e && *e <= to, "{:?} outside [{}, {}) for\n{}", iv, from, to, text);
            prop_assert!(w.is_open(*s));
            if *e < to {
                prop_assert!(!w.is_open(*e), "still open at the end {} for\n{}", e, text);
            }
        }
        let mut t = from;
        while t < to {
            let inside = iv.iter().any(|(s, e)| *s <= t && t < *e);
            prop_assert_eq!(inside, reference_open(&spec, t), "at {} for\n{}", t, text);
            t += chrono::TimeDelta::minutes(7);
        }
    }
}
