//! Slack's Web API, the few methods shipgate calls, over reqwest: a POST
//! per call with the token as a bearer, JSON bodies for the methods that
//! write and form bodies for those that read (as Slack accepts them). A
//! `429` is read as its `Retry-After`; per-method waits are kept, so one
//! method's limit (Slack's "tiers" are per method) does not hold up the
//! others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::SecretString;

/// How one call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// `429`: wait this long before calling the method again.
    RateLimited(Duration),
    /// Slack answered `ok: false` with this `error` (and, for
    /// `missing_scope`, the scope it `needed`).
    Slack {
        error: String,
        needed: Option<String>,
    },
    /// The network or Slack failed; may pass.
    Transient(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::RateLimited(d) => write!(f, "rate limited; retry after {d:?}"),
            ApiError::Slack {
                error,
                needed: Some(n),
            } => write!(f, "{error} (the app needs the `{n}` scope)"),
            ApiError::Slack {
                error,
                needed: None,
            } => f.write_str(error),
            ApiError::Transient(e) => f.write_str(e),
        }
    }
}

impl ApiError {
    /// Whether retrying later may help.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::RateLimited(_) | ApiError::Transient(_) => true,
            ApiError::Slack { error, .. } => matches!(
                error.as_str(),
                "internal_error"
                    | "fatal_error"
                    | "service_unavailable"
                    | "request_timeout"
                    | "ratelimited"
            ),
        }
    }
}

/// The Web API with one token.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    /// Method -> when Slack said it may be called again.
    not_before: Mutex<HashMap<String, Instant>>,
}

/// How a call's arguments travel.
pub enum Body<'a> {
    Json(&'a Value),
    Form(&'a [(&'a str, String)]),
}

impl Api {
    pub fn new(http: reqwest::Client, base: &str, token: SecretString) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            not_before: Mutex::new(HashMap::new()),
        }
    }

    /// How long `method` must still wait after a `429`.
    pub fn wait_for(&self, method: &str) -> Option<Duration> {
        let now = Instant::now();
        let map = self.not_before.lock().ok()?;
        map.get(method).filter(|t| **t > now).map(|t| *t - now)
    }

    /// One call; `ok: true` answers come back whole.
    pub async fn call(&self, method: &str, body: Body<'_>) -> Result<Value, ApiError> {
        if let Some(wait) = self.wait_for(method) {
            return Err(ApiError::RateLimited(wait));
        }
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose());
        let request = match body {
            Body::Json(v) => request.json(v),
            Body::Form(f) => request.form(f),
        };
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::Transient(format!("{method}: {}", super::chain(&e))))?;
        let status = response.status();
        if status.as_u16() == 429 {
            let secs = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .min(3600);
            let wait = Duration::from_secs(secs.max(1));
            if let Ok(mut map) = self.not_before.lock() {
                map.insert(method.to_owned(), Instant::now() + wait);
            }
            return Err(ApiError::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(ApiError::Transient(format!("{method}: HTTP {status}")));
        }
        let json: Value = response
            .json()
            .await
            .map_err(|e| ApiError::Transient(format!("{method}: unreadable answer: {e}")))?;
        if json.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(json);
        }
        let error = json
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("an answer without `ok`")
            .to_owned();
        let needed = json
            .get("needed")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Err(ApiError::Slack { error, needed })
    }

    /// A call made again after each `429` (up to `tries` times), waiting
    /// as Slack asks: for start-up and catch-up, where no outbox retries.
    pub async fn call_waiting(
        &self,
        method: &str,
        body: Body<'_>,
        tries: usize,
    ) -> Result<Value, ApiError> {
        let mut left = tries.max(1);
        loop {
            let b = match &body {
                Body::Json(v) => Body::Json(v),
                Body::Form(f) => Body::Form(f),
            };
            match self.call(method, b).await {
                Err(ApiError::RateLimited(wait)) if left > 1 => {
                    left -= 1;
                    tracing::warn!(method, wait = ?wait, "slack: rate limited (429); waiting as asked");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }
}
