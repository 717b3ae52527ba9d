//! The simulate script: one JSON object per line.

use chrono::{DateTime, Utc};
use serde::Deserialize;

// The line shapes are the ledger's inputs (also `/api/events`'s lines).
pub use crate::ledger::input::{Chat, Ci, Merged, json_error};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    at: String,
    merged: Option<Merged>,
    chat: Option<Chat>,
    ci: Option<Ci>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    Merged(Merged),
    Chat(Chat),
    Ci(Ci),
    /// Only moves the clock.
    Clock,
}

impl What {
    /// The ledger input this line hands in.
    pub fn input(&self) -> crate::ledger::Input {
        use crate::ledger::Input;
        match self {
            What::Merged(m) => Input::Merged(m.clone()),
            What::Chat(c) => Input::Chat(c.clone().into()),
            What::Ci(c) => Input::Ci(c.clone()),
            What::Clock => Input::Clock,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the script.
    pub number: usize,
    pub at: DateTime<Utc>,
    pub what: What,
}

/// Parses a whole script; every bad line is reported (`line N: ...`).
pub fn parse_script(text: &str) -> Result<Vec<Line>, Vec<String>> {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut last: Option<DateTime<Utc>> = None;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let parsed: Raw = match serde_json::from_str(trimmed) {
            Ok(r) => r,
            Err(e) => {
                errors.push(json_error(number, &e));
                continue;
            }
        };
        let at = match DateTime::parse_from_rfc3339(&parsed.at) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                errors.push(format!(
                    "line {number}: `at` must be an RFC 3339 time like `2026-03-09T13:00:00Z`, not `{}`",
                    parsed.at
                ));
                continue;
            }
        };
        if let Some(prev) = last
            && at < prev
        {
            errors.push(format!(
                "line {number}: time goes backwards ({} is before the previous line)",
                parsed.at
            ));
            continue;
        }
        last = Some(at);
        let what = match (parsed.merged, parsed.chat, parsed.ci) {
            (Some(m), None, None) => What::Merged(m),
            (None, Some(c), None) => What::Chat(c),
            (None, None, Some(c)) => What::Ci(c),
            (None, None, None) => What::Clock,
            _ => {
                errors.push(format!(
                    "line {number}: give at most one of `merged`, `chat` and `ci`"
                ));
                continue;
            }
        };
        lines.push(Line { number, at, what });
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

/// Turns the names in a parsed script into the config's spelling (names
/// are typed in any case); every line with an unknown product is an error
/// (`line N: unknown product ...`), as `/api/events` answers.
pub fn resolve_names(
    lines: &mut [Line],
    config: &crate::config::Config,
) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for line in lines.iter_mut() {
        let product = match &mut line.what {
            What::Merged(m) => &mut m.product,
            What::Chat(c) => {
                c.from = crate::team::chat_author(config, &c.from);
                &mut c.product
            }
            What::Ci(c) => &mut c.product,
            What::Clock => continue,
        };
        match crate::team::product_name(config, product) {
            Ok(name) => name.clone_into(product),
            Err(e) => errors.push(format!("line {}: {e}", line.number)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
