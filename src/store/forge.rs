//! What forge reconciliation asks the event log: was this change already
//! merged here, under any of its names (a webhook, the API, the console).

use rusqlite::params;

use super::{Store, StoreError};

impl Store {
    /// Whether a `merged` event for `product` names any of `changes`
    /// (`#12`, `!7`, a short commit id).
    pub fn merged_change_seen(
        &self,
        product: &str,
        changes: &[String],
    ) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events WHERE kind = 'merged' \
                 AND json_extract(event_json, '$.merged.product') = ?1 \
                 AND json_extract(event_json, '$.merged.change') = ?2)",
            )
            .map_err(self.sql_err("look up a merged change"))?;
        for change in changes {
            let seen: bool = stmt
                .query_row(params![product, change], |r| r.get(0))
                .map_err(self.sql_err("look up a merged change"))?;
            if seen {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use crate::engine::Event;
    use crate::store::{Commit, Store};

    #[test]
    fn a_merged_change_is_found_by_product_and_any_name() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(!store.merged_change_seen("web", &["#1".to_owned()]).unwrap());
        let event = Event::Merged {
            product: "web".to_owned(),
            change: "#1".to_owned(),
            author: "ana".to_owned(),
            title: "t".to_owned(),
        };
        store
            .commit(&Commit {
                key: "github:d1:0".to_owned(),
                at: chrono::Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap(),
                kind: "merged".to_owned(),
                event_json: serde_json::to_string(&event).unwrap(),
                state_json: "{}".to_owned(),
                outbox: Vec::new(),
                audit: Vec::new(),
            })
            .unwrap();
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(
            store
                .merged_change_seen("web", &names(&["abc", "#1"]))
                .unwrap()
        );
        assert!(!store.merged_change_seen("web", &names(&["#2"])).unwrap());
        assert!(
            !store
                .merged_change_seen("payments", &names(&["#1"]))
                .unwrap()
        );
    }
}
