//! A chat message from a platform, already mapped to shipgate's names.

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
}
