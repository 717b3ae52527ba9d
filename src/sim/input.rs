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
                errors.push(format!("line {number}: {e}"));
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
