//! Calendars in the rules language: Easter, yearly days with offsets,
//! whole months, days of every month, week cadences and named calendars.
//!
//! The Easter tables (the published dates for 2000 to 2100, written as
//! data, not computed) are in `tests/rules_support`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use shipgate::rules::calendar::{easter, orthodox_easter};
use shipgate::rules::{Source, Window, compile};

mod rules_support;
use rules_support::{ORTHODOX_EASTER, WESTERN_EASTER, rules, window};

#[test]
fn western_easter_matches_the_table() {
    assert_eq!(WESTERN_EASTER.len(), 101);
    for &(y, m, d) in WESTERN_EASTER {
        assert_eq!(easter(y), NaiveDate::from_ymd_opt(y, m, d), "{y}");
    }
}

#[test]
fn orthodox_easter_matches_the_table() {
    assert_eq!(ORTHODOX_EASTER.len(), 101);
    for &(y, m, d) in ORTHODOX_EASTER {
        assert_eq!(orthodox_easter(y), NaiveDate::from_ymd_opt(y, m, d), "{y}");
    }
}

fn errors(text: &str) -> String {
    match compile(vec![Source::new("test.rules", text)]) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(diags) => diags
            .iter()
            .map(|d| d.render(false))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// A UTC window that is open every day but closed by `closed BODY`.
fn closing(body: &str) -> Arc<Window> {
    let set = rules(&format!(
        "window w {{\n  open always\n  closed {body}\n}}\n"
    ));
    window(&set, "w")
}

fn noon(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

/// The days of `year` on which `w` is closed at noon, as `MM-DD`.
fn closed_days(w: &Window, year: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    while d.format("%Y").to_string() == year.to_string() {
        let at = d.and_hms_opt(12, 0, 0).unwrap().and_utc();
        if !w.is_open(at) {
            out.push(d.format("%m-%d").to_string());
        }
        d = d.succ_opt().unwrap();
    }
    out
}

#[test]
fn day_after_thanksgiving_follows_thanksgiving() {
    let w = closing("4th thu nov +1d");
    // Thanksgiving 2029 is Nov 22, 2030 Nov 28 (Nov 1 2030 is a Friday).
    assert_eq!(closed_days(&w, 2029), ["11-23"]);
    assert_eq!(closed_days(&w, 2030), ["11-29"]);
}

#[test]
fn ranges_between_offsets() {
    let w = closing("4th thu nov -3d..4th thu nov +1d");
    assert_eq!(
        closed_days(&w, 2026),
        ["11-23", "11-24", "11-25", "11-26", "11-27"]
    );
    let w = closing("dec 25 -1d");
    assert_eq!(closed_days(&w, 2026), ["12-24"]);
    let w = closing("dec 31 +1d");
    assert_eq!(closed_days(&w, 2027), ["01-01"]);
}

#[test]
fn easter_days() {
    let w = closing("easter -2d, easter +1d");
    assert_eq!(closed_days(&w, 2026), ["04-03", "04-06"]);
    let w = closing("orthodox easter..orthodox easter +1d");
    assert_eq!(closed_days(&w, 2026), ["04-12", "04-13"]);
    let w = closing("easter +39d");
    assert_eq!(closed_days(&w, 2027), ["05-06"]);
}

#[test]
fn whole_months() {
    let w = closing("dec..jan");
    let days = closed_days(&w, 2026);
    assert_eq!(days.len(), 62);
    assert_eq!(days.first().unwrap(), "01-01");
    assert_eq!(days.last().unwrap(), "12-31");
    let w = closing("feb");
    assert_eq!(closed_days(&w, 2028).len(), 29);
    let w = closing("jul..aug");
    assert_eq!(closed_days(&w, 2026).len(), 62);
}

#[test]
fn monthly_forms() {
    let w = closing("last day every month");
    let days = closed_days(&w, 2028);
    assert_eq!(days.len(), 12);
    assert!(days.contains(&"02-29".to_owned()));
    let w = closing("last fri every month");
    let days = closed_days(&w, 2026);
    assert_eq!(days[..3], ["01-30", "02-27", "03-27"]);
    let w = closing("1st weekday every month");
    // 2026-02-01 and 2026-03-01 are Sundays.
    assert_eq!(closed_days(&w, 2026)[..3], ["01-01", "02-02", "03-02"]);
    let w = closing("last weekday every month");
    // 2026-05-31 is a Sunday, 2026-01-31 a Saturday.
    assert_eq!(closed_days(&w, 2026)[..1], ["01-30"]);
    assert_eq!(closed_days(&w, 2026)[4], "05-29");
    let w = closing("day 1..day 3 every month");
    assert_eq!(closed_days(&w, 2026).len(), 36);
    let w = closing("day 31 every month");
    assert_eq!(closed_days(&w, 2026).len(), 7);
    let w = closing("day 30..day 2 every month");
    assert_eq!(
        closed_days(&w, 2026)[..4],
        ["01-01", "01-02", "01-30", "01-31"]
    );
    let w = closing("2nd tue every month");
    assert_eq!(closed_days(&w, 2026)[0], "01-13");
}

#[test]
fn week_cadence() {
    // Release-train weeks: every other week from the week of Monday Jan 5.
    let set = rules("window w {\n  open mon-fri every 2 weeks from 2026-01-07 \"train\"\n}\n");
    let w = window(&set, "w");
    assert!(w.is_open(noon(2026, 1, 5)));
    assert!(w.is_open(noon(2026, 1, 9)));
    assert!(!w.is_open(noon(2026, 1, 12)));
    assert!(w.is_open(noon(2026, 1, 19)));
    // Before the anchor too.
    assert!(w.is_open(noon(2025, 12, 22)));
    assert!(!w.is_open(noon(2025, 12, 29)));
    let e = errors("window w {\n  open mon every 1 weeks from 2026-01-05\n}\n");
    assert!(e.contains("not a cadence"), "{e}");
}

const US: &str = r#"
timezone "America/New_York"
calendar us-holidays "US public holidays" {
    jan 1 "New Year's Day"
    4th thu nov "Thanksgiving"
    4th thu nov +1d "Day after Thanksgiving"
}
window production {
    open mon-fri 08:00-16:00
    closed calendar us-holidays
}
window inverse {
    open calendar us-holidays
}
"#;

#[test]
fn named_calendar_closes_and_names_its_entry() {
    let set = rules(US);
    let w = window(&set, "production");
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 15, 0, 0).unwrap();
    assert!(!w.is_open(at));
    let d = w.decide(at);
    let c = d.because.unwrap();
    assert_eq!(c.label.as_deref(), Some("Day after Thanksgiving"));
    assert_eq!(c.calendar.as_deref(), Some("us-holidays"));
    assert_eq!(c.origin.line, 6);
    assert!(w.is_open(Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()));
    let inv = window(&set, "inverse");
    assert!(inv.is_open(at));
    assert!(!inv.is_open(Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()));
    assert_eq!(set.calendars["us-holidays"].entries.len(), 3);
}

#[test]
fn unknown_calendar_gets_did_you_mean() {
    let e = errors(&US.replace("closed calendar us-holidays", "closed calendar us-holiday"));
    assert!(e.contains("unknown calendar `us-holiday`"), "{e}");
    assert!(e.contains("did you mean `us-holidays`?"), "{e}");
}

#[test]
fn impossible_calendar_forms_are_errors() {
    let e = errors("window w {\n  closed day 32 every month\n}\n");
    assert!(e.contains("no month has a day 32"), "{e}");
    let e = errors("window w {\n  closed easter +400d\n}\n");
    assert!(e.contains("more than a year"), "{e}");
    let e = errors("window w {\n  closed feb 30 +1d\n}\n");
    assert!(e.contains("impossible date"), "{e}");
}

#[test]
fn closures_name_label_calendar_and_line() {
    let set = rules(US);
    let w = window(&set, "production");
    let from = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let cs = w.closures(from, to);
    let got: Vec<(String, String, Option<String>, usize)> = cs
        .iter()
        .map(|c| {
            (
                c.start.to_rfc3339(),
                c.label.clone(),
                c.calendar.clone(),
                c.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "2026-11-26T05:00:00+00:00".to_owned(),
                "Thanksgiving".to_owned(),
                Some("us-holidays".to_owned()),
                5
            ),
            (
                "2026-11-27T05:00:00+00:00".to_owned(),
                "Day after Thanksgiving".to_owned(),
                Some("us-holidays".to_owned()),
                6
            ),
        ]
    );
    assert_eq!(cs[1].end.to_rfc3339(), "2026-11-28T05:00:00+00:00");
}
