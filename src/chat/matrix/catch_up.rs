//! Reading: the sync loop and catch-up. The bot remembers how far it read
//! (the sync token, and per room the newest event), and on start and after
//! an outage hands over what was said since, each message once, in order,
//! marked as missed when it was not read live.

use std::collections::BTreeMap;
use std::time::Duration;

use matrix_sdk::config::SyncSettings;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::UInt;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter as SyncFilter;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
    SyncStateEvent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, RoomState};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::chat::health::{Health, Outage};
use crate::chat::inbound::{ChatInput, Inbound, catch_up_key};

/// The cursor key of the sync token (rooms are keyed by their id).
pub(super) const SYNC_KEY: &str = "";
/// Events per room one sync returns at most; older ones of a longer gap
/// are paged in with `/messages`.
const TIMELINE_LIMIT: u32 = 100;
/// Pages of older events read to close one gap, at most.
const MAX_PAGES: usize = 20;
/// A message this much older than when it is read was not read live.
const LIVE_MS: u64 = 60_000;

pub(super) fn sync_settings(token: Option<String>) -> SyncSettings {
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(UInt::from(TIMELINE_LIMIT));
    let settings = SyncSettings::default().filter(SyncFilter::FilterDefinition(filter));
    match token {
        Some(t) => settings.token(t),
        None => settings,
    }
}

/// How far the bot has read a room: the newest event handled (or passed
/// over as history), by the homeserver's timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomCursor {
    /// Milliseconds since the epoch (`origin_server_ts`).
    pub ts: u64,
    pub event: String,
}

impl RoomCursor {
    pub fn parse(s: &str) -> Option<Self> {
        let (ts, event) = s.split_once(' ')?;
        Some(Self {
            ts: ts.parse().ok()?,
            event: event.to_owned(),
        })
    }

    pub fn encode(&self) -> String {
        format!("{} {}", self.ts, self.event)
    }
}

/// A room timeline event, as catch-up sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen<M> {
    pub ts: u64,
    pub id: String,
    pub what: SeenKind<M>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeenKind<M> {
    /// A message that may be a command.
    Message(M),
    /// The bot joined (first time, or back after an invite).
    OwnJoin,
    Other,
}

/// Which messages of a room's timeline to hand over, each with whether it
/// was missed (not read live), and the room's new cursor.
///
/// - A room without a cursor is new to the bot: only what was said after
///   the bot joined counts; without its join in view, nothing does.
/// - Otherwise, everything after the cursor counts. What the sync brought
///   after its token (from `synced_from` on, and after the bot's own join
///   when the timeline shows one) is after the cursor by construction, and
///   counts whatever its timestamp: the homeserver stamps an event before it
///   orders it, so under load an event can carry an older time than one
///   ordered before it (a reply of the bot's, say), and comparing times
///   would drop it. Only events paged back, or said before the bot's join
///   (a re-invite shows history), are compared with the cursor's time. It
///   was missed when it
///   is read on catch-up (`catching_up`), said before the bot's join in
///   the same timeline (it was out of the room: a re-invite), or older
///   than a minute.
pub fn select<M: Clone>(
    cursor: Option<&RoomCursor>,
    events: &[Seen<M>],
    synced_from: usize,
    catching_up: bool,
    now_ms: u64,
) -> (Vec<(M, Option<u64>)>, Option<RoomCursor>) {
    let join = events
        .iter()
        .rposition(|e| matches!(e.what, SeenKind::OwnJoin));
    let newest = events.last().map(|e| RoomCursor {
        ts: e.ts,
        event: e.id.clone(),
    });
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let SeenKind::Message(m) = &e.what else {
            continue;
        };
        let counts = match cursor {
            None => join.is_some_and(|j| i > j),
            Some(c) => {
                let after_token = i >= synced_from && join.is_none_or(|j| i > j);
                e.id != c.event && (after_token || e.ts >= c.ts)
            }
        };
        if !counts {
            continue;
        }
        let missed = catching_up
            || (cursor.is_some() && join.is_some_and(|j| i < j))
            || now_ms.saturating_sub(e.ts) > LIVE_MS;
        out.push((m.clone(), missed.then_some(e.ts)));
    }
    (out, newest.or_else(|| cursor.cloned()))
}

fn ms_to_time(ms: u64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
}

/// The sync loop: reads every room's timeline in order, hands messages over
/// (caught up ones marked), and moves the cursors after them.
pub(super) struct Reader {
    pub(super) client: Client,
    pub(super) inbound: mpsc::Sender<ChatInput>,
    pub(super) health: std::sync::Arc<Health>,
    pub(super) by_room: BTreeMap<OwnedRoomId, String>,
    pub(super) people: BTreeMap<String, String>,
    pub(super) own: Option<OwnedUserId>,
    /// Where each message handed over was typed (its thread), for answers.
    pub(super) threads: super::send::Threads,
    pub(super) rooms: BTreeMap<OwnedRoomId, RoomCursor>,
    /// The sync token read up to; `None`: never synced with catch-up, so
    /// the first sync is history.
    pub(super) token: Option<String>,
    pub(super) outage: Outage,
}

impl Reader {
    pub(super) async fn run(
        mut self,
        first: matrix_sdk::sync::SyncResponse,
        shutdown: CancellationToken,
    ) {
        self.health.set(
            &catch_up_key("matrix"),
            "matrix: catching up on messages sent while shipgate was offline".to_owned(),
        );
        let mut catching_up = true;
        let mut response = Some(first);
        loop {
            if let Some(r) = response.take() {
                if !self.handle(r, catching_up).await {
                    return;
                }
                catching_up = false;
            }
            // Our own loop of long polls: `Client::sync` waits at least a
            // second between polls, which would delay every answer.
            let poll = self
                .client
                .sync_once(sync_settings(self.token.clone()).timeout(Duration::from_secs(10)));
            tokio::select! {
                () = shutdown.cancelled() => return,
                r = poll => match r {
                    Ok(r) => {
                        if self.outage.ok(&self.health) {
                            tracing::info!("matrix: the homeserver answers again; catching up");
                            catching_up = true;
                        }
                        response = Some(r);
                    }
                    // A homeserver restart fails polls: wait and poll again
                    // from the stored token.
                    Err(e) => {
                        tracing::warn!(error = %e, "matrix: sync failed; retrying");
                        self.outage.failed(&self.health, std::time::Instant::now(), &e.to_string());
                        catching_up = true;
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                },
            }
        }
    }

    /// Hands over what one sync brought; false when the daemon no longer
    /// takes messages.
    async fn handle(&mut self, r: matrix_sdk::sync::SyncResponse, catching_up: bool) -> bool {
        let history = self.token.is_none();
        let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let mut moved = Vec::new();
        for (room_id, update) in &r.rooms.joined {
            let Some(product) = self.by_room.get(room_id).cloned() else {
                continue;
            };
            let cursor = self.rooms.get(room_id).cloned();
            let mut events: Vec<Seen<Inbound>> = Vec::new();
            if let Some(c) = &cursor
                && update.timeline.limited
                && !history
            {
                let older = self
                    .older(room_id, update.timeline.prev_batch.clone(), c.ts)
                    .await;
                events.extend(older.iter().filter_map(|e| self.seen(&product, e)));
            }
            // Events before this index were paged back; the rest came with
            // the sync, after its token.
            let synced_from = events.len();
            events.extend(
                update
                    .timeline
                    .events
                    .iter()
                    .filter_map(|e| self.seen(&product, e)),
            );
            let (messages, new_cursor) = if history {
                (
                    Vec::new(),
                    events
                        .last()
                        .map(|e| RoomCursor {
                            ts: e.ts,
                            event: e.id.clone(),
                        })
                        .or(cursor.clone()),
                )
            } else {
                select(cursor.as_ref(), &events, synced_from, catching_up, now_ms)
            };
            for (mut m, missed) in messages {
                m.missed = missed.and_then(ms_to_time);
                tracing::debug!(event = %m.message_id, missed = m.missed.is_some(), "matrix: message received");
                if self.inbound.send(ChatInput::Message(m)).await.is_err() {
                    return false;
                }
            }
            let new_cursor = new_cursor.or_else(|| {
                // Nothing in view yet: from now on.
                Some(RoomCursor {
                    ts: now_ms,
                    event: String::new(),
                })
            });
            if let Some(c) = new_cursor
                && cursor.as_ref() != Some(&c)
            {
                moved.push((room_id.to_string(), c.encode()));
                self.rooms.insert(room_id.clone(), c);
            }
        }
        // A configured room the bot is in that this sync did not mention
        // starts its cursor now (so history from before it is never run).
        for (room_id, _) in self.by_room.iter() {
            if !self.rooms.contains_key(room_id)
                && self
                    .client
                    .get_room(room_id)
                    .is_some_and(|r| r.state() == RoomState::Joined)
            {
                let c = RoomCursor {
                    ts: now_ms,
                    event: String::new(),
                };
                moved.push((room_id.to_string(), c.encode()));
                self.rooms.insert(room_id.clone(), c);
            }
        }
        moved.push((SYNC_KEY.to_owned(), r.next_batch.clone()));
        self.token = Some(r.next_batch);
        self.inbound
            .send(ChatInput::Progress {
                adapter: "matrix",
                cursors: moved,
                caught_up: catching_up,
            })
            .await
            .is_ok()
    }

    /// Events older than a limited timeline, back to `since_ts`, oldest
    /// first.
    async fn older(
        &self,
        room_id: &OwnedRoomId,
        mut from: Option<String>,
        since_ts: u64,
    ) -> Vec<matrix_sdk::deserialized_responses::TimelineEvent> {
        let Some(room) = self.client.get_room(room_id) else {
            return Vec::new();
        };
        let mut pages = Vec::new();
        // Whether the pages reach back to the cursor (or the room's start).
        let mut complete = false;
        for _ in 0..MAX_PAGES {
            let Some(token) = from.take() else {
                complete = true;
                break;
            };
            let mut options = MessagesOptions::backward().from(token.as_str());
            options.limit = UInt::from(TIMELINE_LIMIT);
            let page = match room.messages(options).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(room = %room_id, error = %e, "matrix: cannot read older messages; some missed messages are not caught up");
                    complete = true;
                    break;
                }
            };
            let reached = page.chunk.is_empty()
                || page
                    .chunk
                    .iter()
                    .any(|e| event_ts(e).is_some_and(|ts| ts < since_ts));
            pages.extend(page.chunk);
            from = page.end;
            if reached {
                complete = true;
                break;
            }
        }
        if !complete {
            tracing::warn!(room = %room_id, "matrix: more missed messages than catch-up reads; the oldest are not caught up");
        }
        pages.reverse();
        pages
    }

    /// An event as catch-up sees it; `None` for what cannot be read.
    fn seen(
        &self,
        product: &str,
        e: &matrix_sdk::deserialized_responses::TimelineEvent,
    ) -> Option<Seen<Inbound>> {
        let ev = e.raw().deserialize().ok()?;
        let ts = u64::from(ev.origin_server_ts().get());
        let id = ev.event_id().to_string();
        let what = match &ev {
            AnySyncTimelineEvent::State(AnySyncStateEvent::RoomMember(
                SyncStateEvent::Original(m),
            )) if self
                .own
                .as_ref()
                .is_some_and(|me| me.as_str() == m.state_key.as_str())
                && m.content.membership == MembershipState::Join
                && m.unsigned
                    .prev_content
                    .as_ref()
                    .is_none_or(|p| p.membership != MembershipState::Join) =>
            {
                SeenKind::OwnJoin
            }
            AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
                SyncMessageLikeEvent::Original(m),
            )) => match self.inbound_of(product, m) {
                Some(i) => SeenKind::Message(i),
                None => SeenKind::Other,
            },
            _ => SeenKind::Other,
        };
        Some(Seen { ts, id, what })
    }

    fn inbound_of(&self, product: &str, ev: &OriginalSyncRoomMessageEvent) -> Option<Inbound> {
        if self.own.as_ref().is_some_and(|me| *me == ev.sender) {
            return None;
        }
        // Edits of old messages are not new commands.
        if matches!(ev.content.relates_to, Some(Relation::Replacement(_))) {
            return None;
        }
        // Only text: notices are other bots talking.
        let MessageType::Text(text) = &ev.content.msgtype else {
            return None;
        };
        let thread = match &ev.content.relates_to {
            Some(Relation::Thread(t)) => Some(t.event_id.clone()),
            _ => None,
        };
        self.threads.note(ev.event_id.as_str(), thread);
        let sender = ev.sender.to_string();
        let from = self.people.get(&sender).cloned().unwrap_or(sender);
        Some(Inbound {
            adapter: "matrix",
            product: product.to_owned(),
            from,
            // A pill shows a display name in the plain body; its id is in
            // the HTML.
            text: match &text.formatted {
                Some(f) => {
                    crate::chat::mention::pills_in_body(&strip_reply_fallback(&text.body), &f.body)
                }
                None => strip_reply_fallback(&text.body),
            },
            message_id: ev.event_id.to_string(),
            missed: None,
        })
    }
}

fn event_ts(e: &matrix_sdk::deserialized_responses::TimelineEvent) -> Option<u64> {
    let ev = e.raw().deserialize().ok()?;
    Some(u64::from(ev.origin_server_ts().get()))
}

/// Removes the quoted fallback (`> <@a:b> ...` lines) of a reply.
pub fn strip_reply_fallback(body: &str) -> String {
    let mut lines = body.lines().peekable();
    if lines.peek().is_some_and(|l| l.starts_with("> ")) {
        while lines.peek().is_some_and(|l| l.starts_with('>')) {
            lines.next();
        }
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
    }
    lines.collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ts: u64, id: &str) -> Seen<String> {
        Seen {
            ts,
            id: id.to_owned(),
            what: SeenKind::Message(id.to_owned()),
        }
    }

    fn join(ts: u64) -> Seen<String> {
        Seen {
            ts,
            id: "$join".to_owned(),
            what: SeenKind::OwnJoin,
        }
    }

    #[test]
    fn catch_up_reads_after_the_cursor_and_never_history() {
        let now = 1_000_000;
        let cursor = RoomCursor {
            ts: 500,
            event: "$b".to_owned(),
        };
        // After the cursor: handled; caught up when catching up.
        let events = [
            msg(400, "$a"),
            msg(500, "$b"),
            msg(600, "$c"),
            msg(999_990, "$d"),
        ];
        let (out, c) = select(Some(&cursor), &events, events.len(), true, now);
        assert_eq!(
            out,
            [
                ("$c".to_owned(), Some(600)),
                ("$d".to_owned(), Some(999_990))
            ]
        );
        assert_eq!(c.unwrap().event, "$d");
        // Live: recent messages are not missed, old ones are.
        let (out, _) = select(Some(&cursor), &events, events.len(), false, now);
        assert_eq!(out, [("$c".to_owned(), Some(600)), ("$d".to_owned(), None)]);
        // A room the bot is new to: only after its join.
        let events = [msg(100, "$old"), join(200), msg(999_990, "$new")];
        let (out, c) = select(None, &events, events.len(), false, now);
        assert_eq!(out, [("$new".to_owned(), None)]);
        assert_eq!(c.unwrap().event, "$new");
        // ... and without its join in view, nothing.
        let (out, c) = select(None, &[msg(100, "$old")], 1, true, now);
        assert!(out.is_empty());
        assert_eq!(c.unwrap().event, "$old");
        // Back in a room after an invite: what was said while out is missed.
        let cursor = RoomCursor {
            ts: 50,
            event: "$x".to_owned(),
        };
        let events = [
            msg(10, "$history"),
            msg(999_000, "$while-out"),
            join(999_500),
            msg(999_990, "$new"),
        ];
        let (out, _) = select(Some(&cursor), &events, events.len(), false, now);
        assert_eq!(
            out,
            [
                ("$while-out".to_owned(), Some(999_000)),
                ("$new".to_owned(), None)
            ]
        );
        // Nothing new: the cursor stays.
        let (out, c) = select::<String>(Some(&cursor), &[], 0, false, now);
        assert!(out.is_empty());
        assert_eq!(c, Some(cursor.clone()));
        assert_eq!(RoomCursor::parse(&cursor.encode()), Some(cursor));
        // A sync's own events are after its token whatever their times: an
        // event stamped before the cursor's (the homeserver stamps, then
        // orders) is handled, not dropped. The cursor's own event is not.
        let cursor = RoomCursor {
            ts: 999_500,
            event: "$reply".to_owned(),
        };
        let events = [msg(999_500, "$reply"), msg(999_480, "$stamped-earlier")];
        let (out, c) = select(Some(&cursor), &events, 0, false, now);
        assert_eq!(out, [("$stamped-earlier".to_owned(), None)]);
        assert_eq!(c.unwrap().event, "$stamped-earlier");
        // Paged back, the same event is compared with the cursor's time.
        let (out, _) = select(Some(&cursor), &events, events.len(), false, now);
        assert!(out.is_empty());
    }

    #[test]
    fn reply_fallback_is_stripped() {
        assert_eq!(
            strip_reply_fallback("> <@a:b> hi\n> there\n\n!sg status"),
            "!sg status"
        );
        assert_eq!(strip_reply_fallback("!sg status"), "!sg status");
    }
}
