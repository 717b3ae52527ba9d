//! The shell's only door into the core. Every input (a merged change, a
//! chat message, a CI report, the clock) becomes an engine event here
//! ([`input`], with one canonicalisation of product and person names);
//! each event is decided by the pure engine and committed with its state,
//! outbox and audit in one SQLite transaction; timers that fall due are
//! fired by one catch-up function ([`Ledger::catch_up`]) that the daemon's
//! writer, `shipgate simulate` and the tests all call. Stored events are
//! read back through [`stored_event`], which also reads the shapes older
//! versions stored. An event whose
//! idempotency key was seen before changes nothing. Nothing outside the
//! ledger writes events to the [`Store`].
//!
//! When a timer is decided: at its due time, but never before the latest
//! stored event (time never goes back), so a timer that fell due while
//! shipgate was down, or while a simulated script jumped ahead, is decided
//! at the later of the two. Seeds: every decision gets its own seed,
//! [`derive_seed`]`(base, seq)` where `seq` is the number the event will be
//! stored as, so the same base and the same inputs give the same decisions
//! in the daemon and in `simulate`.

pub mod input;
pub mod stored;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::engine::state::Journal;
use crate::engine::{self, Context, Effect, Event, State, Team};
use crate::rules::RuleSet;
use crate::store::{AuditRow, Commit, CommitOutcome, NewMessage, ProductRow, Store, StoreError};

pub use input::{Input, to_event, to_event_indexed};
pub use stored::stored_event;

/// The seed of the decision stored as event `n`, from a base seed
/// (splitmix64), so each decision has its own recorded seed.
pub fn derive_seed(base: u64, n: u64) -> u64 {
    let mut z = base.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The most timers one catch-up fires (a guard against a timer that keeps
/// itself due).
pub const MAX_CATCH_UP: usize = 10_000;

/// What applying an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    New {
        seq: u64,
        effects: Vec<Effect>,
    },
    /// Seen before: nothing changed.
    Duplicate {
        seq: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored state cannot be read ({0}); was the database written by a newer shipgate?")]
    State(String),
    /// An input the ledger cannot turn into an event (an unknown product).
    #[error("{0}")]
    Input(String),
}

pub struct Ledger {
    store: Store,
    /// The whole state; an event changes it in place and stores only the
    /// products it changed (plus the small global part).
    state: State,
    /// Each product's next timer, kept up to date for the products events
    /// change, so finding the next timer does not recompute every product.
    due: Option<DueCache>,
    /// The hash of the rules decisions are made with, recorded in audit.
    rules_version: Option<String>,
    /// The caller's number for the rules and team it passes
    /// ([`Ledger::set_config_generation`]): the next-timer cache holds for
    /// one generation, so checking it costs nothing per event.
    generation: u64,
    /// Whether the state holds every product of this generation's team
    /// (an event then does not look for missing ones).
    products_known: bool,
    /// The sequence number of the latest stored event.
    seq: u64,
    /// When the latest stored event was decided.
    last_at: Option<DateTime<Utc>>,
}

impl Ledger {
    /// Opens on a store, loading the latest state: the global row and every
    /// product's row.
    pub fn open(store: Store) -> Result<Self, LedgerError> {
        let (seq, mut state) = match store.state()? {
            Some((seq, json)) => (
                seq,
                serde_json::from_str::<State>(&json)
                    .map_err(|e| LedgerError::State(e.to_string()))?,
            ),
            None => (0, State::default()),
        };
        for (product, _, json) in store.product_states()? {
            let ps = serde_json::from_str(&json)
                .map_err(|e| LedgerError::State(format!("product `{product}`: {e}")))?;
            state.products.insert(product, ps);
        }
        let last_at = store.last_event_at()?;
        Ok(Self {
            store,
            state,
            due: None,
            rules_version: None,
            generation: 0,
            products_known: false,
            seq,
            last_at,
        })
    }

    /// Opens on a store that holds no state yet, starting from `state`
    /// (tests that begin mid-story, e.g. with RC numbers already used).
    pub fn open_with(store: Store, state: State) -> Result<Self, LedgerError> {
        let mut ledger = Self::open(store)?;
        if ledger.seq == 0 {
            ledger.state = state;
            ledger.due = None;
            ledger.products_known = false;
        }
        Ok(ledger)
    }

    /// The seed of the next decision from `base` (see [`derive_seed`]).
    pub fn next_seed(&self, base: u64) -> u64 {
        derive_seed(base, self.seq + 1)
    }

    /// When the latest stored event was decided.
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.last_at
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Tells the ledger which rules and team the next calls pass, by a
    /// number the caller changes whenever it is given new rules or a new
    /// team (a reload). The next-timer cache, and the knowledge that the
    /// state holds every product of the team, are kept while the number
    /// stays the same, and computed again when it changes; a caller that
    /// always passes the same rules and team (`simulate`, the tests) never
    /// needs to call this.
    pub fn set_config_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.generation = generation;
            self.due = None;
            self.products_known = false;
        }
    }

    /// The rules hash recorded with every decision from now on.
    pub fn set_rules_version(&mut self, hash: Option<String>) {
        self.rules_version = hash;
    }

    /// Records the text of a rules version (by its hash) as active from
    /// `at`, and decides with it from now on.
    pub fn record_rules_version(
        &mut self,
        hash: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.store.record_rules_version(hash, text, at)?;
        self.rules_version = Some(hash.to_owned());
        Ok(())
    }

    /// Group commit: the events applied until [`Ledger::commit_group`]
    /// share one transaction (each in its own savepoint), so one flush.
    pub fn begin_group(&mut self) -> Result<(), LedgerError> {
        Ok(self.store.begin_group()?)
    }

    /// Makes the group durable.
    pub fn commit_group(&mut self) -> Result<(), LedgerError> {
        Ok(self.store.commit_group()?)
    }

    /// Drops the group. The in-memory state then holds events that are not
    /// stored: open the ledger again to read it back.
    pub fn rollback_group(&mut self) {
        self.store.rollback_group();
    }

    /// Decides `event` and commits it under `key`, with the global part of
    /// the state and the state of each product the event changed. When the
    /// event is not stored (a duplicate key, an error), the in-memory state
    /// is put back as it was.
    pub fn apply(
        &mut self,
        ctx: &Context<'_>,
        key: &str,
        event: &Event,
    ) -> Result<Applied, LedgerError> {
        let before = GlobalBackup::of(&self.state);
        self.state.products.start_journal();
        // The team's products are looked for once per generation, not on
        // every event (an event then costs the same with 1 or 1,000).
        if !self.products_known {
            engine::ensure_products(&mut self.state, ctx);
        }
        let (effects, audit) = engine::handle_known(&mut self.state, ctx, event);
        let journal = self.state.products.take_journal();
        let result = self.store_event(ctx, key, event, &effects, &audit, &journal);
        match result {
            Ok(CommitOutcome::Applied { seq }) => {
                self.seq = seq;
                self.products_known = true;
                self.last_at = Some(self.last_at.map_or(ctx.now, |t| t.max(ctx.now)));
                if let Some(due) = &mut self.due {
                    if before.away != self.state.away {
                        // Reminders depend on who is away, in every product.
                        self.due = None;
                    } else {
                        due.stale.extend(journal.into_keys());
                    }
                }
                Ok(Applied::New { seq, effects })
            }
            Ok(CommitOutcome::Duplicate { seq }) => {
                self.state.products.undo(journal);
                before.restore(&mut self.state);
                Ok(Applied::Duplicate { seq })
            }
            Err(e) => {
                self.state.products.undo(journal);
                before.restore(&mut self.state);
                Err(e)
            }
        }
    }

    /// Stores a decided event: the global state, the products in
    /// `journal` that changed, the outbox and the audit.
    fn store_event(
        &mut self,
        ctx: &Context<'_>,
        key: &str,
        event: &Event,
        effects: &[Effect],
        audit: &[engine::Audit],
        journal: &Journal,
    ) -> Result<CommitOutcome, LedgerError> {
        let kind = match event {
            Event::Merged { .. } => "merged",
            Event::Chat { .. } | Event::MissedChat { .. } => "chat",
            Event::Ci { .. } => "ci",
            Event::Tick => "tick",
            Event::ActionDone { .. } => "action",
            Event::Deployment(_) | Event::DeploymentCancelled { .. } => "deployment",
            Event::DeploymentAnswered { .. } => "deployment-answer",
        };
        let event_json =
            serde_json::to_string(event).map_err(|e| LedgerError::State(e.to_string()))?;
        let state_json = serde_json::to_string(&self.state.global())
            .map_err(|e| LedgerError::State(e.to_string()))?;
        let mut products = Vec::new();
        for (product, earlier) in journal {
            if !self.state.products.changed(product, earlier.as_ref()) {
                continue;
            }
            let state_json = self
                .state
                .products
                .get(product)
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| LedgerError::State(e.to_string()))?;
            products.push(ProductRow {
                product: product.clone(),
                state_json,
            });
        }
        let outbox = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Post(p) => Some(NewMessage {
                    product: p.product.clone(),
                    text: p.text.clone(),
                    mentions: p.mentions.clone(),
                    reply_to: p.reply_to.clone(),
                    card_json: p.card.as_ref().and_then(|c| serde_json::to_string(c).ok()),
                }),
                Effect::Rc(_)
                | Effect::Release(_)
                | Effect::Remind(_)
                | Effect::Action(_)
                | Effect::Deployment(_) => None,
            })
            .collect();
        let audit = audit
            .iter()
            .map(|a| AuditRow {
                actor: a.actor.clone(),
                action: a.action.clone(),
                detail: a.detail.clone(),
                rules_version: self.rules_version.clone(),
                seed: a.seed,
            })
            .collect();
        let commit = Commit {
            key: key.to_owned(),
            at: ctx.now,
            kind: kind.to_owned(),
            event_json,
            state_json,
            outbox,
            audit,
        };
        Ok(self.store.commit_with_products(&commit, &products)?)
    }

    /// The earliest timer, which may already be past. The same as
    /// [`engine::next_due`] on [`Ledger::state`], from a per-product cache:
    /// only the products changed since the last call are recomputed (all
    /// of them when who is away changed, or when the caller announced other
    /// rules or another team with [`Ledger::set_config_generation`]).
    pub fn next_due(&mut self, rules: &RuleSet, team: &Team) -> Option<DateTime<Utc>> {
        let state = &self.state;
        let due = match &mut self.due {
            Some(due) => {
                for product in std::mem::take(&mut due.stale) {
                    let t = state
                        .products
                        .get(&product)
                        .and_then(|ps| engine::product_due(state, rules, team, &product, ps));
                    due.set(product, t);
                }
                due
            }
            slot @ None => {
                let mut due = DueCache {
                    per_product: BTreeMap::new(),
                    order: BTreeSet::new(),
                    stale: BTreeSet::new(),
                };
                for (product, ps) in &state.products {
                    let t = engine::product_due(state, rules, team, product, ps);
                    due.set(product.clone(), t);
                }
                slot.insert(due)
            }
        };
        due.order.first().map(|(t, _)| *t)
    }
}

/// Each product's next timer, for the rules and team of one generation.
struct DueCache {
    /// Each product with a timer, and when.
    per_product: BTreeMap<String, DateTime<Utc>>,
    /// The same, in time order (the first is the next timer).
    order: BTreeSet<(DateTime<Utc>, String)>,
    /// Products changed since: recomputed at the next look.
    stale: BTreeSet<String>,
}

impl DueCache {
    fn set(&mut self, product: String, due: Option<DateTime<Utc>>) {
        if let Some(old) = self.per_product.remove(&product) {
            self.order.remove(&(old, product.clone()));
        }
        if let Some(t) = due {
            self.order.insert((t, product.clone()));
            self.per_product.insert(product, t);
        }
    }
}

/// The global part of the state before an event, to put back when the
/// event is not stored (the products are put back from their journal).
struct GlobalBackup {
    next_rc: u64,
    next_request: u64,
    away: BTreeMap<String, chrono::NaiveDate>,
    pending_actions: Vec<engine::ActionRun>,
    pending_answers: Vec<engine::DeploymentAnswer>,
}

impl GlobalBackup {
    fn of(state: &State) -> Self {
        GlobalBackup {
            next_rc: state.next_rc,
            next_request: state.next_request,
            away: state.away.clone(),
            pending_actions: state.pending_actions.clone(),
            pending_answers: state.pending_answers.clone(),
        }
    }

    fn restore(self, state: &mut State) {
        state.next_rc = self.next_rc;
        state.next_request = self.next_request;
        state.away = self.away;
        state.pending_actions = self.pending_actions;
        state.pending_answers = self.pending_answers;
    }
}

impl Ledger {
    /// Commits messages that no event caused (e.g. a rules reload notice)
    /// under `key`, with the state unchanged.
    pub fn announce(
        &mut self,
        key: &str,
        at: chrono::DateTime<chrono::Utc>,
        messages: Vec<NewMessage>,
    ) -> Result<CommitOutcome, LedgerError> {
        let state_json = serde_json::to_string(&self.state.global())
            .map_err(|e| LedgerError::State(e.to_string()))?;
        let commit = Commit {
            key: key.to_owned(),
            at,
            kind: "announce".to_owned(),
            event_json: "{}".to_owned(),
            state_json,
            outbox: messages,
            audit: vec![AuditRow {
                actor: None,
                action: "announce".to_owned(),
                detail: key.to_owned(),
                rules_version: self.rules_version.clone(),
                seed: None,
            }],
        };
        let outcome = self.store.commit(&commit)?;
        if let CommitOutcome::Applied { seq } = outcome {
            self.seq = seq;
        }
        Ok(outcome)
    }

    /// Fires every timer due by `until`, oldest first: the one catch-up of
    /// the daemon's writer, `simulate` and the tests. Each timer is decided
    /// at its due time, or at the latest stored event's time when that is
    /// later (time never goes back), with the seed
    /// [`Ledger::next_seed`]`(base_seed)`. `on_fired` sees each stored
    /// tick (the time it was decided at and what it did). Stops when a
    /// firing changes nothing (the timer would fire forever) or after
    /// [`MAX_CATCH_UP`] firings; returns how many ticks were stored.
    pub fn catch_up(
        &mut self,
        rules: &RuleSet,
        team: &Team,
        until: DateTime<Utc>,
        base_seed: u64,
        mut on_fired: impl FnMut(DateTime<Utc>, &Applied),
    ) -> Result<usize, LedgerError> {
        let mut fired = 0;
        let mut last = None;
        for _ in 0..MAX_CATCH_UP {
            let Some(due) = self.next_due(rules, team).filter(|t| *t <= until) else {
                break;
            };
            if last == Some(due) {
                tracing::error!(due = %due, "a timer did not change the state when it fired; not firing it again");
                break;
            }
            last = Some(due);
            let at = self.last_at.map_or(due, |t| due.max(t));
            let ctx = Context {
                rules,
                team,
                now: at,
                seed: self.next_seed(base_seed),
            };
            let key = format!("tick:{}:{}", crate::timefmt::utc(due), self.seq + 1);
            let applied = self.apply(&ctx, &key, &Event::Tick)?;
            if matches!(applied, Applied::New { .. }) {
                fired += 1;
            }
            on_fired(at, &applied);
        }
        Ok(fired)
    }
}

#[cfg(test)]
#[path = "products_tests.rs"]
mod products_tests;
