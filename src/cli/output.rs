//! Shared pieces of `explain` and `calendar`: loading the rules a command
//! names, picking the window, reading times, and writing them back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::Failure;
use super::args::RulesArgs;
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
            rules::load_keeping_failed_tests(std::slice::from_ref(p)),
            p.display().to_string(),
        ),
        None if Path::new("rules").is_dir() => (
            rules::load_keeping_failed_tests(&[PathBuf::from("rules")]),
            "rules/".to_owned(),
        ),
        None => (
            rules::defaults().map(|set| (set, Vec::new())),
            "the embedded default rules".to_owned(),
        ),
    };
    let color = std::env::var_os("NO_COLOR").is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    match result {
        Ok((set, failures)) => {
            // A failing `test` block does not stop the tools used to
            // find out why: say so first, then evaluate.
            for d in &failures {
                let mut shown = d.clone();
                shown.warning = true;
                eprintln!("{}", shown.render(color));
            }
            if !failures.is_empty() {
                eprintln!(
                    "warning: {} `test` expectation{} in {origin} fail{}; evaluating anyway",
                    failures.len(),
                    if failures.len() == 1 { "" } else { "s" },
                    if failures.len() == 1 { "s" } else { "" }
                );
            }
            Ok(Loaded { set, origin })
        }
        Err(diags) => {
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
    crate::rules::localtime::parse_instant(text, window.tz)
        .map_err(|(msg, help)| Failure::usage(format!("{msg}\n  help: {help}")))
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
    crate::timefmt::local(window.tz, t)
}

pub use crate::timefmt::{duration as duration_text, utc as utc_text};

pub fn tz_source_text(source: TzSource) -> &'static str {
    match source {
        TzSource::Window => "set in the window",
        TzSource::Product => "set for the product",
        TzSource::File => "set in the file",
        TzSource::DefaultUtc => "no time zone is set anywhere, so UTC is used",
    }
}
