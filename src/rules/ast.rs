//! The typed syntax tree of one rules file, as written.
//!
//! Every node carries the [`Span`] of the text it came from, so validation,
//! failing `test` blocks and `explain` can all point back at the source.
//! Spans compare equal to each other: equality in tests is about structure,
//! not about where in a file something was written.

use chrono::{NaiveDate, Weekday};

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, Default, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl PartialEq for Span {
    /// Spans never make two nodes unequal; see the module docs.
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(s: pest::Span<'_>) -> Self {
        Span::new(s.start(), s.end())
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: impl Into<Span>) -> Self {
        Self {
            node,
            span: span.into(),
        }
    }
}

/// One parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Timezone(Spanned<String>),
    Calendar(CalendarDef),
    Window(WindowDef),
    Exception(ExceptionDef),
    Product(ProductDef),
    Test(TestDef),
    Policy(PolicyDef),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowDef {
    pub name: Spanned<String>,
    pub timezones: Vec<Spanned<String>>,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub verb: Verb,
    pub when: When,
    /// `every 2 weeks from 2026-01-05`.
    pub cadence: Option<CadenceAst>,
    pub label: Option<Spanned<String>>,
    pub span: Span,
}

/// `every N weeks from DATE`, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadenceAst {
    pub weeks: Spanned<u32>,
    pub from: DateAst,
    pub span: Span,
}

/// `calendar NAME "description" { entries }`: dates named once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDef {
    pub name: Spanned<String>,
    pub description: Option<Spanned<String>>,
    pub entries: Vec<CalendarEntry>,
    /// `from "holidays.ics"`: the events of an iCalendar file instead of
    /// entries (the path as written, relative to the rules file).
    pub file: Option<Spanned<String>>,
    pub span: Span,
}

/// One line of a calendar: dates, an optional time range, cadence and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    pub dates: Vec<Spanned<DateSpec>>,
    pub time: Option<TimeRangeAst>,
    pub cadence: Option<CadenceAst>,
    pub label: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// `always`: every instant.
    Always,
    /// `mon-thu 08:00-16:00`: days of the week, optionally a time range.
    Weekly {
        days: Vec<Spanned<DaySpec>>,
        time: Option<TimeRangeAst>,
    },
    /// `2026-12-24`, `dec 24..jan 1`, `4th thu nov`, optionally a time range.
    Dated {
        dates: Vec<Spanned<DateSpec>>,
        time: Option<TimeRangeAst>,
    },
    /// `calendar us-holidays`: every entry of a named calendar.
    Calendar(Spanned<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaySpec {
    Weekdays,
    Weekends,
    Daily,
    One(Weekday),
    /// Inclusive, wrapping past Sunday (`fri-mon`).
    Range(Weekday, Weekday),
}

/// A time of day as written: not yet checked to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeAst {
    pub hour: u32,
    pub minute: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRangeAst {
    pub start: TimeAst,
    pub end: TimeAst,
    pub span: Span,
}

/// A calendar date as written: not yet checked to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateAst {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub span: Span,
}

/// A month and day without a year (`dec 24`): not yet checked to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthDayAst {
    pub month: u32,
    pub day: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordinal {
    Nth(u8),
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateSpec {
    /// `2026-12-24` or `2026-12-21..2027-01-03` (inclusive).
    Range { from: DateAst, to: Option<DateAst> },
    /// `dec 24` or `dec 24..jan 1`, every year (inclusive).
    Yearly {
        from: MonthDayAst,
        to: Option<MonthDayAst>,
    },
    /// `4th thu nov`, `last mon may`.
    NthWeekday {
        ordinal: Ordinal,
        weekday: Weekday,
        month: u32,
    },
    /// Yearly days with an offset or Easter, or a range with a weekday of a
    /// month: `4th thu nov +1d`, `easter -2d..easter +1d` (inclusive).
    Anchored {
        from: YearlyDayAst,
        to: Option<YearlyDayAst>,
    },
    /// Whole months: `dec`, `jul..aug` (inclusive, wrapping over the new year).
    Months { from: u32, to: Option<u32> },
    /// Days of every month: `last fri every month`, `day 1..day 3 every month`.
    Monthly {
        from: MonthPointAst,
        to: Option<MonthPointAst>,
    },
}

/// One day of every year, plus days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearlyDayAst {
    pub base: YearlyBase,
    /// `+1d` is 1; `-2d` is -2.
    pub offset: i32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearlyBase {
    MonthDay(MonthDayAst),
    NthWeekday {
        ordinal: Ordinal,
        weekday: Weekday,
        month: u32,
    },
    /// Western Easter Sunday (Gregorian computus).
    Easter,
    /// Orthodox Easter Sunday (Julian computus), as a Gregorian date.
    OrthodoxEaster,
}

/// One day of every month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthPointAst {
    /// `day 15`: not yet checked to be 1..=31.
    Day(Spanned<u32>),
    /// `last day`.
    LastDay,
    /// `1st mon`, `last fri`.
    Nth(Ordinal, Weekday),
    /// `1st weekday`, `last weekday` (Monday to Friday).
    Weekday(Ordinal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonAst {
    Required,
    Optional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionDef {
    pub name: Spanned<String>,
    pub description: Option<Spanned<String>>,
    pub opens: Vec<Spanned<String>>,
    pub reason: Vec<Spanned<ReasonAst>>,
    pub approvals: Vec<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDef {
    pub name: Spanned<String>,
    pub timezones: Vec<Spanned<String>>,
    pub windows: Vec<WindowDef>,
    pub exceptions: Vec<ExceptionDef>,
    pub policies: Vec<PolicyDef>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDef {
    pub name: Spanned<String>,
    pub expects: Vec<Expect>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub window: Spanned<String>,
    pub open: bool,
    pub at: LocalTimeAst,
    pub product: Option<Spanned<String>>,
    pub span: Span,
}

/// `2026-03-09 08:00` or `2026-11-01 01:30 -05:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTimeAst {
    pub date: DateAst,
    pub time: TimeAst,
    /// Offset east of UTC in seconds, when written.
    pub offset: Option<Spanned<i32>>,
    pub span: Span,
}

impl DateAst {
    pub fn to_date(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day)
    }
}

/// `policy { ... }`: how the team runs RCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDef {
    pub items: Vec<Spanned<PolicyItem>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyItem {
    Timezone(Spanned<String>),
    /// `daily off`
    DailyOff,
    /// `daily at 07:00 [DAYS] [if new-changes | always]`
    Daily {
        at: TimeAst,
        days: Vec<Spanned<DaySpec>>,
        only_with_changes: bool,
    },
    /// `manager manual requester`
    ManualRequester,
    /// `manager daily random committer [prefer "ZONE"] [no-repeat | repeat-ok]`
    DailyRandom {
        prefer: Option<Spanned<String>>,
        repeat_ok: bool,
    },
    /// `urgent notice 15m`
    UrgentNotice(Spanned<String>),
    /// `remind first 1h every 4h escalate 24h [working-hours | anytime]`
    Remind {
        first: Spanned<String>,
        every: Spanned<String>,
        escalate: Spanned<String>,
        working_hours_only: Option<bool>,
    },
    /// `working-hours weekdays 09:00-17:00`
    WorkingHours {
        days: Vec<Spanned<DaySpec>>,
        time: TimeRangeAst,
    },
    /// `exception lasts 2h`
    ExceptionLasts(Spanned<String>),
    /// `gate release WINDOW`, `gate cut WINDOW`; `None` for `off`.
    Gate {
        kind: GateKind,
        window: Option<Spanned<String>>,
    },
    /// `allow release to lead, engineer`
    Allow {
        action: Spanned<String>,
        roles: Vec<Spanned<String>>,
    },
}

/// What a gate guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    /// Releasing an RC to production.
    Release,
    /// Cutting an RC.
    Cut,
}

impl GateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::Release => "release",
            GateKind::Cut => "cut",
        }
    }
}
