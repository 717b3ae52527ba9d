//! Who manages a daily RC: a random committer, preferring people in the
//! preferred time zone, skipping people who are away, and not the same
//! person twice in a row when anyone else qualifies.
//!
//! The order follows the written process: first who is here, then the
//! zone preference the process names, then our own fairness rule (no
//! repeat) among whoever is left. So the only committer in the preferred
//! zone manages again rather than handing the RC to someone in another
//! zone.

use chrono::{DateTime, Offset, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::Team;
use super::state::State;
use crate::rules::Policy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerChoice {
    pub person: String,
    /// Everyone the random pick was made from.
    pub eligible: Vec<String>,
    /// Why this pool, in words, e.g. who was skipped.
    pub why: String,
}

/// Picks the manager of a daily RC among `committers` (sorted, distinct).
pub fn pick_daily_manager(
    committers: &[String],
    state: &State,
    last_manager: Option<&str>,
    team: &Team,
    policy: &Policy,
    now: DateTime<Utc>,
    seed: u64,
) -> Option<ManagerChoice> {
    let today = now.with_timezone(&policy.timezone).date_naive();
    let mut notes = Vec::new();
    let mut pool: Vec<String> = committers.to_vec();
    pool.sort();
    pool.dedup();
    if pool.is_empty() {
        return None;
    }
    let present: Vec<String> = pool
        .iter()
        .filter(|p| !state.is_away(p, today))
        .cloned()
        .collect();
    let away: Vec<String> = pool
        .iter()
        .filter(|p| state.is_away(p, today))
        .cloned()
        .collect();
    if present.is_empty() {
        notes.push("everyone who committed is away, so any of them".to_owned());
    } else {
        if !away.is_empty() {
            notes.push(format!("skipped {} (away)", away.join(", ")));
        }
        pool = present;
    }
    if let Some(pref) = policy.prefer_timezone {
        let offset = pref.offset_from_utc_datetime(&now.naive_utc()).fix();
        let preferred: Vec<String> = pool
            .iter()
            .filter(|p| {
                team.people.get(*p).is_some_and(|m| {
                    m.tz.offset_from_utc_datetime(&now.naive_utc()).fix() == offset
                })
            })
            .cloned()
            .collect();
        if preferred.is_empty() {
            notes.push(format!("nobody eligible works in {} time", pref.name()));
        } else {
            if preferred.len() < pool.len() {
                notes.push(format!("preferring people in {} time", pref.name()));
            }
            pool = preferred;
        }
    }
    if policy.avoid_repeat
        && let Some(last) = last_manager
        && pool.len() > 1
        && pool.iter().any(|p| p == last)
    {
        pool.retain(|p| p != last);
        notes.push(format!("skipped {last} (managed the last daily RC)"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let person = pool.choose(&mut rng)?.clone();
    let mut why = if pool.len() == 1 {
        format!("the only eligible committer, seed {seed}")
    } else {
        format!("picked at random from {} (seed {seed})", pool.join(", "))
    };
    if !notes.is_empty() {
        why.push_str("; ");
        why.push_str(&notes.join("; "));
    }
    Some(ManagerChoice {
        person,
        eligible: pool,
        why,
    })
}
