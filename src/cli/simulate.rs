//! `shipgate simulate --config CONFIG [--rules PATH] [--seed N] [--transcript] EVENTS.jsonl`

use std::io::Read as _;
use std::process::ExitCode;

use super::Failure;
use super::args::SimulateArgs;
use crate::config::Config;
use crate::rules;
use crate::sim;

/// A config that cannot be loaded, as `check --config` and `simulate` say it.
pub(super) fn render_config_error(e: &crate::config::ConfigError) -> String {
    let diags = e.diagnostics();
    if diags.is_empty() {
        format!("error: {e}")
    } else {
        diags
            .iter()
            .map(|d| d.render(false))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn run(args: &SimulateArgs) -> Result<ExitCode, Failure> {
    let config =
        Config::load(&args.config).map_err(|e| Failure::invalid(render_config_error(&e)))?;
    let rules_path = args.rules.clone().or_else(|| config.rules.clone());
    let loaded = match &rules_path {
        Some(p) => rules::load(std::slice::from_ref(p)),
        None => rules::defaults(),
    }
    .and_then(|set| {
        let problems = rules::check_gates(&set);
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(problems)
        }
    });
    let set = loaded.map_err(|diags| {
        Failure::invalid(
            diags
                .iter()
                .map(|d| d.render(false))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let mismatches = crate::team::cross_check(&config, &set);
    if !mismatches.is_empty() {
        return Err(Failure::invalid(
            mismatches
                .iter()
                .map(|m| format!("error: {m}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    let text = if args.events.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::invalid(format!("error: cannot read stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&args.events).map_err(|e| {
            Failure::invalid(format!(
                "error: cannot read `{}`: {e}",
                args.events.display()
            ))
        })?
    };
    let lines = sim::input::parse_script(&text)
        .and_then(|mut lines| sim::input::resolve_names(&mut lines, &config).map(|()| lines));
    let lines = lines.map_err(|errors| {
        let name = args.events.display();
        Failure::invalid(
            errors
                .iter()
                .map(|e| format!("error: {name}: {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let entries = sim::run(&config, &set, &lines, args.seed)
        .map_err(|e| Failure::invalid(format!("error: simulation failed: {e}")))?;
    if args.transcript {
        out!(
            "{}",
            sim::transcript::render(&entries, set.policy(None).timezone)
        );
    } else {
        for e in &entries {
            if let sim::Entry::Effect { at, effect } = e {
                outln!("{}", sim::effect_json(*at, effect));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
