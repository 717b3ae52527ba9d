//! Matrix: homeserver reachable, token valid (`whoami`), the device and the
//! store consistent, joined to every product room, allowed to send there.
//! Plain client-server API calls; nothing is changed.

use serde_json::Value;

use super::Checklist;
use super::api::Api;
use crate::config::{Adapter, Config, MatrixConfig};

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_user(id: &str, user: &str) -> bool {
    if user.starts_with('@') {
        id == user
    } else {
        id.strip_prefix('@')
            .and_then(|r| r.split(':').next())
            .is_some_and(|local| local == user)
    }
}

pub async fn check(config: &Config, list: &mut Checklist) {
    let Some(m) = &config.matrix else {
        list.off("matrix: not configured");
        return;
    };
    let http = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            list.fail(
                format!("matrix: cannot build an HTTP client: {e}"),
                "report this",
            );
            return;
        }
    };
    let base = m.homeserver.trim_end_matches('/').to_owned();
    match http
        .get(format!("{base}/_matrix/client/versions"))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => {
            list.ok(format!("matrix: homeserver {base} answers"));
        }
        Ok(r) => {
            list.fail(
                format!(
                    "matrix: {base}/_matrix/client/versions answered HTTP {}",
                    r.status()
                ),
                "set `matrix.homeserver` to the homeserver's client-server API URL",
            );
            return;
        }
        Err(e) => {
            list.fail(
                format!("matrix: homeserver {base} is unreachable: {e}"),
                "check `matrix.homeserver` and that the homeserver runs and is reachable from here",
            );
            return;
        }
    }
    check_session(config, m, Api::new(http, base, String::new()), list).await;
}

/// The stored session (`session.json` in the store), if any: user, device,
/// token.
fn stored_session(config: &Config) -> Option<(String, String, String)> {
    let dir = config.matrix_store_dir()?;
    let text = std::fs::read_to_string(dir.join("session.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    // matrix-sdk writes the session flat; older shapes nest it.
    let field = |k: &str, nest: &str| v[k].as_str().or(v[nest][k].as_str()).map(str::to_owned);
    Some((
        field("user_id", "meta")?,
        field("device_id", "meta")?,
        field("access_token", "tokens")?,
    ))
}

async fn check_session(config: &Config, m: &MatrixConfig, mut api: Api, list: &mut Checklist) {
    let stored = stored_session(config);
    let configured = match &m.access_token {
        None => None,
        Some(s) => match config.resolve(s) {
            Ok(t) => Some(t.into_inner()),
            Err(e) => {
                list.fail(
                    format!("matrix: access token: {e}"),
                    "set the access token's secret",
                );
                return;
            }
        },
    };
    let token = match (&configured, &stored) {
        (Some(t), _) => t.clone(),
        (None, Some((_, _, t))) => t.clone(),
        (None, None) => {
            if m.password.is_some() {
                list.off(
                    "matrix: no stored session yet; shipgate logs in with the password at its first \
                     start (rooms are checked after that)",
                );
            } else {
                list.fail(
                    "matrix: neither `password` nor `access_token` is configured",
                    "give the bot's password or access token (a secret source) in `matrix`",
                );
            }
            return;
        }
    };
    api.set_authorization(format!("Bearer {token}"));
    let (status, who) = match api.get("/_matrix/client/v3/account/whoami").await {
        Ok(r) => r,
        Err(e) => {
            list.fail(format!("matrix: whoami failed: {e}"), "check the network");
            return;
        }
    };
    if status == 401 || status == 403 {
        let errcode = who["errcode"].as_str().unwrap_or("");
        list.fail(
            format!("matrix: the homeserver refuses the access token ({errcode})"),
            if m.password.is_some() {
                "the token was revoked or expired: move the store's `session.json` away to log in \
                 again with the password, keeping the same store"
            } else {
                "give a valid `matrix.access_token` of the bot's device"
            },
        );
        return;
    }
    let (Some(user_id), device) = (who["user_id"].as_str(), who["device_id"].as_str()) else {
        list.fail(
            format!("matrix: whoami answered HTTP {status} without a user"),
            "check `matrix.homeserver`",
        );
        return;
    };
    if !is_user(user_id, &m.user) {
        list.fail(
            format!(
                "matrix: the token is {user_id}'s, but `matrix.user` is {}",
                m.user
            ),
            format!("give {}'s token, or set `matrix.user` to {user_id}", m.user),
        );
        return;
    }
    list.ok(format!(
        "matrix: the token is valid: {user_id}, device {}",
        device.unwrap_or("?")
    ));
    match (&stored, device) {
        (Some((su, sd, _)), Some(d)) if su == user_id && sd == d => list.ok(format!(
            "matrix: the store holds the same device ({d})"
        )),
        (Some((su, sd, _)), d) => list.fail(
            format!(
                "matrix: the store holds device {sd} of {su}, but the token is device {} of {user_id}",
                d.unwrap_or("?")
            ),
            format!(
                "configure a token of device {sd}, or move the store away to start as the new device \
                 (it then cannot read older encrypted messages)"
            ),
        ),
        (None, _) => list.off("matrix: no store yet; shipgate creates it at its first start"),
    }
    rooms(config, user_id, &api, list).await;
}

async fn rooms(config: &Config, user_id: &str, api: &Api, list: &mut Checklist) {
    let joined: Vec<String> = match api.get("/_matrix/client/v3/joined_rooms").await {
        Ok((200, v)) => v["joined_rooms"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Ok((s, v)) => {
            list.fail(
                format!("matrix: joined_rooms answered HTTP {s}: {v}"),
                "check the homeserver",
            );
            return;
        }
        Err(e) => {
            list.fail(
                format!("matrix: joined_rooms failed: {e}"),
                "check the network",
            );
            return;
        }
    };
    for p in &config.products {
        let Some(channel) = p.channels.get(Adapter::Matrix) else {
            continue;
        };
        let room = if channel.starts_with('#') {
            match api
                .get(&format!(
                    "/_matrix/client/v3/directory/room/{}",
                    enc(channel)
                ))
                .await
            {
                Ok((200, v)) => v["room_id"].as_str().map(str::to_owned),
                _ => None,
            }
        } else {
            Some(channel.to_owned())
        };
        let Some(room) = room else {
            list.fail(
                format!("matrix: {}: the alias {channel} does not resolve", p.name),
                "create the room or correct the product's `channels.matrix`",
            );
            continue;
        };
        if !joined.contains(&room) {
            list.fail(
                format!("matrix: {}: {user_id} is not joined to {channel}", p.name),
                format!("invite {user_id} to {channel} (shipgate joins on invite at start), or correct `channels.matrix`"),
            );
            continue;
        }
        list.ok(format!("matrix: {}: joined to {channel}", p.name));
        match can_send(api, &room, user_id).await {
            Ok(true) => list.ok(format!("matrix: {}: may send in {channel}", p.name)),
            Ok(false) => list.fail(
                format!(
                    "matrix: {}: {user_id}'s power level is too low to send in {channel}",
                    p.name
                ),
                format!(
                    "raise {user_id}'s power level in {channel} to at least the level for messages"
                ),
            ),
            Err(e) => list.fail(
                format!(
                    "matrix: {}: cannot read {channel}'s power levels: {e}",
                    p.name
                ),
                "check the room and the bot's membership",
            ),
        }
    }
}

/// Whether the room's power levels let `user` send messages (and
/// encrypted ones, in an encrypted room).
async fn can_send(api: &Api, room: &str, user: &str) -> Result<bool, String> {
    let (status, pl) = api
        .get(&format!(
            "/_matrix/client/v3/rooms/{}/state/m.room.power_levels/",
            enc(room)
        ))
        .await?;
    if status == 404 {
        // No power levels event: everyone may send.
        return Ok(true);
    }
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let level = |v: &Value, default: i64| v.as_i64().unwrap_or(default);
    let mine = level(&pl["users"][user], level(&pl["users_default"], 0));
    let default = level(&pl["events_default"], 0);
    let needed = ["m.room.message", "m.room.encrypted"]
        .iter()
        .map(|t| level(&pl["events"][*t], default))
        .max()
        .unwrap_or(default);
    Ok(mine >= needed)
}
