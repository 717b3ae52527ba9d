//! Times and durations in words, the same everywhere shipgate speaks.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

/// `Mon 2026-03-09 08:00 EDT`
pub fn local(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// `2026-03-09T12:00:00Z`
pub fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `2 days 3 hours 5 minutes`, rounded down to minutes.
pub fn duration(d: TimeDelta) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, minutes) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    let mut parts = Vec::new();
    for (n, unit) in [(days, "day"), (hours, "hour"), (minutes, "minute")] {
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "less than a minute".to_owned()
    } else {
        parts.join(" ")
    }
}

/// `in 2 days 3 hours`
pub fn from_now(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    format!("in {}", duration(t - now))
}
