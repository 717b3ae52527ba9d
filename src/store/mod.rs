//! The durable store: one SQLite file, one writer, many readers.
//!
//! An input event, the engine state it produces, the messages it owes
//! (the outbox) and its audit rows are committed in one transaction
//! ([`Store::commit`]), so a crash loses nothing and repeats nothing: either
//! the event and all its consequences are on disk, or none of them are, and
//! a redelivered event (same idempotency key) changes nothing. Several
//! events may share one transaction and one disk flush (group commit,
//! [`Store::begin_group`]), each in its own savepoint.
//!
//! - Connection: `journal_mode=WAL` (readers never block the writer and
//!   another process, e.g. `shipgate status`, may read while the daemon
//!   writes), `synchronous=FULL` (a commit that returned is on disk),
//!   `foreign_keys=ON`, a 5 s busy timeout.
//! - Schema: numbered migrations ([`migrations`]), versioned by
//!   `PRAGMA user_version`.
//! - Times are stored as RFC 3339 UTC text with nanoseconds
//!   (`2026-03-09T13:00:00.000000000Z`): readable with the `sqlite3` shell
//!   and ordered correctly by plain text comparison.
//!
//! - State: the global part of the engine state in the one `state` row,
//!   each product's state in its own `product_state` row; an event writes
//!   the global row and the rows of the products it changed
//!   ([`Store::commit_with_products`]), so its cost does not grow with
//!   the number of products.
//!
//! Files: [`migrations`] (schema), `events.rs` (commit, state, replay),
//! `outbox.rs` (messages owed to chat), `audit.rs` (the audit log),
//! `rules_versions.rs` (every rules version activated), `cursors.rs` (how
//! far each chat adapter has read), `error.rs`.

mod audit;
mod cursors;
mod error;
mod events;
mod forge;
pub mod maintenance;
pub mod migrations;
mod outbox;
pub mod retention;
mod rules_versions;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};

pub use audit::AuditEntry;
pub use error::StoreError;
pub use events::{AuditRow, Commit, CommitOutcome, NewMessage, ProductRow, StoredEvent};
pub use outbox::OutboxMessage;
pub use rules_versions::{RulesVersion, rules_hash};

/// How long a connection waits for another connection's lock before giving
/// up with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The path shown in messages for an in-memory database.
const MEMORY: &str = ":memory:";

/// The durable store. Open one writable `Store` per database (the daemon);
/// any number of [`Store::open_read_only`] readers may run beside it, in
/// this process or another.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
    /// A group transaction ([`Store::begin_group`]) is open: commits are
    /// savepoints inside it.
    group: bool,
}

/// The connection settings as SQLite reports them (see [`Store::pragmas`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pragmas {
    /// `wal` for a file, `memory` for an in-memory database.
    pub journal_mode: String,
    /// 0 = OFF, 1 = NORMAL, 2 = FULL, 3 = EXTRA.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

impl Store {
    /// Open (creating it if needed) the database at `path` for writing,
    /// and migrate it to the current schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        Self::set_up(conn, path.to_owned(), true)
    }

    /// A fresh, private in-memory database (for tests and `simulate`).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: PathBuf::from(MEMORY),
            source,
        })?;
        Self::set_up(conn, PathBuf::from(MEMORY), false)
    }

    /// Open an existing database for reading only, e.g. from another process
    /// while the daemon writes. The file must exist and be fully migrated.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        let found = migrations::schema_version(&conn, path)?;
        let expected = migrations::latest_version();
        if found > expected {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found,
                supported: expected,
            });
        }
        if found < expected {
            return Err(StoreError::OldSchema {
                path: path.to_owned(),
                found,
                expected,
            });
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
            read_only: true,
            group: false,
        })
    }

    fn set_up(mut conn: Connection, path: PathBuf, wal: bool) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        // First, so that switching the journal mode waits for other openers.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(open_err)?;
        if wal && !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { path, mode });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        migrations::migrate(&mut conn, &path)?;
        Ok(Store {
            conn,
            path,
            read_only: false,
            group: false,
        })
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrations::schema_version(&self.conn, &self.path)
    }

    /// The connection settings, as SQLite reports them.
    pub fn pragmas(&self) -> Result<Pragmas, StoreError> {
        let read = |name: &str| -> Result<rusqlite::types::Value, StoreError> {
            self.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .map_err(self.sql_err("read the connection settings"))
        };
        let int = |v: rusqlite::types::Value| match v {
            rusqlite::types::Value::Integer(i) => i,
            _ => -1,
        };
        let journal_mode = match read("journal_mode")? {
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        };
        Ok(Pragmas {
            journal_mode,
            synchronous: int(read("synchronous")?),
            foreign_keys: int(read("foreign_keys")?) == 1,
            busy_timeout_ms: int(read("busy_timeout")?),
        })
    }

    /// `PRAGMA integrity_check` says `ok`.
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(self.sql_err("check the database's integrity"))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.sql_err("check the database's integrity"))?;
        let mut lines = Vec::new();
        for row in rows {
            lines.push(row.map_err(self.sql_err("check the database's integrity"))?);
        }
        Ok(lines.len() == 1 && lines.first().is_some_and(|l| l == "ok"))
    }

    /// Turn a rusqlite error into a [`StoreError`] naming this database.
    fn sql_err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        sql_err(&self.path, action)
    }

    /// Refuse writes through a read-only opening with a clear message.
    fn writable(&self, action: &'static str) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
                action,
            });
        }
        Ok(())
    }

    fn corrupt(&self, what: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
        }
    }

    fn decode_time(&self, column: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| self.corrupt(format!("`{column}` holds `{text}`, not a time: {e}")))
    }
}

/// The stored form of a time: fixed-width RFC 3339 UTC, so text order is
/// time order.
fn encode_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Turn a rusqlite error into a [`StoreError`] naming the database at
/// `path` (a free function, so it can borrow the path while a transaction
/// borrows the connection).
fn sql_err<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl Fn(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        action,
        source,
    }
}

/// A row id or sequence number read back from SQLite, which only hands out
/// positive ones.
fn to_u64(path: &Path, column: &str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        what: format!("`{column}` holds {v}, which is negative"),
    })
}

/// Clamp a caller's `limit` to what SQLite's `LIMIT` takes.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a = Utc.with_ymd_and_hms(2026, 3, 9, 8, 0, 0).unwrap();
        let b = a + chrono::TimeDelta::nanoseconds(1);
        let (ea, eb) = (encode_time(a), encode_time(b));
        assert_eq!(ea, "2026-03-09T08:00:00.000000000Z");
        assert!(ea < eb);
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.decode_time("at", &eb).unwrap(), b);
        let err = store.decode_time("at", "yesterday").unwrap_err();
        assert!(err.to_string().contains("`at` holds `yesterday`"), "{err}");
    }

    #[test]
    fn file_store_has_the_promised_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let p = store.pragmas().unwrap();
        assert_eq!(p.journal_mode, "wal");
        assert_eq!(p.synchronous, 2);
        assert!(p.foreign_keys);
        assert_eq!(p.busy_timeout_ms, 5000);
        assert!(store.integrity_check().unwrap());
    }

    #[test]
    fn open_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("s.db");
        let err = Store::open(&missing).unwrap_err();
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
        let err = Store::open(&garbage).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("could not open the database"), "{msg}");
        assert!(msg.contains("garbage.db"), "{msg}");
    }
}
