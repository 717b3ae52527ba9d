//! The Matrix adapter (matrix-sdk): one room per product, plain or
//! end-to-end encrypted. The session and encryption keys live in a store
//! under the data directory, so a restart keeps the same device.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::{RequestConfig, SyncSettings};
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Reply;
use matrix_sdk::ruma::events::room::member::{
    MembershipState, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent,
};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
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
use super::inbound::Inbound;
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

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("matrix: {what}: {e}")
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
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
        health: std::sync::Arc<Health>,
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
        // First sync: learn the rooms and skip history before handling.
        let first = client
            .sync_once(SyncSettings::default())
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
                    None => return Err(e),
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
        client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
            let inbound = inbound.clone();
            let by_room = by_room.clone();
            let people = people.clone();
            let own = own.clone();
            async move {
                if own.as_ref().is_some_and(|me| *me == ev.sender) {
                    return;
                }
                // Edits of old messages are not new commands.
                if matches!(ev.content.relates_to, Some(Relation::Replacement(_))) {
                    return;
                }
                // Only text: notices are other bots talking.
                let MessageType::Text(text) = &ev.content.msgtype else {
                    return;
                };
                let Some(product) = by_room.get(room.room_id()) else {
                    return;
                };
                let sender = ev.sender.to_string();
                tracing::debug!(event = %ev.event_id, "matrix: message received");
                let from = people.get(&sender).cloned().unwrap_or(sender);
                let msg = Inbound {
                    adapter: "matrix",
                    product: product.clone(),
                    from,
                    text: strip_reply_fallback(&text.body),
                    message_id: ev.event_id.to_string(),
                };
                let _ = inbound.send(msg).await;
            }
        });
        // Our own loop of long polls: `Client::sync` waits at least a second
        // between polls, which would delay every answer by up to a second.
        let _ = first;
        let settings = SyncSettings::default().timeout(Duration::from_secs(10));
        let sync_client = client.clone();
        let task = tokio::spawn(async move {
            loop {
                let poll = sync_client.sync_once(settings.clone());
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    r = poll => {
                        // A homeserver restart fails polls: wait and poll
                        // again from the stored token.
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "matrix: sync failed; retrying");
                            tokio::select! {
                                () = shutdown.cancelled() => return,
                                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            }
                        }
                    }
                }
            }
        });
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
            client
                .restore_session(token_session(user_id, device_id, token.expose()))
                .await
                .map_err(|e| err("cannot use the access token", e))?;
        } else {
            return Err("matrix: give a password or an access_token".to_owned());
        }
        if let Some(session) = client.matrix_auth().session() {
            let json = serde_json::to_string(&session).map_err(|e| err("session", e))?;
            write_private(&file, &json).map_err(|e| err("cannot save the session", e))?;
        }
        Ok(())
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
        let target = <&RoomOrAliasId>::try_from(channel)
            .map_err(|e| err(&format!("`{channel}` is not a room id or alias"), e))?;
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
            .await
            .map_err(|e| send_error(&e))?;
        Ok(Some(resp.response.event_id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
