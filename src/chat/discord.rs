//! The Discord adapter (serenity): one channel per product. The gateway
//! (intents: guild messages and message content) brings commands in;
//! answers go out over REST as replies to the command, with `<@id>`
//! mentions, split under Discord's length limit, and the outbox id as the
//! message nonce so a resend after a restart is not a duplicate.
//!
//! Reconnecting and resuming after a gateway drop is serenity's work; this
//! adapter stops the shards on the daemon's shutdown. Slash commands
//! ([`slash`]) are the same commands, run as `/sg command: ...`.

pub mod slash;
pub mod text;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serenity::all::{
    ChannelId, ClientBuilder, ConnectionStage, Context, CreateAllowedMentions,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage, EventHandler,
    GatewayIntents, GetMessages, HttpBuilder, Interaction, LightMethod, Message, MessageId,
    MessageReference, MessageType, Nonce, Ready, Request, ResumedEvent, Route, UserId,
};
use serenity::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::adapter::{ChatAdapter, Outgoing, SendError};
use super::error_chain::error_chain;
use super::health::{Health, Outage};
use super::inbound::{ChatInput, Inbound, catch_up_key, unreachable_key};
use crate::config::{Adapter, Config};

/// How long start-up waits for the gateway's READY.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one REST call may take.
const REST_TIMEOUT: Duration = Duration::from_secs(30);

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("discord: {what}: {e}")
}

/// How far a (possibly split) message got: parts already sent survive a
/// failed later part, so a retry sends only the rest.
#[derive(Debug, Default)]
struct Progress {
    sent: usize,
    first_id: Option<String>,
}

/// The Discord side of shipgate.
pub struct DiscordAdapter {
    http: Arc<serenity::http::Http>,
    rest: reqwest::Client,
    /// Outbox id -> parts sent so far.
    progress: Mutex<HashMap<i64, Progress>>,
    /// Channel -> when its rate-limit bucket has room again.
    not_before: Mutex<HashMap<u64, Instant>>,
}

struct Handler {
    config: Arc<Config>,
    inbound: mpsc::Sender<ChatInput>,
    health: Arc<Health>,
    /// Channel -> the newest message id handed over (or passed over as
    /// history): where catch-up reads on from.
    cursors: Mutex<HashMap<u64, u64>>,
    /// Held while catching up, so live messages wait their turn.
    catching_up: tokio::sync::Mutex<()>,
    me: UserId,
    ready: Mutex<Option<oneshot::Sender<()>>>,
    /// The slash command's name, e.g. `sg`.
    slash_name: String,
    /// The chat prefix as a command starts, e.g. `!sg `.
    invocation: String,
}

impl Handler {
    async fn hand_over(&self, message: Inbound) {
        if self
            .inbound
            .send(ChatInput::Message(message))
            .await
            .is_err()
        {
            tracing::warn!("discord: the daemon no longer takes messages");
        }
    }

    /// Moves a channel's cursor forward (never back); whether it moved.
    fn advance(&self, channel: u64, id: u64) -> bool {
        let Ok(mut map) = self.cursors.lock() else {
            return false;
        };
        let at = map.entry(channel).or_insert(0);
        if id > *at {
            *at = id;
            true
        } else {
            false
        }
    }

    fn cursor(&self, channel: u64) -> Option<u64> {
        self.cursors.lock().ok()?.get(&channel).copied()
    }

    /// A person's message in a product's channel, if it may be a command.
    fn inbound_of(&self, msg: &Message) -> Option<Inbound> {
        if msg.author.bot || msg.author.id == self.me || msg.webhook_id.is_some() {
            return None;
        }
        if !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply) {
            return None;
        }
        let channel = msg.channel_id.get().to_string();
        let product = self.config.product_by_channel(Adapter::Discord, &channel)?;
        Some(Inbound {
            adapter: "discord",
            product: product.name.clone(),
            from: self.person(msg.author.id),
            text: msg.content.clone(),
            message_id: msg.id.get().to_string(),
            missed: None,
        })
    }

    /// Reads what was said in every product channel since the bot last read
    /// it (a new session: the start, or a reconnect that could not resume)
    /// and hands it over, oldest first, marked as missed. A channel the bot
    /// never read starts from its newest message: history is not run.
    async fn catch_up(&self, ctx: &Context) {
        let _turn = self.catching_up.lock().await;
        self.health.set(
            &catch_up_key("discord"),
            "discord: catching up on messages sent while shipgate was offline".to_owned(),
        );
        let channels: Vec<u64> = self
            .config
            .products
            .iter()
            .filter_map(|p| p.channels.get(Adapter::Discord)?.parse::<u64>().ok())
            .filter(|c| *c != 0)
            .collect();
        let mut moved = Vec::new();
        for channel in channels {
            let id = ChannelId::new(channel);
            match self.cursor(channel) {
                None => match id.messages(&ctx.http, GetMessages::new().limit(1)).await {
                    Ok(newest) => {
                        let at = newest.first().map_or(0, |m| m.id.get());
                        if let Ok(mut map) = self.cursors.lock() {
                            map.insert(channel, at);
                        }
                        moved.push((channel.to_string(), at.to_string()));
                    }
                    Err(e) => {
                        tracing::warn!(channel, error = %error_chain(&e), "discord: cannot read the channel's newest message")
                    }
                },
                Some(mut after) => {
                    for _ in 0..MAX_CATCH_UP_PAGES {
                        // Message ids are never 0; 1 reads from the start.
                        let from = MessageId::new(after.max(1));
                        let mut page = match id
                            .messages(&ctx.http, GetMessages::new().after(from).limit(100))
                            .await
                        {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::warn!(channel, error = %error_chain(&e), "discord: cannot read missed messages");
                                break;
                            }
                        };
                        page.sort_by_key(|m| m.id.get());
                        page.retain(|m| m.id.get() > after);
                        let full = page.len() >= 100;
                        for m in &page {
                            if let Some(mut message) = self.inbound_of(m) {
                                message.missed = chrono::DateTime::from_timestamp(
                                    m.timestamp.unix_timestamp(),
                                    0,
                                );
                                self.hand_over(message).await;
                            }
                            after = m.id.get();
                        }
                        if page.is_empty() || !full {
                            break;
                        }
                    }
                    if self.advance(channel, after) {
                        moved.push((channel.to_string(), after.to_string()));
                    }
                }
            }
        }
        let _ = self
            .inbound
            .send(ChatInput::Progress {
                adapter: "discord",
                cursors: moved,
                caught_up: true,
            })
            .await;
    }

    fn person(&self, user: UserId) -> String {
        let id = user.get().to_string();
        self.config
            .person_by_chat(Adapter::Discord, &id)
            .map_or(id, |p| p.name.clone())
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(
            user = %ready.user.name,
            guilds = ready.guilds.len(),
            "discord: connected to the gateway"
        );
        if let Ok(mut slot) = self.ready.lock()
            && let Some(tx) = slot.take()
        {
            let _ = tx.send(());
        }
        // A new session: what was said while there was none is read now.
        self.catch_up(&ctx).await;
        // After READY is reported, so a slow registration never holds up
        // the start. Registering replaces what was there, so a reconnect
        // that brings READY again changes nothing.
        let definition = slash::definition(&self.slash_name, &self.config.prefix);
        for g in &ready.guilds {
            match g.id.set_commands(&ctx.http, vec![definition.clone()]).await {
                Ok(_) => tracing::info!(
                    guild = %g.id,
                    command = %format!("/{}", self.slash_name),
                    "discord: slash command registered"
                ),
                Err(e) => tracing::warn!(
                    guild = %g.id,
                    error = %error_chain(&e),
                    "discord: cannot register the slash command; typed commands still work \
                     (\"Missing Access\" means the bot was invited without the \
                     applications.commands scope)"
                ),
            }
        }
    }

    /// A slash command: answered at once with the command as typed, which
    /// then stands for it (the engine's answers reply to that message).
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Interaction::Command(cmd) = interaction else {
            return;
        };
        if cmd.data.name != self.slash_name || cmd.user.bot {
            return;
        }
        let channel = cmd.channel_id.get().to_string();
        let product = self.config.product_by_channel(Adapter::Discord, &channel);
        let text = slash::command_text(&cmd, &self.invocation);
        let answer = match product {
            Some(_) => CreateInteractionResponseMessage::new()
                .content(text.clone())
                .allowed_mentions(CreateAllowedMentions::new()),
            None => CreateInteractionResponseMessage::new()
                .content("shipgate serves no product in this channel.")
                .ephemeral(true),
        };
        // Without this answer the user sees the command fail and may run
        // it again, so a command that could not be answered is not run.
        if let Err(e) = cmd
            .create_response(&ctx.http, CreateInteractionResponse::Message(answer))
            .await
        {
            tracing::warn!(error = %error_chain(&e), "discord: cannot answer a slash command; it was not run");
            return;
        }
        let Some(product) = product else {
            return;
        };
        // The answer's message id is the command's id from here on; if it
        // cannot be read, the interaction's id keys it and replies go to
        // the channel without a reference.
        let message_id = match cmd.get_response(&ctx.http).await {
            Ok(m) => m.id.get().to_string(),
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "discord: cannot read a slash command's answer");
                format!("i{}", cmd.id.get())
            }
        };
        let message = Inbound {
            adapter: "discord",
            product: product.name.clone(),
            from: self.person(cmd.user.id),
            text,
            message_id,
            missed: None,
        };
        self.hand_over(message).await;
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("discord: gateway session resumed");
    }

    /// New messages only: edits arrive as `message_update`, which is not
    /// handled, so an edited message is never a second command.
    async fn message(&self, _ctx: Context, msg: Message) {
        let Some(message) = self.inbound_of(&msg) else {
            return;
        };
        // After a catch-up in progress, in order.
        let _turn = self.catching_up.lock().await;
        self.hand_over(message).await;
        let channel = msg.channel_id.get();
        if self.advance(channel, msg.id.get()) {
            let _ = self
                .inbound
                .send(ChatInput::Progress {
                    adapter: "discord",
                    cursors: vec![(channel.to_string(), msg.id.get().to_string())],
                    caught_up: false,
                })
                .await;
        }
    }
}

impl DiscordAdapter {
    /// Checks the token, connects to the gateway and waits for READY; the
    /// returned task runs the shard until `shutdown`.
    pub async fn start(
        config: &Config,
        inbound: mpsc::Sender<ChatInput>,
        shutdown: CancellationToken,
        health: Arc<Health>,
        cursors: std::collections::BTreeMap<String, String>,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), String> {
        let d = config.discord.as_ref().ok_or("discord: not configured")?;
        let token = config.resolve(&d.token).map_err(|e| err("token", e))?;
        let rest = reqwest::Client::builder()
            .timeout(REST_TIMEOUT)
            .use_rustls_tls()
            .build()
            .map_err(|e| err("cannot create the HTTP client", e))?;
        let mut builder = HttpBuilder::new(token.expose()).client(rest.clone());
        if let Some(base) = &d.api_base {
            // serenity sends to another base only with its rate limiter
            // off; `send` honours 429s and rate-limit headers itself.
            builder = builder
                .proxy(base.trim_end_matches('/'))
                .ratelimiter_disabled(true);
        }
        let http = builder.build();
        let me = http.get_current_user().await.map_err(|e| {
            let status = match &e {
                serenity::Error::Http(h) => h.status_code().map(|s| s.as_u16()),
                _ => None,
            };
            if status == Some(401) {
                err("the bot token is not accepted", error_chain(&e))
            } else {
                err("cannot reach the Discord API", error_chain(&e))
            }
        })?;
        let intents = GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
        let (ready_tx, ready_rx) = oneshot::channel();
        let handler = Handler {
            config: Arc::new(config.clone()),
            inbound,
            health: health.clone(),
            cursors: Mutex::new(
                cursors
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
                    .collect(),
            ),
            catching_up: tokio::sync::Mutex::new(()),
            me: me.id,
            ready: Mutex::new(Some(ready_tx)),
            slash_name: slash::command_name(&config.prefix),
            invocation: crate::chat::command::invocation(&config.prefix),
        };
        let mut client = ClientBuilder::new_with_http(http, intents)
            .event_handler(handler)
            .await
            .map_err(|e| err("cannot create the client", e))?;
        let http = client.http.clone();
        let shards = client.shard_manager.clone();
        tokio::spawn(watch_gateway(
            shards.clone(),
            health,
            Duration::from_secs(config.chat.unreachable_after),
            shutdown.clone(),
        ));
        let (failed_tx, failed_rx) = oneshot::channel::<String>();
        let task = tokio::spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), shards.shutdown_all()).await;
                    tracing::info!("discord: gateway closed");
                }
                r = client.start() => {
                    let why = match r {
                        Ok(()) => "the gateway connection ended".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    tracing::error!(error = %why, "discord: the gateway client stopped");
                    let _ = failed_tx.send(why);
                }
            }
        });
        tokio::select! {
            r = ready_rx => if r.is_err() {
                task.abort();
                return Err("discord: the gateway client stopped before READY".to_owned());
            },
            Ok(why) = failed_rx => return Err(err("cannot connect to the gateway", why)),
            () = tokio::time::sleep(READY_TIMEOUT) => {
                task.abort();
                return Err(format!("discord: no READY from the gateway within {} s", READY_TIMEOUT.as_secs()));
            }
        }
        tracing::info!(bot = %me.name, "discord adapter ready");
        Ok((
            Self {
                http,
                rest,
                progress: Mutex::new(HashMap::new()),
                not_before: Mutex::new(HashMap::new()),
            },
            task,
        ))
    }

    /// How long the channel's bucket (or the global one) is still empty.
    fn wait_for(&self, channel: u64) -> Option<Duration> {
        let now = Instant::now();
        let map = self.not_before.lock().ok()?;
        [channel, GLOBAL]
            .iter()
            .filter_map(|k| map.get(k))
            .filter(|t| **t > now)
            .max()
            .map(|t| *t - now)
    }

    fn hold(&self, key: u64, wait: Duration) {
        if let Ok(mut map) = self.not_before.lock() {
            map.insert(key, Instant::now() + wait);
        }
    }

    /// POSTs one message; reads rate-limit headers on the way.
    async fn post(&self, channel: ChannelId, body: &CreateMessage) -> Result<Message, SendError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| SendError::Permanent(format!("cannot encode the message: {e}")))?;
        let request = Request::new(
            Route::ChannelMessages {
                channel_id: channel,
            },
            LightMethod::Post,
        )
        .body(Some(bytes))
        .build(&self.rest, self.http.token(), self.http.proxy.as_deref())
        .map_err(|e| SendError::Permanent(format!("cannot build the request: {e}")))?;
        let response = request
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("discord: {}", error_chain(&e))))?;
        let status = response.status();
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if header("x-ratelimit-remaining").as_deref() == Some("0")
            && let Some(secs) =
                header("x-ratelimit-reset-after").and_then(|s| s.parse::<f64>().ok())
        {
            self.hold(channel.get(), seconds(secs));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| SendError::Transient(format!("discord: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice::<Message>(&body)
                .map_err(|e| SendError::Transient(format!("discord: unreadable answer: {e}")));
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let message = json
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_owned();
        let what = format!("discord: {status} {message}").trim().to_owned();
        match status.as_u16() {
            429 => {
                let secs = json
                    .get("retry_after")
                    .and_then(serde_json::Value::as_f64)
                    .or_else(|| header("retry-after").and_then(|s| s.parse().ok()))
                    .unwrap_or(1.0);
                let wait = seconds(secs);
                let global = json.get("global").and_then(serde_json::Value::as_bool) == Some(true)
                    || header("x-ratelimit-global").is_some();
                self.hold(if global { GLOBAL } else { channel.get() }, wait);
                Err(SendError::RateLimited(wait))
            }
            500..=599 => Err(SendError::Transient(what)),
            _ => Err(SendError::Permanent(what)),
        }
    }
}

/// Pages of 100 missed messages read per channel on catch-up, at most.
const MAX_CATCH_UP_PAGES: usize = 50;

/// Makes a gateway that has been disconnected for longer than `after` a
/// readiness problem, until it is connected again.
async fn watch_gateway(
    shards: Arc<serenity::gateway::ShardManager>,
    health: Arc<Health>,
    after: Duration,
    shutdown: CancellationToken,
) {
    let mut outage = Outage::new(
        unreachable_key("discord"),
        "discord: the gateway".to_owned(),
        after,
    );
    let mut seen_connected = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let stages: Vec<ConnectionStage> = shards
            .runners
            .lock()
            .await
            .values()
            .map(|r| r.stage)
            .collect();
        let connected = !stages.is_empty()
            && stages
                .iter()
                .all(|s| matches!(s, ConnectionStage::Connected));
        if connected {
            seen_connected = true;
            if outage.ok(&health) {
                tracing::info!("discord: the gateway is connected again");
            }
        } else if seen_connected {
            let stage = stages.first().map_or_else(
                || "no shard".to_owned(),
                |s| format!("{s:?}").to_lowercase(),
            );
            outage.failed(&health, Instant::now(), &format!("shard {stage}"));
        }
    }
}

/// The key of the global rate-limit bucket (no channel has id 0).
const GLOBAL: u64 = 0;

fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.clamp(0.0, 3600.0)).unwrap_or(Duration::from_secs(1))
}

/// The nonce for part `part` of outbox message `id` (at most 25 characters).
fn nonce(id: i64, part: usize) -> String {
    if part == 0 {
        format!("sg{id}")
    } else {
        format!("sg{id}.{part}")
    }
}

impl ChatAdapter for DiscordAdapter {
    fn name(&self) -> &'static str {
        "discord"
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let channel = message
            .channel
            .parse::<u64>()
            .ok()
            .filter(|c| *c != 0)
            .map(ChannelId::new)
            .ok_or_else(|| {
                SendError::Permanent(format!(
                    "discord: `{}` is not a channel id",
                    message.channel
                ))
            })?;
        let (content, users) = text::render_mentions(&message.text, &message.mentions);
        let parts = text::split(&content, text::LIMIT);
        let reply = message
            .reply_to
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok())
            .filter(|r| *r != 0)
            .map(MessageId::new);
        let mut progress = match self.progress.lock() {
            Ok(mut map) => map.remove(&message.id).unwrap_or_default(),
            Err(_) => Progress::default(),
        };
        for (i, part) in parts.iter().enumerate().skip(progress.sent) {
            if let Some(wait) = self.wait_for(channel.get()) {
                self.keep(message.id, progress);
                return Err(SendError::RateLimited(wait));
            }
            let mentions = CreateAllowedMentions::new()
                .users(users.iter().copied().map(UserId::new))
                .replied_user(false);
            let mut body = CreateMessage::new()
                .content(part.clone())
                .allowed_mentions(mentions)
                .nonce(Nonce::String(nonce(message.id, i)))
                .enforce_nonce(true);
            if i == 0
                && let Some(reply) = reply
            {
                body = body.reference_message(
                    MessageReference::from((channel, reply)).fail_if_not_exists(false),
                );
            }
            match self.post(channel, &body).await {
                Ok(sent) => {
                    progress.sent = i + 1;
                    progress
                        .first_id
                        .get_or_insert_with(|| sent.id.get().to_string());
                }
                Err(e) => {
                    self.keep(message.id, progress);
                    return Err(e);
                }
            }
        }
        Ok(progress.first_id)
    }
}

impl DiscordAdapter {
    fn keep(&self, id: i64, progress: Progress) {
        if progress.sent > 0
            && let Ok(mut map) = self.progress.lock()
        {
            map.insert(id, progress);
        }
    }
}
