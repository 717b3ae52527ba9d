//! `POST /hooks/slack`: Slack's Events API, slash commands and
//! interactions over HTTP (the adapter's `Http` mode). Every request is
//! checked against the signing secret (`v0` HMAC-SHA256 of
//! `v0:TIMESTAMP:BODY`, compared in constant time; more than five minutes
//! old is a replay): a forged, replayed or unsigned request gets `401`
//! and changes nothing. `url_verification` is answered with its
//! challenge; everything else is acknowledged at once (`200`) and handed
//! to the adapter.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{AppState, error};
use crate::chat::slack::HookRequest;
use crate::chat::slack::signature::verify;
use crate::config::{Adapter, SecretString};
use crate::daemon::metrics::Endpoint;

/// The route's secret and the way to the adapter.
pub struct SlackHook {
    pub signing_secret: SecretString,
    pub to_adapter: mpsc::Sender<HookRequest>,
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub async fn hook(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(hook) = s.slack.as_ref() else {
        return error(
            StatusCode::NOT_FOUND,
            "the Slack hook is disabled: `slack.mode` is not `Http`",
        );
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // Slack's timestamps are wall-clock time, whatever the daemon's
    // business clock says.
    let now = chrono::Utc::now().timestamp();
    if let Err(why) = verify(
        hook.signing_secret.expose().as_bytes(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        now,
    ) {
        super::refused(&s, Endpoint::Slack, why.reason());
        return error(StatusCode::UNAUTHORIZED, why.reason());
    }
    let json_body = header("content-type").is_some_and(|c| c.starts_with("application/json"));
    let request = if json_body {
        let Ok(v) = serde_json::from_slice::<Value>(&body) else {
            return error(StatusCode::BAD_REQUEST, "the body is not JSON");
        };
        match v.get("type").and_then(Value::as_str) {
            Some("url_verification") => {
                let challenge = v.get("challenge").and_then(Value::as_str).unwrap_or("");
                return axum::Json(serde_json::json!({ "challenge": challenge })).into_response();
            }
            Some("event_callback") => HookRequest::Event(v),
            _ => return StatusCode::OK.into_response(),
        }
    } else {
        let fields = form(&body);
        if let Some(payload) = fields.get("payload") {
            // An interaction: its JSON in the `payload` field.
            match serde_json::from_str::<Value>(payload) {
                Ok(v) => HookRequest::Interaction(v),
                Err(_) => return error(StatusCode::BAD_REQUEST, "the payload is not JSON"),
            }
        } else if fields.contains_key("command") {
            let channel = fields.get("channel_id").map_or("", String::as_str);
            let served = s
                .shared
                .config
                .product_by_channel(Adapter::Slack, channel)
                .is_some();
            if !served {
                return axum::Json(serde_json::json!({
                    "response_type": "ephemeral",
                    "text": "shipgate serves no product in this channel.",
                }))
                .into_response();
            }
            HookRequest::Slash(fields)
        } else {
            return error(
                StatusCode::BAD_REQUEST,
                "not an event, command or interaction",
            );
        }
    };
    // Acknowledged now (Slack waits 3 s); the adapter does the rest.
    match hook.to_adapter.try_send(request) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shipgate is busy; Slack will retry",
        ),
    }
}
