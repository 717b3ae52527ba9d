//! `shipgate calendar [--rules PATH] [--product P] WINDOW --from DATE --days N [--json]`

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;

use super::Failure;
use super::args::CalendarArgs;
use super::output::{load_rules, parse_date, pick_window, utc_text};
use crate::rules::Window;
use crate::rules::calendar::Closure;
use crate::rules::eval::start_of_local_day;

#[derive(Debug, Serialize)]
struct Interval {
    start: String,
    end: String,
}

/// A closed interval a labelled `closed` clause caused.
#[derive(Debug, Serialize)]
struct ClosedInterval {
    start: String,
    end: String,
    label: String,
    calendar: Option<String>,
    file: String,
    line: usize,
}

#[derive(Debug, Serialize)]
struct CalendarJson {
    window: String,
    product: Option<String>,
    timezone: String,
    from: String,
    to: String,
    intervals: Vec<Interval>,
    /// Why it is closed, where a labelled clause says.
    closed: Vec<ClosedInterval>,
}

pub fn run(args: &CalendarArgs, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    let loaded = load_rules(&args.rules)?;
    let product = args.rules.product.as_deref();
    let window = pick_window(&loaded.set, product, &args.window)?;
    let from = match &args.from {
        Some(d) => parse_date(d)?,
        None => window.local(now).date(),
    };
    let to = from
        .checked_add_days(Days::new(u64::from(args.days)))
        .ok_or_else(|| Failure::usage("the period runs past the end of the calendar"))?;
    let (Some(start), Some(end)) = (
        start_of_local_day(window.tz, from),
        start_of_local_day(window.tz, to),
    ) else {
        return Err(Failure::usage(
            "that period cannot be shown in this time zone",
        ));
    };
    let intervals = window.open_intervals(start, end);
    let closures = window.closures(start, end);
    if args.json {
        let out = CalendarJson {
            window: window.name.clone(),
            product: product.map(str::to_owned),
            timezone: window.tz.name().to_owned(),
            from: utc_text(start),
            to: utc_text(end),
            intervals: intervals
                .iter()
                .map(|(a, b)| Interval {
                    start: utc_text(*a),
                    end: utc_text(*b),
                })
                .collect(),
            closed: closures
                .iter()
                .map(|c| ClosedInterval {
                    start: utc_text(c.start),
                    end: utc_text(c.end),
                    label: c.label.clone(),
                    calendar: c.calendar.clone(),
                    file: c.file.clone(),
                    line: c.line,
                })
                .collect(),
        };
        let json = serde_json::to_string_pretty(&out)
            .map_err(|e| Failure::invalid(format!("error: cannot write JSON: {e}")))?;
        outln!("{json}");
    } else {
        out!(
            "{}",
            grid(
                &window,
                from,
                args.days,
                &intervals,
                &closures,
                args.color.enabled(false)
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A day-by-hour picture: one row per local day, one cell per local hour;
/// `█` open all hour, `▌` open part of it, `·` closed, `×` closed by a
/// labelled clause, blank where the hour does not exist (daylight saving).
/// Under it, the labelled closures: when, and the label.
pub fn grid(
    window: &Window,
    from: NaiveDate,
    days: u32,
    intervals: &[(DateTime<Utc>, DateTime<Utc>)],
    closures: &[Closure],
    color: bool,
) -> String {
    let (green, dim, reset) = if color {
        ("\x1b[32m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut s = String::new();
    let for_product = window
        .product
        .as_ref()
        .map(|p| format!(" for {p}"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "{}{for_product} in {} ({} days from {from})",
        window.name,
        window.tz.name(),
        days
    );
    let _ = write!(s, "{:15}", "");
    for h in (0..24).step_by(3) {
        let _ = write!(s, "{h:<3}");
    }
    s.push('\n');
    let mut day = from;
    for _ in 0..days {
        let _ = write!(s, "{} {:<4}", day.format("%Y-%m-%d"), day.weekday());
        for h in 0..24u32 {
            let cell = hour_cell(window, day, h);
            let _ = match cell {
                Cell::Open => write!(s, "{green}█{reset}"),
                Cell::Part => write!(s, "{green}▌{reset}"),
                Cell::Closed if labelled(window, closures, day, h) => {
                    write!(s, "{dim}×{reset}")
                }
                Cell::Closed => write!(s, "{dim}·{reset}"),
                Cell::Missing => write!(s, " "),
            };
        }
        let open: Vec<String> = intervals
            .iter()
            .filter(|(a, _)| window.local(*a).date() == day)
            .map(|(a, b)| {
                format!(
                    "{}-{}",
                    window.local(*a).format("%H:%M"),
                    end_text(window, *a, *b)
                )
            })
            .collect();
        if !open.is_empty() {
            let _ = write!(s, "  {}", open.join(", "));
        }
        s.push('\n');
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    let marked = if closures.is_empty() {
        ""
    } else {
        "  × closed by a labelled rule"
    };
    let _ = writeln!(
        s,
        "{green}█{reset} open  {green}▌{reset} open part of the hour  {dim}·{reset} closed{marked}"
    );
    for c in closures {
        let _ = writeln!(s, "{}", closure_line(window, c));
    }
    s
}

/// `2026-11-26 Thu  closed all day: Thanksgiving (us-holidays)`, or with
/// the local times when not a whole day.
fn closure_line(window: &Window, c: &Closure) -> String {
    let (a, b) = (window.local(c.start), window.local(c.end));
    let from = c
        .calendar
        .as_ref()
        .map(|k| format!(" ({k})"))
        .unwrap_or_default();
    let whole_days = a.time() == NaiveTime::MIN && b.time() == NaiveTime::MIN;
    let last_day = b.date().pred_opt().unwrap_or(b.date());
    let when = if whole_days && last_day == a.date() {
        "closed all day".to_owned()
    } else if whole_days {
        format!(
            "closed all day to {} {}",
            last_day.format("%Y-%m-%d"),
            last_day.weekday()
        )
    } else {
        format!(
            "closed {}-{}",
            a.format("%H:%M"),
            end_text(window, c.start, c.end)
        )
    };
    format!(
        "{} {:<4} {when}: {}{from}",
        a.date().format("%Y-%m-%d"),
        a.date().weekday(),
        c.label
    )
}

/// Whether a labelled closure covers the start of a local hour.
fn labelled(window: &Window, closures: &[Closure], day: NaiveDate, hour: u32) -> bool {
    let Some(t) = NaiveTime::from_hms_opt(hour, 0, 0) else {
        return false;
    };
    let Some(at) = window.tz.from_local_datetime(&day.and_time(t)).earliest() else {
        return false;
    };
    let at = at.with_timezone(&Utc);
    closures.iter().any(|c| c.start <= at && at < c.end)
}

fn end_text(window: &Window, a: DateTime<Utc>, b: DateTime<Utc>) -> String {
    let (la, lb) = (window.local(a), window.local(b));
    if lb.date() == la.date() {
        lb.format("%H:%M").to_string()
    } else if lb.time() == NaiveTime::MIN && lb.date() == la.date().succ_opt().unwrap_or(la.date())
    {
        "24:00".to_owned()
    } else {
        lb.format("%a %H:%M").to_string()
    }
}

enum Cell {
    Open,
    Part,
    Closed,
    Missing,
}

/// Samples the local hour minute by minute on the wall clock.
fn hour_cell(window: &Window, day: NaiveDate, hour: u32) -> Cell {
    let mut open = 0;
    let mut exists = 0;
    for m in 0..60 {
        let Some(t) = NaiveTime::from_hms_opt(hour, m, 0) else {
            continue;
        };
        let local = day.and_time(t);
        if window.tz.from_local_datetime(&local).earliest().is_none() {
            continue;
        }
        exists += 1;
        if window.is_open_local(local) {
            open += 1;
        }
    }
    match (exists, open) {
        (0, _) => Cell::Missing,
        (_, 0) => Cell::Closed,
        (e, o) if o == e => Cell::Open,
        _ => Cell::Part,
    }
}
