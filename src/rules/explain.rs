//! Why a window is open or closed at an instant, and when that changes:
//! one pure computation shared by the CLI and chat.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::eval::HORIZON_DAYS;
use super::model::{RuleSet, TzSource, Window};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Because {
    pub file: String,
    pub line: usize,
    pub text: String,
    pub label: Option<String>,
    /// The named calendar the deciding clause came from (then `file` and
    /// `line` are the calendar entry's).
    pub calendar: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionRef {
    pub name: String,
    pub description: String,
    pub reason_required: bool,
    pub approvals: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub window: String,
    pub product: Option<String>,
    pub at: String,
    pub local: String,
    pub timezone: String,
    pub timezone_default: bool,
    pub open: bool,
    pub because: Option<Because>,
    /// The `open` clauses, listed when the window is closed because none
    /// matched, so the reader sees when it would be open.
    pub open_clauses: Vec<Because>,
    pub next_change: Option<String>,
    pub exceptions: Vec<String>,
    #[serde(skip)]
    pub exception_details: Vec<ExceptionRef>,
    #[serde(skip)]
    pub at_utc: DateTime<Utc>,
    #[serde(skip)]
    pub next_change_utc: Option<DateTime<Utc>>,
}

fn because(c: &super::model::Clause) -> Because {
    Because {
        file: c.origin.file.clone(),
        line: c.origin.line,
        text: c.origin.text.clone(),
        label: c.label.clone(),
        calendar: c.calendar.clone(),
    }
}

/// Explains `window` (as `product` sees it) at `at`.
pub fn explain(
    set: &RuleSet,
    product: Option<&str>,
    window: &Window,
    at: DateTime<Utc>,
) -> Explanation {
    let decision = window.decide(at);
    let next = window.next_change(at, HORIZON_DAYS);
    let exceptions = set.exceptions_opening(product, &window.name);
    Explanation {
        window: window.name.clone(),
        product: product.map(str::to_owned),
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        local: decision.local.format("%Y-%m-%d %H:%M").to_string(),
        timezone: window.tz.name().to_owned(),
        timezone_default: window.tz_source == TzSource::DefaultUtc,
        open: decision.open,
        because: decision.because.map(because),
        open_clauses: if decision.because.is_none() {
            window
                .clauses
                .iter()
                .filter(|c| c.open)
                .map(because)
                .collect()
        } else {
            Vec::new()
        },
        next_change: next.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        exceptions: exceptions.iter().map(|e| e.name.clone()).collect(),
        exception_details: exceptions
            .iter()
            .map(|e| ExceptionRef {
                name: e.name.clone(),
                description: e.description.clone(),
                reason_required: e.reason_required,
                approvals: e.approvals,
            })
            .collect(),
        at_utc: at,
        next_change_utc: next,
    }
}

impl Explanation {
    /// The explanation in one short paragraph, for chat.
    pub fn sentence(&self, window: &Window) -> String {
        let state = if self.open { "open" } else { "closed" };
        let mut s = format!(
            "{} is {state} at {}",
            self.window,
            crate::timefmt::local(window.tz, self.at_utc)
        );
        match &self.because {
            Some(b) => s.push_str(&format!(
                ", {} by `{}` ({}:{})",
                if self.open { "opened" } else { "closed" },
                b.text,
                b.file,
                b.line
            )),
            None => s.push_str(&format!(
                ": no `open` rule covers {} local time",
                window.local(self.at_utc).format("%A %H:%M")
            )),
        }
        if self.timezone_default {
            s.push_str(" (no time zone is set, so UTC)");
        }
        s.push('.');
        match self.next_change_utc {
            Some(t) => s.push_str(&format!(
                " It {} {} ({}).",
                if self.open { "closes" } else { "opens" },
                crate::timefmt::local(window.tz, t),
                crate::timefmt::from_now(self.at_utc, t)
            )),
            None => s.push_str(" It does not change within 366 days."),
        }
        if !self.open && !self.exceptions.is_empty() {
            s.push_str(&format!(
                " Exceptions that can open it: {}.",
                self.exceptions.join(", ")
            ));
        }
        s
    }
}
