//! Shared pieces of `explain` and `calendar`: loading the rules a command
//! names, picking the window, reading times, and writing them back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::Failure;
use super::args::RulesArgs;
use crate::rules::localtime::resolve_local;
use crate::rules::suggest::{closest, known_list};
use crate::rules::{self, RuleSet, TzSource, Window};

/// The rules a command reads, and where they came from.
pub struct Loaded {
    pub set: RuleSet,
    pub origin: String,
}

/// `--rules PATH`, else `rules/` in the current directory, else the
/// embedded defaults.
pub fn load_rules(args: &RulesArgs) -> Result<Loaded, Failure> {
    let (result, origin) = match &args.rules {
        Some(p) => (
            rules::load(std::slice::from_ref(p)),
            p.display().to_string(),
        ),
        None if Path::new("rules").is_dir() => {
            (rules::load(&[PathBuf::from("rules")]), "rules/".to_owned())
        }
        None => (rules::defaults(), "the embedded default rules".to_owned()),
    };
    match result {
        Ok(set) => Ok(Loaded { set, origin }),
        Err(diags) => {
            let color = std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let mut msg: String = diags.iter().map(|d| d.render(color) + "\n").collect();
            msg.push_str(&format!(
                "error: the rules in {origin} are not valid ({} problem{}); run `shipgate check` for details",
                diags.len(),
                if diags.len() == 1 { "" } else { "s" }
            ));
            Err(Failure::invalid(msg))
        }
    }
}

/// The window a command asks about, with a helpful error if it is not there.
pub fn pick_window(
    set: &RuleSet,
    product: Option<&str>,
    name: &str,
) -> Result<Arc<Window>, Failure> {
    if let Some(p) = product
        && !set.products.contains_key(p)
    {
        let names = set.product_names();
        let help = match closest(p, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the products defined are {}", known_list(&names)),
        };
        return Err(Failure::invalid(format!(
            "error: unknown product `{p}`\n  help: {help}"
        )));
    }
    match set.window(product, name) {
        Some(w) => Ok(w.clone()),
        None => {
            let names = set.window_names(product);
            let help = match closest(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the windows defined are {}", known_list(&names)),
            };
            Err(Failure::invalid(format!(
                "error: unknown window `{name}`\n  help: {help}"
            )))
        }
    }
}

/// An instant given on the command line: RFC 3339, or local
/// `YYYY-MM-DD HH:MM[:SS]` in the window's zone.
pub fn parse_instant(text: &str, window: &Window) -> Result<DateTime<Utc>, Failure> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            Failure::usage(format!(
                "`{text}` is not a time\n  help: write RFC 3339 like `2026-03-09T12:00:00Z` or a local time like `2026-03-09 12:00`"
            ))
        })?;
    resolve_local(window.tz, local).map_err(|e| {
        let (msg, help) = e.explain(text, window.tz);
        Failure::usage(format!("{msg}\n  help: {help}"))
    })
}

pub fn parse_date(text: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Failure::usage(format!(
            "`{text}` is not a date\n  help: write it like `2026-03-09`"
        ))
    })
}

/// `Mon 2026-03-09 08:00 EDT`
pub fn local_text(window: &Window, t: DateTime<Utc>) -> String {
    t.with_timezone(&window.tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

pub fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `2 days 3 hours 5 minutes`, rounded down to minutes.
pub fn duration_text(d: TimeDelta) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, minutes) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    let mut parts = Vec::new();
    for (n, unit) in [(days, "day"), (hours, "hour"), (minutes, "minute")] {
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        "less than a minute".to_owned()
    } else {
        parts.join(" ")
    }
}

pub fn tz_source_text(source: TzSource) -> &'static str {
    match source {
        TzSource::Window => "set in the window",
        TzSource::Product => "set for the product",
        TzSource::File => "set in the file",
        TzSource::DefaultUtc => "no time zone is set anywhere, so UTC is used",
    }
}
