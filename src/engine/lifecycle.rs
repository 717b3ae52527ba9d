//! Cutting RCs and ending them: merged changes, manual and urgent
//! requests, the queue, supersession, not-viable, CI reports.

use super::Step;
use super::event::{ActionKind, ActionRun, Effect, RcUpdate};
use super::state::{
    Change, CiStatus, ClosedRc, HISTORY, Rc, RcChange, RcState, Request, Trigger, UrgentRequest,
};
use super::text::{and_list, at, change_lines, count, local, trigger};

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
    let ps = step.state.products.entry(product.to_owned()).or_default();
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
    step.effects.push(Effect::Rc(RcUpdate {
        product: product.to_owned(),
        id: rc.id,
        state: rc.state,
        trigger: rc.trigger,
        urgent: rc.urgent,
        manager: rc.manager.clone(),
        changes: rc.change_ids(),
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
            verifier: c.verifier.take().unwrap_or_else(|| c.author.clone()),
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
        change_lines(&rc, false),
        p = step.ctx.team.prefix,
    );
    text.push_str(&away_authors(step, product, &rc));
    step.post(product, text, mentions);
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
    let now = step.now();
    let ps = step.state.products.get_mut(product)?;
    let mut rc = ps.current.take()?;
    rc.state = end;
    match end {
        RcState::NotViable | RcState::Superseded => {
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
    });
    if ps.history.len() > HISTORY {
        let extra = ps.history.len() - HISTORY;
        ps.history.drain(..extra);
    }
    rc_update(step, product, &rc);
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
    if !cut(
        step,
        product,
        Trigger::Manual,
        is_urgent,
        &by,
        Some(&reason),
        &why,
    ) {
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
    } else if !waiting.is_empty() {
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
        cut(
            step,
            product,
            Trigger::Manual,
            urgent,
            by,
            Some(reason),
            "requested it",
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

/// The RC reached production.
pub fn released(step: &mut Step<'_>, product: &str, by: Option<&str>) {
    let Some(rc) = close(step, product, RcState::Released) else {
        return;
    };
    let mut mentions = rc.authors();
    if !mentions.contains(&rc.manager) {
        mentions.insert(0, rc.manager.clone());
    }
    step.post(
        product,
        format!(
            "RC #{} is released to production. Thank you, {}.",
            rc.id,
            and_list(&mentions.iter().map(|m| at(m)).collect::<Vec<_>>())
        ),
        mentions,
    );
    step.audit(by, "released", format!("RC #{}", rc.id), None);
    after_close(step, product);
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
                    change_lines(&rc, true)
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
}
