//! What a chat adapter cannot do right now that it should (e.g. the bot is
//! not in a configured room), as reasons the daemon is not ready. Adapters
//! set and clear problems as they happen; `/readyz` reports them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Health {
    /// Problem key (e.g. `matrix:!room:server`) -> what is wrong, in words.
    problems: Mutex<BTreeMap<String, String>>,
    /// Signalled when a problem goes away (messages held back by it may
    /// be sent now).
    pub recovered: Notify,
}

impl Health {
    pub fn set(&self, key: &str, problem: String) {
        if let Ok(mut g) = self.problems.lock() {
            g.insert(key.to_owned(), problem);
        }
    }

    pub fn clear(&self, key: &str) {
        let removed = self
            .problems
            .lock()
            .map(|mut g| g.remove(key).is_some())
            .unwrap_or(false);
        if removed {
            self.recovered.notify_one();
        }
    }

    /// Every current problem, in key order.
    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_set_replaced_and_cleared_by_key() {
        let h = Health::default();
        assert!(h.problems().is_empty());
        h.set("matrix:!b", "not in b".to_owned());
        h.set("matrix:!a", "not in a".to_owned());
        h.set("matrix:!a", "banned from a".to_owned());
        assert_eq!(h.problems(), ["banned from a", "not in b"]);
        h.clear("matrix:!a");
        h.clear("matrix:!unknown");
        assert_eq!(h.problems(), ["not in b"]);
    }
}
