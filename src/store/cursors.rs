//! How far each chat adapter has read, per room or channel: the catch-up
//! cursors. An adapter writes one only after every message before it is
//! stored, so a restart that reads from it misses nothing (and what it
//! reads twice, the event keys de-duplicate).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};

use super::{Store, StoreError, encode_time};

impl Store {
    /// Every cursor of `adapter`: key (room, channel, or `` for the
    /// adapter as a whole) -> cursor.
    pub fn chat_cursors(&self, adapter: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, cursor FROM chat_cursors WHERE adapter = ?1")
            .map_err(self.sql_err("read the chat cursors"))?;
        let rows = stmt
            .query_map(params![adapter], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.sql_err("read the chat cursors"))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (k, v) = row.map_err(self.sql_err("read the chat cursors"))?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// Sets cursors of `adapter` (key -> cursor), all in one transaction.
    pub fn set_chat_cursors(
        &mut self,
        adapter: &str,
        cursors: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writable("store the chat cursors")?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(super::sql_err(&path, "store the chat cursors"))?;
        for (key, cursor) in cursors {
            tx.execute(
                "INSERT INTO chat_cursors (adapter, key, cursor, updated_at) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (adapter, key) DO UPDATE SET cursor = ?3, updated_at = ?4",
                params![adapter, key, cursor, encode_time(at)],
            )
            .map_err(super::sql_err(&path, "store the chat cursors"))?;
        }
        tx.commit()
            .map_err(super::sql_err(&path, "store the chat cursors"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cursors_are_kept_per_adapter_and_key_and_replaced() {
        let mut s = Store::open_in_memory().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 8, 0, 0).unwrap();
        assert!(s.chat_cursors("matrix").unwrap().is_empty());
        s.set_chat_cursors(
            "matrix",
            &[("".into(), "s1".into()), ("!a:x".into(), "$e1".into())],
            t,
        )
        .unwrap();
        s.set_chat_cursors("discord", &[("42".into(), "100".into())], t)
            .unwrap();
        s.set_chat_cursors("matrix", &[("".into(), "s2".into())], t)
            .unwrap();
        let m = s.chat_cursors("matrix").unwrap();
        assert_eq!(m.get(""), Some(&"s2".to_owned()));
        assert_eq!(m.get("!a:x"), Some(&"$e1".to_owned()));
        assert_eq!(m.len(), 2);
        assert_eq!(s.chat_cursors("discord").unwrap().len(), 1);
    }
}
