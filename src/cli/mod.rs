//! The command line: `check`, `explain`, `calendar`.
//!
//! Exit codes are a stable interface: 0 success, 1 the rules (or the
//! question) are wrong, 2 usage errors.

/// `println!` that stops quietly when stdout is closed (`| head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` likewise.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod args;
pub mod calendar;
pub mod check;
pub mod db;
pub mod doctor;
pub mod explain;
pub mod gate;
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
        Command::Run(a) => run_daemon(&a),
        Command::Check(a) => check::run(&a),
        Command::Explain(a) => explain::run(&a, now),
        Command::Calendar(a) => calendar::run(&a, now),
        Command::Simulate(a) => simulate::run(&a),
        Command::Doctor(a) => doctor::run(&a),
        Command::Gate(a) => gate::run(&a),
        Command::Db(c) => db::run(c),
        Command::Outbox(c) => db::outbox(c, now),
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

fn run_daemon(args: &args::RunArgs) -> Result<ExitCode, Failure> {
    let manual_clock = match &args.manual_clock {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| Failure::usage(format!("--manual-clock `{t}`: {e}")))?
                .with_timezone(&chrono::Utc),
        ),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // shipgate keeps its Matrix keys in its own store and does not use
        // server-side key backup, which matrix-sdk warns about every 100 ms
        // after a start.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,matrix_sdk_crypto::backups=error")
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match args.log_format {
        args::LogFormat::Text => builder
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none(),
            )
            .try_init(),
        // One JSON object a line: timestamp, level, target, the message
        // and its fields at the top level.
        args::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .try_init(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::invalid(format!("error: cannot start the runtime: {e}")))?;
    let opts = crate::daemon::RunOptions {
        config: args.config.clone(),
        manual_clock,
    };
    match runtime.block_on(crate::daemon::run(opts)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Failure::invalid(format!("error: {e}"))),
    }
}
