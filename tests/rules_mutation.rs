#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Mutation test: thousands of random edits of valid rules files. Whatever
//! the edit, compiling never panics, and every error points at a line and
//! column. Rule sets that still compile are evaluated too, without panics.
//!
//! The run is seeded: the seed is printed, and `SHIPGATE_MUTATION_SEED=N`
//! replays (or explores) a run. `SHIPGATE_MUTATION_ROUNDS=N` changes how
//! many mutants are made of each base file.

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shipgate::rules::{Diagnostic, Source, compile};

const DEFAULT_SEED: u64 = 20_260_309;
const DEFAULT_ROUNDS: usize = 2_000;

/// Codes of errors about a whole file rather than a place in it.
const FILE_LEVEL: &[&str] = &[
    "file-too-large",
    "invalid-utf8",
    "nul-byte",
    "io",
    "no-rules",
];

/// Every construct of the language, in one valid file.
const RICH: &str = r#"# Every construct of the rules language.
timezone "America/New_York"

window production {
    open mon-thu 08:00-16:00
    open fri 08:00-12:00 "short friday"
    open sat,sun 10:00-11:00
    closed 2026-12-21..2027-01-03 "year-end freeze"
    closed 4th thu nov "Thanksgiving"
    closed last mon may "Memorial Day"
    closed dec 24..jan 1 "holidays"
    closed 2026-11-25 12:00-24:00 "half day"
    closed 2026-07-03, jul 4, 1st mon sep
}

window night {
    timezone "Europe/Berlin"
    open daily 22:00-02:00
    closed weekends
}

window candidate {
    open always
}

exception production-down "Production is completely down" {
    opens production
    reason required
}
exception urgent-delivery "Delivery is \"urgent\"" {
    opens production
    opens night
    reason optional
    approvals 2
}

product payments {
    timezone "Europe/Paris"
    window production { open tue-wed 10:00-14:00 }
    exception hotfix "Hotfix" {
        opens production
        reason required
        approvals 1
    }
}

test "production window" {
    expect production open at 2026-03-09 08:00      # Monday
    expect production closed at 2026-03-09 16:00
    expect production closed at 2026-11-26 10:00    # Thanksgiving
    expect production closed at 2026-11-01 01:30 -05:00 # Sunday
    expect production closed at 2026-03-08 02:30 -05:00
    expect night open at 2026-03-10 23:00
    expect candidate open at 2026-03-14 23:30 Z
    expect production open at 2026-03-10 11:00 for payments
    expect production closed at 2026-03-09 11:00 for payments
}
"#;

/// Day names in full, monday-friday style ranges, CRLF line endings and a
/// label with non-ASCII text.
const WORDY: &str = "timezone \"Europe/London\"\r\n\
window production {\r\n\
\x20   open monday-thursday 9:00-17:30\r\n\
\x20   open friday 09:00-12:00 \"café hours ☕\"\r\n\
\x20   closed december 24..january 2\r\n\
\x20   closed 2nd tuesday february 00:00-24:00\r\n\
\x20   closed 5th fri aug\r\n\
}\r\n\
window weekend { open weekends }\r\n\
test \"london\" {\r\n\
\x20   expect production open at 2026-03-30 09:00\r\n\
\x20   expect production closed at 2026-12-25 10:00\r\n\
\x20   expect weekend open at 2026-03-29 01:30 +00:00\r\n\
}\r\n";

/// What an edit may insert: the characters rules are made of.
const ALPHABET: &[u8] = b"\"{}#:,.-+Z0123456789 \t\n\r\\aemnoptwxyz_";

/// Words worth inserting whole: keywords, days, months, times and dates.
const WORDS: &[&str] = &[
    "window ",
    "exception ",
    "product ",
    "test ",
    "timezone ",
    "open ",
    "closed ",
    "always ",
    "opens ",
    "reason ",
    "required ",
    "approvals ",
    "expect ",
    " at ",
    " for ",
    "mon",
    "-thu",
    "weekdays ",
    "daily ",
    "dec 24",
    "..",
    "jan 1",
    "4th thu nov",
    "last mon may",
    "24:00",
    "25:00",
    "08:60",
    "00:00-00:00",
    "22:00-02:00",
    "2026-02-30",
    "2026-13-01",
    "2026-03-08 02:30",
    "2026-11-01 01:30",
    " -05:00",
    " +99:00",
    "\"",
    "\"\\",
    "{",
    "}",
    "\r\n",
    "# ",
    "policy ",
    "\"America/New_York\"",
    "\"Mars/Base\"",
    "999",
    "99999999999",
];

fn mutate(rng: &mut StdRng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let edits = rng.random_range(1..=3);
    for _ in 0..edits {
        let len = chars.len();
        let at = rng.random_range(0..=len);
        match rng.random_range(0..9) {
            // Delete a character.
            0 if len > 0 => {
                chars.remove(at.min(len - 1));
            }
            // Delete a range.
            1 if len > 0 => {
                let start = at.min(len - 1);
                let end = (start + rng.random_range(1..40)).min(len);
                chars.drain(start..end);
            }
            // Insert a character.
            2 | 3 => {
                let c = ALPHABET[rng.random_range(0..ALPHABET.len())];
                chars.insert(at, char::from(c));
            }
            // Insert a word.
            4 => {
                let w = WORDS[rng.random_range(0..WORDS.len())];
                chars.splice(at..at, w.chars());
            }
            // Replace a digit with another.
            5 => {
                let digits: Vec<usize> = (0..len).filter(|&i| chars[i].is_ascii_digit()).collect();
                if !digits.is_empty() {
                    let i = digits[rng.random_range(0..digits.len())];
                    chars[i] = char::from(b'0' + rng.random_range(0..10u8));
                }
            }
            // Duplicate, delete or swap lines.
            6..=8 => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let i = rng.random_range(0..lines.len());
                    let j = rng.random_range(0..lines.len());
                    match rng.random_range(0..3) {
                        0 => lines.insert(j, lines[i]),
                        1 => {
                            lines.remove(i);
                        }
                        _ => lines.swap(i, j),
                    }
                }
                chars = lines.concat().chars().collect();
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Compiles `text`: `Ok(true)` if it compiled, `Ok(false)` if it was
/// rejected properly, `Err` with what went wrong otherwise.
fn check(text: &str) -> Result<bool, String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let outcome = compile(vec![Source::new("mutant.rules", text)]);
        // Rule sets that survive are evaluated, too.
        if let Ok(set) = &outcome {
            let at = Utc.with_ymd_and_hms(2026, 3, 8, 6, 59, 0).unwrap();
            for product in std::iter::once(None).chain(set.product_names().into_iter().map(Some)) {
                for name in set.window_names(product) {
                    if let Some(w) = set.window(product, name) {
                        let _ = w.decide(at);
                        let _ = w.next_change(at, 3);
                    }
                }
            }
        }
        outcome.err()
    }));
    let errors: Vec<Diagnostic> = match result {
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            return Err(format!("panicked: {why}"));
        }
        Ok(None) => return Ok(true),
        Ok(Some(errors)) => errors,
    };
    if errors.is_empty() {
        return Err("failed with no diagnostics".to_owned());
    }
    let lines = text.split('\n').count();
    for d in &errors {
        if d.message.contains("internal error") {
            return Err(format!("internal error: {}", d.one_line()));
        }
        if FILE_LEVEL.contains(&d.code) {
            continue;
        }
        let Some(loc) = &d.location else {
            return Err(format!("no position: {}", d.one_line()));
        };
        let (line, col) = loc.line_col();
        if line == 0 || col == 0 || line > lines || loc.span.start > text.len() {
            return Err(format!(
                "position {line}:{col} is outside the file: {}",
                d.one_line()
            ));
        }
        if d.position().is_none() {
            return Err(format!("no position: {}", d.one_line()));
        }
    }
    Ok(false)
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|n| n.to_string().parse().ok()),
        None => value.parse().ok(),
    };
    Some(parsed.unwrap_or_else(|| panic!("{name}={value} is not a number")))
}

#[test]
fn random_edits_never_panic_and_always_point_somewhere() {
    let seed: u64 = env_number("SHIPGATE_MUTATION_SEED").unwrap_or(DEFAULT_SEED);
    let rounds: usize = env_number("SHIPGATE_MUTATION_ROUNDS").unwrap_or(DEFAULT_ROUNDS);
    println!(
        "mutation seed {seed} (replay with SHIPGATE_MUTATION_SEED={seed}), {rounds} rounds per file"
    );

    let bases = [
        (
            shipgate::rules::DEFAULT_RULES_NAME,
            shipgate::rules::DEFAULT_RULES,
        ),
        ("rich", RICH),
        ("wordy", WORDY),
    ];
    // The bases themselves are valid: otherwise "no panic" proves little.
    for (name, text) in bases {
        if let Err(ds) = compile(vec![Source::new(name, text)]) {
            panic!(
                "base file {name} does not compile:\n{}",
                ds.iter()
                    .map(|d| d.one_line())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }

    // Panics are caught and reported below with the mutant that caused
    // them; keep the default hook from printing each one meanwhile.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut failures = Vec::new();
    let (mut total, mut rejected) = (0usize, 0usize);
    for (name, base) in bases {
        for round in 0..rounds {
            // Most mutants start from the base; some pile edits on edits.
            let mut text = mutate(&mut rng, base);
            if round % 4 == 0 {
                text = mutate(&mut rng, &text);
            }
            total += 1;
            match check(&text) {
                Ok(true) => {}
                Ok(false) => rejected += 1,
                Err(problem) => failures.push(format!(
                    "seed {seed}, base {name}, round {round}: {problem}\n--- mutated text ---\n{text}\n--------------------"
                )),
            }
            if failures.len() >= 5 {
                break;
            }
        }
    }
    std::panic::set_hook(hook);

    println!(
        "{total} mutants, {rejected} rejected, {} problems",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mutants went wrong (replay with SHIPGATE_MUTATION_SEED={seed}):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        total >= 5_000 || rounds < DEFAULT_ROUNDS,
        "only {total} mutants"
    );
    // The edits must actually break things most of the time, and not always.
    assert!(
        rejected > total / 2,
        "only {rejected} of {total} mutants were rejected"
    );
    assert!(rejected < total, "every mutant was rejected");
}
