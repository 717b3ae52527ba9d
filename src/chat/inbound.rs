//! A chat message from a platform, already mapped to shipgate's names, and
//! the catch-up marks that travel with messages from adapter to store.

use chrono::{DateTime, Utc};

/// What an adapter hands the daemon: a product (by channel), a person (by
/// chat id; the platform id itself when nobody in the config claims it),
/// the text, and the platform's message id (idempotency and replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// `matrix`, `discord`.
    pub adapter: &'static str,
    pub product: String,
    pub from: String,
    pub text: String,
    pub message_id: String,
    /// When it was sent, if it was read on catch-up (sent while shipgate
    /// was stopped, starting, or cut off from the platform).
    pub missed: Option<DateTime<Utc>>,
}

/// What flows from an adapter to the daemon, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatInput {
    Message(Inbound),
    /// Every message handed over before this is stored once this is
    /// handled: the adapter's read position may move on to `cursors`
    /// (key -> cursor, stored durably), and, with `caught_up`, the adapter
    /// has read everything said while it was away (readiness).
    Progress {
        adapter: &'static str,
        cursors: Vec<(String, String)>,
        caught_up: bool,
    },
}

/// The readiness problem key an adapter holds while it connects or
/// catches up.
pub fn catch_up_key(adapter: &str) -> String {
    format!("{adapter}:catch-up")
}

/// The readiness problem key for a platform that cannot be reached.
pub fn unreachable_key(adapter: &str) -> String {
    format!("{adapter}:unreachable")
}
