//! Evaluation pinned at instants on both sides of every daylight-saving
//! change: `is_open`, `decide`, `next_change` and `open_intervals`.
//!
//! Every expected instant below was worked out by hand from the zone's
//! published rules (and is written as a UTC literal), not read back from the
//! code under test. The zone facts used, 2026:
//!
//! - America/New_York: EST -05:00; EDT -04:00 from Sun 03-08 07:00Z (02:00
//!   EST -> 03:00 EDT) to Sun 11-01 06:00Z (02:00 EDT -> 01:00 EST).
//! - Europe/Berlin: CET +01:00; CEST +02:00 from Sun 03-29 01:00Z (02:00 ->
//!   03:00) to Sun 10-25 01:00Z (03:00 -> 02:00).
//! - Australia/Lord_Howe: +10:30 standard, +11:00 summer (a 30-minute shift);
//!   back at Sun 04-05 02:00 local (04-04 15:00Z -> 01:30), forward at
//!   Sun 10-04 02:00 local (10-03 15:30Z -> 02:30).
//! - America/Santiago: -04:00 winter, -03:00 summer; Sat 09-05 24:00 local
//!   (09-06 04:00Z) jumps to Sun 01:00, so Sunday's midnight never happens;
//!   back at 04-05 03:00Z (Sat 04-04 24:00 -> 23:00).
//! - America/Havana: -05:00 / -04:00; Sat 03-07 24:00 local (03-08 05:00Z)
//!   jumps to Sun 01:00; back at 11-01 05:00Z (01:00 -> 00:00, so Sunday's
//!   midnight happens twice).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use shipgate::rules::Window;
use shipgate::rules::eval::start_of_local_day;

mod rules_support;
use rules_support::{rules, window};

// ------------------------------------------------------------------ helpers

/// A one-window rules text: `window w { BODY }` in zone `tz`.
fn single(tz: &str, body: &str) -> Arc<Window> {
    let set = rules(&format!("timezone \"{tz}\"\nwindow w {{\n{body}\n}}\n"));
    window(&set, "w")
}

/// `2026-03-09T12:00:00Z`.
fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
        .with_timezone(&Utc)
}

/// A local wall time that happens exactly once in `tz`.
fn local(tz: Tz, s: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|e| panic!("bad local time {s}: {e}"));
    tz.from_local_datetime(&naive)
        .single()
        .unwrap_or_else(|| panic!("{s} is not a single instant in {tz}"))
        .with_timezone(&Utc)
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// Asserts the window's state at each `(instant, open)`.
#[track_caller]
fn states(w: &Window, cases: &[(&str, bool)]) {
    for (at, want) in cases {
        assert_eq!(w.is_open(utc(at)), *want, "is_open at {at}");
        assert_eq!(w.decide(utc(at)).open, *want, "decide at {at}");
    }
}

/// Follows `next_change` from `from` through `expected`, in order.
#[track_caller]
fn changes(w: &Window, from: &str, expected: &[&str]) {
    let mut t = utc(from);
    for want in expected {
        let got = w.next_change(t, 366);
        assert_eq!(got, Some(utc(want)), "next change after {t}");
        t = utc(want);
    }
}

fn intervals(list: &[(&str, &str)]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    list.iter().map(|(a, b)| (utc(a), utc(b))).collect()
}

const DEFAULT: &str = include_str!("../rules/release-process.rules");

fn default_production() -> Arc<Window> {
    window(&rules(DEFAULT), "production")
}

// ------------------------------------------------- New York, March and November

#[test]
fn new_york_keeps_local_hours_across_march_change() {
    let w = default_production();
    assert_eq!(w.tz, chrono_tz::America::New_York);
    states(
        &w,
        &[
            // Thu 2026-03-05, EST: 08:00-16:00 is 13:00Z-21:00Z.
            ("2026-03-05T12:59:59Z", false),
            ("2026-03-05T13:00:00Z", true),
            ("2026-03-05T20:59:59Z", true),
            ("2026-03-05T21:00:00Z", false),
            // Fri 2026-03-06 10:00 EST: Friday is not in mon-thu.
            ("2026-03-06T15:00:00Z", false),
            // Mon 2026-03-09, EDT: 08:00-16:00 is 12:00Z-20:00Z.
            ("2026-03-09T11:59:59Z", false),
            ("2026-03-09T12:00:00Z", true),
            ("2026-03-09T19:59:59Z", true),
            ("2026-03-09T20:00:00Z", false),
            // 20:30Z on Monday was inside the EST hours, is outside now.
            ("2026-03-09T20:30:00Z", false),
        ],
    );
}

#[test]
fn new_york_keeps_local_hours_across_november_change() {
    let w = default_production();
    states(
        &w,
        &[
            // Thu 2026-10-29, EDT: 12:00Z-20:00Z.
            ("2026-10-29T11:59:00Z", false),
            ("2026-10-29T12:00:00Z", true),
            ("2026-10-29T19:59:00Z", true),
            ("2026-10-29T20:00:00Z", false),
            // Mon 2026-11-02, EST: 13:00Z-21:00Z.
            ("2026-11-02T12:00:00Z", false),
            ("2026-11-02T12:59:59Z", false),
            ("2026-11-02T13:00:00Z", true),
            ("2026-11-02T20:30:00Z", true),
            ("2026-11-02T21:00:00Z", false),
        ],
    );
}

#[test]
fn new_york_next_change_across_march_change() {
    let w = default_production();
    // Fri 2026-03-06 18:00 EST = 23:00Z, closed; it opens Monday 08:00 EDT.
    changes(
        &w,
        "2026-03-06T23:00:00Z",
        &[
            "2026-03-09T12:00:00Z",
            "2026-03-09T20:00:00Z",
            "2026-03-10T12:00:00Z",
        ],
    );
    // Thursday's close, still EST, then the next opening after the change.
    changes(
        &w,
        "2026-03-05T14:00:00Z",
        &["2026-03-05T21:00:00Z", "2026-03-09T12:00:00Z"],
    );
    // From inside the skipped night (01:59:30 EST, 30 s before the jump).
    assert_eq!(
        w.next_change(utc("2026-03-08T06:59:30Z"), 366),
        Some(utc("2026-03-09T12:00:00Z"))
    );
}

#[test]
fn new_york_next_change_across_november_change() {
    let w = default_production();
    // Fri 2026-10-30 18:00 EDT = 22:00Z; opens Monday 08:00 EST = 13:00Z.
    changes(
        &w,
        "2026-10-30T22:00:00Z",
        &["2026-11-02T13:00:00Z", "2026-11-02T21:00:00Z"],
    );
    // From the repeated hour (01:30 EDT, then 01:30 EST).
    for at in ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"] {
        assert_eq!(
            w.next_change(utc(at), 366),
            Some(utc("2026-11-02T13:00:00Z")),
            "from {at}"
        );
    }
}

#[test]
fn new_york_boundaries_inside_the_changed_hours() {
    // 01:30-02:30 every day: on 03-08 01:30-02:00 EST exists, 02:00-03:00
    // is skipped, so it is open 06:30Z-07:00Z only. On 11-01 01:00-02:00
    // happens twice: open 05:30Z (01:30 EDT) to 06:00Z (fall back to 01:00
    // EST), again 06:30Z (01:30 EST) to 07:30Z (02:30 EST).
    let w = single("America/New_York", "open daily 01:30-02:30");
    changes(
        &w,
        "2026-03-08T00:00:00Z",
        &["2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z"],
    );
    changes(
        &w,
        "2026-11-01T00:00:00Z",
        &[
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T07:30:00Z",
        ],
    );
    assert_eq!(
        w.open_intervals(utc("2026-11-01T04:00:00Z"), utc("2026-11-01T10:00:00Z")),
        intervals(&[
            ("2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z"),
            ("2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"),
        ])
    );
    // A range wholly inside the skipped hour never opens that day.
    let skipped = single("America/New_York", "open sun 02:15-02:45");
    assert_eq!(
        skipped.next_change(utc("2026-03-08T00:00:00Z"), 366),
        // Next Sunday, 03-15 02:15 EDT = 06:15Z.
        Some(utc("2026-03-15T06:15:00Z"))
    );
}

#[test]
fn new_york_open_intervals_over_the_march_week() {
    let w = default_production();
    let from = start_of_local_day(w.tz, NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()).unwrap();
    assert_eq!(from, utc("2026-03-05T05:00:00Z"));
    let to = start_of_local_day(w.tz, NaiveDate::from_ymd_opt(2026, 3, 12).unwrap()).unwrap();
    assert_eq!(to, utc("2026-03-12T04:00:00Z"));
    assert_eq!(
        w.open_intervals(from, to),
        intervals(&[
            ("2026-03-05T13:00:00Z", "2026-03-05T21:00:00Z"),
            ("2026-03-09T12:00:00Z", "2026-03-09T20:00:00Z"),
            ("2026-03-10T12:00:00Z", "2026-03-10T20:00:00Z"),
            ("2026-03-11T12:00:00Z", "2026-03-11T20:00:00Z"),
        ])
    );
}

// ---------------------------------------------------------------- Berlin

#[test]
fn berlin_keeps_local_hours_across_both_changes() {
    let w = single("Europe/Berlin", "open weekdays 09:00-17:00");
    states(
        &w,
        &[
            // Fri 2026-03-27, CET: 08:00Z-16:00Z.
            ("2026-03-27T07:59:59Z", false),
            ("2026-03-27T08:00:00Z", true),
            ("2026-03-27T15:59:59Z", true),
            ("2026-03-27T16:00:00Z", false),
            // Mon 2026-03-30, CEST: 07:00Z-15:00Z.
            ("2026-03-30T06:59:59Z", false),
            ("2026-03-30T07:00:00Z", true),
            ("2026-03-30T14:59:59Z", true),
            ("2026-03-30T15:00:00Z", false),
            // Fri 2026-10-23, CEST: 07:00Z-15:00Z.
            ("2026-10-23T07:00:00Z", true),
            ("2026-10-23T15:00:00Z", false),
            // Mon 2026-10-26, CET: 08:00Z-16:00Z.
            ("2026-10-26T07:30:00Z", false),
            ("2026-10-26T08:00:00Z", true),
            ("2026-10-26T15:30:00Z", true),
            ("2026-10-26T16:00:00Z", false),
        ],
    );
    // Exactly at Friday's close (17:00 CET, out) to Monday 09:00 CEST.
    changes(
        &w,
        "2026-03-27T16:00:00Z",
        &["2026-03-30T07:00:00Z", "2026-03-30T15:00:00Z"],
    );
    // One second before the close: the close itself is next.
    assert_eq!(
        w.next_change(utc("2026-03-27T15:59:59Z"), 366),
        Some(utc("2026-03-27T16:00:00Z"))
    );
    changes(
        &w,
        "2026-10-23T15:00:00Z",
        &["2026-10-26T08:00:00Z", "2026-10-26T16:00:00Z"],
    );
}

#[test]
fn berlin_night_hours_stretch_and_shrink() {
    // Sunday 01:00-04:00 local: 2 real hours on 03-29, 4 on 10-25.
    let w = single("Europe/Berlin", "open sun 01:00-04:00");
    assert_eq!(
        w.open_intervals(utc("2026-03-28T12:00:00Z"), utc("2026-03-29T12:00:00Z")),
        intervals(&[("2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z")])
    );
    assert_eq!(
        w.open_intervals(utc("2026-10-24T12:00:00Z"), utc("2026-10-25T12:00:00Z")),
        intervals(&[("2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z")])
    );
    // 02:30-05:00 daily: on 03-29 02:30 never happens, so it opens at the
    // jump (01:00Z, local 03:00) and closes 05:00 CEST = 03:00Z.
    let w = single("Europe/Berlin", "open daily 02:30-05:00");
    changes(
        &w,
        "2026-03-29T00:00:00Z",
        &["2026-03-29T01:00:00Z", "2026-03-29T03:00:00Z"],
    );
    // On 10-25 02:30 happens twice: open 00:30Z (02:30 CEST), closed at the
    // fall back (01:00Z = 02:00 CET), open again 01:30Z (02:30 CET) until
    // 05:00 CET = 04:00Z.
    changes(
        &w,
        "2026-10-25T00:00:00Z",
        &[
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:30:00Z",
            "2026-10-25T04:00:00Z",
        ],
    );
}

// ------------------------------------------------------------ Lord Howe

#[test]
fn lord_howe_half_hour_shift() {
    let tz = chrono_tz::Australia::Lord_Howe;
    let w = single("Australia/Lord_Howe", "open weekdays 09:00-17:00");
    // Helper sanity: the offsets this test relies on.
    assert_eq!(local(tz, "2026-04-03 09:00"), utc("2026-04-02T22:00:00Z"));
    assert_eq!(local(tz, "2026-04-06 09:00"), utc("2026-04-05T22:30:00Z"));
    states(
        &w,
        &[
            // Fri 2026-04-03 at +11:00: 04-02 22:00Z - 04-03 06:00Z.
            ("2026-04-02T21:59:59Z", false),
            ("2026-04-02T22:00:00Z", true),
            ("2026-04-03T05:59:59Z", true),
            ("2026-04-03T06:00:00Z", false),
            // Mon 2026-04-06 at +10:30: 04-05 22:30Z - 04-06 06:30Z.
            ("2026-04-05T22:00:00Z", false),
            ("2026-04-05T22:29:59Z", false),
            ("2026-04-05T22:30:00Z", true),
            ("2026-04-06T06:15:00Z", true),
            ("2026-04-06T06:30:00Z", false),
            // Fri 2026-10-02 at +10:30: 10-01 22:30Z.
            ("2026-10-01T22:15:00Z", false),
            ("2026-10-01T22:30:00Z", true),
            // Mon 2026-10-05 at +11:00: 10-04 22:00Z - 10-05 06:00Z.
            ("2026-10-04T22:00:00Z", true),
            ("2026-10-05T06:00:00Z", false),
        ],
    );
    changes(
        &w,
        "2026-04-03T06:00:00Z",
        &["2026-04-05T22:30:00Z", "2026-04-06T06:30:00Z"],
    );
    changes(
        &w,
        "2026-10-02T06:30:00Z",
        &["2026-10-04T22:00:00Z", "2026-10-05T06:00:00Z"],
    );
    // Sunday 01:00-03:00: 2.5 real hours on 04-05, 1.5 on 10-04.
    let night = single("Australia/Lord_Howe", "open sun 01:00-03:00");
    assert_eq!(
        night.open_intervals(utc("2026-04-04T00:00:00Z"), utc("2026-04-05T00:00:00Z")),
        intervals(&[("2026-04-04T14:00:00Z", "2026-04-04T16:30:00Z")])
    );
    assert_eq!(
        night.open_intervals(utc("2026-10-03T00:00:00Z"), utc("2026-10-04T00:00:00Z")),
        intervals(&[("2026-10-03T14:30:00Z", "2026-10-03T16:00:00Z")])
    );
    // 01:45-02:15 on 04-05: 01:45 +11 (14:45Z) to the fall back at 15:00Z
    // (local 01:30 +10:30), then 01:45 +10:30 (15:15Z) to 02:15 (15:45Z).
    let short = single("Australia/Lord_Howe", "open daily 01:45-02:15");
    changes(
        &short,
        "2026-04-04T12:00:00Z",
        &[
            "2026-04-04T14:45:00Z",
            "2026-04-04T15:00:00Z",
            "2026-04-04T15:15:00Z",
            "2026-04-04T15:45:00Z",
        ],
    );
    // On 10-04 local 02:00-02:30 is skipped: open 01:45 (15:15Z) until the
    // jump at 15:30Z lands on 02:30, outside the range.
    changes(
        &short,
        "2026-10-03T12:00:00Z",
        &["2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z"],
    );
}

// ------------------------------------------- zones whose midnight is skipped

#[test]
fn santiago_skipped_midnight() {
    let tz = chrono_tz::America::Santiago;
    // The zone facts this test relies on, as chrono-tz has them.
    assert_eq!(
        tz.from_local_datetime(
            &NaiveDate::from_ymd_opt(2026, 9, 6)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        )
        .earliest(),
        None,
        "2026-09-06 00:00 should not exist in America/Santiago"
    );
    assert_eq!(
        start_of_local_day(tz, NaiveDate::from_ymd_opt(2026, 9, 6).unwrap()),
        Some(utc("2026-09-06T04:00:00Z"))
    );
    assert_eq!(
        start_of_local_day(tz, NaiveDate::from_ymd_opt(2026, 9, 5).unwrap()),
        Some(utc("2026-09-05T04:00:00Z"))
    );
    // A whole-day clause: Sunday begins at the jump, 04:00Z, and ends at
    // Monday 00:00 -03:00 = 03:00Z: 23 hours.
    let w = single("America/Santiago", "open sun");
    states(
        &w,
        &[
            ("2026-09-06T03:59:59Z", false),
            ("2026-09-06T04:00:00Z", true),
            ("2026-09-07T02:59:59Z", true),
            ("2026-09-07T03:00:00Z", false),
        ],
    );
    changes(
        &w,
        "2026-09-05T16:00:00Z",
        &["2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"],
    );
    // Saturday 22:00-02:00 overnight: 22:00 -04 = 02:00Z; the clock jumps
    // from 24:00 to 01:00 and the range ends 02:00 -03 = 05:00Z: 3 hours.
    let w = single("America/Santiago", "open sat 22:00-02:00");
    assert_eq!(
        w.open_intervals(utc("2026-09-05T12:00:00Z"), utc("2026-09-06T12:00:00Z")),
        intervals(&[("2026-09-06T02:00:00Z", "2026-09-06T05:00:00Z")])
    );
    // Falling back over midnight, Saturday 04-04 lasts 25 hours: from
    // 00:00 -03 (03:00Z) to Sunday 00:00 -04 (04-05 04:00Z).
    let w = single("America/Santiago", "open sat");
    assert_eq!(
        w.open_intervals(utc("2026-04-03T12:00:00Z"), utc("2026-04-05T12:00:00Z")),
        intervals(&[("2026-04-04T03:00:00Z", "2026-04-05T04:00:00Z")])
    );
    // 23:30-24:00 happens twice that Saturday: 02:30Z-03:00Z, and again
    // (as -04:00) 03:30Z-04:00Z.
    let w = single("America/Santiago", "open sat 23:30-24:00");
    changes(
        &w,
        "2026-04-04T12:00:00Z",
        &[
            "2026-04-05T02:30:00Z",
            "2026-04-05T03:00:00Z",
            "2026-04-05T03:30:00Z",
            "2026-04-05T04:00:00Z",
        ],
    );
}

#[test]
fn havana_skipped_and_doubled_midnight() {
    let tz = chrono_tz::America::Havana;
    assert_eq!(
        start_of_local_day(tz, NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()),
        Some(utc("2026-03-08T05:00:00Z"))
    );
    // 11-01 00:00 happens at 04:00Z (-04) and 05:00Z (-05): the day
    // starts at the first.
    assert_eq!(
        start_of_local_day(tz, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        Some(utc("2026-11-01T04:00:00Z"))
    );
    let w = single("America/Havana", "open 2026-03-08");
    assert_eq!(
        w.open_intervals(utc("2026-03-07T00:00:00Z"), utc("2026-03-10T00:00:00Z")),
        // 03-08 starts at the jump (05:00Z), ends 03-09 00:00 -04 = 04:00Z.
        intervals(&[("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")])
    );
    // 00:00-00:30 on 03-08 never happens; on 03-09 it is 04:00Z-04:30Z.
    let w = single("America/Havana", "open daily 00:00-00:30");
    changes(
        &w,
        "2026-03-07T12:00:00Z",
        &["2026-03-09T04:00:00Z", "2026-03-09T04:30:00Z"],
    );
    // On 11-01 00:00-00:30 happens twice: 04:00Z-04:30Z, 05:00Z-05:30Z.
    changes(
        &w,
        "2026-10-31T12:00:00Z",
        &[
            "2026-11-01T04:00:00Z",
            "2026-11-01T04:30:00Z",
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
        ],
    );
}

// ------------------------------------------------------- time-of-day rules

#[test]
fn half_open_ranges_and_24_00() {
    let w = single("UTC", "open daily 08:00-16:00");
    states(
        &w,
        &[
            ("2026-06-10T07:59:59Z", false),
            ("2026-06-10T08:00:00Z", true),
            ("2026-06-10T15:59:59Z", true),
            ("2026-06-10T16:00:00Z", false),
        ],
    );
    let w = single("UTC", "open daily 20:00-24:00");
    states(
        &w,
        &[
            ("2026-06-10T19:59:59Z", false),
            ("2026-06-10T20:00:00Z", true),
            ("2026-06-10T23:59:59Z", true),
            ("2026-06-11T00:00:00Z", false),
        ],
    );
    changes(
        &w,
        "2026-06-10T21:00:00Z",
        &["2026-06-11T00:00:00Z", "2026-06-11T20:00:00Z"],
    );
    // `24:00` in a zone: 24:00 New York EDT is 04:00Z next day.
    let w = single("America/New_York", "open mon 20:00-24:00");
    changes(
        &w,
        "2026-03-09T12:00:00Z",
        &["2026-03-10T00:00:00Z", "2026-03-10T04:00:00Z"],
    );
    // Whole-day `00:00-24:00` equals no time at all.
    let a = single("UTC", "open tue 00:00-24:00");
    let b = single("UTC", "open tue");
    for at in [
        "2026-06-08T23:59:59Z",
        "2026-06-09T00:00:00Z",
        "2026-06-09T23:59:59Z",
        "2026-06-10T00:00:00Z",
    ] {
        assert_eq!(a.is_open(utc(at)), b.is_open(utc(at)), "at {at}");
    }
    assert!(a.is_open(utc("2026-06-09T12:00:00Z")));
}

#[test]
fn overnight_range_belongs_to_the_day_it_starts() {
    let w = single("UTC", "open fri 22:00-02:00");
    states(
        &w,
        &[
            // Thu 2026-03-05 23:00 and Fri 01:00: the small hours of Friday
            // belong to Thursday, which is not in the set.
            ("2026-03-05T23:00:00Z", false),
            ("2026-03-06T01:00:00Z", false),
            ("2026-03-06T21:59:59Z", false),
            ("2026-03-06T22:00:00Z", true),
            ("2026-03-06T23:59:59Z", true),
            ("2026-03-07T00:00:00Z", true),
            ("2026-03-07T01:59:59Z", true),
            ("2026-03-07T02:00:00Z", false),
            // Saturday evening is not Friday.
            ("2026-03-07T22:30:00Z", false),
        ],
    );
    let d = w.decide(utc("2026-03-07T01:00:00Z"));
    assert!(d.open);
    assert_eq!(d.because.map(|c| c.origin.line), Some(3));
    changes(
        &w,
        "2026-03-06T12:00:00Z",
        &[
            "2026-03-06T22:00:00Z",
            "2026-03-07T02:00:00Z",
            "2026-03-13T22:00:00Z",
        ],
    );
    // Overnight across New York's change: Sat 03-07 22:00 EST (03:00Z) to
    // Sun 04:00 EDT (08:00Z): five real hours.
    let w = single("America/New_York", "open sat 22:00-04:00");
    assert_eq!(
        w.open_intervals(utc("2026-03-07T12:00:00Z"), utc("2026-03-08T12:00:00Z")),
        intervals(&[("2026-03-08T03:00:00Z", "2026-03-08T08:00:00Z")])
    );
    // And in November: Sat 10-31 22:00 EDT (02:00Z) to Sun 04:00 EST
    // (09:00Z): seven.
    assert_eq!(
        w.open_intervals(utc("2026-10-31T12:00:00Z"), utc("2026-11-01T12:00:00Z")),
        intervals(&[("2026-11-01T02:00:00Z", "2026-11-01T09:00:00Z")])
    );
    // A range ending at 00:00 runs to midnight.
    let w = single("UTC", "open fri 20:00-00:00");
    states(
        &w,
        &[
            ("2026-03-06T19:59:00Z", false),
            ("2026-03-06T20:00:00Z", true),
            ("2026-03-06T23:59:59Z", true),
            ("2026-03-07T00:00:00Z", false),
        ],
    );
}

#[test]
fn closed_wins_over_open_and_because_names_the_clause() {
    let text = "\
timezone \"UTC\"
window w {
    closed wed 12:00-13:00 \"lunch\"
    open daily 08:00-18:00
    open wed 11:00-20:00
}
";
    let w = window(&rules(text), "w");
    // Wed 2026-06-10.
    let lunch = w.decide(utc("2026-06-10T12:30:00Z"));
    assert!(!lunch.open);
    let c = lunch.because.expect("a closing clause");
    assert!(!c.open);
    assert_eq!(c.origin.line, 3);
    assert_eq!(c.label.as_deref(), Some("lunch"));
    assert!(c.origin.text.contains("closed wed 12:00-13:00"), "{c:?}");
    assert!(!w.is_open(utc("2026-06-10T12:30:00Z")));
    // Both opens match: the first one decides.
    let d = w.decide(utc("2026-06-10T11:30:00Z"));
    assert!(d.open);
    assert_eq!(d.because.map(|c| c.origin.line), Some(4));
    // Only the second open matches.
    let d = w.decide(utc("2026-06-10T19:00:00Z"));
    assert!(d.open);
    assert_eq!(d.because.map(|c| c.origin.line), Some(5));
    // Nothing matches.
    let d = w.decide(utc("2026-06-10T21:00:00Z"));
    assert!(!d.open);
    assert!(d.because.is_none());
    // Tuesday lunch is open.
    let d = w.decide(utc("2026-06-09T12:30:00Z"));
    assert!(d.open);
    assert_eq!(d.because.map(|c| c.origin.line), Some(4));
    assert_eq!(
        d.local,
        NaiveDate::from_ymd_opt(2026, 6, 9)
            .unwrap()
            .and_hms_opt(12, 30, 0)
            .unwrap()
    );
    changes(
        &w,
        "2026-06-10T09:00:00Z",
        &[
            "2026-06-10T12:00:00Z",
            "2026-06-10T13:00:00Z",
            "2026-06-10T20:00:00Z",
        ],
    );
}

// ---------------------------------------------------------------- dates

const CALENDAR: &str = "\
timezone \"America/New_York\"
window production {
    open weekdays 09:00-17:00
    closed 2026-12-21..2027-01-03 \"year-end freeze\"
    closed 4th thu nov \"Thanksgiving\"
    closed last mon may \"Memorial Day\"
    closed dec 24..jan 1 \"holidays\"
    closed 2026-11-25 12:00-24:00 \"half day\"
    closed 2026-07-03 \"independence day observed\"
}
";

#[track_caller]
fn decided_by(w: &Window, at: &str, open: bool, line: Option<usize>) {
    let t = local(w.tz, at);
    let d = w.decide(t);
    assert_eq!(d.open, open, "open at {at}");
    assert_eq!(w.is_open(t), open, "is_open at {at}");
    assert_eq!(
        d.because.map(|c| c.origin.line),
        line,
        "deciding line at {at}"
    );
}

#[test]
fn date_clauses() {
    let w = window(&rules(CALENDAR), "production");
    // Thanksgiving 2026 is Thu 11-26 (Nov 1 is a Sunday); 2027's is 11-25.
    decided_by(&w, "2026-11-19 10:00", true, Some(3));
    decided_by(&w, "2026-11-26 10:00", false, Some(5));
    decided_by(&w, "2026-11-27 10:00", true, Some(3));
    decided_by(&w, "2027-11-25 10:00", false, Some(5));
    decided_by(&w, "2027-11-18 10:00", true, Some(3));
    // Memorial Day: Mon 2026-05-25; in 2027 the last Monday is 05-31.
    decided_by(&w, "2026-05-18 10:00", true, Some(3));
    decided_by(&w, "2026-05-25 10:00", false, Some(6));
    decided_by(&w, "2027-05-24 10:00", true, Some(3));
    decided_by(&w, "2027-05-31 10:00", false, Some(6));
    // The half day, Wed 2026-11-25: open until noon, closed after.
    decided_by(&w, "2026-11-25 11:59", true, Some(3));
    decided_by(&w, "2026-11-25 12:00", false, Some(8));
    decided_by(&w, "2026-11-25 16:59", false, Some(8));
    decided_by(&w, "2026-11-24 12:00", true, Some(3));
    // From Wednesday 11:00 EST: closes at noon (17:00Z), stays closed
    // through Thanksgiving, opens Fri 11-27 09:00 EST (14:00Z).
    changes(
        &w,
        "2026-11-25T16:00:00Z",
        &["2026-11-25T17:00:00Z", "2026-11-27T14:00:00Z"],
    );
    // One-off date, Fri 2026-07-03.
    decided_by(&w, "2026-07-02 10:00", true, Some(3));
    decided_by(&w, "2026-07-03 10:00", false, Some(9));
    // The inclusive freeze, Mon 2026-12-21 to Sun 2027-01-03.
    decided_by(&w, "2026-12-18 10:00", true, Some(3));
    decided_by(&w, "2026-12-21 09:00", false, Some(4));
    decided_by(&w, "2027-01-01 10:00", false, Some(4));
    decided_by(&w, "2027-01-04 09:00", true, Some(3));
    // The yearly holidays in 2027, outside the freeze: Thu 12-23 open,
    // Fri 12-24 and Fri 12-31 closed.
    decided_by(&w, "2027-12-23 10:00", true, Some(3));
    decided_by(&w, "2027-12-24 10:00", false, Some(7));
    decided_by(&w, "2027-12-31 10:00", false, Some(7));
    decided_by(&w, "2028-01-03 10:00", true, Some(3));
}

#[test]
fn inclusive_date_ranges_and_yearly_wrap() {
    let text = "\
timezone \"Europe/Berlin\"
window range {
    open daily
    closed 2026-12-21..2026-12-23
}
window yearly {
    open daily
    closed dec 24..jan 1
}
window single {
    open dec 24
}
";
    let set = rules(text);
    let tz = chrono_tz::Europe::Berlin;
    let range = window(&set, "range");
    for (at, open) in [
        ("2026-12-20 23:59", true),
        ("2026-12-21 00:00", false),
        ("2026-12-23 23:59", false),
        ("2026-12-24 00:00", true),
    ] {
        assert_eq!(range.is_open(local(tz, at)), open, "range at {at}");
    }
    // Midnight CET is 23:00Z the day before.
    changes(
        &range,
        "2026-12-19T12:00:00Z",
        &["2026-12-20T23:00:00Z", "2026-12-23T23:00:00Z"],
    );
    let yearly = window(&set, "yearly");
    for (at, open) in [
        ("2026-06-15 12:00", true),
        ("2026-12-23 23:59", true),
        ("2026-12-24 00:00", false),
        ("2026-12-31 23:59", false),
        ("2027-01-01 00:00", false),
        ("2027-01-01 23:59", false),
        ("2027-01-02 00:00", true),
        ("2027-12-24 00:00", false),
        ("2025-12-30 08:00", false),
        ("2026-01-02 08:00", true),
    ] {
        assert_eq!(yearly.is_open(local(tz, at)), open, "yearly at {at}");
    }
    changes(
        &yearly,
        "2026-12-01T00:00:00Z",
        &["2026-12-23T23:00:00Z", "2027-01-01T23:00:00Z"],
    );
    let single = window(&set, "single");
    for (at, open) in [
        ("2026-12-23 23:59", false),
        ("2026-12-24 00:00", true),
        ("2026-12-24 23:59", true),
        ("2026-12-25 00:00", false),
    ] {
        assert_eq!(single.is_open(local(tz, at)), open, "single at {at}");
    }
}

#[test]
fn nth_weekday_edges() {
    let text = "\
timezone \"UTC\"
window w {
    open 1st mon sep
    open 5th fri jan
    open last sun feb
}
";
    let w = window(&rules(text), "w");
    // Labor Day 2026: Sep 1 is a Tuesday, so the first Monday is 09-07.
    states(
        &w,
        &[
            ("2026-08-31T12:00:00Z", false),
            ("2026-09-07T00:00:00Z", true),
            ("2026-09-07T23:59:59Z", true),
            ("2026-09-14T12:00:00Z", false),
        ],
    );
    // Fridays in January 2026: 2, 9, 16, 23, 30; in 2027: 1, 8, 15, 22,
    // 29; in 2028: 7, 14, 21, 28 (no fifth).
    states(
        &w,
        &[
            ("2027-01-29T12:00:00Z", true),
            ("2027-01-22T12:00:00Z", false),
            ("2026-01-30T12:00:00Z", true),
            ("2028-01-28T12:00:00Z", false),
        ],
    );
    // Last Sunday of February: 2026-02-22, 2028-02-27 (2028 is a leap
    // year; Feb 29 2028 is a Tuesday).
    states(
        &w,
        &[
            ("2026-02-22T12:00:00Z", true),
            ("2026-02-15T12:00:00Z", false),
            ("2028-02-27T12:00:00Z", true),
            ("2028-02-20T12:00:00Z", false),
        ],
    );
}

// ------------------------------------------------------------- products

#[test]
fn product_overrides_one_product_only() {
    let text = "\
timezone \"America/New_York\"
window production {
    open mon-thu 08:00-16:00
}
window candidate {
    open always
}
product payments {
    window production { open tue-wed 10:00-14:00 }
}
product berlin {
    timezone \"Europe/Berlin\"
    window production { open mon 09:00-10:00 }
}
product other {
    window candidate { closed always }
}
";
    let set = rules(text);
    let top = set.window(None, "production").unwrap();
    let pay = set.window(Some("payments"), "production").unwrap();
    assert_eq!(pay.product.as_deref(), Some("payments"));
    assert_eq!(top.product, None);
    assert_eq!(pay.tz, chrono_tz::America::New_York);
    // Mon 2026-03-09 09:00 EDT = 13:00Z: open at top level, not for payments.
    let mon9 = utc("2026-03-09T13:00:00Z");
    assert!(top.is_open(mon9));
    assert!(!pay.is_open(mon9));
    // Tue 2026-03-10 10:00 EDT = 14:00Z, 14:00 EDT = 18:00Z.
    assert!(pay.is_open(utc("2026-03-10T14:00:00Z")));
    assert!(!pay.is_open(utc("2026-03-10T13:59:59Z")));
    assert!(!pay.is_open(utc("2026-03-10T18:00:00Z")));
    assert!(top.is_open(utc("2026-03-10T18:00:00Z")));
    let because = pay.decide(utc("2026-03-10T15:00:00Z")).because.unwrap();
    assert_eq!(because.origin.line, 9);
    // The product override is honoured across the change too: Tue 03-03
    // 10:00 EST = 15:00Z.
    assert_eq!(
        pay.next_change(utc("2026-03-02T12:00:00Z"), 366),
        Some(utc("2026-03-03T15:00:00Z"))
    );
    // Windows a product does not override are the top-level ones.
    assert!(Arc::ptr_eq(
        set.window(Some("payments"), "candidate").unwrap(),
        set.window(None, "candidate").unwrap()
    ));
    // Another product's override does not leak.
    assert!(Arc::ptr_eq(
        set.window(Some("other"), "production").unwrap(),
        top
    ));
    assert!(
        !set.window(Some("other"), "candidate")
            .unwrap()
            .is_open(mon9)
    );
    assert!(
        set.window(Some("payments"), "candidate")
            .unwrap()
            .is_open(mon9)
    );
    // A product's own time zone: Mon 2026-03-30 09:00 CEST = 07:00Z.
    let ber = set.window(Some("berlin"), "production").unwrap();
    assert_eq!(ber.tz, chrono_tz::Europe::Berlin);
    assert!(ber.is_open(utc("2026-03-30T07:00:00Z")));
    assert!(!ber.is_open(utc("2026-03-30T08:00:00Z")));
    // Mon 2026-03-23, CET: 08:00Z.
    assert!(!ber.is_open(utc("2026-03-23T07:00:00Z")));
    assert!(ber.is_open(utc("2026-03-23T08:00:00Z")));
}

// ---------------------------------------------------- intervals and horizon

#[test]
fn open_intervals_clipped_and_merged() {
    // Two ranges that touch at midnight and two that overlap.
    let text = "\
timezone \"UTC\"
window touch {
    open daily 00:00-06:00
    open daily 20:00-24:00
}
window overlap {
    open mon 08:00-12:00
    open mon 10:00-14:00
    open mon 14:00-15:00
}
";
    let set = rules(text);
    let touch = window(&set, "touch");
    assert_eq!(
        touch.open_intervals(utc("2026-01-01T03:00:00Z"), utc("2026-01-03T02:00:00Z")),
        intervals(&[
            ("2026-01-01T03:00:00Z", "2026-01-01T06:00:00Z"),
            ("2026-01-01T20:00:00Z", "2026-01-02T06:00:00Z"),
            ("2026-01-02T20:00:00Z", "2026-01-03T02:00:00Z"),
        ])
    );
    // Midnight is not a change.
    assert_eq!(
        touch.next_change(utc("2026-01-01T21:00:00Z"), 366),
        Some(utc("2026-01-02T06:00:00Z"))
    );
    let overlap = window(&set, "overlap");
    // Mon 2026-06-08.
    assert_eq!(
        overlap.open_intervals(utc("2026-06-08T00:00:00Z"), utc("2026-06-09T00:00:00Z")),
        intervals(&[("2026-06-08T08:00:00Z", "2026-06-08T15:00:00Z")])
    );
    // Clipped on both sides.
    assert_eq!(
        overlap.open_intervals(utc("2026-06-08T09:30:00Z"), utc("2026-06-08T11:00:00Z")),
        intervals(&[("2026-06-08T09:30:00Z", "2026-06-08T11:00:00Z")])
    );
    // Empty period, and a period with nothing open.
    assert!(
        overlap
            .open_intervals(utc("2026-06-08T09:30:00Z"), utc("2026-06-08T09:30:00Z"))
            .is_empty()
    );
    assert!(
        overlap
            .open_intervals(utc("2026-06-09T00:00:00Z"), utc("2026-06-14T00:00:00Z"))
            .is_empty()
    );
    // Ending exactly at an opening leaves it out; starting exactly at a
    // close leaves that out.
    assert_eq!(
        overlap.open_intervals(utc("2026-06-08T15:00:00Z"), utc("2026-06-15T08:00:00Z")),
        Vec::new()
    );
    // A long period: every Monday over four weeks.
    let got = overlap.open_intervals(utc("2026-06-01T00:00:00Z"), utc("2026-06-29T00:00:00Z"));
    let want: Vec<_> = [1, 8, 15, 22]
        .iter()
        .map(|d| {
            (
                utc(&format!("2026-06-{d:02}T08:00:00Z")),
                utc(&format!("2026-06-{d:02}T15:00:00Z")),
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn next_change_horizon() {
    let set = rules(DEFAULT);
    let candidate = window(&set, "candidate");
    assert!(candidate.is_open(utc("2026-03-14T23:30:00Z")));
    assert_eq!(
        candidate.next_change(utc("2026-03-14T23:30:00Z"), 366),
        None
    );
    assert_eq!(
        candidate.next_change(utc("2026-11-01T06:00:00Z"), 366),
        None
    );
    assert_eq!(
        candidate.open_intervals(utc("2026-03-01T00:00:00Z"), utc("2026-03-31T00:00:00Z")),
        intervals(&[("2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z")])
    );
    // A far closure is found only within the horizon.
    let w = single("UTC", "open always\nclosed 2027-06-01");
    assert_eq!(w.next_change(utc("2026-06-10T00:00:00Z"), 8), None);
    assert_eq!(
        w.next_change(utc("2026-06-10T00:00:00Z"), 366),
        Some(utc("2027-06-01T00:00:00Z"))
    );
    // A change exactly at the horizon counts; one second beyond does not.
    assert_eq!(
        w.next_change(utc("2027-05-31T00:00:00Z"), 1),
        Some(utc("2027-06-01T00:00:00Z"))
    );
    assert_eq!(w.next_change(utc("2027-05-30T23:59:59Z"), 1), None);
    // A window that is never open never changes.
    let never = single("UTC", "open mon 08:00-09:00\nclosed always");
    assert_eq!(never.next_change(utc("2026-06-10T00:00:00Z"), 366), None);
    assert!(!never.is_open(utc("2026-06-08T08:30:00Z")));
    // Sub-second and mid-minute instants: the change is still exact.
    let w = default_production();
    let t = utc("2026-03-09T11:59:59Z") + TimeDelta::milliseconds(999);
    assert!(!w.is_open(t));
    assert_eq!(w.next_change(t, 366), Some(utc("2026-03-09T12:00:00Z")));
    assert_eq!(
        w.next_change(utc("2026-03-09T12:00:00Z") - secs(30), 366),
        Some(utc("2026-03-09T12:00:00Z"))
    );
}

#[test]
fn default_rules_tests_hold() {
    // The default file's own `test` block, restated as instants.
    let set = rules(DEFAULT);
    let p = window(&set, "production");
    let c = window(&set, "candidate");
    assert!(p.is_open(utc("2026-03-09T12:00:00Z")));
    assert!(!p.is_open(utc("2026-03-09T20:00:00Z")));
    assert!(!p.is_open(utc("2026-03-13T14:00:00Z")));
    assert!(c.is_open(utc("2026-03-15T03:30:00Z")));
    assert_eq!(set.expectations.len(), 4);
    for e in &set.expectations {
        let w = set.window(e.product.as_deref(), &e.window).unwrap();
        assert_eq!(w.is_open(e.at), e.open, "{}", e.written);
    }
}
