//! The engine made durable: each event is decided by the pure engine and
//! committed with its state, outbox and audit in one SQLite transaction.
//! An event whose idempotency key was seen before changes nothing.

use crate::engine::{self, Context, Effect, Event, State};
use crate::store::{AuditRow, Commit, CommitOutcome, NewMessage, Store, StoreError};

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
}

pub struct Ledger {
    store: Store,
    state: State,
    /// The hash of the rules decisions are made with, recorded in audit.
    rules_version: Option<String>,
}

impl Ledger {
    /// Opens on a store, loading the latest state snapshot.
    pub fn open(store: Store) -> Result<Self, LedgerError> {
        let state = match store.state()? {
            Some((_, json)) => {
                serde_json::from_str(&json).map_err(|e| LedgerError::State(e.to_string()))?
            }
            None => State::default(),
        };
        Ok(Self {
            store,
            state,
            rules_version: None,
        })
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn set_rules_version(&mut self, hash: Option<String>) {
        self.rules_version = hash;
    }

    /// Decides `event` and commits it under `key`.
    pub fn apply(
        &mut self,
        ctx: &Context<'_>,
        key: &str,
        event: &Event,
    ) -> Result<Applied, LedgerError> {
        let outcome = engine::handle(&self.state, ctx, event);
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
        let state_json =
            serde_json::to_string(&outcome.state).map_err(|e| LedgerError::State(e.to_string()))?;
        let outbox = outcome
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Post(p) => Some(NewMessage {
                    product: p.product.clone(),
                    text: p.text.clone(),
                    mentions: p.mentions.clone(),
                    reply_to: p.reply_to.clone(),
                }),
                Effect::Rc(_)
                | Effect::Release(_)
                | Effect::Remind(_)
                | Effect::Action(_)
                | Effect::Deployment(_) => None,
            })
            .collect();
        let audit = outcome
            .audit
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
        match self.store.commit(&commit)? {
            CommitOutcome::Applied { seq } => {
                self.state = outcome.state;
                Ok(Applied::New {
                    seq,
                    effects: outcome.effects,
                })
            }
            CommitOutcome::Duplicate { seq } => Ok(Applied::Duplicate { seq }),
        }
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
        let state_json =
            serde_json::to_string(&self.state).map_err(|e| LedgerError::State(e.to_string()))?;
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
        Ok(self.store.commit(&commit)?)
    }
}
