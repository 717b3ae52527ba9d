//! The command line: `check`, `explain`, `calendar`.
//!
//! Exit codes are a stable interface: 0 success, 1 the rules (or the
//! question) are wrong, 2 usage errors.

pub mod args;
pub mod calendar;
pub mod check;
pub mod explain;
pub mod output;
pub mod simulate;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};

/// Runs the CLI with the process's arguments and clock.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let now = chrono::Utc::now();
    let result = match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Explain(a) => explain::run(&a, now),
        Command::Calendar(a) => calendar::run(&a, now),
        Command::Simulate(a) => simulate::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// A failed command: what to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: format!("error: {}", message.into()),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}
