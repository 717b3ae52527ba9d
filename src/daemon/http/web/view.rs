//! What the web page shows, computed from the daemon's state, and rendered
//! through the askama templates in `templates/` (checked at compile time,
//! HTML-escaped). Pure: the caller passes `now`.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::closures::{self, Day};
use crate::config::Config;
use crate::daemon::reload::ReloadResult;
use crate::daemon::shared::ActiveRules;
use crate::engine::gate::{self, GateKind, Pass};
use crate::engine::state::{ProductState, RcChange, State};
use crate::engine::{Context, Team};
use crate::rules::explain::explain;

/// Everything a page is computed from.
pub struct Input<'a> {
    pub config: &'a Config,
    pub team: &'a Team,
    pub rules: &'a ActiveRules,
    pub state: &'a State,
    pub now: DateTime<Utc>,
    /// `?tz=`: show every time in this zone instead of each product's.
    pub tz: Option<Tz>,
    pub reload: Option<(DateTime<Utc>, ReloadResult)>,
}

/// An instant: local text, and the UTC instant for the hover title.
pub struct Time {
    pub local: String,
    pub utc: String,
}

fn time(tz: Tz, t: DateTime<Utc>) -> Time {
    Time {
        local: t
            .with_timezone(&tz)
            .format("%a %b %-d %H:%M %Z")
            .to_string(),
        utc: crate::timefmt::utc(t),
    }
}

pub struct Gate {
    pub window: String,
    /// `open`, `closed`, `open by exception`, `off`.
    pub state: &'static str,
    pub open: bool,
    pub clause: Option<String>,
    pub label: Option<String>,
    pub at: Option<String>,
    /// `opens` / `closes`, and when.
    pub next_verb: &'static str,
    pub next: Option<Time>,
    pub exception: Option<String>,
}

pub struct Change {
    pub id: String,
    pub title: String,
    pub author: String,
    pub verifier: String,
    pub state: String,
    pub done: bool,
}

pub struct Rc {
    pub id: u64,
    pub state: &'static str,
    pub manager: String,
    pub urgent: bool,
    pub reason: Option<String>,
    pub cut: Time,
    pub ci: Option<String>,
    pub changes: Vec<Change>,
}

pub struct Line {
    pub text: String,
    pub when: Option<Time>,
}

pub struct Closed {
    pub id: u64,
    pub state: &'static str,
    pub manager: String,
    pub changes: usize,
    pub closed: Time,
    pub breaches: usize,
}

pub struct Product {
    pub name: String,
    pub zone: String,
    pub gate: Gate,
    pub rc: Option<Rc>,
    pub pool: Vec<Change>,
    pub queue: Vec<Line>,
    pub urgent: Option<Line>,
    pub exceptions: Vec<Line>,
    pub history: Vec<Closed>,
}

pub struct Reload {
    pub when: Time,
    pub result: String,
    pub ok: bool,
    pub errors: Vec<String>,
}

/// What every page shows at the top.
pub struct Head {
    pub now: Time,
    pub rules_version: String,
    pub rules_origin: String,
    pub reload: Option<Reload>,
    /// `?tz=...` to keep on links, or empty.
    pub query: String,
    pub tz_name: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct Dashboard {
    pub head: Head,
    pub products: Vec<Product>,
    pub one: bool,
}

#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductPage {
    pub head: Head,
    pub products: Vec<Product>,
    pub one: bool,
    pub window: String,
    pub zone: String,
    pub days: Vec<Day>,
    pub calendar_url: String,
}

pub struct AuditRow {
    pub at: Time,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub product: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub head: Head,
    pub rows: Vec<AuditRow>,
    pub products: Vec<String>,
    pub product: String,
    /// The link to the next (older) page, if any.
    pub older: Option<String>,
}

pub fn head(input: &Input<'_>) -> Head {
    let tz = input.tz.unwrap_or(chrono_tz::UTC);
    Head {
        now: time(tz, input.now),
        rules_version: input.rules.hash.chars().take(12).collect(),
        rules_origin: input.rules.origin.clone(),
        reload: input.reload.as_ref().map(|(at, r)| {
            let (result, ok, errors) = match r {
                ReloadResult::Unchanged { version } => {
                    (format!("unchanged ({})", short(version)), true, Vec::new())
                }
                ReloadResult::Loaded { version, summary } => {
                    (format!("loaded {}", short(version)), true, summary.clone())
                }
                ReloadResult::Rejected { diagnostics } => {
                    ("rejected".to_owned(), false, diagnostics.clone())
                }
            };
            Reload {
                when: time(tz, *at),
                result,
                ok,
                errors,
            }
        }),
        query: input
            .tz
            .map(|t| format!("?tz={}", t.name()))
            .unwrap_or_default(),
        tz_name: input.tz.map(|t| t.name().to_owned()),
    }
}

fn short(v: &str) -> String {
    v.chars().take(12).collect()
}

/// The zone a product's times are shown in: `?tz=`, else its release
/// gate's window's zone, else UTC.
pub fn zone(input: &Input<'_>, product: &str) -> Tz {
    input.tz.unwrap_or_else(|| {
        let ctx = context(input);
        gate::gate_window(&ctx, product, GateKind::Release)
            .and_then(|(_, w)| w)
            .map_or(chrono_tz::UTC, |w| w.tz)
    })
}

fn context<'a>(input: &'a Input<'a>) -> Context<'a> {
    Context {
        rules: &input.rules.set,
        team: input.team,
        now: input.now,
        seed: 0,
    }
}

fn change(c: &RcChange) -> Change {
    let state = match (c.verified_at, c.reminders) {
        (Some(_), _) => "verified".to_owned(),
        (None, _) if c.verifier != c.change.author => {
            format!("handed off to {}, waiting", c.verifier)
        }
        (None, 0) => "waiting".to_owned(),
        (None, 1) => "waiting, reminded once".to_owned(),
        (None, n) => format!("waiting, reminded {n} times"),
    };
    let state = if c.escalated && c.verified_at.is_none() {
        format!("{state}, manager told")
    } else {
        state
    };
    Change {
        id: c.change.id.clone(),
        title: c.change.title.clone(),
        author: c.change.author.clone(),
        verifier: c.verifier.clone(),
        state,
        done: c.verified_at.is_some(),
    }
}

fn gate_view(input: &Input<'_>, name: &str, ps: Option<&ProductState>, tz: Tz) -> Gate {
    let ctx = context(input);
    let state = input.state;
    let rc = ps.and_then(|p| p.current.as_ref()).map(|r| r.id);
    let pass = gate::check(&ctx, state, name, GateKind::Release, rc, input.now);
    let rules_product = input.team.rules_product(&input.rules.set, name);
    let (window, pass_state, open, exception) = match &pass {
        Pass::Off => {
            return Gate {
                window: String::new(),
                state: "off",
                open: true,
                clause: None,
                label: None,
                at: None,
                next_verb: "",
                next: None,
                exception: None,
            };
        }
        Pass::Open { window } => (Some(window.clone()), "open", true, None),
        Pass::Exception { window, exception } => (
            Some(window.clone()),
            "open by exception",
            true,
            Some(format!(
                "{} (E{}) until {}",
                exception.exception,
                exception.id,
                exception
                    .expires_at
                    .map(|t| time(tz, t).local)
                    .unwrap_or_default()
            )),
        ),
        Pass::Closed { window, .. } => (window.clone(), "closed", false, None),
    };
    let window_name = match &pass {
        Pass::Closed { name, .. } => name.clone(),
        _ => window.as_ref().map(|w| w.name.clone()).unwrap_or_default(),
    };
    let Some(w) = window else {
        return Gate {
            window: window_name,
            state: pass_state,
            open,
            clause: Some("the window is not defined in the active rules".to_owned()),
            label: None,
            at: None,
            next_verb: "",
            next: None,
            exception,
        };
    };
    let e = explain(&input.rules.set, rules_product, &w, input.now);
    Gate {
        window: window_name,
        state: pass_state,
        open,
        clause: Some(
            e.because
                .as_ref()
                .map(|b| b.text.clone())
                .unwrap_or_else(|| "no open rule covers this time".to_owned()),
        ),
        label: e.because.as_ref().and_then(|b| b.label.clone()),
        at: e.because.as_ref().map(|b| format!("{}:{}", b.file, b.line)),
        next_verb: if e.open { "closes" } else { "opens" },
        next: e.next_change_utc.map(|t| time(tz, t)),
        exception,
    }
}

/// One product's card.
pub fn product(input: &Input<'_>, name: &str, history: usize) -> Product {
    let tz = zone(input, name);
    let ps = input.state.products.get(name);
    let gate = gate_view(input, name, ps, tz);
    let rc = ps.and_then(|p| p.current.as_ref()).map(|r| Rc {
        id: r.id,
        state: r.state.as_str(),
        manager: r.manager.clone(),
        urgent: r.urgent,
        reason: r.reason.clone(),
        cut: time(tz, r.cut_at),
        ci: r.ci.map(|c| format!("{c:?}").to_lowercase()),
        changes: r.changes.iter().map(change).collect(),
    });
    let pool = ps
        .map(|p| {
            p.pool
                .iter()
                .map(|c| Change {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    author: c.author.clone(),
                    verifier: c.verifier.clone().unwrap_or_else(|| c.author.clone()),
                    state: "merged, waiting for the next RC".to_owned(),
                    done: false,
                })
                .collect()
        })
        .unwrap_or_default();
    let queue = ps
        .map(|p| {
            p.queue
                .iter()
                .map(|q| Line {
                    text: format!("{}: {}", q.by, q.reason),
                    when: Some(time(tz, q.at)),
                })
                .collect()
        })
        .unwrap_or_default();
    let urgent = ps.and_then(|p| p.urgent.as_ref()).map(|u| Line {
        text: format!(
            "{} asked for an urgent RC: {}{}; replaces the running RC {}",
            u.by,
            u.reason,
            u.objection
                .as_ref()
                .map(|o| format!(" (objection by {}: {})", o.by, o.reason))
                .unwrap_or_default(),
            crate::timefmt::from_now(input.now, u.deadline)
        ),
        when: Some(time(tz, u.deadline)),
    });
    let exceptions = ps
        .map(|p| {
            p.exceptions
                .iter()
                .filter(|e| e.active(input.now))
                .map(|e| Line {
                    text: format!(
                        "E{} {} for RC {} by {}: {}",
                        e.id, e.exception, e.rc, e.by, e.reason
                    ),
                    when: e.expires_at.map(|t| time(tz, t)),
                })
                .collect()
        })
        .unwrap_or_default();
    let history = ps
        .map(|p| {
            p.history
                .iter()
                .rev()
                .take(history)
                .map(|h| Closed {
                    id: h.id,
                    state: h.state.as_str(),
                    manager: h.manager.clone(),
                    changes: h.changes,
                    closed: time(tz, h.closed_at),
                    breaches: h.breaches.len(),
                })
                .collect()
        })
        .unwrap_or_default();
    Product {
        name: name.to_owned(),
        zone: tz.name().to_owned(),
        gate,
        rc,
        pool,
        queue,
        urgent,
        exceptions,
        history,
    }
}

/// `/`: every product.
pub fn dashboard(input: &Input<'_>) -> Dashboard {
    Dashboard {
        head: head(input),
        products: input
            .config
            .products
            .iter()
            .map(|p| product(input, &p.name, 0))
            .collect(),
        one: false,
    }
}

/// How many closed RCs a product page lists.
pub const HISTORY: usize = 20;
/// How many days the product page's calendar picture shows.
pub const PICTURE_DAYS: u32 = 28;

/// `/products/NAME`; `None` for an unknown product.
pub fn product_page(input: &Input<'_>, name: &str) -> Option<ProductPage> {
    let name = crate::team::product_name(input.config, name).ok()?;
    let p = product(input, name, HISTORY);
    let tz = zone(input, name);
    let ctx = context(input);
    let window = gate::gate_window(&ctx, name, GateKind::Release).and_then(|(_, w)| w);
    let (window_name, days) = match &window {
        Some(w) => (
            w.name.clone(),
            closures::picture(
                w,
                tz,
                input.now.with_timezone(&tz).date_naive(),
                PICTURE_DAYS,
                input.now,
            ),
        ),
        None => (String::new(), Vec::new()),
    };
    Some(ProductPage {
        head: head(input),
        calendar_url: format!("/calendar/{name}/{window_name}.ics"),
        zone: tz.name().to_owned(),
        window: window_name,
        days,
        products: vec![p],
        one: true,
    })
}
