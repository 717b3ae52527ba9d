//! `shipgate db backup|check` and `shipgate outbox list|skip`: database
//! care beside a running daemon (see docs/deploy.md).

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::Failure;
use super::args::{ConfigArg, DbCommand, OutboxCommand};
use crate::config::Config;
use crate::store::maintenance::{self, SKIPPED_PREFIX};
use crate::store::{OutboxMessage, Store};

fn database(c: &ConfigArg) -> Result<std::path::PathBuf, Failure> {
    let config = Config::load(&c.config).map_err(|e| {
        let diags = e.diagnostics();
        if diags.is_empty() {
            Failure::invalid(format!("error: {e}"))
        } else {
            Failure::invalid(
                diags
                    .iter()
                    .map(|d| d.render(false))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }
    })?;
    Ok(config.database)
}

pub fn run(cmd: DbCommand) -> Result<ExitCode, Failure> {
    match cmd {
        DbCommand::Backup { config, path } => {
            let db = database(&config)?;
            let r = maintenance::backup(&db, &path)
                .map_err(|e| Failure::invalid(format!("error: {e}")))?;
            outln!(
                "backed up {} to {}: {} bytes, {} events, schema version {}, checked, in {} ms",
                db.display(),
                r.path.display(),
                r.bytes,
                r.events,
                r.schema_version,
                r.elapsed.as_millis()
            );
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Check { config } => {
            let db = database(&config)?;
            let r = maintenance::check(&db).map_err(|e| Failure::invalid(format!("error: {e}")))?;
            outln!("database {}", db.display());
            outln!("  size: {} bytes", r.bytes);
            outln!("  schema version: {}", r.schema_version);
            outln!(
                "  events: {}, pending messages: {}, audit rows: {}",
                r.events,
                r.pending_messages,
                r.audit_rows
            );
            if r.problems.is_empty() {
                outln!("ok");
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &r.problems {
                    outln!("  problem: {p}");
                }
                outln!(
                    "{} problem(s): restore the last good backup (docs/deploy.md, \"Restore\")",
                    r.problems.len()
                );
                Ok(ExitCode::from(1))
            }
        }
    }
}

fn state(m: &OutboxMessage) -> &'static str {
    match (m.sent, m.last_error.as_deref()) {
        (true, Some(e)) if e.starts_with(SKIPPED_PREFIX) => "skipped",
        (true, _) => "sent",
        (false, _) if m.attempts > 0 => "failing",
        (false, _) => "pending",
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 60 {
        format!("{}…", line.chars().take(60).collect::<String>())
    } else {
        line.to_owned()
    }
}

pub fn outbox(cmd: OutboxCommand, now: DateTime<Utc>) -> Result<ExitCode, Failure> {
    match cmd {
        OutboxCommand::List {
            config,
            all,
            limit,
            json,
        } => {
            let db = database(&config)?;
            let store =
                Store::open_read_only(&db).map_err(|e| Failure::invalid(format!("error: {e}")))?;
            let list = store
                .outbox_list(all, limit)
                .map_err(|e| Failure::invalid(format!("error: {e}")))?;
            for m in &list {
                if json {
                    let v = serde_json::json!({
                        "id": m.id,
                        "product": m.product,
                        "state": state(m),
                        "attempts": m.attempts,
                        "created_at": crate::timefmt::utc(m.created_at),
                        "retry_at": m.retry_at.map(crate::timefmt::utc),
                        "last_error": m.last_error,
                        "text": m.text,
                    });
                    outln!("{v}");
                } else {
                    outln!(
                        "{:>6}  {:<8} {:<12} attempts {:<3} {}  {}{}",
                        m.id,
                        state(m),
                        m.product,
                        m.attempts,
                        crate::timefmt::utc(m.created_at),
                        first_line(&m.text),
                        m.last_error
                            .as_deref()
                            .map(|e| format!("\n        last error: {e}"))
                            .unwrap_or_default()
                    );
                }
            }
            if list.is_empty() && !json {
                outln!("no {}messages", if all { "" } else { "pending " });
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Skip {
            config,
            id,
            reason,
            by,
        } => {
            let reason = reason.trim().to_owned();
            if reason.is_empty() {
                return Err(Failure::usage(
                    "`--reason` must say why the message is skipped",
                ));
            }
            let by = by
                .or_else(|| std::env::var("USER").ok())
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| "operator".to_owned());
            let db = database(&config)?;
            let mut store =
                Store::open(&db).map_err(|e| Failure::invalid(format!("error: {e}")))?;
            let m = store
                .skip_outbox(id, &by, &reason, now)
                .map_err(|e| Failure::invalid(format!("error: {e}")))?;
            outln!(
                "skipped message {} for {} ({}); recorded in the audit as skipped by {by}: {reason}",
                m.id,
                m.product,
                first_line(&m.text)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
