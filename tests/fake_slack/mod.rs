//! A fake Slack at the protocol level, for running shipgate's Slack
//! adapter (inside the real daemon) against it.
//!
//! - Web API (axum) under `/api/{method}`, bot token as a bearer (else
//!   `invalid_auth`): `auth.test`, `conversations.info` (`is_member` per
//!   channel; `channel_not_found` for others; `missing_scope` on demand),
//!   `conversations.history` (newest first, `oldest`/`inclusive`/`limit`,
//!   metadata only with `include_all_metadata`), `chat.postMessage`
//!   (recorded with `thread_ts` and metadata; one-shot `429` with
//!   `Retry-After` on demand; "record, then never answer" on demand, for a
//!   crash between Slack posting and shipgate hearing so),
//!   `apps.connections.open` (app token only; a WebSocket URL),
//!   `chat.postMessage` keeps Block Kit `blocks`; `chat.update` replaces
//!   a message's text and blocks (recorded); `chat.postEphemeral`
//!   (recorded apart: only the one person sees it).
//! - Interactions: [`FakeSlack::click`] builds the `block_actions`
//!   payload Slack sends when a person clicks a button of a posted
//!   message (the message and its blocks included, a fresh `action_ts`),
//!   delivered as an `interactive` envelope ([`FakeSlack::interact`]) or
//!   posted by the test to `/hooks/slack` as `payload=...`.
//! - Socket Mode (WebSocket): `hello`, envelopes sent on demand
//!   (`events_api`, `slash_commands`) and their acks recorded,
//!   `disconnect` on demand (the client must open a new connection).
//!
//! People's messages are stored in the channel's history too, so catch-up
//! can read them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const BOT_TOKEN: &str = "xoxb-fake-bot-token";
pub const APP_TOKEN: &str = "xapp-fake-app-token";
pub const BOT_USER: &str = "U0BOT";
pub const BOT_ID: &str = "B0BOT";

/// A message in a channel (a person's or the bot's).
#[derive(Debug, Clone)]
pub struct Msg {
    pub channel: String,
    pub ts: String,
    pub user: String,
    pub text: String,
    pub thread_ts: Option<String>,
    pub metadata: Option<Value>,
    pub bot: bool,
    pub blocks: Option<Value>,
}

/// A `chat.postEphemeral`: seen by `user` only.
#[derive(Debug, Clone)]
pub struct Ephemeral {
    pub channel: String,
    pub user: String,
    pub text: String,
    pub thread_ts: Option<String>,
}

#[derive(Default)]
struct Inner {
    messages: Mutex<Vec<Msg>>,
    members: Mutex<HashMap<String, bool>>,
    acks: Mutex<Vec<String>>,
    ephemerals: Mutex<Vec<Ephemeral>>,
    /// Woken on every `chat.postMessage`.
    posted: tokio::sync::Notify,
    /// Method -> the scope it answers `missing_scope` for.
    missing: Mutex<HashMap<String, String>>,
    /// `chat.update` calls: (channel, ts).
    updates: Mutex<Vec<(String, String)>>,
    requests: Mutex<Vec<String>>,
    next_ts: AtomicU64,
    rate_limit_next: Mutex<Option<u64>>,
    hang_next_post: AtomicBool,
    rate_limited: AtomicU64,
    connections: AtomicU64,
    ws_url: Mutex<String>,
    to_client: Mutex<Option<broadcast::Sender<String>>>,
    /// Round trip of `api.test`, the fake's own cost (for benchmarks).
    envelope_seq: AtomicU64,
}

#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Inner>,
    /// `http://127.0.0.1:PORT/api`.
    pub base: String,
}

fn ok(mut v: Value) -> Response {
    v["ok"] = json!(true);
    axum::Json(v).into_response()
}

fn fail(error: &str) -> Response {
    axum::Json(json!({ "ok": false, "error": error })).into_response()
}

fn args(headers: &HeaderMap, body: &[u8]) -> Value {
    let json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if json {
        serde_json::from_slice(body).unwrap_or(Value::Null)
    } else {
        let map: serde_json::Map<String, Value> = form_urlencoded::parse(body)
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        Value::Object(map)
    }
}

fn order(ts: &str) -> (u64, u64) {
    let (s, f) = ts.split_once('.').unwrap_or((ts, "0"));
    (s.parse().unwrap_or(0), f.parse().unwrap_or(0))
}

impl FakeSlack {
    /// A fake workspace where the bot is a member of `channels`.
    pub async fn start(channels: &[&str]) -> FakeSlack {
        let inner = Arc::new(Inner::default());
        inner.next_ts.store(1, Ordering::SeqCst);
        for c in channels {
            inner.members.lock().unwrap().insert((*c).to_owned(), true);
        }
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        *inner.ws_url.lock().unwrap() = format!("ws://{}/link", ws.local_addr().unwrap());
        let (tx, _) = broadcast::channel::<String>(256);
        *inner.to_client.lock().unwrap() = Some(tx);
        let i2 = inner.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = ws.accept().await else {
                    return;
                };
                let inner = i2.clone();
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    inner.connections.fetch_add(1, Ordering::SeqCst);
                    let mut rx = inner
                        .to_client
                        .lock()
                        .unwrap()
                        .as_ref()
                        .unwrap()
                        .subscribe();
                    let hello = json!({"type": "hello", "num_connections": 1});
                    if ws.send(WsMessage::Text(hello.to_string())).await.is_err() {
                        return;
                    }
                    loop {
                        tokio::select! {
                            m = rx.recv() => {
                                let Ok(m) = m else { return };
                                let disconnect = m.contains("\"disconnect\"");
                                if ws.send(WsMessage::Text(m)).await.is_err() { return; }
                                if disconnect {
                                    // Slack closes a little later; the client
                                    // should already be on a new connection.
                                    tokio::time::sleep(Duration::from_millis(200)).await;
                                    let _ = ws.close(None).await;
                                    return;
                                }
                            }
                            m = ws.next() => match m {
                                Some(Ok(WsMessage::Text(t))) => {
                                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                                    if let Some(id) = v.get("envelope_id").and_then(Value::as_str) {
                                        inner.acks.lock().unwrap().push(id.to_owned());
                                    }
                                }
                                Some(Ok(_)) => {}
                                _ => return,
                            }
                        }
                    }
                });
            }
        });
        let api = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api", api.local_addr().unwrap());
        let app = Router::new()
            .route("/api/{method}", post(method))
            .with_state(inner.clone());
        tokio::spawn(async move {
            axum::serve(api, app).await.unwrap();
        });
        FakeSlack { inner, base }
    }

    fn ts(&self) -> String {
        let n = self.inner.next_ts.fetch_add(1, Ordering::SeqCst);
        format!("1700000000.{n:06}")
    }

    /// A person says `text` in `channel` (stored in history); returns its ts.
    pub fn store_said(&self, channel: &str, user: &str, text: &str) -> String {
        let ts = self.ts();
        self.inner.messages.lock().unwrap().push(Msg {
            channel: channel.to_owned(),
            ts: ts.clone(),
            user: user.to_owned(),
            text: text.to_owned(),
            thread_ts: None,
            metadata: None,
            bot: false,
            blocks: None,
        });
        ts
    }

    /// The payload Slack sends when `user` clicks the button `action_id`
    /// (whose value contains `value`) on the bot's message `ts`.
    pub fn click(
        &self,
        channel: &str,
        user: &str,
        ts: &str,
        action_id: &str,
        value: &str,
    ) -> Value {
        let msg = self
            .inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .cloned()
            .expect("the clicked message");
        let blocks = msg.blocks.clone().expect("a message with blocks");
        let mut action = None;
        for b in blocks.as_array().unwrap() {
            let buttons: Vec<&Value> = match b.get("accessory") {
                Some(a) => vec![a],
                None => b
                    .get("elements")
                    .and_then(Value::as_array)
                    .map(|e| e.iter().collect())
                    .unwrap_or_default(),
            };
            for button in buttons {
                if button["action_id"] == action_id
                    && button["value"].as_str().unwrap_or("").contains(value)
                {
                    action = Some(json!({
                        "type": "button",
                        "action_id": action_id,
                        "block_id": b["block_id"],
                        "value": button["value"],
                        "text": button["text"],
                        "action_ts": self.ts(),
                    }));
                }
            }
        }
        let action = action.expect("a button to click");
        json!({
            "type": "block_actions",
            "user": {"id": user, "username": user},
            "api_app_id": "A0FAKE",
            "team": {"id": "T0FAKE"},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
            "trigger_id": format!("trigger-{}", self.ts()),
            "response_url": "http://127.0.0.1:9/unused",
            "message": {"type": "message", "ts": ts, "text": msg.text, "user": BOT_USER, "blocks": blocks},
            "actions": [action],
        })
    }

    /// Delivers an interaction payload over Socket Mode (`interactive`);
    /// returns the envelope id.
    pub fn interact(&self, payload: &Value) -> String {
        self.envelope("interactive", payload.clone())
    }

    /// Waits (up to `timeout`) for the bot's post in the thread of `ts`;
    /// the instant it was recorded.
    pub async fn post_in_thread(&self, ts: &str, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.inner.posted.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self
                .inner
                .messages
                .lock()
                .unwrap()
                .iter()
                .any(|m| m.bot && m.thread_ts.as_deref() == Some(ts))
            {
                return Some(Instant::now());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// A person's message over Socket Mode, without storing it in history
    /// (for long benchmark runs); returns its ts.
    pub fn say_live(&self, channel: &str, user: &str, text: &str) -> String {
        let ts = self.ts();
        self.envelope(
            "events_api",
            json!({"type": "event_callback", "event": {
                "type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
            }}),
        );
        ts
    }

    /// Every `chat.postEphemeral`, in order.
    pub fn ephemerals(&self) -> Vec<Ephemeral> {
        self.inner.ephemerals.lock().unwrap().clone()
    }

    /// Every `chat.update` (channel, ts), in order.
    pub fn updates(&self) -> Vec<(String, String)> {
        self.inner.updates.lock().unwrap().clone()
    }

    /// A message as it is now (after any update).
    pub fn message(&self, channel: &str, ts: &str) -> Msg {
        self.inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .cloned()
            .expect("the message")
    }

    fn envelope(&self, kind: &str, payload: Value) -> String {
        let id = format!(
            "env-{}",
            self.inner.envelope_seq.fetch_add(1, Ordering::SeqCst)
        );
        let m = json!({"envelope_id": id, "type": kind, "payload": payload, "accepts_response_payload": kind != "events_api"});
        let tx = self.inner.to_client.lock().unwrap().clone().unwrap();
        tx.send(m.to_string()).unwrap();
        id
    }

    /// A person says `text` in `channel`, delivered over Socket Mode as
    /// a `message` event. Returns (ts, envelope id).
    pub fn say(&self, channel: &str, user: &str, text: &str) -> (String, String) {
        let ts = self.store_said(channel, user, text);
        let env = self.envelope(
            "events_api",
            json!({"type": "event_callback", "event": {
                "type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
            }}),
        );
        (ts, env)
    }

    /// The same message again as an `app_mention` event (Slack sends both).
    pub fn app_mention(&self, channel: &str, user: &str, text: &str, ts: &str) -> String {
        self.envelope(
            "events_api",
            json!({"type": "event_callback", "event": {
                "type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts,
            }}),
        )
    }

    /// A slash command over Socket Mode; returns the envelope id.
    pub fn slash(&self, channel: &str, user: &str, command: &str, text: &str) -> String {
        self.envelope(
            "slash_commands",
            json!({"command": command, "text": text, "channel_id": channel, "user_id": user,
                   "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/unused"}),
        )
    }

    /// Asks the client to reconnect (`disconnect`, as Slack does before
    /// it refreshes a connection).
    pub fn disconnect(&self) {
        let tx = self.inner.to_client.lock().unwrap().clone().unwrap();
        tx.send(json!({"type": "disconnect", "reason": "refresh_requested"}).to_string())
            .unwrap();
    }

    pub fn acks(&self) -> Vec<String> {
        self.inner.acks.lock().unwrap().clone()
    }

    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<String> {
        self.inner.requests.lock().unwrap().clone()
    }

    pub fn set_member(&self, channel: &str, member: bool) {
        self.inner
            .members
            .lock()
            .unwrap()
            .insert(channel.to_owned(), member);
    }

    /// `method` answers `missing_scope`, `needed: scope` (as Slack does
    /// when the app was installed without it).
    pub fn missing_scope(&self, method: &str, scope: &str) {
        self.inner
            .missing
            .lock()
            .unwrap()
            .insert(method.to_owned(), scope.to_owned());
    }

    /// The next `chat.postMessage` gets a `429` with `Retry-After: secs`.
    pub fn rate_limit_next(&self, secs: u64) {
        *self.inner.rate_limit_next.lock().unwrap() = Some(secs);
    }

    pub fn rate_limited(&self) -> u64 {
        self.inner.rate_limited.load(Ordering::SeqCst)
    }

    /// The next `chat.postMessage` is posted, but never answered.
    pub fn hang_next_post(&self) {
        self.inner.hang_next_post.store(true, Ordering::SeqCst);
    }

    /// The bot's posts, in order.
    pub fn posts(&self) -> Vec<Msg> {
        self.inner
            .messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.bot)
            .cloned()
            .collect()
    }

    pub fn count(&self, needle: &str) -> usize {
        self.posts()
            .iter()
            .filter(|m| m.text.contains(needle))
            .count()
    }

    /// Waits for the bot's post at index >= `after` containing `needle`.
    pub async fn wait_for(&self, needle: &str, after: usize) -> (usize, Msg) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let posts = self.posts();
            if let Some((i, m)) = posts
                .iter()
                .enumerate()
                .skip(after)
                .find(|(_, m)| m.text.contains(needle))
            {
                return (i, m.clone());
            }
            assert!(
                Instant::now() < deadline,
                "no post with {needle:?} after {after}; posts: {:#?}",
                posts.iter().map(|m| &m.text).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn method(
    State(inner): State<Arc<Inner>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    inner.requests.lock().unwrap().push(method.clone());
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let a = args(&headers, &body);
    let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    if method == "apps.connections.open" {
        if token != APP_TOKEN {
            return fail("invalid_auth");
        }
        return ok(json!({"url": inner.ws_url.lock().unwrap().clone()}));
    }
    if token != BOT_TOKEN {
        return fail("invalid_auth");
    }
    if let Some(scope) = inner.missing.lock().unwrap().get(&method) {
        return axum::Json(json!({"ok": false, "error": "missing_scope", "needed": scope}))
            .into_response();
    }
    match method.as_str() {
        "auth.test" => ok(
            json!({"user_id": BOT_USER, "user": "shipgate", "bot_id": BOT_ID, "team_id": "T0FAKE"}),
        ),
        "conversations.info" => {
            let ch = s("channel");
            match inner.members.lock().unwrap().get(&ch) {
                Some(member) => ok(json!({"channel": {"id": ch, "is_member": member}})),
                None => fail("channel_not_found"),
            }
        }
        "conversations.history" => {
            let ch = s("channel");
            if !inner.members.lock().unwrap().contains_key(&ch) {
                return fail("channel_not_found");
            }
            let limit: usize = s("limit").parse().unwrap_or(100);
            let oldest = s("oldest");
            let with_meta = s("include_all_metadata") == "true";
            let mut msgs: Vec<Value> = inner
                .messages
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.channel == ch && m.thread_ts.is_none())
                .filter(|m| oldest.is_empty() || order(&m.ts) > order(&oldest))
                .map(|m| {
                    let mut v =
                        json!({"type": "message", "ts": m.ts, "text": m.text, "user": m.user});
                    if m.bot {
                        v["bot_id"] = json!(BOT_ID);
                    }
                    if with_meta && let Some(meta) = &m.metadata {
                        v["metadata"] = meta.clone();
                    }
                    v
                })
                .collect();
            msgs.reverse();
            // Without oldest: the newest `limit`; with it: the oldest
            // `limit` after it (newest first within the page), as Slack.
            let page: Vec<Value> = if oldest.is_empty() {
                msgs.into_iter().take(limit).collect()
            } else {
                let n = msgs.len();
                msgs.into_iter().skip(n.saturating_sub(limit)).collect()
            };
            ok(
                json!({"messages": page, "has_more": false, "response_metadata": {"next_cursor": ""}}),
            )
        }
        "conversations.replies" => {
            let ch = s("channel");
            let root = s("ts");
            let with_meta = s("include_all_metadata") == "true";
            let msgs: Vec<Value> = inner
                .messages
                .lock()
                .unwrap()
                .iter()
                .filter(|m| {
                    m.channel == ch
                        && (m.ts == root || m.thread_ts.as_deref() == Some(root.as_str()))
                })
                .map(|m| {
                    let mut v =
                        json!({"type": "message", "ts": m.ts, "text": m.text, "user": m.user});
                    if m.bot {
                        v["bot_id"] = json!(BOT_ID);
                    }
                    if with_meta && let Some(meta) = &m.metadata {
                        v["metadata"] = meta.clone();
                    }
                    v
                })
                .collect();
            ok(json!({"messages": msgs, "has_more": false}))
        }
        "chat.postMessage" => {
            if let Some(secs) = inner.rate_limit_next.lock().unwrap().take() {
                inner.rate_limited.fetch_add(1, Ordering::SeqCst);
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", secs.to_string())],
                    "",
                )
                    .into_response();
            }
            let ch = s("channel");
            match inner.members.lock().unwrap().get(&ch) {
                Some(true) => {}
                Some(false) => return fail("not_in_channel"),
                None => return fail("channel_not_found"),
            }
            let text = s("text");
            if text.chars().count() > 4000 {
                return fail("msg_too_long");
            }
            let n = inner.next_ts.fetch_add(1, Ordering::SeqCst);
            let ts = format!("1700000000.{n:06}");
            let thread = a
                .get("thread_ts")
                .and_then(Value::as_str)
                .map(str::to_owned);
            inner.messages.lock().unwrap().push(Msg {
                channel: ch.clone(),
                ts: ts.clone(),
                user: BOT_USER.to_owned(),
                text,
                thread_ts: thread,
                metadata: a.get("metadata").cloned(),
                bot: true,
                blocks: a.get("blocks").cloned(),
            });
            inner.posted.notify_waiters();
            if inner.hang_next_post.swap(false, Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            ok(json!({"channel": ch, "ts": ts}))
        }
        "chat.update" => {
            let ch = s("channel");
            let ts = s("ts");
            let mut messages = inner.messages.lock().unwrap();
            let Some(m) = messages
                .iter_mut()
                .find(|m| m.channel == ch && m.ts == ts && m.bot)
            else {
                return fail("message_not_found");
            };
            if let Some(t) = a.get("text").and_then(Value::as_str) {
                m.text = t.to_owned();
            }
            if let Some(b) = a.get("blocks") {
                m.blocks = Some(b.clone());
            }
            inner.updates.lock().unwrap().push((ch.clone(), ts.clone()));
            ok(json!({"channel": ch, "ts": ts}))
        }
        "chat.postEphemeral" => {
            let ch = s("channel");
            match inner.members.lock().unwrap().get(&ch) {
                Some(true) => {}
                Some(false) => return fail("not_in_channel"),
                None => return fail("channel_not_found"),
            }
            let user = s("user");
            if user.is_empty() {
                return fail("user_not_in_channel");
            }
            inner.ephemerals.lock().unwrap().push(Ephemeral {
                channel: ch,
                user,
                text: s("text"),
                thread_ts: a
                    .get("thread_ts")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
            let n = inner.next_ts.fetch_add(1, Ordering::SeqCst);
            ok(json!({"message_ts": format!("1700000000.{n:06}")}))
        }
        _ => fail("unknown_method"),
    }
}
