//! The rules language: text -> pest parse tree -> AST with spans ->
//! validated [`RuleSet`]. Evaluation is pure: nothing here reads the clock,
//! the disk (except [`source`]'s explicit readers) or the network.

pub mod ast;
pub mod calendar;
pub mod diagnostic;
pub mod eval;
pub mod explain;
mod fast;
pub mod ics;
mod lint;
pub mod localtime;
pub mod model;
pub mod parse;
mod parse_calendar;
pub mod policy;
mod policy_parse;
mod policy_validate;
mod snippet;
pub mod source;
pub mod suggest;
pub mod syntax;
pub mod validate;
mod validate_calendar;

pub use diagnostic::Diagnostic;
pub use eval::{Decision, HORIZON_DAYS};
pub use model::{Exception, RuleSet, TzSource, Window};
pub use policy::Policy;
pub use policy_validate::check_gates;
pub use source::Source;
pub use validate::{compile, compile_keeping_failed_tests};

use std::path::PathBuf;

/// The default rules, embedded so `shipgate` runs with no files at all.
pub const DEFAULT_RULES: &str = include_str!("../../rules/release-process.rules");
pub const DEFAULT_RULES_NAME: &str = "rules/release-process.rules";

/// Reads and compiles every rules file named by `paths` (files, or
/// directories of `*.rules`). See also [`check_gates`], which `check`,
/// `run` and `simulate` add.
pub fn load(paths: &[PathBuf]) -> Result<RuleSet, Vec<Diagnostic>> {
    compile(source::read_sources(paths)?)
}

/// [`load`], but rules whose only problems are failing `test` blocks are
/// returned with the failures (see [`compile_keeping_failed_tests`]).
pub fn load_keeping_failed_tests(
    paths: &[PathBuf],
) -> Result<(RuleSet, Vec<Diagnostic>), Vec<Diagnostic>> {
    compile_keeping_failed_tests(source::read_sources(paths)?)
}

/// The embedded default rules.
pub fn defaults() -> Result<RuleSet, Vec<Diagnostic>> {
    compile(vec![Source::new(DEFAULT_RULES_NAME, DEFAULT_RULES)])
}
