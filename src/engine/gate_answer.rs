//! What a gate says to a pipeline: `/api/gate`, `shipgate gate` and GitHub
//! deployment protection rules all read this one answer, built from the
//! same [`gate::check`] that chat releases and cuts pass.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use super::gate::{self, GateKind, Pass};
use super::state::{RcState, State};
use crate::rules::Window;
use crate::timefmt;

/// The clause that decided, as the rules say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Because {
    /// The clause's source text, e.g. `open mon-thu 08:00-16:00`.
    pub clause: String,
    pub label: Option<String>,
    pub file: String,
    pub line: usize,
}

/// The granted exception that opens a closed window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenedBy {
    /// `E3`, as chat names it.
    pub id: String,
    pub name: String,
    pub by: String,
    pub reason: String,
    pub rc: u64,
    pub expires_at: Option<String>,
}

/// The RC in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RcRef {
    pub id: u64,
    pub state: &'static str,
    pub manager: String,
}

/// The gate's answer at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub product: String,
    /// `release`, `cut`, or `deployment` (a window named by the config).
    pub action: &'static str,
    pub open: bool,
    /// The window the gate follows; `None` when the gate is off.
    pub window: Option<String>,
    pub because: Option<Because>,
    /// When the window next opens or closes (UTC, RFC 3339).
    pub next_change: Option<String>,
    pub exception: Option<OpenedBy>,
    pub rc: Option<RcRef>,
    /// With `require=approved`: the RC that must be releasing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_approved: Option<u64>,
    /// One sentence for people: why, and when it changes.
    pub reason: String,
    pub now: String,
    /// [`Answer::next_change`] as an instant.
    #[serde(skip)]
    pub next_change_utc: Option<DateTime<Utc>>,
}

/// What was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask<'a> {
    /// A gate of the policy (`gate release production`).
    Gate(GateKind),
    /// A window by name (a GitHub environment mapped to it).
    Window(&'a str),
}

/// The gate's answer for `product` at `now`. Exceptions count when asked
/// for `rc` (default: the RC in flight); with `require_approved`, the
/// answer is open only while that RC is `releasing`.
pub fn answer(
    ctx: &Context<'_>,
    state: &State,
    product: &str,
    ask: Ask<'_>,
    rc: Option<u64>,
    require_approved: bool,
    now: DateTime<Utc>,
) -> Answer {
    let current = state.products.get(product).and_then(|p| p.current.as_ref());
    let rc_ref = current.map(|c| RcRef {
        id: c.id,
        state: c.state.as_str(),
        manager: c.manager.clone(),
    });
    let rc = rc.or(current.map(|c| c.id));
    let (action, pass) = match ask {
        Ask::Gate(kind) => (
            match kind {
                GateKind::Release => "release",
                GateKind::Cut => "cut",
            },
            gate::check(ctx, state, product, kind, rc, now),
        ),
        Ask::Window(name) => (
            "deployment",
            gate::check_window(ctx, state, product, name, rc, now),
        ),
    };
    let mut a = Answer {
        product: product.to_owned(),
        action,
        open: pass.through(),
        window: None,
        because: None,
        next_change: None,
        exception: None,
        rc: rc_ref,
        require_approved: None,
        reason: String::new(),
        now: timefmt::utc(now),
        next_change_utc: None,
    };
    let window = match &pass {
        Pass::Off => None,
        Pass::Open { window } | Pass::Exception { window, .. } => Some(window.clone()),
        Pass::Closed { window, .. } => window.clone(),
    };
    if let Some(w) = &window {
        a.because = w.decide(now).because.map(|c| Because {
            clause: c.origin.text.clone(),
            label: c.label.clone(),
            file: c.origin.file.clone(),
            line: c.origin.line,
        });
        a.next_change_utc = w.next_change(now, crate::rules::HORIZON_DAYS);
        a.next_change = a.next_change_utc.map(timefmt::utc);
    }
    a.reason = match &pass {
        Pass::Off => {
            format!("the {action} gate is off (`gate {action} off`)")
        }
        Pass::Open { window } => {
            a.window = Some(window.name.clone());
            open_sentence(window, &a, now)
        }
        Pass::Exception { window, exception } => {
            a.window = Some(window.name.clone());
            a.exception = Some(OpenedBy {
                id: super::text::exception_id(exception.id),
                name: exception.exception.clone(),
                by: exception.by.clone(),
                reason: exception.reason.clone(),
                rc: exception.rc,
                expires_at: exception.expires_at.map(timefmt::utc),
            });
            format!(
                "{}, but exception {} `{}` for RC #{} is granted until {}",
                closed_sentence(window, now),
                super::text::exception_id(exception.id),
                exception.exception,
                exception.rc,
                exception
                    .expires_at
                    .map(|t| timefmt::local(window.tz, t))
                    .unwrap_or_default()
            )
        }
        Pass::Closed {
            name,
            window: Some(w),
        } => {
            a.window = Some(name.clone());
            let opens = match a.next_change_utc {
                Some(t) => format!(
                    "; it opens {} ({})",
                    timefmt::local(w.tz, t),
                    timefmt::from_now(now, t)
                ),
                None => "; it does not open within a year".to_owned(),
            };
            format!("{}{opens}", closed_sentence(w, now))
        }
        Pass::Closed { name, window: None } => {
            a.window = Some(name.clone());
            format!("the window `{name}` is not defined in the rules")
        }
    };
    if require_approved {
        require(&mut a, current.map(|c| (c.id, c.state)), rc);
    }
    a
}

/// `require=approved`: open only while RC `rc` is being released.
fn require(a: &mut Answer, current: Option<(u64, RcState)>, rc: Option<u64>) {
    let Some(rc) = rc else {
        a.open = false;
        a.reason = "no RC is in flight, so none is approved for release".to_owned();
        return;
    };
    a.require_approved = Some(rc);
    let approved = match current {
        Some((id, state)) if id == rc => match state {
            RcState::Releasing => Ok(()),
            RcState::Open | RcState::Ready => Err(format!(
                "RC #{rc} is {} and not approved for release yet",
                state.as_str()
            )),
            RcState::Released | RcState::NotViable | RcState::Superseded => Err(format!(
                "RC #{rc} is {}, not being released",
                state.as_str()
            )),
        },
        Some((id, _)) => Err(format!(
            "RC #{rc} is not in flight (RC #{id} is), so it is not approved for release"
        )),
        None => Err(format!(
            "RC #{rc} is not in flight, so it is not approved for release"
        )),
    };
    match approved {
        Ok(()) => {
            a.open = true;
            a.reason = format!("RC #{rc} is approved and being released; {}", a.reason);
        }
        Err(why) => {
            a.open = false;
            a.reason = why;
        }
    }
}

fn open_sentence(w: &Window, a: &Answer, now: DateTime<Utc>) -> String {
    let by = a
        .because
        .as_ref()
        .map(|b| format!(" by `{}` ({}:{})", b.clause, b.file, b.line))
        .unwrap_or_default();
    let until = a
        .next_change_utc
        .map(|t| {
            format!(
                " until {} ({})",
                timefmt::local(w.tz, t),
                timefmt::from_now(now, t)
            )
        })
        .unwrap_or_default();
    format!("{} is open{until}{by}", w.name)
}

/// Why `w` is closed at `now`.
pub fn closed_sentence(w: &Window, now: DateTime<Utc>) -> String {
    let d = w.decide(now);
    match d.because {
        Some(c) => {
            let label = c
                .label
                .as_ref()
                .map(|l| format!(" \"{l}\""))
                .unwrap_or_default();
            format!(
                "{} is closed{label} by `{}` ({}:{})",
                w.name, c.origin.text, c.origin.file, c.origin.line
            )
        }
        None => format!(
            "{} is closed: no `open` rule covers {} ({})",
            w.name,
            d.local.format("%A %H:%M"),
            w.tz.name()
        ),
    }
}
