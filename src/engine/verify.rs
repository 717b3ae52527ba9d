//! Verification: `verify`, `handoff`, `away`, `back`, and the RC becoming
//! ready when every change is verified.

use chrono::NaiveDate;

use super::Step;
use super::lifecycle::rc_update;
use super::state::RcState;
use super::text::{and_list, at, count, exception_id, from_now, local};
use crate::command::ChangeSelection;

pub fn verify(
    step: &mut Step<'_>,
    product: &str,
    by: &str,
    which: &ChangeSelection,
    reply_to: Option<&str>,
) {
    let now = step.now();
    let Some(rc) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
    else {
        step.tell(
            product,
            reply_to,
            by,
            "there is no RC in flight to verify.".to_owned(),
        );
        return;
    };
    let mut done = Vec::new();
    let mut problems = Vec::new();
    match which {
        ChangeSelection::All => {
            for c in rc
                .changes
                .iter_mut()
                .filter(|c| c.verifier == by && c.verified_at.is_none())
            {
                c.verified_at = Some(now);
                done.push(c.change.id.clone());
            }
            if done.is_empty() {
                problems.push(format!("you have nothing left to verify in RC #{}", rc.id));
            }
        }
        ChangeSelection::Some(ids) => {
            for id in ids {
                match rc
                    .changes
                    .iter_mut()
                    .find(|c| same_change(&c.change.id, id))
                {
                    None => problems.push(format!("{id} is not in RC #{}", rc.id)),
                    Some(c) if c.verifier != by => problems.push(format!(
                        "{} is {}'s to verify (ask them, or they can `handoff {} to {by}`)",
                        c.change.id, c.verifier, c.change.id
                    )),
                    Some(c) if c.verified_at.is_some() => {
                        problems.push(format!("{} is already verified", c.change.id))
                    }
                    Some(c) => {
                        c.verified_at = Some(now);
                        done.push(c.change.id.clone());
                    }
                }
            }
        }
    }
    let rc_id = rc.id;
    let remaining = rc.pending().count();
    let mut text = String::new();
    if !done.is_empty() {
        text.push_str(&format!(
            "{}: verified {} in RC #{rc_id}; {} left to verify.",
            at(by),
            done.join(", "),
            count(remaining, "change", "changes")
        ));
    }
    if !problems.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        } else {
            text.push_str(&format!("{}: ", at(by)));
        }
        text.push_str(&format!("Not done: {}.", problems.join("; ")));
    }
    step.reply(product, reply_to, text, vec![by.to_owned()]);
    if !done.is_empty() {
        step.audit(Some(by), "verify", done.join(" "), None);
    }
    if remaining == 0 && !done.is_empty() {
        ready(step, product);
    }
}

/// Change ids match as written, ignoring a leading `#`.
pub fn same_change(a: &str, b: &str) -> bool {
    a.trim_start_matches('#')
        .eq_ignore_ascii_case(b.trim_start_matches('#'))
}

/// Every change is verified: tell the manager, and when production opens.
fn ready(step: &mut Step<'_>, product: &str) {
    let Some(rc) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
    else {
        return;
    };
    if rc.state != RcState::Open {
        return;
    }
    rc.state = RcState::Ready;
    let rc = rc.clone();
    rc_update(step, product, &rc);
    let now = step.now();
    let rules_product = step.ctx.team.rules_product(step.ctx.rules, product);
    let prefix = &step.ctx.team.prefix;
    let granted = step.state.products.get(product).and_then(|p| {
        p.exceptions
            .iter()
            .find(|e| e.rc == rc.id && e.active(now))
            .cloned()
    });
    let gate = step.ctx.policy(product).release_gate;
    let window = gate
        .as_deref()
        .and_then(|g| step.ctx.rules.window(rules_product, g));
    let window_text = match window {
        None => {
            format!("The release gate is off, so you can release any time with `{prefix}release`.")
        }
        Some(w) => {
            let next = w.next_change(now, crate::rules::HORIZON_DAYS);
            match (w.is_open(now), next, &granted) {
                (true, Some(t), _) => format!(
                    "Production is open now, until {} ({}): `{prefix}release`.",
                    local(w.tz, t),
                    from_now(now, t)
                ),
                (true, None, _) => format!("Production is open now: `{prefix}release`."),
                // A granted exception for this RC holds production open.
                (false, _, Some(e)) => format!(
                    "Production is closed, but exception {} `{}` allows the release until {} ({}): `{prefix}release`.",
                    exception_id(e.id),
                    e.exception,
                    e.expires_at.map(|t| local(w.tz, t)).unwrap_or_default(),
                    e.expires_at.map(|t| from_now(now, t)).unwrap_or_default()
                ),
                (false, Some(t), None) => format!(
                    "Production is closed; it opens {} ({}).",
                    local(w.tz, t),
                    from_now(now, t)
                ),
                (false, None, None) => {
                    "Production is closed and does not open within a year; an exception is needed."
                        .to_owned()
                }
            }
        }
    };
    let text = format!(
        "{}: every change in RC #{} is verified; it is ready to release. {window_text}",
        at(&rc.manager),
        rc.id
    );
    step.post(product, text, vec![rc.manager.clone()]);
    step.card(super::Card::Ready {
        rc: rc.id,
        manager: rc.manager.clone(),
    });
}

pub fn handoff(
    step: &mut Step<'_>,
    product: &str,
    by: &str,
    change: &str,
    to: &str,
    reply_to: Option<&str>,
) {
    // Names are typed in any case; the team's spelling is stored.
    let team = step.ctx.team;
    // A Matrix id, pill or Discord mention names the person through the
    // config's chat ids.
    let to = match team.resolve_person(to) {
        Ok(to) => to,
        Err(why) => {
            step.tell(product, reply_to, by, why);
            return;
        }
    };
    let Some(rc) = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.clone())
    else {
        step.tell(
            product,
            reply_to,
            by,
            "there is no RC in flight.".to_owned(),
        );
        return;
    };
    let Some(view) = rc
        .changes
        .iter()
        .find(|c| same_change(&c.change.id, change))
    else {
        step.tell(
            product,
            reply_to,
            by,
            format!("{change} is not in RC #{}.", rc.id),
        );
        return;
    };
    if view.verifier != by && rc.manager != by {
        let v = view.verifier.clone();
        step.tell(
            product,
            reply_to,
            by,
            format!(
                "{} is {v}'s to verify; only {v} or the manager ({}) can hand it over.",
                view.change.id, rc.manager
            ),
        );
        return;
    }
    if view.verified_at.is_some() {
        step.tell(
            product,
            reply_to,
            by,
            format!("{} is already verified.", view.change.id),
        );
        return;
    }
    let rc_id = rc.id;
    let Some(c) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
        .and_then(|rc| {
            rc.changes
                .iter_mut()
                .find(|c| same_change(&c.change.id, change))
        })
    else {
        return;
    };
    c.verifier = to.to_owned();
    c.reminders = 0;
    c.last_reminded = None;
    c.escalated = false;
    let text = format!(
        "{}: {} handed you {} to verify in RC #{rc_id}. `{}verify {}` when it works.",
        at(to),
        at(by),
        handed_label(&c.change.id, &c.change.title),
        step.ctx.team.prefix,
        c.change.id
    );
    let id = c.change.id.clone();
    step.reply(product, reply_to, text, vec![to.to_owned(), by.to_owned()]);
    step.audit(Some(by), "handoff", format!("{id} to {to}"), None);
}

pub fn away(
    step: &mut Step<'_>,
    product: &str,
    by: &str,
    until: NaiveDate,
    reply_to: Option<&str>,
) {
    step.state.away.insert(by.to_owned(), until);
    step.tell(
        product,
        reply_to,
        by,
        format!("noted, you are away until {until} (inclusive)."),
    );
    step.audit(Some(by), "away", until.to_string(), None);
    // Flag their pending verifications to each manager.
    let products: Vec<String> = step.state.products.keys().cloned().collect();
    for p in products {
        let Some(rc) = step
            .state
            .products
            .get(&p)
            .and_then(|ps| ps.current.clone())
        else {
            continue;
        };
        let pending: Vec<String> = rc
            .pending()
            .filter(|c| c.verifier == by)
            .map(|c| c.change.id.clone())
            .collect();
        if pending.is_empty() {
            continue;
        }
        step.post(
            &p,
            format!(
                "{}: {} is away until {until} and has not verified {} in RC #{}. Hand them to someone with `{}handoff CHANGE to PERSON`.",
                at(&rc.manager),
                at(by),
                and_list(&pending),
                rc.id,
                step.ctx.team.prefix
            ),
            vec![rc.manager.clone()],
        );
    }
}

pub fn back(step: &mut Step<'_>, product: &str, by: &str, reply_to: Option<&str>) {
    let was = step.state.away.remove(by).is_some();
    let text = if was {
        format!("{}: welcome back.", at(by))
    } else {
        format!("{}: you were not marked away.", at(by))
    };
    step.reply(product, reply_to, text, vec![by.to_owned()]);
    if was {
        step.audit(Some(by), "back", String::new(), None);
    }
}

/// `#12 (Fix login)`, or `#12` when the change has no title.
fn handed_label(id: &str, title: &str) -> String {
    let title = title.trim();
    if title.is_empty() {
        id.to_owned()
    } else {
        format!("{id} ({title})")
    }
}
