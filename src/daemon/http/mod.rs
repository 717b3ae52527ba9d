//! HTTP: webhooks, the events API, status, health, metrics and admin.

mod api;
mod deployments;
mod gate;
mod hooks;
pub mod slack;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::metrics::Endpoint;
use super::reload::Reloader;
use super::shared::Shared;
use crate::config::SecretString;

/// Secrets resolved at start-up; never logged or shown.
#[derive(Default)]
pub struct Secrets {
    pub api_token: Option<SecretString>,
    pub github_secret: Option<SecretString>,
    pub gitlab_token: Option<SecretString>,
    pub web_auth: Option<web::WebSecrets>,
}

#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
    pub secrets: Arc<Secrets>,
    pub reloader: Option<Arc<Reloader>>,
    pub manual_clock: bool,
    /// `POST /hooks/slack`, when Slack runs in `Http` mode.
    pub slack: Option<Arc<slack::SlackHook>>,
    /// Reloads the team config with the rules.
    pub config_reloader: Arc<crate::daemon::config_reload::ConfigReloader>,
}

pub fn router(state: AppState) -> Router {
    let limit = state.shared.config().http.body_limit;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(api::status))
        .route("/api/events", post(api::events))
        .route("/api/gate/{product}", get(gate::gate))
        .route("/hooks/github", post(hooks::github))
        .route("/hooks/gitlab", post(hooks::gitlab))
        .route("/hooks/slack", post(slack::hook))
        .route("/-/reload", post(api::reload))
        .route("/-/outbox/retry", post(api::outbox_retry))
        .route("/-/clock", post(api::clock))
        .merge(web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// A JSON error body with a status.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
        .into_response()
}

/// Constant-time comparison of a presented secret with the expected one.
pub fn same_secret(presented: &[u8], expected: &SecretString) -> bool {
    use subtle::ConstantTimeEq;
    presented.ct_eq(expected.expose().as_bytes()).into()
}

/// An unknown path: `404` with a JSON body, like every other error.
async fn not_found(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no endpoint `{}`", uri.path()),
    )
}

/// A known path with the wrong method: `405` with a JSON body (axum adds
/// the `Allow` header).
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("`{}` does not take {method}", uri.path()),
    )
}

/// For endpoints that only make the daemon do sooner what it would do
/// anyway: the bearer token is checked when one is configured, and not
/// required when none is.
pub fn bearer_if_configured(
    s: &AppState,
    headers: &HeaderMap,
    endpoint: Endpoint,
) -> Result<(), Box<Response>> {
    match s.secrets.api_token {
        Some(_) => bearer_ok(s, headers, endpoint),
        None => Ok(()),
    }
}

/// The token of `Authorization: Bearer TOKEN`; the scheme in any case, as
/// HTTP says schemes are case-insensitive.
fn bearer_token(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim())
}

/// Checks `Authorization: Bearer TOKEN` against the API token. A refusal
/// is logged at `warn` (never the token) and counted in `/metrics`.
pub fn bearer_ok(
    s: &AppState,
    headers: &HeaderMap,
    endpoint: Endpoint,
) -> Result<(), Box<Response>> {
    let Some(token) = s.secrets.api_token.as_ref() else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "this endpoint is disabled: no `http.api_token` is configured",
        )));
    };
    let presented = bearer_token(headers);
    if presented.is_empty() || !same_secret(presented.as_bytes(), token) {
        refused(s, endpoint, "a missing or wrong bearer token");
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )));
    }
    Ok(())
}

/// A request refused for its credentials: a `warn` line and a count.
pub fn refused(s: &AppState, endpoint: Endpoint, what: &str) {
    tracing::warn!(endpoint = endpoint.path(), "request with {what} refused");
    s.shared.metrics.auth_failure(endpoint);
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.shared.readiness() {
        Ok(()) => {
            let degraded = s.shared.degraded.problems();
            if degraded.is_empty() {
                (StatusCode::OK, "ready\n").into_response()
            } else {
                (
                    StatusCode::OK,
                    format!("ready, degraded: {}\n", degraded.join("; ")),
                )
                    .into_response()
            }
        }
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let depth = s.shared.reader.lock().await.outbox_depth();
    // A depth of 0 read from a broken database would hide a stuck outbox
    // from every alert; a failed scrape is seen.
    let depth = match depth {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "/metrics: cannot read the outbox depth");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the outbox depth: {e}\n"),
            )
                .into_response();
        }
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], {
        use std::fmt::Write as _;
        let mut text = s.shared.metrics.render(depth);
        let _ = writeln!(
            text,
            "# HELP shipgate_chat_logins_total Chat logins refused, by reason.\n\
                 # TYPE shipgate_chat_logins_total counter\n\
                 shipgate_chat_logins_total{{result=\"rate_limited\"}} {}",
            s.shared.chat_login_rate_limits()
        );
        let _ = writeln!(
            text,
            "# HELP shipgate_chat_api_rate_limited_total Chat API calls other than posts refused with 429, waited out as asked and made again.\n\
                 # TYPE shipgate_chat_api_rate_limited_total counter\n\
                 shipgate_chat_api_rate_limited_total {}",
            s.shared.chat_api_rate_limits()
        );
        text
    })
        .into_response()
}
