//! Discord: token valid, the bot in each product channel's guild, allowed
//! to read and send there (computed from roles and overwrites, as Discord
//! does), the slash command registered. REST calls only; nothing is sent.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Checklist;
use super::api::Api;
use crate::chat::discord::slash::command_name;
use crate::config::{Adapter, Config};

const ADMINISTRATOR: u64 = 1 << 3;
const VIEW_CHANNEL: u64 = 1 << 10;
const SEND_MESSAGES: u64 = 1 << 11;
const READ_MESSAGE_HISTORY: u64 = 1 << 16;
const NEEDED: [(u64, &str); 3] = [
    (VIEW_CHANNEL, "View Channel"),
    (SEND_MESSAGES, "Send Messages"),
    (READ_MESSAGE_HISTORY, "Read Message History"),
];

fn bits(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or(v.as_u64())
        .unwrap_or(0)
}

/// The bot's permissions in a channel: the guild's `@everyone` role and
/// the member's roles, then the channel's overwrites for `@everyone`, the
/// roles, the member (Discord's documented order).
pub fn channel_permissions(
    guild: &str,
    bot: &str,
    member_roles: &[String],
    roles: &[Value],
    overwrites: &[Value],
) -> u64 {
    let role_bits = |id: &str| {
        roles
            .iter()
            .find(|r| r["id"].as_str() == Some(id))
            .map_or(0, |r| bits(&r["permissions"]))
    };
    let mut p = role_bits(guild);
    for r in member_roles {
        p |= role_bits(r);
    }
    if p & ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    let ow = |id: &str| overwrites.iter().find(|o| o["id"].as_str() == Some(id));
    if let Some(o) = ow(guild) {
        p &= !bits(&o["deny"]);
        p |= bits(&o["allow"]);
    }
    let (mut allow, mut deny) = (0, 0);
    for r in member_roles {
        if let Some(o) = ow(r) {
            allow |= bits(&o["allow"]);
            deny |= bits(&o["deny"]);
        }
    }
    p = (p & !deny) | allow;
    if let Some(o) = ow(bot) {
        p = (p & !bits(&o["deny"])) | bits(&o["allow"]);
    }
    p
}

pub async fn check(config: &Config, list: &mut Checklist) {
    let Some(d) = &config.discord else {
        list.off("discord: not configured");
        return;
    };
    let token = match config.resolve(&d.token) {
        Ok(t) => t.into_inner(),
        Err(e) => {
            list.fail(format!("discord: token: {e}"), "set the bot token's secret");
            return;
        }
    };
    let http = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            list.fail(
                format!("discord: cannot build an HTTP client: {e}"),
                "report this",
            );
            return;
        }
    };
    let base = d
        .api_base
        .as_deref()
        .unwrap_or("https://discord.com")
        .trim_end_matches('/')
        .to_owned();
    let api = Api::new(http, format!("{base}/api/v10"), format!("Bot {token}"));
    let me = match api.get("/users/@me").await {
        Ok((200, me)) => me,
        Ok((401, _)) => {
            list.fail(
                "discord: the bot token is refused (HTTP 401)",
                "copy the bot's token from the Developer Portal (Bot > Reset Token) into the \
                 secret `discord.token` names",
            );
            return;
        }
        Ok((s, v)) => {
            list.fail(
                format!("discord: /users/@me answered HTTP {s}: {v}"),
                "check `discord.api_base`",
            );
            return;
        }
        Err(e) => {
            list.fail(
                format!("discord: {e}"),
                "check the network and `discord.api_base`",
            );
            return;
        }
    };
    let bot = me["id"].as_str().unwrap_or("").to_owned();
    list.ok(format!(
        "discord: the token is valid: bot {} ({bot})",
        me["username"].as_str().unwrap_or("?")
    ));
    let app = match api.get("/oauth2/applications/@me").await {
        Ok((200, a)) => a["id"].as_str().unwrap_or(&bot).to_owned(),
        _ => bot.clone(),
    };
    let guilds: BTreeSet<String> = match api.get("/users/@me/guilds").await {
        Ok((200, Value::Array(gs))) => gs
            .iter()
            .filter_map(|g| g["id"].as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    };
    let mut checked_guilds = BTreeSet::new();
    for p in &config.products {
        let Some(channel) = p.channels.get(Adapter::Discord) else {
            continue;
        };
        let c = match api.get(&format!("/channels/{channel}")).await {
            Ok((200, c)) => c,
            Ok((s, _)) => {
                list.fail(
                    format!("discord: {}: the bot cannot see channel {channel} (HTTP {s})", p.name),
                    "invite the bot to the server with the `bot` and `applications.commands` scopes \
                     and give it View Channel there, or correct `channels.discord`",
                );
                continue;
            }
            Err(e) => {
                list.fail(format!("discord: {}: {e}", p.name), "check the network");
                continue;
            }
        };
        let Some(guild) = c["guild_id"].as_str().map(str::to_owned) else {
            list.fail(
                format!("discord: {}: {channel} is not a server channel", p.name),
                "give a text channel of a server in `channels.discord`",
            );
            continue;
        };
        if !guilds.contains(&guild) {
            list.fail(
                format!("discord: {}: the bot is not in server {guild}", p.name),
                "invite the bot to the server (OAuth2 URL with the `bot` and \
                 `applications.commands` scopes)",
            );
            continue;
        }
        let member_roles: Vec<String> =
            match api.get(&format!("/guilds/{guild}/members/{bot}")).await {
                Ok((200, m)) => m["roles"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
        let roles = match api.get(&format!("/guilds/{guild}/roles")).await {
            Ok((200, Value::Array(r))) => r,
            _ => Vec::new(),
        };
        let overwrites = c["permission_overwrites"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let perms = channel_permissions(&guild, &bot, &member_roles, &roles, &overwrites);
        let missing: Vec<&str> = NEEDED
            .iter()
            .filter(|(bit, _)| perms & bit == 0)
            .map(|(_, name)| *name)
            .collect();
        if missing.is_empty() {
            list.ok(format!(
                "discord: {}: may read and send in {channel}",
                p.name
            ));
        } else {
            list.fail(
                format!(
                    "discord: {}: the bot lacks {} in {channel}",
                    p.name,
                    missing.join(", ")
                ),
                format!(
                    "give the bot's role {} in the channel's permissions",
                    missing.join(", ")
                ),
            );
        }
        if checked_guilds.insert(guild.clone()) {
            let name = command_name(&config.prefix);
            match api.get(&format!("/applications/{app}/guilds/{guild}/commands")).await {
                Ok((200, Value::Array(cmds)))
                    if cmds.iter().any(|c| c["name"].as_str() == Some(name.as_str())) =>
                {
                    list.ok(format!("discord: slash command /{name} is registered in server {guild}"));
                }
                Ok((s, _)) => list.fail(
                    format!("discord: slash command /{name} is not registered in server {guild} (HTTP {s})"),
                    "start shipgate once (it registers the command at start); if it still is not, \
                     re-invite the bot with the `applications.commands` scope",
                ),
                Err(e) => list.fail(format!("discord: {e}"), "check the network"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn permissions_follow_roles_then_overwrites() {
        let roles = vec![
            json!({"id": "g", "permissions": (VIEW_CHANNEL | SEND_MESSAGES).to_string()}),
            json!({"id": "r", "permissions": READ_MESSAGE_HISTORY.to_string()}),
            json!({"id": "admin", "permissions": ADMINISTRATOR.to_string()}),
        ];
        let all = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY;
        let member = vec!["r".to_owned()];
        assert_eq!(
            channel_permissions("g", "b", &member, &roles, &[]) & all,
            all
        );
        let deny_send = vec![json!({"id": "g", "allow": "0", "deny": SEND_MESSAGES.to_string()})];
        assert_eq!(
            channel_permissions("g", "b", &member, &roles, &deny_send) & all,
            VIEW_CHANNEL | READ_MESSAGE_HISTORY
        );
        let member_allows = vec![
            deny_send[0].clone(),
            json!({"id": "b", "allow": SEND_MESSAGES.to_string(), "deny": "0"}),
        ];
        assert_eq!(
            channel_permissions("g", "b", &member, &roles, &member_allows) & all,
            all
        );
        let admin = vec!["admin".to_owned()];
        assert_eq!(
            channel_permissions("g", "b", &admin, &roles, &deny_send),
            u64::MAX
        );
    }
}
