//! `shipgate explain [--rules PATH] [--product P] WINDOW [--at TIME] [--json]`

use std::fmt::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::Failure;
use super::args::ExplainArgs;
use super::output::{
    duration_text, load_rules, local_text, parse_instant, pick_window, tz_source_text, utc_text,
};
use crate::rules::Window;
use crate::rules::explain::{Explanation, explain};

pub fn run(args: &ExplainArgs, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    let loaded = load_rules(&args.rules)?;
    let product = args.rules.product.as_deref();
    let window = pick_window(&loaded.set, product, &args.window)?;
    let at = match &args.at {
        Some(t) => parse_instant(t, &window)?,
        None => now,
    };
    let x = explain(&loaded.set, product, &window, at);
    if args.json {
        let json = serde_json::to_string_pretty(&x)
            .map_err(|e| Failure::invalid(format!("error: cannot write JSON: {e}")))?;
        outln!("{json}");
    } else {
        out!("{}", human(&x, &window, &loaded.origin));
    }
    Ok(ExitCode::SUCCESS)
}

/// The explanation as a person reads it.
pub fn human(x: &Explanation, window: &Window, origin: &str) -> String {
    let mut s = String::new();
    let for_product = x
        .product
        .as_ref()
        .map(|p| format!(" for {p}"))
        .unwrap_or_default();
    let state = if x.open { "OPEN" } else { "CLOSED" };
    let _ = writeln!(
        s,
        "{}{for_product} is {state} at {} ({})",
        x.window,
        local_text(window, x.at_utc),
        utc_text(x.at_utc)
    );
    let _ = writeln!(s, "  rules:     {origin}");
    let _ = writeln!(
        s,
        "  time zone: {} ({})",
        x.timezone,
        tz_source_text(window.tz_source)
    );
    match &x.because {
        Some(b) => {
            let verb = if x.open { "opened by" } else { "closed by" };
            let _ = writeln!(
                s,
                "  because:   {verb} `{}` ({}:{})",
                b.text, b.file, b.line
            );
            if let Some(label) = &b.label {
                let from = b
                    .calendar
                    .as_ref()
                    .map(|c| format!(" (calendar {c})"))
                    .unwrap_or_default();
                let _ = writeln!(s, "  reason:    {label}{from}");
            }
        }
        None => {
            let _ = writeln!(
                s,
                "  because:   no `open` rule covers {} local time",
                window.local(x.at_utc).format("%A %H:%M")
            );
            for b in &x.open_clauses {
                let _ = writeln!(
                    s,
                    "             open rules: `{}` ({}:{})",
                    b.text, b.file, b.line
                );
            }
        }
    }
    match x.next_change_utc {
        Some(t) => {
            let _ = writeln!(
                s,
                "  {:<10} {} ({}), in {}",
                if x.open { "closes:" } else { "opens:" },
                local_text(window, t),
                utc_text(t),
                duration_text(t - x.at_utc)
            );
        }
        None => {
            let _ = writeln!(s, "  next:      no change within 366 days");
        }
    }
    if x.exception_details.is_empty() {
        let _ = writeln!(s, "  exceptions: none can open {}", x.window);
    } else if !x.open {
        let _ = writeln!(s, "  exceptions that can open it:");
        for e in &x.exception_details {
            let mut needs = Vec::new();
            if e.reason_required {
                needs.push("a reason".to_owned());
            }
            if e.approvals > 0 {
                needs.push(format!(
                    "{} approval{}",
                    e.approvals,
                    if e.approvals == 1 { "" } else { "s" }
                ));
            }
            let needs = if needs.is_empty() {
                String::new()
            } else {
                format!(" (needs {})", needs.join(" and "))
            };
            let _ = writeln!(s, "    {:<18} {}{needs}", e.name, e.description);
        }
    } else {
        let _ = writeln!(s, "  exceptions: {}", x.exceptions.join(", "));
    }
    s
}
