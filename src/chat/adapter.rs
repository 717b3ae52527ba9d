//! The one small trait every chat platform implements.

use std::collections::BTreeMap;
use std::time::Duration;

/// A message to deliver, already resolved to the platform's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The outbox id: unique, stable across restarts; platforms that take a
    /// transaction id or nonce get it, so a resend is not a duplicate.
    pub id: i64,
    pub product: String,
    /// The platform's channel or room for the product.
    pub channel: String,
    pub text: String,
    /// Mentioned people: name -> their id on this platform (if known).
    pub mentions: BTreeMap<String, Option<String>>,
    /// The platform id of the message this replies to.
    pub reply_to: Option<String>,
    /// The structure behind the text (Slack shows it as Block Kit with
    /// buttons; the others post the text).
    pub card: Option<crate::engine::Card>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Rate limited: try again after this long.
    #[error("rate limited; retry after {0:?}")]
    RateLimited(Duration),
    /// A failure that may pass (network, server error).
    #[error("{0}")]
    Transient(String),
    /// A failure that will not pass by retrying (bad channel, forbidden).
    #[error("{0}")]
    Permanent(String),
}

/// A chat platform, as the outbox dispatcher sees it.
pub trait ChatAdapter: Send + Sync {
    /// `console`, `discord`, `matrix`.
    fn name(&self) -> &'static str;

    /// Delivers one message; returns the platform's id for it.
    fn send(
        &self,
        message: &Outgoing,
    ) -> impl std::future::Future<Output = Result<Option<String>, SendError>> + Send;
}
