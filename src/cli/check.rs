//! `shipgate check PATH...`

use std::process::ExitCode;

use super::Failure;
use super::args::CheckArgs;
use crate::rules::{self, Diagnostic, RuleSet};

pub fn run(args: &CheckArgs) -> Result<ExitCode, Failure> {
    let color = args.color.enabled(true);
    let mut failed = false;
    for path in &args.paths {
        match rules::load(std::slice::from_ref(path)) {
            Ok(set) => {
                if !args.json {
                    outln!("ok: {}: {}", path.display(), summary(&set));
                }
            }
            Err(diags) => {
                failed = true;
                report(&diags, args.json, color);
                if !args.json {
                    eprintln!(
                        "error: {}: {} problem{}; these rules were not loaded",
                        path.display(),
                        diags.len(),
                        if diags.len() == 1 { "" } else { "s" }
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

/// `2 windows, 3 exceptions, 0 products, 1 test (4 expectations) passed`
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
        "{}, {}, {}, {} ({}) passed",
        plural(windows, "window", "windows"),
        plural(exceptions, "exception", "exceptions"),
        plural(set.products.len(), "product", "products"),
        plural(set.tests.len(), "test", "tests"),
        plural(set.expectations.len(), "expectation", "expectations"),
    )
}
