//! The simulate script: one JSON object per line.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::engine::CiStatus;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merged {
    pub product: String,
    pub change: String,
    pub author: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    pub product: String,
    pub from: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ci {
    pub product: String,
    pub rc: u64,
    pub status: CiStatus,
}

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the script.
    pub number: usize,
    pub at: DateTime<Utc>,
    pub what: What,
}

/// A JSON error on a script line as `line 3, column 47: EOF while parsing
/// an object`: the line is the script's, so serde's own "at line 1 column
/// 47" (of the one-line text it was given) is dropped.
pub fn json_error(number: usize, e: &serde_json::Error) -> String {
    let full = e.to_string();
    let inner = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&inner) {
        Some(message) => format!("line {number}, column {}: {message}", e.column()),
        None => format!("line {number}: {full}"),
    }
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
