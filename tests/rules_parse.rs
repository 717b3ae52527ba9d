#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Table-driven tests of the rules parser: text in, AST out.
//!
//! Each row is a snippet of rules text and the AST it must parse to. Spans
//! compare equal (see `ast.rs`), so the expected values are built with
//! `Span::default()`; where spans matter they are checked separately below.
//!
//! Every row is parsed four ways: as written, with CRLF line endings, with a
//! comment line between every two lines, and with a comment at the end of
//! every line. All four must give the same AST.

use chrono::Weekday::{self, *};
use shipgate::rules::Source;
use shipgate::rules::ast::*;
use shipgate::rules::parse::parse_file;

// ------------------------------------------------------------------ builders

const S: Span = Span { start: 0, end: 0 };

fn s(x: &str) -> Spanned<String> {
    Spanned::new(x.to_owned(), S)
}

fn t(hour: u32, minute: u32) -> TimeAst {
    TimeAst {
        hour,
        minute,
        span: S,
    }
}

fn tr(h1: u32, m1: u32, h2: u32, m2: u32) -> Option<TimeRangeAst> {
    Some(TimeRangeAst {
        start: t(h1, m1),
        end: t(h2, m2),
        span: S,
    })
}

fn date(year: i32, month: u32, day: u32) -> DateAst {
    DateAst {
        year,
        month,
        day,
        span: S,
    }
}

fn md(month: u32, day: u32) -> MonthDayAst {
    MonthDayAst {
        month,
        day,
        span: S,
    }
}

fn one(d: Weekday) -> DaySpec {
    DaySpec::One(d)
}

fn range(a: Weekday, b: Weekday) -> DaySpec {
    DaySpec::Range(a, b)
}

fn on(y: i32, m: u32, d: u32) -> DateSpec {
    DateSpec::Range {
        from: date(y, m, d),
        to: None,
    }
}

fn between(from: (i32, u32, u32), to: (i32, u32, u32)) -> DateSpec {
    DateSpec::Range {
        from: date(from.0, from.1, from.2),
        to: Some(date(to.0, to.1, to.2)),
    }
}

fn yearly(m: u32, d: u32) -> DateSpec {
    DateSpec::Yearly {
        from: md(m, d),
        to: None,
    }
}

fn yearly_range(from: (u32, u32), to: (u32, u32)) -> DateSpec {
    DateSpec::Yearly {
        from: md(from.0, from.1),
        to: Some(md(to.0, to.1)),
    }
}

fn nth(n: u8, weekday: Weekday, month: u32) -> DateSpec {
    DateSpec::NthWeekday {
        ordinal: Ordinal::Nth(n),
        weekday,
        month,
    }
}

fn last(weekday: Weekday, month: u32) -> DateSpec {
    DateSpec::NthWeekday {
        ordinal: Ordinal::Last,
        weekday,
        month,
    }
}

fn weekly(days: Vec<DaySpec>, time: Option<TimeRangeAst>) -> When {
    When::Weekly {
        days: days.into_iter().map(|d| Spanned::new(d, S)).collect(),
        time,
    }
}

fn dated(dates: Vec<DateSpec>, time: Option<TimeRangeAst>) -> When {
    When::Dated {
        dates: dates.into_iter().map(|d| Spanned::new(d, S)).collect(),
        time,
    }
}

fn clause(verb: Verb, when: When, label: Option<&str>) -> Clause {
    Clause {
        verb,
        when,
        cadence: None,
        label: label.map(s),
        span: S,
    }
}

fn open(when: When) -> Clause {
    clause(Verb::Open, when, None)
}

fn closed(when: When) -> Clause {
    clause(Verb::Closed, when, None)
}

fn labelled(mut c: Clause, label: &str) -> Clause {
    c.label = Some(s(label));
    c
}

fn window_def(name: &str, timezones: &[&str], clauses: Vec<Clause>) -> WindowDef {
    WindowDef {
        name: s(name),
        timezones: timezones.iter().map(|z| s(z)).collect(),
        clauses,
        span: S,
    }
}

fn window(name: &str, timezones: &[&str], clauses: Vec<Clause>) -> Item {
    Item::Window(window_def(name, timezones, clauses))
}

fn exception_def(
    name: &str,
    description: Option<&str>,
    opens: &[&str],
    reason: &[ReasonAst],
    approvals: &[&str],
) -> ExceptionDef {
    ExceptionDef {
        name: s(name),
        description: description.map(s),
        opens: opens.iter().map(|w| s(w)).collect(),
        reason: reason.iter().map(|r| Spanned::new(*r, S)).collect(),
        approvals: approvals.iter().map(|a| s(a)).collect(),
        span: S,
    }
}

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32, offset: Option<i32>) -> LocalTimeAst {
    LocalTimeAst {
        date: date(y, mo, d),
        time: t(h, mi),
        offset: offset.map(|o| Spanned::new(o, S)),
        span: S,
    }
}

fn expect(window: &str, is_open: bool, at: LocalTimeAst, product: Option<&str>) -> Expect {
    Expect {
        window: s(window),
        open: is_open,
        at,
        product: product.map(s),
        span: S,
    }
}

fn test_def(name: &str, expects: Vec<Expect>) -> Item {
    Item::Test(TestDef {
        name: s(name),
        expects,
        span: S,
    })
}

fn tz(name: &str) -> Item {
    Item::Timezone(s(name))
}

// ------------------------------------------------------------------ running

fn parse(name: &str, text: &str) -> Result<File, String> {
    parse_file(&Source::new(name, text)).map_err(|errs| {
        errs.iter()
            .map(|d| d.one_line())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The text as written plus the variants every row must survive unchanged.
fn variants(text: &str) -> Vec<(&'static str, String)> {
    vec![
        ("as written", text.to_owned()),
        ("crlf", text.replace('\n', "\r\n")),
        ("comment lines", text.replace('\n', "\n# a comment line\n")),
        ("end-of-line comments", text.replace('\n', "   # note\n")),
    ]
}

/// Parses every row in every variant; collects all mismatches so one run
/// shows every broken row.
fn check_table(rows: Vec<(String, Vec<Item>)>) {
    let mut failures = Vec::new();
    let total = rows.len();
    for (text, expected) in rows {
        let expected = File { items: expected };
        for (variant, input) in variants(&text) {
            match parse("row.rules", &input) {
                Ok(got) if got == expected => {}
                Ok(got) => failures.push(format!(
                    "--- {variant}: {input:?}\nexpected {expected:#?}\ngot {got:#?}"
                )),
                Err(e) => failures.push(format!(
                    "--- {variant}: {input:?}\nexpected it to parse, got:\n{e}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows x 4 variants failed:\n{}",
        failures.len(),
        total,
        failures.join("\n")
    );
}

// ------------------------------------------------------------------ tables

/// One clause, wrapped as `window w { ... }`.
fn clause_rows() -> Vec<(&'static str, Clause)> {
    vec![
        // always
        ("open always", open(When::Always)),
        ("closed always", closed(When::Always)),
        (
            r#"open always "any hour""#,
            labelled(open(When::Always), "any hour"),
        ),
        // single days, short and full names
        ("open mon", open(weekly(vec![one(Mon)], None))),
        (
            "open mon 08:00-16:00",
            open(weekly(vec![one(Mon)], tr(8, 0, 16, 0))),
        ),
        (
            "open monday 09:00-17:00",
            open(weekly(vec![one(Mon)], tr(9, 0, 17, 0))),
        ),
        (
            "open tuesday,wednesday,thursday,friday,saturday,sunday",
            open(weekly(
                vec![one(Tue), one(Wed), one(Thu), one(Fri), one(Sat), one(Sun)],
                None,
            )),
        ),
        (
            "open tue,wed,thu,fri,sat,sun",
            open(weekly(
                vec![one(Tue), one(Wed), one(Thu), one(Fri), one(Sat), one(Sun)],
                None,
            )),
        ),
        // day ranges and lists
        (
            "open mon-thu 08:00-16:00",
            open(weekly(vec![range(Mon, Thu)], tr(8, 0, 16, 0))),
        ),
        (
            "open monday-thursday",
            open(weekly(vec![range(Mon, Thu)], None)),
        ),
        (
            "open fri-mon 10:00-11:00",
            open(weekly(vec![range(Fri, Mon)], tr(10, 0, 11, 0))),
        ),
        (
            "open mon,wed,fri 10:00-11:00",
            open(weekly(vec![one(Mon), one(Wed), one(Fri)], tr(10, 0, 11, 0))),
        ),
        (
            "open mon , wed ,fri",
            open(weekly(vec![one(Mon), one(Wed), one(Fri)], None)),
        ),
        (
            "open mon-tue,thu",
            open(weekly(vec![range(Mon, Tue), one(Thu)], None)),
        ),
        // day groups
        (
            "open weekdays 09:00-17:00",
            open(weekly(vec![DaySpec::Weekdays], tr(9, 0, 17, 0))),
        ),
        (
            "closed weekends",
            closed(weekly(vec![DaySpec::Weekends], None)),
        ),
        (
            "open daily 06:00-07:00",
            open(weekly(vec![DaySpec::Daily], tr(6, 0, 7, 0))),
        ),
        (
            "open weekdays,sat 10:00-12:00",
            open(weekly(vec![DaySpec::Weekdays, one(Sat)], tr(10, 0, 12, 0))),
        ),
        // times: `24:00` end, overnight, one-digit hours, midnight start
        (
            "open daily 12:00-24:00",
            open(weekly(vec![DaySpec::Daily], tr(12, 0, 24, 0))),
        ),
        (
            "open fri 22:00-02:00",
            open(weekly(vec![one(Fri)], tr(22, 0, 2, 0))),
        ),
        (
            "open mon 8:05-9:30",
            open(weekly(vec![one(Mon)], tr(8, 5, 9, 30))),
        ),
        (
            "open sun 00:00-24:00",
            open(weekly(vec![one(Sun)], tr(0, 0, 24, 0))),
        ),
        // The parser keeps times as written; validation rejects these.
        (
            "open mon 25:00-08:60",
            open(weekly(vec![one(Mon)], tr(25, 0, 8, 60))),
        ),
        // one-off dates and inclusive date ranges
        (
            "closed 2026-12-24",
            closed(dated(vec![on(2026, 12, 24)], None)),
        ),
        ("closed 2026-1-5", closed(dated(vec![on(2026, 1, 5)], None))),
        (
            r#"closed 2026-12-21..2027-01-03 "year-end freeze""#,
            labelled(
                closed(dated(vec![between((2026, 12, 21), (2027, 1, 3))], None)),
                "year-end freeze",
            ),
        ),
        (
            "closed 2026-12-21 .. 2027-01-03",
            closed(dated(vec![between((2026, 12, 21), (2027, 1, 3))], None)),
        ),
        // The parser keeps dates as written; validation rejects this one.
        (
            "closed 2026-02-30",
            closed(dated(vec![on(2026, 2, 30)], None)),
        ),
        // yearly dates and ranges, across the new year too
        ("closed dec 24", closed(dated(vec![yearly(12, 24)], None))),
        (
            "closed december 25",
            closed(dated(vec![yearly(12, 25)], None)),
        ),
        ("closed feb 29", closed(dated(vec![yearly(2, 29)], None))),
        (
            r#"closed dec 24..jan 1 "holidays""#,
            labelled(
                closed(dated(vec![yearly_range((12, 24), (1, 1))], None)),
                "holidays",
            ),
        ),
        (
            "closed jul 1..aug 31",
            closed(dated(vec![yearly_range((7, 1), (8, 31))], None)),
        ),
        (
            "closed jan 1, may 1, jul 4",
            closed(dated(vec![yearly(1, 1), yearly(5, 1), yearly(7, 4)], None)),
        ),
        // nth and last weekday of a month
        (
            r#"closed 4th thu nov "Thanksgiving""#,
            labelled(closed(dated(vec![nth(4, Thu, 11)], None)), "Thanksgiving"),
        ),
        (
            r#"closed last mon may "Memorial Day""#,
            labelled(closed(dated(vec![last(Mon, 5)], None)), "Memorial Day"),
        ),
        (
            "closed 1st mon jan",
            closed(dated(vec![nth(1, Mon, 1)], None)),
        ),
        (
            "closed 2nd tuesday february",
            closed(dated(vec![nth(2, Tue, 2)], None)),
        ),
        (
            "closed 3rd wed mar",
            closed(dated(vec![nth(3, Wed, 3)], None)),
        ),
        (
            "closed 5th fri aug",
            closed(dated(vec![nth(5, Fri, 8)], None)),
        ),
        // dates followed by a time range
        (
            r#"closed 2026-11-25 12:00-24:00 "half day""#,
            labelled(
                closed(dated(vec![on(2026, 11, 25)], tr(12, 0, 24, 0))),
                "half day",
            ),
        ),
        (
            "closed dec 24 12:00-24:00",
            closed(dated(vec![yearly(12, 24)], tr(12, 0, 24, 0))),
        ),
        (
            "closed last fri dec 15:00-24:00",
            closed(dated(vec![last(Fri, 12)], tr(15, 0, 24, 0))),
        ),
        (
            "open 2026-12-31 22:00-02:00",
            open(dated(vec![on(2026, 12, 31)], tr(22, 0, 2, 0))),
        ),
        // a date set mixing every kind of date
        (
            "closed 2026-12-24, dec 31, 4th thu nov, 2027-01-01..2027-01-02 09:00-10:00",
            closed(dated(
                vec![
                    on(2026, 12, 24),
                    yearly(12, 31),
                    nth(4, Thu, 11),
                    between((2027, 1, 1), (2027, 1, 2)),
                ],
                tr(9, 0, 10, 0),
            )),
        ),
        // labels: escapes and `#` inside quotes are text, not comments
        (
            r#"closed dec 25 "say \"hi\" \\ bye""#,
            labelled(
                closed(dated(vec![yearly(12, 25)], None)),
                r#"say "hi" \ bye"#,
            ),
        ),
        (
            r##"closed dec 26 "release #42 freeze""##,
            labelled(
                closed(dated(vec![yearly(12, 26)], None)),
                "release #42 freeze",
            ),
        ),
        (
            r#"open mon """#,
            labelled(open(weekly(vec![one(Mon)], None)), ""),
        ),
    ]
}

#[test]
fn clauses() {
    let rows = clause_rows()
        .into_iter()
        .map(|(snippet, c)| {
            (
                format!("window w {{\n    {snippet}\n}}\n"),
                vec![window("w", &[], vec![c])],
            )
        })
        .collect();
    check_table(rows);
}

/// Whole files: every top-level construct.
fn file_rows() -> Vec<(&'static str, Vec<Item>)> {
    vec![
        // empty files
        ("", vec![]),
        ("\n\n   \n", vec![]),
        ("# only a comment\n# and another", vec![]),
        // timezone at file level
        (
            "timezone \"America/New_York\"\n",
            vec![tz("America/New_York")],
        ),
        // The parser keeps the name; validation looks it up.
        ("timezone \"Mars/Olympus\"", vec![tz("Mars/Olympus")]),
        // windows: empty, one line, with a timezone, several clauses
        ("window w {}", vec![window("w", &[], vec![])]),
        (
            "window prod_2-eu {\n}\n",
            vec![window("prod_2-eu", &[], vec![])],
        ),
        (
            "window w { open mon 08:00-16:00 closed dec 25 }",
            vec![window(
                "w",
                &[],
                vec![
                    open(weekly(vec![one(Mon)], tr(8, 0, 16, 0))),
                    closed(dated(vec![yearly(12, 25)], None)),
                ],
            )],
        ),
        (
            "window production {\n    timezone \"Europe/Berlin\"\n    open weekdays 09:00-17:00\n    open sat 10:00-12:00\n}\n",
            vec![window(
                "production",
                &["Europe/Berlin"],
                vec![
                    open(weekly(vec![DaySpec::Weekdays], tr(9, 0, 17, 0))),
                    open(weekly(vec![one(Sat)], tr(10, 0, 12, 0))),
                ],
            )],
        ),
        // a timezone may come after the clauses; two are kept for validation
        (
            "window w {\n    open always\n    timezone \"UTC\"\n    timezone \"Europe/Paris\"\n}\n",
            vec![window(
                "w",
                &["UTC", "Europe/Paris"],
                vec![open(When::Always)],
            )],
        ),
        // keywords are fine as names
        ("window open {}", vec![window("open", &[], vec![])]),
        // exceptions: full, minimal, optional reason, none of anything
        (
            "exception urgent-delivery \"Delivery is urgent\" {\n    opens production\n    reason required\n    approvals 1\n}\n",
            vec![Item::Exception(exception_def(
                "urgent-delivery",
                Some("Delivery is urgent"),
                &["production"],
                &[ReasonAst::Required],
                &["1"],
            ))],
        ),
        (
            "exception hotfix { opens production reason optional }",
            vec![Item::Exception(exception_def(
                "hotfix",
                None,
                &["production"],
                &[ReasonAst::Optional],
                &[],
            ))],
        ),
        (
            "exception nothing \"does nothing\" {}",
            vec![Item::Exception(exception_def(
                "nothing",
                Some("does nothing"),
                &[],
                &[],
                &[],
            ))],
        ),
        // repeated settings and big numbers are kept for validation
        (
            "exception x {\n    opens a\n    opens b\n    approvals 999\n    reason required\n    reason optional\n}\n",
            vec![Item::Exception(exception_def(
                "x",
                None,
                &["a", "b"],
                &[ReasonAst::Required, ReasonAst::Optional],
                &["999"],
            ))],
        ),
        // products
        (
            "product payments {\n    window production { open tue-wed 10:00-14:00 }\n}\n",
            vec![Item::Product(ProductDef {
                name: s("payments"),
                timezones: vec![],
                windows: vec![window_def(
                    "production",
                    &[],
                    vec![open(weekly(vec![range(Tue, Wed)], tr(10, 0, 14, 0)))],
                )],
                exceptions: vec![],
                policies: vec![],
                span: S,
            })],
        ),
        (
            "product eu {\n    timezone \"Europe/Paris\"\n    window production {\n        timezone \"Europe/Dublin\"\n        open mon 09:00-10:00\n    }\n    exception hotfix \"Hotfix\" {\n        opens production\n        reason required\n    }\n}\n",
            vec![Item::Product(ProductDef {
                name: s("eu"),
                timezones: vec![s("Europe/Paris")],
                windows: vec![window_def(
                    "production",
                    &["Europe/Dublin"],
                    vec![open(weekly(vec![one(Mon)], tr(9, 0, 10, 0)))],
                )],
                exceptions: vec![exception_def(
                    "hotfix",
                    Some("Hotfix"),
                    &["production"],
                    &[ReasonAst::Required],
                    &[],
                )],
                policies: vec![],
                span: S,
            })],
        ),
        (
            "product empty {}",
            vec![Item::Product(ProductDef {
                name: s("empty"),
                timezones: vec![],
                windows: vec![],
                exceptions: vec![],
                policies: vec![],
                span: S,
            })],
        ),
        // tests: open/closed, offsets, products
        ("test \"nothing\" {}", vec![test_def("nothing", vec![])]),
        (
            "test \"t\" {\n    expect production open at 2026-03-09 08:00\n    expect production closed at 2026-03-09 16:00\n}\n",
            vec![test_def(
                "t",
                vec![
                    expect("production", true, local(2026, 3, 9, 8, 0, None), None),
                    expect("production", false, local(2026, 3, 9, 16, 0, None), None),
                ],
            )],
        ),
        (
            "test \"offsets\" {\n    expect w open at 2026-11-01 01:30 -05:00\n    expect w open at 2026-11-01 01:30 -04:00\n    expect w closed at 2026-03-29 02:30 +01:00\n    expect w closed at 2026-01-01 00:00 Z\n    expect w open at 2026-01-01 09:00 +05:30\n}\n",
            vec![test_def(
                "offsets",
                vec![
                    expect("w", true, local(2026, 11, 1, 1, 30, Some(-5 * 3600)), None),
                    expect("w", true, local(2026, 11, 1, 1, 30, Some(-4 * 3600)), None),
                    expect("w", false, local(2026, 3, 29, 2, 30, Some(3600)), None),
                    expect("w", false, local(2026, 1, 1, 0, 0, Some(0)), None),
                    expect(
                        "w",
                        true,
                        local(2026, 1, 1, 9, 0, Some(5 * 3600 + 30 * 60)),
                        None,
                    ),
                ],
            )],
        ),
        (
            "test \"products\" {\n    expect production open at 2026-03-10 11:00 for payments\n    expect production closed at 2026-11-01 01:30 -05:00 for payments\n}\n",
            vec![test_def(
                "products",
                vec![
                    expect(
                        "production",
                        true,
                        local(2026, 3, 10, 11, 0, None),
                        Some("payments"),
                    ),
                    expect(
                        "production",
                        false,
                        local(2026, 11, 1, 1, 30, Some(-5 * 3600)),
                        Some("payments"),
                    ),
                ],
            )],
        ),
        // everything at once, in file order
        (
            "# header\ntimezone \"UTC\"\nwindow a { open always }\nexception e { opens a }\nproduct p {}\ntest \"x\" { expect a open at 2026-01-01 00:00 }\n",
            vec![
                tz("UTC"),
                window("a", &[], vec![open(When::Always)]),
                Item::Exception(exception_def("e", None, &["a"], &[], &[])),
                Item::Product(ProductDef {
                    name: s("p"),
                    timezones: vec![],
                    windows: vec![],
                    exceptions: vec![],
                    policies: vec![],
                    span: S,
                }),
                test_def(
                    "x",
                    vec![expect("a", true, local(2026, 1, 1, 0, 0, None), None)],
                ),
            ],
        ),
        // tabs and no final newline
        (
            "window\tw\t{\topen\tmon\t08:00-09:00\t}",
            vec![window(
                "w",
                &[],
                vec![open(weekly(vec![one(Mon)], tr(8, 0, 9, 0)))],
            )],
        ),
    ]
}

#[test]
fn files() {
    check_table(
        file_rows()
            .into_iter()
            .map(|(text, items)| (text.to_owned(), items))
            .collect(),
    );
}

/// The first file of DESIGN.md: the shipped default rules start with it
/// (later issues may append more, e.g. a `policy` block).
#[test]
fn default_rules_parse_to_the_documented_structure() {
    let file = parse(
        shipgate::rules::DEFAULT_RULES_NAME,
        shipgate::rules::DEFAULT_RULES,
    )
    .unwrap();
    let required = [ReasonAst::Required];
    let expected = vec![
        tz("America/New_York"),
        window(
            "production",
            &[],
            vec![open(weekly(vec![range(Mon, Thu)], tr(8, 0, 16, 0)))],
        ),
        window("candidate", &[], vec![open(When::Always)]),
        Item::Exception(exception_def(
            "production-down",
            Some("Production is completely down"),
            &["production"],
            &required,
            &[],
        )),
        Item::Exception(exception_def(
            "critical-bug",
            Some("Bug in the critical path of the application"),
            &["production"],
            &required,
            &[],
        )),
        Item::Exception(exception_def(
            "urgent-delivery",
            Some("Delivery is urgent for another team's deadline"),
            &["production"],
            &required,
            &["1"],
        )),
        test_def(
            "production window",
            vec![
                expect("production", true, local(2026, 3, 9, 8, 0, None), None),
                expect("production", false, local(2026, 3, 9, 16, 0, None), None),
                expect("production", false, local(2026, 3, 13, 10, 0, None), None),
                expect("candidate", true, local(2026, 3, 14, 23, 30, None), None),
            ],
        ),
    ];
    assert!(file.items.len() >= expected.len(), "{:#?}", file.items);
    assert_eq!(file.items[..expected.len()], expected);
}

/// The second file of DESIGN.md, verbatim (a fragment: it parses, and
/// `product` overrides `production`).
#[test]
fn design_customisation_example_parses() {
    let text = r#"window production {
    timezone "Europe/Berlin"
    open weekdays 09:00-17:00
    open sat 10:00-12:00
    closed 2026-12-21..2027-01-03 "year-end freeze"
    closed 4th thu nov "Thanksgiving"
    closed last mon may "Memorial Day"
    closed dec 24..jan 1 "holidays"
    closed 2026-11-25 12:00-24:00 "half day"
}
product payments {
    window production { open tue-wed 10:00-14:00 }
}
"#;
    let file = parse("design.rules", text).unwrap();
    let expected = vec![
        window(
            "production",
            &["Europe/Berlin"],
            vec![
                open(weekly(vec![DaySpec::Weekdays], tr(9, 0, 17, 0))),
                open(weekly(vec![one(Sat)], tr(10, 0, 12, 0))),
                labelled(
                    closed(dated(vec![between((2026, 12, 21), (2027, 1, 3))], None)),
                    "year-end freeze",
                ),
                labelled(closed(dated(vec![nth(4, Thu, 11)], None)), "Thanksgiving"),
                labelled(closed(dated(vec![last(Mon, 5)], None)), "Memorial Day"),
                labelled(
                    closed(dated(vec![yearly_range((12, 24), (1, 1))], None)),
                    "holidays",
                ),
                labelled(
                    closed(dated(vec![on(2026, 11, 25)], tr(12, 0, 24, 0))),
                    "half day",
                ),
            ],
        ),
        Item::Product(ProductDef {
            name: s("payments"),
            timezones: vec![],
            windows: vec![window_def(
                "production",
                &[],
                vec![open(weekly(vec![range(Tue, Wed)], tr(10, 0, 14, 0)))],
            )],
            exceptions: vec![],
            policies: vec![],
            span: S,
        }),
    ];
    assert_eq!(file.items, expected);
    // And it validates as a whole.
    shipgate::rules::compile(vec![Source::new("design.rules", text)]).unwrap();
}

// ------------------------------------------------------------------ spans

/// The text a span covers.
fn at(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// Spans point at what was written, with LF and with CRLF line endings.
#[test]
fn spans_point_at_the_source() {
    for text in [
        shipgate::rules::DEFAULT_RULES.to_owned(),
        shipgate::rules::DEFAULT_RULES.replace('\n', "\r\n"),
    ] {
        let file = parse("default.rules", &text).unwrap();
        let Item::Timezone(zone) = &file.items[0] else {
            panic!("expected a timezone first, got {:?}", file.items[0]);
        };
        assert_eq!(at(&text, zone.span), "\"America/New_York\"");

        let Item::Window(w) = &file.items[1] else {
            panic!("expected a window, got {:?}", file.items[1]);
        };
        assert_eq!(at(&text, w.name.span), "production");
        assert!(at(&text, w.span).starts_with("window production {"));
        assert!(at(&text, w.span).ends_with('}'));
        let c = &w.clauses[0];
        assert_eq!(at(&text, c.span), "open mon-thu 08:00-16:00");
        let When::Weekly { days, time } = &c.when else {
            panic!("expected weekly, got {:?}", c.when);
        };
        assert_eq!(at(&text, days[0].span), "mon-thu");
        let time = time.unwrap();
        assert_eq!(at(&text, time.span), "08:00-16:00");
        assert_eq!(at(&text, time.start.span), "08:00");
        assert_eq!(at(&text, time.end.span), "16:00");

        let Item::Exception(e) = &file.items[5] else {
            panic!("expected an exception, got {:?}", file.items[5]);
        };
        assert_eq!(at(&text, e.name.span), "urgent-delivery");
        assert_eq!(
            at(&text, e.description.as_ref().unwrap().span),
            "\"Delivery is urgent for another team's deadline\""
        );
        assert_eq!(at(&text, e.opens[0].span), "production");
        assert_eq!(at(&text, e.reason[0].span), "reason required");
        assert_eq!(at(&text, e.approvals[0].span), "1");

        let Item::Test(test) = &file.items[6] else {
            panic!("expected a test, got {:?}", file.items[6]);
        };
        assert_eq!(at(&text, test.name.span), "\"production window\"");
        let x = &test.expects[3];
        assert_eq!(
            at(&text, x.span),
            "expect candidate open at 2026-03-14 23:30"
        );
        assert_eq!(at(&text, x.window.span), "candidate");
        assert_eq!(at(&text, x.at.span), "2026-03-14 23:30");
        assert_eq!(at(&text, x.at.date.span), "2026-03-14");
        assert_eq!(at(&text, x.at.time.span), "23:30");

        // line:col of the last expectation: line 32, column 5, either way.
        let src = Source::new("default.rules", text.as_str());
        assert_eq!(src.line_col(x.span.start), (32, 5));
    }
}

#[test]
fn spans_of_dates_offsets_and_products() {
    let text = "window w {\n  closed dec 24..jan 1, 4th thu nov 12:00-24:00 \"x\"\n}\ntest \"t\" { expect w open at 2026-11-01 01:30 -05:00 for p }\n";
    let file = parse("x.rules", text).unwrap();
    let Item::Window(w) = &file.items[0] else {
        panic!("expected a window, got {:?}", file.items[0]);
    };
    let c = &w.clauses[0];
    assert_eq!(
        at(text, c.span),
        "closed dec 24..jan 1, 4th thu nov 12:00-24:00 \"x\""
    );
    let When::Dated { dates, time } = &c.when else {
        panic!("expected dated, got {:?}", c.when);
    };
    assert_eq!(at(text, dates[0].span), "dec 24..jan 1");
    assert_eq!(at(text, dates[1].span), "4th thu nov");
    let DateSpec::Yearly { from, to } = &dates[0].node else {
        panic!("expected yearly, got {:?}", dates[0].node);
    };
    assert_eq!(at(text, from.span), "dec 24");
    assert_eq!(at(text, to.unwrap().span), "jan 1");
    assert_eq!(at(text, time.unwrap().span), "12:00-24:00");
    assert_eq!(at(text, c.label.as_ref().unwrap().span), "\"x\"");

    let Item::Test(test) = &file.items[1] else {
        panic!("expected a test, got {:?}", file.items[1]);
    };
    let x = &test.expects[0];
    assert_eq!(at(text, x.at.offset.unwrap().span), "-05:00");
    assert_eq!(at(text, x.product.as_ref().unwrap().span), "p");
    assert_eq!(at(text, x.at.span), "2026-11-01 01:30 -05:00");
}

// ------------------------------------------------------------------ rejects

/// Snippets the parser must reject: (text, diagnostic code, line:col of the
/// first error, words the message must contain).
fn reject_rows() -> Vec<(&'static str, &'static str, (usize, usize), &'static str)> {
    vec![
        // a time range with no days
        (
            "window w {\n    open 08:00-16:00\n}\n",
            "syntax",
            (2, 10),
            "found `08:00-16:00`",
        ),
        // keywords and days are lowercase
        (
            "window w {\n    open Mon\n}\n",
            "syntax",
            (2, 10),
            "found `Mon`",
        ),
        // spaces inside a time range
        (
            "window w {\n    open mon 08:00 - 16:00\n}\n",
            "syntax",
            (2, 14),
            "expected",
        ),
        // a misspelt keyword at the top
        ("windw w {}\n", "syntax", (1, 1), "found `windw`"),
        // a misspelt clause keyword
        (
            "window w {\n    opne mon\n}\n",
            "syntax",
            (2, 5),
            "found `opne`",
        ),
        // a missing closing brace
        (
            "window w {\n    open mon\n",
            "syntax",
            (3, 1),
            "the end of the file",
        ),
        // a missing time in an expectation
        (
            "test \"t\" {\n    expect w open at 2026-03-09\n}\n",
            "syntax",
            (3, 1),
            "a time like `08:00`",
        ),
        // a quote never closed
        (
            "window w {\n    open mon \"label\n}\n",
            "unclosed-string",
            (2, 14),
            "never closed",
        ),
        // a backslash that is not `\"` or `\\` (a Windows path, a regex)
        (
            "window w {\n    open mon \"C:\\temp\"\n}\n",
            "bad-escape",
            (2, 17),
            "`\\t` is not something a backslash can stand for",
        ),
        (
            "exception e \"\\d+ hours\" {\n    opens w\n}\n",
            "bad-escape",
            (1, 14),
            "`\\d`",
        ),
        // a backslash at the end of the line
        (
            "window w {\n    open mon \"label \\\n}\n",
            "bad-escape",
            (2, 21),
            "end of a line",
        ),
        // a two-digit year
        (
            "window w {\n    closed 26-12-24\n}\n",
            "syntax",
            (2, 12),
            "expected",
        ),
        // an ordinal that does not exist
        (
            "window w {\n    closed 6th mon may\n}\n",
            "syntax",
            (2, 12),
            "expected",
        ),
        // an approvals count that is not a number
        (
            "exception e {\n    approvals one\n}\n",
            "syntax",
            (2, 15),
            "a whole number",
        ),
        // a clause outside a window
        ("open mon\n", "syntax", (1, 1), "found `open`"),
        // text after a comment-free line
        ("window w {} }\n", "syntax", (1, 13), "found `}`"),
    ]
}

#[test]
fn rejects() {
    let mut failures = Vec::new();
    for (text, code, (line, col), words) in reject_rows() {
        for (variant, input) in [
            ("as written", text.to_owned()),
            ("crlf", text.replace('\n', "\r\n")),
        ] {
            let errs = match parse_file(&Source::new("bad.rules", input.as_str())) {
                Ok(file) => {
                    failures.push(format!("{variant} {input:?}: parsed as {file:?}"));
                    continue;
                }
                Err(errs) => errs,
            };
            let first = &errs[0];
            let pos = first.position().unwrap_or_default();
            let want = format!("bad.rules:{line}:{col}");
            if first.code != code || pos != want || !first.message.contains(words) {
                failures.push(format!(
                    "{variant} {input:?}: expected {code} at {want} mentioning {words:?}, got {} at {pos}: {}",
                    first.code, first.message
                ));
            }
            for d in &errs {
                if d.message.contains("internal") {
                    failures.push(format!("{variant} {input:?}: internal error {d}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A syntax error in one definition does not hide errors in later ones.
#[test]
fn every_syntax_error_is_reported() {
    let text = "window a {\n    opne mon\n}\nwindow b {\n    open mon 8-9\n}\nwindow c { open always }\ntest \"t\" {\n    expect c open at 2026-03-09\n}\n";
    let errs = parse_file(&Source::new("many.rules", text)).unwrap_err();
    let positions: Vec<String> = errs.iter().filter_map(|d| d.position()).collect();
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(positions[0].starts_with("many.rules:2:"), "{positions:?}");
    assert!(positions[1].starts_with("many.rules:5:"), "{positions:?}");
    assert!(positions[2].starts_with("many.rules:10:"), "{positions:?}");
}
