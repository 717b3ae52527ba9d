//! Database care an operator runs beside the daemon: an online backup, a
//! health check, and the outbox's stuck messages.
//!
//! - [`backup`] uses SQLite's online backup API in one step: it reads one
//!   consistent snapshot (a WAL reader, so the daemon's writer is never
//!   blocked), writes it to `PATH.partial`, checks the copy
//!   (`PRAGMA integrity_check`, the schema version), flushes it, and only
//!   then renames it to `PATH`. Everything committed before the backup
//!   started is in the copy.
//! - [`check`] reports `integrity_check`, `foreign_key_check`, the schema
//!   version and what the tables hold.
//! - [`Store::skip_outbox`] marks a message that can never be delivered as
//!   done, with an audit row, so its product's queue moves on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError, encode_time, migrations, sql_err};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub events: u64,
    pub schema_version: u32,
    pub elapsed: Duration,
}

/// What `shipgate db check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Empty when the file is sound.
    pub problems: Vec<String>,
    pub schema_version: u32,
    pub events: u64,
    pub pending_messages: u64,
    pub audit_rows: u64,
    pub bytes: u64,
}

/// The last line of a message that was skipped by hand: `last_error`
/// starts with this.
pub const SKIPPED_PREFIX: &str = "skipped by ";

fn open_source(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    if !path.is_file() {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            what: "no such database file".to_owned(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.busy_timeout(super::BUSY_TIMEOUT).map_err(open_err)?;
    Ok(conn)
}

fn count(conn: &Connection, path: &Path, sql: &str) -> Result<u64, StoreError> {
    let n: i64 = conn
        .query_row(sql, [], |r| r.get(0))
        .map_err(sql_err(path, "count rows"))?;
    super::to_u64(path, "count", n)
}

fn integrity(conn: &Connection, path: &Path) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(sql_err(path, "check the database's integrity"))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err(path, "check the database's integrity"))?;
    for row in rows {
        let line = row.map_err(sql_err(path, "check the database's integrity"))?;
        if line != "ok" {
            problems.push(format!("integrity_check: {line}"));
        }
    }
    let mut stmt = conn
        .prepare("PRAGMA foreign_key_check")
        .map_err(sql_err(path, "check the database's references"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql_err(path, "check the database's references"))?;
    for row in rows {
        let (table, rowid, parent) =
            row.map_err(sql_err(path, "check the database's references"))?;
        let rowid = rowid.map_or_else(|| "?".to_owned(), |r| r.to_string());
        problems.push(format!(
            "foreign_key_check: `{table}` row {rowid} names a missing `{parent}` row"
        ));
    }
    Ok(problems)
}

/// Copies the database at `src` to `dest` while the daemon may be writing
/// it. Refuses to overwrite `dest`.
pub fn backup(src: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    let started = Instant::now();
    if dest.exists() {
        return Err(StoreError::Corrupt {
            path: dest.to_owned(),
            what: "the backup file already exists; choose a new name or remove it first".to_owned(),
        });
    }
    let source = open_source(src)?;
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let copy_err = |source| StoreError::Open {
        path: partial.clone(),
        source,
    };
    {
        let mut target = Connection::open(&partial).map_err(copy_err)?;
        let backup = rusqlite::backup::Backup::new(&source, &mut target)
            .map_err(sql_err(src, "start a backup"))?;
        // Every page in one step: one read snapshot, never restarted by the
        // daemon's writes, which it does not block (WAL).
        backup.step(-1).map_err(sql_err(src, "copy the database"))?;
    }
    let copy = Connection::open(&partial).map_err(copy_err)?;
    let problems = integrity(&copy, &partial)?;
    if !problems.is_empty() {
        let _ = std::fs::remove_file(&partial);
        return Err(StoreError::Corrupt {
            path: partial,
            what: format!("the copy failed its check: {}", problems.join("; ")),
        });
    }
    let schema_version = migrations::schema_version(&copy, &partial)?;
    let events = count(&copy, &partial, "SELECT count(*) FROM events")?;
    // Fold the copy's WAL (if any) into the file, so the backup is one file.
    copy.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    })
    .map_err(sql_err(&partial, "finish the backup file"))?;
    drop(copy);
    let io_err = |what: String| StoreError::Corrupt {
        path: dest.to_owned(),
        what,
    };
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(format!("cannot flush the backup: {e}")))?;
    std::fs::rename(&partial, dest)
        .map_err(|e| io_err(format!("cannot rename the backup: {e}")))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        path: dest.to_owned(),
        bytes,
        events,
        schema_version,
        elapsed: started.elapsed(),
    })
}

/// Checks the database at `path` (read-only; the daemon may run).
pub fn check(path: &Path) -> Result<CheckReport, StoreError> {
    let conn = open_source(path)?;
    let mut problems = integrity(&conn, path)?;
    let schema_version = migrations::schema_version(&conn, path)?;
    let expected = migrations::latest_version();
    if schema_version != expected {
        problems.push(format!(
            "schema version {schema_version}, this shipgate's is {expected}"
        ));
    }
    let (events, pending_messages, audit_rows) = if schema_version >= 1 {
        (
            count(&conn, path, "SELECT count(*) FROM events")?,
            count(
                &conn,
                path,
                "SELECT count(*) FROM outbox WHERE status = 'pending'",
            )?,
            count(&conn, path, "SELECT count(*) FROM audit")?,
        )
    } else {
        (0, 0, 0)
    };
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(CheckReport {
        problems,
        schema_version,
        events,
        pending_messages,
        audit_rows,
        bytes,
    })
}

impl Store {
    /// Up to `limit` outbox messages, newest first: only pending ones
    /// unless `all`.
    pub fn outbox_list(
        &self,
        all: bool,
        limit: usize,
    ) -> Result<Vec<super::OutboxMessage>, StoreError> {
        let filter = if all {
            ""
        } else {
            "WHERE o.status = 'pending'"
        };
        let sql = format!(
            "SELECT {} FROM outbox o {filter} ORDER BY o.id DESC LIMIT ?1",
            super::outbox::COLUMNS
        );
        self.messages(&sql, params![super::sql_limit(limit)])
    }

    /// Marks pending message `id` as done without sending it, for a
    /// message that can never be delivered, and records who did it and why
    /// in the audit (under the event that queued the message). The
    /// daemon may be running: its dispatcher no longer sees the message.
    pub fn skip_outbox(
        &mut self,
        id: i64,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<super::OutboxMessage, StoreError> {
        self.writable("skip an outbox message")?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(&path, "start a transaction"))?;
        let row: Option<(i64, String, String, Option<String>)> = tx
            .query_row(
                "SELECT event_seq, status, product, last_error FROM outbox WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(sql_err(&path, "read the outbox"))?;
        let Some((event_seq, status, product, last_error)) = row else {
            return Err(StoreError::UnknownMessage { path, id });
        };
        if status != "pending" {
            let skipped = last_error.is_some_and(|e| e.starts_with(SKIPPED_PREFIX));
            let was = if skipped { "skipped" } else { "sent" };
            return Err(StoreError::NotPending { path, id, was });
        }
        let note = format!("{SKIPPED_PREFIX}{actor}: {reason}");
        tx.execute(
            "UPDATE outbox SET status = 'sent', retry_at = NULL, last_error = ?2 \
             WHERE id = ?1 AND status = 'pending'",
            params![id, note],
        )
        .map_err(sql_err(&path, "skip an outbox message"))?;
        let detail = serde_json::json!({
            "message": id,
            "product": product,
            "reason": reason,
        })
        .to_string();
        tx.execute(
            "INSERT INTO audit (event_seq, at, actor, action, detail) \
             VALUES (?1, ?2, ?3, 'outbox_skip', ?4)",
            params![event_seq, encode_time(now), actor, detail],
        )
        .map_err(sql_err(&path, "audit an outbox skip"))?;
        tx.commit()
            .map_err(sql_err(&path, "skip an outbox message"))?;
        self.outbox_message(id)?
            .ok_or(StoreError::UnknownMessage { path, id })
    }
}
