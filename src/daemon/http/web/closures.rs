//! Labelled closures of a window over a period, and the 4-week picture of
//! a window that the product page shows.
//!
//! [`closures`] is the one place that decides what a closure is called:
//! the rules' own `Window::closures` (where a labelled `closed` clause,
//! calendar entries included, decided the gate), put in whole local days
//! where it runs midnight to midnight.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::rules::Window;
use crate::rules::eval::start_of_local_day;

/// A labelled closure: a whole local day (`all_day`) or a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Whole local days in the window's zone, `first..=last`.
    pub days: Option<(NaiveDate, NaiveDate)>,
}

/// The labelled closures of `window` on the local days `from..to` (in the
/// window's zone): a labelled `closed` clause without a time closes whole
/// days (consecutive days with the same label make one closure); one with
/// a time closes that range on each of its days.
pub fn closures(window: &Window, from: NaiveDate, to: NaiveDate) -> Vec<Closure> {
    let (Some(start), Some(end)) = (
        start_of_local_day(window.tz, from),
        start_of_local_day(window.tz, to),
    ) else {
        return Vec::new();
    };
    let midnight = |t: DateTime<Utc>| {
        let local = t.with_timezone(&window.tz).date_naive();
        (start_of_local_day(window.tz, local) == Some(t)).then_some(local)
    };
    let mut out: Vec<Closure> = Vec::new();
    for c in window.closures(start, end) {
        // Whole local days when the closure runs midnight to midnight.
        let days = match (midnight(c.start), midnight(c.end)) {
            (Some(first), Some(after)) if after > first => after.pred_opt().map(|l| (first, l)),
            _ => None,
        };
        match out.last_mut() {
            // Consecutive whole days with the same label make one closure.
            Some(last)
                if last.label == c.label
                    && last.end == c.start
                    && last.days.is_some()
                    && days.is_some() =>
            {
                last.end = c.end;
                last.days = last.days.zip(days).map(|((f, _), (_, l))| (f, l));
            }
            _ => out.push(Closure {
                label: c.label,
                start: c.start,
                end: c.end,
                days,
            }),
        }
    }
    out
}

/// One hour of one day in the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Open,
    Part,
    Closed,
    /// The hour does not exist that day (daylight saving).
    Missing,
}

impl Cell {
    pub fn class(self) -> &'static str {
        match self {
            Cell::Open => "o",
            Cell::Part => "p",
            Cell::Closed => "c",
            Cell::Missing => "m",
        }
    }
}

/// One day (row) of the picture.
#[derive(Debug, Clone)]
pub struct Day {
    pub date: NaiveDate,
    /// `Mon 03-16`
    pub name: String,
    pub cells: Vec<(Cell, bool)>,
    /// The labels of the closures on this day, joined.
    pub label: Option<String>,
    pub today: bool,
}

/// `days` local days from `from` in `tz` (the zone the page shows), one
/// cell per local hour, sampled every 5 minutes; the hour holding `now` is
/// marked. Closures are labelled on the days they touch.
pub fn picture(
    window: &Window,
    tz: Tz,
    from: NaiveDate,
    days: u32,
    now: DateTime<Utc>,
) -> Vec<Day> {
    let to = from + chrono::Days::new(u64::from(days));
    // Closures in the window's zone, a day either side for zone shifts.
    let labelled = closures(
        window,
        from.pred_opt().unwrap_or(from),
        to.succ_opt().unwrap_or(to),
    );
    let local_now = now.with_timezone(&tz).naive_local();
    let mut out = Vec::with_capacity(days as usize);
    let mut day = from;
    while day < to {
        let mut cells = Vec::with_capacity(24);
        for h in 0..24u32 {
            let (mut exists, mut open) = (0, 0);
            for m in (0..60).step_by(5) {
                let Some(t) = NaiveTime::from_hms_opt(h, m, 0) else {
                    continue;
                };
                let Some(at) = tz.from_local_datetime(&day.and_time(t)).earliest() else {
                    continue;
                };
                exists += 1;
                if window.is_open(at.with_timezone(&Utc)) {
                    open += 1;
                }
            }
            let cell = match (exists, open) {
                (0, _) => Cell::Missing,
                (_, 0) => Cell::Closed,
                (e, o) if o == e => Cell::Open,
                _ => Cell::Part,
            };
            let is_now = local_now.date() == day && local_now.hour_of_day() == h;
            cells.push((cell, is_now));
        }
        let (start, end) = (
            start_of_local_day(tz, day),
            day.succ_opt().and_then(|n| start_of_local_day(tz, n)),
        );
        let mut labels: Vec<&str> = Vec::new();
        if let (Some(start), Some(end)) = (start, end) {
            for c in &labelled {
                // A whole-day closure counts for the day it covers most of.
                let overlap = c.end.min(end) - c.start.max(start);
                if overlap > TimeDelta::hours(if c.days.is_some() { 12 } else { 0 })
                    && !labels.contains(&c.label.as_str())
                {
                    labels.push(&c.label);
                }
            }
        }
        out.push(Day {
            date: day,
            name: format!("{} {}", day.weekday(), day.format("%m-%d")),
            cells,
            label: (!labels.is_empty()).then(|| labels.join(", ")),
            today: local_now.date() == day,
        });
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    out
}

trait HourOfDay {
    fn hour_of_day(&self) -> u32;
}

impl HourOfDay for chrono::NaiveDateTime {
    fn hour_of_day(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(text: &str) -> std::sync::Arc<Window> {
        let set = crate::rules::compile(vec![crate::rules::Source::new("t.rules", text)]).unwrap();
        set.windows.get("production").unwrap().clone()
    }

    #[test]
    fn labelled_days_merge_and_timed_closures_stay_timed() {
        let w = window(
            "timezone \"Europe/Berlin\"\nwindow production {\n  open mon-fri 08:00-16:00\n  closed 2026-03-16..2026-03-17 \"freeze\"\n  closed 2026-03-19 12:00-13:00 \"lunch demo\"\n  closed sat\n}\n",
        );
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let c = closures(&w, d("2026-03-14"), d("2026-03-21"));
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].label, "freeze");
        assert_eq!(c[0].days, Some((d("2026-03-16"), d("2026-03-17"))));
        assert_eq!(c[0].start.to_rfc3339(), "2026-03-15T23:00:00+00:00");
        assert_eq!(c[0].end.to_rfc3339(), "2026-03-17T23:00:00+00:00");
        assert_eq!(c[1].label, "lunch demo");
        assert_eq!(c[1].days, None);
        assert_eq!(c[1].start.to_rfc3339(), "2026-03-19T11:00:00+00:00");
    }

    #[test]
    fn picture_marks_now_and_labels_the_day() {
        let w = window(
            "timezone \"Europe/Berlin\"\nwindow production {\n  open mon-fri 08:00-16:00\n  closed 2026-03-16 \"holiday\"\n}\n",
        );
        let now = "2026-03-13T09:30:00Z".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 3, 13).unwrap();
        let p = picture(&w, chrono_tz::Europe::Berlin, d, 7, now);
        assert_eq!(p.len(), 7);
        assert!(p[0].today);
        assert!(p[0].cells[10].1, "10:30 Berlin is the hour marked now");
        assert_eq!(p[0].cells[10].0, Cell::Open);
        assert_eq!(p[0].cells[7].0, Cell::Closed);
        assert_eq!(p[3].label.as_deref(), Some("holiday"));
        assert_eq!(p[3].cells[10].0, Cell::Closed);
        assert_eq!(p[2].label, None);
    }
}
