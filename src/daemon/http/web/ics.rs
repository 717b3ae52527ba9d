//! `/calendar/PRODUCT/WINDOW.ics`: a window's next 90 days as iCalendar
//! (RFC 5545): each open period a timed event, each labelled closure an
//! all-day event (whole days) or a timed one.

use std::fmt::Write as _;

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::closures::closures;
use crate::rules::Window;
use crate::rules::eval::start_of_local_day;

/// How many days a subscription shows, from today in the window's zone.
pub const DAYS: u64 = 90;

/// The calendar of `window` for `product` over `DAYS` local days from the
/// local day holding `now`.
pub fn calendar(product: &str, window: &Window, now: DateTime<Utc>) -> Option<String> {
    let from = window.local(now).date();
    let to = from.checked_add_days(Days::new(DAYS))?;
    calendar_between(product, window, from, to, now)
}

/// The calendar of local days `from..to`; `now` stamps the events.
pub fn calendar_between(
    product: &str,
    window: &Window,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Option<String> {
    let start = start_of_local_day(window.tz, from)?;
    let end = start_of_local_day(window.tz, to)?;
    let stamp = utc(now);
    let mut s = String::new();
    line(&mut s, "BEGIN:VCALENDAR");
    line(&mut s, "VERSION:2.0");
    line(&mut s, "PRODID:-//shipgate//gate windows//EN");
    line(&mut s, "CALSCALE:GREGORIAN");
    line(&mut s, "METHOD:PUBLISH");
    line(
        &mut s,
        &format!(
            "X-WR-CALNAME:{}",
            text(&format!("{product} {}", window.name))
        ),
    );
    line(&mut s, &format!("X-WR-TIMEZONE:{}", window.tz.name()));
    for (a, b) in window.open_intervals(start, end) {
        line(&mut s, "BEGIN:VEVENT");
        line(
            &mut s,
            &format!("UID:{}", uid(product, &window.name, "open", a)),
        );
        line(&mut s, &format!("DTSTAMP:{stamp}"));
        line(&mut s, &format!("DTSTART:{}", utc(a)));
        line(&mut s, &format!("DTEND:{}", utc(b)));
        line(
            &mut s,
            &format!(
                "SUMMARY:{}",
                text(&format!("{product}: {} open", window.name))
            ),
        );
        line(&mut s, "TRANSP:TRANSPARENT");
        line(&mut s, "END:VEVENT");
    }
    for c in closures(window, from, to) {
        line(&mut s, "BEGIN:VEVENT");
        line(
            &mut s,
            &format!("UID:{}", uid(product, &window.name, "closed", c.start)),
        );
        line(&mut s, &format!("DTSTAMP:{stamp}"));
        match c.days {
            Some((first, last)) => {
                let after = last.succ_opt().unwrap_or(last);
                line(
                    &mut s,
                    &format!("DTSTART;VALUE=DATE:{}", first.format("%Y%m%d")),
                );
                line(
                    &mut s,
                    &format!("DTEND;VALUE=DATE:{}", after.format("%Y%m%d")),
                );
            }
            None => {
                line(&mut s, &format!("DTSTART:{}", utc(c.start)));
                line(&mut s, &format!("DTEND:{}", utc(c.end)));
            }
        }
        line(
            &mut s,
            &format!(
                "SUMMARY:{}",
                text(&format!("{product}: {} closed: {}", window.name, c.label))
            ),
        );
        line(&mut s, "TRANSP:TRANSPARENT");
        line(&mut s, "END:VEVENT");
    }
    line(&mut s, "END:VCALENDAR");
    Some(s)
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn uid(product: &str, window: &str, kind: &str, at: DateTime<Utc>) -> String {
    let clean = |x: &str| {
        x.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    format!(
        "{}-{}-{kind}-{}@shipgate",
        clean(product),
        clean(window),
        utc(at)
    )
}

/// A TEXT value: backslash, semicolon, comma and line endings escaped.
fn text(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded at 75 octets (never inside a character), CRLF.
fn line(s: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        if width + c.len_utf8() > 75 {
            s.push_str("\r\n ");
            width = 1;
        }
        s.push(c);
        width += c.len_utf8();
    }
    let _ = write!(s, "\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_and_text_escapes() {
        let mut s = String::new();
        line(&mut s, &"é".repeat(50));
        let first = s.split("\r\n").next().unwrap();
        assert!(first.len() <= 75, "{}", first.len());
        assert!(s.contains("\r\n é"));
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
