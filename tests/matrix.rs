//! shipgate against a real Synapse: commands in a plain and an encrypted
//! room, a whole RC in Matrix, and restarts of shipgate and of Synapse
//! with nothing lost or repeated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![recursion_limit = "256"]

mod daemon_child;
mod synapse_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use daemon_child::Shipgate;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::message::{
    OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room};
use synapse_support::{Synapse, start_or_skip, write};

const PW: &str = "correct horse battery staple";
const TOKEN: &str = "matrix-test-api-token";

#[derive(Debug, Clone)]
struct Seen {
    room: OwnedRoomId,
    sender: String,
    body: String,
    formatted: Option<String>,
    reply_to: bool,
    mentions: Vec<String>,
}

/// A real Matrix user driven by matrix-sdk, recording what it sees.
struct User {
    client: Client,
    seen: Arc<Mutex<Vec<Seen>>>,
    sync: tokio::task::JoinHandle<()>,
}

impl User {
    async fn login(url: &str, name: &str) -> User {
        let client = synapse_support::logged_in(url, name, PW).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, room: Room| {
            let seen = s2.clone();
            async move {
                let formatted = match &ev.content.msgtype {
                    matrix_sdk::ruma::events::room::message::MessageType::Notice(n) => {
                        n.formatted.as_ref().map(|f| f.body.clone())
                    }
                    matrix_sdk::ruma::events::room::message::MessageType::Text(t) => {
                        t.formatted.as_ref().map(|f| f.body.clone())
                    }
                    _ => None,
                };
                seen.lock().unwrap().push(Seen {
                    room: room.room_id().to_owned(),
                    sender: ev.sender.to_string(),
                    body: ev.content.body().to_owned(),
                    formatted,
                    reply_to: matches!(
                        ev.content.relates_to,
                        Some(matrix_sdk::ruma::events::room::message::Relation::Reply(_))
                    ),
                    mentions: ev
                        .content
                        .mentions
                        .as_ref()
                        .map(|m| m.user_ids.iter().map(|u| u.to_string()).collect())
                        .unwrap_or_default(),
                });
            }
        });
        let c2 = client.clone();
        let sync = tokio::spawn(async move {
            loop {
                // Back-to-back long polls (`Client::sync` sleeps between them).
                let poll = c2.sync_once(SyncSettings::default().timeout(Duration::from_secs(2)));
                if poll.await.is_err() {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        });
        User { client, seen, sync }
    }

    fn id(&self) -> OwnedUserId {
        self.client.user_id().unwrap().to_owned()
    }

    async fn say(&self, room: &OwnedRoomId, text: &str) {
        let r = self.client.get_room(room).expect("user is in the room");
        r.send(RoomMessageEventContent::text_plain(text))
            .await
            .unwrap();
    }

    /// Waits for a message from `sender` in `room` containing `needle`
    /// that was not seen before index `after`; returns it and its index.
    async fn wait_for(
        &self,
        room: &OwnedRoomId,
        sender: &str,
        needle: &str,
        after: usize,
    ) -> (usize, Seen) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some((i, s)) =
                    seen.iter().enumerate().skip(after).find(|(_, s)| {
                        &s.room == room && s.sender == sender && s.body.contains(needle)
                    })
                {
                    return (i, s.clone());
                }
            }
            if Instant::now() > deadline {
                let seen = self.seen.lock().unwrap();
                panic!(
                    "no message containing {needle:?} from {sender} in {room}; saw:\n{:#?}",
                    *seen
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn count(&self, room: &OwnedRoomId, sender: &str, needle: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| &s.room == room && s.sender == sender && s.body.contains(needle))
            .count()
    }
}

impl Drop for User {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

/// Starts the daemon on `config` with its manual clock at `clock`.
fn start(config: &Path, clock: &str) -> Shipgate {
    Shipgate::start(config, clock, TOKEN, Duration::from_secs(120))
}

struct World {
    synapse: Synapse,
    dir: tempfile::TempDir,
    config: PathBuf,
    ana: User,
    ben: User,
    web: OwnedRoomId,
    payments: OwnedRoomId,
    bot: String,
}

async fn create_room(
    owner: &User,
    name: &str,
    encrypted: bool,
    invite: Vec<OwnedUserId>,
) -> OwnedRoomId {
    let mut req = CreateRoom::new();
    req.name = Some(name.to_owned());
    req.invite = invite;
    if encrypted {
        req.initial_state = vec![
            InitialStateEvent::with_empty_state_key(
                RoomEncryptionEventContent::with_recommended_defaults(),
            )
            .to_raw_any(),
        ];
    }
    owner
        .client
        .create_room(req)
        .await
        .unwrap()
        .room_id()
        .to_owned()
}

async fn world(test: &str) -> Option<World> {
    let synapse = start_or_skip(test)?;
    for u in ["shipgate", "ana", "ben"] {
        synapse.register(u, PW);
    }
    let ana = User::login(&synapse.url, "ana").await;
    let ben = User::login(&synapse.url, "ben").await;
    let bot: OwnedUserId = "@shipgate:localhost".try_into().unwrap();
    let web = create_room(&ana, "web", false, vec![bot.clone(), ben.id()]).await;
    let payments = create_room(&ana, "payments", true, vec![bot.clone(), ben.id()]).await;
    for r in [&web, &payments] {
        ben.client.join_room_by_id(r).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("bot-password"), PW);
    write(&dir.path().join("api-token"), TOKEN);
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let config = dir.path().join("shipgate.ron");
    write(
        &config,
        &format!(
            r#"(
    database: "shipgate.db",
    rules: "{rules}",
    seed: 7,
    http: (listen: "127.0.0.1:0", api_token: File("api-token")),
    matrix: (homeserver: "{url}", user: "@shipgate:localhost", password: File("bot-password")),
    products: [
        (name: "web", channels: (matrix: "{web}")),
        (name: "payments", channels: (matrix: "{payments}")),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", chat: (matrix: "@ana:localhost"), roles: ["engineer", "lead"]),
        (name: "ben", timezone: "America/New_York", chat: (matrix: "@ben:localhost"), roles: ["engineer"]),
    ],
)"#,
            rules = rules.display(),
            url = synapse.url,
        ),
    );
    Some(World {
        synapse,
        dir,
        config,
        ana,
        ben,
        web,
        payments,
        bot: bot.to_string(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_in_plain_and_encrypted_rooms() {
    let Some(w) = world("commands_in_plain_and_encrypted_rooms").await else {
        return;
    };
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    tokio::time::sleep(Duration::from_secs(1)).await;
    w.ana.say(&w.web, "!sg status").await;
    let (_, plain) = w.ana.wait_for(&w.web, &w.bot, "no RC in flight", 0).await;
    assert!(
        plain.reply_to,
        "the answer threads to the command: {plain:?}"
    );
    w.ana.say(&w.payments, "!sg windows").await;
    let (_, enc) = w
        .ana
        .wait_for(&w.payments, &w.bot, "production: open", 0)
        .await;
    assert!(enc.formatted.is_some(), "answers carry HTML: {enc:?}");
    // Unknown commands get a one-line error with the closest command.
    w.ben.say(&w.web, "!sg stauts").await;
    let (_, bad) = w.ben.wait_for(&w.web, &w.bot, "status", 0).await;
    assert!(
        bad.mentions.contains(&"@ben:localhost".to_owned()),
        "{bad:?}"
    );
    drop(w.synapse);
    drop(sg);
    drop(w.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rc_with_restarts() {
    let Some(mut w) = world("a_whole_rc_with_restarts").await else {
        return;
    };
    // Friday 10:00 in New York: production is closed.
    let sg = start(&w.config, "2026-03-13T14:00:00Z");
    sg.events(concat!(
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "Faster login"}}"##,
        "\n",
        r##"{"merged": {"product": "web", "change": "#2", "author": "ben", "title": "Fix footer"}}"##,
    ))
    .await;
    w.ana.say(&w.web, "!sg rc request ship the login").await;
    // A short reply answers the request; the cut is announced after it.
    let (a, answer) = w
        .ana
        .wait_for(&w.web, &w.bot, "done — RC #1 for web is cut", 0)
        .await;
    assert!(answer.reply_to, "{answer:?}");
    let (i, cut) = w
        .ana
        .wait_for(&w.web, &w.bot, "RC #1 for web is cut", a + 1)
        .await;
    assert!(!cut.reply_to, "the announcement is not a reply: {cut:?}");
    assert!(
        cut.mentions.contains(&"@ben:localhost".to_owned()),
        "the announcement mentions ben: {cut:?}"
    );
    assert!(
        cut.formatted
            .as_deref()
            .is_some_and(|f| f.contains("matrix.to/#/@ben:localhost")),
        "{cut:?}"
    );

    // Restart shipgate mid-run: nothing repeated.
    sg.stop();
    let sg = start(&w.config, "2026-03-13T14:05:00Z");
    w.ana.say(&w.web, "!sg verify all").await;
    let (i, _) = w.ana.wait_for(&w.web, &w.bot, "verified #1", i).await;
    // An hour after the cut, ben is reminded.
    sg.clock("2026-03-13T15:01:00Z").await;
    w.ben
        .wait_for(&w.web, &w.bot, "reminder: please verify #2", 0)
        .await;
    let (i, _) = w
        .ana
        .wait_for(&w.web, &w.bot, "reminder: please verify #2", i)
        .await;
    w.ben.say(&w.web, "!sg verify #2").await;
    let (i, _) = w.ana.wait_for(&w.web, &w.bot, "ready to release", i).await;
    w.ana.say(&w.web, "!sg release").await;
    let (i, refused) = w.ana.wait_for(&w.web, &w.bot, "not released", i).await;
    assert!(
        refused.body.contains("opens Mon 2026-03-16 08:00 EDT"),
        "{refused:?}"
    );

    // Restart Synapse mid-run: what shipgate says meanwhile arrives once
    // it is back, exactly once.
    w.synapse.stop();
    sg.events(r#"{"ci": {"product": "web", "rc": 1, "status": "deployed"}}"#)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.synapse.restart();
    let (i, _) = w.ana.wait_for(&w.web, &w.bot, "RC #1 is deployed", i).await;
    w.ana
        .say(
            &w.web,
            "!sg release exception urgent-delivery partner launch today",
        )
        .await;
    let (i, asked) = w.ana.wait_for(&w.web, &w.bot, "needs 1 approval", i).await;
    let id: String = asked
        .body
        .split("approve ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    // Exception ids are written `E1`.
    assert!(id.starts_with('E') && id.len() > 1, "{}", asked.body);
    w.ana.say(&w.web, &format!("!sg approve {id}")).await;
    let (i, _) = w.ana.wait_for(&w.web, &w.bot, "does not count", i).await;
    w.ben.say(&w.web, &format!("!sg approve {id}")).await;
    let (i, _) = w
        .ana
        .wait_for(&w.web, &w.bot, "is releasing RC #1", i)
        .await;
    sg.events(r#"{"ci": {"product": "web", "rc": 1, "status": "released"}}"#)
        .await;
    w.ana
        .wait_for(&w.web, &w.bot, "released to production", i)
        .await;
    // Nothing said twice across both restarts.
    assert_eq!(
        w.ana.count(&w.web, &w.bot, "RC #1 for web is cut"),
        2,
        "the reply and the announcement"
    );
    assert_eq!(w.ana.count(&w.web, &w.bot, "released to production"), 1);
    assert_eq!(w.ana.count(&w.web, &w.bot, "verified #1"), 1);
    assert_eq!(w.ana.count(&w.web, &w.bot, "RC #1 is deployed"), 1);
    sg.stop();
}

/// A manual-clock instant `minutes` from the real now (Synapse stamps
/// messages with the real time).
fn real_now_plus(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Answers from the bot in `room` that reply to nothing in particular but
/// contain `needle`.
fn answers(u: &User, room: &OwnedRoomId, bot: &str, needle: &str) -> Vec<usize> {
    u.seen
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, s)| &s.room == room && s.sender == bot && s.body.contains(needle))
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sent_while_the_daemon_is_down_are_caught_up_once_in_order() {
    let Some(w) = world("commands_sent_while_the_daemon_is_down_are_caught_up_once_in_order").await
    else {
        return;
    };
    let began = Instant::now();
    let sg = start(&w.config, &real_now_plus(0));
    sg.wait_readyz(200).await;
    eprintln!("first start: ready in {:?}", began.elapsed());
    w.ana.say(&w.web, "!sg status").await;
    w.ana.wait_for(&w.web, &w.bot, "no RC in flight", 0).await;

    // Stopped (SIGTERM): a release, then two read-only commands, in two
    // rooms (one encrypted). The daemon comes back 20 minutes later.
    sg.stop();
    w.ana.say(&w.web, "!sg release").await;
    w.ana.say(&w.web, "!sg windows").await;
    w.ben.say(&w.payments, "!sg status").await;
    let began = Instant::now();
    let sg = start(&w.config, &real_now_plus(20));
    sg.wait_readyz(200).await;
    eprintln!(
        "restart with 3 missed commands: ready in {:?}",
        began.elapsed()
    );
    let (i_rel, rel) = w
        .ana
        .wait_for(&w.web, &w.bot, "while shipgate was offline; not run", 0)
        .await;
    assert!(rel.body.contains("`release` was sent at"), "{rel:?}");
    assert!(rel.reply_to, "{rel:?}");
    let (i_win, win) = w.ana.wait_for(&w.web, &w.bot, "production:", 0).await;
    assert!(win.body.starts_with("(caught up: sent at"), "{win:?}");
    assert!(i_rel < i_win, "in the order sent");
    let (_, pay) = w
        .ben
        .wait_for(&w.payments, &w.bot, "no RC in flight", 0)
        .await;
    assert!(pay.body.starts_with("(caught up"), "{pay:?}");

    // Killed (SIGKILL): the same.
    sg.kill();
    w.ben.say(&w.payments, "!sg windows").await;
    let sg = start(&w.config, &real_now_plus(21));
    let (_, pay2) = w.ben.wait_for(&w.payments, &w.bot, "production:", 0).await;
    assert!(pay2.body.starts_with("(caught up"), "{pay2:?}");
    sg.wait_readyz(200).await;

    // Removed from the room and invited back: what was said while out is
    // caught up, nothing from before is run again.
    let bot: OwnedUserId = w.bot.as_str().try_into().unwrap();
    let room = w.ana.client.get_room(&w.web).unwrap();
    room.kick_user(&bot, Some("testing")).await.unwrap();
    sg.wait_readyz(503).await;
    w.ana.say(&w.web, "!sg help status").await;
    room.invite_user_by_id(&bot).await.unwrap();
    let (_, help) = w.ana.wait_for(&w.web, &w.bot, "status", i_win + 1).await;
    assert!(help.body.starts_with("(caught up"), "{help:?}");
    sg.wait_readyz(200).await;

    // A last restart: nothing is answered twice.
    sg.stop();
    let sg = start(&w.config, &real_now_plus(22));
    sg.wait_readyz(200).await;
    w.ana.say(&w.web, "!sg windows").await;
    let (_, live) = w
        .ana
        .wait_for(&w.web, &w.bot, "production:", i_win + 1)
        .await;
    assert!(!live.body.contains("caught up"), "{live:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(answers(&w.ana, &w.web, &w.bot, "no RC in flight").len(), 1);
    assert_eq!(answers(&w.ana, &w.web, &w.bot, "not run").len(), 1);
    assert_eq!(answers(&w.ana, &w.web, &w.bot, "production:").len(), 2);
    assert_eq!(answers(&w.ben, &w.payments, &w.bot, "production:").len(), 1);
    assert_eq!(
        answers(&w.ben, &w.payments, &w.bot, "no RC in flight").len(),
        1
    );
    sg.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_the_homeserver_is_unreachable() {
    let Some(mut w) = world("not_ready_while_the_homeserver_is_unreachable").await else {
        return;
    };
    let text = std::fs::read_to_string(&w.config).unwrap();
    write(
        &w.config,
        &text.replace(
            "    http: (",
            "    chat: (unreachable_after: 2),\n    http: (",
        ),
    );
    let sg = start(&w.config, "2026-03-09T14:00:00Z");
    sg.wait_readyz(200).await;
    w.synapse.stop();
    let why = sg.wait_readyz(503).await;
    assert!(
        why.contains("matrix: the homeserver has been unreachable for"),
        "{why}"
    );
    w.synapse.restart();
    sg.wait_readyz(200).await;
    w.ana.say(&w.web, "!sg status").await;
    w.ana.wait_for(&w.web, &w.bot, "no RC in flight", 0).await;
    sg.stop();
}
