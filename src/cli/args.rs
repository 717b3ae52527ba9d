//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "shipgate",
    version = crate::VERSION,
    about = "Release chat-ops: release candidates, release managers and production windows as rules"
)]
#[command(arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: chat adapters, webhooks, timers, hot-reloaded rules.
    Run(RunArgs),
    /// Check rules files: syntax, names, times, and their `test` blocks.
    ///
    /// Each PATH is checked as one rule set: a file on its own, or a
    /// directory's `*.rules` files together. Exit 0 when all are valid and
    /// their tests pass, 1 otherwise (diagnostics on stderr).
    Check(CheckArgs),
    /// Say whether a window is open at an instant, which rule decided, when
    /// it next changes and which exceptions could open it.
    Explain(ExplainArgs),
    /// Show a window's open hours over a period.
    Calendar(CalendarArgs),
    /// Replay a script of events (JSON lines) on a fresh database with a
    /// virtual clock, printing every effect as a JSON line.
    Simulate(SimulateArgs),
    /// Check a deployment: config, rules, database, chat accounts, listen
    /// address, secrets and forge tokens; a checklist with a fix for each
    /// failure (exit 0 all good, 1 something to fix).
    Doctor(DoctorArgs),
    /// Ask a running daemon whether a product's gate is open, for CI jobs.
    ///
    /// Exit 0 when the gate is open, 1 when it is closed (saying why and
    /// when it opens), 2 on an error (daemon unreachable, unknown product).
    Gate(GateArgs),
    /// Database care: an online backup, a check.
    #[command(subcommand)]
    Db(DbCommand),
    /// Messages owed to chat: list them, skip one that can never be sent.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The daemon's base URL, e.g. `http://shipgate.internal:8080`.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The product whose gate to ask about.
    #[arg(long, value_name = "PRODUCT")]
    pub product: String,
    /// Open only while shipgate has approved the release of this RC (it
    /// is `releasing`).
    #[arg(long, value_name = "N")]
    pub rc: Option<u64>,
    /// Which gate: `release` or `cut`.
    #[arg(long, value_name = "ACTION", default_value = "release")]
    pub action: String,
    /// Keep asking until the gate opens or this long has passed, e.g.
    /// `30m`, `2h`, `1h30m`, `90s`.
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    /// How often to ask while waiting.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub every: String,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The team config (RON) whose `database` to use.
    #[arg(long, value_name = "PATH", default_value = "examples/shipgate.ron")]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the database to PATH with SQLite's online backup (safe while
    /// the daemon runs), then check the copy.
    Backup {
        #[command(flatten)]
        config: ConfigArg,
        /// Where to write the copy (must not exist yet).
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
    /// Check the database: integrity, references, schema version.
    /// Exit 0 when sound, 1 otherwise.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List messages not yet sent (with `--all`, recent sent ones too).
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Include sent and skipped messages.
        #[arg(long)]
        all: bool,
        /// At most this many, newest first.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Give up on one pending message (it is never sent), so the messages
    /// after it in its channel move on. Audited with who and why.
    Skip {
        #[command(flatten)]
        config: ConfigArg,
        /// The message's id (`shipgate outbox list`).
        #[arg(value_name = "ID")]
        id: i64,
        /// Why it is skipped (recorded in the audit).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Who skips it [default: $USER]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The team config (RON).
    #[arg(long, value_name = "CONFIG")]
    pub config: PathBuf,
    /// Rules file or directory [default: the config's `rules`, else the embedded defaults]
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,
    /// Seed for random choices (recorded in the audit).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print a readable chat log instead of JSON lines.
    #[arg(long)]
    pub transcript: bool,
    /// The script: one JSON object per line (`-` for stdin).
    #[arg(value_name = "EVENTS.jsonl")]
    pub events: PathBuf,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The team config (RON), e.g. `examples/shipgate.ron`.
    #[arg(long, value_name = "PATH", default_value = "examples/shipgate.ron")]
    pub config: PathBuf,
    /// Run on a manual clock starting at this RFC 3339 instant, moved with
    /// `POST /-/clock` (demos and tests).
    #[arg(long, value_name = "START")]
    pub manual_clock: Option<String>,
    /// How log lines on stderr look: `text` for people, `json` (one object
    /// a line) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rules files or directories of `*.rules` files (with `--config`,
    /// default: the config's `rules`, else the embedded default rules).
    #[arg(required_unless_present = "config")]
    pub paths: Vec<PathBuf>,
    /// Also check that the rules and this team config agree about
    /// products (`product` blocks and `rules_product`).
    #[arg(long, value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Print diagnostics as JSON lines on stdout instead of a report.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1) when there are warnings, like a clause that can never
    /// matter, as well as on errors.
    #[arg(long)]
    pub deny_warnings: bool,
    #[command(flatten)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Rules file or directory [default: `rules/` here, else the embedded defaults]
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,
    /// Evaluate the product's overrides.
    #[arg(long, value_name = "P")]
    pub product: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The window to explain.
    #[arg(default_value = "production")]
    pub window: String,
    /// RFC 3339 (`2026-03-09T12:00:00Z`) or local `YYYY-MM-DD HH:MM` in the
    /// window's time zone [default: now]
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The window to show.
    #[arg(default_value = "production")]
    pub window: String,
    /// First day, `YYYY-MM-DD` in the window's time zone [default: today]
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Number of days.
    #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Print the open intervals as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct ColorArg {
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorArg {
    /// Whether to colour output going to stdout (`stderr` for diagnostics).
    pub fn enabled(&self, stderr: bool) -> bool {
        use std::io::IsTerminal;
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none()
                    && if stderr {
                        std::io::stderr().is_terminal()
                    } else {
                        std::io::stdout().is_terminal()
                    }
            }
        }
    }
}

/// `shipgate doctor --config C`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The team config to check.
    #[arg(long, value_name = "CONFIG")]
    pub config: PathBuf,
}
