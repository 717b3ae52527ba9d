//! The validated rule set: what the engine and the CLI evaluate.
//!
//! Nothing here reads a clock. Matching works on local wall-clock time;
//! `eval.rs` turns instants into local time and finds changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};
use chrono_tz::Tz;

pub use super::calendar::{Cadence, MonthPoint, YearlyBase, YearlyDay};
use super::policy::Policy;
use super::source::Source;

/// Where a window's time zone came from, so `explain` can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TzSource {
    Window,
    Product,
    File,
    /// Nothing set a time zone: UTC.
    DefaultUtc,
}

/// A place in the rules source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    /// The source line(s) of the definition, trimmed.
    pub text: String,
}

/// Days a clause applies to (the day a time range starts on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayMatch {
    Always,
    /// Bit `n` is set for `Weekday::num_days_from_monday() == n`.
    Weekdays(u8),
    Dates(Vec<DateMatch>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateMatch {
    /// Inclusive.
    Range(NaiveDate, NaiveDate),
    /// Every year, inclusive, wrapping over the new year when `from > to`;
    /// `(month, day)`.
    Yearly { from: (u32, u32), to: (u32, u32) },
    /// `nth` is 1..=5, or -1 for the last such weekday of the month.
    NthWeekday {
        nth: i8,
        weekday: Weekday,
        month: u32,
    },
    /// Every year, inclusive, from one yearly day to another (the same one
    /// for a single day); wraps into the next year when the end comes first.
    Anchored { from: YearlyDay, to: YearlyDay },
    /// Every month, inclusive; wraps into the next month when the end comes
    /// first.
    Monthly { from: MonthPoint, to: MonthPoint },
    /// Days of an iCalendar file's event: inclusive ranges, sorted, not
    /// touching each other (so one binary search answers).
    Days(Arc<[(NaiveDate, NaiveDate)]>),
}

/// A time of day range in minutes after midnight, half-open. `end < start`
/// runs past midnight into the next day; `end` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutes {
    pub start: u16,
    pub end: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub open: bool,
    pub days: DayMatch,
    pub time: Option<Minutes>,
    /// Only in every Nth week, when set.
    pub cadence: Option<Cadence>,
    pub label: Option<String>,
    /// The named calendar this clause's entry came from.
    pub calendar: Option<String>,
    pub origin: Origin,
}

/// `calendar NAME "description" { ... }`: its entries as `closed` clauses;
/// `open calendar NAME` flips them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub name: String,
    pub description: String,
    pub entries: Vec<Clause>,
    /// `calendar NAME from "FILE.ics"`: the file's events (no `entries`),
    /// made into clauses in each window's time zone.
    pub file: Option<Arc<IcsCalendar>>,
    pub origin: Origin,
}

/// The events of an iCalendar file, with their places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsCalendar {
    /// The file's name as read (next to the rules file).
    pub file: String,
    pub events: Vec<(super::ics::Event, Origin)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub name: String,
    /// The product this definition belongs to; `None` at top level.
    pub product: Option<String>,
    pub tz: Tz,
    pub tz_source: TzSource,
    pub clauses: Vec<Clause>,
    /// Every minute of the day at which some clause starts or ends, sorted.
    pub boundaries: Vec<u16>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub name: String,
    pub description: String,
    pub opens: Vec<String>,
    pub reason_required: bool,
    pub approvals: u32,
    pub product: Option<String>,
    pub origin: Origin,
}

/// Overrides for one product.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductRules {
    pub name: String,
    /// The product's `policy` block merged over the top-level one.
    pub policy: Option<Policy>,
    pub windows: BTreeMap<String, Arc<Window>>,
    pub exceptions: BTreeMap<String, Arc<Exception>>,
}

/// One `expect` line, resolved to an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub test: String,
    pub window: String,
    pub product: Option<String>,
    pub open: bool,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The time as written, e.g. `2026-03-09 08:00`.
    pub written: String,
    pub origin: Origin,
}

/// A complete, valid set of rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    pub sources: Vec<Source>,
    pub windows: BTreeMap<String, Arc<Window>>,
    pub exceptions: BTreeMap<String, Arc<Exception>>,
    pub products: BTreeMap<String, ProductRules>,
    /// Named calendars, by name.
    pub calendars: BTreeMap<String, Arc<Calendar>>,
    pub expectations: Vec<Expectation>,
    /// Test names in file order, including those without expectations.
    pub tests: Vec<String>,
    /// The process settings (`policy { ... }`), defaults where unset.
    pub policy: Policy,
    /// Valid but suspicious: clauses that can never matter, days listed
    /// twice. `check` prints them.
    pub warnings: Vec<super::diagnostic::Diagnostic>,
}

impl RuleSet {
    /// The process settings for `product` (its own `policy` block merged
    /// over the top-level one).
    pub fn policy(&self, product: Option<&str>) -> &Policy {
        product
            .and_then(|p| self.products.get(p))
            .and_then(|p| p.policy.as_ref())
            .unwrap_or(&self.policy)
    }

    /// The window `name` as seen by `product`: its override if it has one,
    /// else the top-level definition.
    pub fn window(&self, product: Option<&str>, name: &str) -> Option<&Arc<Window>> {
        product
            .and_then(|p| self.products.get(p))
            .and_then(|p| p.windows.get(name))
            .or_else(|| self.windows.get(name))
    }

    /// Every window name visible to `product`, sorted.
    pub fn window_names(&self, product: Option<&str>) -> Vec<&str> {
        let mut names: Vec<&str> = self.windows.keys().map(String::as_str).collect();
        if let Some(p) = product.and_then(|p| self.products.get(p)) {
            names.extend(p.windows.keys().map(String::as_str));
        }
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn exception(&self, product: Option<&str>, name: &str) -> Option<&Arc<Exception>> {
        product
            .and_then(|p| self.products.get(p))
            .and_then(|p| p.exceptions.get(name))
            .or_else(|| self.exceptions.get(name))
    }

    /// Every exception visible to `product`, product overrides first-class.
    pub fn exceptions_for(&self, product: Option<&str>) -> Vec<&Arc<Exception>> {
        let mut names: Vec<&String> = self.exceptions.keys().collect();
        if let Some(p) = product.and_then(|p| self.products.get(p)) {
            names.extend(p.exceptions.keys());
        }
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter_map(|n| self.exception(product, n))
            .collect()
    }

    /// The exceptions that could open `window` for `product`.
    pub fn exceptions_opening(&self, product: Option<&str>, window: &str) -> Vec<&Arc<Exception>> {
        self.exceptions_for(product)
            .into_iter()
            .filter(|e| e.opens.iter().any(|w| w == window))
            .collect()
    }

    pub fn product_names(&self) -> Vec<&str> {
        self.products.keys().map(String::as_str).collect()
    }
}

impl DateMatch {
    pub fn matches(&self, d: NaiveDate) -> bool {
        match self {
            DateMatch::Range(from, to) => *from <= d && d <= *to,
            DateMatch::Yearly { from, to } => {
                let x = (d.month(), d.day());
                if from <= to {
                    *from <= x && x <= *to
                } else {
                    x >= *from || x <= *to
                }
            }
            DateMatch::NthWeekday {
                nth,
                weekday,
                month,
            } => {
                if d.month() != *month || d.weekday() != *weekday {
                    return false;
                }
                if *nth > 0 {
                    (d.day() - 1) / 7 + 1 == u32::from(nth.unsigned_abs())
                } else {
                    // The last one: a week later is another month.
                    (d + chrono::Days::new(7)).month() != *month
                }
            }
            DateMatch::Anchored { from, to } => super::calendar::anchored_matches(from, to, d),
            DateMatch::Monthly { from, to } => super::calendar::monthly_matches(from, to, d),
            DateMatch::Days(ranges) => {
                let i = ranges.partition_point(|(from, _)| *from <= d);
                i > 0 && ranges.get(i - 1).is_some_and(|(_, to)| d <= *to)
            }
        }
    }
}

impl DayMatch {
    pub fn matches(&self, d: NaiveDate) -> bool {
        match self {
            DayMatch::Always => true,
            DayMatch::Weekdays(mask) => mask & (1 << d.weekday().num_days_from_monday()) != 0,
            DayMatch::Dates(ds) => ds.iter().any(|m| m.matches(d)),
        }
    }
}

impl Clause {
    /// Whether this clause applies to a day (the day a time range starts).
    pub fn day_matches(&self, d: NaiveDate) -> bool {
        self.days.matches(d) && self.cadence.is_none_or(|c| c.matches(d))
    }

    /// Whether this clause covers a local wall-clock time.
    pub fn matches(&self, local: NaiveDateTime) -> bool {
        self.matches_with(local, |d| self.day_matches(d))
    }

    /// [`Clause::matches`] with the day test given: `day_matches(d)` must
    /// answer as [`Clause::day_matches`] does (`eval.rs` passes a memo of it,
    /// so that a walk over many instants of a day tests each day once).
    pub(super) fn matches_with(
        &self,
        local: NaiveDateTime,
        mut day_matches: impl FnMut(NaiveDate) -> bool,
    ) -> bool {
        let date = local.date();
        let Some(t) = self.time else {
            return day_matches(date);
        };
        // Minutes are < 1440, so this fits.
        let m = (local.hour() * 60 + local.minute()) as u16;
        if t.start < t.end {
            t.start <= m && m < t.end && day_matches(date)
        } else {
            // Runs past midnight: the evening belongs to the day it starts,
            // the small hours to the day before.
            (m >= t.start && day_matches(date))
                || (m < t.end && date.pred_opt().is_some_and(day_matches))
        }
    }
}

pub fn weekday_bit(d: Weekday) -> u8 {
    1 << d.num_days_from_monday()
}
