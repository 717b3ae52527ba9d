//! Retention: old history pruned in small batches beside the daemon's
//! writer, never anything still needed.
//!
//! A [`Pruner`] has its own connection. Each batch first finds up to
//! `batch` candidates with a plain read (a WAL reader: it never blocks the
//! writer, however long the scan), then deletes them in one short
//! `BEGIN IMMEDIATE` transaction that checks again that each may go, using
//! indexes only, and then checkpoints the WAL itself (PASSIVE). The
//! writer's latency while it runs is measured in docs/benchmarks.md
//! ("Database care").
//!
//! What goes, for a cut-off instant (now minus `retention`):
//! 1. sent outbox messages created before it (a pending message never goes);
//! 2. audit rows written before it;
//! 3. events before it that nothing refers to any more: not the event the
//!    current state snapshot was stored with, not the event a product's
//!    state (`product_state`) was last stored with, not an event with a
//!    pending message or a remaining audit row.
//!
//! Never touched: the state snapshot, global row and per-product rows
//! (every RC in flight lives there, so no RC needs its old events), `rules_versions` (so the last good rules
//! version is always there), chat cursors.
//!
//! A pruned event's idempotency key goes with it: a webhook redelivered
//! after the retention period would count again. Keep `retention` far
//! longer than any redelivery (the default is to keep everything).
//!
//! The outbox has no index on `event_seq`, so SQLite's own foreign-key
//! check, or any "is this event still named by a message" query, would
//! scan the whole outbox for every deleted event, under the write lock
//! (measured: hundreds of milliseconds per batch on 100,000 events, and
//! past the writer's 5 s busy timeout on 1,000,000). This connection turns
//! the foreign-key check off, and the events phase starts with one read
//! (no lock) of the outbox rows that can name its candidates (a message is
//! written in the same transaction as its event, so no later row names an
//! old event); each batch then checks those rows by id. `shipgate db
//! check` runs `foreign_key_check` to prove the result.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params_from_iter};

use super::{BUSY_TIMEOUT, StoreError, encode_time, sql_err, sql_limit};

/// What one pass (or batch) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub outbox: u64,
    pub audit: u64,
    pub events: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.outbox + self.audit + self.events
    }

    fn add(&mut self, o: Pruned) {
        self.outbox += o.outbox;
        self.audit += o.audit;
        self.events += o.events;
    }
}

/// Which table a pass is working through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Outbox,
    Audit,
    Events,
    Done,
}

/// A pass over the database for one cut-off, one batch at a time.
#[derive(Debug)]
pub struct Pruner {
    conn: Connection,
    path: PathBuf,
    batch: usize,
    cutoff: String,
    phase: Phase,
    /// The highest id or seq already looked at in this phase: kept rows
    /// are not read again.
    floor: i64,
    /// Taken when the events phase starts: the newest event before the
    /// cut-off, and every outbox row that refers to an event up to it
    /// (outbox id -> event seq), from one read.
    refs: Option<Refs>,
    pruned: Pruned,
}

/// The outbox rows that may still name an event the events phase removes.
#[derive(Debug, Default)]
struct Refs {
    /// Only events up to this seq are candidates (see [`Pruner::step`]).
    max_seq: i64,
    /// Event seq -> the outbox rows naming it.
    by_event: std::collections::BTreeMap<i64, Vec<i64>>,
}

impl Pruner {
    /// Opens its own connection to the daemon's (existing, migrated)
    /// database and starts a pass for everything before `cutoff`.
    pub fn open(path: &Path, cutoff: DateTime<Utc>, batch: usize) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            batch: batch.max(1),
            cutoff: encode_time(cutoff),
            phase: Phase::Outbox,
            floor: 0,
            refs: None,
            pruned: Pruned::default(),
        })
    }

    /// Whether the pass is over.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// What the pass removed so far.
    pub fn pruned(&self) -> Pruned {
        self.pruned
    }

    /// One batch: a read to find candidates, then one short write
    /// transaction. Returns what it removed; call until [`Pruner::done`].
    pub fn step(&mut self) -> Result<Pruned, StoreError> {
        let (find, delete) = match self.phase {
            Phase::Done => return Ok(Pruned::default()),
            Phase::Outbox => (
                "SELECT id FROM outbox WHERE id > ?1 AND status = 'sent' AND created_at < ?2 \
                 ORDER BY id LIMIT ?3",
                "DELETE FROM outbox WHERE status = 'sent' AND created_at < ?1 AND id IN",
            ),
            Phase::Audit => (
                "SELECT id FROM audit WHERE id > ?1 AND at < ?2 ORDER BY id LIMIT ?3",
                "DELETE FROM audit WHERE at < ?1 AND id IN",
            ),
            Phase::Events => (
                "SELECT seq FROM events WHERE seq > ?1 AND at < ?2 AND seq <= ?4 \
                 ORDER BY seq LIMIT ?3",
                "DELETE FROM events WHERE at < ?1 \
                 AND seq <> (SELECT coalesce(max(seq), 0) FROM state) \
                 AND NOT EXISTS (SELECT 1 FROM product_state p WHERE p.seq = events.seq) \
                 AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.event_seq = events.seq) \
                 AND seq IN",
            ),
        };
        if self.phase == Phase::Events && self.refs.is_none() {
            self.refs = Some(self.outbox_refs()?);
        }
        let max_seq = self.refs.as_ref().map_or(0, |r| r.max_seq);
        let path = self.path.clone();
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare_cached(find)
                .map_err(sql_err(&path, "find rows to prune"))?;
            let limit = sql_limit(self.batch);
            let get = |r: &rusqlite::Row<'_>| r.get::<_, i64>(0);
            let rows = if self.phase == Phase::Events {
                stmt.query_map(
                    rusqlite::params![self.floor, self.cutoff, limit, max_seq],
                    get,
                )
            } else {
                stmt.query_map(rusqlite::params![self.floor, self.cutoff, limit], get)
            }
            .map_err(sql_err(&path, "find rows to prune"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sql_err(&path, "find rows to prune"))?
        };
        let Some(&last) = ids.last() else {
            self.phase = match self.phase {
                Phase::Outbox => Phase::Audit,
                Phase::Audit => Phase::Events,
                Phase::Events | Phase::Done => Phase::Done,
            };
            self.floor = 0;
            return Ok(Pruned::default());
        };
        // The outbox rows naming this batch's events (events phase only;
        // from the snapshot, so no outbox scan under the write lock).
        let named: Vec<i64> = match (&self.refs, self.phase) {
            (Some(r), Phase::Events) => ids
                .iter()
                .filter_map(|seq| r.by_event.get(seq))
                .flatten()
                .copied()
                .collect(),
            _ => Vec::new(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(&path, "start a prune"))?;
        let mut keep = std::collections::BTreeSet::new();
        if !named.is_empty() {
            // A message still pending when the outbox phase ran may have
            // been sent since: its row goes with its event. A row still
            // pending keeps its event. Both by id (the primary key).
            let marks = vec!["?"; named.len()].join(", ");
            let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(named.len() + 1);
            values.push(self.cutoff.clone().into());
            values.extend(named.iter().map(|i| rusqlite::types::Value::Integer(*i)));
            tx.execute(
                &format!(
                    "DELETE FROM outbox WHERE status = 'sent' AND created_at < ?1 AND id IN ({marks})"
                ),
                params_from_iter(values),
            )
            .map_err(sql_err(&path, "prune old rows"))?;
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT event_seq FROM outbox WHERE id IN ({marks})"
                ))
                .map_err(sql_err(&path, "prune old rows"))?;
            let rows = stmt
                .query_map(params_from_iter(named.iter()), |r| r.get::<_, i64>(0))
                .map_err(sql_err(&path, "prune old rows"))?;
            for seq in rows {
                keep.insert(seq.map_err(sql_err(&path, "prune old rows"))?);
            }
        }
        let gone: Vec<i64> = ids.iter().copied().filter(|i| !keep.contains(i)).collect();
        let n = if gone.is_empty() {
            0
        } else {
            let marks = vec!["?"; gone.len()].join(", ");
            let sql = format!("{delete} ({marks})");
            let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(gone.len() + 1);
            values.push(self.cutoff.clone().into());
            values.extend(gone.iter().map(|i| rusqlite::types::Value::Integer(*i)));
            tx.execute(&sql, params_from_iter(values))
                .map_err(sql_err(&path, "prune old rows"))?
        };
        tx.commit().map_err(sql_err(&path, "prune old rows"))?;
        // Fold the WAL this batch wrote into the database here, on the
        // pruner's thread (PASSIVE: never waits for, nor blocks, the
        // writer), so the writer's next commit does not cross the
        // auto-checkpoint threshold and pay for it.
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(sql_err(&path, "checkpoint after a prune"))?;
        self.floor = last;
        let n = u64::try_from(n).unwrap_or(0);
        let got = match self.phase {
            Phase::Outbox => Pruned {
                outbox: n,
                ..Pruned::default()
            },
            Phase::Audit => Pruned {
                audit: n,
                ..Pruned::default()
            },
            Phase::Events => Pruned {
                events: n,
                ..Pruned::default()
            },
            Phase::Done => Pruned::default(),
        };
        self.pruned.add(got);
        Ok(got)
    }

    /// One read (never blocks the writer): the newest event before the
    /// cut-off, and every outbox row naming an event up to it. An outbox
    /// row is written in the same transaction as the event it names, so
    /// no later row names one of these events: the events phase needs no
    /// outbox scan under the write lock (the outbox has no index on
    /// `event_seq`; that scan, once per deleted event, held the lock for
    /// hundreds of milliseconds per batch). After the outbox phase these
    /// are only the rows that were pending then.
    fn outbox_refs(&mut self) -> Result<Refs, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(sql_err(&path, "read the outbox"))?;
        let max_seq: i64 = tx
            .query_row(
                "SELECT coalesce(max(seq), 0) FROM events WHERE at < ?1",
                [&self.cutoff],
                |r| r.get(0),
            )
            .map_err(sql_err(&path, "read the outbox"))?;
        let mut by_event: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        {
            let mut stmt = tx
                .prepare("SELECT id, event_seq FROM outbox WHERE event_seq <= ?1")
                .map_err(sql_err(&path, "read the outbox"))?;
            let rows = stmt
                .query_map([max_seq], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(sql_err(&path, "read the outbox"))?;
            for row in rows {
                let (id, seq) = row.map_err(sql_err(&path, "read the outbox"))?;
                by_event.entry(seq).or_default().push(id);
            }
        }
        tx.commit().map_err(sql_err(&path, "read the outbox"))?;
        Ok(Refs { max_seq, by_event })
    }

    /// Runs the whole pass at once (tests, benches).
    pub fn run_to_end(&mut self) -> Result<Pruned, StoreError> {
        while !self.done() {
            self.step()?;
        }
        Ok(self.pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditRow, Commit, NewMessage, Store};
    use chrono::{TimeDelta, TimeZone};

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + TimeDelta::days(day)
    }

    fn commit(key: &str, day: i64, message: bool, audit: bool) -> Commit {
        Commit {
            key: key.to_owned(),
            at: t(day),
            kind: "merged".to_owned(),
            event_json: "{}".to_owned(),
            state_json: format!("{{\"after\":\"{key}\"}}"),
            outbox: if message {
                vec![NewMessage {
                    card_json: None,
                    product: "web".to_owned(),
                    text: format!("about {key}"),
                    mentions: Vec::new(),
                    reply_to: None,
                }]
            } else {
                Vec::new()
            },
            audit: if audit {
                vec![AuditRow {
                    actor: None,
                    action: "test".to_owned(),
                    detail: key.to_owned(),
                    rules_version: None,
                    seed: None,
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn prunes_old_history_and_keeps_what_is_still_needed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let mut store = Store::open(&db).unwrap();
        // Old: sent with audit (goes), pending message (stays), bare (goes).
        store.commit(&commit("old-sent", 0, true, true)).unwrap();
        store
            .commit(&commit("old-pending", 1, true, false))
            .unwrap();
        store.commit(&commit("old-bare", 2, false, false)).unwrap();
        for i in 0..7 {
            store
                .commit(&commit(&format!("old-{i}"), 3, true, true))
                .unwrap();
        }
        // Pending when the outbox phase runs, sent before the events phase:
        // the message and its event both go.
        store.commit(&commit("old-late", 3, true, false)).unwrap();
        let late = store
            .pending_outbox(t(1000), 100)
            .unwrap()
            .last()
            .unwrap()
            .id;
        // Recent: all stays.
        store.commit(&commit("new", 500, true, true)).unwrap();
        // The latest event is old too (a quiet year): the state's event stays.
        store.commit(&commit("last", 4, false, true)).unwrap();
        store.record_rules_version("h1", "[]", t(0)).unwrap();
        let pending: Vec<i64> = store
            .pending_outbox(t(1000), 100)
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        let keep_pending = pending[1];
        for id in pending
            .iter()
            .filter(|id| **id != keep_pending && **id != late)
        {
            store.mark_sent(*id, None).unwrap();
        }
        let before = store.state().unwrap();

        let mut p = Pruner::open(&db, t(400), 3).unwrap();
        while p.phase != Phase::Events {
            p.step().unwrap();
        }
        store.mark_sent(late, None).unwrap();
        let got = p.run_to_end().unwrap();
        assert_eq!(got.outbox, 8, "{got:?}");
        assert_eq!(got.audit, 9, "{got:?}");
        // old-sent, old-bare, old-0..6 and old-late go; old-pending, new
        // and last stay.
        assert_eq!(got.events, 10, "{got:?}");
        assert!(!store.event_exists("old-late").unwrap());
        assert!(store.outbox_message(late).unwrap().is_none());
        for k in ["old-pending", "new"] {
            assert!(store.event_exists(k).unwrap(), "{k}");
        }
        for k in ["old-sent", "old-bare", "old-3"] {
            assert!(!store.event_exists(k).unwrap(), "{k}");
        }
        assert_eq!(store.state().unwrap(), before);
        assert!(store.outbox_message(keep_pending).unwrap().is_some());
        assert!(store.last_good_rules().unwrap().is_some());
        let report = crate::store::maintenance::check(&db).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // A second pass finds nothing; the writer still commits.
        let again = Pruner::open(&db, t(400), 3).unwrap().run_to_end().unwrap();
        assert_eq!(again, Pruned::default());
        store.commit(&commit("after", 501, true, true)).unwrap();
    }
}
