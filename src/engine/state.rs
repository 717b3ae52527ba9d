//! The engine's state: everything needed to decide the next step, and
//! nothing derived. Stored per product: an event writes the state of the
//! products it changed ([`Products::take_journal`] says which) and the
//! small global part ([`Global`]), never the whole state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
    /// Stored apart from the rest (one row per product), so the global
    /// row the store holds has no `products`.
    #[serde(default)]
    pub products: Products,
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

/// The global part of a [`State`], everything but the products, borrowed
/// for storing: serialised, it reads back as a `State` without products.
#[derive(Debug, Serialize)]
pub struct Global<'a> {
    pub next_rc: u64,
    pub next_request: u64,
    pub away: &'a BTreeMap<String, NaiveDate>,
    pub pending_actions: &'a [super::event::ActionRun],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub pending_answers: &'a [super::event::DeploymentAnswer],
}

impl State {
    /// Everything but the products, for storing.
    pub fn global(&self) -> Global<'_> {
        Global {
            next_rc: self.next_rc,
            next_request: self.next_request,
            away: &self.away,
            pending_actions: &self.pending_actions,
            pending_answers: &self.pending_answers,
        }
    }
}

/// The products' states by name. Reads go through `Deref` to the map;
/// writes go through [`Products::get_mut`] and friends, which share a
/// product with earlier copies of the state until it is written (copy on
/// write: cloning a `State` copies no product) and, while a journal is open
/// ([`Products::start_journal`]), remember each product's state before its
/// first write, so that the ledger stores only the products an event
/// changed and can undo an event that was not stored.
#[derive(Debug, Default)]
pub struct Products {
    map: BTreeMap<String, Arc<ProductState>>,
    journal: Option<BTreeMap<String, Option<Arc<ProductState>>>>,
    /// Products that held deployments when last looked at: with
    /// `touched`, this finds the products holding some
    /// ([`Products::holding`]) without visiting every product.
    holding: BTreeSet<String>,
    /// Products written since `holding` was last brought up to date.
    touched: BTreeSet<String>,
}

/// The products written since [`Products::start_journal`], each with its
/// state before (`None`: it did not exist).
pub type Journal = BTreeMap<String, Option<Arc<ProductState>>>;

impl Products {
    /// A product's state, for writing (journaled).
    pub fn get_mut(&mut self, product: &str) -> Option<&mut ProductState> {
        let p = self.map.get_mut(product)?;
        if !self.touched.contains(product) {
            self.touched.insert(product.to_owned());
        }
        if let Some(j) = &mut self.journal
            && !j.contains_key(product)
        {
            j.insert(product.to_owned(), Some(Arc::clone(p)));
        }
        Some(Arc::make_mut(p))
    }

    /// A product's state, created empty when missing (journaled).
    pub fn get_or_default(&mut self, product: &str) -> &mut ProductState {
        self.touch(product);
        if let Some(j) = &mut self.journal
            && !j.contains_key(product)
        {
            j.insert(product.to_owned(), self.map.get(product).cloned());
        }
        Arc::make_mut(self.map.entry(product.to_owned()).or_default())
    }

    /// Sets a product's state (journaled).
    pub fn insert(&mut self, product: String, state: ProductState) {
        self.touch(&product);
        if let Some(j) = &mut self.journal
            && !j.contains_key(&product)
        {
            j.insert(product.clone(), self.map.get(&product).cloned());
        }
        self.map.insert(product, Arc::new(state));
    }

    /// The products, each shared with the state it came from.
    pub fn iter(&self) -> ProductsIter<'_> {
        fn unshare<'a>(
            (k, v): (&'a String, &'a Arc<ProductState>),
        ) -> (&'a String, &'a ProductState) {
            (k, v)
        }
        self.map.iter().map(unshare)
    }

    pub fn get(&self, product: &str) -> Option<&ProductState> {
        self.map.get(product).map(|p| &**p)
    }

    pub fn contains_key(&self, product: &str) -> bool {
        self.map.contains_key(product)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &ProductState> {
        self.map.values().map(|p| &**p)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// From now on, remember the state of each product before its first
    /// write (a journal already open is dropped).
    pub fn start_journal(&mut self) {
        self.journal = Some(BTreeMap::new());
    }

    /// Closes the journal: the products written since
    /// [`Products::start_journal`] with their earlier states.
    pub fn take_journal(&mut self) -> Journal {
        self.journal.take().unwrap_or_default()
    }

    /// Puts back the states a journal remembers (undoes the writes).
    pub fn undo(&mut self, journal: Journal) {
        for (product, before) in journal {
            self.touch(&product);
            match before {
                Some(p) => {
                    self.map.insert(product, p);
                }
                None => {
                    self.map.remove(&product);
                }
            }
        }
    }

    /// The products holding deployments (`held` not empty), in name order.
    /// Only the products written since the last call are looked at, so
    /// this costs what those cost, not what every product costs.
    pub fn holding(&mut self) -> Vec<String> {
        for product in std::mem::take(&mut self.touched) {
            if self.map.get(&product).is_some_and(|p| !p.held.is_empty()) {
                self.holding.insert(product);
            } else {
                self.holding.remove(&product);
            }
        }
        self.holding.iter().cloned().collect()
    }

    fn touch(&mut self, product: &str) {
        if !self.touched.contains(product) {
            self.touched.insert(product.to_owned());
        }
    }

    /// Whether `product` differs from `before` (cheap when the product
    /// was not copied).
    pub fn changed(&self, product: &str, before: Option<&Arc<ProductState>>) -> bool {
        match (self.map.get(product), before) {
            (Some(now), Some(before)) => !Arc::ptr_eq(now, before) && now != before,
            (None, None) => false,
            _ => true,
        }
    }
}

impl Clone for Products {
    /// Shares every product's state (copy on write); the journal is not
    /// copied.
    fn clone(&self) -> Self {
        Products {
            map: self.map.clone(),
            journal: None,
            holding: self.holding.clone(),
            touched: self.touched.clone(),
        }
    }
}

impl PartialEq for Products {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl std::ops::Index<&str> for Products {
    type Output = ProductState;

    /// # Panics
    /// When there is no such product (as a map's index does).
    #[expect(
        clippy::panic,
        reason = "indexing is for tests and known keys, as with a map"
    )]
    fn index(&self, product: &str) -> &ProductState {
        match self.get(product) {
            Some(p) => p,
            None => panic!("no product `{product}` in the state"),
        }
    }
}

impl std::ops::Index<&String> for Products {
    type Output = ProductState;

    fn index(&self, product: &String) -> &ProductState {
        &self[product.as_str()]
    }
}

/// Iterates a [`Products`] in name order.
pub type ProductsIter<'a> = std::iter::Map<
    std::collections::btree_map::Iter<'a, String, Arc<ProductState>>,
    fn((&'a String, &'a Arc<ProductState>)) -> (&'a String, &'a ProductState),
>;

impl<'a> IntoIterator for &'a Products {
    type Item = (&'a String, &'a ProductState);
    type IntoIter = ProductsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<(String, ProductState)> for Products {
    fn from_iter<I: IntoIterator<Item = (String, ProductState)>>(iter: I) -> Self {
        let map: BTreeMap<String, Arc<ProductState>> =
            iter.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        let holding = map
            .iter()
            .filter(|(_, p)| !p.held.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        Products {
            map,
            journal: None,
            holding,
            touched: BTreeSet::new(),
        }
    }
}

impl Serialize for Products {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Products {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, ProductState>::deserialize(d)?;
        Ok(map.into_iter().collect())
    }
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
