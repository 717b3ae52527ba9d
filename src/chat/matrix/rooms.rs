//! The product rooms: joining them at start, accepting invites to them,
//! and the bot's own membership as a readiness problem.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::ruma::events::room::member::{
    MembershipState, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent,
};
use matrix_sdk::ruma::{OwnedRoomId, RoomAliasId, RoomOrAliasId};
use matrix_sdk::{Client, Room, RoomState};

use super::err;
use crate::chat::health::Health;
use crate::config::{Adapter, Config, MatrixConfig};

/// Accepts an invite to `room` on the side, so the sync loop never waits
/// on it. A homeserver may not be ready for the join right after the
/// invite (or a join at start just failed), so it tries a few times, 2 s,
/// 4 s, ... apart, and stops once the bot is no longer invited.
pub(super) fn accept_invite(room: Room) {
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
pub(super) fn room_hint(channel: &str, product: &str, bot: &str) -> String {
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
pub(super) fn room_key(id: &OwnedRoomId) -> String {
    format!("matrix:{id}")
}

pub(super) fn out_of_room(channel: &str, product: &str, why: &str) -> String {
    format!(
        "matrix: the bot is not in room {channel} (product {product}): {why}; \
         its messages wait until someone invites the bot back"
    )
}

/// The id of a configured room the bot's store knows (it was in it
/// before), and the bot's membership now.
pub(super) async fn known_room(client: &Client, channel: &str) -> Option<(OwnedRoomId, RoomState)> {
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

pub(super) async fn join(client: &Client, channel: &str) -> Result<OwnedRoomId, String> {
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

/// Joins every product's room: configured channel -> room id. A room the
/// bot never joined is a configuration mistake and stops the start; a room
/// it was in but cannot join now is a readiness problem instead.
pub(super) async fn join_all(
    client: &Client,
    config: &Config,
    m: &MatrixConfig,
    health: &Health,
) -> Result<BTreeMap<String, OwnedRoomId>, String> {
    let mut rooms = BTreeMap::new();
    for p in &config.products {
        let Some(channel) = p.channels.get(Adapter::Matrix) else {
            continue;
        };
        let id = match join(client, channel).await {
            Ok(id) => id,
            Err(e) => match known_room(client, channel).await {
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
    Ok(rooms)
}

/// Follows the bot's own membership in the configured rooms (out of one is
/// a readiness problem, back in it clears that; `channel_of` names each
/// room's channel and products) and accepts invites to `allowed` rooms only.
pub(super) fn watch(
    client: &Client,
    health: &Arc<Health>,
    channel_of: BTreeMap<OwnedRoomId, (String, String)>,
    allowed: Vec<OwnedRoomId>,
) {
    let member_health = health.clone();
    client.add_event_handler(
        move |ev: OriginalSyncRoomMemberEvent, room: Room, client: Client| {
            let health = member_health.clone();
            let channel_of = channel_of.clone();
            async move {
                if client
                    .user_id()
                    .is_none_or(|me| me.as_str() != ev.state_key.as_str())
                {
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
        },
    );
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
