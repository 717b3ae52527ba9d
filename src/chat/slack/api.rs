//! Slack's Web API, the few methods shipgate calls, over reqwest: a POST
//! per call with the token as a bearer, JSON bodies for the methods that
//! write and form bodies for those that read (as Slack accepts them). A
//! `429` is read as its `Retry-After`; per-method waits are kept, so one
//! method's limit (Slack's "tiers" are per method) does not hold up the
//! others. Each method's tier is also kept to before Slack has to say so
//! ([`tier`]): calls beyond the tier's rate (after a burst of as many)
//! wait for their turn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chat::health::Health;
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

/// Calls per minute Slack allows a method (its "tier"), for the methods
/// shipgate calls; `None` where Slack sets no tier (`chat.postMessage`
/// is about one a second per channel, bursts allowed: its `429`s are
/// waited out by the outbox).
pub fn tier(method: &str) -> Option<u32> {
    match method {
        "apps.connections.open" => Some(1),
        "conversations.history"
        | "conversations.replies"
        | "conversations.info"
        | "chat.update" => Some(50),
        "auth.test" | "chat.postEphemeral" => Some(100),
        _ => None,
    }
}

/// A method's calls left (a token bucket holding a minute's worth, at
/// least 5) and when it was last filled.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The Web API with one token.
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    /// Method -> when Slack said it may be called again.
    not_before: Mutex<HashMap<String, Instant>>,
    /// Method -> its tier's calls left.
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Where waited-out `429`s are counted (`/metrics`).
    health: Option<Arc<Health>>,
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
            buckets: Mutex::new(HashMap::new()),
            health: None,
        }
    }

    /// Counts the `429`s [`Api::call_waiting`] waits out in `health`.
    pub fn counting(mut self, health: Arc<Health>) -> Self {
        self.health = Some(health);
        self
    }

    /// How long `method` must still wait after a `429`.
    pub fn wait_for(&self, method: &str) -> Option<Duration> {
        let now = Instant::now();
        let map = self.not_before.lock().ok()?;
        map.get(method).filter(|t| **t > now).map(|t| *t - now)
    }

    /// Takes one of `method`'s calls at `now`; how long to wait first when
    /// none is left.
    fn take(&self, method: &str, now: Instant) -> Option<Duration> {
        let per_minute = f64::from(tier(method)?);
        let capacity = per_minute.max(5.0);
        let mut map = self.buckets.lock().ok()?;
        let b = map.entry(method.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * per_minute / 60.0;
        b.tokens = (b.tokens + refill).min(capacity);
        b.at = now;
        b.tokens -= 1.0;
        (b.tokens < 0.0).then(|| Duration::from_secs_f64(-b.tokens * 60.0 / per_minute))
    }

    /// One call; `ok: true` answers come back whole.
    pub async fn call(&self, method: &str, body: Body<'_>) -> Result<Value, ApiError> {
        if let Some(wait) = self.wait_for(method) {
            return Err(ApiError::RateLimited(wait));
        }
        if let Some(wait) = self.take(method, Instant::now()) {
            tracing::debug!(method, wait = ?wait, "slack: keeping to the method's tier");
            tokio::time::sleep(wait).await;
        }
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose());
        let request = match body {
            Body::Json(v) => request.json(v),
            Body::Form(f) => request.form(f),
        };
        let response = request.send().await.map_err(|e| {
            ApiError::Transient(format!(
                "{method}: {}",
                crate::chat::error_chain::error_chain(&e)
            ))
        })?;
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
                    if let Some(h) = &self.health {
                        h.api_rate_limited();
                    }
                    tracing::warn!(method, wait = ?wait, "slack: rate limited (429); waiting as asked");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_allows_a_burst_then_paces() {
        let http = reqwest::Client::new();
        let api = Api::new(http, "http://127.0.0.1:9", SecretString::new("x"));
        let t0 = Instant::now();
        for _ in 0..50 {
            assert_eq!(api.take("conversations.history", t0), None);
        }
        let wait = api.take("conversations.history", t0).unwrap_or_default();
        assert!(
            wait > Duration::from_millis(1100) && wait < Duration::from_millis(1300),
            "{wait:?}"
        );
        // A minute later the burst is back.
        let later = t0 + Duration::from_secs(120);
        assert_eq!(api.take("conversations.history", later), None);
        // Methods without a tier never wait; tiers are per method.
        for _ in 0..500 {
            assert_eq!(api.take("chat.postMessage", t0), None);
        }
        assert_eq!(api.take("chat.update", t0), None);
        for _ in 0..5 {
            assert_eq!(api.take("apps.connections.open", t0), None);
        }
        assert!(api.take("apps.connections.open", t0).is_some());
    }
}
