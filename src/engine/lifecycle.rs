//! Cutting RCs and ending them: merged changes, manual and urgent
//! requests, the queue, supersession, not-viable, CI reports.

use super::Step;
use super::event::{ActionKind, ActionRun, Effect, RcUpdate};
use super::gate::{self, GateKind, Pass};
use super::state::{
    Breach, Change, CiStatus, ClosedRc, ExceptionRequest, HISTORY, Rc, RcChange, RcState, Request,
    Trigger, UrgentRequest, WaitingCut,
};
use super::text::{and_list, at, change_lines, count, from_now, local, trigger};

pub fn merged(step: &mut Step<'_>, product: &str, change: &str, author: &str, title: &str) {
    if !step.ctx.team.products.contains_key(product) {
        step.audit(
            None,
            "ignored",
            format!("change {change} merged to unknown product {product}"),
            None,
        );
        return;
    }
    let now = step.now();
    let ctx = step.ctx;
    let policy = ctx.rules.policy(ctx.team.rules_product(ctx.rules, product));
    let ps = step.state.products.get_or_default(product);
    let known = ps.pool.iter().any(|c| c.id == change)
        || ps
            .current
            .as_ref()
            .is_some_and(|rc| rc.changes.iter().any(|c| c.change.id == change));
    if known {
        step.audit(
            Some(author),
            "ignored",
            format!("change {change} is already known"),
            None,
        );
        return;
    }
    super::timers::wake_daily(policy, ps, now);
    ps.pool.push(Change {
        id: change.to_owned(),
        author: author.to_owned(),
        title: title.to_owned(),
        merged_at: now,
        verifier: None,
    });
    step.audit(Some(author), "merged", format!("{change} {title}"), None);
}

/// Emits the RC's state for observers.
pub fn rc_update(step: &mut Step<'_>, product: &str, rc: &Rc) {
    let breaches = (rc.state == RcState::Released).then(Vec::new);
    rc_update_with(step, product, rc, breaches);
}

fn rc_update_with(step: &mut Step<'_>, product: &str, rc: &Rc, breaches: Option<Vec<Breach>>) {
    step.effects.push(Effect::Rc(RcUpdate {
        product: product.to_owned(),
        id: rc.id,
        state: rc.state,
        trigger: rc.trigger,
        urgent: rc.urgent,
        manager: rc.manager.clone(),
        changes: rc.change_ids(),
        breaches,
    }));
}

/// Cuts an RC from the whole pool. Returns false (and does nothing) when
/// the pool is empty.
pub fn cut(
    step: &mut Step<'_>,
    product: &str,
    trigger_: Trigger,
    urgent: bool,
    manager: &str,
    reason: Option<&str>,
    why_manager: &str,
) -> bool {
    let now = step.now();
    let team = step.ctx.team;
    let id = step.state.next_rc.max(1);
    let Some(ps) = step.state.products.get_mut(product) else {
        return false;
    };
    if ps.pool.is_empty() {
        return false;
    }
    step.state.next_rc = id + 1;
    let changes: Vec<RcChange> = ps
        .pool
        .drain(..)
        .map(|mut c| RcChange {
            // Changes by identities nobody in the team config claims are
            // the manager's to verify (or hand off).
            verifier: c
                .verifier
                .take()
                .filter(|v| team.people.contains_key(v))
                .unwrap_or_else(|| {
                    if team.people.contains_key(&c.author) {
                        c.author.clone()
                    } else {
                        manager.to_owned()
                    }
                }),
            change: c,
            verified_at: None,
            reminders: 0,
            last_reminded: None,
            escalated: false,
        })
        .collect();
    let rc = Rc {
        id,
        trigger: trigger_,
        urgent,
        manager: manager.to_owned(),
        reason: reason.map(str::to_owned),
        cut_at: now,
        state: RcState::Open,
        ci: None,
        changes,
    };
    ps.current = Some(rc.clone());
    rc_update(step, product, &rc);
    step.action(ActionRun {
        id: format!("cut-{}", id),
        product: product.to_owned(),
        kind: ActionKind::Cut,
        rc: id,
        changes: rc.change_ids(),
        manager: manager.to_owned(),
    });
    let authors = rc.verifiers();
    let mut mentions = vec![manager.to_owned()];
    mentions.extend(authors.iter().filter(|a| *a != manager).cloned());
    let reason_text = reason.map(|r| format!(": {r}")).unwrap_or_default();
    let mut text = format!(
        "RC #{id} for {product} is cut ({}{reason_text}). Release manager: {} ({why_manager}).\n\
         Changes to verify, by {}:\n{}\n\
         Verify yours with `{p}verify all` (or `{p}verify CHANGE`), or hand one over with `{p}handoff CHANGE to PERSON`.",
        trigger(&rc),
        at(manager),
        and_list(&authors.iter().map(|a| at(a)).collect::<Vec<_>>()),
        change_lines(&rc, false, step.ctx.team),
        p = step.ctx.team.prefix,
    );
    text.push_str(&away_authors(step, product, &rc));
    step.post(product, text, mentions);
    step.card(super::Card::Announce {
        rc: id,
        changes: rc
            .changes
            .iter()
            .map(|c| super::CardChange {
                id: c.change.id.clone(),
                title: c.change.title.clone(),
                verifier: c.verifier.clone(),
            })
            .collect(),
    });
    step.audit(
        Some(manager),
        "cut",
        format!(
            "RC #{id} ({}) with {}; manager {manager}: {why_manager}",
            trigger(&rc),
            count(rc.changes.len(), "change", "changes")
        ),
        Some(step.ctx.seed),
    );
    true
}

/// For a new RC: a line per author who is away today, asking the manager
/// to hand their changes to someone (saying `away` later does the same).
fn away_authors(step: &Step<'_>, product: &str, rc: &Rc) -> String {
    let today = step
        .now()
        .with_timezone(&step.ctx.policy(product).timezone)
        .date_naive();
    let mut out = String::new();
    for author in rc.verifiers() {
        let Some(until) = step
            .state
            .away
            .get(&author)
            .filter(|_| step.state.is_away(&author, today))
        else {
            continue;
        };
        let theirs: Vec<String> = rc
            .changes
            .iter()
            .filter(|c| c.verifier == author)
            .map(|c| c.change.id.clone())
            .collect();
        out.push_str(&format!(
            "\n{}: {} is away until {until} and cannot verify {}. Hand them to someone with `{}handoff CHANGE to PERSON`.",
            at(&rc.manager),
            at(&author),
            and_list(&theirs),
            step.ctx.team.prefix
        ));
    }
    out
}

/// Ends the RC in flight with `end` (released, not viable, superseded).
/// Unreleased changes go back to the pool, ahead of newer ones.
pub fn close(step: &mut Step<'_>, product: &str, end: RcState) -> Option<Rc> {
    close_with(step, product, end, Vec::new())
}

fn close_with(
    step: &mut Step<'_>,
    product: &str,
    end: RcState,
    breaches: Vec<Breach>,
) -> Option<Rc> {
    let now = step.now();
    let ctx = step.ctx;
    let policy = ctx.rules.policy(ctx.team.rules_product(ctx.rules, product));
    let ps = step.state.products.get_mut(product)?;
    let mut rc = ps.current.take()?;
    rc.state = end;
    match end {
        RcState::NotViable | RcState::Superseded => {
            if !rc.changes.is_empty() {
                super::timers::wake_daily(policy, ps, now);
            }
            let mut back: Vec<Change> = rc
                .changes
                .iter()
                .map(|c| Change {
                    verifier: (c.verifier != c.change.author).then(|| c.verifier.clone()),
                    ..c.change.clone()
                })
                .collect();
            back.append(&mut ps.pool);
            ps.pool = back;
        }
        RcState::Released | RcState::Open | RcState::Ready | RcState::Releasing => {}
    }
    ps.exceptions.retain(|e| e.rc != rc.id);
    // A closed RC's CI actions are over: never re-run them, and keep the
    // state from growing with every RC when no executor reports back
    // (`simulate`).
    step.state.pending_actions.retain(|a| a.rc != rc.id);
    let ps = step.state.products.get_mut(product)?;
    ps.history.push(ClosedRc {
        id: rc.id,
        state: end,
        manager: rc.manager.clone(),
        closed_at: now,
        changes: rc.changes.len(),
        breaches: breaches.clone(),
    });
    if ps.history.len() > HISTORY {
        let extra = ps.history.len() - HISTORY;
        ps.history.drain(..extra);
    }
    let breaches = (end == RcState::Released).then_some(breaches);
    rc_update_with(step, product, &rc, breaches);
    Some(rc)
}

/// After an RC ends: an urgent request waiting goes first, then the queue.
pub fn after_close(step: &mut Step<'_>, product: &str) {
    let Some(ps) = step.state.products.get_mut(product) else {
        return;
    };
    let queued: Vec<Request> = ps.queue.drain(..).collect();
    let urgent = ps.urgent.take();
    let (by, reason, is_urgent) = match (&urgent, queued.first()) {
        (Some(u), _) => (u.by.clone(), u.reason.clone(), true),
        (None, Some(q)) => (q.by.clone(), q.reason.clone(), false),
        (None, None) => return,
    };
    let waiting: Vec<String> = queued
        .iter()
        .map(|q| q.by.clone())
        .filter(|b| *b != by)
        .collect();
    let why = if is_urgent {
        "requested it urgently".to_owned()
    } else {
        "requested it while the last RC was in flight".to_owned()
    };
    let ask = manual_ask(&by, is_urgent, &reason, &why, step.now());
    match cut_through_gate(step, product, ask) {
        Cut::Empty => {
            let mut mentions = vec![by.clone()];
            mentions.extend(waiting);
            step.post(
                product,
                format!(
                    "{}: the RC you asked for was not cut: there are no merged changes since the last one.",
                    and_list(&mentions.iter().map(|m| at(m)).collect::<Vec<_>>())
                ),
                mentions,
            );
        }
        Cut::Done | Cut::Waiting if !waiting.is_empty() => {
            let names: Vec<String> = waiting.iter().map(|w| at(w)).collect();
            step.post(
                product,
                format!(
                    "{}: your queued request is covered by this RC.",
                    and_list(&names)
                ),
                waiting,
            );
        }
        Cut::Done | Cut::Waiting => {}
    }
}

/// What a cut through the cut gate did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Done,
    /// The cut gate is closed: the cut waits for it.
    Waiting,
    /// Nothing to cut.
    Empty,
}

fn manual_ask(
    by: &str,
    urgent: bool,
    reason: &str,
    why: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> WaitingCut {
    WaitingCut {
        trigger: Trigger::Manual,
        urgent,
        by: Some(by.to_owned()),
        reason: Some(reason.to_owned()),
        why: Some(why.to_owned()),
        since: now,
    }
}

/// The audit row for a cut let through a closed gate by an exception.
fn audit_cut_exception(step: &mut Step<'_>, exception: &ExceptionRequest) {
    step.audit(
        Some(&exception.by),
        "cut-exception",
        format!(
            "exception E{} `{}` opens the cut gate",
            exception.id, exception.exception
        ),
        None,
    );
}

/// Cuts an RC when the cut gate lets it through; otherwise the cut waits
/// for the gate and the channel is told when it will be cut.
pub fn cut_through_gate(step: &mut Step<'_>, product: &str, ask: WaitingCut) -> Cut {
    let now = step.now();
    let Some(ps) = step.state.products.get(product) else {
        return Cut::Empty;
    };
    if ps.pool.is_empty() {
        return Cut::Empty;
    }
    let pass = gate::check(&step.ctx, step.state, product, GateKind::Cut, None, now);
    let (name, window) = match pass {
        Pass::Off | Pass::Open { .. } => {
            return if make_cut(step, product, &ask) {
                Cut::Done
            } else {
                Cut::Empty
            };
        }
        Pass::Exception { exception, .. } => {
            audit_cut_exception(step, &exception);
            return if make_cut(step, product, &ask) {
                Cut::Done
            } else {
                Cut::Empty
            };
        }
        Pass::Closed { name, window } => (name, window),
    };
    let when = match window
        .as_deref()
        .and_then(|w| gate::opens_at(w, now).map(|t| (w, t)))
    {
        Some((w, t)) => format!("when it opens, {} ({})", local(w.tz, t), from_now(now, t)),
        None => "when it opens (it does not open within a year)".to_owned(),
    };
    let what = match (ask.trigger, ask.urgent) {
        (Trigger::Daily, _) => format!("The daily RC for {product}"),
        (Trigger::Manual, false) => "The RC you asked for".to_owned(),
        (Trigger::Manual, true) => "The urgent RC you asked for".to_owned(),
    };
    let names = gate::exceptions_opening(&step.ctx, product, &name);
    let hint = if names.is_empty() {
        String::new()
    } else {
        format!(
            " An exception that opens `{name}` cuts it now: `{}release exception NAME REASON` ({}).",
            step.ctx.team.prefix,
            names.join(", ")
        )
    };
    let who = ask
        .by
        .as_deref()
        .map(|b| format!("{}: ", at(b)))
        .unwrap_or_default();
    let mentions = ask.by.iter().cloned().collect();
    let detail = format!("{} RC for {product} waits for `{name}`", trigger_word(&ask));
    if let Some(ps) = step.state.products.get_mut(product) {
        ps.waiting_cut = Some(WaitingCut { since: now, ..ask });
    }
    step.post(
        product,
        format!(
            "{who}{what} is not cut yet: the cut gate follows the `{name}` window, which is closed. It will be cut {when}.{hint}"
        ),
        mentions,
    );
    step.audit(None, "cut-waiting", detail, None);
    Cut::Waiting
}

fn trigger_word(ask: &WaitingCut) -> &'static str {
    match (ask.trigger, ask.urgent) {
        (Trigger::Daily, _) => "daily",
        (Trigger::Manual, false) => "manual",
        (Trigger::Manual, true) => "urgent",
    }
}

fn make_cut(step: &mut Step<'_>, product: &str, ask: &WaitingCut) -> bool {
    match (ask.trigger, &ask.by) {
        (Trigger::Manual, Some(by)) => cut(
            step,
            product,
            Trigger::Manual,
            ask.urgent,
            by,
            ask.reason.as_deref(),
            ask.why.as_deref().unwrap_or("requested it"),
        ),
        (Trigger::Manual, None) | (Trigger::Daily, _) => super::timers::daily_cut(step, product),
    }
}

/// A waiting cut, once its gate lets it through (a timer, or a granted
/// exception).
pub fn fire_waiting_cut(step: &mut Step<'_>, product: &str) {
    let now = step.now();
    let Some(ps) = step.state.products.get(product) else {
        return;
    };
    if ps.current.is_some() {
        return;
    }
    let Some(ask) = ps.waiting_cut.clone() else {
        return;
    };
    let pass = gate::check(&step.ctx, step.state, product, GateKind::Cut, None, now);
    if !pass.through() {
        if let Some(w) = step
            .state
            .products
            .get_mut(product)
            .and_then(|p| p.waiting_cut.as_mut())
        {
            w.since = now;
        }
        return;
    }
    if let Some(ps) = step.state.products.get_mut(product) {
        ps.waiting_cut = None;
    }
    if let Pass::Exception { exception, .. } = &pass {
        audit_cut_exception(step, exception);
    }
    if !make_cut(step, product, &ask)
        && let Some(by) = ask.by
    {
        step.post(
            product,
            format!(
                "{}: the RC you asked for was not cut: there are no merged changes since the last one.",
                at(&by)
            ),
            vec![by],
        );
    }
}

/// `rc request [urgent] REASON`
pub fn request(
    step: &mut Step<'_>,
    product: &str,
    by: &str,
    urgent: bool,
    reason: &str,
    reply_to: Option<&str>,
) {
    let now = step.now();
    let policy = step.ctx.policy(product);
    let prefix = step.ctx.team.prefix.clone();
    let Some(ps) = step.state.products.get(product).cloned() else {
        return;
    };
    let Some(current) = ps.current else {
        if ps.pool.is_empty() {
            step.tell(
                product,
                reply_to,
                by,
                "there are no merged changes since the last RC, so there is nothing to cut."
                    .to_owned(),
            );
            return;
        }
        if let Some(w) = &ps.waiting_cut {
            let gate = step.ctx.policy(product).cut_gate.unwrap_or_default();
            step.tell(
                product,
                reply_to,
                by,
                format!(
                    "an RC is already waiting for the `{gate}` window to open ({} RC); every merged change goes into it.",
                    trigger_word(w)
                ),
            );
            return;
        }
        cut_through_gate(
            step,
            product,
            manual_ask(by, urgent, reason, "requested it", now),
        );
        return;
    };
    if !urgent {
        if ps.queue.iter().any(|q| q.by == by) {
            step.tell(
                product,
                reply_to,
                by,
                "you are already queued for the next RC.".to_owned(),
            );
            return;
        }
        if let Some(p) = step.state.products.get_mut(product) {
            p.queue.push(Request {
                by: by.to_owned(),
                reason: reason.to_owned(),
                at: now,
            });
        }
        step.tell(product, reply_to, by, format!("RC #{} is in flight (manager {}, {}). Your request is queued; the next RC is cut when it ends. \
                 If this is urgent, use `{prefix}rc request urgent REASON`.",
                current.id,
                at(&current.manager),
                current.state.as_str()
            ));
        step.audit(Some(by), "queued", reason.to_owned(), None);
        return;
    }
    if let Some(u) = &ps.urgent {
        step.tell(
            product,
            reply_to,
            by,
            format!(
                "an urgent request by {} is already waiting to replace RC #{} ({}).",
                at(&u.by),
                current.id,
                u.reason
            ),
        );
        return;
    }
    if current.state == RcState::Releasing {
        if let Some(p) = step.state.products.get_mut(product) {
            p.urgent = Some(UrgentRequest {
                by: by.to_owned(),
                reason: reason.to_owned(),
                at: now,
                deadline: now,
                objection: None,
            });
        }
        step.post(
            product,
            format!(
                "{} asks for an urgent RC: {reason}.\nRC #{} is being released, so it is not replaced: the urgent RC is cut when that release ends (at once if it is released; if the release fails or the RC is not viable, the urgent RC goes ahead).",
                at(by),
                current.id,
            ),
            vec![by.to_owned(), current.manager.clone()],
        );
        step.audit(Some(by), "urgent-request", reason.to_owned(), None);
        return;
    }
    let deadline = now + policy.urgent_notice;
    if let Some(p) = step.state.products.get_mut(product) {
        p.urgent = Some(UrgentRequest {
            by: by.to_owned(),
            reason: reason.to_owned(),
            at: now,
            deadline,
            objection: None,
        });
    }
    let others: Vec<String> = current
        .authors()
        .into_iter()
        .filter(|a| *a != current.manager)
        .collect();
    let mut mentions = vec![current.manager.clone()];
    mentions.extend(others.iter().cloned());
    let others_text = if others.is_empty() {
        String::new()
    } else {
        format!(
            " and {}",
            and_list(&others.iter().map(|a| at(a)).collect::<Vec<_>>())
        )
    };
    step.post(
        product,
        format!(
            "{} asks for an urgent RC: {reason}.\n{} (manager of RC #{}){others_text}: RC #{} will be closed and replaced at {} \
             unless someone objects with `{prefix}rc object REASON`. Its changes go into the new RC.",
            at(by),
            at(&current.manager),
            current.id,
            current.id,
            local(policy.timezone, deadline),
        ),
        mentions,
    );
    step.audit(Some(by), "urgent-request", reason.to_owned(), None);
}

/// Replaces the RC in flight with the urgent request's RC.
pub fn supersede(step: &mut Step<'_>, product: &str) {
    let Some(urgent) = step
        .state
        .products
        .get(product)
        .and_then(|p| p.urgent.clone())
    else {
        return;
    };
    // An RC that is releasing may already be in production: it is never
    // superseded. The urgent RC waits for the release to end.
    if let Some(rc) = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.as_ref())
        .filter(|rc| rc.state == RcState::Releasing)
    {
        let (id, manager) = (rc.id, rc.manager.clone());
        step.post(
            product,
            format!(
                "RC #{id} is being released, so it is not replaced: {}'s urgent RC is cut when that release ends.",
                at(&urgent.by)
            ),
            vec![urgent.by.clone(), manager],
        );
        return;
    }
    if let Some(old) = close(step, product, RcState::Superseded) {
        let mut mentions = vec![old.manager.clone()];
        mentions.extend(old.authors());
        mentions.dedup();
        step.post(
            product,
            format!(
                "RC #{} is closed: superseded by an urgent RC for {} ({}). Its changes are carried into the new RC.",
                old.id,
                at(&urgent.by),
                urgent.reason
            ),
            mentions,
        );
    }
    after_close(step, product);
}

/// `rc not-viable REASON [next: STEPS]`
pub fn not_viable(step: &mut Step<'_>, product: &str, reason: &str, next: Option<&str>) {
    let Some(rc) = close(step, product, RcState::NotViable) else {
        return;
    };
    let next_text = next.map_or_else(
        || "Next step: the changes go back into the pool for the next RC.".to_owned(),
        |n| format!("Next steps: {n}"),
    );
    let mut mentions = rc.authors();
    if !mentions.contains(&rc.manager) {
        mentions.insert(0, rc.manager.clone());
    }
    step.post(
        product,
        format!("RC #{} is not viable: {reason}\n{next_text}", rc.id),
        mentions,
    );
    step.audit(Some(&rc.manager), "not-viable", reason.to_owned(), None);
    after_close(step, product);
}

/// How releasing `rc` now breaks the policy: it never went through the
/// release gate (`release`), the gate's window is closed with no exception
/// opening it, or changes are unverified. Also the words for the channel.
fn breaches(step: &Step<'_>, product: &str, rc: &Rc) -> (Vec<Breach>, Vec<String>) {
    let now = step.now();
    let mut kinds = Vec::new();
    let mut words = Vec::new();
    if rc.state != RcState::Releasing
        && let Pass::Closed { name, window } = gate::check(
            &step.ctx,
            step.state,
            product,
            GateKind::Release,
            Some(rc.id),
            now,
        )
    {
        kinds.push(Breach::WindowClosed);
        words.push(match window {
            Some(w) => format!(
                "while {name} was closed ({})",
                now.with_timezone(&w.tz).format("%A %H:%M")
            ),
            None => format!("while no `{name}` window was defined"),
        });
    }
    let unverified: Vec<String> = rc.pending().map(|c| c.change.id.clone()).collect();
    if !unverified.is_empty() {
        kinds.push(Breach::Unverified);
        words.push(format!("with {} unverified", and_list(&unverified)));
    }
    if rc.state != RcState::Releasing {
        kinds.push(Breach::NotApproved);
        words.push("without an approved `release`".to_owned());
    }
    (kinds, words)
}

/// The RC reached production. Reality wins: it is recorded even outside
/// the policy, with the breaches said plainly.
pub fn released(step: &mut Step<'_>, product: &str, by: Option<&str>) {
    let Some(current) = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.clone())
    else {
        return;
    };
    let (kinds, words) = breaches(step, product, &current);
    let Some(rc) = close_with(step, product, RcState::Released, kinds.clone()) else {
        return;
    };
    let mut mentions = rc.authors();
    if !mentions.contains(&rc.manager) {
        mentions.insert(0, rc.manager.clone());
    }
    mentions.retain(|m| step.ctx.team.people.contains_key(m));
    if kinds.is_empty() {
        step.post(
            product,
            format!(
                "RC #{} is released to production. Thank you, {}.",
                rc.id,
                and_list(&mentions.iter().map(|m| at(m)).collect::<Vec<_>>())
            ),
            mentions,
        );
    } else {
        let last = words.len().saturating_sub(1);
        let text = match words.split_at(last) {
            ([], [one]) => one.clone(),
            (init, [last]) => format!("{} and {last}", init.join(", ")),
            _ => String::new(),
        };
        step.post(
            product,
            format!(
                "RC #{} was released to production {text}. That is outside the release policy; it is recorded as a breach. {}: please check it.",
                rc.id,
                and_list(&mentions.iter().map(|m| at(m)).collect::<Vec<_>>())
            ),
            mentions,
        );
        step.audit(
            by,
            "policy-breach",
            format!(
                "RC #{} released with breaches: {}",
                rc.id,
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None,
        );
    }
    step.audit(by, "released", format!("RC #{}", rc.id), None);
    after_close(step, product);
}

/// A release failed. With an urgent request waiting for it, the RC is
/// not viable and the urgent RC goes ahead.
fn release_failed(step: &mut Step<'_>, product: &str) {
    let waiting = step.state.products.get(product).is_some_and(|p| {
        p.urgent.is_some()
            && p.current
                .as_ref()
                .is_some_and(|rc| rc.state == RcState::Releasing)
    });
    if waiting {
        not_viable(
            step,
            product,
            "its release failed.",
            Some("the urgent RC that was waiting for this release goes ahead."),
        );
    }
}

/// A CI report.
pub fn ci(step: &mut Step<'_>, product: &str, rc_id: u64, status: CiStatus) {
    let current = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.clone());
    let Some(rc) = current.filter(|rc| rc.id == rc_id) else {
        step.audit(
            None,
            "ignored",
            format!("CI {status:?} for RC #{rc_id}, which is not in flight in {product}"),
            None,
        );
        return;
    };
    if let Some(cur) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
    {
        cur.ci = Some(status);
    }
    let prefix = step.ctx.team.prefix.clone();
    match status {
        CiStatus::Built => step.post(product, format!("RC #{} is built.", rc.id), Vec::new()),
        CiStatus::Deployed => {
            let pending: Vec<String> = {
                let mut v: Vec<String> = rc.pending().map(|c| c.verifier.clone()).collect();
                v.sort();
                v.dedup();
                v
            };
            // Nothing left to verify: no empty "Still to verify:" list.
            let text = if pending.is_empty() {
                format!(
                    "RC #{} is deployed for verification; every change in it is already verified.",
                    rc.id
                )
            } else {
                format!(
                    "RC #{} is deployed for verification. Still to verify:\n{}\nUse `{prefix}verify all` when yours work.",
                    rc.id,
                    change_lines(&rc, true, step.ctx.team)
                )
            };
            step.post(product, text, pending);
        }
        CiStatus::Failed => step.post(
            product,
            format!(
                "{}: CI failed for RC #{}. Decide the next step: fix and re-run CI, or `{prefix}rc not-viable REASON next: STEPS`.",
                at(&rc.manager),
                rc.id
            ),
            vec![rc.manager.clone()],
        ),
        CiStatus::Released => released(step, product, None),
    }
    step.audit(None, "ci", format!("RC #{} {status:?}", rc.id), None);
    if status == CiStatus::Failed {
        release_failed(step, product);
    }
}

/// A CI action finished. A failure is announced and the RC marked.
pub fn action_done(step: &mut Step<'_>, product: &str, id: &str, ok: bool, detail: &str) {
    let Some(pos) = step.state.pending_actions.iter().position(|a| a.id == id) else {
        step.audit(
            None,
            "ignored",
            format!("result of unknown action {id}"),
            None,
        );
        return;
    };
    let run = step.state.pending_actions.remove(pos);
    let detail: String = detail.chars().take(500).collect();
    if ok {
        step.audit(None, "action-ok", format!("{id}: {detail}"), None);
        return;
    }
    step.audit(None, "action-failed", format!("{id}: {detail}"), None);
    let manager = run.manager.clone();
    if let Some(rc) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
        .filter(|rc| rc.id == run.rc)
    {
        rc.ci = Some(CiStatus::Failed);
    }
    let what = match run.kind {
        ActionKind::Cut => "building",
        ActionKind::Release => "releasing",
    };
    step.post(
        product,
        format!(
            "{}: the CI action for {what} RC #{} failed: {detail}. Re-run it in CI, or `{}rc not-viable REASON next: STEPS`.",
            at(&manager),
            run.rc,
            step.ctx.team.prefix
        ),
        vec![manager],
    );
    if run.kind == ActionKind::Release {
        release_failed(step, product);
    }
}
