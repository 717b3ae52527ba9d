//! The outbox dispatcher: sends stored messages in order per product,
//! retries with backoff, honours rate limits, and marks each sent. A
//! restart neither loses nor repeats one (the outbox id travels with the
//! message as the platform's idempotency key where it has one).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::chat::adapter::{ChatAdapter, Outgoing, SendError};
use crate::chat::console::ConsoleAdapter;
use crate::chat::discord::DiscordAdapter;
use crate::chat::health::Health;
use crate::chat::matrix::MatrixAdapter;
use crate::chat::slack::SlackAdapter;
use crate::config::{Adapter, Config};
use crate::store::{OutboxMessage, Store};

/// The adapters the daemon runs, and which one serves each product.
#[derive(Default)]
pub struct Adapters {
    pub console: Option<ConsoleAdapter>,
    pub matrix: Option<MatrixAdapter>,
    pub discord: Option<DiscordAdapter>,
    pub slack: Option<SlackAdapter>,
}

impl Adapters {
    /// The platform and channel a product's messages go to.
    pub fn route(&self, config: &Config, product: &str) -> Option<(Adapter, String)> {
        let p = config.product(product)?;
        if self.matrix.is_some()
            && let Some(room) = p.channels.get(Adapter::Matrix)
        {
            return Some((Adapter::Matrix, room.to_owned()));
        }
        if self.discord.is_some()
            && let Some(channel) = p.channels.get(Adapter::Discord)
        {
            return Some((Adapter::Discord, channel.to_owned()));
        }
        if self.slack.is_some()
            && let Some(channel) = p.channels.get(Adapter::Slack)
        {
            return Some((Adapter::Slack, channel.to_owned()));
        }
        if self.console.is_some() {
            return Some((
                Adapter::Console,
                p.channels
                    .get(Adapter::Console)
                    .unwrap_or(&p.name)
                    .to_owned(),
            ));
        }
        None
    }

    async fn send(
        &self,
        adapter: Adapter,
        message: &Outgoing,
    ) -> Result<Option<String>, SendError> {
        match adapter {
            Adapter::Console => match &self.console {
                Some(c) => c.send(message).await,
                None => Err(SendError::Permanent(
                    "the console adapter is not running".to_owned(),
                )),
            },
            Adapter::Matrix => match &self.matrix {
                Some(m) => m.send(message).await,
                None => Err(SendError::Permanent(
                    "the matrix adapter is not running".to_owned(),
                )),
            },
            Adapter::Discord => match &self.discord {
                Some(d) => d.send(message).await,
                None => Err(SendError::Permanent(
                    "the discord adapter is not running".to_owned(),
                )),
            },
            Adapter::Slack => match &self.slack {
                Some(s) => s.send(message).await,
                None => Err(SendError::Permanent(
                    "the slack adapter is not running".to_owned(),
                )),
            },
        }
    }
}

/// How long a message that failed for good (a missing channel, a lost
/// permission) waits before the next try. It is kept, not dropped: nothing
/// acknowledged is lost, and the usual cause is fixed by a person, after
/// which `POST /-/outbox/retry` sends it at once.
pub const PERMANENT_RETRY: Duration = Duration::from_secs(300);

/// Backoff for the `attempts`th failure: 1 s, 2 s, 4 s ... at most 256 s.
pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(8))
}

fn outgoing(config: &Config, adapter: Adapter, channel: String, m: &OutboxMessage) -> Outgoing {
    let mentions: BTreeMap<String, Option<String>> = m
        .mentions
        .iter()
        .map(|name| {
            let id = config
                .person(name)
                .and_then(|p| p.chat_id(adapter))
                .map(str::to_owned);
            (name.clone(), id)
        })
        .collect();
    Outgoing {
        id: m.id,
        product: m.product.clone(),
        channel,
        text: m.text.clone(),
        mentions,
        reply_to: m.reply_to.clone(),
        // Written by this build's ledger; a card that does not read (an
        // older or newer shape) leaves the plain text.
        card: m
            .card_json
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok()),
    }
}

/// Sends what is pending, once. Returns true if anything was attempted.
pub async fn send_pending(shared: &Shared, store: &mut Store, adapters: &Adapters) -> bool {
    let pending = match store.pending_outbox(Utc::now(), 100) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return false;
        }
    };
    let mut blocked: BTreeSet<String> = BTreeSet::new();
    let mut attempted = false;
    for m in pending {
        if blocked.contains(&m.product) {
            continue;
        }
        let Some((adapter, channel)) = adapters.route(&shared.config(), &m.product) else {
            tracing::error!(product = %m.product, id = m.id, "no chat adapter serves this product; message kept");
            blocked.insert(m.product.clone());
            continue;
        };
        attempted = true;
        let out = outgoing(&shared.config(), adapter, channel, &m);
        match adapters.send(adapter, &out).await {
            Ok(remote) => {
                tracing::debug!(id = m.id, "outbox: sent");
                shared.metrics.sent(true);
                if let Err(e) = store.mark_sent(m.id, remote.as_deref()) {
                    tracing::error!(error = %e, id = m.id, "sent, but could not mark the message sent");
                }
            }
            Err(err) => {
                if matches!(err, SendError::RateLimited(_)) {
                    shared.metrics.rate_limited();
                } else {
                    shared.metrics.sent(false);
                }
                let wait = match &err {
                    SendError::RateLimited(d) => *d,
                    SendError::Transient(_) => backoff(m.attempts),
                    SendError::Permanent(_) => PERMANENT_RETRY,
                };
                if matches!(err, SendError::Permanent(_)) {
                    tracing::error!(
                        error = %err, id = m.id, product = %m.product, retry_in = ?wait,
                        "a message cannot be delivered; it is kept and this product's later \
                         messages wait behind it. Fix the bot's access to the channel, then \
                         POST /-/outbox/retry (or wait for the retry)"
                    );
                } else if matches!(err, SendError::RateLimited(_)) {
                    tracing::warn!(
                        id = m.id, product = %m.product, wait = ?wait,
                        "rate limited by the chat server (429); waiting as it asked, then sending again"
                    );
                } else {
                    tracing::warn!(error = %err, id = m.id, retry_in = ?wait, "could not send a message");
                }
                let retry_at = Utc::now()
                    + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::seconds(60));
                if let Err(e) = store.mark_attempt_failed(m.id, &err.to_string(), retry_at) {
                    tracing::error!(error = %e, id = m.id, "could not record a failed send");
                }
                // Keep order: nothing later for this product goes first.
                blocked.insert(m.product.clone());
            }
        }
    }
    attempted
}

/// When a chat problem goes away (the Matrix bot is back in its room),
/// the messages waiting for a retry are due at once, instead of after
/// their backoff.
pub async fn retry_on_recovery(
    shared: Arc<Shared>,
    health: Arc<Health>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = health.recovered.notified() => {}
        }
        match shared.retry_outbox_now().await {
            Ok(n) => tracing::info!(messages = n, "outbox: a chat problem is over; retrying now"),
            Err(e) => tracing::warn!(error = %e, "outbox: cannot reschedule after a chat problem"),
        }
    }
}

pub async fn run(
    shared: Arc<Shared>,
    mut store: Store,
    adapters: Adapters,
    shutdown: CancellationToken,
) {
    loop {
        send_pending(&shared, &mut store, &adapters).await;
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = shared.outbox_ready.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    // Flush what can be sent quickly; the rest stays stored for next time.
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        send_pending(&shared, &mut store, &adapters),
    )
    .await;
    tracing::info!("outbox dispatcher stopped");
}
