//! Evaluating a window at instants: is it open, which clause decided, when
//! does it next change, and its open intervals over a period.
//!
//! A window's state can only change at a clause boundary in local time or at
//! a change of the zone's UTC offset. `next_change` visits exactly those
//! candidate instants, in order, so it is exact at any resolution.

use chrono::{
    DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::model::{Clause, Window};

/// Why a window is open or closed at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision<'w> {
    pub open: bool,
    /// The clause that decided: the matching `closed` clause when one
    /// closes it, else the first matching `open` clause; `None` when closed
    /// because no `open` clause matches.
    pub because: Option<&'w Clause>,
    pub local: NaiveDateTime,
}

/// How far `next_change` looks ahead by default.
pub const HORIZON_DAYS: u64 = 366;

impl Window {
    /// Local wall-clock time of an instant in this window's zone.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.tz).naive_local()
    }

    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.is_open_local(self.local(at))
    }

    /// The hot path: no allocation, one pass over the clauses.
    pub fn is_open_local(&self, local: NaiveDateTime) -> bool {
        let mut open = false;
        for c in &self.clauses {
            if c.open {
                open = open || c.matches(local);
            } else if c.matches(local) {
                return false;
            }
        }
        open
    }

    pub fn decide(&self, at: DateTime<Utc>) -> Decision<'_> {
        let local = self.local(at);
        let closed_by = self.clauses.iter().find(|c| !c.open && c.matches(local));
        let opened_by = self.clauses.iter().find(|c| c.open && c.matches(local));
        match (closed_by, opened_by) {
            (Some(c), _) => Decision {
                open: false,
                because: Some(c),
                local,
            },
            (None, Some(c)) => Decision {
                open: true,
                because: Some(c),
                local,
            },
            (None, None) => Decision {
                open: false,
                because: None,
                local,
            },
        }
    }

    /// The first instant after `at` at which the window opens or closes,
    /// looking at most `horizon_days` ahead.
    pub fn next_change(&self, at: DateTime<Utc>, horizon_days: u64) -> Option<DateTime<Utc>> {
        let mut memo = DayMemo::new(self.clauses.len());
        let state = self.is_open_memo(self.local(at), &mut memo);
        self.next_where(at, horizon_days, |c| {
            self.is_open_memo(self.local(c), &mut memo) != state
        })
    }

    /// The first instant after `at` at which the window opens or closes or
    /// another clause starts deciding (e.g. one holiday right after another).
    pub fn next_decision_change(
        &self,
        at: DateTime<Utc>,
        horizon_days: u64,
    ) -> Option<DateTime<Utc>> {
        let key = |d: Decision<'_>| (d.open, d.because.map(|c| c as *const Clause));
        let mut memo = DayMemo::new(self.clauses.len());
        let state = key(self.decide_memo(self.local(at), &mut memo));
        self.next_where(at, horizon_days, |c| {
            key(self.decide_memo(self.local(c), &mut memo)) != state
        })
    }

    /// [`Window::is_open_local`] with each clause's day test memoised.
    fn is_open_memo(&self, local: NaiveDateTime, memo: &mut DayMemo) -> bool {
        let mut open = false;
        for (i, c) in self.clauses.iter().enumerate() {
            if c.open {
                open = open || c.matches_with(local, |d| memo.day_matches(i, c, d));
            } else if c.matches_with(local, |d| memo.day_matches(i, c, d)) {
                return false;
            }
        }
        open
    }

    /// [`Window::decide`] at a local time, with each clause's day test
    /// memoised.
    fn decide_memo(&self, local: NaiveDateTime, memo: &mut DayMemo) -> Decision<'_> {
        let mut find = |open: bool| {
            self.clauses
                .iter()
                .enumerate()
                .find(|(i, c)| {
                    c.open == open && c.matches_with(local, |d| memo.day_matches(*i, c, d))
                })
                .map(|(_, c)| c)
        };
        let closed_by = find(false);
        let opened_by = if closed_by.is_some() {
            None
        } else {
            find(true)
        };
        match (closed_by, opened_by) {
            (Some(c), _) => Decision {
                open: false,
                because: Some(c),
                local,
            },
            (None, Some(c)) => Decision {
                open: true,
                because: Some(c),
                local,
            },
            (None, None) => Decision {
                open: false,
                because: None,
                local,
            },
        }
    }

    /// The first candidate instant after `at` for which `changed` holds.
    fn next_where(
        &self,
        at: DateTime<Utc>,
        horizon_days: u64,
        mut changed: impl FnMut(DateTime<Utc>) -> bool,
    ) -> Option<DateTime<Utc>> {
        let limit = at + TimeDelta::days(i64::try_from(horizon_days).ok()?);
        let start = self.local(at).date().pred_opt()?;
        let mut candidates = Vec::with_capacity(32);
        // Each day's candidates are worked out once: as the next day's,
        // then kept as the day's own.
        let mut today = Vec::with_capacity(16);
        let mut tomorrow = Vec::with_capacity(16);
        self.candidates_on(start, &mut today);
        let last_day = self.local(limit).date() + Days::new(1);
        // Local days, one at a time, with the next day's candidates mixed in
        // so that a zone whose clock goes back over midnight stays ordered.
        let mut day = start;
        loop {
            candidates.clear();
            candidates.extend_from_slice(&today);
            tomorrow.clear();
            if let Some(next) = day.succ_opt() {
                self.candidates_on(next, &mut tomorrow);
            }
            candidates.extend_from_slice(&tomorrow);
            std::mem::swap(&mut today, &mut tomorrow);
            candidates.sort_unstable();
            for &c in candidates.iter().filter(|c| **c > at) {
                if c > limit {
                    return None;
                }
                if changed(c) {
                    return Some(c);
                }
            }
            day = day.succ_opt()?;
            if day > last_day {
                return None;
            }
        }
    }

    /// Candidate change instants whose local date is `day`.
    fn candidates_on(&self, day: NaiveDate, out: &mut Vec<DateTime<Utc>>) {
        for &m in &self.boundaries {
            let Some(t) = NaiveTime::from_hms_opt(u32::from(m / 60), u32::from(m % 60), 0) else {
                continue;
            };
            match self.tz.from_local_datetime(&day.and_time(t)) {
                chrono::LocalResult::Single(x) => out.push(x.with_timezone(&Utc)),
                chrono::LocalResult::Ambiguous(a, b) => {
                    out.push(a.with_timezone(&Utc));
                    out.push(b.with_timezone(&Utc));
                }
                // Skipped by a daylight-saving change: the offset change
                // below is the candidate.
                chrono::LocalResult::None => {}
            }
        }
        if let Some(t) = offset_change_on(self.tz, day) {
            out.push(t);
        }
    }

    /// Open intervals intersecting `[from, to)`, clipped to it, merged where
    /// they touch.
    pub fn open_intervals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let mut t = from;
        let mut open = self.is_open(t);
        let span_days = u64::try_from((to - from).num_days()).unwrap_or(0) + 2;
        while t < to {
            let next = self.next_change(t, span_days).map_or(to, |n| n.min(to));
            if open {
                out.push((t, next));
            }
            t = next;
            open = !open;
        }
        out
    }
}

/// Which clauses apply to which local days, worked out lazily while one
/// walk over candidate instants visits the days in order: each clause's day
/// test (Easter, yearly days with offsets, calendar files, ...) runs once per
/// day instead of once per candidate instant.
struct DayMemo {
    clauses: usize,
    /// The days remembered (at most `DAYS`), each with one state per clause:
    /// `UNKNOWN`, `NO` or `YES`.
    days: Vec<(NaiveDate, Vec<u8>)>,
}

impl DayMemo {
    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    /// A walk looks at a day, the day before (times past midnight) and the
    /// next day at once; a few more spare recomputing when it turns back.
    const DAYS: usize = 4;

    fn new(clauses: usize) -> Self {
        DayMemo {
            clauses,
            days: Vec::with_capacity(Self::DAYS),
        }
    }

    /// `clause.day_matches(d)`, for `clause` the `i`th of the window.
    fn day_matches(&mut self, i: usize, clause: &Clause, d: NaiveDate) -> bool {
        let slot = match self.days.iter().position(|(day, _)| *day == d) {
            Some(s) => s,
            None if self.days.len() < Self::DAYS => {
                self.days.push((d, vec![Self::UNKNOWN; self.clauses]));
                self.days.len() - 1
            }
            None => {
                // Reuse the earliest day's place: the walk moves forward.
                let oldest = self.days.iter_mut().min_by_key(|(day, _)| *day);
                let Some((day, states)) = oldest else {
                    return clause.day_matches(d);
                };
                *day = d;
                states.fill(Self::UNKNOWN);
                return self.day_matches(i, clause, d);
            }
        };
        let Some(state) = self.days.get_mut(slot).and_then(|(_, v)| v.get_mut(i)) else {
            return clause.day_matches(d);
        };
        if *state == Self::UNKNOWN {
            *state = if clause.day_matches(d) {
                Self::YES
            } else {
                Self::NO
            };
        }
        *state == Self::YES
    }
}

/// The first instant of local `day` in `tz` (local midnight, or the first
/// instant after it where midnight is skipped).
pub fn start_of_local_day(tz: Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(x) => Some(x.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            // Midnight skipped: the day starts at the offset change.
            let guess = tz.offset_from_utc_datetime(&midnight).fix();
            let approx =
                midnight.and_utc() - TimeDelta::seconds(i64::from(guess.local_minus_utc()));
            offset_change_between(
                tz,
                approx - TimeDelta::hours(26),
                approx + TimeDelta::hours(26),
            )
        }
    }
}

/// The instant on local `day` at which the zone's UTC offset changes, if
/// it does (found by bisection between the day's two ends).
fn offset_change_on(tz: Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    // Approximate the day's ends in UTC with the offset at noon: exact
    // enough, since we only bracket the change and bisect.
    let noon = day.and_time(NaiveTime::from_hms_opt(12, 0, 0)?).and_utc();
    let lo = noon - TimeDelta::hours(12 + 14);
    let hi = noon + TimeDelta::hours(12 + 14);
    let t = offset_change_between(tz, lo, hi)?;
    (t.with_timezone(&tz).date_naive() == day).then_some(t)
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The first instant in `(lo, hi]` with a different offset from `lo`'s,
/// assuming at most one change in between. Offsets change on whole seconds,
/// so the bisection works in whole seconds.
fn offset_change_between(tz: Tz, lo: DateTime<Utc>, hi: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0);
    let (mut lo, mut hi) = (lo.timestamp(), hi.timestamp());
    let before = offset_at(tz, at(lo)?);
    if offset_at(tz, at(hi)?) == before {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(tz, at(mid)?) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(hi)
}
