//! The Slack adapter: one channel per product. Commands come in three
//! ways (a prefixed message, a message that starts by mentioning the app,
//! and the slash command), by Socket Mode (a WebSocket opened with the
//! app-level token; [`socket`]) or by the Events API over HTTP
//! (`POST /hooks/slack`, signed; [`signature`]). Answers go out with
//! `chat.postMessage` in the command's thread, as `mrkdwn` with `<@U..>`
//! mentions, split under Slack's limit. Messages with an engine
//! [`Card`] (an RC announcement, an exception request, a ready RC) also
//! carry Block Kit blocks with one-click buttons ([`blocks`]); a click is
//! handed over as the command it stands for ([`events`]), its answer is
//! said privately (`chat.postEphemeral`) when it changed nothing, and the
//! clicked message is updated (`chat.update`) when it did.
//!
//! Slack's API has no idempotency key for `chat.postMessage`, so a post is
//! made at most once per outbox message and part like this: every part
//! carries Slack message metadata (`event_type: shipgate_outbox`, payload
//! `{id, part}`). The daemon tells the adapter which outbox messages were
//! already pending when it started (only those can have been posted by an
//! earlier run that crashed before marking them sent); before the first
//! post of such a message the adapter reads where it would have gone (the
//! thread with `conversations.replies`, else the channel's newest
//! [`HISTORY_SCAN`] messages with `conversations.history`), metadata
//! included. A part found there is taken as sent (its `ts` is the
//! message's id) and not posted again; if that read fails, the message
//! waits for a retry rather than risk a duplicate. Within one run, parts
//! already posted are remembered, so a retry after a failed later part
//! posts only the rest.
//!
//! The calls are made with reqwest and tokio-tungstenite and serde models
//! of our own (see docs/chat.md for why not `slack-morphism`).

pub mod api;
pub mod blocks;
pub mod events;
pub mod signature;
pub mod socket;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::api::{Api, ApiError, Body};
use self::events::Dispatcher;
use super::adapter::{ChatAdapter, Outgoing, SendError};
use super::health::Health;
use super::inbound::ChatInput;
use crate::config::{Adapter, Config, SlackMode};
use crate::engine::Card;

/// Slack's Web API.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";
/// The metadata `event_type` on every message shipgate posts.
pub const METADATA_TYPE: &str = "shipgate_outbox";
/// Newest messages read per channel at start for parts already posted.
pub const HISTORY_SCAN: usize = 200;
const REST_TIMEOUT: Duration = Duration::from_secs(30);

/// A request Slack sent to `/hooks/slack`, signature checked, for the
/// adapter: an Events API callback or an interaction (JSON), or a slash
/// command (its form fields).
#[derive(Debug, Clone)]
pub enum HookRequest {
    Event(Value),
    Slash(BTreeMap<String, String>),
    Interaction(Value),
}

/// A click on one of shipgate's buttons, kept until its answer is sent,
/// so the clicked message can then be updated (`chat.update`).
#[derive(Debug, Clone)]
pub struct Click {
    pub channel: String,
    /// The clicked message.
    pub ts: String,
    pub text: String,
    pub blocks: Vec<Value>,
    pub block_id: String,
    pub action_id: String,
    /// Who clicked (Slack user id).
    pub user: String,
}

/// Clicks by the message id they were handed over with.
pub type Clicks = Arc<Mutex<HashMap<String, Click>>>;

/// The Slack user who clicked, for the message id of a click
/// (`CHANNEL:ACTION_TS:THREAD:USER`); `None` for a typed command.
pub fn clicker(message_id: &str) -> Option<&str> {
    message_id.split(':').nth(3).filter(|u| !u.is_empty())
}

/// The Slack side of shipgate.
pub struct SlackAdapter {
    clicks: Clicks,
    api: Arc<Api>,
    /// (outbox id, part) -> ts of parts already in the channel.
    posted: Mutex<HashMap<(i64, usize), String>>,
    /// Outbox messages pending at start, not yet looked for in Slack.
    unverified: Mutex<BTreeSet<i64>>,
    bot_user: String,
    bot_id: Option<String>,
}

impl SlackAdapter {
    /// Checks the bot token (`auth.test`) and each product channel
    /// (`conversations.info`: it exists, the bot is a member), reads what
    /// was already posted, catches up on what was said while shipgate was
    /// away, and connects (Socket Mode) or starts taking `/hooks/slack`
    /// requests (HTTP mode). The task runs until `shutdown`.
    pub async fn start(
        config: &Config,
        inbound: mpsc::Sender<ChatInput>,
        shutdown: CancellationToken,
        health: Arc<Health>,
        cursors: BTreeMap<String, String>,
        hooks: Option<mpsc::Receiver<HookRequest>>,
        pending_at_start: BTreeSet<i64>,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), String> {
        let s = config.slack.as_ref().ok_or("slack: not configured")?;
        let bot_token = config
            .resolve(&s.bot_token)
            .map_err(|e| format!("slack: bot_token: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(REST_TIMEOUT)
            .use_rustls_tls()
            .build()
            .map_err(|e| format!("slack: cannot create the HTTP client: {e}"))?;
        let base = s.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        let api = Arc::new(Api::new(http.clone(), base, bot_token).counting(health.clone()));
        let me = api
            .call_waiting("auth.test", Body::Form(&[]), 5)
            .await
            .map_err(|e| match &e {
                ApiError::Slack { error, .. } if error == "invalid_auth" || error == "not_authed" => {
                    format!("slack: the bot token is not accepted ({error}); copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions")
                }
                _ => format!("slack: cannot reach the Slack API at {base}: {e}"),
            })?;
        let bot_user = me
            .get("user_id")
            .and_then(Value::as_str)
            .ok_or("slack: auth.test did not say who the bot is")?
            .to_owned();
        let bot_id = me.get("bot_id").and_then(Value::as_str).map(str::to_owned);
        let mut problems = Vec::new();
        let mut channels = Vec::new();
        for p in &config.products {
            let Some(channel) = p.channels.get(Adapter::Slack) else {
                continue;
            };
            channels.push(channel.to_owned());
            let info = api
                .call_waiting(
                    "conversations.info",
                    Body::Form(&[("channel", channel.to_owned())]),
                    5,
                )
                .await;
            match info {
                Ok(v) => {
                    let member = v
                        .pointer("/channel/is_member")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    if !member {
                        problems.push(format!(
                            "the bot is not in the channel `{channel}` of product `{}`: type `/invite @{}` in it",
                            p.name,
                            me.get("user").and_then(Value::as_str).unwrap_or("shipgate")
                        ));
                    }
                }
                Err(ApiError::Slack { error, needed: Some(scope) }) => problems.push(format!(
                    "cannot read the channel `{channel}` of product `{}`: {error}; add the `{scope}` bot scope (OAuth & Permissions) and reinstall the app",
                    p.name
                )),
                Err(ApiError::Slack { error, needed: None }) => problems.push(format!(
                    "cannot read the channel `{channel}` of product `{}`: {error} (is it the channel id, like `C0123ABCD`, and is the bot in it?)",
                    p.name
                )),
                Err(e) => return Err(format!("slack: cannot reach the Slack API at {base}: {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(format!("slack: {}", problems.join("; ")));
        }
        // Read access to history (`channels:history`) is needed to find
        // what an earlier run posted; missing it is said now.
        for channel in &channels {
            let form = [("channel", channel.clone()), ("limit", "1".to_owned())];
            if let Err(e) = api
                .call_waiting("conversations.history", Body::Form(&form), 5)
                .await
            {
                return Err(match &e {
                    ApiError::Slack {
                        error,
                        needed: Some(scope),
                    } => format!(
                        "slack: cannot read the channel `{channel}`'s history: {error}; add the `{scope}` bot scope (OAuth & Permissions) and reinstall the app"
                    ),
                    _ => format!("slack: cannot read the channel `{channel}`'s history: {e}"),
                });
            }
        }
        let dispatcher = Arc::new(Dispatcher::new(
            config,
            api.clone(),
            inbound,
            health.clone(),
            bot_user.clone(),
            bot_id.clone(),
            cursors,
        ));
        let adapter = Self {
            clicks: dispatcher.clicks(),
            api: api.clone(),
            posted: Mutex::new(HashMap::new()),
            unverified: Mutex::new(pending_at_start),
            bot_user,
            bot_id,
        };
        let task = match s.mode {
            SlackMode::Socket => {
                let app_token = s
                    .app_token
                    .as_ref()
                    .ok_or("slack: `mode: Socket` needs `app_token`")?;
                let app_token = config
                    .resolve(app_token)
                    .map_err(|e| format!("slack: app_token: {e}"))?;
                let app_api = Api::new(http, base, app_token).counting(health.clone());
                socket::start(
                    app_api,
                    dispatcher,
                    health,
                    Duration::from_secs(config.chat.unreachable_after),
                    shutdown,
                )
                .await?
            }
            SlackMode::Http => {
                let mut hooks =
                    hooks.ok_or("slack: `mode: Http` without the /hooks/slack route")?;
                // Requests queue on the channel while this catches up.
                dispatcher.catch_up().await;
                let d = dispatcher.clone();
                tokio::spawn(async move {
                    loop {
                        let req = tokio::select! {
                            () = shutdown.cancelled() => return,
                            r = hooks.recv() => match r { Some(r) => r, None => return },
                        };
                        match req {
                            // In order, like Socket Mode's events.
                            HookRequest::Event(v) => d.event(&v).await,
                            other => {
                                let d = d.clone();
                                tokio::spawn(async move { d.hook(other).await });
                            }
                        }
                    }
                })
            }
        };
        tracing::info!(mode = ?s.mode, "slack adapter ready");
        Ok((adapter, task))
    }

    /// Looks where outbox message `id` would have been posted (the
    /// thread, else the channel's newest messages) for parts an earlier
    /// run posted, and records them.
    async fn find_posted(
        &self,
        id: i64,
        channel: &str,
        thread: Option<&str>,
    ) -> Result<(), SendError> {
        let mut form = vec![
            ("channel", channel.to_owned()),
            ("limit", HISTORY_SCAN.to_string()),
            ("include_all_metadata", "true".to_owned()),
        ];
        let method = match thread {
            Some(t) => {
                form.push(("ts", t.to_owned()));
                "conversations.replies"
            }
            None => "conversations.history",
        };
        let page = self
            .api
            .call(method, Body::Form(&form))
            .await
            .map_err(send_error)?;
        let messages = page
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for m in &messages {
            let mine = m.get("user").and_then(Value::as_str) == Some(self.bot_user.as_str())
                || (self.bot_id.is_some()
                    && m.get("bot_id").and_then(Value::as_str) == self.bot_id.as_deref());
            if !mine
                || m.pointer("/metadata/event_type").and_then(Value::as_str) != Some(METADATA_TYPE)
                || m.pointer("/metadata/event_payload/id")
                    .and_then(Value::as_i64)
                    != Some(id)
            {
                continue;
            }
            let part = m
                .pointer("/metadata/event_payload/part")
                .and_then(Value::as_u64);
            let ts = m.get("ts").and_then(Value::as_str);
            if let (Some(part), Some(ts)) = (part, ts) {
                tracing::info!(
                    id,
                    ts,
                    "slack: a message an earlier run posted is not posted again"
                );
                self.remember(id, usize::try_from(part).unwrap_or(usize::MAX), ts);
            }
        }
        Ok(())
    }

    fn already(&self, id: i64, part: usize) -> Option<String> {
        self.posted.lock().ok()?.get(&(id, part)).cloned()
    }

    fn remember(&self, id: i64, part: usize, ts: &str) {
        if let Ok(mut map) = self.posted.lock() {
            map.insert((id, part), ts.to_owned());
        }
    }
}

impl SlackAdapter {
    /// Says `content` to `user` only (`chat.postEphemeral`), in `thread`.
    /// Ephemeral messages are not kept by Slack, so one repeated after a
    /// crash is seen twice by that one person, never by the channel.
    async fn ephemeral(
        &self,
        message: &Outgoing,
        content: &str,
        user: &str,
        thread: Option<&str>,
    ) -> Result<String, SendError> {
        let mut first = None;
        for part in text::split(content) {
            let mut body = json!({
                "channel": message.channel,
                "user": user,
                "text": part,
            });
            if let Some(t) = thread {
                body["thread_ts"] = json!(t);
            }
            let answer = self
                .api
                .call("chat.postEphemeral", Body::Json(&body))
                .await
                .map_err(send_error)?;
            let ts = answer
                .get("message_ts")
                .and_then(Value::as_str)
                .unwrap_or("");
            first.get_or_insert_with(|| format!("{}:{ts}", message.channel));
        }
        Ok(first.unwrap_or_else(|| message.channel.clone()))
    }

    /// Updates the message a click (handed over as `to`) was on: its
    /// button gone, who did it in its place. A click this run did not
    /// see (made before a restart) leaves the message as it is.
    async fn update_clicked(&self, to: &str) {
        let Some(click) = self.clicks.lock().ok().and_then(|mut m| m.remove(to)) else {
            return;
        };
        let Some(blocks) = blocks::after_click(
            &click.blocks,
            &click.block_id,
            &click.action_id,
            &click.user,
        ) else {
            return;
        };
        let body = json!({
            "channel": click.channel,
            "ts": click.ts,
            "text": click.text,
            "blocks": blocks,
        });
        if let Err(e) = self
            .api
            .call_waiting("chat.update", Body::Json(&body), 3)
            .await
        {
            tracing::warn!(error = %e, channel = %click.channel, ts = %click.ts, "slack: cannot update the clicked message");
        }
    }
}

/// The thread a reply goes to: the `ts` of the thread's root in a message
/// id written `CHANNEL:TS` or `CHANNEL:TS:THREAD_TS`.
pub fn thread_of(reply_to: &str) -> Option<&str> {
    let mut parts = reply_to.split(':');
    let _channel = parts.next()?;
    let ts = parts.next()?;
    Some(parts.next().unwrap_or(ts)).filter(|t| !t.is_empty())
}

fn send_error(e: ApiError) -> SendError {
    match e {
        ApiError::RateLimited(d) => SendError::RateLimited(d),
        ApiError::Transient(t) => SendError::Transient(format!("slack: {t}")),
        e if e.is_transient() => SendError::Transient(format!("slack: {e}")),
        e => SendError::Permanent(format!("slack: {e}")),
    }
}

impl ChatAdapter for SlackAdapter {
    fn name(&self) -> &'static str {
        "slack"
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let content = text::render(&message.text, &message.mentions);
        let thread = message.reply_to.as_deref().and_then(thread_of);
        // The answer to a click: said privately when the click did
        // nothing (refused, or nothing to do); else posted, and the
        // clicked message updated.
        let click = match &message.card {
            Some(Card::Answer { to, done }) => clicker(to).map(|user| (to.clone(), user, *done)),
            _ => None,
        };
        if let Some((_, user, false)) = &click {
            return self
                .ephemeral(message, &content, user, thread)
                .await
                .map(Some);
        }
        let blocks = message
            .card
            .as_ref()
            .and_then(|c| blocks::blocks(c, &content, &message.mentions));
        let mut parts = text::split(&content);
        if blocks.is_some() {
            // One message: the blocks show it all, the text is the
            // notification's fallback.
            parts.truncate(1);
        }
        let unverified = self
            .unverified
            .lock()
            .map(|set| set.contains(&message.id))
            .unwrap_or(true);
        if unverified {
            self.find_posted(message.id, &message.channel, thread)
                .await?;
            if let Ok(mut set) = self.unverified.lock() {
                set.remove(&message.id);
            }
        }
        let mut first: Option<String> = None;
        for (i, part) in parts.iter().enumerate() {
            if let Some(ts) = self.already(message.id, i) {
                first.get_or_insert_with(|| format!("{}:{ts}", message.channel));
                continue;
            }
            let mut body = json!({
                "channel": message.channel,
                "text": part,
                "unfurl_links": false,
                "unfurl_media": false,
                "metadata": {
                    "event_type": METADATA_TYPE,
                    "event_payload": { "id": message.id, "part": i },
                },
            });
            if let Some(t) = thread {
                body["thread_ts"] = json!(t);
            }
            if let Some(b) = &blocks {
                body["blocks"] = json!(b);
            }
            let answer = self
                .api
                .call("chat.postMessage", Body::Json(&body))
                .await
                .map_err(send_error)?;
            let ts = answer.get("ts").and_then(Value::as_str).ok_or_else(|| {
                SendError::Transient("slack: chat.postMessage gave no ts".to_owned())
            })?;
            self.remember(message.id, i, ts);
            first.get_or_insert_with(|| format!("{}:{ts}", message.channel));
        }
        if let Some((to, _, true)) = &click {
            self.update_clicked(to).await;
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_go_to_the_commands_thread() {
        let cases = [
            ("C1:111.1", Some("111.1")),
            ("C1:222.2:111.1", Some("111.1")),
            ("C1", None),
            ("C1:", None),
        ];
        for (id, want) in cases {
            assert_eq!(thread_of(id), want, "{id}");
        }
    }
}
