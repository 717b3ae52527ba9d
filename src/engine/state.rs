//! The engine's state: everything needed to decide the next step, and
//! nothing derived. Serialised whole into the store after every event.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How many closed RCs a product remembers in its state (the store keeps
/// every event; this is only for `status`).
pub const HISTORY: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The id the next RC gets; ids are unique across products.
    pub next_rc: u64,
    /// The id the next exception request gets.
    pub next_request: u64,
    pub products: BTreeMap<String, ProductState>,
    /// People who said they are away, and the last day they are away.
    pub away: BTreeMap<String, NaiveDate>,
    /// CI actions asked for and not yet reported done; the daemon runs
    /// them (again, after a crash) until it reports each.
    #[serde(default)]
    pub pending_actions: Vec<super::event::ActionRun>,
    /// Answers to GitHub deployments not yet delivered; the daemon sends
    /// them (again, after a crash) until it reports each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_answers: Vec<super::event::DeploymentAnswer>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductState {
    /// Merged changes not yet in an RC.
    pub pool: Vec<Change>,
    /// The RC in flight, if any.
    pub current: Option<Rc>,
    /// Normal requests waiting for the current RC to end.
    pub queue: Vec<Request>,
    /// An urgent request in its notice period.
    pub urgent: Option<UrgentRequest>,
    /// Exception requests, pending or granted and not yet expired.
    pub exceptions: Vec<ExceptionRequest>,
    /// The local date of the last daily RC decision (cut or skipped).
    pub last_daily: Option<NaiveDate>,
    pub last_daily_manager: Option<String>,
    /// Recently closed RCs, newest last.
    pub history: Vec<ClosedRc>,
    /// A cut that fell while the cut gate was closed; it is made when the
    /// gate opens (or an exception opens it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_cut: Option<WaitingCut>,
    /// GitHub deployments held until their window opens
    /// (`hold_until_open`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldDeployment>,
}

/// A deployment kept waiting while its window is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldDeployment {
    pub request: super::event::DeploymentRequest,
    pub held_at: DateTime<Utc>,
    /// When the window was last found closed (its opening is due from here).
    pub since: DateTime<Utc>,
    /// When it stops waiting and is rejected.
    pub until: DateTime<Utc>,
}

/// A cut waiting for the cut gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingCut {
    pub trigger: Trigger,
    pub urgent: bool,
    /// Who asked for it (the manager of a requested RC); `None` for a daily
    /// cut, whose manager is picked when it is cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why `by` manages it, for the announcement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// When the gate was last found closed.
    pub since: DateTime<Utc>,
}

/// How a release went outside the policy. Reality wins, so the release is
/// recorded, with these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Breach {
    /// The release gate's window was closed and no exception opened it.
    WindowClosed,
    /// Some change in the RC was not verified.
    Unverified,
    /// Nobody's `release` was approved: the RC never went through the gate.
    NotApproved,
}

impl Breach {
    pub fn as_str(self) -> &'static str {
        match self {
            Breach::WindowClosed => "window-closed",
            Breach::Unverified => "unverified",
            Breach::NotApproved => "not-approved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub author: String,
    pub title: String,
    pub merged_at: DateTime<Utc>,
    /// Who verifies it when that is not its author: a handoff made in an
    /// RC that ended without a release (superseded, not viable) carries
    /// over to the next RC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Daily,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RcState {
    /// Cut; changes are being verified.
    Open,
    /// Every change verified; waiting for a release.
    Ready,
    /// Release approved; CI is releasing it.
    Releasing,
    Released,
    NotViable,
    Superseded,
}

impl RcState {
    pub fn in_flight(self) -> bool {
        match self {
            RcState::Open | RcState::Ready | RcState::Releasing => true,
            RcState::Released | RcState::NotViable | RcState::Superseded => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RcState::Open => "open",
            RcState::Ready => "ready",
            RcState::Releasing => "releasing",
            RcState::Released => "released",
            RcState::NotViable => "not-viable",
            RcState::Superseded => "superseded",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiStatus {
    Built,
    Deployed,
    Failed,
    Released,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rc {
    pub id: u64,
    pub trigger: Trigger,
    pub urgent: bool,
    pub manager: String,
    pub reason: Option<String>,
    pub cut_at: DateTime<Utc>,
    pub state: RcState,
    pub ci: Option<CiStatus>,
    pub changes: Vec<RcChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RcChange {
    pub change: Change,
    /// Who verifies it: the author, or whoever it was handed to.
    pub verifier: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub reminders: u32,
    pub last_reminded: Option<DateTime<Utc>>,
    pub escalated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedRc {
    pub id: u64,
    pub state: RcState,
    pub manager: String,
    pub closed_at: DateTime<Utc>,
    pub changes: usize,
    /// For a release outside the policy: how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaches: Vec<Breach>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgentRequest {
    pub by: String,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// When the running RC is replaced unless someone objects.
    pub deadline: DateTime<Utc>,
    pub objection: Option<Objection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRequest {
    pub id: u64,
    pub exception: String,
    pub by: String,
    pub reason: String,
    pub rc: u64,
    pub requested_at: DateTime<Utc>,
    pub needed: u32,
    pub approvals: Vec<String>,
    pub granted_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ExceptionRequest {
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.granted_at.is_some() && self.expires_at.is_some_and(|e| now < e)
    }
}

impl Rc {
    pub fn pending(&self) -> impl Iterator<Item = &RcChange> {
        self.changes.iter().filter(|c| c.verified_at.is_none())
    }

    /// Everyone who verifies a change in it (authors, or whom they handed
    /// their change to), sorted.
    pub fn verifiers(&self) -> Vec<String> {
        let mut v: Vec<String> = self.changes.iter().map(|c| c.verifier.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn authors(&self) -> Vec<String> {
        let mut a: Vec<String> = self
            .changes
            .iter()
            .map(|c| c.change.author.clone())
            .collect();
        a.sort();
        a.dedup();
        a
    }

    pub fn change_ids(&self) -> Vec<String> {
        self.changes.iter().map(|c| c.change.id.clone()).collect()
    }
}

impl State {
    pub fn is_away(&self, person: &str, today: NaiveDate) -> bool {
        self.away.get(person).is_some_and(|until| today <= *until)
    }
}
