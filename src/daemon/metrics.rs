//! Counters for `GET /metrics` (Prometheus text format).

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::engine::{Effect, Event};

#[derive(Debug, Default)]
pub struct Metrics {
    events: [AtomicU64; 7],
    duplicates: AtomicU64,
    /// Transactions that stored events (one disk flush each).
    commits: AtomicU64,
    effects: [AtomicU64; 6],
    reload_ok: AtomicU64,
    reload_failed: AtomicU64,
    /// 1 when the last reload succeeded, 0 when it failed.
    reload_success: AtomicI64,
    reload_timestamp: AtomicI64,
    rules_version: Mutex<String>,
    sent: AtomicU64,
    send_failures: AtomicU64,
    /// Requests refused for their credentials, by [`Endpoint`].
    auth_failures: [AtomicU64; 6],
    rate_limited: AtomicU64,
    /// Releases recorded outside the policy, by (product, breach kind).
    breaches: Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

/// The endpoints that check a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Events,
    Reload,
    OutboxRetry,
    GitHub,
    GitLab,
    Slack,
}

impl Endpoint {
    const ALL: [Endpoint; 6] = [
        Endpoint::Events,
        Endpoint::Reload,
        Endpoint::OutboxRetry,
        Endpoint::GitHub,
        Endpoint::GitLab,
        Endpoint::Slack,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Events => "/api/events",
            Endpoint::Reload => "/-/reload",
            Endpoint::OutboxRetry => "/-/outbox/retry",
            Endpoint::GitHub => "/hooks/github",
            Endpoint::GitLab => "/hooks/gitlab",
            Endpoint::Slack => "/hooks/slack",
        }
    }

    fn index(self) -> usize {
        match self {
            Endpoint::Events => 0,
            Endpoint::Reload => 1,
            Endpoint::OutboxRetry => 2,
            Endpoint::GitHub => 3,
            Endpoint::GitLab => 4,
            Endpoint::Slack => 5,
        }
    }
}

const EVENT_KINDS: [&str; 7] = [
    "merged",
    "chat",
    "ci",
    "tick",
    "action",
    "deployment",
    "deployment_answer",
];
const EFFECT_KINDS: [&str; 6] = ["post", "rc", "release", "remind", "action", "deployment"];

fn event_index(e: &Event) -> usize {
    match e {
        Event::Merged { .. } => 0,
        Event::Chat { .. } | Event::MissedChat { .. } => 1,
        Event::Ci { .. } => 2,
        Event::Tick => 3,
        Event::ActionDone { .. } => 4,
        Event::Deployment(_) | Event::DeploymentCancelled { .. } => 5,
        Event::DeploymentAnswered { .. } => 6,
    }
}

fn effect_index(e: &Effect) -> usize {
    match e {
        Effect::Post(_) => 0,
        Effect::Rc(_) => 1,
        Effect::Release(_) => 2,
        Effect::Remind(_) => 3,
        Effect::Action(_) => 4,
        Effect::Deployment(_) => 5,
    }
}

impl Metrics {
    pub fn event(&self, e: &Event, effects: &[Effect]) {
        self.events[event_index(e)].fetch_add(1, Ordering::Relaxed);
        for x in effects {
            self.effects[effect_index(x)].fetch_add(1, Ordering::Relaxed);
            if let Effect::Rc(rc) = x
                && let Some(kinds) = &rc.breaches
                && !kinds.is_empty()
                && let Ok(mut map) = self.breaches.lock()
            {
                for k in kinds {
                    *map.entry((rc.product.clone(), k.as_str())).or_default() += 1;
                }
            }
        }
    }

    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    /// A transaction that stored one event or a group of them committed.
    pub fn commit(&self) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reload(&self, ok: bool, at_unix: i64, version: Option<&str>) {
        if ok {
            self.reload_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reload_failed.fetch_add(1, Ordering::Relaxed);
        }
        self.reload_success.store(i64::from(ok), Ordering::Relaxed);
        self.reload_timestamp.store(at_unix, Ordering::Relaxed);
        if let (Some(v), Ok(mut g)) = (version, self.rules_version.lock()) {
            *g = v.to_owned();
        }
    }

    /// The rules file is back to the active version (a reload found
    /// nothing to change after a rejected one): the last reload's outcome
    /// no longer stands, so the success gauge is 1 again. Nothing counted.
    pub fn rules_file_matches_active(&self) {
        self.reload_success.store(1, Ordering::Relaxed);
    }

    /// A request refused for a missing or wrong token or signature.
    pub fn auth_failure(&self, endpoint: Endpoint) {
        self.auth_failures[endpoint.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A send the platform refused for now (`429`), to be retried after
    /// the wait it asked for.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sent(&self, ok: bool) {
        if ok {
            self.sent.fetch_add(1, Ordering::Relaxed);
        } else {
            self.send_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus exposition, with the outbox depth read by the caller.
    pub fn render(&self, outbox_depth: u64) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP shipgate_events_total Events decided, by kind.");
        let _ = writeln!(s, "# TYPE shipgate_events_total counter");
        for (i, k) in EVENT_KINDS.iter().enumerate() {
            let _ = writeln!(
                s,
                "shipgate_events_total{{kind=\"{k}\"}} {}",
                self.events[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP shipgate_duplicate_events_total Events ignored because their key was seen before."
        );
        let _ = writeln!(s, "# TYPE shipgate_duplicate_events_total counter");
        let _ = writeln!(
            s,
            "shipgate_duplicate_events_total {}",
            self.duplicates.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP shipgate_event_commits_total Transactions (disk flushes) that stored events; events waiting together share one."
        );
        let _ = writeln!(s, "# TYPE shipgate_event_commits_total counter");
        let _ = writeln!(
            s,
            "shipgate_event_commits_total {}",
            self.commits.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP shipgate_decisions_total Effects decided, by kind."
        );
        let _ = writeln!(s, "# TYPE shipgate_decisions_total counter");
        for (i, k) in EFFECT_KINDS.iter().enumerate() {
            let _ = writeln!(
                s,
                "shipgate_decisions_total{{kind=\"{k}\"}} {}",
                self.effects[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP shipgate_policy_breaches_total Releases recorded outside the release policy, by product and breach."
        );
        let _ = writeln!(s, "# TYPE shipgate_policy_breaches_total counter");
        if let Ok(map) = self.breaches.lock() {
            for ((product, kind), n) in map.iter() {
                let product = product.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(
                    s,
                    "shipgate_policy_breaches_total{{product=\"{product}\",kind=\"{kind}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            s,
            "# HELP shipgate_outbox_depth Chat messages waiting to be sent."
        );
        let _ = writeln!(s, "# TYPE shipgate_outbox_depth gauge");
        let _ = writeln!(s, "shipgate_outbox_depth {outbox_depth}");
        let _ = writeln!(
            s,
            "# HELP shipgate_messages_sent_total Chat messages sent, and failed attempts."
        );
        let _ = writeln!(s, "# TYPE shipgate_messages_sent_total counter");
        let _ = writeln!(
            s,
            "shipgate_messages_sent_total{{result=\"ok\"}} {}",
            self.sent.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "shipgate_messages_sent_total{{result=\"failed\"}} {}",
            self.send_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "shipgate_messages_sent_total{{result=\"rate_limited\"}} {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP shipgate_rules_reloads_total Rules reloads, by result."
        );
        let _ = writeln!(s, "# TYPE shipgate_rules_reloads_total counter");
        let _ = writeln!(
            s,
            "shipgate_rules_reloads_total{{result=\"ok\"}} {}",
            self.reload_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "shipgate_rules_reloads_total{{result=\"failed\"}} {}",
            self.reload_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP shipgate_rules_reload_success 1 if the last rules reload succeeded."
        );
        let _ = writeln!(s, "# TYPE shipgate_rules_reload_success gauge");
        let _ = writeln!(
            s,
            "shipgate_rules_reload_success {}",
            self.reload_success.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP shipgate_rules_reload_timestamp_seconds When a rules load was last tried (loaded or rejected), by the daemon's clock."
        );
        let _ = writeln!(s, "# TYPE shipgate_rules_reload_timestamp_seconds gauge");
        let _ = writeln!(
            s,
            "shipgate_rules_reload_timestamp_seconds {}",
            self.reload_timestamp.load(Ordering::Relaxed)
        );
        let version = self
            .rules_version
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "# HELP shipgate_rules_version_info The active rules version (hash)."
        );
        let _ = writeln!(s, "# TYPE shipgate_rules_version_info gauge");
        let _ = writeln!(s, "shipgate_rules_version_info{{version=\"{version}\"}} 1");
        let _ = writeln!(
            s,
            "# HELP shipgate_http_auth_failures_total Requests refused for a missing or wrong token or signature, by endpoint."
        );
        let _ = writeln!(s, "# TYPE shipgate_http_auth_failures_total counter");
        for e in Endpoint::ALL {
            let _ = writeln!(
                s,
                "shipgate_http_auth_failures_total{{endpoint=\"{}\"}} {}",
                e.path(),
                self.auth_failures[e.index()].load(Ordering::Relaxed)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;
    use crate::engine::{Breach, Effect, Event, RcState, RcUpdate, Trigger};

    fn released(product: &str, breaches: Vec<Breach>) -> Effect {
        Effect::Rc(RcUpdate {
            product: product.to_owned(),
            id: 1,
            state: RcState::Released,
            trigger: Trigger::Manual,
            urgent: false,
            manager: "ana".to_owned(),
            changes: vec!["#1".to_owned()],
            breaches: Some(breaches),
        })
    }

    #[test]
    fn policy_breaches_are_counted_by_product_and_kind() {
        let m = Metrics::default();
        m.event(
            &Event::Tick,
            &[
                released("web", vec![Breach::WindowClosed, Breach::NotApproved]),
                released("web", vec![Breach::NotApproved]),
                released("payments", Vec::new()),
            ],
        );
        let text = m.render(0);
        assert!(text.contains("# TYPE shipgate_policy_breaches_total counter"));
        assert!(
            text.contains(
                "shipgate_policy_breaches_total{product=\"web\",kind=\"not-approved\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "shipgate_policy_breaches_total{product=\"web\",kind=\"window-closed\"} 1"
            ),
            "{text}"
        );
        assert!(!text.contains("product=\"payments\""), "{text}");
    }
}
