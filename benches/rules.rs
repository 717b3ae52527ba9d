//! Speed of the rules language (issue 2, "Speed"); figures in
//! `docs/benchmarks.md`. Run with `cargo bench --bench rules`.
//!
//! - `is_open`: `Window::is_open` for the default `production` window next to
//!   a bare chrono-tz UTC-to-local conversion over the same instants
//!   (target: at most 2x the conversion).
//! - `compile/default`: parse + validate + run the tests of the default rules
//!   file (target: under 1 ms).
//! - `compile/1mib`: the same for a generated valid file just under
//!   `MAX_FILE_BYTES` (target: under 100 ms).
//! - `next_change`: `Window::next_change(t, 366)` for the default
//!   `production` window from several instants (target: under 50 µs).
//! - `compile/1mib_calendars` and `next_change/calendars_*`: the same with
//!   calendars in the mix (issue 10): a named calendar with offsets, Easter,
//!   monthly days and a cadence, and a calendar file (`from "team.ics"`)
//!   of yearly, monthly and weekly `RRULE`s with `TZID`s, used by every
//!   window.

#![expect(
    clippy::panic,
    reason = "a benchmark whose inputs are broken must stop loudly"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shipgate::rules::source::MAX_FILE_BYTES;
use shipgate::rules::{DEFAULT_RULES, DEFAULT_RULES_NAME, RuleSet, Source, Window, compile};

fn default_rules() -> RuleSet {
    match shipgate::rules::defaults() {
        Ok(r) => r,
        Err(e) => panic!("the default rules do not compile: {e:?}"),
    }
}

fn production(rules: &RuleSet) -> Arc<Window> {
    match rules.window(None, "production") {
        Some(w) => Arc::clone(w),
        None => panic!("the default rules have no `production` window"),
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single() {
        Some(t) => t,
        None => panic!("bad instant {y}-{mo}-{d} {h}:{mi}"),
    }
}

/// 1024 instants spread over two years (an odd step, so they land on every
/// day of the week and at every hour, on both sides of the DST changes).
fn spread() -> Vec<DateTime<Utc>> {
    let start = utc(2026, 1, 1, 0, 0);
    let step = TimeDelta::minutes(1013);
    (0..1024).map(|i| start + step * i).collect()
}

fn bench_is_open(c: &mut Criterion) {
    let rules = default_rules();
    let window = production(&rules);
    let tz: Tz = window.tz;
    let instants = spread();
    let mut g = c.benchmark_group("is_open");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(instants.len() as u64));
    g.bench_function("bare_tz_conversion", |b| {
        b.iter(|| {
            for &t in black_box(&instants) {
                black_box(black_box(t).with_timezone(black_box(&tz)).naive_local());
            }
        });
    });
    g.bench_function("window_is_open", |b| {
        b.iter(|| {
            for &t in black_box(&instants) {
                black_box(black_box(&*window).is_open(black_box(t)));
            }
        });
    });
    g.finish();
}

fn sources_of(name: &str, text: &str) -> Vec<Source> {
    vec![Source::new(name, text)]
}

/// A valid rules file of just under `MAX_FILE_BYTES`: many windows with
/// every kind of clause, exceptions, a product, and a test per window.
fn generated_rules() -> String {
    let mut s = String::with_capacity(MAX_FILE_BYTES);
    s.push_str("# generated for the 1 MiB benchmark\ntimezone \"America/New_York\"\n\n");
    // Each block is about 1 KiB; stop when the next one would not fit.
    let mut block = String::new();
    for i in 0.. {
        block.clear();
        let zone = ["Europe/Berlin", "Asia/Tokyo", "America/Chicago", "UTC"][i % 4];
        let _ = write!(
            block,
            "window w{i} {{\n\
             \x20   timezone \"{zone}\"\n\
             \x20   open mon-thu 08:00-16:00 \"core hours\"\n\
             \x20   open fri 22:00-02:00\n\
             \x20   open mon,wed,fri 17:00-18:30\n\
             \x20   open sat 10:00-12:00\n\
             \x20   closed 2026-12-21..2027-01-03 \"year-end freeze\"\n\
             \x20   closed 4th thu nov \"Thanksgiving\"\n\
             \x20   closed last mon may \"Memorial Day\"\n\
             \x20   closed dec 24..jan 1 \"holidays\"\n\
             \x20   closed 2026-11-25 12:00-24:00 \"half day\"\n\
             }}\n\
             exception e{i} \"Urgent fix number {i}\" {{\n\
             \x20   opens w{i}\n\
             \x20   reason required\n\
             \x20   approvals 1\n\
             }}\n\
             product p{i} {{\n\
             \x20   window w{i} {{ open tue-wed 10:00-14:00 }}\n\
             }}\n\
             test \"w{i} hours\" {{\n\
             \x20   expect w{i} open at 2026-03-10 08:00    # Tuesday\n\
             \x20   expect w{i} closed at 2026-03-10 16:00\n\
             \x20   expect w{i} open at 2026-03-14 01:30    # Friday night, Saturday morning\n\
             \x20   expect w{i} closed at 2026-11-26 10:00  # Thanksgiving\n\
             \x20   expect w{i} closed at 2026-03-09 10:00 for p{i}\n\
             \x20   expect w{i} open at 2026-03-10 10:00 for p{i}\n\
             }}\n\n"
        );
        if s.len() + block.len() > MAX_FILE_BYTES {
            break;
        }
        s.push_str(&block);
    }
    s
}

/// A calendar file for the benchmarks: 30 yearly holidays (all-day), a
/// monthly and a weekly timed event with `TZID`s and `EXDATE`s, and a
/// three-day offsite.
fn team_ics() -> String {
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n");
    for i in 0..30u32 {
        let (m, d) = (1 + i % 12, 1 + (i * 7) % 28);
        let _ = write!(
            s,
            "BEGIN:VEVENT\r\nUID:h{i}\r\nDTSTART;VALUE=DATE:2020{m:02}{d:02}\r\n\
             RRULE:FREQ=YEARLY\r\nSUMMARY:Holiday {i}\r\nEND:VEVENT\r\n"
        );
    }
    s.push_str(
        "BEGIN:VEVENT\r\nUID:m\r\nDTSTART;TZID=Europe/Berlin:20260130T140000\r\n\
         DTEND;TZID=Europe/Berlin:20260130T170000\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR\r\n\
         EXDATE;TZID=Europe/Berlin:20261225T140000\r\nSUMMARY:Month-end review\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:w\r\nDTSTART;TZID=America/New_York:20260105T090000\r\n\
         DTEND;TZID=America/New_York:20260105T093000\r\n\
         RRULE:FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20301231T000000Z\r\nSUMMARY:Ops sync\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:o\r\nDTSTART:20261006T120000Z\r\nDTEND:20261009T120000Z\r\n\
         SUMMARY:Offsite\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    s
}

/// Calendars for the benchmarks: a named one of the new date forms, and
/// `team.ics`.
const CALENDARS: &str = r#"calendar us-holidays "US holidays" {
    jan 1 "New Year's Day"
    3rd mon jan "Martin Luther King Jr. Day"
    last mon may "Memorial Day"
    4th thu nov "Thanksgiving"
    4th thu nov +1d "Day after Thanksgiving"
    4th thu nov -3d..4th thu nov -1d 12:00-17:00 "Thanksgiving week"
    easter -2d "Good Friday"
    easter +1d "Easter Monday"
    last fri every month 15:00-24:00 "Month end"
    jul..aug 17:00-24:00 "Summer hours"
    1st mon every month every 2 weeks from 2026-01-05 "Release train"
}
calendar team "Team calendar" from "team.ics"
"#;

/// The 1 MiB file with [`CALENDARS`] and every window closed by both.
fn generated_calendar_rules() -> String {
    let mut s = String::from(CALENDARS);
    let plain = generated_rules();
    let with = plain.replace(
        "    closed 2026-11-25 12:00-24:00 \"half day\"\n",
        "    closed 2026-11-25 12:00-24:00 \"half day\"\n    closed calendar us-holidays\n    closed calendar team\n",
    );
    // Drop whole blocks from the end until it fits again.
    let mut text = with.as_str();
    while s.len() + text.len() > MAX_FILE_BYTES {
        match text.trim_end().rfind("\nwindow w") {
            Some(i) => text = &text[..i + 1],
            None => break,
        }
    }
    s.push_str(text);
    s
}

fn calendar_sources() -> Vec<Source> {
    vec![
        Source::new("bench/generated.rules", generated_calendar_rules()),
        Source::new("bench/team.ics", team_ics()),
    ]
}

fn bench_compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));

    let default = sources_of(DEFAULT_RULES_NAME, DEFAULT_RULES);
    g.throughput(Throughput::Bytes(DEFAULT_RULES.len() as u64));
    g.bench_function("default", |b| {
        b.iter(|| compile(black_box(default.clone())).is_ok());
    });

    let big = generated_rules();
    assert!(big.len() <= MAX_FILE_BYTES && big.len() > MAX_FILE_BYTES - 2048);
    let big = sources_of("generated.rules", &big);
    if let Err(e) = compile(big.clone()) {
        panic!("the generated file does not compile: {e:?}");
    }
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(big[0].text.len() as u64));
    g.bench_function("1mib", |b| {
        b.iter(|| compile(black_box(big.clone())).is_ok());
    });

    let cal = calendar_sources();
    assert!(cal[0].text.len() <= MAX_FILE_BYTES && cal[0].text.len() > MAX_FILE_BYTES - 4096);
    if let Err(e) = compile(cal.clone()) {
        panic!("the generated calendar file does not compile: {e:?}");
    }
    g.throughput(Throughput::Bytes(cal[0].text.len() as u64));
    g.bench_function("1mib_calendars", |b| {
        b.iter(|| compile(black_box(cal.clone())).is_ok());
    });
    g.finish();
}

fn bench_next_change(c: &mut Criterion) {
    let rules = default_rules();
    let window = production(&rules);
    let mut g = c.benchmark_group("next_change");
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    // (label, instant in UTC); New York is UTC-5 in winter, UTC-4 in summer.
    let from = [
        // Thursday 16:30 EST: closed until Monday 08:00 (the longest wait).
        ("thu_after_close", utc(2026, 3, 5, 21, 30)),
        // Friday 18:00 EST.
        ("fri_evening", utc(2026, 3, 6, 23, 0)),
        // Saturday 02:00 EST, with the DST change on Sunday ahead.
        ("sat_before_dst", utc(2026, 3, 7, 7, 0)),
        // Wednesday 12:00 EDT: open, closes at 16:00.
        ("wed_noon_open", utc(2026, 7, 15, 16, 0)),
        // Friday 18:00 EDT before the November change.
        ("fri_before_fall_back", utc(2026, 10, 30, 22, 0)),
    ];
    for (label, t) in from {
        g.bench_with_input(BenchmarkId::from_parameter(label), &t, |b, &t| {
            b.iter(|| black_box(&*window).next_change(black_box(t), 366));
        });
    }
    // A `production` window like the default one (Monday to Thursday, 8 to
    // 4 in New York), closed by both calendars as well.
    let text = "timezone \"America/New_York\"\n\
                window production {\n    open mon-thu 08:00-16:00\n    \
                closed calendar us-holidays\n    closed calendar team\n}\n";
    let sources = vec![
        Source::new("bench/calendars.rules", format!("{CALENDARS}\n{text}")),
        Source::new("bench/team.ics", team_ics()),
    ];
    let rules = match compile(sources) {
        Ok(r) => r,
        Err(e) => panic!("the calendar rules do not compile: {e:?}"),
    };
    let window = production(&rules);
    for (label, t) in from {
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("calendars_{label}")),
            &t,
            |b, &t| {
                b.iter(|| black_box(&*window).next_change(black_box(t), 366));
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_is_open, bench_compile, bench_next_change);
criterion_main!(benches);
