//! Releasing: the production window decides; exceptions open it for a
//! while once approved by enough other people.

use super::Step;
use super::event::{ActionKind, ActionRun, Effect, ReleaseDecision};
use super::lifecycle::rc_update;
use super::state::{ExceptionRequest, RcState};
use super::text::{at, count, from_now, local};
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
    let rules_product = step.ctx.team.rules_product(step.ctx.rules, product);
    let granted = step.state.products.get(product).and_then(|p| {
        p.exceptions
            .iter()
            .find(|e| e.rc == rc.id && e.active(now))
            .cloned()
    });
    let (allowed, reason, exception) = match step.ctx.rules.window(rules_product, "production") {
        None => (true, "no `production` window is defined".to_owned(), None),
        Some(w) => {
            let d = w.decide(now);
            let rule = d
                .because
                .map(|c| format!("`{}` ({}:{})", c.origin.text, c.origin.file, c.origin.line));
            let next = w.next_change(now, crate::rules::HORIZON_DAYS);
            if d.open {
                let until = next
                    .map(|t| format!(" until {}", local(w.tz, t)))
                    .unwrap_or_default();
                (
                    true,
                    format!("production is open{until} by {}", rule.unwrap_or_default()),
                    None,
                )
            } else {
                let why = match rule {
                    Some(r) => format!("production is closed by {r}"),
                    None => format!(
                        "production is closed: no `open` rule covers {} ({})",
                        d.local.format("%A %H:%M"),
                        w.tz.name()
                    ),
                };
                let opens = match next {
                    Some(t) => format!("; it opens {} ({})", local(w.tz, t), from_now(now, t)),
                    None => "; it does not open within a year".to_owned(),
                };
                match &granted {
                    Some(g) => (
                        true,
                        format!(
                            "{why}, but exception E{} `{}` is granted until {}",
                            g.id,
                            g.exception,
                            g.expires_at.map(|t| local(w.tz, t)).unwrap_or_default()
                        ),
                        Some(g.exception.clone()),
                    ),
                    None => (false, format!("{why}{opens}"), None),
                }
            }
        }
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
        let names: Vec<String> = step
            .ctx
            .rules
            .exceptions_opening(rules_product, "production")
            .iter()
            .map(|e| e.name.clone())
            .collect();
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
    let id = step.state.next_request.max(1);
    step.state.next_request = id + 1;
    let lasts = step.ctx.policy(product).exception_lasts;
    let mut req = ExceptionRequest {
        id,
        exception: name.to_owned(),
        by: by.to_owned(),
        reason: reason.to_owned(),
        rc: rc.id,
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
        step.post(
            product,
            format!(
                "Exception E{id} `{name}` ({}) is granted to {} for RC #{}: {reason}.",
                rule.description,
                at(by),
                rc.id
            ),
            vec![by.to_owned()],
        );
        release_if_allowed(step, product, by, id, reply_to);
        return;
    }
    push_request(step, product, req);
    step.post(
        product,
        format!(
            "{} asks for exception E{id} `{name}` ({}) to release RC #{} outside the production window: {reason}.\n\
             It needs {} from {}: `{prefix}approve E{id}`.",
            at(by),
            rule.description,
            rc.id,
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
        Vec::new(),
    );
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
    let roles = policy.allow.get("release").cloned().unwrap_or_default();
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
