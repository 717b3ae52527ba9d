//! iCalendar files in the rules: `calendar NAME from "FILE.ics"`.
//!
//! A corpus of small `.ics` files written here: all-day, timed and
//! multi-day events, `RRULE` (yearly, monthly, weekly, with BY-parts,
//! `COUNT` and `UNTIL`), `EXDATE`, `VTIMEZONE`/`TZID`, and broken files
//! reported at their line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use shipgate::rules::{RuleSet, Source, Window, compile, source};

const RULES: &str = r#"calendar company "Company days" from "holidays.ics"

window production {
    open always
    closed calendar company
}

window berlin {
    timezone "Europe/Berlin"
    open always
    closed calendar company
}
"#;

/// The rules above with `ics` as `team/holidays.ics`.
fn compiled(ics: &str) -> Result<RuleSet, String> {
    compile(vec![
        Source::new("team/release.rules", RULES),
        Source::new("team/holidays.ics", ics),
    ])
    .map_err(|ds| {
        ds.iter()
            .map(|d| d.render(false))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn window(ics: &str, name: &str) -> Arc<Window> {
    let set = compiled(ics).unwrap_or_else(|e| panic!("did not compile:\n{e}"));
    set.window(None, name).unwrap().clone()
}

fn errors(ics: &str) -> String {
    match compiled(ics) {
        Ok(_) => panic!("expected errors for:\n{ics}"),
        Err(e) => e,
    }
}

/// A calendar file of these events.
fn calendar(events: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//shipgate tests//EN\r\n{events}END:VCALENDAR\r\n"
    )
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// The days of `year` on which `w` is closed at noon UTC, as `MM-DD`.
fn closed_days(w: &Window, year: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    while d < NaiveDate::from_ymd_opt(year + 1, 1, 1).unwrap() {
        if !w.is_open(d.and_hms_opt(12, 0, 0).unwrap().and_utc()) {
            out.push(d.format("%m-%d").to_string());
        }
        d = d.succ_opt().unwrap();
    }
    out
}

#[test]
fn all_day_and_multi_day_events_close_their_days() {
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\n\
         SUMMARY:Winter break\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:b\r\nDTSTART;VALUE=DATE:20260501\r\nSUMMARY:Labour Day\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert_eq!(closed_days(&w, 2026), ["05-01", "12-24", "12-25", "12-26"]);
    assert!(closed_days(&w, 2027).is_empty(), "no RRULE: one year only");
    // All-day events are days of the window's own zone.
    let b = window(&ics, "berlin");
    let berlin = chrono_tz::Europe::Berlin;
    assert!(b.is_open(local(berlin, 2026, 12, 23, 23, 59)));
    assert!(!b.is_open(local(berlin, 2026, 12, 24, 0, 0)));
    assert!(!b.is_open(local(berlin, 2026, 12, 26, 23, 59)));
    assert!(b.is_open(local(berlin, 2026, 12, 27, 0, 0)));
    assert_eq!(
        b.next_change(local(berlin, 2026, 12, 25, 12, 0), 30),
        Some(local(berlin, 2026, 12, 27, 0, 0))
    );
}

#[test]
fn yearly_rrule_with_by_parts() {
    // Thanksgiving and the day after: the 4th Thursday of November, and
    // the Friday after it (a Friday from the 23rd to the 29th).
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:t\r\nDTSTART;VALUE=DATE:20201126\r\n\
         RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\r\nSUMMARY:Thanksgiving\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:f\r\nDTSTART;VALUE=DATE:20201127\r\n\
         RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29\r\n\
         SUMMARY:Day after Thanksgiving\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert_eq!(closed_days(&w, 2026), ["11-26", "11-27"]);
    assert_eq!(closed_days(&w, 2029), ["11-22", "11-23"]);
    assert_eq!(closed_days(&w, 2030), ["11-28", "11-29"]);
    // `explain` names the event and its file.
    let d = w.decide(utc(2030, 11, 29, 12, 0));
    let c = d.because.unwrap();
    assert!(!d.open);
    assert_eq!(c.label.as_deref(), Some("Day after Thanksgiving"));
    assert_eq!(c.calendar.as_deref(), Some("company"));
    assert_eq!(c.origin.file, "team/holidays.ics");
    assert_eq!(c.origin.line, 14);
    assert_eq!(c.origin.text, "SUMMARY:Day after Thanksgiving");
}

#[test]
fn monthly_rrule_with_count() {
    // The last Friday of the month, three times.
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:m\r\nDTSTART;VALUE=DATE:20260130\r\n\
         RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=3\r\nSUMMARY:Month end\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert_eq!(closed_days(&w, 2026), ["01-30", "02-27", "03-27"]);
}

#[test]
fn weekly_rrule_with_until_and_exdate() {
    // Mondays and Wednesdays 10:00-11:00 (floating: the window's zone),
    // until the end of January, but not on January 12.
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:w\r\nDTSTART:20260105T100000\r\nDTEND:20260105T110000\r\n\
         RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260131T235959\r\n\
         EXDATE:20260112T100000\r\nSUMMARY:Planning\r\nEND:VEVENT\r\n",
    );
    let b = window(&ics, "berlin");
    let berlin = chrono_tz::Europe::Berlin;
    assert!(!b.is_open(local(berlin, 2026, 1, 5, 10, 0)));
    assert!(!b.is_open(local(berlin, 2026, 1, 7, 10, 59)));
    assert!(b.is_open(local(berlin, 2026, 1, 7, 11, 0)));
    assert!(b.is_open(local(berlin, 2026, 1, 6, 10, 30)), "a Tuesday");
    assert!(b.is_open(local(berlin, 2026, 1, 12, 10, 30)), "EXDATE");
    assert!(!b.is_open(local(berlin, 2026, 1, 14, 10, 30)));
    assert!(!b.is_open(local(berlin, 2026, 1, 28, 10, 30)));
    assert!(b.is_open(local(berlin, 2026, 2, 2, 10, 30)), "after UNTIL");
    assert_eq!(
        b.next_change(local(berlin, 2026, 1, 8, 12, 0), 30),
        Some(local(berlin, 2026, 1, 14, 10, 0)),
        "the 12th is excluded"
    );
}

#[test]
fn tzid_events_keep_their_instant_in_any_window() {
    // 09:00-11:00 in New York (a VTIMEZONE under a vendor's name, found by
    // its X-LIC-LOCATION); every other Tuesday from March 3, 2026.
    let ics = calendar(
        "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\nX-LIC-LOCATION:America/New_York\r\n\
         BEGIN:STANDARD\r\nDTSTART:19701101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n\
         END:STANDARD\r\nEND:VTIMEZONE\r\n\
         BEGIN:VEVENT\r\nUID:z\r\nDTSTART;TZID=Eastern Standard Time:20260303T090000\r\n\
         DTEND;TZID=Eastern Standard Time:20260303T110000\r\n\
         RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU\r\nSUMMARY:Release review\r\nEND:VEVENT\r\n",
    );
    let b = window(&ics, "berlin");
    let ny = chrono_tz::America::New_York;
    // March 3: New York is UTC-5, Berlin UTC+1: 15:00-17:00 in Berlin.
    assert!(!b.is_open(local(ny, 2026, 3, 3, 9, 0)));
    assert!(b.is_open(local(ny, 2026, 3, 3, 11, 0)));
    let berlin = chrono_tz::Europe::Berlin;
    assert!(!b.is_open(local(berlin, 2026, 3, 3, 15, 0)));
    assert!(b.is_open(local(berlin, 2026, 3, 3, 14, 59)));
    // March 17: New York has moved to summer time, Berlin not yet: the
    // meeting is at 14:00 in Berlin now.
    assert!(!b.is_open(local(berlin, 2026, 3, 17, 14, 0)));
    assert!(b.is_open(local(berlin, 2026, 3, 17, 16, 30)));
    assert!(b.is_open(local(ny, 2026, 3, 10, 10, 0)), "every other week");
    // In a UTC window too.
    let w = window(&ics, "production");
    assert!(!w.is_open(utc(2026, 3, 17, 13, 30)));
    assert!(w.is_open(utc(2026, 3, 17, 15, 0)));
}

#[test]
fn multi_day_timed_event() {
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:o\r\nDTSTART:20260601T150000Z\r\nDTEND:20260603T100000Z\r\n\
         SUMMARY:Offsite\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert!(w.is_open(utc(2026, 6, 1, 14, 59)));
    assert!(!w.is_open(utc(2026, 6, 1, 15, 0)));
    assert!(!w.is_open(utc(2026, 6, 2, 3, 0)));
    assert!(!w.is_open(utc(2026, 6, 3, 9, 59)));
    assert!(w.is_open(utc(2026, 6, 3, 10, 0)));
    assert_eq!(
        w.next_change(utc(2026, 6, 1, 16, 0), 30),
        Some(utc(2026, 6, 3, 10, 0))
    );
}

#[test]
fn duration_and_folded_lines() {
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20260701T220000Z\r\nDURATION:PT3H\r\n\
         SUMMARY:Data centre\r\n  maintenance\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert!(!w.is_open(utc(2026, 7, 2, 0, 30)));
    assert!(w.is_open(utc(2026, 7, 2, 1, 0)));
    let c = w.decide(utc(2026, 7, 1, 23, 0)).because.unwrap().clone();
    assert_eq!(c.label.as_deref(), Some("Data centre maintenance"));
}

#[test]
fn unbounded_rules_stop_at_the_horizon() {
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:u\r\nDTSTART;VALUE=DATE:19900101\r\nRRULE:FREQ=DAILY\r\n\
         SUMMARY:Always\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert!(!w.is_open(utc(2026, 5, 5, 12, 0)));
    assert!(!w.is_open(utc(2100, 12, 31, 12, 0)));
    assert!(w.is_open(utc(2101, 1, 1, 12, 0)), "past the horizon");
    let e = errors(&calendar(
        "BEGIN:VEVENT\r\nUID:u\r\nDTSTART:20260101T000000Z\r\nDURATION:PT1M\r\n\
         RRULE:FREQ=MINUTELY\r\nSUMMARY:Too often\r\nEND:VEVENT\r\n",
    ));
    assert!(e.contains("repeats more than 65535 times"), "{e}");
    assert!(e.contains("team/holidays.ics:8:1"), "{e}");
}

#[test]
fn cancelled_events_do_not_count() {
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:c\r\nDTSTART;VALUE=DATE:20260601\r\nSTATUS:CANCELLED\r\n\
         SUMMARY:Called off\r\nEND:VEVENT\r\n",
    );
    assert!(closed_days(&window(&ics, "production"), 2026).is_empty());
}

#[test]
fn a_malformed_file_is_reported_at_its_line() {
    let e = errors(&calendar(
        "BEGIN:VEVENT\r\nUID:x\r\nthis line is not a property\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VEVENT\r\n",
    ));
    assert!(e.contains("team/holidays.ics:6:1"), "{e}");
    assert!(e.contains("cannot be read"), "{e}");
    let e = errors("this is not a calendar\n");
    assert!(e.contains("team/holidays.ics:1:1"), "{e}");
    assert!(e.contains("BEGIN:VCALENDAR"), "{e}");
    let e = errors(&calendar(
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:2026011\r\nEND:VEVENT\r\n",
    ));
    assert!(e.contains("team/holidays.ics:6:1"), "{e}");
    assert!(e.contains("`2026011` is not an iCalendar date"), "{e}");
    let e = errors(&calendar(
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Mars/Olympus:20260101T090000\r\nEND:VEVENT\r\n",
    ));
    assert!(e.contains("team/holidays.ics:6:1"), "{e}");
    assert!(e.contains("unknown time zone `Mars/Olympus`"), "{e}");
    let e = errors(&calendar(
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\n",
    ));
    assert!(e.contains("team/holidays.ics:7:1"), "{e}");
    assert!(e.contains("RRULE:FREQ=SOMETIMES"), "{e}");
    let e = errors(&calendar(
        "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:No start\r\nEND:VEVENT\r\n",
    ));
    assert!(e.contains("team/holidays.ics:4:1"), "{e}");
    assert!(e.contains("no `DTSTART`"), "{e}");
}

#[test]
fn only_files_next_to_the_rules() {
    for bad in [
        "../holidays.ics",
        "/etc/holidays.ics",
        "sub/holidays.ics",
        "holidays.txt",
    ] {
        let text = RULES.replace("holidays.ics", bad);
        let e = compile(vec![Source::new("team/release.rules", text)])
            .err()
            .map(|ds| ds.iter().map(|d| d.render(false)).collect::<String>())
            .unwrap_or_default();
        assert!(e.contains("cannot be a calendar file"), "{bad}: {e}");
    }
    let e = compile(vec![Source::new("team/release.rules", RULES)])
        .err()
        .map(|ds| ds.iter().map(|d| d.render(false)).collect::<String>())
        .unwrap_or_default();
    assert!(
        e.contains("cannot read the calendar file `team/holidays.ics`"),
        "{e}"
    );
    assert!(e.contains("team/release.rules:1:"), "{e}");
}

#[test]
fn the_file_is_read_with_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let ics =
        calendar("BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nSUMMARY:Eve\r\nEND:VEVENT\r\n");
    std::fs::write(dir.path().join("release.rules"), RULES).unwrap();
    std::fs::write(dir.path().join("holidays.ics"), &ics).unwrap();
    let sources = source::read_sources(&[dir.path().to_path_buf()]).unwrap();
    let names: Vec<String> = sources
        .iter()
        .map(|s| {
            std::path::Path::new(&s.name)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["release.rules", "holidays.ics"]);
    let set = compile(sources).unwrap();
    assert!(
        !set.window(None, "production")
            .unwrap()
            .is_open(utc(2026, 12, 24, 12, 0))
    );
    // Size-limited like a rules file.
    let big = format!("{ics}{}", "X-PAD:0123456789\r\n".repeat(70_000));
    std::fs::write(dir.path().join("holidays.ics"), big).unwrap();
    let e = source::read_sources(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(e.iter().any(|d| d.code == "file-too-large"), "{e:?}");
}

/// The example in docs/rules.md is `examples/ics/`, and its tests pass.
#[test]
fn the_documented_example_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = shipgate::rules::load(&[root.join("examples/ics")])
        .unwrap_or_else(|ds| panic!("{}", ds.iter().map(|d| d.render(false)).collect::<String>()));
    assert_eq!(set.tests, ["company calendar"]);
    assert!(set.expectations.len() >= 10);
    let docs = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    let rules = std::fs::read_to_string(root.join("examples/ics/release.rules")).unwrap();
    assert!(
        docs.contains(&rules),
        "docs/rules.md shows examples/ics/release.rules as it is"
    );
    let w = set.window(None, "production").unwrap();
    let d = w.decide(local(chrono_tz::Europe::Berlin, 2026, 3, 17, 10, 0));
    let c = d.because.unwrap();
    assert_eq!(c.label.as_deref(), Some("Release review, all hands"));
    assert!(
        c.origin.file.ends_with("examples/ics/company.ics"),
        "{}",
        c.origin.file
    );
}

#[test]
fn a_moved_occurrence_replaces_the_one_of_its_series() {
    // Weekly on Mondays; the one of January 12 moved to Tuesday the 13th.
    let ics = calendar(
        "BEGIN:VEVENT\r\nUID:s\r\nDTSTART;VALUE=DATE:20260105\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n\
         SUMMARY:Freeze\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:s\r\nRECURRENCE-ID;VALUE=DATE:20260112\r\n\
         DTSTART;VALUE=DATE:20260113\r\nSUMMARY:Freeze (moved)\r\nEND:VEVENT\r\n",
    );
    let w = window(&ics, "production");
    assert_eq!(closed_days(&w, 2026), ["01-05", "01-13", "01-19"]);
}
