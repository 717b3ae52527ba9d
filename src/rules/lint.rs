//! Warnings: rules that are valid but cannot be what was meant, like a
//! clause that never changes anything because another clause of the same
//! kind in the same window already covers every minute it covers.

use chrono::{Datelike, NaiveDate};

use super::calendar::{last_day_of_month, nth_weekday_in};
use super::model::{Clause, DateMatch, DayMatch, Minutes, Window};

/// Windows with more clauses than this are not compared pairwise.
const MOST_CLAUSES: usize = 200;
/// The years compared, with those of any date written in the window.
const FIRST_YEAR: i32 = 2026;
const LAST_YEAR: i32 = 2033;
/// Windows whose dates span more years than this are not compared.
const MOST_YEARS: i32 = 40;

/// For each clause that can never matter, its index and the index of a
/// clause of the same kind (`open` or `closed`) that covers it. Clauses
/// from named calendars are left out: calendars are shared, and overlap
/// between them is expected. Days are compared over 2026 to 2033 (and the
/// years of the dates written), so a clause that matches no day there is
/// never reported.
pub fn covered_clauses(window: &Window) -> Vec<(usize, usize)> {
    let own: Vec<(usize, &Clause)> = window
        .clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.calendar.is_none())
        .collect();
    if own.len() < 2 || own.len() > MOST_CLAUSES {
        return Vec::new();
    }
    let Some((first, last)) = period(own.iter().map(|(_, c)| *c)) else {
        return Vec::new();
    };
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let sets: Vec<Vec<u64>> = own.iter().map(|(_, c)| day_bits(c, &days)).collect();
    let mut out = Vec::new();
    for (bi, (b_index, b)) in own.iter().enumerate() {
        if sets[bi].iter().all(|w| *w == 0) {
            continue;
        }
        let cover = own.iter().enumerate().find(|(ai, (a_index, a))| {
            *ai != bi
                && a.open == b.open
                && time_covers(a.time, b.time)
                && subset(&sets[bi], &sets[*ai])
                // A labelled clause first in line gives the reason shown
                // on its days, so it matters.
                && !(b.label.is_some() && b_index < a_index)
                // Two clauses covering each other: only the later one is
                // the repeat.
                && (a_index < b_index
                    || !(subset(&sets[*ai], &sets[bi]) && time_covers(b.time, a.time)))
        });
        if let Some((_, (a_index, _))) = cover {
            out.push((*b_index, *a_index));
        }
    }
    out
}

/// The days compared: 2026 to 2033, widened to the dates written.
fn period<'a>(clauses: impl Iterator<Item = &'a Clause>) -> Option<(NaiveDate, NaiveDate)> {
    let mut first = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1)?;
    let mut last = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31)?;
    for c in clauses {
        if let DayMatch::Dates(ds) = &c.days {
            for d in ds {
                if let DateMatch::Range(from, to) = d {
                    first = first.min(*from);
                    last = last.max(*to);
                }
            }
        }
    }
    (last.year() - first.year() <= MOST_YEARS).then_some((first, last))
}

/// Bit `i` is set when `c` applies to `days[i]` (`days` are consecutive).
/// Every day of a window's clauses is tested over eight years, for every
/// window of a file, so the common forms are filled without asking each
/// day: every day, days of the week (a pattern repeating every 7 days) and
/// date ranges; the other forms and week cadences ask each day.
fn day_bits(c: &Clause, days: &[NaiveDate]) -> Vec<u64> {
    let mut bits = vec![0u64; days.len().div_ceil(64)];
    let set = |bits: &mut Vec<u64>, i: usize| {
        if let Some(w) = bits.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    };
    let Some(first) = days.first().copied() else {
        return bits;
    };
    match &c.days {
        DayMatch::Always => (0..days.len()).for_each(|i| set(&mut bits, i)),
        DayMatch::Weekdays(mask) => {
            let w0 = first.weekday().num_days_from_monday() as usize;
            for i in 0..days.len() {
                if mask & (1 << ((w0 + i) % 7)) != 0 {
                    set(&mut bits, i);
                }
            }
        }
        DayMatch::Dates(ds) => {
            for m in ds {
                match m {
                    DateMatch::Range(from, to) => fill(&mut bits, first, days.len(), *from, *to),
                    DateMatch::NthWeekday {
                        nth,
                        weekday,
                        month,
                    } => {
                        for y in years(days) {
                            if let Some(x) = nth_weekday_in(y, *month, *nth, *weekday) {
                                fill(&mut bits, first, days.len(), x, x);
                            }
                        }
                    }
                    DateMatch::Yearly { from, to } if plain_day(*from) && plain_day(*to) => {
                        for y in years(days) {
                            let (Some(jan1), Some(dec31)) = (
                                NaiveDate::from_ymd_opt(y, 1, 1),
                                NaiveDate::from_ymd_opt(y, 12, 31),
                            ) else {
                                continue;
                            };
                            let (a, b) = (on_or_after(y, *from), on_or_before(y, *to));
                            if from <= to {
                                if let (Some(a), Some(b)) = (a, b) {
                                    fill(&mut bits, first, days.len(), a, b);
                                }
                            } else {
                                if let Some(b) = b {
                                    fill(&mut bits, first, days.len(), jan1, b);
                                }
                                if let Some(a) = a {
                                    fill(&mut bits, first, days.len(), a, dec31);
                                }
                            }
                        }
                    }
                    other => {
                        for (i, d) in days.iter().enumerate() {
                            if other.matches(*d) {
                                set(&mut bits, i);
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(cadence) = c.cadence {
        for (i, d) in days.iter().enumerate() {
            if !cadence.matches(*d)
                && let Some(w) = bits.get_mut(i / 64)
            {
                *w &= !(1 << (i % 64));
            }
        }
    }
    bits
}

/// Sets the bits of the days `a..=b` (clipped to the `len` days from
/// `first`).
fn fill(bits: &mut [u64], first: NaiveDate, len: usize, a: NaiveDate, b: NaiveDate) {
    let index = |d: NaiveDate| (d - first).num_days();
    let last = i64::try_from(len).unwrap_or(i64::MAX) - 1;
    for i in index(a).max(0)..=index(b).min(last) {
        if let Ok(i) = usize::try_from(i)
            && let Some(w) = bits.get_mut(i / 64)
        {
            *w |= 1 << (i % 64);
        }
    }
}

/// The years of consecutive `days` (not empty).
fn years(days: &[NaiveDate]) -> std::ops::RangeInclusive<i32> {
    let first = days.first().map_or(0, |d| d.year());
    first..=days.last().map_or(first, |d| d.year())
}

/// A `(month, day)` of a yearly range that `on_or_after` and
/// `on_or_before` handle (days past a month's end included).
fn plain_day((m, d): (u32, u32)) -> bool {
    (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// The first date of `year` whose `(month, day)` is at least `md`.
fn on_or_after(year: i32, (m, d): (u32, u32)) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, m, d).or_else(|| {
        // Past the month's end (`feb 29` in a common year): the next month.
        (m < 12).then(|| NaiveDate::from_ymd_opt(year, m + 1, 1))?
    })
}

/// The last date of `year` whose `(month, day)` is at most `md`.
fn on_or_before(year: i32, (m, d): (u32, u32)) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, m, d).or_else(|| last_day_of_month(year, m))
}

fn subset(small: &[u64], big: &[u64]) -> bool {
    small.iter().zip(big).all(|(s, b)| s & !b == 0)
}

/// Whether time range `a` covers every minute of `b` on the same day
/// (conservative: `false` when unsure, so no warning).
fn time_covers(a: Option<Minutes>, b: Option<Minutes>) -> bool {
    let whole = |m: Minutes| m.start == 0 && m.end == 1440;
    match (a, b) {
        (None, _) => true,
        (Some(a), _) if whole(a) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => {
            let a_wraps = a.end < a.start;
            let b_wraps = b.end < b.start;
            match (a_wraps, b_wraps) {
                (false, false) | (true, true) => a.start <= b.start && b.end <= a.end,
                // `b` within the evening part of `a`.
                (true, false) => a.start <= b.start,
                (false, true) => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(start: u16, end: u16) -> Option<Minutes> {
        Some(Minutes { start, end })
    }

    /// `day_bits` fills the common forms without asking each day; it must
    /// agree with asking each day.
    #[test]
    fn day_bits_agree_with_day_matches() {
        use super::super::model::{Cadence, Origin, YearlyBase, YearlyDay};
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        let clause = |days: DayMatch, cadence: Option<Cadence>| Clause {
            open: false,
            days,
            time: None,
            cadence,
            label: None,
            calendar: None,
            origin: Origin {
                file: "x".to_owned(),
                line: 1,
                text: String::new(),
            },
        };
        let easter = YearlyDay {
            base: YearlyBase::Easter,
            offset: -2,
        };
        let forms = [
            DayMatch::Always,
            DayMatch::Weekdays(0b0101_0011),
            DayMatch::Weekdays(0),
            DayMatch::Dates(vec![
                DateMatch::Range(d(2025, 12, 30), d(2026, 1, 2)),
                DateMatch::Range(d(2033, 12, 30), d(2034, 1, 2)),
                DateMatch::Range(d(2029, 2, 27), d(2029, 3, 1)),
            ]),
            DayMatch::Dates(vec![
                DateMatch::Yearly {
                    from: (12, 24),
                    to: (1, 1),
                },
                DateMatch::Anchored {
                    from: easter,
                    to: easter,
                },
                DateMatch::Range(d(2027, 5, 1), d(2027, 4, 1)),
            ]),
            DayMatch::Dates(vec![
                DateMatch::Yearly {
                    from: (2, 29),
                    to: (3, 2),
                },
                DateMatch::Yearly {
                    from: (11, 30),
                    to: (2, 29),
                },
                DateMatch::Yearly {
                    from: (6, 1),
                    to: (6, 1),
                },
            ]),
            DayMatch::Dates(vec![DateMatch::Yearly {
                from: (4, 31),
                to: (4, 30),
            }]),
            DayMatch::Dates(vec![
                DateMatch::NthWeekday {
                    nth: 5,
                    weekday: chrono::Weekday::Fri,
                    month: 1,
                },
                DateMatch::NthWeekday {
                    nth: -1,
                    weekday: chrono::Weekday::Mon,
                    month: 5,
                },
                DateMatch::NthWeekday {
                    nth: 4,
                    weekday: chrono::Weekday::Thu,
                    month: 11,
                },
            ]),
        ];
        let days: Vec<NaiveDate> = d(2026, 1, 1)
            .iter_days()
            .take_while(|x| *x <= d(2033, 12, 31))
            .collect();
        let cadence = Cadence {
            weeks: 3,
            monday: d(2026, 1, 5),
        };
        for form in forms {
            for k in [None, Some(cadence)] {
                let c = clause(form.clone(), k);
                let mut want = vec![0u64; days.len().div_ceil(64)];
                for (i, x) in days.iter().enumerate() {
                    if c.day_matches(*x) {
                        want[i / 64] |= 1 << (i % 64);
                    }
                }
                assert_eq!(day_bits(&c, &days), want, "{form:?} {k:?}");
            }
        }
    }

    #[test]
    fn time_cover() {
        assert!(time_covers(None, m(60, 120)));
        assert!(time_covers(m(0, 1440), None));
        assert!(!time_covers(m(60, 120), None));
        assert!(time_covers(m(60, 180), m(60, 120)));
        assert!(!time_covers(m(60, 120), m(30, 120)));
        assert!(time_covers(m(1320, 360), m(1380, 1420)));
        assert!(!time_covers(m(1320, 360), m(60, 120)));
        assert!(time_covers(m(1320, 360), m(1380, 300)));
    }
}
