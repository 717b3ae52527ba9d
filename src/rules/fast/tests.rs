//! The shortcut must agree with the pest path: same AST, same spans, on
//! every valid file and on many small corruptions of them.

use super::*;
use crate::rules::parse::parse_file_with_pest;

/// Every form the shortcut reads (spelt every way the grammar allows
/// that it knows of), and a few it leaves to pest.
const KITCHEN_SINK: &str = r#"# every form
timezone "Europe/Berlin"   # trailing comment
window all-days{
	timezone "Asia/Tokyo"
    open monday-friday 8:00-16:30 "long \"names\" \\ here"
    open tuesday,wednesday , thursday 09:00-10:00
    open sat - sun
    open saturday 10:00-12:00#comment right after
    open weekdays 00:00-24:00
    open weekends
    open daily 12:00-13:00 "ünïcödé ✓"
    closed always "never"
    closed 2026-1-5 "short date"
    closed 2026-12-21..2027-01-03
    closed 2026-12-21 .. 2027-01-03, 2028-02-29 09:00-17:00
    closed 1st mon jan, 2nd tue feb, 3rd wed mar, 4th thu apr, 5th fri may, last sat jun
    closed last sunday july
    closed january 1, february 2, march 3, april 4, may 5, june 6, july 7
    closed august 8..september 9, october 10 .. november 11, december 12..dec 31
    closed jan 1..feb 2 "x"
    closed aug 1, sep 2, oct 3, nov 4, dec 5 00:00-01:00
    open wednesday-thursday, friday-saturday, sunday
    open tue 7:05-9:59 ""
}
window w_2 { open always }
window empty {}
exception e1 { opens w_2 }
exception e-2 "desc" {
    opens all-days opens w_2
    reason optional
    reason required
    approvals 007
    approvals 99999999999999999999
}
product p1 {
    timezone "UTC"
    window w_2 { open mon }
    exception e3 { opens w_2 }
}
product p2 {}
product withpolicy {
    policy { urgent notice 15m }
}
policy {
    daily at 07:00 weekdays if new-changes
}
test "t\\1" {
    expect w_2 open at 2026-03-10 08:00
    expect w_2 closed at 2026-03-10 8:00 Z
    expect w_2 open at 2026-03-10 08:00 +01:00 for p1
    expect w_2 open at 2026-03-10 08:00-05:00
    expect w_2 open at 2026-03-10 08:00	for	p1
}
test "" {}
"#;

/// Every calendar form: the shortcut leaves these definitions to pest (see
/// [`left_to_pest`]) but reads plain `calendar NAME` clauses itself, and
/// both paths must still agree.
const CALENDAR_SINK: &str = r#"calendar us-holidays "US public holidays" {
    jan 1 "New Year's Day"
    4th thu nov +1d "Day after Thanksgiving"
    4th thu nov -3d..4th thu nov -1d 12:00-17:00
    easter -2d, orthodox easter +1d "Easter days"
    last fri every month, day 1..day 3 every month
    1st weekday every month every 2 weeks from 2026-01-05 "train"
    jul..aug, dec
}
calendar company "Company days" from "holidays.ics"
calendar plain from "plain.ics"
window production {
    open mon-thu 08:00-16:00
    closed calendar us-holidays
    open calendar company "company days"
}
window cadence { open mon every 3 weeks from 2026-01-05 }
window refs {
    closed   calendar	# a comment between
        plain "from the file"
    open calendar us-holidays every 2 weeks from 2026-01-05
}
window refs2 { closed calendar company closed calendar plain"x" }
window plain { open mon-fri }
product p { window w { closed last day every month } }
product q { window w { open tue } }
"#;

fn corpus() -> Vec<(String, String)> {
    let mut texts = vec![
        ("kitchen-sink".to_owned(), KITCHEN_SINK.to_owned()),
        ("calendar-sink".to_owned(), CALENDAR_SINK.to_owned()),
        ("default".to_owned(), crate::rules::DEFAULT_RULES.to_owned()),
    ];
    let root = env!("CARGO_MANIFEST_DIR");
    for dir in ["examples/rules", "tests/scenarios"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "rules")
                && let Ok(t) = std::fs::read_to_string(&p)
            {
                texts.push((p.display().to_string(), t));
            }
        }
    }
    let crlf: Vec<_> = texts
        .iter()
        .map(|(n, t)| (format!("{n} (CRLF)"), t.replace('\n', "\r\n")))
        .collect();
    texts.extend(crlf);
    texts
}

/// The files with syntax and other errors the diagnostics tests use.
fn bad_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rules/err");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(|e| e.ok()) {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                out.push((e.path().display().to_string(), t));
            }
        }
    }
    out
}

/// The contract: the shortcut's answer is the pest path's, spans
/// included (`Debug` shows them; `==` on the AST ignores them).
fn same_as_pest(name: &str, text: &str) -> bool {
    let source = Source::new(name, text);
    let fast = format!("{:?}", parse(&source));
    let pest = format!("{:?}", parse_file_with_pest(&source).ok());
    assert_eq!(
        fast, pest,
        "{name}: the shortcut and pest disagree on\n{text}"
    );
    pest != "None"
}

/// Which top-level definitions the shortcut reads itself (in file order).
fn read_directly(text: &str) -> Vec<bool> {
    let mut c = Cursor {
        text,
        pos: 0,
        last_end: 0,
    };
    let mut out = Vec::new();
    loop {
        c.skip();
        if c.pos >= text.len() {
            return out;
        }
        let start = c.pos;
        let direct = c.item().is_some();
        out.push(direct);
        if !direct {
            let Some((_, end)) = pest_item(&Source::new("x", text), start) else {
                return out;
            };
            c.pos = end;
        }
    }
}

#[test]
fn valid_files_read_the_same_as_by_pest() {
    for (name, text) in corpus() {
        assert!(same_as_pest(&name, &text), "{name} should parse");
    }
}

/// Whether the shortcut hands this definition to pest by design: policies,
/// and the calendar forms (named calendars, `from "FILE.ics"`, offsets and
/// Easter, whole months, days of every month, week cadences); a plain
/// `open`/`closed calendar NAME` clause is read directly. Decided on the
/// pest AST, not on the text.
fn left_to_pest(item: &Item) -> bool {
    fn dated(d: &DateSpec) -> bool {
        match d {
            DateSpec::Anchored { .. } | DateSpec::Months { .. } | DateSpec::Monthly { .. } => true,
            DateSpec::Range { .. } | DateSpec::Yearly { .. } | DateSpec::NthWeekday { .. } => false,
        }
    }
    fn window(w: &WindowDef) -> bool {
        w.clauses.iter().any(|c| {
            c.cadence.is_some()
                || match &c.when {
                    When::Dated { dates, .. } => dates.iter().any(|d| dated(&d.node)),
                    When::Always | When::Weekly { .. } | When::Calendar(_) => false,
                }
        })
    }
    match item {
        Item::Calendar(_) | Item::Policy(_) => true,
        Item::Window(w) => window(w),
        Item::Product(p) => !p.policies.is_empty() || p.windows.iter().any(window),
        Item::Timezone(_) | Item::Exception(_) | Item::Test(_) => false,
    }
}

#[test]
fn the_shortcut_reads_everything_but_policies_and_calendar_forms_itself() {
    let mut calendar_items = 0;
    for (name, text) in corpus() {
        let source = Source::new(&name, text.as_str());
        let Ok(file) = parse_file_with_pest(&source) else {
            panic!("{name} should parse");
        };
        let direct = read_directly(&text);
        assert_eq!(direct.len(), file.items.len(), "{name}: {direct:?}");
        for (item, direct) in file.items.iter().zip(&direct) {
            let fallback = left_to_pest(item);
            calendar_items += usize::from(fallback && !matches!(item, Item::Policy(_)));
            assert_eq!(
                *direct, !fallback,
                "{name}: read directly: {direct}, by design: {}\n{item:?}",
                !fallback
            );
        }
    }
    assert!(
        calendar_items >= 8,
        "the corpus has calendar forms: {calendar_items}"
    );
}

#[test]
fn bad_files_are_left_to_pest() {
    for (name, text) in bad_files() {
        same_as_pest(&name, &text);
    }
}

#[test]
fn the_generated_benchmark_file_reads_the_same() {
    let mut text = String::new();
    for i in 0..40 {
        let zone = ["Europe/Berlin", "Asia/Tokyo", "America/Chicago", "UTC"][i % 4];
        text.push_str(&format!(
                "window w{i} {{\n    timezone \"{zone}\"\n    open mon-thu 08:00-16:00 \"core hours\"\n    \
                 closed 2026-12-21..2027-01-03 \"year-end freeze\"\n    closed 4th thu nov \"Thanksgiving\"\n    \
                 closed dec 24..jan 1 \"holidays\"\n    closed 2026-11-25 12:00-24:00 \"half day\"\n}}\n\
                 exception e{i} \"Urgent fix number {i}\" {{\n    opens w{i}\n    reason required\n    approvals 1\n}}\n\
                 product p{i} {{\n    window w{i} {{ open tue-wed 10:00-14:00 }}\n}}\n\
                 test \"w{i} hours\" {{\n    expect w{i} open at 2026-03-10 08:00    # Tuesday\n    \
                 expect w{i} closed at 2026-03-09 10:00 for p{i}\n}}\n\n"
            ));
    }
    assert!(same_as_pest("generated", &text));
    assert!(read_directly(&text).iter().all(|d| *d));
}

/// Every day, month and ordinal word, alone and run into another
/// character.
#[test]
fn every_word_reads_the_same_as_by_pest() {
    for d in DAYS {
        assert!(same_as_pest(d, &format!("window w {{ open {d} }}")));
        assert!(same_as_pest(d, &format!("window w {{ open {d}-{d},{d} }}")));
        assert!(!same_as_pest(d, &format!("window w {{ open {d}x }}")));
    }
    for m in MONTHS {
        assert!(same_as_pest(
            m,
            &format!("window w {{ closed {m} 1..{m} 2 }}")
        ));
        assert!(same_as_pest(
            m,
            &format!("window w {{ closed last mon {m} }}")
        ));
        assert!(!same_as_pest(m, &format!("window w {{ closed {m}_ 1 }}")));
    }
    for o in ORDINALS {
        assert!(same_as_pest(
            o,
            &format!("window w {{ closed {o} mon jan }}")
        ));
        assert!(!same_as_pest(
            o,
            &format!("window w {{ closed {o}0 mon jan }}")
        ));
    }
}

/// Near misses around every token the shortcut reads, in the places
/// they are read: valid or not, both paths make the same of them. One
/// per line; `⏎` stands for a line break, `␍` for a carriage return, `⇥`
/// for a tab, `<BOM>` for a byte order mark and `<EMPTY>` for nothing.
#[test]
fn near_misses_read_the_same_as_by_pest() {
    const CLAUSES: &str = r#"
open mon
open mond
open mon-
open mon -
open mon-thu-fri
open mon,
open mon,,tue
open mon, 08:00-09:00
open 08:00-09:00
open mon 08:00
open mon 08:00-
open mon 08:00 -09:00
open mon 8:0-9:00
open mon 123:00-1:00
open mon 08:000-09:00
open mon 08:00-09:001
open mon08:00-09:00
open mon-thu08:00-09:00
open monday-sun
open Mon
open weekdays-fri
open weekdays,mon
open dailyx
open always 08:00-09:00
open alwaysx
open always"x"
open mon"x"
open mon "x
open mon "x\n"
open mon "x⏎"
open mon "x␍"
open mon "x\""
open mon "\\"
open mon "a\\\"b"
open mon "é"
open sun-sat 0:00-24:00
open mon # comment⏎
open⏎mon⏎08:00-09:00
open # c⏎ mon
open mon,# c⏎tue
open mon #c⏎-tue
open mon 08:00-09:00 08:00-09:00
open mon "x" 08:00-09:00
open_x mon
open mon-thu_
opened mon
open
closed
closed always
closed-mon
closed 2026-12-24
closed 2026-12-24.
closed 2026-12-24. 2027-01-01
closed 2026-12-24.2027-01-01
closed 2026-12-24...2027-01-01
closed 2026-12-24..
closed 2026-12-24..dec 1
closed 2026-12-244
closed 20261-12-24
closed 2026-123-24
closed 2026-12-24x
closed 2026-0-0
closed 2026-1-1..2026-1-2
closed 2026-1-1open mon
closed 2026-12-24 08:00-09:00 "x"
closed 2026-12-24 "x" "y"
closed 2026-12-24 #c⏎..2027-01-01
closed 1st
closed 1st mon
closed 1st mon jan
closed 1stmon jan
closed 6th mon jan
closed last mon january
closed last monx jan
closed lastmon jan
closed dec
closed dec 24
closed dec24
closed dec 245
closed dec 2x
closed dec 24.
closed dec 24. jan 1
closed dec 24..
closed dec 24..jan
closed dec 24..jan 1 08:00-09:00
closed dec 24 ..jan 1
closed dec 24,
closed dec 24, 2026-01-01, 1st mon jan
closed dec 1open mon
closed dec 1"x"
closed december 24
closed decembe 24
closed may 1
closed mayo 1
timezone "UTC"
timezone UTC
timezone"UTC"
timezones "UTC"
"#;
    const EXCEPTION_ITEMS: &str = r#"
opens w
opens
opens 1w
opens w-
opensw
opens w x
opens w,x
reason required
reason
reason requiredx
reason optional
reason required optional
reasonrequired
approvals 1
approvals
approvals x
approvals 1x
approvals -1
approvals 1.5
approvals 1 approvals 2
"#;
    const EXPECTS: &str = r#"
expect w open at 2026-03-10 08:00
expect w open 2026-03-10 08:00
expect w open at2026-03-10 08:00
expect w open at 2026-03-10 08:00Z
expect w open at 2026-03-10 08:00 Z
expect w open at 2026-03-10 08:00 Zx
expect w open at 2026-03-10 08:00 +1:00
expect w open at 2026-03-10 08:00 +1x:00
expect w open at 2026-03-10 08:00 +01:0
expect w open at 2026-03-10 08:00 +01:000
expect w open at 2026-03-10 08:00 +0100
expect w open at 2026-03-10 08:00 +01x00
expect w open at 2026-03-10 08:00 -01:00
expect w open at 2026-03-10 08:00-05:00for p
expect w open at 2026-03-10 08:00 for
expect w open at 2026-03-10 08:00 for p
expect w open at 2026-03-10 08:00 forp
expect w open at 2026-03-10 08:00 for p q
expect w open at 2026-03-10 08:00 fort
expect w closed at 2026-03-10 08:00 Z for p
expect w closed at 2026-03-10 08:00 # c⏎ for p
expect w opened at 2026-03-10 08:00
expect w open at 2026-03-10
expect w open at 08:00
expect open at 2026-03-10 08:00
expectw open at 2026-03-10 08:00
"#;
    const ITEMS: &str = r#"
<EMPTY>
# only a comment
   ⏎⇥
}
window w {
window w
window {}
window w {} }
window w {}}
windoww {}
window-w {}
window 1w {}
window w-1_x {}
window w{}window x{}
window w {} # c
window w {}#c
window w {}␍
window w {␍⏎}␍⏎
<BOM>window w {}
timezone "x" timezone "y"
timezone "x
exception e
exception e "d"
exception e "d" {}
exception e "d{}
exception e {} x
product p { window w { } }
product p { policy { } }
product p { timezone "x" }
product p { test "x" {} }
product p { exception e { opens w } }
product p {} product q {
test x {}
test "x" { expect }
test "x"{}
policy { daily off }
policy {
"#;
    let cases = |list: &'static str| {
        list.lines().filter(|l| !l.is_empty()).map(|l| {
            l.replace("<EMPTY>", "")
                .replace('⏎', "\n")
                .replace('␍', "\r")
                .replace('⇥', "\t")
                .replace("<BOM>", "\u{feff}")
        })
    };
    let mut valid = 0;
    let mut check = |text: String| {
        if same_as_pest("near-miss", &text) {
            valid += 1;
        }
    };
    for s in cases(CLAUSES) {
        check(format!("window w {{\n    {s}\n}}\n"));
        check(format!("window w {{ {s} }}"));
        check(format!("product p {{ window w {{ {s}}} }}"));
    }
    for s in cases(EXCEPTION_ITEMS) {
        check(format!("exception e {{\n    {s}\n}}\n"));
        check(format!("exception e \"d\"{{{s}}}"));
    }
    for s in cases(EXPECTS) {
        check(format!("test \"t\" {{\n    {s}\n}}\n"));
        check(format!("test \"t\" {{{s}}}"));
    }
    for s in cases(ITEMS) {
        check(s.clone());
        check(format!("{s}\nwindow z {{}}"));
    }
    assert!(valid > 100, "only {valid} near misses parse");
}

/// Small corruptions of valid files: whatever either path makes of
/// them, both make the same.
#[test]
fn corrupted_files_read_the_same_as_by_pest() {
    const TOKENS: &[&str] = &[
        " ",
        "\n",
        "\t",
        "\r\n",
        "# c\n",
        "#",
        "\"",
        "\\",
        "-",
        ",",
        ".",
        "..",
        ":",
        "{",
        "}",
        "0",
        "9",
        "12",
        "a",
        "_",
        "Z",
        "+",
        "é",
        "open ",
        "closed ",
        "always",
        "mon",
        "sunday",
        "dec",
        "may",
        "last ",
        "1st ",
        "2026-01-01",
        "2026-1-1",
        "08:00",
        "8:00-9:00",
        "for ",
        "window ",
        "timezone ",
        "exception ",
        "product ",
        "test ",
        "expect ",
        "policy ",
        "opens ",
        "reason ",
        "approvals ",
        "required",
        "at ",
        " -05:00",
        "weekdays",
    ];
    let mut seed: u64 = 0x5eed_cafe_f00d_d00d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    let texts: Vec<String> = corpus()
        .into_iter()
        .filter(|(n, _)| !n.contains("CRLF"))
        .map(|(_, t)| t)
        .collect();
    let (mut valid, mut total) = (0, 0);
    for text in &texts {
        for _ in 0..400 {
            let mut t = text.clone();
            for _ in 0..1 + next(3) {
                let mut at = next(t.len() + 1);
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                match next(5) {
                    0 => {
                        let mut end = (at + 1 + next(8)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end += 1;
                        }
                        t.replace_range(at..end, "");
                    }
                    1 => {
                        let line_start = t[..at].rfind('\n').map_or(0, |i| i + 1);
                        let line_end = t[at..].find('\n').map_or(t.len(), |i| at + i + 1);
                        let line = t[line_start..line_end].to_owned();
                        t.insert_str(line_start, &line);
                    }
                    _ => t.insert_str(at, TOKENS[next(TOKENS.len())]),
                }
            }
            total += 1;
            if same_as_pest("corrupted", &t) {
                valid += 1;
            }
        }
    }
    // Enough of them stay valid for the comparison to mean something.
    eprintln!("{valid} of {total} corruptions parse");
    assert!(
        valid * 5 > total,
        "only {valid} of {total} corruptions parse"
    );
}
