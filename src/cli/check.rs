//! `shipgate check [--config CONFIG] PATH...`

use std::path::PathBuf;
use std::process::ExitCode;

use super::Failure;
use super::args::CheckArgs;
use crate::config::Config;
use crate::rules::{self, Diagnostic, RuleSet};

pub fn run(args: &CheckArgs) -> Result<ExitCode, Failure> {
    let color = args.color.enabled(true);
    let mut failed = false;
    let config = match &args.config {
        None => None,
        Some(path) => Some(
            Config::load(path)
                .map_err(|e| Failure::invalid(super::simulate::render_config_error(&e)))?,
        ),
    };
    // With a config and no paths: the rules that config runs with.
    let mut paths: Vec<Option<PathBuf>> = args.paths.iter().cloned().map(Some).collect();
    if paths.is_empty() {
        paths.push(config.as_ref().and_then(|c| c.rules.clone()));
    }
    for path in &paths {
        let shown = path.as_ref().map_or_else(
            || rules::DEFAULT_RULES_NAME.to_owned(),
            |p| p.display().to_string(),
        );
        let loaded = match path {
            // Warnings are shown with failing tests too.
            Some(p) => rules::load_keeping_failed_tests(std::slice::from_ref(p)).and_then(
                |(set, failures)| {
                    if failures.is_empty() {
                        Ok(set)
                    } else {
                        Err(set.warnings.into_iter().chain(failures).collect())
                    }
                },
            ),
            None => rules::defaults(),
        };
        let loaded = loaded.and_then(|set| {
            let problems = rules::check_gates(&set);
            if problems.is_empty() {
                Ok(set)
            } else {
                Err(problems)
            }
        });
        match loaded {
            Ok(set) => {
                report(&set.warnings, args.json, color);
                if !set.warnings.is_empty() && args.deny_warnings {
                    failed = true;
                    if !args.json {
                        eprintln!(
                            "error: {shown}: {}, denied by `--deny-warnings`",
                            plural(set.warnings.len(), "warning", "warnings")
                        );
                    }
                    continue;
                }
                let mismatches = config
                    .as_ref()
                    .map(|c| crate::team::cross_check(c, &set))
                    .unwrap_or_default();
                if mismatches.is_empty() {
                    if !args.json {
                        let warned = match set.warnings.len() {
                            0 => String::new(),
                            n => format!(" ({})", plural(n, "warning", "warnings")),
                        };
                        outln!("ok: {shown}: {}{warned}", summary(&set));
                    }
                    continue;
                }
                failed = true;
                for m in &mismatches {
                    if args.json {
                        outln!(
                            "{}",
                            serde_json::json!({"code": "product-mismatch", "message": m})
                        );
                    } else {
                        eprintln!("error: {m}");
                    }
                }
                if !args.json {
                    eprintln!(
                        "error: {shown}: the rules and the config disagree about {}",
                        if mismatches.len() == 1 {
                            "a product"
                        } else {
                            "products"
                        }
                    );
                }
            }
            Err(diags) => {
                failed = true;
                report(&diags, args.json, color);
                let problems = diags.iter().filter(|d| !d.warning).count();
                if !args.json {
                    eprintln!(
                        "error: {shown}: {} problem{}; these rules were not loaded",
                        problems,
                        if problems == 1 { "" } else { "s" }
                    );
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn report(diags: &[Diagnostic], json: bool, color: bool) {
    for d in diags {
        if json {
            outln!("{}", d.to_json());
        } else {
            eprintln!("{}", d.render(color));
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `2 windows, 3 exceptions, 0 products, 1 test (4 expectations) passed;
/// gates: release -> production, cut -> candidate`
pub fn summary(set: &RuleSet) -> String {
    let windows = set.windows.len()
        + set
            .products
            .values()
            .map(|p| p.windows.len())
            .sum::<usize>();
    let exceptions = set.exceptions.len()
        + set
            .products
            .values()
            .map(|p| p.exceptions.len())
            .sum::<usize>();
    format!(
        "{}, {}, {}, {} ({}) passed; gates: {}",
        plural(windows, "window", "windows"),
        plural(exceptions, "exception", "exceptions"),
        plural(set.products.len(), "product", "products"),
        plural(set.tests.len(), "test", "tests"),
        plural(set.expectations.len(), "expectation", "expectations"),
        gates(set),
    )
}

/// `release -> production, cut -> candidate`, then any product whose
/// gates differ: `; web: release -> web-prod, cut -> off`.
pub fn gates(set: &RuleSet) -> String {
    let one = |p: &rules::Policy| {
        format!(
            "release -> {}, cut -> {}",
            p.release_gate.as_deref().unwrap_or("off"),
            p.cut_gate.as_deref().unwrap_or("off")
        )
    };
    let top = one(&set.policy);
    let mut out = top.clone();
    for (name, p) in &set.products {
        if let Some(policy) = &p.policy {
            let theirs = one(policy);
            if theirs != top {
                out.push_str(&format!("; {name}: {theirs}"));
            }
        }
    }
    out
}
