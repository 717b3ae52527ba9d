//! A fake Discord at the protocol level, for running the real serenity
//! client (inside the real daemon) against it.
//!
//! - REST (axum) under `/api/v10`: `GET /gateway`, `GET /gateway/bot`,
//!   `GET /users/@me`, `POST /channels/{id}/messages` (recorded, with
//!   Discord's 2,000-character limit, unknown-channel 404s, reply
//!   references checked, nonce de-duplication with `enforce_nonce`, and a
//!   one-shot 429 on demand), `GET /channels/{id}/messages` (`after`,
//!   `limit`: newest first, as Discord answers; people's and the bot's
//!   messages alike). Requests without the bot token get 401.
//! - Gateway (WebSocket, JSON): HELLO, IDENTIFY (the intents are recorded;
//!   without MESSAGE_CONTENT, message content arrives empty, as on
//!   Discord), READY, heartbeats and ACKs, dispatches with sequence
//!   numbers, RESUME (replays what the client missed, then RESUMED), and a
//!   drop on demand (close code 4000), optionally holding the next
//!   connection until the test lets it through.
//!
//! Messages the bot creates are also dispatched back over the gateway as
//! MESSAGE_CREATE, as Discord does, so the bot must ignore itself.
//!
//! Slash commands: `PUT /applications/{app}/guilds/{guild}/commands`
//! (recorded), INTERACTION_CREATE on demand ([`FakeDiscord::slash`]),
//! `POST /interactions/{id}/{token}/callback` (the token must match; one
//! callback per interaction, else 400 "already acknowledged"; a public
//! message answer becomes a message in the interaction's channel, recorded
//! with the interaction's id) and `GET /webhooks/{app}/{token}/messages/@original`.
//!
//! What `shipgate doctor` reads: `GET /oauth2/applications/@me`,
//! `GET /users/@me/guilds`, `GET /channels/{id}` (with an `@everyone`
//! overwrite that [`FakeDiscord::deny`] sets), `GET /guilds/{g}/roles`
//! (`@everyone` may view, send and read history), `GET
//! /guilds/{g}/members/{id}` and `GET /applications/{app}/guilds/{g}/commands`
//! (what was registered). [`FakeDiscord::leave_guild`] takes the bot out.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use serenity::futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub const TOKEN: &str = "fake-discord-bot-token";
pub const BOT_ID: u64 = 900_000_000_000_000_001;
pub const APP_ID: u64 = 900_000_000_000_000_002;
pub const GUILD_ID: u64 = 900_000_000_000_000_003;
/// Gateway intents (bits) shipgate needs.
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const MESSAGE_CONTENT: u64 = 1 << 15;
const HEARTBEAT_MS: u64 = 1_000;

/// A message the bot created (or tried to).
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub channel: String,
    pub content: String,
    pub message_reference: Option<Value>,
    pub nonce: Option<Value>,
    pub enforce_nonce: bool,
    pub allowed_mentions: Option<Value>,
    pub at: Instant,
    /// The interaction this message answers (an edited original response).
    pub interaction: Option<String>,
}

/// A slash command the fake sent, and how the bot answered it.
#[derive(Debug, Clone, Default)]
pub struct Interaction {
    pub id: String,
    pub token: String,
    pub channel: String,
    /// Callback types the bot sent (4: a message, 5: deferred).
    pub callbacks: Vec<u64>,
    /// The callback's message data, for type 4.
    pub callback_data: Option<Value>,
    /// The id of the public answer's message.
    pub response: Option<String>,
}

enum Frame {
    Text(String),
    Close(u16),
}

#[derive(Default)]
struct State_ {
    next_id: u64,
    channels: Vec<String>,
    requests: Vec<String>,
    // REST
    created: Vec<Created>,
    by_nonce: HashMap<String, Value>,
    /// Ids of messages that exist, by channel (replies must point at one).
    messages: HashMap<String, String>,
    /// Every message as Discord stores it, in order, for GET.
    history: Vec<Value>,
    /// Successful posts to let through before a 429.
    rate_limit_after: Option<usize>,
    rate_limited_at: Vec<Instant>,
    rejected: Vec<(u16, Value)>,
    deduplicated: usize,
    /// Record the next created message, then never answer.
    stall_next: bool,
    // Gateway
    session_id: Option<String>,
    seq: u64,
    log: Vec<(u64, String)>,
    live: Option<(u64, mpsc::UnboundedSender<Frame>)>,
    next_conn: u64,
    identifies: Vec<Value>,
    resumes: Vec<u64>,
    heartbeats: usize,
    /// Close codes the client sent.
    client_closes: Vec<u16>,
    content_intent: bool,
    gateway_queries: Vec<String>,
    // Slash commands
    registered: Vec<(String, Value)>,
    // What `doctor` reads
    /// Permission bits denied to `@everyone` per channel (an overwrite).
    denied: HashMap<String, u64>,
    /// The bot was removed from the guild.
    left_guild: bool,
    interactions: Vec<Interaction>,
}

struct Inner {
    state: Mutex<State_>,
    hold: watch::Sender<bool>,
    gateway_url: String,
}

/// The fake; dropping it stops its servers.
pub struct FakeDiscord {
    pub base: String,
    pub gateway_url: String,
    inner: Arc<Inner>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn snowflake(s: &mut State_) -> String {
    s.next_id += 1;
    (1_300_000_000_000_000_000 + s.next_id).to_string()
}

fn now_iso() -> String {
    "2026-03-09T14:00:00.000000+00:00".to_owned()
}

fn user_json(id: &str, name: &str, bot: bool) -> Value {
    json!({
        "id": id, "username": name, "discriminator": "0", "global_name": name,
        "avatar": null, "bot": bot, "public_flags": 0,
    })
}

fn message_json(
    id: &str,
    channel: &str,
    author: Value,
    content: &str,
    nonce: Option<&Value>,
    reference: Option<&Value>,
) -> Value {
    let mut m = json!({
        "id": id, "channel_id": channel, "author": author, "content": content,
        "timestamp": now_iso(), "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false,
        "type": if reference.is_some() { 19 } else { 0 }, "flags": 0,
    });
    if let Some(n) = nonce {
        m["nonce"] = n.clone();
    }
    if let Some(r) = reference {
        m["message_reference"] = r.clone();
    }
    m
}

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

impl FakeDiscord {
    /// Starts REST and gateway servers on 127.0.0.1; `channels` are the
    /// guild's text channels.
    pub async fn start(channels: &[&str]) -> FakeDiscord {
        let gw = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway_url = format!("ws://{}", gw.local_addr().unwrap());
        let (hold, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            state: Mutex::new(State_ {
                channels: channels.iter().map(|c| (*c).to_owned()).collect(),
                ..State_::default()
            }),
            hold,
            gateway_url: gateway_url.clone(),
        });
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", rest.local_addr().unwrap());
        let app = Router::new()
            .route("/api/v10/gateway", get(get_gateway))
            .route("/api/v10/gateway/bot", get(get_gateway_bot))
            .route("/api/v10/users/@me", get(get_me))
            .route(
                "/api/v10/channels/{id}/messages",
                post(create_message).get(get_messages),
            )
            .route(
                "/api/v10/applications/{app}/guilds/{guild}/commands",
                axum::routing::put(put_commands).get(get_commands),
            )
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                post(interaction_callback),
            )
            .route(
                "/api/v10/webhooks/{app}/{token}/messages/@original",
                get(get_original),
            )
            .route("/api/v10/oauth2/applications/@me", get(get_application))
            .route("/api/v10/users/@me/guilds", get(get_my_guilds))
            .route("/api/v10/channels/{id}", get(get_channel))
            .route("/api/v10/guilds/{guild}/roles", get(get_roles))
            .route("/api/v10/guilds/{guild}/members/{user}", get(get_member))
            .fallback(fallback)
            .with_state(inner.clone());
        let rest_task = tokio::spawn(async move {
            axum::serve(rest, app).await.unwrap();
        });
        let gw_inner = inner.clone();
        let gw_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = gw.accept().await else {
                    return;
                };
                tokio::spawn(connection(stream, gw_inner.clone()));
            }
        });
        FakeDiscord {
            base,
            gateway_url,
            inner,
            tasks: vec![rest_task, gw_task],
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State_) -> T) -> T {
        f(&mut self.inner.state.lock().unwrap())
    }

    /// Denies `bits` to `@everyone` in `channel` (a permission overwrite).
    pub fn deny(&self, channel: &str, bits: u64) {
        self.with(|s| s.denied.insert(channel.to_owned(), bits));
    }

    /// Takes the bot out of the guild.
    pub fn leave_guild(&self) {
        self.with(|s| s.left_guild = true);
    }

    /// A person types `text` in `channel`; returns the message id.
    pub fn say(&self, channel: &str, user: &str, name: &str, text: &str) -> String {
        self.post_as(channel, user_json(user, name, false), text)
    }

    /// Another bot posts in `channel`.
    pub fn say_as_bot(&self, channel: &str, text: &str) -> String {
        self.post_as(
            channel,
            user_json("900000000000000099", "otherbot", true),
            text,
        )
    }

    fn post_as(&self, channel: &str, author: Value, text: &str) -> String {
        self.post_at(channel, author, text, &now_iso())
    }

    /// A person types `text` in `channel` at `timestamp` (ISO 8601).
    pub fn say_at(
        &self,
        channel: &str,
        user: &str,
        name: &str,
        text: &str,
        timestamp: &str,
    ) -> String {
        self.post_at(channel, user_json(user, name, false), text, timestamp)
    }

    fn post_at(&self, channel: &str, author: Value, text: &str, timestamp: &str) -> String {
        let inner = &self.inner;
        let mut s = inner.state.lock().unwrap();
        let id = snowflake(&mut s);
        s.messages.insert(id.clone(), channel.to_owned());
        let mut stored = message_json(&id, channel, author, text, None, None);
        stored["timestamp"] = json!(timestamp);
        stored["guild_id"] = json!(GUILD_ID.to_string());
        s.history.push(stored.clone());
        let mut m = stored;
        if !s.content_intent {
            m["content"] = json!("");
        }
        dispatch(&mut s, "MESSAGE_CREATE", m);
        id
    }

    /// The gateway forgets the session: the next RESUME is refused
    /// (INVALID_SESSION, not resumable), so the client must IDENTIFY anew.
    pub fn forget_session(&self) {
        self.with(|s| s.session_id = None);
    }

    /// A person runs `/NAME command: TEXT` in `channel` (INTERACTION_CREATE);
    /// returns the interaction id.
    pub fn slash(
        &self,
        channel: &str,
        user: &str,
        name: &str,
        command: &str,
        text: &str,
    ) -> String {
        let mut s = self.inner.state.lock().unwrap();
        let id = snowflake(&mut s);
        let token = format!("itoken-{id}");
        let u = user_json(user, name, false);
        let d = json!({
            "id": id, "application_id": APP_ID.to_string(), "type": 2, "token": token,
            "version": 1, "guild_id": GUILD_ID.to_string(), "channel_id": channel,
            "member": {
                "user": u, "roles": [], "joined_at": now_iso(), "deaf": false,
                "mute": false, "flags": 0, "permissions": "0",
            },
            "data": {
                "id": "1400000000000000001", "name": command, "type": 1,
                "options": [{"name": "command", "type": 3, "value": text}],
            },
            "locale": "en-US", "guild_locale": "en-US", "app_permissions": "0",
            "entitlements": [], "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
            "context": 0, "attachment_size_limit": 10_485_760,
        });
        s.interactions.push(Interaction {
            id: id.clone(),
            token,
            channel: channel.to_owned(),
            ..Interaction::default()
        });
        dispatch(&mut s, "INTERACTION_CREATE", d);
        id
    }

    /// The slash commands registered per guild: (guild id, body).
    pub fn registered(&self) -> Vec<(String, Value)> {
        self.with(|s| s.registered.clone())
    }

    /// The slash command the fake sent as `id`, and how it was answered.
    pub fn interaction(&self, id: &str) -> Interaction {
        self.with(|s| s.interactions.iter().find(|i| i.id == id).cloned())
            .unwrap_or_else(|| panic!("no interaction {id}"))
    }

    /// A person edits an earlier message (MESSAGE_UPDATE).
    pub fn edit(&self, channel: &str, id: &str, user: &str, name: &str, text: &str) {
        let mut s = self.inner.state.lock().unwrap();
        let mut m = message_json(id, channel, user_json(user, name, false), text, None, None);
        m["guild_id"] = json!(GUILD_ID.to_string());
        m["edited_timestamp"] = json!(now_iso());
        dispatch(&mut s, "MESSAGE_UPDATE", m);
    }

    /// Closes the gateway connection as Discord does when it wants a
    /// reconnect (close code 4000). With `hold`, the next connection waits
    /// (socket open, no HELLO, nothing read) until [`Self::release`].
    pub fn drop_gateway(&self, hold: bool) {
        self.close_gateway(4000, hold);
    }

    /// Closes the gateway connection with close code `code`, e.g. 4009
    /// (session timed out), after which the session cannot be resumed:
    /// the fake forgets it, as Discord does. `hold` as in
    /// [`Self::drop_gateway`].
    pub fn close_gateway(&self, code: u16, hold: bool) {
        if hold {
            self.inner.hold.send_replace(true);
        }
        let mut s = self.inner.state.lock().unwrap();
        if matches!(code, 4006 | 4007 | 4009) {
            s.session_id = None;
        }
        if let Some((_, tx)) = s.live.take() {
            let _ = tx.send(Frame::Close(code));
        }
    }

    pub fn release(&self) {
        self.inner.hold.send_replace(false);
    }

    /// The bot loses access to `channel`: posts there get Discord's 404
    /// "Unknown Channel" until [`FakeDiscord::restore_channel`].
    pub fn remove_channel(&self, channel: &str) {
        self.with(|s| s.channels.retain(|c| c != channel));
    }

    pub fn restore_channel(&self, channel: &str) {
        self.with(|s| s.channels.push(channel.to_owned()));
    }

    /// The next message POST gets a 429 with `retry_after` 0.5 s.
    pub fn rate_limit_next_post(&self) {
        self.rate_limit_after(0);
    }

    /// After `n` more message POSTs, one gets a 429 with `retry_after` 0.5 s.
    pub fn rate_limit_after(&self, n: usize) {
        self.with(|s| s.rate_limit_after = Some(n));
    }

    /// The next message is created, but the answer never comes (as when
    /// the bot dies while Discord answers).
    pub fn stall_next_post(&self) {
        self.with(|s| s.stall_next = true);
    }

    pub fn created(&self) -> Vec<Created> {
        self.with(|s| s.created.clone())
    }

    pub fn rate_limited_at(&self) -> Vec<Instant> {
        self.with(|s| s.rate_limited_at.clone())
    }

    pub fn rejected(&self) -> Vec<(u16, Value)> {
        self.with(|s| s.rejected.clone())
    }

    pub fn deduplicated(&self) -> usize {
        self.with(|s| s.deduplicated)
    }

    pub fn identifies(&self) -> Vec<Value> {
        self.with(|s| s.identifies.clone())
    }

    pub fn resumes(&self) -> Vec<u64> {
        self.with(|s| s.resumes.clone())
    }

    pub fn heartbeats(&self) -> usize {
        self.with(|s| s.heartbeats)
    }

    pub fn client_closes(&self) -> Vec<u16> {
        self.with(|s| s.client_closes.clone())
    }

    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.requests.clone())
    }

    pub fn gateway_queries(&self) -> Vec<String> {
        self.with(|s| s.gateway_queries.clone())
    }

    /// Whether a gateway session is connected (READY or RESUMED sent).
    pub fn connected(&self) -> bool {
        self.with(|s| s.live.is_some())
    }

    /// Waits for a created message in `channel` containing `needle`, at
    /// index `after` or later; returns its index and the message.
    pub async fn wait_for(&self, channel: &str, needle: &str, after: usize) -> (usize, Created) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = self.with(|s| {
                s.created
                    .iter()
                    .enumerate()
                    .skip(after)
                    .find(|(_, c)| c.channel == channel && c.content.contains(needle))
                    .map(|(i, c)| (i, c.clone()))
            }) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no message containing {needle:?} in {channel}; created:\n{:#?}\nrejected: {:#?}",
                self.created(),
                self.rejected()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn count(&self, channel: &str, needle: &str) -> usize {
        self.with(|s| {
            s.created
                .iter()
                .filter(|c| c.channel == channel && c.content.contains(needle))
                .count()
        })
    }

    pub async fn wait_until(&self, what: &str, f: impl Fn(&FakeDiscord) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !f(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sends a dispatch (op 0) with the next sequence number; kept in the
/// session log for RESUME.
fn dispatch(s: &mut State_, t: &str, d: Value) {
    s.seq += 1;
    let frame = json!({"op": 0, "s": s.seq, "t": t, "d": d}).to_string();
    s.log.push((s.seq, frame.clone()));
    if let Some((_, tx)) = &s.live {
        let _ = tx.send(Frame::Text(frame));
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {TOKEN}"))
}

fn record(inner: &Inner, what: String) {
    inner.state.lock().unwrap().requests.push(what);
}

async fn get_gateway(State(inner): State<Arc<Inner>>) -> Response {
    record(&inner, "GET /api/v10/gateway".to_owned());
    Json(json!({"url": inner.gateway_url})).into_response()
}

async fn get_gateway_bot(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    record(&inner, "GET /api/v10/gateway/bot".to_owned());
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    Json(json!({
        "url": inner.gateway_url, "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
    }))
    .into_response()
}

async fn get_me(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    record(&inner, "GET /api/v10/users/@me".to_owned());
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let mut me = user_json(&BOT_ID.to_string(), "shipgate", true);
    me["verified"] = json!(true);
    me["mfa_enabled"] = json!(false);
    me["flags"] = json!(0);
    Json(me).into_response()
}

async fn fallback(State(inner): State<Arc<Inner>>, req: axum::extract::Request) -> Response {
    record(&inner, format!("{} {}", req.method(), req.uri().path()));
    error(StatusCode::NOT_FOUND, 0, "404: Not Found")
}

async fn create_message(
    State(inner): State<Arc<Inner>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (response, stall) = create(&inner, channel, &headers, &body);
    if stall {
        tokio::time::sleep(Duration::from_secs(120)).await;
    }
    response
}

fn create(inner: &Inner, channel: String, headers: &HeaderMap, body: &str) -> (Response, bool) {
    record(inner, format!("POST /api/v10/channels/{channel}/messages"));
    if !authorized(headers) {
        return (
            error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"),
            false,
        );
    }
    let mut s = inner.state.lock().unwrap();
    let Ok(body) = serde_json::from_str::<Value>(body) else {
        s.rejected.push((400, json!(body)));
        return (
            error(
                StatusCode::BAD_REQUEST,
                50109,
                "The request body contains invalid JSON.",
            ),
            false,
        );
    };
    if !s.channels.contains(&channel) {
        s.rejected.push((404, body));
        return (
            error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
            false,
        );
    }
    let limited = s.rate_limit_after == Some(0);
    s.rate_limit_after = s.rate_limit_after.and_then(|n| n.checked_sub(1));
    if limited {
        s.rate_limited_at.push(Instant::now());
        s.rejected.push((429, body));
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("retry-after", "1"),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "0.500"),
            ("x-ratelimit-bucket", "fakebucket"),
            ("x-ratelimit-scope", "user"),
        ] {
            h.insert(k, v.parse().unwrap());
        }
        return ((
            StatusCode::TOO_MANY_REQUESTS,
            h,
            Json(json!({"message": "You are being rate limited.", "retry_after": 0.5, "global": false})),
        )
            .into_response(), false);
    }
    let content = body["content"].as_str().unwrap_or("").to_owned();
    if content.is_empty() || content.chars().count() > 2000 {
        s.rejected.push((400, body));
        return ((
            StatusCode::BAD_REQUEST,
            Json(json!({
                "code": 50035, "message": "Invalid Form Body",
                "errors": {"content": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 2000 in length."}]}},
            })),
        )
            .into_response(), false);
    }
    let reference = body
        .get("message_reference")
        .filter(|r| !r.is_null())
        .cloned();
    if let Some(r) = &reference {
        let target = r["message_id"].as_str().unwrap_or("");
        let exists = s.messages.get(target) == Some(&channel);
        if !exists && r["fail_if_not_exists"].as_bool() != Some(false) {
            s.rejected.push((400, body));
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    50035,
                    "Invalid Form Body (message_reference: Unknown message)",
                ),
                false,
            );
        }
    }
    let nonce = body.get("nonce").filter(|n| !n.is_null()).cloned();
    let enforce = body["enforce_nonce"].as_bool() == Some(true);
    if enforce
        && let Some(n) = &nonce
        && let Some(existing) = s.by_nonce.get(&n.to_string()).cloned()
    {
        s.deduplicated += 1;
        return (Json(existing).into_response(), false);
    }
    let id = snowflake(&mut s);
    let m = message_json(
        &id,
        &channel,
        user_json(&BOT_ID.to_string(), "shipgate", true),
        &content,
        nonce.as_ref(),
        reference.as_ref(),
    );
    if let Some(n) = &nonce {
        s.by_nonce.insert(n.to_string(), m.clone());
    }
    s.messages.insert(id.clone(), channel.clone());
    let mut stored = m.clone();
    stored["guild_id"] = json!(GUILD_ID.to_string());
    s.history.push(stored);
    s.created.push(Created {
        id,
        channel,
        content,
        message_reference: reference,
        nonce,
        enforce_nonce: enforce,
        allowed_mentions: body.get("allowed_mentions").cloned(),
        at: Instant::now(),
        interaction: None,
    });
    let mut echo = m.clone();
    echo["guild_id"] = json!(GUILD_ID.to_string());
    dispatch(&mut s, "MESSAGE_CREATE", echo);
    let stall = std::mem::take(&mut s.stall_next);
    (Json(m).into_response(), stall)
}

#[derive(serde::Deserialize)]
struct Page {
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /channels/{id}/messages`: with `after`, the oldest `limit` after it;
/// without, the newest `limit`; newest first either way.
async fn get_messages(
    State(inner): State<Arc<Inner>>,
    Path(channel): Path<String>,
    axum::extract::Query(page): axum::extract::Query<Page>,
    headers: HeaderMap,
) -> Response {
    record(
        &inner,
        format!(
            "GET /api/v10/channels/{channel}/messages?after={}",
            page.after.map_or_else(|| "-".to_owned(), |a| a.to_string())
        ),
    );
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let s = inner.state.lock().unwrap();
    if !s.channels.contains(&channel) {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    }
    let id = |m: &Value| {
        m["id"]
            .as_str()
            .and_then(|i| i.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut all: Vec<Value> = s
        .history
        .iter()
        .filter(|m| m["channel_id"].as_str() == Some(channel.as_str()))
        .filter(|m| page.after.is_none_or(|a| id(m) > a))
        .cloned()
        .collect();
    all.sort_by_key(|m| id(m));
    let limit = page.limit.unwrap_or(50).clamp(1, 100);
    let mut chosen: Vec<Value> = if page.after.is_some() {
        all.into_iter().take(limit).collect()
    } else {
        let skip = all.len().saturating_sub(limit);
        all.into_iter().skip(skip).collect()
    };
    chosen.reverse();
    Json(Value::Array(chosen)).into_response()
}

async fn put_commands(
    State(inner): State<Arc<Inner>>,
    Path((app, guild)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    record(
        &inner,
        format!("PUT /api/v10/applications/{app}/guilds/{guild}/commands"),
    );
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    if app != APP_ID.to_string() || guild != GUILD_ID.to_string() {
        return error(StatusCode::NOT_FOUND, 10002, "Unknown Application");
    }
    let Ok(Value::Array(commands)) = serde_json::from_str::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let mut s = inner.state.lock().unwrap();
    s.registered
        .push((guild.clone(), Value::Array(commands.clone())));
    let out: Vec<Value> = commands
        .into_iter()
        .map(|mut c| {
            c["id"] = json!(snowflake(&mut s));
            c["application_id"] = json!(APP_ID.to_string());
            c["guild_id"] = json!(guild);
            c["version"] = json!("1");
            c["default_member_permissions"] = Value::Null;
            c["type"] = json!(1);
            c
        })
        .collect();
    Json(Value::Array(out)).into_response()
}

async fn interaction_callback(
    State(inner): State<Arc<Inner>>,
    Path((id, token)): Path<(String, String)>,
    body: String,
) -> Response {
    record(
        &inner,
        format!("POST /api/v10/interactions/{id}/TOKEN/callback"),
    );
    let mut s = inner.state.lock().unwrap();
    let Some(pos) = s.interactions.iter().position(|i| i.id == id) else {
        return error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    };
    if s.interactions[pos].token != token {
        return error(StatusCode::UNAUTHORIZED, 50027, "Invalid Webhook Token");
    }
    if !s.interactions[pos].callbacks.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        );
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let kind = body["type"].as_u64().unwrap_or(0);
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    s.interactions[pos].callbacks.push(kind);
    s.interactions[pos].callback_data = Some(data.clone());
    let ephemeral = data["flags"].as_u64().unwrap_or(0) & 64 != 0;
    if kind == 4 && !ephemeral {
        let content = data["content"].as_str().unwrap_or("").to_owned();
        if content.is_empty() || content.chars().count() > 2000 {
            return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
        }
        let channel = s.interactions[pos].channel.clone();
        let interaction = s.interactions[pos].id.clone();
        let id = snowflake(&mut s);
        s.interactions[pos].response = Some(id.clone());
        s.messages.insert(id.clone(), channel.clone());
        s.created.push(Created {
            id: id.clone(),
            channel: channel.clone(),
            content: content.clone(),
            message_reference: None,
            nonce: None,
            enforce_nonce: false,
            allowed_mentions: data.get("allowed_mentions").cloned(),
            at: Instant::now(),
            interaction: Some(interaction),
        });
        // Discord posts the answer as a message by the application, which
        // the bot sees over the gateway like its own messages.
        let mut m = message_json(
            &id,
            &channel,
            user_json(&BOT_ID.to_string(), "shipgate", true),
            &content,
            None,
            None,
        );
        m["type"] = json!(20);
        m["guild_id"] = json!(GUILD_ID.to_string());
        dispatch(&mut s, "MESSAGE_CREATE", m);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn get_original(
    State(inner): State<Arc<Inner>>,
    Path((app, token)): Path<(String, String)>,
) -> Response {
    record(
        &inner,
        format!("GET /api/v10/webhooks/{app}/TOKEN/messages/@original"),
    );
    let s = inner.state.lock().unwrap();
    let Some(i) = s.interactions.iter().find(|i| i.token == token) else {
        return error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
    };
    let (true, Some(id)) = (app == APP_ID.to_string(), i.response.clone()) else {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    };
    let c = s.created.iter().find(|c| c.id == id).unwrap();
    let mut m = message_json(
        &id,
        &c.channel,
        user_json(&BOT_ID.to_string(), "shipgate", true),
        &c.content,
        None,
        None,
    );
    m["type"] = json!(20);
    Json(m).into_response()
}

async fn connection(stream: TcpStream, inner: Arc<Inner>) {
    let peer: Option<SocketAddr> = stream.peer_addr().ok();
    let query = Arc::new(Mutex::new(String::new()));
    let q2 = query.clone();
    #[allow(clippy::result_large_err, reason = "tungstenite's callback signature")]
    let callback =
        move |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
              resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
            *q2.lock().unwrap() = req.uri().query().unwrap_or("").to_owned();
            Ok(resp)
        };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let q = query.lock().unwrap().clone();
    inner.state.lock().unwrap().gateway_queries.push(q);
    // Held: the socket is open, but Discord says nothing yet.
    let mut hold = inner.hold.subscribe();
    while *hold.borrow_and_update() {
        if hold.changed().await.is_err() {
            return;
        }
    }
    let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": HEARTBEAT_MS}});
    if ws.send(WsMessage::Text(hello.to_string())).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    let conn = {
        let mut s = inner.state.lock().unwrap();
        s.next_conn += 1;
        s.next_conn
    };
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(t))) => t,
                    Some(Ok(WsMessage::Binary(_) | WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => continue,
                    Some(Ok(WsMessage::Close(frame))) => {
                        let code = frame.map_or(1005, |f| u16::from(f.code));
                        inner.state.lock().unwrap().client_closes.push(code);
                        let _ = ws.flush().await;
                        break;
                    }
                    Some(Err(_)) | None => break,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    let _ = ws.send(WsMessage::Close(Some(CloseFrame { code: CloseCode::Library(4002), reason: "decode error".into() }))).await;
                    break;
                };
                handle_op(&inner, conn, &tx, &v);
            }
            out = rx.recv() => match out {
                Some(Frame::Text(t)) => {
                    if ws.send(WsMessage::Text(t)).await.is_err() {
                        break;
                    }
                }
                Some(Frame::Close(code)) => {
                    let _ = ws.send(WsMessage::Close(Some(CloseFrame { code: CloseCode::Library(code), reason: "reconnect".into() }))).await;
                    // Give the client a moment to read the close frame.
                    let _ = tokio::time::timeout(Duration::from_millis(200), ws.next()).await;
                    break;
                }
                None => break,
            }
        }
    }
    let mut s = inner.state.lock().unwrap();
    if s.live.as_ref().is_some_and(|(c, _)| *c == conn) {
        s.live = None;
    }
    let _ = peer;
}

fn handle_op(inner: &Inner, conn: u64, tx: &mpsc::UnboundedSender<Frame>, v: &Value) {
    let mut s = inner.state.lock().unwrap();
    let token_ok = |d: &Value| {
        let t = d["token"].as_str().unwrap_or("");
        t == TOKEN || t == format!("Bot {TOKEN}")
    };
    match v["op"].as_u64() {
        Some(1) => {
            s.heartbeats += 1;
            let _ = tx.send(Frame::Text(json!({"op": 11}).to_string()));
        }
        Some(2) => {
            let d = &v["d"];
            if !token_ok(d) {
                let _ = tx.send(Frame::Close(4004));
                return;
            }
            let intents = d["intents"].as_u64().unwrap_or(0);
            let mut recorded = d.clone();
            recorded["token"] = json!("<redacted>");
            s.identifies.push(recorded);
            s.content_intent = intents & MESSAGE_CONTENT != 0;
            let session = format!("session-{}", s.identifies.len());
            s.session_id = Some(session.clone());
            s.seq = 0;
            s.log.clear();
            s.live = Some((conn, tx.clone()));
            let ready = json!({
                "v": 10,
                "user": user_json(&BOT_ID.to_string(), "shipgate", true),
                "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
                "session_id": session,
                "resume_gateway_url": inner.gateway_url,
                "shard": [0, 1],
                "application": {"id": APP_ID.to_string(), "flags": 0},
                "private_channels": [],
                "relationships": [],
            });
            dispatch(&mut s, "READY", ready);
        }
        Some(6) => {
            let d = &v["d"];
            let from = d["seq"].as_u64().unwrap_or(0);
            if !token_ok(d) || s.session_id.as_deref() != d["session_id"].as_str() {
                let _ = tx.send(Frame::Text(json!({"op": 9, "d": false}).to_string()));
                return;
            }
            s.resumes.push(from);
            s.live = Some((conn, tx.clone()));
            for (seq, frame) in &s.log {
                if *seq > from {
                    let _ = tx.send(Frame::Text(frame.clone()));
                }
            }
            dispatch(&mut s, "RESUMED", json!({}));
        }
        _ => {}
    }
}

async fn get_application(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    record(&inner, "GET /api/v10/oauth2/applications/@me".to_owned());
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    Json(json!({"id": APP_ID.to_string(), "name": "shipgate", "bot": user_json(&BOT_ID.to_string(), "shipgate", true)}))
        .into_response()
}

async fn get_my_guilds(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    record(&inner, "GET /api/v10/users/@me/guilds".to_owned());
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    if inner.state.lock().unwrap().left_guild {
        return Json(json!([])).into_response();
    }
    Json(json!([{"id": GUILD_ID.to_string(), "name": "Acme", "owner": false, "permissions": "0"}]))
        .into_response()
}

async fn get_channel(
    State(inner): State<Arc<Inner>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&inner, format!("GET /api/v10/channels/{channel}"));
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let s = inner.state.lock().unwrap();
    if !s.channels.contains(&channel) {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    }
    if s.left_guild {
        return error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    let overwrites: Vec<Value> = s
        .denied
        .get(&channel)
        .map(|bits| {
            vec![json!({"id": GUILD_ID.to_string(), "type": 0, "allow": "0", "deny": bits.to_string()})]
        })
        .unwrap_or_default();
    Json(json!({
        "id": channel, "type": 0, "guild_id": GUILD_ID.to_string(), "name": "releases",
        "permission_overwrites": overwrites,
    }))
    .into_response()
}

async fn get_roles(
    State(inner): State<Arc<Inner>>,
    Path(guild): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&inner, format!("GET /api/v10/guilds/{guild}/roles"));
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    // @everyone: View Channel, Send Messages, Read Message History.
    let everyone: u64 = (1 << 10) | (1 << 11) | (1 << 16);
    Json(json!([{"id": guild, "name": "@everyone", "permissions": everyone.to_string(), "position": 0}]))
        .into_response()
}

async fn get_member(
    State(inner): State<Arc<Inner>>,
    Path((guild, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    record(
        &inner,
        format!("GET /api/v10/guilds/{guild}/members/{user}"),
    );
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    Json(json!({"user": user_json(&user, "shipgate", true), "roles": []})).into_response()
}

async fn get_commands(
    State(inner): State<Arc<Inner>>,
    Path((app, guild)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    record(
        &inner,
        format!("GET /api/v10/applications/{app}/guilds/{guild}/commands"),
    );
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    if app != APP_ID.to_string() {
        return error(StatusCode::NOT_FOUND, 10002, "Unknown Application");
    }
    let s = inner.state.lock().unwrap();
    let latest = s
        .registered
        .iter()
        .rev()
        .find(|(g, _)| *g == guild)
        .map_or_else(|| json!([]), |(_, c)| c.clone());
    Json(latest).into_response()
}
