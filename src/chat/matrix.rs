//! The Matrix adapter (matrix-sdk): one room per product, plain or
//! end-to-end encrypted. The session and encryption keys live in a store
//! under the data directory, so a restart keeps the same device.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::{RequestConfig, SyncSettings};
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::UInt;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter as SyncFilter;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Reply;
use matrix_sdk::ruma::events::room::member::{
    MembershipState, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent,
};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncStateEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
    SyncStateEvent,
};
use matrix_sdk::ruma::{
    OwnedDeviceId, OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId, RoomAliasId,
    RoomOrAliasId,
};
use matrix_sdk::{Client, Room, RoomState};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::adapter::{ChatAdapter, Outgoing, SendError};
use super::health::Health;
use super::health::Outage;
use super::inbound::{ChatInput, Inbound, catch_up_key, unreachable_key};
use crate::config::{Adapter, Config, MatrixConfig};

/// The Matrix side of shipgate.
#[derive(Clone)]
pub struct MatrixAdapter {
    client: Client,
    /// Configured channel (room id or alias) -> room id.
    rooms: BTreeMap<String, OwnedRoomId>,
}

fn session_file(store: &std::path::Path) -> PathBuf {
    store.join("session.json")
}

fn err<E: std::error::Error>(what: &str, e: E) -> String {
    let chain = error_chain(&e);
    match unreachable_why(&chain) {
        Some(why) => format!("matrix: {what}: cannot reach the homeserver ({why}): {chain}"),
        None => format!("matrix: {what}: {chain}"),
    }
}

/// An error and its sources, `: `-separated, each said once: the HTTP
/// client's own message ("error sending request") hides the cause
/// ("Connection refused") in its sources.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !more.is_empty() && !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Why the homeserver could not be reached, in the words people search
/// for, when an error chain says it could not.
fn unreachable_why(chain: &str) -> Option<&'static str> {
    let lower = chain.to_lowercase();
    if lower.contains("connection refused") {
        Some("connection refused")
    } else if lower.contains("timed out") || lower.contains("timeout") {
        Some("timed out")
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        Some("its name does not resolve")
    } else if lower.contains("connection reset") {
        Some("connection reset")
    } else if lower.contains("certificate") || lower.contains("tls") {
        Some("TLS failed")
    } else {
        None
    }
}

fn token_session(user_id: OwnedUserId, device_id: OwnedDeviceId, token: &str) -> MatrixSession {
    MatrixSession {
        meta: matrix_sdk::SessionMeta { user_id, device_id },
        tokens: matrix_sdk::authentication::SessionTokens {
            access_token: token.to_owned(),
            refresh_token: None,
        },
    }
}

/// The stored session is the configured account's (`user` is a full user
/// id or a localpart).
fn same_account(
    session: &MatrixSession,
    user: &str,
    store: &std::path::Path,
) -> Result<(), String> {
    let stored = &session.meta.user_id;
    let same = if user.starts_with('@') {
        stored.as_str() == user
    } else {
        stored.localpart() == user
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "matrix: the store {} holds the session and keys of {stored}, but the config's \
             `matrix.user` is {user}. A store belongs to one account: give this account its own \
             `store_dir`, or set `user` back to {stored}",
            store.display()
        ))
    }
}

/// Whether `id` is the configured `user` (a full user id or a localpart).
fn is_user(id: &matrix_sdk::ruma::UserId, user: &str) -> bool {
    if user.starts_with('@') {
        id.as_str() == user
    } else {
        id.localpart() == user
    }
}

fn another_account(who: &matrix_sdk::ruma::UserId, user: &str) -> String {
    format!(
        "matrix: the homeserver says the configured credentials are {who}, but the config's \
         `matrix.user` is {user}; give the bot's own password or access token, or set `user` \
         to {who}"
    )
}

/// A new access token may replace the stored one only for the same device
/// (the store's encryption keys are that device's).
fn same_device(
    session: &MatrixSession,
    user: &OwnedUserId,
    device: &OwnedDeviceId,
    store: &std::path::Path,
) -> Result<(), String> {
    if &session.meta.user_id == user && &session.meta.device_id == device {
        return Ok(());
    }
    Err(format!(
        "matrix: the configured access token is device {device} of {user}, but the store {} \
         holds device {} of {}. A store belongs to one device: configure a token of device {}, \
         or move the store away to start as the new device (it then cannot read encrypted \
         messages sent before)",
        store.display(),
        session.meta.device_id,
        session.meta.user_id,
        session.meta.device_id,
    ))
}

/// Accepts an invite to `room` on the side, so the sync loop never waits
/// on it. A homeserver may not be ready for the join right after the
/// invite (or a join at start just failed), so it tries a few times, 2 s,
/// 4 s, ... apart, and stops once the bot is no longer invited.
fn accept_invite(room: Room) {
    tokio::spawn(async move {
        for attempt in 1..=5u32 {
            if room.state() != RoomState::Invited {
                return;
            }
            match room.join().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, room = %room.room_id(), attempt, "matrix: could not accept an invite")
                }
            }
            tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
        }
    });
}

/// What to check when a product's room cannot be joined at start: the
/// invite, and the id (room version 12 ids have no `:server`).
fn room_hint(channel: &str, product: &str, bot: &str) -> String {
    let id = if channel.starts_with('#') {
        "that the alias exists"
    } else if channel.contains(':') {
        "that the room id is the room's own (Room settings > Advanced); \
         a room of version 12 or later has an id without `:server` (`!AbC...`), \
         so drop an added `:server` for such a room"
    } else {
        "that the room id is the room's own (Room settings > Advanced); \
         an id without `:server` is right only for rooms of version 12 or later, \
         older rooms' ids end in `:server`"
    };
    format!(
        "Product `{product}` uses the Matrix room `{channel}`: check that {bot} is invited \
         to it (or that it is public), and {id}"
    )
}

/// The readiness problem key for being out of a room.
fn room_key(id: &OwnedRoomId) -> String {
    format!("matrix:{id}")
}

fn out_of_room(channel: &str, product: &str, why: &str) -> String {
    format!(
        "matrix: the bot is not in room {channel} (product {product}): {why}; \
         its messages wait until someone invites the bot back"
    )
}

/// HTML-escapes chat text and turns `@name` mentions into pills.
pub fn to_html(text: &str, mentions: &BTreeMap<String, Option<String>>) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\n' => html.push_str("<br>"),
            c => html.push(c),
        }
    }
    // Longest names first so `@ann` does not eat `@anna`.
    let mut names: Vec<(&String, &String)> = mentions
        .iter()
        .filter_map(|(n, id)| id.as_ref().map(|id| (n, id)))
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, id) in names {
        let pill = format!("<a href=\"https://matrix.to/#/{id}\">{name}</a>");
        html = html.replace(&format!("@{name}"), &pill);
    }
    // `code` spans.
    let mut out = String::with_capacity(html.len());
    let mut open = false;
    for ch in html.chars() {
        if ch == '`' {
            out.push_str(if open { "</code>" } else { "<code>" });
            open = !open;
        } else {
            out.push(ch);
        }
    }
    if open {
        out.push_str("</code>");
    }
    out
}

fn send_error(e: &matrix_sdk::Error) -> SendError {
    match e.client_api_error_kind() {
        Some(ErrorKind::LimitExceeded(data)) => {
            let wait = match data.retry_after {
                Some(RetryAfter::Delay(d)) => d,
                Some(RetryAfter::DateTime(t)) => t
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or(Duration::from_secs(1)),
                None => Duration::from_secs(1),
            };
            SendError::RateLimited(wait)
        }
        Some(ErrorKind::Forbidden | ErrorKind::NotFound | ErrorKind::UnknownToken(_)) => {
            SendError::Permanent(e.to_string())
        }
        _ => SendError::Transient(e.to_string()),
    }
}

impl MatrixAdapter {
    /// Logs in (or restores the stored session), joins the configured
    /// rooms, syncs once to skip history, and starts the sync loop that
    /// hands new messages to `inbound`. A configured room the bot was in
    /// before but cannot join now (it was kicked or banned) does not stop
    /// the start: it is a problem in `health` until the bot is back in it.
    pub async fn start(
        config: &Config,
        inbound: mpsc::Sender<ChatInput>,
        shutdown: CancellationToken,
        health: std::sync::Arc<Health>,
        cursors: BTreeMap<String, String>,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), String> {
        let m: &MatrixConfig = config.matrix.as_ref().ok_or("matrix: not configured")?;
        let store = config
            .matrix_store_dir()
            .ok_or("matrix: no store directory")?;
        std::fs::create_dir_all(&store)
            .map_err(|e| err(&format!("cannot create {}", store.display()), e))?;
        let client = Client::builder()
            .homeserver_url(&m.homeserver)
            .sqlite_store(store.join("sdk"), None)
            .request_config(
                RequestConfig::new()
                    .retry_limit(5)
                    .timeout(Duration::from_secs(30)),
            )
            .build()
            .await
            .map_err(|e| err("cannot create the client", e))?;
        Self::log_in(&client, config, m, &store).await?;
        // First sync: from where the bot last stopped reading (what was
        // said since is caught up below), without waiting for news.
        let token = cursors.get(SYNC_KEY).cloned();
        let first = client
            .sync_once(sync_settings(token.clone()).timeout(Duration::ZERO))
            .await
            .map_err(|e| err("first sync failed", e))?;
        let mut rooms = BTreeMap::new();
        for p in &config.products {
            let Some(channel) = p.channels.get(Adapter::Matrix) else {
                continue;
            };
            let id = match Self::join(&client, channel).await {
                Ok(id) => id,
                Err(e) => match Self::known_room(&client, channel).await {
                    // Still in it (the join request itself failed): go on.
                    Some((id, RoomState::Joined)) => {
                        tracing::warn!(room = %channel, error = %e, "matrix: could not confirm the join of a room the bot is in; going on");
                        id
                    }
                    // A room it was in: start without it, not ready, and
                    // try again on the side if an invite is waiting.
                    Some((id, state)) => {
                        let problem = out_of_room(channel, &p.name, &e);
                        tracing::error!("{problem}");
                        health.set(&room_key(&id), problem);
                        if state == RoomState::Invited
                            && let Some(room) = client.get_room(&id)
                        {
                            accept_invite(room);
                        }
                        id
                    }
                    // Never joined: a configuration mistake.
                    None => {
                        let bot = client.user_id().map_or(m.user.clone(), |u| u.to_string());
                        return Err(format!("{e}. {}", room_hint(channel, &p.name, &bot)));
                    }
                },
            };
            rooms.insert(channel.to_owned(), id);
        }
        let adapter = Self {
            client: client.clone(),
            rooms: rooms.clone(),
        };
        // Room -> the product whose commands come from it; and, for the
        // bot's own membership, room -> (channel, the products it serves).
        let mut by_room: BTreeMap<OwnedRoomId, String> = BTreeMap::new();
        let mut channel_of: BTreeMap<OwnedRoomId, (String, String)> = BTreeMap::new();
        for p in &config.products {
            let Some(ch) = p.channels.get(Adapter::Matrix) else {
                continue;
            };
            let Some(id) = rooms.get(ch) else {
                continue;
            };
            by_room.insert(id.clone(), p.name.clone());
            // Products sharing a room are named together.
            let entry = channel_of
                .entry(id.clone())
                .or_insert_with(|| (ch.to_owned(), String::new()));
            if !entry.1.is_empty() {
                entry.1.push_str(", ");
            }
            entry.1.push_str(&p.name);
        }
        let people: BTreeMap<String, String> = config
            .people
            .iter()
            .filter_map(|p| Some((p.chat.get(Adapter::Matrix)?.to_owned(), p.name.clone())))
            .collect();
        let own: Option<OwnedUserId> = client.user_id().map(|u| u.to_owned());
        let allowed: Vec<OwnedRoomId> = rooms.values().cloned().collect();
        // The bot's own membership in a configured room: out of it is a
        // readiness problem, back in it clears that.
        let member_health = health.clone();
        client.add_event_handler(move |ev: OriginalSyncRoomMemberEvent, room: Room, client: Client| {
            let health = member_health.clone();
            let channel_of = channel_of.clone();
            async move {
                if client.user_id().is_none_or(|me| me.as_str() != ev.state_key.as_str()) {
                    return;
                }
                let id = room.room_id().to_owned();
                let Some((channel, product)) = channel_of.get(&id) else {
                    return;
                };
                match ev.content.membership {
                    MembershipState::Join => {
                        tracing::info!(room = %channel, product = %product, "matrix: in the room");
                        health.clear(&room_key(&id));
                    }
                    MembershipState::Leave | MembershipState::Ban => {
                        let why = match (&ev.content.membership, &ev.content.reason) {
                            (MembershipState::Ban, Some(r)) => format!("banned ({r})"),
                            (MembershipState::Ban, None) => "banned".to_owned(),
                            (_, Some(r)) => format!("removed ({r})"),
                            (_, None) => "removed".to_owned(),
                        };
                        let problem = out_of_room(channel, product, &why);
                        tracing::error!("{problem}");
                        health.set(&room_key(&id), problem);
                    }
                    _ => {}
                }
            }
        });
        // Invites: accept only to configured rooms.
        client.add_event_handler(
            move |ev: StrippedRoomMemberEvent, room: Room, client: Client| {
                let allowed = allowed.clone();
                async move {
                    if client
                        .user_id()
                        .is_some_and(|me| me.as_str() == ev.state_key.as_str())
                        && allowed.contains(&room.room_id().to_owned())
                    {
                        accept_invite(room);
                    }
                }
            },
        );
        let reader = Reader {
            client: client.clone(),
            inbound,
            health,
            by_room,
            people,
            own,
            rooms: cursors
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        OwnedRoomId::try_from(k.as_str()).ok()?,
                        RoomCursor::parse(v)?,
                    ))
                })
                .collect(),
            token,
            outage: Outage::new(
                unreachable_key("matrix"),
                "matrix: the homeserver".to_owned(),
                Duration::from_secs(config.chat.unreachable_after),
            ),
        };
        let task = tokio::spawn(reader.run(first, shutdown));
        Ok((adapter, task))
    }

    async fn log_in(
        client: &Client,
        config: &Config,
        m: &MatrixConfig,
        store: &std::path::Path,
    ) -> Result<(), String> {
        let file = session_file(store);
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(mut session) = serde_json::from_str::<MatrixSession>(&text)
        {
            // The store (session and encryption keys) belongs to one
            // account and one device; the config decides which account.
            same_account(&session, &m.user, store)?;
            if let Some(t) = &m.access_token {
                let token = config.resolve(t).map_err(|e| err("access token", e))?;
                if token.expose() != session.tokens.access_token {
                    // A new token (rotated, or a new login): usable with
                    // this store only if it is the same device's.
                    let (user, device) = Self::whoami(m, token.expose()).await?;
                    same_device(&session, &user, &device, store)?;
                    session.tokens.access_token = token.expose().to_owned();
                    session.tokens.refresh_token = None;
                    tracing::info!("matrix: the configured access token replaces the stored one");
                }
            }
            client
                .restore_session(session)
                .await
                .map_err(|e| err("cannot restore the stored session", e))?;
            tracing::info!("matrix: restored the stored session");
        } else if let Some(p) = &m.password {
            let pw = config.resolve(p).map_err(|e| err("password", e))?;
            client
                .matrix_auth()
                .login_username(&m.user, pw.expose())
                .initial_device_display_name(&m.device_name)
                .send()
                .await
                .map_err(|e| err("login failed", e))?;
        } else if let Some(t) = &m.access_token {
            let token = config.resolve(t).map_err(|e| err("access token", e))?;
            let (user_id, device_id) = Self::whoami(m, token.expose()).await?;
            // Before the store is made: it would belong to that account.
            if !is_user(&user_id, &m.user) {
                return Err(another_account(&user_id, &m.user));
            }
            client
                .restore_session(token_session(user_id, device_id, token.expose()))
                .await
                .map_err(|e| err("cannot use the access token", e))?;
        } else {
            return Err("matrix: give a password or an access_token".to_owned());
        }
        // Before the session is kept: credentials of another account never
        // make it into the store.
        Self::check_identity(client, m).await?;
        if let Some(session) = client.matrix_auth().session() {
            let json = serde_json::to_string(&session).map_err(|e| err("session", e))?;
            write_private(&file, &json).map_err(|e| err("cannot save the session", e))?;
        }
        Ok(())
    }

    /// The account the homeserver says the bot is logged in as must be
    /// `matrix.user`, on every start.
    async fn check_identity(client: &Client, m: &MatrixConfig) -> Result<(), String> {
        let who = client
            .whoami()
            .await
            .map_err(|e| err("cannot ask the homeserver who the bot is (whoami)", e))?;
        if is_user(&who.user_id, &m.user) {
            Ok(())
        } else {
            Err(another_account(&who.user_id, &m.user))
        }
    }

    /// Asks the homeserver which user and device an access token is.
    async fn whoami(m: &MatrixConfig, token: &str) -> Result<(OwnedUserId, OwnedDeviceId), String> {
        let probe = Client::builder()
            .homeserver_url(&m.homeserver)
            .build()
            .await
            .map_err(|e| err("cannot create the client", e))?;
        let placeholder = token_session(
            OwnedUserId::try_from(m.user.as_str()).map_err(|e| err("user id", e))?,
            "PLACEHOLDER".into(),
            token,
        );
        probe
            .restore_session(placeholder)
            .await
            .map_err(|e| err("access token", e))?;
        let who = probe
            .whoami()
            .await
            .map_err(|e| err("the access token is not accepted", e))?;
        let device = who
            .device_id
            .ok_or("matrix: the access token has no device; log in with a password once")?;
        Ok((who.user_id, device))
    }

    /// The id of a configured room the bot's store knows (it was in it
    /// before), and the bot's membership now.
    async fn known_room(client: &Client, channel: &str) -> Option<(OwnedRoomId, RoomState)> {
        let id = match OwnedRoomId::try_from(channel) {
            Ok(id) => id,
            Err(_) => {
                let alias = <&RoomAliasId>::try_from(channel).ok()?;
                client.resolve_room_alias(alias).await.ok()?.room_id
            }
        };
        let state = client.get_room(&id)?.state();
        Some((id, state))
    }

    async fn join(client: &Client, channel: &str) -> Result<OwnedRoomId, String> {
        let target = <&RoomOrAliasId>::try_from(channel).map_err(|e| {
            err(
                &format!(
                    "`{channel}` is not a room id (`!opaque:server`, or `!opaque` from room \
                         version 12 on) or an alias (`#name:server`)"
                ),
                e,
            )
        })?;
        let room = client
            .join_room_by_id_or_alias(target, &[])
            .await
            .map_err(|e| err(&format!("cannot join {channel}"), e))?;
        Ok(room.room_id().to_owned())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The cursor key of the sync token (rooms are keyed by their id).
const SYNC_KEY: &str = "";
/// Events per room one sync returns at most; older ones of a longer gap
/// are paged in with `/messages`.
const TIMELINE_LIMIT: u32 = 100;
/// Pages of older events read to close one gap, at most.
const MAX_PAGES: usize = 20;
/// A message this much older than when it is read was not read live.
const LIVE_MS: u64 = 60_000;

fn sync_settings(token: Option<String>) -> SyncSettings {
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
struct Reader {
    client: Client,
    inbound: mpsc::Sender<ChatInput>,
    health: std::sync::Arc<Health>,
    by_room: BTreeMap<OwnedRoomId, String>,
    people: BTreeMap<String, String>,
    own: Option<OwnedUserId>,
    rooms: BTreeMap<OwnedRoomId, RoomCursor>,
    /// The sync token read up to; `None`: never synced with catch-up, so
    /// the first sync is history.
    token: Option<String>,
    outage: Outage,
}

impl Reader {
    async fn run(mut self, first: matrix_sdk::sync::SyncResponse, shutdown: CancellationToken) {
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
        for _ in 0..MAX_PAGES {
            let Some(token) = from.take() else { break };
            let mut options = MessagesOptions::backward().from(token.as_str());
            options.limit = UInt::from(TIMELINE_LIMIT);
            let page = match room.messages(options).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(room = %room_id, error = %e, "matrix: cannot read older messages; some missed messages are not caught up");
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
                break;
            }
        }
        if from.is_some() {
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

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, text)
    }
}

impl ChatAdapter for MatrixAdapter {
    fn name(&self) -> &'static str {
        "matrix"
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let room_id = self
            .rooms
            .get(&message.channel)
            .cloned()
            .or_else(|| OwnedRoomId::try_from(message.channel.as_str()).ok())
            .ok_or_else(|| SendError::Permanent(format!("unknown room {}", message.channel)))?;
        let Some(room) = self
            .client
            .get_room(&room_id)
            .filter(|r| r.state() == RoomState::Joined)
        else {
            return Err(SendError::Transient(format!("not in room {room_id} yet")));
        };
        let html = to_html(&message.text, &message.mentions);
        let mut content = RoomMessageEventContent::notice_html(message.text.clone(), html);
        let ids: Vec<OwnedUserId> = message
            .mentions
            .values()
            .flatten()
            .filter_map(|id| OwnedUserId::try_from(id.as_str()).ok())
            .collect();
        content = content.add_mentions(Mentions::with_user_ids(ids));
        if let Some(reply) = message
            .reply_to
            .as_deref()
            .and_then(|r| OwnedEventId::try_from(r).ok())
        {
            content.relates_to = Some(Relation::Reply(Reply::with_event_id(reply)));
        }
        let txn: OwnedTransactionId = format!("shipgate-{}", message.id).into();
        tracing::debug!(id = message.id, "matrix: sending");
        let resp = room
            .send(content)
            .with_transaction_id(txn)
            // A 429 comes back to the outbox (which logs, counts and waits
            // it out) instead of being retried out of sight.
            .with_request_config(
                RequestConfig::new()
                    .disable_retry()
                    .timeout(Duration::from_secs(30)),
            )
            .await
            .map_err(|e| send_error(&e))?;
        Ok(Some(resp.response.event_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_homeserver_says_connection_refused() {
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::builder()
            .homeserver_url(format!("http://127.0.0.1:{port}"))
            .request_config(RequestConfig::new().retry_limit(0))
            .build()
            .await
            .unwrap();
        let e = client
            .matrix_auth()
            .login_username("shipgate", "pw")
            .send()
            .await
            .unwrap_err();
        let text = err("login failed", e);
        assert!(
            text.starts_with(
                "matrix: login failed: cannot reach the homeserver (connection refused): "
            ),
            "{text}"
        );
        assert!(
            text.to_lowercase().contains("connection refused (os error"),
            "{text}"
        );
    }

    #[test]
    fn error_chains_say_each_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let timed_out = Outer(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "operation timed out",
        ));
        assert_eq!(
            err("first sync failed", timed_out),
            "matrix: first sync failed: cannot reach the homeserver (timed out): \
             error sending request: operation timed out"
        );
        let plain = std::io::Error::other("M_FORBIDDEN: Invalid password");
        assert_eq!(
            err("login failed", plain),
            "matrix: login failed: M_FORBIDDEN: Invalid password"
        );
    }

    #[test]
    fn a_room_that_cannot_be_joined_names_the_product_the_invite_and_the_room_version() {
        let old = room_hint("!abc:example.org", "web", "@shipgate:example.org");
        assert!(
            old.contains("Product `web`")
                && old.contains("`!abc:example.org`")
                && old.contains("@shipgate:example.org is invited")
                && old.contains("version 12")
                && old.contains("without `:server`"),
            "{old}"
        );
        let v12 = room_hint("!abc", "web", "@shipgate:example.org");
        assert!(
            v12.contains("version 12") && v12.contains("end in `:server`"),
            "{v12}"
        );
        let alias = room_hint("#releases:example.org", "api", "@shipgate:example.org");
        assert!(
            alias.contains("Product `api`") && alias.contains("alias exists"),
            "{alias}"
        );
    }

    fn stored(user: &str, device: &str) -> MatrixSession {
        token_session(user.try_into().unwrap(), device.into(), "t0")
    }

    #[test]
    fn a_store_serves_only_its_own_account() {
        let store = std::path::Path::new("/var/lib/shipgate/matrix");
        let s = stored("@shipgate:example.org", "DEV1");
        assert!(same_account(&s, "@shipgate:example.org", store).is_ok());
        assert!(same_account(&s, "shipgate", store).is_ok());
        let e = same_account(&s, "@releasebot:example.org", store).unwrap_err();
        assert!(
            e.contains("/var/lib/shipgate/matrix")
                && e.contains("@shipgate:example.org")
                && e.contains("@releasebot:example.org")
                && e.contains("store_dir"),
            "{e}"
        );
        assert!(same_account(&s, "releasebot", store).is_err());
        assert!(same_account(&s, "@shipgate:other.org", store).is_err());
    }

    #[test]
    fn a_new_token_must_be_the_stored_device() {
        let store = std::path::Path::new("store");
        let s = stored("@shipgate:example.org", "DEV1");
        let me: OwnedUserId = "@shipgate:example.org".try_into().unwrap();
        assert!(same_device(&s, &me, &"DEV1".into(), store).is_ok());
        let e = same_device(&s, &me, &"DEV2".into(), store).unwrap_err();
        assert!(
            e.contains("device DEV2") && e.contains("device DEV1"),
            "{e}"
        );
        let other: OwnedUserId = "@other:example.org".try_into().unwrap();
        assert!(same_device(&s, &other, &"DEV1".into(), store).is_err());
    }

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
    fn html_escapes_and_pills() {
        let mut m = BTreeMap::new();
        m.insert("ana".to_owned(), Some("@ana:example.org".to_owned()));
        m.insert("ben".to_owned(), None);
        let html = to_html("@ana: RC <#1> & `!sg verify`\nnext @ben", &m);
        assert_eq!(
            html,
            "<a href=\"https://matrix.to/#/@ana:example.org\">ana</a>: RC &lt;#1&gt; &amp; <code>!sg verify</code><br>next @ben"
        );
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
