//! Every rules version the daemon has activated, so it can start on the
//! last good one when the file on disk is broken, and so decisions can name
//! the exact rules they were made under.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, encode_time, sql_err};

/// A stored rules version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesVersion {
    /// [`rules_hash`] of the sources.
    pub hash: String,
    /// The rules text (or a JSON document of several files).
    pub text: String,
    /// When this version was last activated.
    pub loaded_at: DateTime<Utc>,
    /// When this version was first activated.
    pub first_seen_at: DateTime<Utc>,
}

/// A stable SHA-256 (lowercase hex) over named rules sources.
///
/// Each name and text is length-prefixed, so no two different lists hash
/// alike by moving bytes between fields, and the sources are sorted by name
/// first, so the order a directory is listed in does not matter.
pub fn rules_hash<N: AsRef<str>, T: AsRef<str>>(sources: &[(N, T)]) -> String {
    let mut sorted: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_ref(), t.as_ref()))
        .collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    h.update(b"shipgate-rules-v1\0");
    h.update((sorted.len() as u64).to_le_bytes());
    for (name, text) in sorted {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

type RawVersion = (String, String, String, String);

impl Store {
    /// Record that the rules with this hash and text became active at `at`.
    /// Recording a hash again only moves its activation (and `loaded_at`)
    /// to now, making it the [`Store::last_good_rules`]; the same hash with
    /// a different text is an error.
    pub fn record_rules_version(
        &mut self,
        hash: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writable("record a rules version")?;
        let path = self.path.as_path();
        let err = |action| sql_err(path, action);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("start a transaction"))?;
        let stored: Option<String> = tx
            .query_row(
                "SELECT text FROM rules_versions WHERE hash = ?1",
                [hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(err("read a rules version"))?;
        if stored.as_deref().is_some_and(|s| s != text) {
            return Err(StoreError::RulesHashMismatch {
                path: path.to_owned(),
                hash: hash.to_owned(),
            });
        }
        let next: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(activation), 0) + 1 FROM rules_versions",
                [],
                |r| r.get(0),
            )
            .map_err(err("read a rules version"))?;
        let at = encode_time(at);
        tx.execute(
            "INSERT INTO rules_versions (hash, text, first_seen_at, loaded_at, activation) \
             VALUES (?1, ?2, ?3, ?3, ?4) \
             ON CONFLICT (hash) DO UPDATE SET loaded_at = excluded.loaded_at, \
                                              activation = excluded.activation",
            params![hash, text, at, next],
        )
        .map_err(err("record a rules version"))?;
        tx.commit().map_err(err("record a rules version"))?;
        Ok(())
    }

    /// The most recently activated rules version, if any.
    pub fn last_good_rules(&self) -> Result<Option<RulesVersion>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT hash, text, loaded_at, first_seen_at FROM rules_versions \
                 ORDER BY activation DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.sql_err("read the last good rules"))?;
        row.map(|r| self.decode_version(r)).transpose()
    }

    /// The rules version with this hash, if it was ever activated.
    pub fn rules_version(&self, hash: &str) -> Result<Option<RulesVersion>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT hash, text, loaded_at, first_seen_at FROM rules_versions WHERE hash = ?1",
                [hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.sql_err("read a rules version"))?;
        row.map(|r| self.decode_version(r)).transpose()
    }

    fn decode_version(&self, raw: RawVersion) -> Result<RulesVersion, StoreError> {
        let (hash, text, loaded_at, first_seen_at) = raw;
        Ok(RulesVersion {
            hash,
            text,
            loaded_at: self.decode_time("rules_versions.loaded_at", &loaded_at)?,
            first_seen_at: self.decode_time("rules_versions.first_seen_at", &first_seen_at)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    #[test]
    fn hash_is_stable_sorted_and_unambiguous() {
        let one = rules_hash(&[("a.rules", "window x {}"), ("b.rules", "")]);
        assert_eq!(one.len(), 64);
        assert!(
            one.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(
            one,
            rules_hash(&[("b.rules", ""), ("a.rules", "window x {}")])
        );
        assert_eq!(
            one,
            rules_hash(&[
                ("a.rules".to_owned(), "window x {}".to_owned()),
                ("b.rules".to_owned(), String::new())
            ])
        );
        // Moving bytes between name and text changes the hash.
        assert_ne!(rules_hash(&[("ab", "c")]), rules_hash(&[("a", "bc")]));
        assert_ne!(
            rules_hash(&[("a", "x")]),
            rules_hash(&[("a", "x "), ("b", "")])
        );
        assert_ne!(rules_hash::<&str, &str>(&[]), rules_hash(&[("", "")]));
        // Pinned: the hash of stored versions must not change between builds.
        assert_eq!(
            rules_hash(&[("r", "t")]),
            "78d8cb34e1aafbc70eba1cb8517a0675f5080b53062aed340dc52534a58500ac"
        );
    }

    #[test]
    fn last_good_is_the_latest_activation() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.last_good_rules().unwrap(), None);
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap();
        let (ha, hb) = (rules_hash(&[("r", "a")]), rules_hash(&[("r", "b")]));
        store.record_rules_version(&ha, "a", t).unwrap();
        store
            .record_rules_version(&hb, "b", t + TimeDelta::minutes(1))
            .unwrap();
        assert_eq!(store.last_good_rules().unwrap().unwrap().text, "b");
        // Going back to `a` (even with a clock that went backwards).
        store
            .record_rules_version(&ha, "a", t - TimeDelta::minutes(5))
            .unwrap();
        let last = store.last_good_rules().unwrap().unwrap();
        assert_eq!(last.hash, ha);
        assert_eq!(last.loaded_at, t - TimeDelta::minutes(5));
        assert_eq!(last.first_seen_at, t);
        assert_eq!(store.rules_version(&hb).unwrap().unwrap().text, "b");
        assert_eq!(store.rules_version("nope").unwrap(), None);
    }

    #[test]
    fn same_hash_other_text_is_refused() {
        let mut store = Store::open_in_memory().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap();
        store.record_rules_version("h", "a", t).unwrap();
        let err = store.record_rules_version("h", "b", t).unwrap_err();
        assert!(err.to_string().contains("different text"), "{err}");
        assert_eq!(store.last_good_rules().unwrap().unwrap().text, "a");
    }
}
