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
    ChannelId, ClientBuilder, Context, CreateAllowedMentions, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, EventHandler, GatewayIntents, HttpBuilder,
    Interaction, LightMethod, Message, MessageId, MessageReference, MessageType, Nonce, Ready,
    Request, ResumedEvent, Route, UserId,
};
use serenity::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::adapter::{ChatAdapter, Outgoing, SendError};
use super::inbound::Inbound;
use crate::config::{Adapter, Config};

/// How long start-up waits for the gateway's READY.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one REST call may take.
const REST_TIMEOUT: Duration = Duration::from_secs(30);

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("discord: {what}: {e}")
}

/// An error with its causes (serenity's own messages hide them).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
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
    inbound: mpsc::Sender<Inbound>,
    me: UserId,
    ready: Mutex<Option<oneshot::Sender<()>>>,
    /// The slash command's name, e.g. `sg`.
    slash_name: String,
    /// The chat prefix as a command starts, e.g. `!sg `.
    invocation: String,
}

impl Handler {
    async fn hand_over(&self, message: Inbound) {
        if self.inbound.send(message).await.is_err() {
            tracing::warn!("discord: the daemon no longer takes messages");
        }
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
                    error = %chain(&e),
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
            tracing::warn!(error = %chain(&e), "discord: cannot answer a slash command; it was not run");
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
                tracing::warn!(error = %chain(&e), "discord: cannot read a slash command's answer");
                format!("i{}", cmd.id.get())
            }
        };
        let message = Inbound {
            adapter: "discord",
            product: product.name.clone(),
            from: self.person(cmd.user.id),
            text,
            message_id,
        };
        self.hand_over(message).await;
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("discord: gateway session resumed");
    }

    /// New messages only: edits arrive as `message_update`, which is not
    /// handled, so an edited message is never a second command.
    async fn message(&self, _ctx: Context, msg: Message) {
        if msg.author.bot || msg.author.id == self.me || msg.webhook_id.is_some() {
            return;
        }
        if !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply) {
            return;
        }
        let channel = msg.channel_id.get().to_string();
        let Some(product) = self.config.product_by_channel(Adapter::Discord, &channel) else {
            return;
        };
        let message = Inbound {
            adapter: "discord",
            product: product.name.clone(),
            from: self.person(msg.author.id),
            text: msg.content.clone(),
            message_id: msg.id.get().to_string(),
        };
        self.hand_over(message).await;
    }
}

impl DiscordAdapter {
    /// Checks the token, connects to the gateway and waits for READY; the
    /// returned task runs the shard until `shutdown`.
    pub async fn start(
        config: &Config,
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
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
                err("the bot token is not accepted", chain(&e))
            } else {
                err("cannot reach the Discord API", chain(&e))
            }
        })?;
        let intents = GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
        let (ready_tx, ready_rx) = oneshot::channel();
        let handler = Handler {
            config: Arc::new(config.clone()),
            inbound,
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
            .map_err(|e| SendError::Transient(format!("discord: {}", chain(&e))))?;
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
