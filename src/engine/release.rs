//! Releasing: the production window decides; exceptions open it for a
//! while once approved by enough other people.

use super::Step;
use super::event::{ActionKind, ActionRun, Effect, ReleaseDecision};
use super::gate::{self, GateKind, Pass};
use super::lifecycle::rc_update;
use super::state::{ExceptionRequest, RcState};
use super::text::{and_list, at, count, from_now, local};
use crate::rules::suggest::{closest, known_list};

fn decision(
    step: &mut Step<'_>,
    product: &str,
    rc: u64,
    allowed: bool,
    reason: String,
    exception: Option<String>,
) {
    step.effects.push(Effect::Release(ReleaseDecision {
        product: product.to_owned(),
        rc,
        allowed,
        reason,
        exception,
    }));
}

/// `release`: release the RC in flight if it is ready and production is
/// open (or an exception is granted).
pub fn release(step: &mut Step<'_>, product: &str, by: &str, reply_to: Option<&str>) {
    let now = step.now();
    let prefix = step.ctx.team.prefix.clone();
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
            "there is no RC in flight to release.".to_owned(),
        );
        return;
    };
    match rc.state {
        RcState::Open => {
            let pending: Vec<String> = rc
                .pending()
                .map(|c| format!("{} (@{})", c.change.id, c.verifier))
                .collect();
            let reason = format!(
                "RC #{} is not verified yet: {} still to verify: {}",
                rc.id,
                pending.len(),
                pending.join(", ")
            );
            decision(step, product, rc.id, false, reason.clone(), None);
            step.tell(product, reply_to, by, format!("not released. {reason}."));
            return;
        }
        RcState::Releasing => {
            step.tell(
                product,
                reply_to,
                by,
                format!("RC #{} is already being released.", rc.id),
            );
            return;
        }
        RcState::Ready => {}
        RcState::Released | RcState::NotViable | RcState::Superseded => return,
    }
    let pass = gate::check(
        &step.ctx,
        step.state,
        product,
        GateKind::Release,
        Some(rc.id),
        now,
    );
    let gate_name = step
        .ctx
        .policy(product)
        .release_gate
        .unwrap_or_else(|| "production".to_owned());
    let (allowed, reason, exception) = match &pass {
        Pass::Off => (
            true,
            "the release gate is off (`gate release off`)".to_owned(),
            None,
        ),
        Pass::Open { window: w } => {
            let d = w.decide(now);
            let rule = d
                .because
                .map(|c| format!("`{}` ({}:{})", c.origin.text, c.origin.file, c.origin.line));
            let until = w
                .next_change(now, crate::rules::HORIZON_DAYS)
                .map(|t| format!(" until {}", local(w.tz, t)))
                .unwrap_or_default();
            (
                true,
                format!("{gate_name} is open{until} by {}", rule.unwrap_or_default()),
                None,
            )
        }
        Pass::Exception {
            window: w,
            exception: g,
        } => (
            true,
            format!(
                "{}, but exception E{} `{}` is granted until {}",
                closed_why(&gate_name, w, now),
                g.id,
                g.exception,
                g.expires_at.map(|t| local(w.tz, t)).unwrap_or_default()
            ),
            Some(g.exception.clone()),
        ),
        Pass::Closed {
            window: Some(w), ..
        } => {
            let opens = match w.next_change(now, crate::rules::HORIZON_DAYS) {
                Some(t) => format!("; it opens {} ({})", local(w.tz, t), from_now(now, t)),
                None => "; it does not open within a year".to_owned(),
            };
            (
                false,
                format!("{}{opens}", closed_why(&gate_name, w, now)),
                None,
            )
        }
        Pass::Closed { name, window: None } => (
            false,
            format!("the release gate follows `{name}`, which is not defined in the rules"),
            None,
        ),
    };
    decision(
        step,
        product,
        rc.id,
        allowed,
        reason.clone(),
        exception.clone(),
    );
    step.audit(
        Some(by),
        if allowed {
            "release"
        } else {
            "release-refused"
        },
        reason.clone(),
        None,
    );
    if !allowed {
        let names = gate::exceptions_opening(&step.ctx, product, &gate_name);
        let hint = if names.is_empty() {
            String::new()
        } else {
            format!(
                " To release anyway, ask for an exception: `{prefix}release exception NAME REASON` ({}).",
                names.join(", ")
            )
        };
        step.tell(
            product,
            reply_to,
            by,
            format!("not released: {reason}.{hint}"),
        );
        return;
    }
    if let Some(cur) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.current.as_mut())
    {
        cur.state = RcState::Releasing;
    }
    let mut rc = rc;
    rc.state = RcState::Releasing;
    rc_update(step, product, &rc);
    if let Some(u) = step
        .state
        .products
        .get(product)
        .and_then(|p| p.urgent.clone())
    {
        step.post(
            product,
            format!(
                "{}: RC #{} is being released, so your urgent RC waits until that release ends.",
                at(&u.by),
                rc.id
            ),
            vec![u.by.clone()],
        );
    }
    step.action(ActionRun {
        id: format!("release-{}", rc.id),
        product: product.to_owned(),
        kind: ActionKind::Release,
        rc: rc.id,
        changes: rc.change_ids(),
        manager: rc.manager.clone(),
    });
    step.post(
        product,
        format!(
            "{} is releasing RC #{} to production: {reason}.",
            at(by),
            rc.id
        ),
        vec![by.to_owned(), rc.manager.clone()],
    );
}

/// Why the release gate's window `w` is closed at `now`.
fn closed_why(name: &str, w: &crate::rules::Window, now: chrono::DateTime<chrono::Utc>) -> String {
    let d = w.decide(now);
    match d.because {
        Some(c) => format!(
            "{name} is closed by `{}` ({}:{})",
            c.origin.text, c.origin.file, c.origin.line
        ),
        None => format!(
            "{name} is closed: no `open` rule covers {} ({})",
            d.local.format("%A %H:%M"),
            w.tz.name()
        ),
    }
}

/// `release exception NAME REASON`
pub fn request_exception(
    step: &mut Step<'_>,
    product: &str,
    by: &str,
    name: &str,
    reason: &str,
    reply_to: Option<&str>,
) {
    let now = step.now();
    let prefix = step.ctx.team.prefix.clone();
    let rules_product = step.ctx.team.rules_product(step.ctx.rules, product);
    let Some(rule) = step.ctx.rules.exception(rules_product, name).cloned() else {
        let names: Vec<String> = step
            .ctx
            .rules
            .exceptions_for(rules_product)
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let hint = closest(name, refs.iter().copied()).map_or_else(
            || format!("the exceptions are {}", known_list(&refs)),
            |s| format!("did you mean `{s}`?"),
        );
        step.tell(
            product,
            reply_to,
            by,
            format!("there is no exception `{name}`; {hint}"),
        );
        return;
    };
    if rule.reason_required && reason.trim().is_empty() {
        step.tell(
            product,
            reply_to,
            by,
            format!(
                "exception `{name}` needs a reason: `{prefix}release exception {name} REASON`."
            ),
        );
        return;
    }
    // An exception lets an action through only if it opens the window of
    // that action's gate.
    let release_gate = gate::gate_window(&step.ctx, product, GateKind::Release).map(|g| g.0);
    let cut_gate = gate::gate_window(&step.ctx, product, GateKind::Cut).map(|g| g.0);
    let opens = |g: &Option<String>| g.as_ref().is_some_and(|g| rule.opens.contains(g));
    let (opens_release, opens_cut) = (opens(&release_gate), opens(&cut_gate));
    if !opens_release && !opens_cut {
        let gates = match (&release_gate, &cut_gate) {
            (Some(r), Some(c)) => format!("releases follow `{r}` and cuts follow `{c}`"),
            (Some(r), None) => format!("releases follow `{r}`"),
            (None, Some(c)) => format!("the release gate is off and cuts follow `{c}`"),
            (None, None) => "both gates are off".to_owned(),
        };
        let opened: Vec<String> = rule.opens.iter().map(|w| format!("`{w}`")).collect();
        step.tell(
            product,
            reply_to,
            by,
            format!(
                "exception `{name}` opens {}, and {gates}, so it cannot let a release through.",
                and_list(&opened)
            ),
        );
        return;
    }
    let current = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.clone());
    if let Some(rc) = current.as_ref().filter(|rc| rc.state == RcState::Releasing) {
        step.tell(
            product,
            reply_to,
            by,
            format!(
                "RC #{} is already being released; an exception cannot change that.",
                rc.id
            ),
        );
        return;
    }
    let rc_id = match (&current, opens_release, opens_cut) {
        (Some(rc), true, _) => rc.id,
        (_, _, true) => 0,
        (None, _, false) | (Some(_), false, false) => {
            step.tell(
                product,
                reply_to,
                by,
                "there is no RC in flight to release.".to_owned(),
            );
            return;
        }
    };
    // What the exception is for, in words: a release of the RC in flight,
    // or the next cut.
    let purpose = if rc_id == 0 {
        format!(
            "to cut an RC outside the {} window",
            cut_gate.clone().unwrap_or_default()
        )
    } else {
        format!(
            "to release RC #{rc_id} outside the {} window",
            release_gate.clone().unwrap_or_default()
        )
    };
    let reason_text = if reason.trim().is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    let id = step.state.next_request.max(1);
    step.state.next_request = id + 1;
    let lasts = step.ctx.policy(product).exception_lasts;
    let mut req = ExceptionRequest {
        id,
        exception: name.to_owned(),
        by: by.to_owned(),
        reason: reason.to_owned(),
        rc: rc_id,
        requested_at: now,
        needed: rule.approvals,
        approvals: Vec::new(),
        granted_at: None,
        expires_at: None,
    };
    step.audit(
        Some(by),
        "exception-request",
        format!("E{id} {name}: {reason}"),
        None,
    );
    if rule.approvals == 0 {
        req.granted_at = Some(now);
        req.expires_at = Some(now + lasts);
        push_request(step, product, req);
        let what = if rc_id == 0 {
            "for the next cut".to_owned()
        } else {
            format!("for RC #{rc_id}")
        };
        step.post(
            product,
            format!(
                "Exception E{id} `{name}` ({}) is granted to {} {what}{reason_text}.",
                rule.description,
                at(by),
            ),
            vec![by.to_owned()],
        );
        after_grant(step, product, by, id, rc_id, reply_to);
        return;
    }
    push_request(step, product, req);
    // Those who may approve it are named, so they are notified.
    let approvers = approvers(step, product, by);
    let who = if approvers.is_empty() {
        String::new()
    } else {
        let named: Vec<String> = approvers.iter().map(|a| at(a)).collect();
        format!(" ({} can approve)", or_list(&named))
    };
    step.post(
        product,
        format!(
            "{} asks for exception E{id} `{name}` ({}) {purpose}{reason_text}.\n\
             It needs {} from {}{who}: `{prefix}approve E{id}`.",
            at(by),
            rule.description,
            count(
                usize::try_from(rule.approvals).unwrap_or(usize::MAX),
                "approval",
                "approvals"
            ),
            if rule.approvals == 1 {
                "someone else"
            } else {
                "other people"
            }
        ),
        approvers.clone(),
    );
    step.card(super::Card::Exception { id, approvers });
}

/// Who may approve `by`'s exception request: the people with a role the
/// rules' `allow approve to ROLE` names, else everyone; never `by`.
fn approvers(step: &Step<'_>, product: &str, by: &str) -> Vec<String> {
    let policy = step.ctx.policy(product);
    let roles = policy
        .allow
        .get(&crate::command::Action::Approve)
        .filter(|roles| !roles.iter().any(|r| r == "anyone"));
    step.ctx
        .team
        .people
        .iter()
        .filter(|(name, _)| name.as_str() != by)
        .filter(|(_, m)| roles.is_none_or(|roles| roles.iter().any(|r| m.roles.contains(r))))
        .map(|(name, _)| name.clone())
        .collect()
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A granted exception takes effect: a cut waiting for the gate it opens
/// is made, and an RC it was asked for is released when ready.
fn after_grant(
    step: &mut Step<'_>,
    product: &str,
    who: &str,
    id: u64,
    rc_id: u64,
    reply_to: Option<&str>,
) {
    if rc_id == 0 {
        super::lifecycle::fire_waiting_cut(step, product);
    } else {
        release_if_allowed(step, product, who, id, reply_to);
    }
}

/// Releases for `who` once their exception is granted, unless the policy
/// keeps `release` to roles they lack: then the team is told who can.
fn release_if_allowed(
    step: &mut Step<'_>,
    product: &str,
    who: &str,
    id: u64,
    reply_to: Option<&str>,
) {
    let policy = step.ctx.policy(product);
    let roles = policy
        .allow
        .get(&crate::command::Action::Release)
        .cloned()
        .unwrap_or_default();
    let has = step.ctx.team.people.get(who).is_some_and(|m| {
        roles.is_empty() || roles.iter().any(|r| r == "anyone" || m.roles.contains(r))
    });
    if has {
        release(step, product, who, reply_to);
        return;
    }
    let wanted = roles
        .iter()
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    step.post(
        product,
        format!(
            "{}: exception E{id} is granted, but `release` takes the {wanted} role; someone with it can `{}release` before the exception expires.",
            at(who),
            step.ctx.team.prefix
        ),
        vec![who.to_owned()],
    );
}

fn push_request(step: &mut Step<'_>, product: &str, req: ExceptionRequest) {
    if let Some(ps) = step.state.products.get_mut(product) {
        ps.exceptions.push(req);
    }
}

/// `approve ID`
pub fn approve(step: &mut Step<'_>, product: &str, by: &str, id: u64, reply_to: Option<&str>) {
    let now = step.now();
    let lasts = step.ctx.policy(product).exception_lasts;
    let current_rc = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.as_ref())
        .map(|rc| (rc.id, rc.state));
    let Some(req) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.exceptions.iter_mut().find(|e| e.id == id))
    else {
        step.tell(
            product,
            reply_to,
            by,
            format!("there is no pending exception request E{id} here."),
        );
        return;
    };
    if let Some(rc) = current_rc.filter(|rc| rc.1 == RcState::Releasing && rc.0 == req.rc) {
        step.tell(
            product,
            reply_to,
            by,
            format!(
                "RC #{} is already being released; an exception cannot change that.",
                rc.0
            ),
        );
        return;
    }
    if req.granted_at.is_some() {
        step.tell(
            product,
            reply_to,
            by,
            format!("exception E{id} is already granted."),
        );
        return;
    }
    if req.by == by {
        step.tell(product, reply_to, by, format!("you asked for exception E{id}, so your approval does not count; someone else must approve."));
        return;
    }
    if req.approvals.iter().any(|a| a == by) {
        step.tell(
            product,
            reply_to,
            by,
            format!("you already approved exception E{id}."),
        );
        return;
    }
    req.approvals.push(by.to_owned());
    let have = u32::try_from(req.approvals.len()).unwrap_or(u32::MAX);
    let requester = req.by.clone();
    let name = req.exception.clone();
    let needed = req.needed;
    if have >= needed {
        req.granted_at = Some(now);
        req.expires_at = Some(now + lasts);
    }
    let approvers = req.approvals.join(", ");
    step.audit(Some(by), "approve", format!("exception E{id}"), None);
    if have < needed {
        let left = needed - have;
        step.tell(
            product,
            reply_to,
            by,
            format!("approval recorded; exception E{id} needs {left} more."),
        );
        return;
    }
    step.post(
        product,
        format!(
            "Exception E{id} `{name}` is granted to {} (approved by {approvers}).",
            at(&requester)
        ),
        vec![requester.clone()],
    );
    let rc_id = step
        .state
        .products
        .get(product)
        .and_then(|p| p.exceptions.iter().find(|e| e.id == id))
        .map_or(0, |e| e.rc);
    if rc_id == 0 {
        super::lifecycle::fire_waiting_cut(step, product);
        return;
    }
    let current = step
        .state
        .products
        .get(product)
        .and_then(|p| p.current.as_ref())
        .map(|rc| (rc.id, rc.state == RcState::Ready));
    if let Some((_, true)) = current {
        release_if_allowed(step, product, &requester, id, reply_to);
    } else {
        step.post(
            product,
            format!(
                "{}: RC #{} is not ready yet; release with `{}release` once every change is verified (before the exception expires).",
                at(&requester),
                current.map_or(0, |(id, _)| id),
                step.ctx.team.prefix
            ),
            vec![requester],
        );
    }
}
