//! Days that move: Easter, yearly days with offsets, days of every month and
//! week cadences. Pure date arithmetic on local calendar dates; `model.rs`
//! calls it from [`super::model::DateMatch::matches`].

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Western Easter Sunday of `year` (Gregorian calendar), by the anonymous
/// Gregorian algorithm (Meeus, Jones, Butcher).
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// Orthodox Easter Sunday of `year` (Julian computus), as a Gregorian date.
pub fn orthodox_easter(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(4);
    let b = year.rem_euclid(7);
    let c = year.rem_euclid(19);
    let d = (19 * c + 15) % 30;
    let e = (2 * a + 4 * b - d + 34) % 7;
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;
    let julian =
        NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
    // Julian to Gregorian: the calendars drift apart by three days in four
    // centuries; Easter always falls after the drift's March step.
    let drift = year.div_euclid(100) - year.div_euclid(400) - 2;
    julian.checked_add_days(Days::new(u64::try_from(drift).ok()?))
}

/// A day of every year: its base, then a number of days added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearlyDay {
    pub base: YearlyBase,
    pub offset: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearlyBase {
    /// `(month, day)`; no day in years without it (`feb 29`).
    MonthDay(u32, u32),
    /// `nth` is 1..=5, or -1 for the last.
    NthWeekday {
        nth: i8,
        weekday: Weekday,
        month: u32,
    },
    Easter,
    OrthodoxEaster,
}

impl YearlyDay {
    /// The day in `year` (of its base: with an offset it may fall in the
    /// next or the previous year).
    pub fn in_year(&self, year: i32) -> Option<NaiveDate> {
        let base = match self.base {
            YearlyBase::MonthDay(m, d) => NaiveDate::from_ymd_opt(year, m, d)?,
            YearlyBase::NthWeekday {
                nth,
                weekday,
                month,
            } => nth_weekday_in(year, month, nth, weekday)?,
            YearlyBase::Easter => easter(year)?,
            YearlyBase::OrthodoxEaster => orthodox_easter(year)?,
        };
        add_days(base, self.offset)
    }
}

fn add_days(d: NaiveDate, n: i32) -> Option<NaiveDate> {
    if n >= 0 {
        d.checked_add_days(Days::new(u64::from(n.unsigned_abs())))
    } else {
        d.checked_sub_days(Days::new(u64::from(n.unsigned_abs())))
    }
}

/// Whether `d` lies in `from..=to` of some year; a range whose end comes
/// before its start runs into the next year. Offsets are at most a year, so
/// the years around `d` are enough.
pub fn anchored_matches(from: &YearlyDay, to: &YearlyDay, d: NaiveDate) -> bool {
    let y = d.year();
    // Only years whose range can reach `d`: the start of year `Y`'s range is
    // on or after January 1 of `Y` plus `from`'s offset when negative, and
    // its end is on or before December 31 of `Y + 1` plus `to`'s offset when
    // positive. Without offsets that leaves the year of `d` and the one
    // before (a range running over the new year).
    let first =
        add_days(d, to.offset.max(0).saturating_neg()).map_or(y - 2, |e| (e.year() - 1).max(y - 2));
    let last =
        add_days(d, from.offset.min(0).saturating_neg()).map_or(y + 1, |s| s.year().min(y + 1));
    (first..=last).any(|year| {
        let (Some(a), Some(mut b)) = (from.in_year(year), to.in_year(year)) else {
            return false;
        };
        if b < a {
            match to.in_year(year + 1) {
                Some(next) => b = next,
                None => return false,
            }
        }
        a <= d && d <= b
    })
}

/// The `nth` (1..=5, or -1 for the last) `weekday` of a month.
pub fn nth_weekday_in(year: i32, month: u32, nth: i8, weekday: Weekday) -> Option<NaiveDate> {
    if nth > 0 {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, u8::try_from(nth).ok()?)
    } else {
        let last = last_day_of_month(year, month)?;
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        last.checked_sub_days(Days::new(u64::from(back)))
    }
}

pub fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

/// A day of every month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthPoint {
    /// 1..=31; no day in months without it.
    Day(u32),
    LastDay,
    /// `nth` 1..=5 or -1 for the last.
    Nth(i8, Weekday),
    /// The `nth` Monday-to-Friday day (1..=5, or -1 for the last).
    Workday(i8),
}

fn is_workday(d: NaiveDate) -> bool {
    d.weekday().num_days_from_monday() < 5
}

impl MonthPoint {
    pub fn in_month(&self, year: i32, month: u32) -> Option<NaiveDate> {
        match *self {
            MonthPoint::Day(n) => NaiveDate::from_ymd_opt(year, month, n),
            MonthPoint::LastDay => last_day_of_month(year, month),
            MonthPoint::Nth(nth, wd) => nth_weekday_in(year, month, nth, wd),
            MonthPoint::Workday(nth) if nth > 0 => NaiveDate::from_ymd_opt(year, month, 1)?
                .iter_days()
                .take_while(|d| d.month() == month)
                .filter(|d| is_workday(*d))
                .nth(usize::try_from(nth - 1).ok()?),
            MonthPoint::Workday(_) => {
                let mut d = last_day_of_month(year, month)?;
                while !is_workday(d) {
                    d = d.pred_opt()?;
                }
                Some(d)
            }
        }
    }
}

fn month_before(year: i32, month: u32) -> (i32, u32) {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

fn month_after(year: i32, month: u32) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

/// Whether `d` lies in `from..=to` of some month; a range whose end comes
/// before its start runs into the next month.
pub fn monthly_matches(from: &MonthPoint, to: &MonthPoint, d: NaiveDate) -> bool {
    let here = (d.year(), d.month());
    [month_before(here.0, here.1), here].iter().any(|&(y, m)| {
        let (Some(a), Some(mut b)) = (from.in_month(y, m), to.in_month(y, m)) else {
            return false;
        };
        if b < a {
            let (ny, nm) = month_after(y, m);
            match to.in_month(ny, nm) {
                Some(next) => b = next,
                None => return false,
            }
        }
        a <= d && d <= b
    })
}

/// `every N weeks from DATE`: the weeks (Monday to Sunday) a whole number
/// of `weeks` after the week of the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub weeks: u32,
    /// The Monday of the week of the date written.
    pub monday: NaiveDate,
}

pub fn monday_of(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
        .unwrap_or(d)
}

impl Cadence {
    pub fn matches(&self, d: NaiveDate) -> bool {
        let weeks_apart = (monday_of(d) - self.monday).num_days().div_euclid(7);
        weeks_apart.rem_euclid(i64::from(self.weeks.max(1))) == 0
    }
}

/// A closed interval that a labelled `closed` clause caused; see
/// [`super::model::Window::closures`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
    pub label: String,
    /// The named calendar the clause came from, if any.
    pub calendar: Option<String>,
    /// The rules file and line of the deciding clause (a calendar's entry).
    pub file: String,
    pub line: usize,
}

impl super::model::Window {
    /// The closed intervals in `[from, to)` that a labelled `closed` clause
    /// decided, clipped to the period, in order; touching intervals with the
    /// same clause are merged. For web pages and calendar subscriptions.
    pub fn closures(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Closure> {
        let mut out: Vec<Closure> = Vec::new();
        let mut t = from;
        let span_days = u64::try_from((to - from).num_days()).unwrap_or(0) + 2;
        while t < to {
            let next = self
                .next_decision_change(t, span_days)
                .map_or(to, |n| n.min(to));
            let d = self.decide(t);
            if let Some(c) = d.because
                && !d.open
                && let Some(label) = &c.label
            {
                match out.last_mut() {
                    Some(last)
                        if last.end == t
                            && last.label == *label
                            && last.line == c.origin.line
                            && last.file == c.origin.file =>
                    {
                        last.end = next;
                    }
                    _ => out.push(Closure {
                        start: t,
                        end: next,
                        label: label.clone(),
                        calendar: c.calendar.clone(),
                        file: c.origin.file.clone(),
                        line: c.origin.line,
                    }),
                }
            }
            t = next;
        }
        out
    }
}
