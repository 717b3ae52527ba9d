//! shipgate against a real Synapse at the edges: a bot that is rate
//! limited (`M_LIMIT_EXCEEDED`) still delivers every reply once and in
//! order, invites are accepted to the configured rooms only, a bot
//! removed from its room is not ready (even across a restart) until it is
//! invited back, and a new access token keeps the stored device while
//! another device's token or another account is refused.
//!
//! What the server did is read from the server (`/messages`, room state,
//! Synapse's access log), not from a client's view of it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod daemon_child;
mod synapse_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daemon_child::Shipgate;
use matrix_sdk::Client;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::room::message::RoomMessageEventContent;
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId};
use serde_json::{Value, json};
use synapse_support::{Synapse, start_or_skip_with, write};

const PW: &str = "correct horse battery staple";
const TOKEN: &str = "matrix-limits-test-api-token";
const BOT: &str = "@shipgate:localhost";
/// Cheap password hashing: registering and logging in 3 users with the
/// default cost takes seconds on a busy machine.
const FAST_PASSWORDS: (&str, &str) = ("bcrypt_rounds", "4");

/// Starts the daemon on `config` (its manual clock on a Monday morning).
fn start(config: &Path) -> Shipgate {
    try_start(config).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`start`], but a daemon that exits before it connects is an `Err`
/// with its exit status and log.
fn try_start(config: &Path) -> Result<Shipgate, String> {
    Shipgate::try_start(
        config,
        "2026-03-09T14:00:00Z",
        TOKEN,
        Duration::from_secs(120),
    )
}

/// Starts the daemon on `config` and waits until the bot has joined
/// `room` (as `api`'s user sees it).
async fn start_joined(config: &Path, api: &Api, room: &OwnedRoomId) -> Shipgate {
    let sg = start(config);
    api.wait_membership(room, BOT, "join").await;
    sg
}

/// As [`start_joined`], then waits until the daemon is ready.
async fn start_ready(config: &Path, api: &Api, room: &OwnedRoomId) -> Shipgate {
    let sg = start_joined(config, api, room).await;
    sg.wait_readyz(200).await;
    sg
}

/// Percent-encodes the sigils of Matrix ids for a URL path.
fn enc(id: &str) -> String {
    id.replace('!', "%21")
        .replace('@', "%40")
        .replace('#', "%23")
        .replace('$', "%24")
        .replace(':', "%3A")
}

/// Direct client-server and admin API calls, as one user.
struct Api {
    url: String,
    token: String,
    http: reqwest::Client,
}

/// `POST /login` with `user`'s password; with `device`, as that device
/// (which gives it a new access token and ends its old one).
async fn password_login(url: &str, user: &str, device: Option<&str>) -> Value {
    let mut body = json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": PW,
    });
    if let Some(d) = device {
        body["device_id"] = json!(d);
    }
    reqwest::Client::new()
        .post(format!("{url}/_matrix/client/v3/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

impl Api {
    async fn login(url: &str, user: &str) -> Api {
        let r = password_login(url, user, None).await;
        Api {
            url: url.to_owned(),
            token: r["access_token"].as_str().unwrap().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    fn of(client: &Client) -> Api {
        Api {
            url: client
                .homeserver()
                .to_string()
                .trim_end_matches('/')
                .to_owned(),
            token: client.access_token().unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `user`'s membership of `room` as the server has it (`None`: never).
    async fn membership(&self, room: &OwnedRoomId, user: &str) -> Option<String> {
        let (status, v) = self
            .get(&format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.member/{}",
                enc(room.as_str()),
                enc(user)
            ))
            .await;
        match status {
            200 => Some(v["membership"].as_str().unwrap().to_owned()),
            404 => None,
            s => panic!("membership of {user} in {room}: HTTP {s}: {v}"),
        }
    }

    async fn wait_membership(&self, room: &OwnedRoomId, user: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.membership(room, user).await;
            if got.as_deref() == Some(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{user} in {room}: membership {got:?}, wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The room's messages, oldest first, as the server has them.
    async fn messages(&self, room: &OwnedRoomId) -> Vec<Value> {
        let (status, v) = self
            .get(&format!(
                "/_matrix/client/v3/rooms/{}/messages?dir=b&limit=500",
                enc(room.as_str())
            ))
            .await;
        assert_eq!(status, 200, "/messages: {v}");
        let mut chunk = v["chunk"].as_array().unwrap().clone();
        chunk.reverse();
        chunk
            .into_iter()
            .filter(|e| e["type"] == "m.room.message")
            .collect()
    }
}

/// A bot message, from the server's timeline.
#[derive(Debug)]
struct Reply {
    in_reply_to: Option<String>,
    body: String,
    ts: u64,
}

async fn bot_replies(api: &Api, room: &OwnedRoomId) -> Vec<Reply> {
    api.messages(room)
        .await
        .into_iter()
        .filter(|e| e["sender"] == BOT)
        .map(|e| Reply {
            in_reply_to: e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                .as_str()
                .map(str::to_owned),
            body: e["content"]["body"].as_str().unwrap_or("").to_owned(),
            ts: e["origin_server_ts"].as_u64().unwrap(),
        })
        .collect()
}

/// Waits until the bot has answered `command` in `room`.
async fn wait_reply(api: &Api, room: &OwnedRoomId, command: &OwnedEventId) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let replies = bot_replies(api, room).await;
        if let Some(r) = replies
            .into_iter()
            .find(|r| r.in_reply_to.as_deref() == Some(command.as_str()))
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no answer to {command} in {room}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn login(url: &str, name: &str) -> Client {
    synapse_support::logged_in(url, name, PW).await
}

async fn create_room(owner: &Client, name: &str, invite: Vec<OwnedUserId>) -> OwnedRoomId {
    let mut req = CreateRoom::new();
    req.name = Some(name.to_owned());
    req.invite = invite;
    owner.create_room(req).await.unwrap().room_id().to_owned()
}

async fn say(client: &Client, room: &OwnedRoomId, text: &str) -> OwnedEventId {
    let r = client.get_room(room).expect("the user is in the room");
    r.send(RoomMessageEventContent::text_plain(text))
        .await
        .unwrap()
        .response
        .event_id
}

/// A shipgate config serving one product, `web`, in `room`.
fn config(dir: &Path, synapse: &Synapse, room: &OwnedRoomId) -> PathBuf {
    write(&dir.join("bot-password"), PW);
    write(&dir.join("api-token"), TOKEN);
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let config = dir.join("shipgate.ron");
    write(
        &config,
        &format!(
            r#"(
    database: "shipgate.db",
    rules: "{rules}",
    seed: 7,
    http: (listen: "127.0.0.1:0", api_token: File("api-token")),
    matrix: (homeserver: "{url}", user: "{BOT}", password: File("bot-password")),
    products: [
        (name: "web", channels: (matrix: "{room}")),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", chat: (matrix: "@ana:localhost"), roles: ["engineer", "lead"]),
    ],
)"#,
            rules = rules.display(),
            url = synapse.url,
        ),
    );
    config
}

/// The bot's message sends in Synapse's access log: (transaction id,
/// HTTP status) in the order Synapse answered them.
fn bot_sends(synapse_log: &str) -> Vec<(String, u16)> {
    synapse_log
        .lines()
        .filter(|l| l.contains("Processed request") && l.contains(&format!("{{{BOT}}}")))
        .filter_map(|l| {
            let (before, after) = l.split_once(" \"PUT ")?;
            let path = after.split_whitespace().next()?;
            if !path.contains("/send/") {
                return None;
            }
            let txn = path.rsplit('/').next()?.to_owned();
            let status = before.split_whitespace().last()?.parse().ok()?;
            Some((txn, status))
        })
        .collect()
}

/// ana, the bot and an admin `root` registered; ana's messages are not
/// rate limited, the bot's are (it has no override). `root`'s API.
async fn only_the_bot_limited(synapse: &Synapse) -> Api {
    synapse.register("shipgate", PW);
    synapse.register("ana", PW);
    synapse.register_admin("root", PW);
    let root = Api::login(&synapse.url, "root").await;
    root.post(
        "/_synapse/admin/v1/users/%40ana%3Alocalhost/override_ratelimit",
        json!({"messages_per_second": 0, "burst_count": 0}),
    )
    .await;
    let (_, bot_override) = root
        .get(&format!(
            "/_synapse/admin/v1/users/{}/override_ratelimit",
            enc(BOT)
        ))
        .await;
    assert_eq!(bot_override, json!({}), "the bot has no ratelimit override");
    root
}

/// `n` commands said at once in `room`: `!sg status`, `!sg windows`, and
/// so on in turn.
async fn say_burst(client: &Client, room: &OwnedRoomId, n: usize) -> Vec<OwnedEventId> {
    let mut commands = Vec::new();
    for i in 0..n {
        let text = if i % 2 == 0 {
            "!sg status"
        } else {
            "!sg windows"
        };
        commands.push(say(client, room, text).await);
    }
    commands
}

/// Every command of a [`say_burst`] answered exactly once, in order, each
/// with its own answer.
fn answered_once_in_order(replies: &[Reply], commands: &[OwnedEventId]) {
    let answered: Vec<&str> = replies
        .iter()
        .filter_map(|r| r.in_reply_to.as_deref())
        .collect();
    let asked: Vec<&str> = commands.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        answered, asked,
        "every command answered exactly once, in order; the bot said:\n{replies:#?}"
    );
    assert_eq!(replies.len(), commands.len(), "{replies:#?}");
    for (r, i) in replies.iter().zip(0..) {
        let want = if i % 2 == 0 {
            "no RC in flight"
        } else {
            "production: open"
        };
        assert!(r.body.contains(want), "reply {i}: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_replies_arrive_once_and_in_order() {
    const TEST: &str = "rate_limited_replies_arrive_once_and_in_order";
    // The bot may send 2 messages at once, then 1 a second.
    let Some(synapse) = start_or_skip_with(
        TEST,
        &[
            ("rc_message", "{per_second: 1, burst_count: 2}"),
            FAST_PASSWORDS,
        ],
    ) else {
        return;
    };
    // ana types as fast as she likes; the bot gets the tight limit. An
    // admin or a user with an override would not be limited: check that
    // the bot is neither.
    let root = only_the_bot_limited(&synapse).await;
    let (_, bot_user) = root
        .get(&format!("/_synapse/admin/v2/users/{}", enc(BOT)))
        .await;
    assert_eq!(bot_user["admin"], false, "{bot_user}");

    // Bound, not `..`: the directory lives to the end.
    let OneRoom {
        synapse,
        ana,
        ana_api,
        web,
        dir: _dir,
        cfg,
        ..
    } = one_room_in(synapse).await;
    let sg = start_joined(&cfg, &ana_api, &web).await;

    // A burst of commands, each answered by a reply to it.
    let commands = say_burst(&ana, &web, 6).await;
    let started = Instant::now();
    wait_reply(&ana_api, &web, commands.last().unwrap()).await;
    let took = started.elapsed();
    // Room for a late duplicate to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let replies = bot_replies(&ana_api, &web).await;
    answered_once_in_order(&replies, &commands);

    // The limit was hit and waited out: Synapse refused some sends with
    // 429, and each refused transaction went through later. (The same
    // transaction accepted twice would be harmless: Synapse deduplicates
    // it, and the timeline above shows no duplicate.)
    let sends = bot_sends(&synapse.log());
    let limited: BTreeSet<&str> = sends
        .iter()
        .filter(|(_, s)| *s == 429)
        .map(|(t, _)| t.as_str())
        .collect();
    let accepted: BTreeSet<&str> = sends
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(t, _)| t.as_str())
        .collect();
    assert!(
        !limited.is_empty(),
        "no send of the bot was rate limited, so the test proves nothing; sends: {sends:?}"
    );
    assert!(
        limited.is_subset(&accepted),
        "refused sends never went through: {sends:?}"
    );
    assert_eq!(accepted.len(), commands.len(), "sends: {sends:?}");
    // Each 429 is counted (and logged at WARN with the wait asked for).
    let counted = sg
        .metric("shipgate_messages_sent_total{result=\"rate_limited\"}")
        .await;
    assert!(
        counted >= limited.len() as f64,
        "{counted} counted, {} refused: {sends:?}",
        limited.len()
    );
    assert!(
        sg.log().contains("rate limited by the chat server (429)"),
        "{}",
        sg.log()
    );
    // 6 messages at 2 + 1/s cannot be sent in less than ~4 s.
    let span = replies.last().unwrap().ts - replies[0].ts;
    assert!(
        span >= 2_500,
        "the replies were spread over {span} ms only: {replies:#?}"
    );
    eprintln!(
        "{TEST}: {} sends refused with 429 and retried; replies spread over {span} ms; last one after {took:?}",
        limited.len()
    );
    sg.stop();
}

/// A Synapse with the bot and ana, ana's room `web` with the bot invited,
/// and a shipgate config serving it (not started).
struct OneRoom {
    synapse: Synapse,
    ana: Client,
    ana_api: Api,
    bot: OwnedUserId,
    web: OwnedRoomId,
    dir: tempfile::TempDir,
    cfg: PathBuf,
}

async fn one_room(test: &str) -> Option<OneRoom> {
    let synapse = start_or_skip_with(test, &[FAST_PASSWORDS])?;
    synapse.register("shipgate", PW);
    synapse.register("ana", PW);
    Some(one_room_in(synapse).await)
}

/// As [`one_room`], on a `synapse` where the bot and ana are registered.
async fn one_room_in(synapse: Synapse) -> OneRoom {
    let ana = login(&synapse.url, "ana").await;
    let ana_api = Api::of(&ana);
    let bot: OwnedUserId = BOT.try_into().unwrap();
    let web = create_room(&ana, "web", vec![bot.clone()]).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &synapse, &web);
    OneRoom {
        synapse,
        ana,
        ana_api,
        bot,
        web,
        dir,
        cfg,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_its_room_the_bot_is_not_ready_and_joins_only_its_own_rooms() {
    // Bound, not `..`: the homeserver and the directory live to the end.
    let Some(OneRoom {
        synapse: _synapse,
        ana,
        ana_api,
        bot,
        web,
        dir: _dir,
        cfg,
    }) = one_room("out_of_its_room_the_bot_is_not_ready_and_joins_only_its_own_rooms").await
    else {
        return;
    };
    let sg = start_ready(&cfg, &ana_api, &web).await;

    // shipgate joins every configured room at start, so a configured room
    // it is not in is one it was removed from since. Out of its room, it
    // is not ready and says why...
    let web_room = ana.get_room(&web).unwrap();
    web_room.kick_user(&bot, Some("oops")).await.unwrap();
    ana_api.wait_membership(&web, BOT, "leave").await;
    let why = sg.wait_readyz(503).await;
    assert!(
        why.contains(&format!("not in room {web}"))
            && why.contains("product web")
            && why.contains("oops"),
        "{why}"
    );
    // ...and a restart while it is out starts anyway (the other products
    // would otherwise go down with this one), still not ready.
    sg.stop();
    let sg = start(&cfg);
    let (status, why) = sg.readyz().await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains(&format!("not in room {web}")), "{why}");
    assert!(
        sg.wait_log("the bot is not in room").await,
        "the start logs it:\n{}",
        sg.log()
    );
    // Something to say while it is out: it waits in the outbox.
    sg.events(r#"{"chat": {"product": "web", "from": "ana", "text": "!sg windows"}}"#)
        .await;

    // While it is out, it is invited first to a room it does not serve,
    // then back to its own room.
    let elsewhere = create_room(&ana, "elsewhere", vec![bot.clone()]).await;
    assert_eq!(
        ana_api.membership(&elsewhere, BOT).await.as_deref(),
        Some("invite")
    );
    web_room.invite_user_by_id(&bot).await.unwrap();

    // It goes back to its room and answers there again.
    ana_api.wait_membership(&web, BOT, "join").await;
    status_is_answered(&ana, &ana_api, &web).await;
    assert_eq!(sg.wait_readyz(200).await, "ready\n");
    // What waited went out once the bot was back, ahead of the answer.
    let replies = bot_replies(&ana_api, &web).await;
    let waited = replies
        .iter()
        .position(|r| r.body.contains("production"))
        .unwrap_or_else(|| panic!("the waiting answer was not sent: {replies:?}"));
    let status = replies
        .iter()
        .position(|r| r.body.contains("no RC in flight"))
        .unwrap();
    assert!(waited < status, "{replies:?}");
    assert!(
        sg.wait_log("a chat problem is over; retrying now").await,
        "{}",
        sg.log()
    );

    // By now the bot has long seen the earlier invite: still not taken.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ana_api.membership(&elsewhere, BOT).await.as_deref(),
        Some("invite"),
        "the bot must not join a room it does not serve:\n{}",
        sg.log()
    );
    assert!(
        !sg.log().contains("could not accept an invite"),
        "{}",
        sg.log()
    );
    sg.stop();
}

/// Asks `!sg status` in `room` as `client` and waits for the bot's reply:
/// no RC in flight.
async fn status_is_answered(client: &Client, api: &Api, room: &OwnedRoomId) {
    let asked = say(client, room, "!sg status").await;
    let answer = wait_reply(api, room, &asked).await;
    assert!(answer.body.contains("no RC in flight"), "{answer:?}");
}

/// The bot's access token and device from a password login (as `device`
/// if given).
async fn bot_token(url: &str, device: Option<&str>) -> (String, String) {
    let r = password_login(url, "shipgate", device).await;
    (
        r["access_token"].as_str().unwrap().to_owned(),
        r["device_id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_keeps_its_account_and_device_when_credentials_change() {
    let Some(OneRoom {
        synapse,
        ana,
        ana_api,
        bot: _,
        web,
        dir,
        cfg,
    }) = one_room("the_store_keeps_its_account_and_device_when_credentials_change").await
    else {
        return;
    };
    let sg = start_joined(&cfg, &ana_api, &web).await;
    sg.stop();
    let stored = || -> Value {
        let text = std::fs::read_to_string(dir.path().join("matrix-store/session.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let device = stored()["device_id"].as_str().unwrap().to_owned();

    // The token is rotated (a new login as the same device ends the old
    // token), and the config now gives the new token instead of the
    // password: the stored device goes on with the new token.
    let (rotated, same) = bot_token(&synapse.url, Some(&device)).await;
    assert_eq!(same, device);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let with_token = text.replace(
        r#"password: File("bot-password")"#,
        r#"access_token: File("bot-token")"#,
    );
    assert_ne!(text, with_token);
    write(&cfg, &with_token);
    write(&dir.path().join("bot-token"), &rotated);
    let sg = start(&cfg);
    status_is_answered(&ana, &ana_api, &web).await;
    sg.stop();
    assert_eq!(stored()["device_id"], device.as_str());
    assert_eq!(stored()["access_token"], rotated.as_str());

    // A token of another device cannot use this store: refused, saying
    // which device each is.
    let (other, other_device) = bot_token(&synapse.url, None).await;
    assert_ne!(other_device, device);
    write(&dir.path().join("bot-token"), &other);
    let err = try_start(&cfg)
        .err()
        .expect("another device's token must not start on this store");
    assert!(
        err.contains(&format!("device {other_device}"))
            && err.contains(&format!("device {device}")),
        "{err}"
    );

    // Another account cannot use it either.
    write(&dir.path().join("bot-token"), &rotated);
    write(&cfg, &with_token.replace(BOT, "@releasebot:localhost"));
    let err = try_start(&cfg)
        .err()
        .expect("another account must not start on this store");
    assert!(
        err.contains("holds the session and keys of @shipgate:localhost")
            && err.contains("@releasebot:localhost"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_account_is_refused_on_the_first_start() {
    let Some(OneRoom {
        synapse, dir, cfg, ..
    }) = one_room("a_token_of_another_account_is_refused_on_the_first_start").await
    else {
        return;
    };
    // ana's token under `user: "@shipgate:localhost"`, with no store yet.
    let ana = password_login(&synapse.url, "ana", None).await;
    write(
        &dir.path().join("bot-token"),
        ana["access_token"].as_str().unwrap(),
    );
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        &text.replace(
            r#"password: File("bot-password")"#,
            r#"access_token: File("bot-token")"#,
        ),
    );
    let err = try_start(&cfg)
        .err()
        .expect("another account's token must not start the bot");
    assert!(
        err.contains("the configured credentials are @ana:localhost")
            && err.contains("`matrix.user` is @shipgate:localhost"),
        "{err}"
    );
    // Nothing of ana's was kept: the bot's own password starts it.
    write(&cfg, &text);
    let sg = start(&cfg);
    sg.wait_readyz(200).await;
    sg.stop();
}

/// The bot's devices, from the admin API: (device id, display name).
async fn bot_devices(root: &Api) -> Vec<(String, Option<String>)> {
    let (status, body) = root
        .get(&format!("/_synapse/admin/v2/users/{}/devices", enc(BOT)))
        .await;
    assert_eq!(status, 200, "{body}");
    body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["device_id"].as_str().unwrap().to_owned(),
                d["display_name"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_store_starts_do_not_pile_up_devices() {
    let Some(OneRoom {
        synapse,
        ana,
        ana_api,
        bot: _,
        web,
        dir,
        cfg,
    }) = one_room("fresh_store_starts_do_not_pile_up_devices").await
    else {
        return;
    };
    synapse.register_admin("root", PW);
    let root = Api::login(&synapse.url, "root").await;
    // A login of the bot's account that is not shipgate's device (someone
    // checking the account by hand): never logged out by shipgate.
    let (_, by_hand) = bot_token(&synapse.url, None).await;
    // Registering the account made a device too.
    let before = bot_devices(&root).await;
    assert!(before.iter().all(|(_, name)| name.is_none()), "{before:?}");
    let mut devices_seen = BTreeSet::new();
    for start_no in 1..=3 {
        // Each start with an empty store: a new login, a new device.
        let _ = std::fs::remove_dir_all(dir.path().join("matrix-store"));
        let sg = start(&cfg);
        status_is_answered(&ana, &ana_api, &web).await;
        sg.stop();
        let devices = bot_devices(&root).await;
        let named: Vec<&String> = devices
            .iter()
            .filter(|(_, name)| name.as_deref() == Some("shipgate"))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            named.len(),
            1,
            "start {start_no}: one device named shipgate, the newest: {devices:?}"
        );
        devices_seen.insert(named[0].clone());
        assert!(
            devices.iter().any(|(id, _)| *id == by_hand),
            "start {start_no}: the device made by hand stays: {devices:?}"
        );
        assert_eq!(
            devices.len(),
            before.len() + 1,
            "start {start_no}: {devices:?}"
        );
    }
    assert_eq!(
        devices_seen.len(),
        3,
        "each fresh-store start was a new device: {devices_seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_login_is_logged_counted_and_retried() {
    const TEST: &str = "a_rate_limited_login_is_logged_counted_and_retried";
    // One login per account, then one every 5 s.
    let Some(synapse) = start_or_skip_with(
        TEST,
        &[
            (
                "rc_login",
                "{address: {per_second: 1000, burst_count: 1000}, \
                 account: {per_second: 0.2, burst_count: 1}, \
                 failed_attempts: {per_second: 1000, burst_count: 1000}}",
            ),
            FAST_PASSWORDS,
        ],
    ) else {
        return;
    };
    synapse.register("shipgate", PW);
    synapse.register("ana", PW);
    // Bound, not `..`: the directory lives to the end.
    let OneRoom {
        synapse,
        ana,
        ana_api,
        web,
        dir: _dir,
        cfg,
        ..
    } = one_room_in(synapse).await;
    // The bot's account has just logged in: shipgate's login must wait.
    bot_token(&synapse.url, None).await;
    let sg = start(&cfg);
    status_is_answered(&ana, &ana_api, &web).await;
    let log = sg.log();
    let warned = log
        .lines()
        .find(|l| l.contains("matrix: login rate limited by the homeserver (429); retrying in"))
        .unwrap_or_else(|| panic!("no WARN for the rate-limited login:\n{log}"));
    assert!(
        warned.contains("WARN") && warned.contains("wait_ms="),
        "{warned}"
    );
    let counted = sg
        .metric("shipgate_chat_logins_total{result=\"rate_limited\"}")
        .await;
    assert!(counted >= 1.0, "{counted} rate-limited logins counted");
    sg.stop();
}

/// The bot's messages in `room` as the server has them (raw events).
async fn bot_events(api: &Api, room: &OwnedRoomId) -> Vec<Value> {
    api.messages(room)
        .await
        .into_iter()
        .filter(|e| e["sender"] == BOT)
        .collect()
}

/// Waits for the bot's message in `room` whose `m.in_reply_to` is `command`.
async fn wait_answer(api: &Api, room: &OwnedRoomId, command: &OwnedEventId) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(e) = bot_events(api, room)
            .await
            .into_iter()
            .find(|e| e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == command.as_str())
        {
            return e;
        }
        assert!(Instant::now() < deadline, "no answer to {command}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Lines of the daemon's log at WARN or ERROR.
fn warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_reply_to_their_command_in_its_thread_with_layout_and_a_quiet_log() {
    use matrix_sdk::ruma::events::relation::Thread;
    use matrix_sdk::ruma::events::room::message::Relation;
    let Some(OneRoom {
        synapse: _synapse,
        ana,
        ana_api,
        web,
        dir: _dir,
        cfg,
        ..
    }) = one_room("answers_reply_to_their_command_in_its_thread_with_layout_and_a_quiet_log").await
    else {
        return;
    };
    let sg = start_ready(&cfg, &ana_api, &web).await;
    sg.events(
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "Faster login"}}"##,
    )
    .await;

    // In the room's main timeline: a plain reply.
    let status = say(&ana, &web, "!sg status").await;
    let answer = wait_answer(&ana_api, &web, &status).await;
    let rel = &answer["content"]["m.relates_to"];
    assert!(rel.get("rel_type").is_none(), "not in a thread: {answer}");

    // In a thread: the answer is in the thread, replying to the command.
    let root = say(&ana, &web, "release chat").await;
    let in_thread = |text: &str| {
        let mut c = RoomMessageEventContent::text_plain(text);
        c.relates_to = Some(Relation::Thread(Thread::plain(root.clone(), root.clone())));
        c
    };
    let room = ana.get_room(&web).unwrap();
    let windows = room
        .send(in_thread("!sg windows"))
        .await
        .unwrap()
        .response
        .event_id;
    let answer = wait_answer(&ana_api, &web, &windows).await;
    let rel = &answer["content"]["m.relates_to"];
    assert_eq!(rel["rel_type"], "m.thread", "{answer}");
    assert_eq!(rel["event_id"], root.as_str(), "{answer}");
    assert_ne!(
        rel["is_falling_back"], true,
        "a real reply, not a fallback: {answer}"
    );
    assert!(
        answer["content"]["body"]
            .as_str()
            .unwrap()
            .contains("production: open"),
        "{answer}"
    );

    // A state change typed in the thread: the answer replies in the
    // thread; the announcement is a message of its own in the room.
    let request = room
        .send(in_thread("!sg rc request ship the login"))
        .await
        .unwrap()
        .response
        .event_id;
    let answer = wait_answer(&ana_api, &web, &request).await;
    assert_eq!(answer["content"]["m.relates_to"]["rel_type"], "m.thread");
    let body = answer["content"]["body"].as_str().unwrap();
    assert!(
        body.starts_with("@ana: done — RC #1 for web is cut"),
        "{answer}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let cut = loop {
        if let Some(e) = bot_events(&ana_api, &web).await.into_iter().find(|e| {
            e["content"]["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("RC #1 for web is cut"))
        }) {
            break e;
        }
        assert!(Instant::now() < deadline, "no announcement of the cut");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        cut["content"].get("m.relates_to").is_none(),
        "the announcement is in the main timeline: {cut}"
    );
    // Its list of changes is an HTML list.
    let html = cut["content"]["formatted_body"].as_str().unwrap();
    assert!(html.contains("<ul><li>"), "{cut}");

    // The help list keeps its columns.
    let help = say(&ana, &web, "!sg help").await;
    let answer = wait_answer(&ana_api, &web, &help).await;
    let html = answer["content"]["formatted_body"].as_str().unwrap();
    assert!(html.contains("<table><tr><td><code>!sg "), "{answer}");

    // A healthy run says nothing at WARN or ERROR (no secret storage or
    // room encryption 404s, no "own device might have been deleted").
    let log = sg.log();
    assert!(warnings(&log).is_empty(), "{:#?}", warnings(&log));
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_30_commands_under_synapses_default_limits() {
    const TEST: &str = "a_burst_of_30_commands_under_synapses_default_limits";
    // No `rc_message` in homeserver.yaml: Synapse's default message limit
    // (0.2 a second after a burst of 10) applies to the bot.
    let Some(synapse) = start_or_skip_with(TEST, &[("rc_message", ""), FAST_PASSWORDS]) else {
        return;
    };
    // ana types 30 commands at once; only the bot is limited.
    only_the_bot_limited(&synapse).await;
    // Bound, not `..`: the directory lives to the end.
    let OneRoom {
        synapse,
        ana,
        ana_api,
        web,
        dir: _dir,
        cfg,
        ..
    } = one_room_in(synapse).await;
    let sg = start_ready(&cfg, &ana_api, &web).await;

    let commands = say_burst(&ana, &web, 30).await;
    let started = Instant::now();
    let last = commands.last().unwrap().as_str();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let replies = bot_replies(&ana_api, &web).await;
        if replies
            .iter()
            .any(|r| r.in_reply_to.as_deref() == Some(last))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of 30 answered in 300 s",
            replies.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();
    // Room for a late duplicate to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let replies = bot_replies(&ana_api, &web).await;
    answered_once_in_order(&replies, &commands);
    assert_eq!(replies.len(), 30, "{replies:#?}");
    let sends = bot_sends(&synapse.log());
    let limited = sends.iter().filter(|(_, s)| *s == 429).count();
    assert!(
        limited > 0,
        "no send was rate limited: Synapse's defaults did not apply; sends: {sends:?}"
    );
    let counted = sg
        .metric("shipgate_messages_sent_total{result=\"rate_limited\"}")
        .await;
    assert!(
        counted >= limited as f64,
        "{counted} counted, {limited} refused: {sends:?}"
    );
    assert_eq!(
        sg.metric("shipgate_messages_sent_total{result=\"failed\"}")
            .await,
        0.0
    );
    eprintln!(
        "{TEST}: 30 answers in {took:?}; {limited} sends refused with 429, counted and waited out"
    );
    sg.stop();
}
