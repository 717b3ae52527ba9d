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

/// matrix-sdk's noise in a healthy run, kept below WARN unless `RUST_LOG`
/// names the target: shipgate keeps its Matrix keys in its own store and
/// does not use server-side key backup or secret storage (warned about
/// every 100 ms, and 404s on start); the HTTP client logs every failed
/// request at ERROR, expected ones included (a plain room has no
/// encryption state), while shipgate logs the failures that matter with
/// their cause; a first start's key query may not list the bot's device
/// yet ("own device might have been deleted").
const QUIET: &[&str] = &[
    "matrix_sdk_crypto::backups=error",
    "matrix_sdk::http_client=off",
    "matrix_sdk_crypto::identities::manager=error",
];

/// The log filter: `RUST_LOG` (default `info`) with [`QUIET`].
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let base = rust_log.filter(|s| !s.trim().is_empty()).unwrap_or("info");
    let mut filter = tracing_subscriber::EnvFilter::try_new(base)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for quiet in QUIET {
        let target = quiet.split('=').next().unwrap_or(quiet);
        if !base.contains(target)
            && let Ok(d) = quiet.parse()
        {
            filter = filter.add_directive(d);
        }
    }
    filter
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
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
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

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn matrix_sdk_noise_stays_quiet_unless_rust_log_names_it() {
        let default = log_filter(None).to_string();
        for quiet in super::QUIET {
            assert!(default.contains(quiet), "{default}");
        }
        let set = log_filter(Some("debug")).to_string();
        assert!(set.contains("matrix_sdk::http_client=off"), "{set}");
        let named = log_filter(Some("info,matrix_sdk::http_client=debug")).to_string();
        assert!(named.contains("matrix_sdk::http_client=debug"), "{named}");
        assert!(!named.contains("matrix_sdk::http_client=off"), "{named}");
        assert!(
            named.contains("matrix_sdk_crypto::backups=error"),
            "{named}"
        );
    }
}
