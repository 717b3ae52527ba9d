//! GitHub deployments: a deployment protection rule asks, the same gate
//! answers ([`gate_answer::answer`] over the window the config maps the
//! environment to), and the answer is posted in the product's channel,
//! audited and sent back to GitHub ([`Effect::Deployment`]). A product
//! with `hold_until_open` keeps a deployment that finds its window closed
//! waiting, and approves it when the window opens (a timer) or an exception
//! opens it; it is withdrawn when GitHub reports the run cancelled, and
//! rejected when it has waited `hold_max_secs`.

use chrono::{DateTime, TimeDelta, Utc};

use super::Step;
use super::event::{DeploymentAnswer, DeploymentRequest, Effect};
use super::gate;
use super::gate_answer::{Answer, Ask, answer};
use super::state::{HeldDeployment, ProductState};
use crate::rules::RuleSet;
use crate::timefmt;

/// The gate's answer for a deployment's window at now.
fn ask(step: &Step<'_>, req: &DeploymentRequest, window: &str) -> Answer {
    answer(
        &step.ctx,
        step.state,
        &req.product,
        Ask::Window(window),
        None,
        false,
        step.now(),
    )
}

/// Sends the answer to GitHub (remembered until delivered), posts it in
/// the product's channel and audits it.
fn decide(step: &mut Step<'_>, req: &DeploymentRequest, approved: bool, why: &str) {
    let verdict = if approved { "approved" } else { "rejected" };
    let a = DeploymentAnswer {
        id: req.answer_id(),
        product: req.product.clone(),
        environment: req.environment.clone(),
        callback_url: req.callback_url.clone(),
        installation: req.installation,
        approved,
        comment: format!("shipgate {verdict} this deployment: {why}."),
    };
    step.state.pending_answers.retain(|p| p.id != a.id);
    step.state.pending_answers.push(a.clone());
    step.effects.push(Effect::Deployment(a));
    step.post(
        &req.product,
        format!("GitHub deployment of {}: {verdict}. {why}.", req.describe()),
        Vec::new(),
    );
    step.audit(
        None,
        if approved {
            "deployment-approved"
        } else {
            "deployment-rejected"
        },
        format!("{}: {why}", req.describe()),
        None,
    );
}

/// A `deployment_protection_rule` delivery.
pub fn requested(step: &mut Step<'_>, req: &DeploymentRequest) {
    let now = step.now();
    let Some(window) = req.window.clone() else {
        let why = format!(
            "the environment `{}` is not mapped to a window: add it to `environments` of product `{}` in shipgate's config",
            req.environment, req.product
        );
        decide(step, req, false, &why);
        return;
    };
    let held = step.state.products.get(&req.product).is_some_and(|p| {
        p.held
            .iter()
            .any(|h| h.request.answer_id() == req.answer_id())
    });
    if held {
        // Asked again for a run already waiting: it keeps its place.
        return;
    }
    let a = ask(step, req, &window);
    if a.open {
        decide(step, req, true, &a.reason);
        return;
    }
    if !req.hold {
        decide(step, req, false, &a.reason);
        return;
    }
    let until = now + TimeDelta::seconds(i64::try_from(req.hold_max_secs).unwrap_or(i64::MAX / 2));
    let opens = a
        .next_change_utc
        .map(|t| format!("; I approve it when it opens ({})", timefmt::utc(t)))
        .unwrap_or_default();
    step.post(
        &req.product,
        format!(
            "GitHub deployment of {}: holding it. {}{opens}, or reject it at {} if it is still closed.",
            req.describe(),
            a.reason,
            timefmt::utc(until)
        ),
        Vec::new(),
    );
    step.audit(
        None,
        "deployment-held",
        format!("{}: {}", req.describe(), a.reason),
        None,
    );
    if let Some(p) = step.state.products.get_mut(&req.product) {
        p.held.push(HeldDeployment {
            request: req.clone(),
            held_at: now,
            since: now,
            until,
        });
    }
}

/// Held deployments whose gate now lets them through are approved; those
/// that waited too long are rejected; the rest wait on.
pub fn fire_held(step: &mut Step<'_>, product: &str) {
    let now = step.now();
    // Read first: a product with nothing held is not written (copied).
    if step
        .state
        .products
        .get(product)
        .is_none_or(|p| p.held.is_empty())
    {
        return;
    }
    let held = match step.state.products.get_mut(product) {
        Some(p) => std::mem::take(&mut p.held),
        None => return,
    };
    let mut waiting = Vec::new();
    for mut h in held {
        let window = h.request.window.clone().unwrap_or_default();
        let a = ask(step, &h.request, &window);
        if a.open {
            let waited = timefmt::duration(now - h.held_at);
            decide(
                step,
                &h.request,
                true,
                &format!("held for {waited}; {}", a.reason),
            );
        } else if now >= h.until {
            decide(
                step,
                &h.request,
                false,
                &format!(
                    "it waited {} for the window, the most `github_app.hold_max_secs` allows; {}",
                    timefmt::duration(now - h.held_at),
                    a.reason
                ),
            );
        } else {
            h.since = now;
            waiting.push(h);
        }
    }
    if let Some(p) = step.state.products.get_mut(product) {
        p.held = waiting;
    }
}

/// GitHub says the run ended: a deployment held for it is withdrawn.
pub fn cancelled(step: &mut Step<'_>, product: &str, run_id: u64) {
    let Some(p) = step.state.products.get_mut(product) else {
        return;
    };
    let (gone, kept): (Vec<HeldDeployment>, Vec<HeldDeployment>) = std::mem::take(&mut p.held)
        .into_iter()
        .partition(|h| h.request.run_id == run_id);
    p.held = kept;
    for h in gone {
        step.post(
            product,
            format!(
                "GitHub deployment of {}: withdrawn, GitHub reports its run ended.",
                h.request.describe()
            ),
            Vec::new(),
        );
        step.audit(
            None,
            "deployment-withdrawn",
            format!("{}: the run ended on GitHub", h.request.describe()),
            None,
        );
    }
}

/// An answer reached GitHub, or could not.
pub fn answered(step: &mut Step<'_>, product: &str, id: &str, ok: bool, detail: &str) {
    let Some(a) = step
        .state
        .pending_answers
        .iter()
        .position(|a| a.id == id)
        .map(|i| step.state.pending_answers.remove(i))
    else {
        return;
    };
    if !ok {
        step.post(
            product,
            format!(
                "Could not tell GitHub that the deployment to `{}` is {}: {detail}",
                a.environment,
                if a.approved { "approved" } else { "rejected" }
            ),
            Vec::new(),
        );
        step.audit(
            None,
            "deployment-answer-failed",
            format!("{id}: {detail}"),
            None,
        );
    }
}

/// When a product's held deployments are due: their window's opening,
/// and the end of their wait.
pub fn due(
    rules: &RuleSet,
    team: &super::Team,
    product: &str,
    ps: &ProductState,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    {
        for h in &ps.held {
            out.push(h.until);
            let window = h
                .request
                .window
                .as_deref()
                .and_then(|w| rules.window(team.rules_product(rules, product), w));
            if let Some(w) = window {
                out.extend(gate::opens_at(w, h.since).filter(|t| *t > h.since));
            }
        }
    }
    out
}
