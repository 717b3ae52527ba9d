//! Local wall-clock times that people write, turned into instants, with
//! daylight-saving gaps and overlaps reported instead of guessed.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalTimeError {
    /// Skipped when the clocks went forward.
    Nonexistent,
    /// Happens twice when the clocks went back.
    Ambiguous {
        earlier: FixedOffset,
        later: FixedOffset,
    },
}

/// The instant of a local time in `tz`, refusing times that do not exist or
/// happen twice.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Result<DateTime<Utc>, LocalTimeError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Err(LocalTimeError::Ambiguous {
            earlier: a.offset().fix(),
            later: b.offset().fix(),
        }),
        LocalResult::None => Err(LocalTimeError::Nonexistent),
    }
}

/// A local time with an explicit offset: the instant it names.
pub fn with_offset(local: NaiveDateTime, offset_secs: i32) -> Option<DateTime<Utc>> {
    let off = FixedOffset::east_opt(offset_secs)?;
    off.from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// `-05:00` style.
pub fn format_offset(off: FixedOffset) -> String {
    let s = off.local_minus_utc();
    let sign = if s < 0 { '-' } else { '+' };
    let s = s.abs();
    format!("{sign}{:02}:{:02}", s / 3600, (s % 3600) / 60)
}

/// The UTC offset in force just before the daylight-saving gap that
/// swallows the local time `written`, for a help line.
fn offset_before_gap(written: &str, tz: Tz) -> Option<FixedOffset> {
    let local = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(written.trim(), f).ok())?;
    // A day earlier is before the change; gaps never come twice a day.
    let before = local.checked_sub_signed(chrono::TimeDelta::days(1))?;
    Some(tz.offset_from_utc_datetime(&before).fix())
}

impl LocalTimeError {
    /// A sentence and a fix, for `written` (e.g. `2026-03-08 02:30`).
    pub fn explain(&self, written: &str, tz: Tz) -> (String, String) {
        match self {
            LocalTimeError::Nonexistent => (
                format!(
                    "`{written}` does not exist in {}: the clocks skip that time when daylight saving starts",
                    tz.name()
                ),
                match offset_before_gap(written, tz) {
                    Some(off) => format!(
                        "pick a time outside the skipped hour, or write the UTC offset you \
                         mean, like `{written} {}`",
                        format_offset(off)
                    ),
                    None => "pick a time outside the skipped hour, or give the UTC offset \
                             explicitly, like `2026-03-08 02:30 -05:00`"
                        .to_owned(),
                },
            ),
            LocalTimeError::Ambiguous { earlier, later } => (
                format!(
                    "`{written}` happens twice in {}: the clocks go back when daylight saving ends",
                    tz.name()
                ),
                format!(
                    "say which one with its UTC offset: `{written} {}` (the first) or `{written} {}` (the second)",
                    format_offset(*earlier),
                    format_offset(*later)
                ),
            ),
        }
    }
}

/// An instant as people type it: RFC 3339 (`2026-03-09T12:00:00Z`, or with
/// an offset), or local `YYYY-MM-DD HH:MM[:SS]` in `tz`. Errors are a
/// sentence and a fix.
pub fn parse_instant(text: &str, tz: Tz) -> Result<DateTime<Utc>, (String, String)> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    // A local time with an explicit offset, as suggested for DST overlaps.
    for f in ["%Y-%m-%d %H:%M %:z", "%Y-%m-%d %H:%M:%S %:z"] {
        if let Ok(t) = DateTime::parse_from_str(text, f) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    let local = [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .ok_or_else(|| {
        (
            format!("`{text}` is not a time"),
            "write RFC 3339 like `2026-03-09T12:00:00Z` or a local time like `2026-03-09 12:00`"
                .to_owned(),
        )
    })?;
    resolve_local(tz, local).map_err(|e| e.explain(text, tz))
}
