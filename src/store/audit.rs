//! The audit log: who did what, under which rules version, with which seed.
//!
//! Rows are written by [`Store::commit`] with the event they belong to, so
//! every decision can be traced back to its input and replayed.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreError, sql_limit, to_u64};

/// A stored audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    /// The event it belongs to.
    pub event_seq: u64,
    /// The event's `at`.
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
    pub rules_version: Option<String>,
    pub seed: Option<u64>,
}

type RawEntry = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// The latest `limit` audit rows, oldest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, event_seq, at, actor, action, detail, rules_version, seed \
                 FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",
            )
            .map_err(self.sql_err("read the audit log"))?;
        let rows = stmt
            .query_map(params![sql_limit(limit)], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(self.sql_err("read the audit log"))?;
        let mut out = Vec::new();
        for row in rows {
            let raw: RawEntry = row.map_err(self.sql_err("read the audit log"))?;
            out.push(self.decode_audit(raw)?);
        }
        Ok(out)
    }

    /// A page of the audit log, newest first: rows older than `before` (an
    /// id), for `product` only when given (the product of the event a row
    /// belongs to), at most `limit`; each with that product.
    pub fn audit_page(
        &self,
        product: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(AuditEntry, Option<String>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.event_seq, a.at, a.actor, a.action, a.detail, a.rules_version, a.seed, \
                        json_extract((SELECT value FROM json_each(e.event_json) LIMIT 1), '$.product') AS product \
                 FROM audit a JOIN events e ON e.seq = a.event_seq \
                 WHERE (?1 IS NULL OR a.id < ?1) AND (?2 IS NULL OR product = ?2) \
                 ORDER BY a.id DESC LIMIT ?3",
            )
            .map_err(self.sql_err("read the audit log"))?;
        let rows = stmt
            .query_map(params![before, product, sql_limit(limit)], |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ),
                    r.get::<_, Option<String>>(8).ok().flatten(),
                ))
            })
            .map_err(self.sql_err("read the audit log"))?;
        let mut out = Vec::new();
        for row in rows {
            let (raw, product): (RawEntry, Option<String>) =
                row.map_err(self.sql_err("read the audit log"))?;
            out.push((self.decode_audit(raw)?, product));
        }
        Ok(out)
    }

    fn decode_audit(&self, raw: RawEntry) -> Result<AuditEntry, StoreError> {
        let (id, seq, at, actor, action, detail, rules_version, seed) = raw;
        let seed = seed
            .map(|s| {
                s.parse::<u64>().map_err(|e| {
                    self.corrupt(format!("audit row {id} has seed `{s}`, not a number: {e}"))
                })
            })
            .transpose()?;
        Ok(AuditEntry {
            id,
            event_seq: to_u64(&self.path, "audit.event_seq", seq)?,
            at: self.decode_time("audit.at", &at)?,
            actor,
            action,
            detail,
            rules_version,
            seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AuditRow, Commit};
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn latest_rows_oldest_first_with_seeds_intact() {
        let mut store = Store::open_in_memory().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap();
        for i in 0..5u64 {
            let c = Commit {
                key: format!("k{i}"),
                at,
                kind: "tick".to_owned(),
                event_json: "{}".to_owned(),
                state_json: "{}".to_owned(),
                outbox: vec![],
                audit: vec![AuditRow {
                    actor: (i % 2 == 0).then(|| "ana".to_owned()),
                    action: format!("a{i}"),
                    detail: "d".to_owned(),
                    rules_version: Some("h".to_owned()),
                    seed: Some(u64::MAX - i),
                }],
            };
            store.commit(&c).unwrap();
        }
        let rows = store.audit(3).unwrap();
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["a2", "a3", "a4"]);
        assert_eq!(rows[2].seed, Some(u64::MAX - 4));
        assert_eq!(rows[2].event_seq, 5);
        assert_eq!(rows[2].at, at);
        assert_eq!(rows[1].actor, None);
        assert_eq!(store.audit(100).unwrap().len(), 5);
    }
}
