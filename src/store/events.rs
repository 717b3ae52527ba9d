//! Events in, state and consequences out, in one transaction.

use chrono::{DateTime, Utc};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError, encode_time, sql_err, sql_limit, to_u64};

/// One input event and everything it leads to, committed together by
/// [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Idempotency key: `github:<delivery-id>`, `chat:matrix:<event-id>`,
    /// `tick:<rfc3339>`, ... A key seen before makes the commit a no-op.
    pub key: String,
    /// When the event happened (the engine's `now`).
    pub at: DateTime<Utc>,
    /// `merged`, `chat`, `ci`, `tick`, ...
    pub kind: String,
    pub event_json: String,
    /// The global part of the engine state after the event (everything but
    /// the products, whose states go with
    /// [`Store::commit_with_products`]).
    pub state_json: String,
    /// Messages the event owes to chat.
    pub outbox: Vec<NewMessage>,
    pub audit: Vec<AuditRow>,
}

/// One product's state after an event that changed it (see
/// [`Store::commit_with_products`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    /// Must not be empty.
    pub product: String,
    /// `None`: the product has no state any more (its row is deleted).
    pub state_json: Option<String>,
}

/// A message to post, as the engine plans it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// The product whose channel it goes to; must not be empty.
    pub product: String,
    pub text: String,
    pub mentions: Vec<String>,
    pub reply_to: Option<String>,
    /// The engine's `Card` for it, as JSON (platforms with buttons).
    pub card_json: Option<String>,
}

/// One audit line: who did what, under which rules version, with which seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRow {
    pub actor: Option<String>,
    /// What happened, e.g. `rc.cut`; must not be empty.
    pub action: String,
    pub detail: String,
    pub rules_version: Option<String>,
    pub seed: Option<u64>,
}

/// What [`Store::commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Stored as event number `seq`.
    Applied { seq: u64 },
    /// The key was already stored as event `seq`; nothing changed.
    Duplicate { seq: u64 },
}

impl CommitOutcome {
    /// The event's sequence number, new or old.
    pub fn seq(self) -> u64 {
        match self {
            CommitOutcome::Applied { seq } | CommitOutcome::Duplicate { seq } => seq,
        }
    }
}

/// An event as stored (see [`Store::events_since`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub key: String,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub event_json: String,
}

impl Store {
    /// Store an event, the state after it, its outbox messages and its audit
    /// rows in one `BEGIN IMMEDIATE` transaction. If the key was stored
    /// before, nothing changes and the old sequence number comes back as
    /// [`CommitOutcome::Duplicate`]. If any part fails, nothing is stored.
    ///
    /// Inside a group ([`Store::begin_group`]) the same happens in a
    /// savepoint of the group's transaction instead: the event is visible
    /// to this connection at once, and stored (durably, with every other
    /// event of the group) only by [`Store::commit_group`].
    pub fn commit(&mut self, c: &Commit) -> Result<CommitOutcome, StoreError> {
        self.commit_with_products(c, &[])
    }

    /// [`Store::commit`], also writing the state of the products the event
    /// changed (and only those: the cost of an event does not grow with
    /// the number of products). Products not named keep their rows.
    pub fn commit_with_products(
        &mut self,
        c: &Commit,
        products: &[ProductRow],
    ) -> Result<CommitOutcome, StoreError> {
        self.writable("commit an event")?;
        let path = self.path.as_path();
        if self.group {
            if self.conn.is_autocommit() {
                // SQLite rolled the group back on an error (e.g. a full
                // disk); a savepoint now would start, and commit, a
                // transaction of its own.
                return Err(group_gone(path));
            }
            let mut sp = self
                .conn
                .savepoint()
                .map_err(sql_err(path, "start a savepoint"))?;
            let outcome = write_commit(&sp, path, c, products);
            return match outcome {
                Ok(CommitOutcome::Applied { seq }) => {
                    sp.commit().map_err(sql_err(path, "commit an event"))?;
                    Ok(CommitOutcome::Applied { seq })
                }
                Ok(dup @ CommitOutcome::Duplicate { .. }) => {
                    sp.rollback().map_err(sql_err(path, "end a savepoint"))?;
                    Ok(dup)
                }
                Err(e) => {
                    // Undo this event's part; the group goes on. (Dropping
                    // the savepoint rolls back to it and releases it.)
                    let _ = sp.rollback();
                    Err(e)
                }
            };
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(path, "start a transaction"))?;
        match write_commit(&tx, path, c, products)? {
            dup @ CommitOutcome::Duplicate { .. } => {
                tx.rollback().map_err(sql_err(path, "end a transaction"))?;
                Ok(dup)
            }
            applied @ CommitOutcome::Applied { .. } => {
                tx.commit().map_err(sql_err(path, "commit an event"))?;
                Ok(applied)
            }
        }
    }

    /// Starts a group: until [`Store::commit_group`], every
    /// [`Store::commit`] goes into one `BEGIN IMMEDIATE` transaction (each
    /// in a savepoint, so a failing event undoes only itself), and nothing
    /// is durable or visible to other connections. The daemon's writer uses
    /// this to store all the events waiting for it with one disk flush
    /// (group commit), acknowledging none before the group is committed.
    pub fn begin_group(&mut self) -> Result<(), StoreError> {
        self.writable("commit events")?;
        if self.group {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                what: "a group of commits was started twice".to_owned(),
            });
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(self.sql_err("start a transaction"))?;
        self.group = true;
        Ok(())
    }

    /// Commits the group's transaction (one disk flush with
    /// `synchronous=FULL`): every event committed since
    /// [`Store::begin_group`] is stored, or, on an error, none is.
    pub fn commit_group(&mut self) -> Result<(), StoreError> {
        if !self.group {
            return Ok(());
        }
        self.group = false;
        if self.conn.is_autocommit() {
            return Err(group_gone(&self.path));
        }
        let committed = self.conn.execute_batch("COMMIT");
        if committed.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        committed.map_err(self.sql_err("commit events"))
    }

    /// Drops the group: nothing committed since [`Store::begin_group`] is
    /// stored.
    pub fn rollback_group(&mut self) {
        if !self.group {
            return;
        }
        self.group = false;
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// The global part of the latest state (everything but the products,
    /// see [`Store::product_states`]) and the sequence number of the latest
    /// event; `None` before the first event. One row lookup, however many
    /// events came before.
    pub fn state(&self) -> Result<Option<(u64, String)>, StoreError> {
        let row: Option<(i64, String)> = self
            .conn
            .prepare_cached("SELECT seq, state_json FROM state WHERE id = 1")
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(self.sql_err("read the state"))?;
        row.map(|(seq, json)| Ok((to_u64(&self.path, "state.seq", seq)?, json)))
            .transpose()
    }

    /// Every product's latest state: `(product, seq, state_json)` in
    /// product order, `seq` being the last event that changed it.
    pub fn product_states(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT product, seq, state_json FROM product_state ORDER BY product")
            .map_err(self.sql_err("read the products' states"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(self.sql_err("read the products' states"))?;
        let mut out = Vec::new();
        for row in rows {
            let (product, seq, json) = row.map_err(self.sql_err("read the products' states"))?;
            out.push((product, to_u64(&self.path, "product_state.seq", seq)?, json));
        }
        Ok(out)
    }

    /// Whether an event with this idempotency key is stored.
    pub fn event_exists(&self, key: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM events WHERE key = ?1)")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)))
            .map_err(self.sql_err("look up an event key"))
    }

    /// Up to `limit` events with a sequence number above `seq`, oldest
    /// first (`events_since(0, n)` starts at the beginning).
    pub fn events_since(&self, seq: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let after = i64::try_from(seq).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, key, at, kind, event_json FROM events WHERE seq > ?1 \
                 ORDER BY seq LIMIT ?2",
            )
            .map_err(self.sql_err("read events"))?;
        let rows = stmt
            .query_map(params![after, sql_limit(limit)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(self.sql_err("read events"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, key, at, kind, event_json) = row.map_err(self.sql_err("read events"))?;
            out.push(StoredEvent {
                seq: to_u64(&self.path, "events.seq", seq)?,
                key,
                at: self.decode_time("events.at", &at)?,
                kind,
                event_json,
            });
        }
        Ok(out)
    }

    /// When the latest stored event was decided (`None` on a fresh store):
    /// the ledger never decides a timer before it.
    pub fn last_event_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<String> = self
            .conn
            .prepare_cached("SELECT at FROM events ORDER BY seq DESC LIMIT 1")
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(self.sql_err("read the latest event"))?;
        at.map(|t| self.decode_time("events.at", &t)).transpose()
    }

    /// How many events are stored.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM events")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(self.sql_err("count events"))?;
        to_u64(&self.path, "count(events)", n)
    }
}

/// Looks the key up and, when it is new, writes the event, the state, the
/// outbox messages and the audit rows, inside the caller's transaction or
/// savepoint (which the caller commits, or rolls back for a duplicate).
fn write_commit(
    conn: &Connection,
    path: &Path,
    c: &Commit,
    products: &[ProductRow],
) -> Result<CommitOutcome, StoreError> {
    let existing: Option<i64> = conn
        .prepare_cached("SELECT seq FROM events WHERE key = ?1")
        .and_then(|mut s| s.query_row([&c.key], |r| r.get(0)).optional())
        .map_err(sql_err(path, "look up an event key"))?;
    if let Some(seq) = existing {
        return Ok(CommitOutcome::Duplicate {
            seq: to_u64(path, "events.seq", seq)?,
        });
    }

    let at = encode_time(c.at);
    let seq = conn
        .prepare_cached(
            "INSERT INTO events (key, at, kind, event_json) VALUES (?1, ?2, ?3, ?4) \
             RETURNING seq",
        )
        .and_then(|mut s| {
            s.query_row(params![c.key, at, c.kind, c.event_json], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map_err(sql_err(path, "store an event"))?;

    conn.prepare_cached(
        "INSERT INTO state (id, seq, state_json) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state_json = excluded.state_json",
    )
    .and_then(|mut s| s.execute(params![seq, c.state_json]))
    .map_err(sql_err(path, "store the state"))?;

    for p in products {
        match &p.state_json {
            Some(json) => conn
                .prepare_cached(
                    "INSERT INTO product_state (product, seq, state_json) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (product) DO UPDATE \
                     SET seq = excluded.seq, state_json = excluded.state_json",
                )
                .and_then(|mut s| s.execute(params![p.product, seq, json])),
            None => conn
                .prepare_cached("DELETE FROM product_state WHERE product = ?1")
                .and_then(|mut s| s.execute([&p.product])),
        }
        .map_err(sql_err(path, "store a product's state"))?;
    }

    if !c.outbox.is_empty() {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO outbox (event_seq, product, text, mentions_json, reply_to, created_at, \
                 card_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(sql_err(path, "queue a message"))?;
        for m in &c.outbox {
            let mentions = serde_json::to_string(&m.mentions).map_err(|e| StoreError::Corrupt {
                path: path.to_owned(),
                what: format!("could not encode the mentions of a message: {e}"),
            })?;
            insert
                .execute(params![
                    seq,
                    m.product,
                    m.text,
                    mentions,
                    m.reply_to,
                    at,
                    m.card_json
                ])
                .map_err(sql_err(path, "queue a message"))?;
        }
    }

    if !c.audit.is_empty() {
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO audit (event_seq, at, actor, action, detail, rules_version, seed) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(sql_err(path, "write an audit row"))?;
        for a in &c.audit {
            let seed = a.seed.map(|s| s.to_string());
            insert
                .execute(params![
                    seq,
                    at,
                    a.actor,
                    a.action,
                    a.detail,
                    a.rules_version,
                    seed
                ])
                .map_err(sql_err(path, "write an audit row"))?;
        }
    }

    Ok(CommitOutcome::Applied {
        seq: to_u64(path, "events.seq", seq)?,
    })
}

/// The error for a commit into a group whose transaction SQLite already
/// rolled back.
fn group_gone(path: &Path) -> StoreError {
    StoreError::Sqlite {
        path: path.to_owned(),
        action: "commit an event",
        source: rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
            Some(
                "the group's transaction was rolled back after an earlier error; nothing of the group is stored"
                    .to_owned(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn commit(key: &str, minute: u32) -> Commit {
        Commit {
            key: key.to_owned(),
            at: Utc.with_ymd_and_hms(2026, 3, 9, 13, minute, 0).unwrap(),
            kind: "chat".to_owned(),
            event_json: format!(r#"{{"key":"{key}"}}"#),
            state_json: format!(r#"{{"after":"{key}"}}"#),
            outbox: vec![NewMessage {
                card_json: None,
                product: "payments".to_owned(),
                text: format!("hello from {key}"),
                mentions: vec!["@ana".to_owned()],
                reply_to: None,
            }],
            audit: vec![AuditRow {
                actor: Some("ana".to_owned()),
                action: "test".to_owned(),
                detail: String::new(),
                rules_version: Some("abc".to_owned()),
                seed: Some(u64::MAX),
            }],
        }
    }

    #[test]
    fn commit_then_read_back() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.state().unwrap(), None);
        assert_eq!(store.event_count().unwrap(), 0);
        let a = store.commit(&commit("chat:a", 0)).unwrap();
        let b = store.commit(&commit("chat:b", 1)).unwrap();
        assert_eq!(a, CommitOutcome::Applied { seq: 1 });
        assert_eq!(b, CommitOutcome::Applied { seq: 2 });
        assert_eq!(
            store.state().unwrap(),
            Some((2, r#"{"after":"chat:b"}"#.to_owned()))
        );
        assert!(store.event_exists("chat:a").unwrap());
        assert!(!store.event_exists("chat:c").unwrap());
        let events = store.events_since(0, 10).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].key, "chat:b");
        assert_eq!(events[1].at, commit("chat:b", 1).at);
        assert_eq!(store.events_since(1, 10).unwrap().len(), 1);
        assert_eq!(store.events_since(0, 1).unwrap().len(), 1);
        assert_eq!(store.events_since(u64::MAX, 10).unwrap().len(), 0);
    }

    #[test]
    fn duplicate_key_returns_the_first_seq_and_changes_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        store.commit(&commit("github:1", 0)).unwrap();
        let mut again = commit("github:1", 5);
        again.state_json = "{\"other\":true}".to_owned();
        let out = store.commit(&again).unwrap();
        assert_eq!(out, CommitOutcome::Duplicate { seq: 1 });
        assert_eq!(out.seq(), 1);
        assert_eq!(store.event_count().unwrap(), 1);
        assert_eq!(store.state().unwrap().unwrap().1, r#"{"after":"github:1"}"#);
        assert_eq!(store.outbox_depth().unwrap(), 1);
        assert_eq!(store.audit(100).unwrap().len(), 1);
    }

    #[test]
    fn a_failing_part_stores_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        store.commit(&commit("k:1", 0)).unwrap();
        let mut bad = commit("k:2", 1);
        bad.audit[0].action = String::new(); // violates CHECK (action <> '')
        let err = store.commit(&bad).unwrap_err();
        assert!(err.to_string().contains("write an audit row"), "{err}");
        assert!(!store.event_exists("k:2").unwrap());
        assert_eq!(store.event_count().unwrap(), 1);
        assert_eq!(store.state().unwrap().unwrap().0, 1);
        assert_eq!(store.outbox_depth().unwrap(), 1);
        // The connection is still usable and the key still free.
        let out = store.commit(&commit("k:2", 2)).unwrap();
        assert_eq!(out, CommitOutcome::Applied { seq: 2 });
    }

    #[test]
    fn commit_without_messages_or_audit() {
        let mut store = Store::open_in_memory().unwrap();
        let mut c = commit("tick:2026-03-09T13:00:00Z", 0);
        c.outbox.clear();
        c.audit.clear();
        c.kind = "tick".to_owned();
        assert_eq!(store.commit(&c).unwrap().seq(), 1);
        assert_eq!(store.outbox_depth().unwrap(), 0);
    }

    #[test]
    fn a_group_is_stored_by_one_commit_and_seen_by_others_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("group.db");
        let mut store = Store::open(&path).unwrap();
        let reader = Store::open_read_only(&path).unwrap();
        store.commit(&commit("k:0", 0)).unwrap();
        store.begin_group().unwrap();
        assert!(store.begin_group().is_err(), "no nested groups");
        assert_eq!(
            store.commit(&commit("k:1", 1)).unwrap(),
            CommitOutcome::Applied { seq: 2 }
        );
        // A key seen earlier in the same group is a duplicate too.
        assert_eq!(
            store.commit(&commit("k:1", 2)).unwrap(),
            CommitOutcome::Duplicate { seq: 2 }
        );
        assert_eq!(
            store.commit(&commit("k:0", 2)).unwrap(),
            CommitOutcome::Duplicate { seq: 1 }
        );
        // A failing event undoes only itself.
        let mut bad = commit("k:bad", 3);
        bad.audit[0].action = String::new();
        assert!(store.commit(&bad).is_err());
        assert_eq!(
            store.commit(&commit("k:2", 4)).unwrap(),
            CommitOutcome::Applied { seq: 3 }
        );
        // This connection sees the group; nobody else does yet.
        assert!(store.event_exists("k:2").unwrap());
        assert!(!reader.event_exists("k:1").unwrap());
        assert_eq!(reader.event_count().unwrap(), 1);
        store.commit_group().unwrap();
        assert_eq!(reader.event_count().unwrap(), 3);
        assert!(!reader.event_exists("k:bad").unwrap());
        assert_eq!(
            reader.state().unwrap().unwrap(),
            (3, r#"{"after":"k:2"}"#.to_owned())
        );
        assert_eq!(reader.outbox_depth().unwrap(), 3);
        // Back to one transaction per commit.
        assert_eq!(store.commit(&commit("k:3", 5)).unwrap().seq(), 4);
        assert_eq!(reader.event_count().unwrap(), 4);
    }

    #[test]
    fn a_rolled_back_group_stores_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        store.commit(&commit("k:0", 0)).unwrap();
        store.begin_group().unwrap();
        store.commit(&commit("k:1", 1)).unwrap();
        store.commit(&commit("k:2", 2)).unwrap();
        store.rollback_group();
        assert_eq!(store.event_count().unwrap(), 1);
        assert!(!store.event_exists("k:1").unwrap());
        assert_eq!(store.state().unwrap().unwrap().0, 1);
        assert_eq!(store.outbox_depth().unwrap(), 1);
        // The keys are free again, and the connection usable.
        assert_eq!(store.commit(&commit("k:1", 3)).unwrap().seq(), 2);
        store.rollback_group();
        store.commit_group().unwrap();
    }

    #[test]
    fn a_group_whose_transaction_is_gone_refuses_commits() {
        let mut store = Store::open_in_memory().unwrap();
        store.begin_group().unwrap();
        store.commit(&commit("k:1", 1)).unwrap();
        // As SQLite does on some errors (SQLITE_FULL, SQLITE_IOERR, ...).
        store.conn.execute_batch("ROLLBACK").unwrap();
        let err = store.commit(&commit("k:2", 2)).unwrap_err();
        assert!(err.to_string().contains("rolled back"), "{err}");
        assert!(store.commit_group().is_err());
        assert_eq!(store.event_count().unwrap(), 0);
        assert_eq!(store.commit(&commit("k:2", 3)).unwrap().seq(), 1);
    }

    #[test]
    fn a_read_only_store_cannot_start_a_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.db");
        drop(Store::open(&path).unwrap());
        let mut reader = Store::open_read_only(&path).unwrap();
        assert!(reader.begin_group().is_err());
    }
}
