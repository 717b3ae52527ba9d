//! What a chat adapter cannot do right now that it should (e.g. the bot is
//! not in a configured room), as reasons the daemon is not ready. Adapters
//! set and clear problems as they happen; `/readyz` reports them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Health {
    /// Problem key (e.g. `matrix:!room:server`) -> what is wrong, in words.
    problems: Mutex<BTreeMap<String, String>>,
    /// Signalled when a problem goes away (messages held back by it may
    /// be sent now).
    pub recovered: Notify,
    /// Logins the chat server refused with `429` (rate limited).
    login_rate_limited: AtomicU64,
    /// Other calls (not posts, which the outbox counts) the chat server
    /// refused with `429`, waited out and made again.
    api_rate_limited: AtomicU64,
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

    /// Counts a login the chat server refused as rate limited.
    pub fn login_rate_limited(&self) {
        self.login_rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Logins refused as rate limited so far.
    pub fn login_rate_limits(&self) -> u64 {
        self.login_rate_limited.load(Ordering::Relaxed)
    }

    /// Counts a call (not a post) refused as rate limited and waited out.
    pub fn api_rate_limited(&self) {
        self.api_rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls refused as rate limited and waited out so far.
    pub fn api_rate_limits(&self) -> u64 {
        self.api_rate_limited.load(Ordering::Relaxed)
    }

    /// Every current problem, in key order.
    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// How long a platform has been unreachable: a readiness problem once it
/// has been longer than `after`, cleared when it answers again.
#[derive(Debug)]
pub struct Outage {
    key: String,
    /// E.g. `matrix: the homeserver`.
    what: String,
    after: std::time::Duration,
    since: Option<std::time::Instant>,
}

impl Outage {
    pub fn new(key: String, what: String, after: std::time::Duration) -> Self {
        Self {
            key,
            what,
            after,
            since: None,
        }
    }

    /// A request failed at `now` with `error`.
    pub fn failed(&mut self, health: &Health, now: std::time::Instant, error: &str) {
        let since = *self.since.get_or_insert(now);
        let down = now.saturating_duration_since(since);
        if down >= self.after {
            health.set(
                &self.key,
                format!(
                    "{} has been unreachable for {} s ({error})",
                    self.what,
                    down.as_secs()
                ),
            );
        }
    }

    /// It answered: whether it had been failing.
    pub fn ok(&mut self, health: &Health) -> bool {
        health.clear(&self.key);
        self.since.take().is_some()
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

    #[test]
    fn an_outage_is_a_problem_only_after_the_threshold() {
        let h = Health::default();
        let mut o = Outage::new(
            "matrix:unreachable".into(),
            "matrix: the homeserver".into(),
            std::time::Duration::from_secs(30),
        );
        let t0 = std::time::Instant::now();
        o.failed(&h, t0, "connection refused");
        o.failed(
            &h,
            t0 + std::time::Duration::from_secs(29),
            "connection refused",
        );
        assert!(h.problems().is_empty());
        o.failed(
            &h,
            t0 + std::time::Duration::from_secs(31),
            "connection refused",
        );
        assert_eq!(
            h.problems(),
            ["matrix: the homeserver has been unreachable for 31 s (connection refused)"]
        );
        assert!(o.ok(&h));
        assert!(h.problems().is_empty());
        assert!(!o.ok(&h));
    }
}
