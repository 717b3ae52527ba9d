//! Timers, derived from state and rules (never stored): daily cuts,
//! urgent notice periods, verification reminders and escalations, and
//! exception expiry. A restart or a rules reload re-plans them; something
//! that fell due while nobody was watching fires once, late.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;

use super::event::{Effect, Reminder};
use super::gate;
use super::lifecycle::{Cut, cut, cut_through_gate, fire_waiting_cut, supersede};
use super::manager::pick_daily_manager;
use super::state::{ProductState, Rc, RcChange, RcState, State};
use super::text::{and_list, at};
use super::{Context, Step, Team};
use crate::rules::RuleSet;
use crate::rules::eval::start_of_local_day;
use crate::rules::policy::{DailyPolicy, Policy};

/// The first instant of local `day` at `minute`, resolving daylight-saving
/// gaps to the first instant after the gap and repeats to the first one.
fn local_instant(tz: Tz, day: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
    let t = NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
    match day.and_time(t).and_local_timezone(tz) {
        chrono::LocalResult::Single(x) => Some(x.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            // In the gap: the first instant whose local time is past it.
            let start = start_of_local_day(tz, day)?;
            (0..=48 * 4)
                .map(|q| start + chrono::TimeDelta::minutes(15 * q))
                .find(|x| {
                    let l = x.with_timezone(&tz);
                    l.date_naive() > day || (l.hour() * 60 + l.minute()) as u16 >= minute
                })
        }
    }
}

fn day_matches(mask: u8, d: NaiveDate) -> bool {
    mask & (1 << d.weekday().num_days_from_monday()) != 0
}

/// The local date of the last daily slot at or before `now`.
pub fn last_daily_slot(policy: &Policy, now: DateTime<Utc>) -> Option<NaiveDate> {
    let daily = policy.daily.as_ref()?;
    let today = now.with_timezone(&policy.timezone).date_naive();
    (0..8)
        .filter_map(|k| today.checked_sub_days(Days::new(k)))
        .find(|d| {
            day_matches(daily.days, *d)
                && local_instant(policy.timezone, *d, daily.at_minute).is_some_and(|t| t <= now)
        })
}

/// Brings a sleeping daily clock forward before changes enter an empty
/// pool: the slots that passed while there was nothing to cut count as
/// decided (skipped), as they were when the timer fired every day, so the
/// first cut is the next slot, not a late one.
pub(super) fn wake_daily(policy: &Policy, ps: &mut ProductState, now: DateTime<Utc>) {
    if !ps.pool.is_empty() {
        return;
    }
    if let (Some(last), Some(slot)) = (ps.last_daily, last_daily_slot(policy, now)) {
        ps.last_daily = Some(last.max(slot));
    }
}

/// The next daily slot after the one on `last`.
fn next_daily(
    policy: &Policy,
    daily: &DailyPolicy,
    last: NaiveDate,
) -> Option<(NaiveDate, DateTime<Utc>)> {
    (1..=8)
        .filter_map(|k| last.checked_add_days(Days::new(k)))
        .find(|d| day_matches(daily.days, *d))
        .and_then(|d| Some((d, local_instant(policy.timezone, d, daily.at_minute)?)))
}

/// The next instant inside working hours at or after `t`, in `tz`.
fn working_time(policy: &Policy, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let r = &policy.remind;
    if !r.working_hours_only {
        return Some(t);
    }
    let local = t.with_timezone(&tz);
    let minute = (local.hour() * 60 + local.minute()) as u16;
    let today = local.date_naive();
    if day_matches(r.working_days, today) && r.working_start <= minute && minute < r.working_end {
        return Some(t);
    }
    (0..9)
        .filter_map(|k| today.checked_add_days(Days::new(k)))
        .filter(|d| day_matches(r.working_days, *d))
        .filter_map(|d| local_instant(tz, d, r.working_start))
        .find(|x| *x > t)
}

fn reminder_due(
    state: &State,
    team: &Team,
    policy: &Policy,
    rc: &Rc,
    c: &RcChange,
) -> Option<DateTime<Utc>> {
    if c.verified_at.is_some() || rc.state != RcState::Open {
        return None;
    }
    let mut base = c
        .last_reminded
        .map_or(rc.cut_at + policy.remind.first, |t| t + policy.remind.every);
    // Someone away is reminded again from the day after they are back.
    let day = base.with_timezone(&policy.timezone).date_naive();
    if state.is_away(&c.verifier, day)
        && let Some(until) = state.away.get(&c.verifier)
    {
        base = start_of_local_day(policy.timezone, until.succ_opt()?)?.max(base);
    }
    let tz = team
        .people
        .get(&c.verifier)
        .map_or(policy.timezone, |m| m.tz);
    working_time(policy, tz, base)
}

/// When the manager is told about a change still unverified: `escalate`
/// after the cut, held like reminders to the manager's working hours (in
/// their time zone) when the policy says `working-hours`.
fn escalation_due(team: &Team, policy: &Policy, rc: &Rc, c: &RcChange) -> Option<DateTime<Utc>> {
    if c.verified_at.is_some() || c.escalated || rc.state != RcState::Open {
        return None;
    }
    let tz = team
        .people
        .get(&rc.manager)
        .map_or(policy.timezone, |m| m.tz);
    working_time(policy, tz, rc.cut_at + policy.remind.escalate_after)
}

/// The earliest timer in `state`, which may already be past.
pub fn next_due(state: &State, rules: &RuleSet, team: &Team) -> Option<DateTime<Utc>> {
    state
        .products
        .iter()
        .filter_map(|(product, ps)| product_due(state, rules, team, product, ps))
        .min()
}

/// The earliest timer of one product. It depends on the product's state,
/// the global `away` list, the rules and the team, and on nothing else
/// (the ledger keeps it per product and recomputes it when one changes).
pub fn product_due(
    state: &State,
    rules: &RuleSet,
    team: &Team,
    product: &str,
    ps: &ProductState,
) -> Option<DateTime<Utc>> {
    let mut due: Vec<DateTime<Utc>> = Vec::new();
    {
        let policy = rules.policy(team.rules_product(rules, product));
        // A daily cut that only cuts new changes sleeps while there are
        // none: an idle product costs nothing each day. Its clock is
        // brought forward when changes arrive ([`wake_daily`]).
        if let (Some(daily), Some(last)) = (&policy.daily, ps.last_daily)
            && !(daily.only_with_changes && ps.pool.is_empty())
            && let Some((_, t)) = next_daily(policy, daily, last)
        {
            due.push(t);
        }
        let releasing = ps
            .current
            .as_ref()
            .is_some_and(|rc| rc.state == RcState::Releasing);
        // An urgent request waits for a release in progress to end.
        if let Some(u) = &ps.urgent
            && u.objection.is_none()
            && !releasing
        {
            due.push(u.deadline);
        }
        // A waiting cut is due when its gate's window opens.
        if let Some(w) = &ps.waiting_cut
            && ps.current.is_none()
        {
            match policy
                .cut_gate
                .as_deref()
                .map(|name| rules.window(team.rules_product(rules, product), name))
            {
                None => due.push(w.since),
                Some(Some(window)) => due.extend(gate::opens_at(window, w.since)),
                Some(None) => {}
            }
        }
        if let Some(rc) = &ps.current {
            for c in &rc.changes {
                due.extend(reminder_due(state, team, policy, rc, c));
                due.extend(escalation_due(team, policy, rc, c));
            }
        }
        due.extend(ps.exceptions.iter().filter_map(|e| e.expires_at));
    }
    due.extend(super::deploy::due(rules, team, product, ps));
    due.into_iter().min()
}

/// Fires every timer due at `step.now()`.
pub fn fire(step: &mut Step<'_>) {
    // Only products with a timer due now (or a cut waiting for its gate)
    // have anything to fire: the others are not visited, so a tick costs
    // what its due products cost, not what every product costs.
    let now = step.now();
    let ctx = step.ctx;
    let state: &State = step.state;
    let products: Vec<String> = state
        .products
        .iter()
        .filter(|(product, ps)| {
            ps.waiting_cut.is_some()
                || product_due(state, ctx.rules, ctx.team, product, ps).is_some_and(|t| t <= now)
        })
        .map(|(product, _)| product.clone())
        .collect();
    for product in products {
        urgent(step, &product);
        fire_waiting_cut(step, &product);
        daily(step, &product);
        reminders(step, &product);
        expiries(step, &product);
    }
}

fn urgent(step: &mut Step<'_>, product: &str) {
    let now = step.now();
    let due = step
        .state
        .products
        .get(product)
        .filter(|p| {
            !p.current
                .as_ref()
                .is_some_and(|rc| rc.state == RcState::Releasing)
        })
        .and_then(|p| p.urgent.as_ref())
        .is_some_and(|u| u.objection.is_none() && u.deadline <= now);
    if due {
        supersede(step, product);
    }
}

fn daily(step: &mut Step<'_>, product: &str) {
    let now = step.now();
    let ctx: Context<'_> = step.ctx;
    let policy = ctx.policy(product);
    let Some(daily) = policy.daily.clone() else {
        return;
    };
    let Some(ps) = step.state.products.get(product) else {
        return;
    };
    let Some(last) = ps.last_daily else {
        return;
    };
    match next_daily(&policy, &daily, last) {
        Some((_, t)) if t <= now => {}
        _ => return,
    }
    // Catch up to the latest slot: a missed daily cut happens once, late.
    let slot = last_daily_slot(&policy, now).unwrap_or(last);
    let in_flight = ps.current.as_ref().map(|rc| rc.id);
    let waiting = ps.waiting_cut.is_some();
    let empty = ps.pool.is_empty();
    if let Some(ps) = step.state.products.get_mut(product) {
        ps.last_daily = Some(slot);
    }
    if let Some(id) = in_flight {
        step.audit(
            None,
            "daily-skipped",
            format!("RC #{id} is in flight"),
            None,
        );
        return;
    }
    if waiting {
        step.audit(
            None,
            "daily-skipped",
            "a cut is already waiting for the cut gate".to_owned(),
            None,
        );
        return;
    }
    if empty && daily.only_with_changes {
        step.audit(
            None,
            "daily-skipped",
            "no new merged changes".to_owned(),
            None,
        );
        return;
    }
    let ask = super::state::WaitingCut {
        trigger: super::state::Trigger::Daily,
        urgent: false,
        by: None,
        reason: None,
        why: None,
        since: now,
    };
    let _: Cut = cut_through_gate(step, product, ask);
}

/// Who may manage a daily RC: the team members with changes in it, else
/// the team's leads, else anyone in the team; and which rule applied.
fn daily_candidates(team: &Team, authors: &[String]) -> (Vec<String>, Option<&'static str>) {
    let members: Vec<String> = authors
        .iter()
        .filter(|a| team.people.contains_key(*a))
        .cloned()
        .collect();
    if !members.is_empty() {
        return (members, None);
    }
    let leads: Vec<String> = team
        .people
        .iter()
        .filter(|(_, m)| m.roles.iter().any(|r| r == "lead"))
        .map(|(n, _)| n.clone())
        .collect();
    if !leads.is_empty() {
        return (
            leads,
            Some("nobody in the team config has a change in it, so a lead"),
        );
    }
    (
        team.people.keys().cloned().collect(),
        Some(
            "nobody in the team config has a change in it and there are no leads, so anyone in the team",
        ),
    )
}

/// Picks a daily manager (always a person in the team config) and cuts.
pub(super) fn daily_cut(step: &mut Step<'_>, product: &str) -> bool {
    let now = step.now();
    let ctx: Context<'_> = step.ctx;
    let policy = ctx.policy(product);
    let Some(ps) = step.state.products.get(product) else {
        return false;
    };
    let authors: Vec<String> = {
        let mut v: Vec<String> = ps.pool.iter().map(|c| c.author.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let last_manager = ps.last_daily_manager.clone();
    let (candidates, rule) = daily_candidates(ctx.team, &authors);
    let Some(choice) = pick_daily_manager(
        &candidates,
        step.state,
        last_manager.as_deref(),
        ctx.team,
        &policy,
        now,
        ctx.seed,
    ) else {
        return false;
    };
    let why = match rule {
        None => choice.why.clone(),
        Some(r) => format!("{r}; {}", choice.why),
    };
    let done = cut(
        step,
        product,
        super::state::Trigger::Daily,
        false,
        &choice.person,
        None,
        &why,
    );
    if done && let Some(ps) = step.state.products.get_mut(product) {
        ps.last_daily_manager = Some(choice.person.clone());
    }
    done
}

fn reminders(step: &mut Step<'_>, product: &str) {
    let now = step.now();
    let ctx = step.ctx;
    let policy = ctx.policy(product);
    // Read first: a product with nothing due is not written (copied).
    let state: &State = step.state;
    let Some(rc) = state.products.get(product).and_then(|p| p.current.as_ref()) else {
        return;
    };
    let marks: Vec<(bool, bool)> = rc
        .changes
        .iter()
        .map(|c| {
            (
                reminder_due(state, ctx.team, &policy, rc, c).is_some_and(|t| t <= now),
                escalation_due(ctx.team, &policy, rc, c).is_some_and(|t| t <= now),
            )
        })
        .collect();
    if !marks.iter().any(|(remind, escalate)| *remind || *escalate) {
        return;
    }
    let Some(rc) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
    else {
        return;
    };
    let rc_view = rc.clone();
    let mut due_by_person: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut escalate = Vec::new();
    for (c, (remind, escalated)) in rc.changes.iter_mut().zip(marks) {
        if remind {
            c.reminders += 1;
            c.last_reminded = Some(now);
            due_by_person
                .entry(c.verifier.clone())
                .or_default()
                .push(c.change.id.clone());
        }
        if escalated {
            c.escalated = true;
            escalate.push(format!("{} (@{})", c.change.id, c.verifier));
        }
    }
    let prefix = ctx.team.prefix.clone();
    for (person, changes) in due_by_person {
        step.effects.push(Effect::Remind(Reminder {
            product: product.to_owned(),
            to: person.clone(),
            rc: rc_view.id,
            changes: changes.clone(),
        }));
        step.post(
            product,
            format!(
                "{}: reminder: please verify {} in RC #{} (`{prefix}verify all`), or hand {} over with `{prefix}handoff CHANGE to PERSON`.",
                at(&person),
                and_list(&changes),
                rc_view.id,
                if changes.len() == 1 { "it" } else { "one" }
            ),
            vec![person],
        );
    }
    if !escalate.is_empty() {
        step.post(
            product,
            format!(
                "{}: RC #{} still has unverified changes after {} hours: {}.",
                at(&rc_view.manager),
                rc_view.id,
                policy.remind.escalate_after.num_hours(),
                escalate.join(", ")
            ),
            vec![rc_view.manager.clone()],
        );
    }
}

fn expiries(step: &mut Step<'_>, product: &str) {
    let now = step.now();
    // Read first: a product with nothing expired is not written (copied).
    let expired = step.state.products.get(product).is_some_and(|ps| {
        ps.exceptions
            .iter()
            .any(|e| e.expires_at.is_some_and(|t| t <= now))
    });
    if !expired {
        return;
    }
    let Some(ps) = step.state.products.get_mut(product) else {
        return;
    };
    let (expired, kept): (Vec<_>, Vec<_>) = ps
        .exceptions
        .drain(..)
        .partition(|e| e.expires_at.is_some_and(|t| t <= now));
    ps.exceptions = kept;
    for e in expired {
        step.post(
            product,
            format!(
                "Exception E{} `{}` for {} has expired.",
                e.id,
                e.exception,
                at(&e.by)
            ),
            vec![e.by.clone()],
        );
    }
}

#[cfg(test)]
#[path = "timers_tests.rs"]
mod tests;
