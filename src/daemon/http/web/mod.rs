//! The web page (`/`, `/products/NAME`, `/audit`), its live updates
//! (`/live`, server-sent events), its embedded assets, and calendar
//! subscriptions (`/calendar/PRODUCT/WINDOW.ics`). Read-only; behind HTTP
//! Basic auth when `http.web_auth` is set. See docs/web.md.

pub mod closures;
pub mod ics;
pub mod view;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use chrono_tz::Tz;

use super::{AppState, same_secret};
use crate::config::{Config, SecretString};
use crate::daemon::StartError;

/// `http.web_auth` with its secrets read.
pub struct WebSecrets {
    pub username: String,
    pub password: SecretString,
    pub calendar_token: Option<SecretString>,
}

/// Reads `http.web_auth`'s secrets at start-up.
pub fn resolve_auth(config: &Config) -> Result<Option<WebSecrets>, StartError> {
    let Some(w) = &config.http.web_auth else {
        return Ok(None);
    };
    let err = |e: crate::config::ConfigError| StartError(format!("http.web_auth: {e}"));
    Ok(Some(WebSecrets {
        username: w.username.clone(),
        password: config.resolve(&w.password).map_err(err)?,
        calendar_token: w
            .calendar_token
            .as_ref()
            .map(|t| config.resolve(t))
            .transpose()
            .map_err(err)?,
    }))
}

const CSS: &str = include_str!("../../../../static/web.css");
const JS: &str = include_str!("../../../../static/live.js");

/// The web page's routes, merged into the daemon's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/products/{name}", get(product))
        .route("/audit", get(audit))
        .route("/live", get(live))
        .route("/static/web.css", get(|| async { asset("text/css", CSS) }))
        .route(
            "/static/live.js",
            get(|| async { asset("text/javascript", JS) }),
        )
        .route("/calendar/{product}/{file}", get(calendar))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// The page's security headers: nothing from elsewhere, no inline script.
fn page(body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(html) => {
            let mut r = Html(html).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                ),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "web page: cannot render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot render the page\n",
            )
                .into_response()
        }
    }
}

fn text_error(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// Basic credentials when `web_auth` is on; a `401` that asks for them
/// otherwise.
fn authorized(s: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(auth) = &s.secrets.web_auth else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b)| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    let ok = presented
        .as_deref()
        .and_then(|p| p.split_once(':'))
        .is_some_and(|(u, p)| {
            // Both compared, always, in constant time.
            let user = same_secret(u.as_bytes(), &SecretString::new(auth.username.clone()));
            let pass = same_secret(p.as_bytes(), &auth.password);
            user & pass
        });
    if ok {
        return Ok(());
    }
    if presented.is_some() {
        tracing::warn!("web page: request with wrong Basic credentials refused");
    }
    let mut r = text_error(
        StatusCode::UNAUTHORIZED,
        "sign in to see shipgate".to_owned(),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"shipgate\", charset=\"UTF-8\""),
    );
    Err(Box::new(r))
}

/// `?tz=Area/City`, checked.
fn zone(q: &HashMap<String, String>) -> Result<Option<Tz>, Box<Response>> {
    match q.get("tz").map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse::<Tz>().map(Some).map_err(|_| {
            Box::new(text_error(
                StatusCode::BAD_REQUEST,
                format!("unknown time zone `{t}`; use an IANA name such as Europe/Berlin"),
            ))
        }),
    }
}

/// What every page does first: check the credentials, then read `?tz=`.
fn admit(
    s: &AppState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<Option<Tz>, Box<Response>> {
    authorized(s, headers)?;
    zone(q)
}

/// Renders with a consistent snapshot of the state and rules.
fn with_input<T>(s: &AppState, tz: Option<Tz>, f: impl FnOnce(&view::Input<'_>) -> T) -> T {
    let state = s.shared.state.load_full();
    let rules = s.shared.rules.load_full();
    let input = view::Input {
        config: &s.shared.config(),
        team: &s.shared.team(),
        rules: &rules,
        state: &state,
        now: s.shared.clock.now(),
        tz,
        reload: s.reloader.as_ref().and_then(|r| r.last()),
    };
    f(&input)
}

async fn dashboard(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tz = match admit(&s, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    page(with_input(&s, tz, |i| view::dashboard(i).render()))
}

async fn product(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tz = match admit(&s, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match with_input(&s, tz, |i| view::product_page(i, &name).map(|p| p.render())) {
        Some(body) => page(body),
        None => text_error(StatusCode::NOT_FOUND, format!("no product `{name}`")),
    }
}

/// How many audit rows a page shows.
const AUDIT_PAGE: usize = 50;

async fn audit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tz = match admit(&s, &headers, &q) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let product = match q.get("product").map(|p| p.trim()).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match crate::team::product_name(&s.shared.config(), p) {
            Ok(p) => Some(p.to_owned()),
            Err(e) => return text_error(StatusCode::NOT_FOUND, e),
        },
    };
    let before = match q.get("before").filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => match b.parse::<i64>() {
            Ok(b) => Some(b),
            Err(_) => {
                return text_error(
                    StatusCode::BAD_REQUEST,
                    format!("`before={b}` is not a row id"),
                );
            }
        },
    };
    let rows = s
        .shared
        .reader
        .lock()
        .await
        .audit_page(product.as_deref(), before, AUDIT_PAGE + 1);
    let mut rows = match rows {
        Ok(r) => r,
        Err(e) => {
            return text_error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the audit log: {e}"),
            );
        }
    };
    let more = rows.len() > AUDIT_PAGE;
    rows.truncate(AUDIT_PAGE);
    let body = with_input(&s, tz, |i| {
        let head = view::head(i);
        let display = i.tz.unwrap_or(chrono_tz::UTC);
        let older = more
            .then(|| rows.last().map(|(r, _)| r.id))
            .flatten()
            .map(|id| {
                let mut link = format!("/audit?before={id}");
                if let Some(p) = &product {
                    link.push_str(&format!("&product={p}"));
                }
                if let Some(z) = &head.tz_name {
                    link.push_str(&format!("&tz={z}"));
                }
                link
            });
        view::AuditPage {
            rows: rows
                .iter()
                .map(|(r, p)| view::AuditRow {
                    at: view::Time {
                        local: r
                            .at
                            .with_timezone(&display)
                            .format("%a %b %-d %H:%M:%S %Z")
                            .to_string(),
                        utc: crate::timefmt::utc(r.at),
                    },
                    actor: r.actor.clone().unwrap_or_default(),
                    action: r.action.clone(),
                    detail: r.detail.clone(),
                    product: p.clone(),
                })
                .collect(),
            products: i.config.products.iter().map(|p| p.name.clone()).collect(),
            product: product.clone().unwrap_or_default(),
            older,
            head,
        }
        .render()
    });
    page(body)
}

/// How often `/live` looks for a new state or rules version.
const LIVE_POLL: Duration = Duration::from_millis(200);

/// `GET /live`: a server-sent event each time the state or the rules
/// change (and one on connecting), so the page fetches itself again.
async fn live(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&s, &headers) {
        return *r;
    }
    let shared = s.shared.clone();
    let stream = futures_stream(move |last: &mut Option<(usize, usize)>| {
        let state = Arc::as_ptr(&shared.state.load_full()) as usize;
        let rules = Arc::as_ptr(&shared.rules.load_full()) as usize;
        let now = (state, rules);
        let changed = last.is_some_and(|l| l != now);
        *last = Some(now);
        changed
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// A stream that yields an event whenever `changed` says so, checked every
/// [`LIVE_POLL`]; the task ends when the page goes away.
fn futures_stream(
    mut changed: impl FnMut(&mut Option<(usize, usize)>) -> bool + Send + 'static,
) -> impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut last = None;
        let _ = changed(&mut last);
        let mut ticker = tokio::time::interval(LIVE_POLL);
        loop {
            ticker.tick().await;
            if changed(&mut last) {
                let ev = Ok(SseEvent::default().event("message").data("changed"));
                if tx.send(ev).await.is_err() {
                    break;
                }
            } else if tx.is_closed() {
                break;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// `GET /calendar/PRODUCT/WINDOW.ics`: the window's next 90 days. With
/// `web_auth` on, `?calendar_token=` (or the Basic credentials).
async fn calendar(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((product, file)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(auth) = &s.secrets.web_auth {
        let token_ok = match (&auth.calendar_token, q.get("calendar_token")) {
            (Some(expected), Some(t)) => same_secret(t.as_bytes(), expected),
            _ => false,
        };
        if !token_ok && let Err(r) = authorized(&s, &headers) {
            return *r;
        }
    }
    let Some(window_name) = file.strip_suffix(".ics") else {
        return text_error(
            StatusCode::NOT_FOUND,
            format!("calendars end in .ics: /calendar/{product}/WINDOW.ics"),
        );
    };
    let product = match crate::team::product_name(&s.shared.config(), &product) {
        Ok(p) => p.to_owned(),
        Err(e) => return text_error(StatusCode::NOT_FOUND, e),
    };
    let rules = s.shared.rules.load_full();
    let team = s.shared.team();
    let rules_product = team.rules_product(&rules.set, &product);
    let Some(window) = rules.set.window(rules_product, window_name) else {
        return text_error(
            StatusCode::NOT_FOUND,
            format!(
                "no window `{window_name}` for {product}; windows: {}",
                rules.set.window_names(rules_product).join(", ")
            ),
        );
    };
    match ics::calendar(&product, window, s.shared.clock.now()) {
        Some(body) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "max-age=900"),
            ],
            body,
        )
            .into_response(),
        None => text_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "that period cannot be shown in this time zone".to_owned(),
        ),
    }
}
