//! `/api/events`, `/api/status`, `/-/reload`, `/-/outbox/retry`, `/-/clock`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AppState, bearer_if_configured, bearer_ok, error};
use crate::daemon::metrics::Endpoint;
use crate::engine::Event;
use crate::ledger::input::{Chat, Ci, Input, Merged, json_error};
use crate::ledger::{Applied, to_event};

/// One line of `/api/events`: the simulate input format; `at` is accepted
/// and ignored (the daemon's clock decides).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiEvent {
    #[serde(default)]
    #[allow(dead_code)]
    at: Option<String>,
    merged: Option<Merged>,
    ci: Option<Ci>,
    chat: Option<Chat>,
}

/// The event a line means, through the ledger's one conversion (names in
/// any case become the config's spelling; an unknown product is refused).
fn to_engine_event(s: &AppState, e: ApiEvent) -> Result<Event, String> {
    let input = match (e.merged, e.ci, e.chat) {
        (Some(m), None, None) => Input::Merged(m),
        (None, Some(c), None) => Input::Ci(c),
        (None, None, Some(c)) => Input::Chat(c.into()),
        _ => return Err("each event needs exactly one of `merged`, `ci` or `chat`".to_owned()),
    };
    to_event(&s.shared.config(), input)
}

/// `POST /api/events`: one JSON object, or JSON lines. Nothing is applied
/// unless every line is valid. `Idempotency-Key` makes a retry harmless;
/// without it, the body's hash is the key.
pub async fn events(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = bearer_ok(&s, &headers, Endpoint::Events) {
        return *r;
    }
    let base = match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        Some(k) if !k.trim().is_empty() => format!("api:{}", k.trim()),
        _ => format!("api:sha256:{}", hex::encode(Sha256::digest(&body))),
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let mut items = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let parsed: ApiEvent = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(e) => {
                return error(StatusCode::BAD_REQUEST, json_error(i + 1, &e));
            }
        };
        match to_engine_event(&s, parsed) {
            Ok(ev) => items.push((format!("{base}:{i}"), ev)),
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("line {}: {e}", i + 1)),
        }
    }
    if items.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no events in the body");
    }
    match s.shared.submit(items).await {
        Ok(results) => {
            let applied = results
                .iter()
                .filter(|r| matches!(r, Applied::New { .. }))
                .count();
            let duplicates = results.len() - applied;
            axum::Json(serde_json::json!({ "applied": applied, "duplicates": duplicates }))
                .into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

/// `GET /api/status`: the state of every product, the rules version and
/// readiness. No secrets.
pub async fn status(State(s): State<AppState>) -> Response {
    let now = s.shared.clock.now();
    let state = s.shared.state.load_full();
    let rules = s.shared.rules.load_full();
    let outbox = {
        let reader = s.shared.reader.lock().await;
        reader
            .outbox_depth()
            .and_then(|d| Ok((d, reader.outbox_failing(10)?)))
    };
    // An unreadable outbox is not shown as an empty one.
    let (depth, failing) = match outbox {
        Ok(o) => o,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the outbox: {e}"),
            );
        }
    };
    let failing: Vec<serde_json::Value> = failing
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id,
                "product": m.product,
                "attempts": m.attempts,
                "last_error": m.last_error,
                "retry_at": m.retry_at.map(crate::timefmt::utc),
            })
        })
        .collect();
    let mut products = serde_json::Map::new();
    let team = s.shared.team();
    for p in &s.shared.config().products {
        let rules_product = team.rules_product(&rules.set, &p.name);
        let production = rules.set.window(rules_product, "production").map(|w| {
            serde_json::json!({
                "open": w.is_open(now),
                "next_change": w.next_change(now, crate::rules::HORIZON_DAYS).map(crate::timefmt::utc),
            })
        });
        let ps = state.products.get(&p.name);
        products.insert(
            p.name.clone(),
            serde_json::json!({
                "current": ps.and_then(|x| x.current.as_ref()),
                "pool": ps.map(|x| &x.pool),
                "queue": ps.map(|x| &x.queue),
                "urgent": ps.and_then(|x| x.urgent.as_ref()),
                "exceptions": ps.map(|x| &x.exceptions),
                "history": ps.map(|x| &x.history),
                "production": production,
            }),
        );
    }
    axum::Json(serde_json::json!({
        "now": crate::timefmt::utc(now),
        "ready": s.shared.readiness().is_ok(),
        "not_ready_reason": s.shared.readiness().err(),
        "degraded": s.shared.degraded.problems(),
        "rules": { "version": rules.hash, "origin": rules.origin },
        "outbox_depth": depth,
        "outbox_failing": failing,
        "products": products,
    }))
    .into_response()
}

/// `POST /-/reload`: reload the rules now and answer with the result.
pub async fn reload(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = bearer_if_configured(&s, &headers, Endpoint::Reload) {
        return *r;
    }
    // The team config first, so rules that need a product the edited
    // config adds are checked against it.
    let config = s
        .config_reloader
        .reload(&s.shared, "reload requested over HTTP")
        .await;
    let config_rejected = matches!(
        config,
        crate::daemon::config_reload::ConfigReloadResult::Rejected { .. }
    );
    let mut body = match &s.reloader {
        None => serde_json::json!({
            "result": "unchanged",
            "rules": "the embedded default rules are in use; there are no rules to reload",
        }),
        Some(r) => {
            let result = r.reload("reload requested over HTTP").await;
            serde_json::to_value(&result).unwrap_or_default()
        }
    };
    let rules_rejected = body["result"] == "rejected";
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "config".to_owned(),
            serde_json::to_value(&config).unwrap_or_default(),
        );
    }
    let status = if rules_rejected || config_rejected {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

/// `POST /-/outbox/retry`: every message waiting for a retry is due now
/// (after the cause of a failed delivery was fixed).
pub async fn outbox_retry(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = bearer_if_configured(&s, &headers, Endpoint::OutboxRetry) {
        return *r;
    }
    match s.shared.retry_outbox_now().await {
        Ok(n) => {
            tracing::info!(messages = n, "outbox: retry now, asked over HTTP");
            axum::Json(serde_json::json!({ "rescheduled": n })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    now: Option<String>,
    advance_secs: Option<i64>,
}

/// `POST /-/clock` (only with `--manual-clock`): set or advance the clock.
pub async fn clock(State(s): State<AppState>, body: Bytes) -> Response {
    if !s.manual_clock {
        return error(
            StatusCode::NOT_FOUND,
            "the clock is real; start with --manual-clock to move it",
        );
    }
    let b: ClockBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let now = s.shared.clock.now();
    let target = match (b.now, b.advance_secs) {
        (Some(t), None) => match chrono::DateTime::parse_from_rfc3339(&t) {
            Ok(t) => t.with_timezone(&chrono::Utc),
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("`now`: {e}")),
        },
        (None, Some(secs)) => now + chrono::TimeDelta::seconds(secs),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give `now` (RFC 3339) or `advance_secs`",
            );
        }
    };
    if target < now {
        return error(StatusCode::BAD_REQUEST, "the clock only moves forward");
    }
    s.shared.clock.set(target);
    // Wait for the timers that fell due to fire.
    if let Err(e) = s.shared.submit(Vec::new()).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, e);
    }
    axum::Json(serde_json::json!({ "now": crate::timefmt::utc(target) })).into_response()
}
