//! What Slack tells the adapter, the same whichever way it arrives (Socket
//! Mode or `/hooks/slack`): channel messages and app mentions (Events
//! API), slash commands; and catch-up of what was said while shipgate was
//! away (`conversations.history` from each channel's stored cursor).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::api::{Api, Body};
use super::{Click, Clicks, HookRequest, blocks, text};
use crate::chat::health::Health;
use crate::chat::inbound::{ChatInput, Inbound, catch_up_key};
use crate::config::{Adapter, Config};

/// Pages of 200 missed messages read per channel on catch-up, at most.
const MAX_CATCH_UP_PAGES: usize = 25;

/// A Slack `ts` (`1712345678.000100`) as a number that orders.
fn order(ts: &str) -> (u64, u64) {
    let (s, f) = ts.split_once('.').unwrap_or((ts, "0"));
    (s.parse().unwrap_or(0), f.parse().unwrap_or(0))
}

pub struct Dispatcher {
    config: Arc<Config>,
    api: Arc<Api>,
    inbound: mpsc::Sender<ChatInput>,
    health: Arc<Health>,
    pub bot_user: String,
    bot_id: Option<String>,
    invocation: String,
    /// The slash command, with its `/`.
    slash: String,
    /// Channel -> the newest message `ts` handed over.
    cursors: Mutex<HashMap<String, String>>,
    /// Held while catching up, so live messages wait their turn.
    catching_up: tokio::sync::Mutex<()>,
    /// Clicks handed over and not answered yet (for `chat.update`).
    clicks: Clicks,
}

/// Clicks remembered for updating their message, at most.
const MAX_CLICKS: usize = 1000;

impl Dispatcher {
    pub fn new(
        config: &Config,
        api: Arc<Api>,
        inbound: mpsc::Sender<ChatInput>,
        health: Arc<Health>,
        bot_user: String,
        bot_id: Option<String>,
        cursors: BTreeMap<String, String>,
    ) -> Self {
        let name = config
            .slack
            .as_ref()
            .and_then(|s| s.slash_command.clone())
            .unwrap_or_else(|| crate::chat::discord::slash::command_name(&config.prefix));
        Self {
            config: Arc::new(config.clone()),
            api,
            inbound,
            health,
            bot_user,
            bot_id,
            invocation: crate::chat::command::invocation(&config.prefix),
            slash: format!("/{name}"),
            cursors: Mutex::new(cursors.into_iter().collect()),
            catching_up: tokio::sync::Mutex::new(()),
            clicks: Clicks::default(),
        }
    }

    async fn hand_over(&self, message: Inbound) {
        if self
            .inbound
            .send(ChatInput::Message(message))
            .await
            .is_err()
        {
            tracing::warn!("slack: the daemon no longer takes messages");
        }
    }

    /// Moves a channel's cursor forward (never back); whether it moved.
    fn advance(&self, channel: &str, ts: &str) -> bool {
        let Ok(mut map) = self.cursors.lock() else {
            return false;
        };
        match map.get(channel) {
            Some(at) if order(at) >= order(ts) => false,
            _ => {
                map.insert(channel.to_owned(), ts.to_owned());
                true
            }
        }
    }

    fn person(&self, user: &str) -> String {
        self.config
            .person_by_chat(Adapter::Slack, user)
            .map_or_else(|| user.to_owned(), |p| p.name.clone())
    }

    /// A person's message in a product's channel, if it may be a command.
    fn inbound_of(&self, channel: &str, m: &Value) -> Option<Inbound> {
        // Edits, joins, bot posts and the like carry a subtype.
        if m.get("subtype").is_some() || m.get("bot_id").is_some() {
            return None;
        }
        let user = m.get("user").and_then(Value::as_str)?;
        if user == self.bot_user {
            return None;
        }
        let product = self.config.product_by_channel(Adapter::Slack, channel)?;
        let ts = m.get("ts").and_then(Value::as_str)?;
        let message_id = match m.get("thread_ts").and_then(Value::as_str) {
            Some(root) if root != ts => format!("{channel}:{ts}:{root}"),
            _ => format!("{channel}:{ts}"),
        };
        let raw = m.get("text").and_then(Value::as_str).unwrap_or("");
        Some(Inbound {
            adapter: "slack",
            product: product.name.clone(),
            from: self.person(user),
            text: text::command_text(raw, &self.bot_user, &self.invocation),
            message_id,
            missed: None,
        })
    }

    /// An Events API payload (`event_callback`): a channel message or an
    /// app mention. Both may come for one message; the ledger keys them by
    /// the message's `ts`, so it runs once.
    pub async fn event(&self, payload: &Value) {
        let Some(event) = payload.get("event") else {
            return;
        };
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "message" && kind != "app_mention" {
            return;
        }
        if self.bot_id.is_some()
            && event.get("bot_id").and_then(Value::as_str) == self.bot_id.as_deref()
        {
            return;
        }
        let Some(channel) = event.get("channel").and_then(Value::as_str) else {
            return;
        };
        let Some(message) = self.inbound_of(channel, event) else {
            return;
        };
        let ts = event
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let _turn = self.catching_up.lock().await;
        self.hand_over(message).await;
        if self.advance(channel, &ts) {
            let _ = self
                .inbound
                .send(ChatInput::Progress {
                    adapter: "slack",
                    cursors: vec![(channel.to_owned(), ts)],
                    caught_up: false,
                })
                .await;
        }
    }

    /// What a slash command is acknowledged with (within Slack's three
    /// seconds): nothing for a product's channel, else an ephemeral note.
    pub fn slash_ack(&self, fields: &BTreeMap<String, String>) -> Value {
        let channel = fields.get("channel_id").map_or("", String::as_str);
        if self
            .config
            .product_by_channel(Adapter::Slack, channel)
            .is_some()
        {
            json!({})
        } else {
            json!({
                "response_type": "ephemeral",
                "text": "shipgate serves no product in this channel.",
            })
        }
    }

    /// A slash command, after its acknowledgement: the command is posted
    /// to the channel as typed (`<@U..>: /sg status`), and that message
    /// stands for it, so the answer goes to its thread. A command whose
    /// message cannot be posted is not run.
    pub async fn slash(&self, fields: &BTreeMap<String, String>) {
        let get = |k: &str| fields.get(k).map_or("", String::as_str);
        if get("command") != self.slash {
            tracing::warn!(
                command = get("command"),
                "slack: a slash command that is not shipgate's"
            );
            return;
        }
        let channel = get("channel_id");
        let Some(product) = self.config.product_by_channel(Adapter::Slack, channel) else {
            return;
        };
        let user = get("user_id");
        let typed = get("text").trim();
        let echo = json!({
            "channel": channel,
            "text": format!("<@{user}>: `{} {}`", self.slash, text::escape(typed)),
        });
        let ts = match self
            .api
            .call_waiting("chat.postMessage", Body::Json(&echo), 3)
            .await
        {
            Ok(v) => v.get("ts").and_then(Value::as_str).map(str::to_owned),
            Err(e) => {
                tracing::warn!(error = %e, "slack: cannot post a slash command's message; it was not run");
                None
            }
        };
        let Some(ts) = ts else {
            return;
        };
        let message = Inbound {
            adapter: "slack",
            product: product.name.clone(),
            from: self.person(user),
            text: format!("{}{typed}", self.invocation),
            message_id: format!("{channel}:{ts}"),
            missed: None,
        };
        self.hand_over(message).await;
    }

    /// A request that came over HTTP.
    pub async fn hook(&self, req: HookRequest) {
        match req {
            HookRequest::Event(v) => self.event(&v).await,
            HookRequest::Slash(f) => self.slash(&f).await,
            HookRequest::Interaction(v) => self.interaction(&v).await,
        }
    }

    /// The clicks handed over and not answered yet, shared with the
    /// adapter that sends the answers.
    pub fn clicks(&self) -> Clicks {
        self.clicks.clone()
    }

    /// A click on one of shipgate's buttons (`block_actions`), by Socket
    /// Mode or `/hooks/slack`: handed over as the command it stands for,
    /// typed by the person who clicked, in the clicked message's thread.
    /// Its message id `CHANNEL:ACTION_TS:THREAD:USER` makes a delivery
    /// Slack repeats the same input (run once), and marks the answer as
    /// one to a click (said privately when the click did nothing).
    pub async fn interaction(&self, p: &Value) {
        let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "block_actions" {
            tracing::debug!(kind, "slack: an interaction shipgate does not handle");
            return;
        }
        let s = |ptr: &str| p.pointer(ptr).and_then(Value::as_str);
        let (Some(user), Some(channel)) = (
            s("/user/id"),
            s("/channel/id").or_else(|| s("/container/channel_id")),
        ) else {
            return;
        };
        let Some(message_ts) = s("/container/message_ts").or_else(|| s("/message/ts")) else {
            return;
        };
        let root = s("/message/thread_ts")
            .or_else(|| s("/container/thread_ts"))
            .unwrap_or(message_ts);
        let Some(product) = self.config.product_by_channel(Adapter::Slack, channel) else {
            return;
        };
        let Some(action) = p.pointer("/actions/0") else {
            return;
        };
        let a = |k: &str| action.get(k).and_then(Value::as_str).unwrap_or("");
        let Some(command) = blocks::command_of(a("action_id"), a("value")) else {
            tracing::debug!(
                action = a("action_id"),
                "slack: a button that is not shipgate's"
            );
            return;
        };
        let action_ts = a("action_ts");
        let key = if action_ts.is_empty() {
            s("/trigger_id").unwrap_or("")
        } else {
            action_ts
        };
        if key.is_empty() || key.contains(':') {
            return;
        }
        let message_id = format!("{channel}:{key}:{root}:{user}");
        if let Ok(mut clicks) = self.clicks.lock()
            && clicks.len() < MAX_CLICKS
        {
            clicks.entry(message_id.clone()).or_insert_with(|| Click {
                channel: channel.to_owned(),
                ts: message_ts.to_owned(),
                text: s("/message/text").unwrap_or("").to_owned(),
                blocks: p
                    .pointer("/message/blocks")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                block_id: a("block_id").to_owned(),
                action_id: a("action_id").to_owned(),
                user: user.to_owned(),
            });
        }
        let message = Inbound {
            adapter: "slack",
            product: product.name.clone(),
            from: self.person(user),
            text: format!("{}{command}", self.invocation),
            message_id,
            missed: None,
        };
        self.hand_over(message).await;
    }

    /// Reads what was said in every product channel since its cursor and
    /// hands it over, oldest first, marked as missed; a channel never read
    /// starts from its newest message (history is not run). Then the
    /// adapter is caught up.
    pub async fn catch_up(&self) {
        let _turn = self.catching_up.lock().await;
        self.health.set(
            &catch_up_key("slack"),
            "slack: catching up on messages sent while shipgate was offline".to_owned(),
        );
        let channels: Vec<String> = self
            .config
            .products
            .iter()
            .filter_map(|p| p.channels.get(Adapter::Slack).map(str::to_owned))
            .collect();
        let mut moved = Vec::new();
        for channel in channels {
            let cursor = self
                .cursors
                .lock()
                .ok()
                .and_then(|m| m.get(&channel).cloned());
            match cursor {
                None => {
                    let form = [("channel", channel.clone()), ("limit", "1".to_owned())];
                    match self
                        .api
                        .call_waiting("conversations.history", Body::Form(&form), 5)
                        .await
                    {
                        Ok(v) => {
                            let at = v
                                .pointer("/messages/0/ts")
                                .and_then(Value::as_str)
                                .unwrap_or("0")
                                .to_owned();
                            if self.advance(&channel, &at) {
                                moved.push((channel.clone(), at));
                            }
                        }
                        Err(e) => {
                            tracing::warn!(channel, error = %e, "slack: cannot read the channel's newest message")
                        }
                    }
                }
                Some(after) => {
                    let mut missed: Vec<Value> = Vec::new();
                    let mut page_cursor: Option<String> = None;
                    for _ in 0..MAX_CATCH_UP_PAGES {
                        let mut form = vec![
                            ("channel", channel.clone()),
                            ("oldest", after.clone()),
                            ("inclusive", "false".to_owned()),
                            ("limit", "200".to_owned()),
                        ];
                        if let Some(c) = &page_cursor {
                            form.push(("cursor", c.clone()));
                        }
                        let page = match self
                            .api
                            .call_waiting("conversations.history", Body::Form(&form), 5)
                            .await
                        {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::warn!(channel, error = %e, "slack: cannot read missed messages");
                                break;
                            }
                        };
                        missed.extend(
                            page.get("messages")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default(),
                        );
                        page_cursor = page
                            .pointer("/response_metadata/next_cursor")
                            .and_then(Value::as_str)
                            .filter(|c| !c.is_empty())
                            .map(str::to_owned);
                        if page_cursor.is_none() {
                            break;
                        }
                    }
                    missed
                        .sort_by_key(|m| order(m.get("ts").and_then(Value::as_str).unwrap_or("0")));
                    let mut last = after.clone();
                    for m in &missed {
                        let Some(ts) = m.get("ts").and_then(Value::as_str) else {
                            continue;
                        };
                        if order(ts) <= order(&after) {
                            continue;
                        }
                        if let Some(mut message) = self.inbound_of(&channel, m) {
                            message.missed = ts
                                .split('.')
                                .next()
                                .and_then(|s| s.parse::<i64>().ok())
                                .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
                            self.hand_over(message).await;
                        }
                        last = ts.to_owned();
                    }
                    if self.advance(&channel, &last) {
                        moved.push((channel.clone(), last));
                    }
                }
            }
        }
        let _ = self
            .inbound
            .send(ChatInput::Progress {
                adapter: "slack",
                cursors: moved,
                caught_up: true,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn timestamps_order_as_numbers() {
        assert!(order("1712345678.000100") < order("1712345678.000200"));
        assert!(order("999999999.999999") < order("1000000000.000000"));
        assert_eq!(order("garbage"), (0, 0));
    }
}
