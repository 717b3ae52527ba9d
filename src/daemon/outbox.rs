//! The outbox dispatcher: sends stored messages in order per product,
//! retries with backoff, honours rate limits, and marks each sent. A
//! restart neither loses nor repeats one (the outbox id travels with the
//! message as the platform's idempotency key where it has one).
//!
//! Two clocks, each for what it is good at. Every time the outbox records
//! (a failed message's `retry_at`) is the daemon's clock, so a manual clock
//! is the only clock the outbox shows. A wait before the next try (a
//! platform's `Retry-After`, the backoff) is real time, measured in memory
//! on tokio's monotonic clock ([`Waits`]): it passes while a manual clock
//! stands still, and a wall-clock jump neither shortens nor stretches it.
//! The waits are not stored, so after a restart every pending message is
//! tried at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
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

/// The products whose first pending message failed: for each, that
/// message's id and when (on tokio's monotonic clock) it may be tried
/// again. Until then the product is left out, so its later messages wait
/// behind it.
#[derive(Debug, Default)]
pub struct Waits {
    by_product: BTreeMap<String, (i64, Instant)>,
    /// [`Shared::outbox_retries`] when the waits were last cleared.
    retries: u64,
}

impl Waits {
    /// The messages still waited on at `now`, for
    /// [`Store::outbox_to_send`]. Forgets the waits that are over, and all
    /// of them if `retries` ([`Shared::outbox_retries`]) changed since the
    /// last call: `POST /-/outbox/retry` means now.
    pub fn held(&mut self, retries: u64, now: Instant) -> Vec<i64> {
        if retries != self.retries {
            self.retries = retries;
            self.by_product.clear();
        }
        self.by_product.retain(|_, (_, until)| *until > now);
        self.by_product.values().map(|(id, _)| *id).collect()
    }

    /// Message `id`, the first pending one of `product`, failed at `now`:
    /// it (and its product) may be tried again after `wait`.
    pub fn wait(&mut self, product: &str, id: i64, now: Instant, wait: Duration) {
        // A wait too long for the clock (a platform's absurd Retry-After)
        // becomes the permanent failures' wait.
        let until = now
            .checked_add(wait)
            .unwrap_or_else(|| now + PERMANENT_RETRY);
        self.by_product.insert(product.to_owned(), (id, until));
    }

    /// When the first wait ends, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.by_product.values().map(|(_, until)| *until).min()
    }
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

/// Sends what is pending and not waiting for a retry, once. Returns true
/// if anything was attempted.
pub async fn send_pending(
    shared: &Shared,
    store: &mut Store,
    adapters: &Adapters,
    waits: &mut Waits,
) -> bool {
    let held = waits.held(shared.outbox_retries(), Instant::now());
    let pending = match store.outbox_to_send(&held, 100) {
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
                waits.wait(&m.product, m.id, Instant::now(), wait);
                // For operators: when, on the daemon's clock, the next try
                // is expected (under a manual clock, its time plus the wait).
                let now = shared.clock.now();
                let retry_at = chrono::TimeDelta::from_std(wait)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(now);
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
/// their backoff (as with `POST /-/outbox/retry`, the dispatcher forgets
/// its waits).
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
    let mut waits = Waits::default();
    loop {
        send_pending(&shared, &mut store, &adapters, &mut waits).await;
        // At least once a second, and as soon as a wait ends.
        let tick = Instant::now() + Duration::from_secs(1);
        let wake = waits.next_due().map_or(tick, |due| due.min(tick));
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = shared.outbox_ready.notified() => {}
            () = tokio::time::sleep_until(wake) => {}
        }
    }
    // Flush what can be sent quickly; the rest stays stored for next time.
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        send_pending(&shared, &mut store, &adapters, &mut waits),
    )
    .await;
    tracing::info!("outbox dispatcher stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_wait_holds_its_message_until_it_is_over() {
        let t0 = Instant::now();
        let mut waits = Waits::default();
        assert!(waits.held(0, t0).is_empty());
        assert_eq!(waits.next_due(), None);
        waits.wait("web", 7, t0, 2 * S);
        waits.wait("api", 9, t0, 5 * S);
        assert_eq!(waits.next_due(), Some(t0 + 2 * S));
        assert_eq!(waits.held(0, t0 + S), [9, 7]);
        // At its end a wait is over (a 0.5 s Retry-After is not 1 s).
        assert_eq!(waits.held(0, t0 + 2 * S), [9]);
        assert_eq!(waits.next_due(), Some(t0 + 5 * S));
        assert!(waits.held(0, t0 + 5 * S).is_empty());
        assert_eq!(waits.next_due(), None);
    }

    #[test]
    fn a_new_failure_of_a_product_replaces_its_wait() {
        let t0 = Instant::now();
        let mut waits = Waits::default();
        waits.wait("web", 7, t0, 10 * S);
        // Tried again (after a retry-now) and failed again, shorter.
        waits.wait("web", 7, t0 + S, S);
        assert_eq!(waits.next_due(), Some(t0 + 2 * S));
        assert_eq!(waits.held(0, t0 + S), [7]);
        assert!(waits.held(0, t0 + 2 * S).is_empty());
    }

    #[test]
    fn retry_now_forgets_every_wait() {
        let t0 = Instant::now();
        let mut waits = Waits::default();
        waits.wait("web", 7, t0, PERMANENT_RETRY);
        assert_eq!(waits.held(0, t0), [7]);
        // `POST /-/outbox/retry` bumped the counter: nothing is held.
        assert!(waits.held(1, t0).is_empty());
        assert_eq!(waits.next_due(), None);
        // A failure after it waits as usual; the same count clears nothing.
        waits.wait("web", 7, t0, S);
        assert_eq!(waits.held(1, t0), [7]);
        assert!(waits.held(2, t0).is_empty());
    }

    #[test]
    fn an_absurd_wait_is_capped_not_a_panic() {
        let t0 = Instant::now();
        let mut waits = Waits::default();
        waits.wait("web", 7, t0, Duration::MAX);
        assert_eq!(waits.next_due(), Some(t0 + PERMANENT_RETRY));
    }

    #[test]
    fn backoff_doubles_up_to_256_seconds() {
        assert_eq!(backoff(0), S);
        assert_eq!(backoff(3), 8 * S);
        assert_eq!(backoff(8), 256 * S);
        assert_eq!(backoff(40), 256 * S);
    }
}
