//! What the daemon's tasks share: config, team, clock, the active rules,
//! a snapshot of the state, metrics, and wake-ups.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use super::clock::Clock;
use super::metrics::Metrics;
use crate::chat::health::Health;
use crate::config::Config;
use crate::engine::{Event, State, Team};
use crate::ledger::Applied;
use crate::rules::RuleSet;
use crate::store::{NewMessage, Store};

/// The rules decisions are made with.
#[derive(Debug)]
pub struct ActiveRules {
    pub set: RuleSet,
    pub hash: String,
    /// Where they came from: a path, `the embedded defaults`, or the last
    /// good version stored in the database.
    pub origin: String,
}

/// Work for the single writer.
pub enum Intake {
    /// Events to decide and commit, each under its idempotency key.
    Events {
        items: Vec<(String, Event)>,
        reply: Option<oneshot::Sender<Result<Vec<Applied>, String>>>,
    },
    /// Messages not caused by an event (rules reloads), committed under a
    /// key; optionally records a rules version first. The reply is `Err`
    /// only when the rules version could not be recorded (then nothing is
    /// posted); a post that cannot be stored is logged.
    Announce {
        key: String,
        messages: Vec<NewMessage>,
        rules_version: Option<(String, String)>,
        reply: Option<oneshot::Sender<Result<(), String>>>,
    },
}

pub struct Shared {
    /// The team config and the engine's view of it: swapped whole by a
    /// config reload ([`super::config_reload`]); read with
    /// [`Shared::config`] and [`Shared::team`].
    config: ArcSwap<Config>,
    team: ArcSwap<Team>,
    pub clock: Arc<dyn Clock>,
    pub rules: ArcSwap<ActiveRules>,
    pub state: ArcSwap<State>,
    pub metrics: Metrics,
    /// Wakes the engine to re-plan timers (rules changed, clock moved).
    pub replan: Notify,
    /// Wakes the outbox dispatcher.
    pub outbox_ready: Notify,
    /// Bumped by [`Shared::retry_outbox_now`]: the dispatcher forgets its
    /// waits when it changes.
    outbox_retries: std::sync::atomic::AtomicU64,
    ready: AtomicBool,
    not_ready_reason: std::sync::Mutex<String>,
    /// Why the daemon stopped itself, if it did (then it exits non-zero).
    failure: std::sync::Mutex<Option<String>>,
    pub intake: mpsc::Sender<Intake>,
    /// A read connection for HTTP status and metrics.
    pub reader: Mutex<Store>,
    /// The chat adapters' problems (set once, at start-up).
    chat_health: std::sync::OnceLock<Arc<Health>>,
    /// What works less well than it should without making the daemon
    /// unready (the rules watcher being down): `/readyz` and `/api/status`
    /// say so.
    pub degraded: Health,
    /// Where answers to GitHub deployments go (set at start-up when the
    /// config has a `github_app`).
    pub deployments: std::sync::OnceLock<mpsc::UnboundedSender<crate::engine::DeploymentAnswer>>,
    /// Bumped after every new team or rules ([`Shared::set_config`],
    /// [`Shared::set_rules`]): the writer hands it to the ledger, whose
    /// next-timer cache holds for one generation.
    generation: std::sync::atomic::AtomicU64,
}

impl Shared {
    #[expect(clippy::too_many_arguments, reason = "built once at start-up")]
    pub fn new(
        config: Config,
        team: Team,
        clock: Arc<dyn Clock>,
        rules: ActiveRules,
        state: State,
        intake: mpsc::Sender<Intake>,
        reader: Store,
        ready: Result<(), String>,
    ) -> Self {
        let (ok, reason) = match ready {
            Ok(()) => (true, String::new()),
            Err(r) => (false, r),
        };
        Self {
            config: ArcSwap::from_pointee(config),
            team: ArcSwap::from_pointee(team),
            clock,
            rules: ArcSwap::from_pointee(rules),
            state: ArcSwap::from_pointee(state),
            metrics: Metrics::default(),
            replan: Notify::new(),
            outbox_ready: Notify::new(),
            outbox_retries: std::sync::atomic::AtomicU64::new(0),
            ready: AtomicBool::new(ok),
            not_ready_reason: std::sync::Mutex::new(reason),
            failure: std::sync::Mutex::new(None),
            intake,
            reader: Mutex::new(reader),
            chat_health: std::sync::OnceLock::new(),
            degraded: Health::default(),
            deployments: std::sync::OnceLock::new(),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The team config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// The engine's view of the team config in force.
    pub fn team(&self) -> Arc<Team> {
        self.team.load_full()
    }

    /// Swaps in a reloaded config and its team view.
    pub fn set_config(&self, config: Arc<Config>, team: Team) {
        self.team.store(Arc::new(team));
        self.config.store(config);
        self.bump_generation();
    }

    /// Swaps in reloaded rules.
    pub fn set_rules(&self, rules: Arc<ActiveRules>) {
        self.rules.store(rules);
        self.bump_generation();
    }

    /// The number of the team and rules in force: it changes after each
    /// swap. Read it before loading the team and rules it stands for (a
    /// swap in between then only costs a recomputation).
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn bump_generation(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every message waiting for a retry due now: clears their
    /// stored `retry_at`, tells the outbox dispatcher to forget its waits,
    /// and wakes it; how many were waiting.
    pub async fn retry_outbox_now(&self) -> Result<u64, crate::store::StoreError> {
        let n = self.reader.lock().await.retry_outbox_now()?;
        self.outbox_retries.fetch_add(1, Ordering::SeqCst);
        self.outbox_ready.notify_one();
        Ok(n)
    }

    /// How many times [`Shared::retry_outbox_now`] was asked for: the
    /// dispatcher's waits from before the last change are void.
    pub fn outbox_retries(&self) -> u64 {
        self.outbox_retries.load(Ordering::SeqCst)
    }

    /// Makes the chat adapters' problems part of readiness.
    pub fn watch_chat_health(&self, health: Arc<Health>) {
        let _ = self.chat_health.set(health);
    }

    /// Chat logins the server refused as rate limited (`429`).
    pub fn chat_login_rate_limits(&self) -> u64 {
        self.chat_health.get().map_or(0, |h| h.login_rate_limits())
    }

    /// Chat API calls (not posts) refused with `429` and waited out.
    pub fn chat_api_rate_limits(&self) -> u64 {
        self.chat_health.get().map_or(0, |h| h.api_rate_limits())
    }

    /// Records why the daemon must stop (the first reason wins); the
    /// caller then cancels the shutdown token.
    pub fn fail(&self, why: String) {
        if let Ok(mut g) = self.failure.lock() {
            g.get_or_insert(why);
        }
    }

    /// Why the daemon stopped itself, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|g| g.clone())
    }

    pub fn set_ready(&self, r: Result<(), String>) {
        let reason = match &r {
            Ok(()) => String::new(),
            Err(e) => e.clone(),
        };
        if let Ok(mut g) = self.not_ready_reason.lock() {
            *g = reason;
        }
        self.ready.store(r.is_ok(), Ordering::SeqCst);
    }

    /// Ready when the active rules are the file's (or the embedded ones)
    /// and no chat adapter has a problem.
    pub fn readiness(&self) -> Result<(), String> {
        if self.ready.load(Ordering::SeqCst) {
            let problems = self
                .chat_health
                .get()
                .map(|h| h.problems())
                .unwrap_or_default();
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        } else {
            Err(self
                .not_ready_reason
                .lock()
                .map(|g| g.clone())
                .unwrap_or_else(|_| "not ready".to_owned()))
        }
    }

    /// Sends events to the writer and waits for the result.
    pub async fn submit(&self, items: Vec<(String, Event)>) -> Result<Vec<Applied>, String> {
        let (tx, rx) = oneshot::channel();
        self.intake
            .send(Intake::Events {
                items,
                reply: Some(tx),
            })
            .await
            .map_err(|_| "shipgate is shutting down".to_owned())?;
        rx.await
            .map_err(|_| "shipgate is shutting down".to_owned())?
    }
}
