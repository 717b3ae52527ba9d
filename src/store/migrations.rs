//! Numbered schema migrations.
//!
//! [`MIGRATIONS`] is an ordered list; migration `n` (1-based) takes the
//! schema from version `n - 1` to `n`. The version lives in SQLite's
//! `PRAGMA user_version`, which is part of the database header and so
//! changes in the same transaction as the migration itself. Each migration
//! runs in its own `BEGIN IMMEDIATE` transaction, which also makes two
//! processes opening a fresh file at once harmless: the second one waits,
//! re-reads the version inside its transaction, and finds nothing left to
//! do. An up-to-date database is recognised without taking the write lock.
//!
//! Never edit a migration that has shipped; append a new one.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The schema, one step at a time.
pub const MIGRATIONS: &[&str] = &[
    // 1: events, the current state, the outbox, the audit log, rules versions.
    r#"
    -- Every input event, once (the idempotency key is unique).
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        key        TEXT    NOT NULL UNIQUE CHECK (key <> ''),
        at         TEXT    NOT NULL,
        kind       TEXT    NOT NULL CHECK (kind <> ''),
        event_json TEXT    NOT NULL
    );

    -- The engine state after the latest event: exactly one row.
    CREATE TABLE state (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        seq        INTEGER NOT NULL REFERENCES events (seq),
        state_json TEXT    NOT NULL
    );

    -- Messages owed to chat. The id never repeats (AUTOINCREMENT), so it
    -- can serve as the platform's idempotency / transaction id.
    CREATE TABLE outbox (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        event_seq     INTEGER NOT NULL REFERENCES events (seq),
        product       TEXT    NOT NULL CHECK (product <> ''),
        text          TEXT    NOT NULL,
        mentions_json TEXT    NOT NULL,
        reply_to      TEXT,
        status        TEXT    NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'sent')),
        attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        created_at    TEXT    NOT NULL,
        retry_at      TEXT,
        last_error    TEXT,
        remote_id     TEXT
    );
    -- Pending messages in id order, and per product (with `retry_at`, for
    -- the head-of-line check); sent messages stay out of both.
    CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';
    CREATE INDEX outbox_pending_product ON outbox (product, id, retry_at)
        WHERE status = 'pending';

    -- Who did what, under which rules, with which random seed.
    CREATE TABLE audit (
        id            INTEGER PRIMARY KEY,
        event_seq     INTEGER NOT NULL REFERENCES events (seq),
        at            TEXT    NOT NULL,
        actor         TEXT,
        action        TEXT    NOT NULL CHECK (action <> ''),
        detail        TEXT    NOT NULL,
        rules_version TEXT,
        seed          TEXT
    );
    CREATE INDEX audit_event ON audit (event_seq);

    -- Every rules version ever activated; `activation` orders activations.
    CREATE TABLE rules_versions (
        hash          TEXT    PRIMARY KEY CHECK (hash <> ''),
        text          TEXT    NOT NULL,
        first_seen_at TEXT    NOT NULL,
        loaded_at     TEXT    NOT NULL,
        activation    INTEGER NOT NULL UNIQUE
    );
    "#,
    // 2: how far each chat adapter has read, per room or channel.
    r#"
    -- The last chat input stored, per adapter and room/channel (`key`),
    -- so a restart reads what was said since (catch-up). `cursor` is the
    -- adapter's own position: a Matrix sync token or event, a Discord
    -- message id.
    CREATE TABLE chat_cursors (
        adapter    TEXT NOT NULL CHECK (adapter <> ''),
        key        TEXT NOT NULL,
        cursor     TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (adapter, key)
    );
    "#,
    // 3: the structure behind a message (an engine `Card`, JSON), for
    // platforms that show buttons.
    r#"
    ALTER TABLE outbox ADD COLUMN card_json TEXT;
    "#,
    // 4: the engine state per product. Until now the `state` row held the
    // whole state; from now on it holds the global part (RC and request
    // counters, who is away, pending CI actions and deployment answers) and
    // each product's state is a row of `product_state`, written only by
    // the events that change it. Existing states are split here.
    r#"
    -- Each product's state, as of event `seq` (the last event that changed
    -- it). The whole engine state is the `state` row plus these rows.
    CREATE TABLE product_state (
        product    TEXT    PRIMARY KEY CHECK (product <> ''),
        seq        INTEGER NOT NULL REFERENCES events (seq),
        state_json TEXT    NOT NULL
    );
    CREATE INDEX product_state_seq ON product_state (seq);

    INSERT INTO product_state (product, seq, state_json)
        SELECT p.key, s.seq, p.value
        FROM state s, json_each(s.state_json, '$.products') p;
    UPDATE state SET state_json = json_remove(state_json, '$.products');
    "#,
];

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// Read `PRAGMA user_version`.
pub fn schema_version(conn: &Connection, path: &Path) -> Result<u32, StoreError> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| StoreError::Sqlite {
            path: path.to_owned(),
            action: "read the schema version",
            source,
        })?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        what: format!("the schema version is {v}, which is not a valid version number"),
    })
}

/// Apply every migration the database has not seen yet, each in its own
/// transaction. Opening a database from a newer build is an error.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    migrate_with(conn, path, MIGRATIONS)
}

/// [`migrate`] over an explicit list (tests use longer lists).
pub(crate) fn migrate_with(
    conn: &mut Connection,
    path: &Path,
    migrations: &[&str],
) -> Result<(), StoreError> {
    let supported = u32::try_from(migrations.len()).unwrap_or(u32::MAX);
    let sql_err = |action: &'static str| {
        move |source| StoreError::Sqlite {
            path: path.to_owned(),
            action,
            source,
        }
    };
    // Fast path without a write lock, so that opening a second connection
    // while the daemon writes does not wait for the daemon's transaction.
    let found = schema_version(conn, path)?;
    if found > supported {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    if found == supported {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err("start a migration"))?;
        let found = schema_version(&tx, path)?;
        if found > supported {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found,
                supported,
            });
        }
        let Some(sql) = usize::try_from(found).ok().and_then(|i| migrations.get(i)) else {
            // Up to date; dropping `tx` ends the empty transaction.
            return Ok(());
        };
        tx.execute_batch(sql)
            .map_err(sql_err("apply a migration"))?;
        tx.pragma_update(None, "user_version", found + 1)
            .map_err(sql_err("record the schema version"))?;
        tx.commit().map_err(sql_err("commit a migration"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(conn: &Connection) -> u32 {
        schema_version(conn, Path::new(":memory:")).unwrap()
    }

    #[test]
    fn applies_every_migration_then_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(versions(&conn), latest_version());
        // Running again is a no-op, not an error ("table already exists").
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(versions(&conn), latest_version());
    }

    #[test]
    fn later_migrations_apply_on_top_of_earlier_ones() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let mut longer: Vec<&str> = MIGRATIONS.to_vec();
        longer.push("CREATE TABLE extra (x INTEGER);");
        migrate_with(&mut conn, Path::new(":memory:"), &longer).unwrap();
        assert_eq!(versions(&conn), latest_version() + 1);
        conn.execute("INSERT INTO extra (x) VALUES (1)", [])
            .unwrap();
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let mut longer: Vec<&str> = MIGRATIONS.to_vec();
        longer.push("CREATE TABLE half (x INTEGER); THIS IS NOT SQL;");
        let err = migrate_with(&mut conn, Path::new(":memory:"), &longer).unwrap_err();
        assert!(err.to_string().contains("apply a migration"), "{err}");
        assert_eq!(versions(&conn), latest_version());
        let half: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'half'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half, 0, "the failed migration was rolled back");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 3)
            .unwrap();
        let err = migrate(&mut conn, Path::new("/srv/shipgate.db")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{msg}");
        assert!(msg.contains("/srv/shipgate.db"), "{msg}");
        assert!(msg.contains("newer") || msg.contains("only knows"), "{msg}");
    }
}
