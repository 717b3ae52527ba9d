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
    g.finish();
}

criterion_group!(benches, bench_is_open, bench_compile, bench_next_change);
criterion_main!(benches);
