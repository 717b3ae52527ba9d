//! Gates: every action that can reach production (a release) or cut an RC
//! passes the gate the policy names for it (`gate release production`,
//! `gate cut candidate`). A gate lets an action through when its window is
//! open for the product, or when a granted, unexpired exception that
//! `opens` that window exists; nothing else opens it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Context;
use super::state::{ExceptionRequest, State};
use crate::rules::Window;
pub use crate::rules::ast::GateKind;

/// What a gate said about an action at an instant.
#[derive(Debug, Clone, PartialEq)]
pub enum Pass {
    /// The policy turned the gate off (`gate ... off`).
    Off,
    /// The gate's window is open.
    Open { window: Arc<Window> },
    /// The window is closed, but this granted exception opens it.
    Exception {
        window: Arc<Window>,
        exception: ExceptionRequest,
    },
    /// The window is closed (or, after a rules change, not defined).
    Closed {
        name: String,
        window: Option<Arc<Window>>,
    },
}

impl Pass {
    pub fn through(&self) -> bool {
        match self {
            Pass::Off | Pass::Open { .. } | Pass::Exception { .. } => true,
            Pass::Closed { .. } => false,
        }
    }
}

/// The name of the window `kind`'s gate follows for `product`, and the
/// window itself; `None` when the gate is off.
pub fn gate_window(
    ctx: &Context<'_>,
    product: &str,
    kind: GateKind,
) -> Option<(String, Option<Arc<Window>>)> {
    let policy = ctx.policy(product);
    let name = policy.gate(kind)?.to_owned();
    let rules_product = ctx.team.rules_product(ctx.rules, product);
    let window = ctx.rules.window(rules_product, &name).cloned();
    Some((name, window))
}

/// Whether the rules' exception `e` names opens `window` for `product`.
pub fn exception_opens(ctx: &Context<'_>, product: &str, exception: &str, window: &str) -> bool {
    let rules_product = ctx.team.rules_product(ctx.rules, product);
    ctx.rules
        .exception(rules_product, exception)
        .is_some_and(|x| x.opens.iter().any(|w| w == window))
}

/// The names of the rules' exceptions that open `window` for `product`,
/// for "ask for an exception" hints.
pub fn exceptions_opening(ctx: &Context<'_>, product: &str, window: &str) -> Vec<String> {
    let rules_product = ctx.team.rules_product(ctx.rules, product);
    ctx.rules
        .exceptions_opening(rules_product, window)
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

/// Whether `kind`'s gate lets an action through for `product` at `now`.
/// For a release, only exceptions asked for RC `rc` count; for a cut, any
/// granted exception that opens the cut window.
pub fn check(
    ctx: &Context<'_>,
    state: &State,
    product: &str,
    kind: GateKind,
    rc: Option<u64>,
    now: DateTime<Utc>,
) -> Pass {
    let Some((name, window)) = gate_window(ctx, product, kind) else {
        return Pass::Off;
    };
    through(ctx, state, product, name, window, now, |e| match kind {
        GateKind::Release => Some(e.rc) == rc,
        GateKind::Cut => true,
    })
}

/// Whether the window named `name` (as `product` sees it) lets a
/// deployment through at `now`: open, or opened by a granted exception
/// asked for RC `rc` (the RC in flight). The same decision as [`check`],
/// for a window named by the config instead of the policy's gate.
pub fn check_window(
    ctx: &Context<'_>,
    state: &State,
    product: &str,
    name: &str,
    rc: Option<u64>,
    now: DateTime<Utc>,
) -> Pass {
    let rules_product = ctx.team.rules_product(ctx.rules, product);
    let window = ctx.rules.window(rules_product, name).cloned();
    through(ctx, state, product, name.to_owned(), window, now, |e| {
        Some(e.rc) == rc
    })
}

fn through(
    ctx: &Context<'_>,
    state: &State,
    product: &str,
    name: String,
    window: Option<Arc<Window>>,
    now: DateTime<Utc>,
    counts: impl Fn(&ExceptionRequest) -> bool,
) -> Pass {
    if let Some(w) = &window
        && w.is_open(now)
    {
        return Pass::Open { window: w.clone() };
    }
    let granted = state.products.get(product).and_then(|p| {
        p.exceptions
            .iter()
            .find(|e| {
                e.active(now) && counts(e) && exception_opens(ctx, product, &e.exception, &name)
            })
            .cloned()
    });
    match (window, granted) {
        (Some(window), Some(exception)) => Pass::Exception { window, exception },
        (window, _) => Pass::Closed { name, window },
    }
}

/// When a closed gate's window next opens, from `at`.
pub fn opens_at(window: &Window, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if window.is_open(at) {
        return Some(at);
    }
    window.next_change(at, crate::rules::HORIZON_DAYS)
}
