//! What goes into the engine (events) and what comes out (effects).

use serde::{Deserialize, Serialize};

use super::state::{Breach, CiStatus, RcState, Trigger};
use crate::command::Said;

/// An input to the engine. Adapters, webhooks and the scheduler all produce
/// these; platform types never reach the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A change merged to a product's default branch.
    Merged {
        product: String,
        change: String,
        /// A person's name from the team config, or the raw git identity
        /// when nobody claims it.
        author: String,
        title: String,
    },
    /// A chat message: the text as typed (prefix included) and what it
    /// says, read at the edge (`ledger::to_event`), so the engine never
    /// parses text.
    Chat {
        product: String,
        from: String,
        text: String,
        /// The platform's message id, so replies can thread to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// Events stored before it existed are read by
        /// `ledger::stored_event`.
        said: Said,
    },
    /// A chat message sent while shipgate was not listening (stopped,
    /// starting, or cut off), read when it caught up. Run like [`Event::Chat`],
    /// with answers that say so, except that a command whose effect depends
    /// on when it runs is not run when it is older than `max_age_secs`.
    MissedChat {
        product: String,
        from: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// When the platform says it was sent.
        sent_at: chrono::DateTime<chrono::Utc>,
        /// `chat.catch_up_max_age` when it was read.
        max_age_secs: u64,
        /// What it says, as for [`Event::Chat`].
        said: Said,
    },
    /// A CI report about an RC.
    Ci {
        product: String,
        rc: u64,
        status: CiStatus,
    },
    /// Time passed: fire every timer that is due.
    Tick,
    /// A CI action the engine asked for has run.
    ActionDone {
        product: String,
        id: String,
        ok: bool,
        detail: String,
    },
    /// GitHub asks whether a deployment may go ahead (a deployment
    /// protection rule).
    Deployment(DeploymentRequest),
    /// GitHub reports that the workflow run of a deployment ended without
    /// it (cancelled): a held deployment is withdrawn.
    DeploymentCancelled { product: String, run_id: u64 },
    /// The answer to a deployment reached GitHub (or could not).
    DeploymentAnswered {
        product: String,
        id: String,
        ok: bool,
        detail: String,
    },
}

impl Event {
    /// The product the event is about (`None` for a tick, which is about
    /// every product with a timer due).
    pub fn product(&self) -> Option<&str> {
        match self {
            Event::Merged { product, .. }
            | Event::Chat { product, .. }
            | Event::MissedChat { product, .. }
            | Event::Ci { product, .. }
            | Event::ActionDone { product, .. }
            | Event::DeploymentCancelled { product, .. }
            | Event::DeploymentAnswered { product, .. } => Some(product),
            Event::Deployment(req) => Some(&req.product),
            Event::Tick => None,
        }
    }
}

/// A deployment waiting for shipgate's answer, from a
/// `deployment_protection_rule` delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRequest {
    pub product: String,
    /// `owner/name`.
    pub repo: String,
    pub environment: String,
    /// The window the product's `environments` maps the environment to;
    /// `None` when it maps it to none.
    pub window: Option<String>,
    /// Where the answer goes.
    pub callback_url: String,
    /// The GitHub App installation that answers.
    pub installation: u64,
    /// The workflow run waiting (from the callback URL).
    pub run_id: u64,
    pub sha: String,
    /// Keep it waiting while the window is closed, and approve it when it
    /// opens (the product's `hold_until_open`).
    pub hold: bool,
    /// Seconds a held deployment may wait before it is rejected
    /// (`github_app.hold_max_secs`).
    pub hold_max_secs: u64,
}

impl DeploymentRequest {
    /// One answer per run and environment: `deploy-RUN-ENVIRONMENT`.
    pub fn answer_id(&self) -> String {
        format!("deploy-{}-{}", self.run_id, self.environment)
    }

    /// `acme/web` to `production` (abc1234, run 42)
    pub fn describe(&self) -> String {
        let sha: String = self.sha.chars().take(7).collect();
        format!(
            "`{}` to `{}` ({sha}, run {})",
            self.repo, self.environment, self.run_id
        )
    }
}

/// shipgate's answer to a deployment, for GitHub's callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentAnswer {
    /// [`DeploymentRequest::answer_id`].
    pub id: String,
    pub product: String,
    pub environment: String,
    pub callback_url: String,
    pub installation: u64,
    pub approved: bool,
    /// Shown on the deployment in GitHub: the reason and the next opening.
    pub comment: String,
}

/// A message for a product's channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub product: String,
    pub text: String,
    /// People to mention (names from the team config).
    pub mentions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// What the message is, for platforms that show more than text
    /// (Slack's Block Kit and buttons); the text says it all anyway. It
    /// goes to the outbox with the message, not into an effect's JSON
    /// (`simulate` prints the text).
    #[serde(skip)]
    pub card: Option<Card>,
}

/// The structure behind a message, for chat platforms that can show it
/// (Slack: sections and one-click buttons). Each button is a command a
/// person could type; a click runs it exactly as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Card {
    /// An RC was cut: its changes, each with who verifies it
    /// (`verify CHANGE`).
    Announce { rc: u64, changes: Vec<CardChange> },
    /// An exception request that `approvers` may approve (`approve E{id}`).
    Exception { id: u64, approvers: Vec<String> },
    /// Every change in RC `rc` is verified; its `manager` may `release`.
    Ready { rc: u64, manager: String },
    /// The first answer to a command that may change something (`to` is
    /// the command's message id): `done` is false when it changed nothing
    /// (refused, or nothing to do).
    Answer { to: String, done: bool },
}

/// A change in an [`Card::Announce`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardChange {
    pub id: String,
    pub title: String,
    pub verifier: String,
}

/// An RC changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RcUpdate {
    pub product: String,
    pub id: u64,
    pub state: RcState,
    pub trigger: Trigger,
    pub urgent: bool,
    pub manager: String,
    pub changes: Vec<String>,
    /// For state `released`: how the release broke the policy (empty when
    /// it did not); absent for every other state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaches: Option<Vec<Breach>>,
}

/// A release was asked for and decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDecision {
    pub product: String,
    pub rc: u64,
    pub allowed: bool,
    pub reason: String,
    pub exception: Option<String>,
}

/// A reminder to verify changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub product: String,
    pub to: String,
    pub rc: u64,
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Build the RC.
    Cut,
    /// Release the RC to production.
    Release,
}

/// A CI action to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRun {
    /// Unique per RC and kind (`cut-3`, `release-3`): CI can use it to
    /// ignore a repeated trigger after a crash.
    pub id: String,
    pub product: String,
    pub kind: ActionKind,
    pub rc: u64,
    /// The change ids in the RC.
    pub changes: Vec<String>,
    pub manager: String,
}

/// An output of the engine. One executor performs them; a dry run prints
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Post(Post),
    Rc(RcUpdate),
    Release(ReleaseDecision),
    Remind(Reminder),
    Action(ActionRun),
    /// Answer a deployment on GitHub (approved or rejected).
    Deployment(DeploymentAnswer),
}

/// An audit entry: who did what, decided by which rules version and seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
    pub seed: Option<u64>,
}
