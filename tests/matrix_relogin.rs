//! Matrix re-login (issue 12, item 5), against a real Synapse: with a
//! `password` configured, an access token revoked while the daemon runs is
//! replaced by a new login of the same device, keeping the encryption
//! store, and commands in an encrypted room are still answered (and the
//! answers still decrypt); so is a token revoked while the daemon is
//! down, at the next start. Skipped without Synapse
//! (`SHIPGATE_SYNAPSE_VENV`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod daemon_child;
mod synapse_support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use daemon_child::Shipgate;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::OwnedRoomId;
use matrix_sdk::ruma::api::client::room::create_room::v3::Request as CreateRoom;
use matrix_sdk::ruma::events::InitialStateEvent;
use matrix_sdk::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk::ruma::events::room::message::{
    OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::{Client, Room};
use synapse_support::{start_or_skip, write};

const PW: &str = "correct horse battery staple";
const TOKEN: &str = "matrix-test-api-token";

/// The bot's stored session: (device id, access token).
fn stored_session(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(dir.join("matrix-store/session.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        v["device_id"].as_str().unwrap().to_owned(),
        v["access_token"].as_str().unwrap().to_owned(),
    )
}

/// Ana, an E2E-capable Matrix user, recording the bot's messages she can
/// read (decrypted ones included).
struct Ana {
    client: Client,
    seen: Arc<Mutex<Vec<String>>>,
    sync: tokio::task::JoinHandle<()>,
}

impl Ana {
    async fn login(url: &str) -> Ana {
        let client = synapse_support::logged_in(url, "ana", PW).await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        client.add_event_handler(move |ev: OriginalSyncRoomMessageEvent, _room: Room| {
            let seen = s2.clone();
            async move {
                if ev.sender.as_str() == "@shipgate:localhost" {
                    seen.lock().unwrap().push(ev.content.body().to_owned());
                }
            }
        });
        let c2 = client.clone();
        let sync = tokio::spawn(async move {
            loop {
                let poll = c2.sync_once(SyncSettings::default().timeout(Duration::from_secs(2)));
                if poll.await.is_err() {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        });
        Ana { client, seen, sync }
    }

    async fn say(&self, room: &OwnedRoomId, text: &str) {
        let r = self.client.get_room(room).expect("ana is in the room");
        r.send(RoomMessageEventContent::text_plain(text))
            .await
            .unwrap();
    }

    /// Waits (60 s) until the bot has said `needle` more than `after` times.
    async fn wait_for(&self, needle: &str, after: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n = self
                .seen
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b.contains(needle))
                .count();
            if n > after {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "the bot did not say {needle:?} (time {}); it said:\n{:#?}",
                    after + 1,
                    self.seen.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Ana {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_replaced_by_a_login_of_the_same_device() {
    let Some(mut synapse) = start_or_skip("a_revoked_token_is_replaced") else {
        return;
    };
    for u in ["shipgate", "ana"] {
        synapse.register(u, PW);
    }
    let ana = Ana::login(&synapse.url).await;
    let mut req = CreateRoom::new();
    req.name = Some("payments".to_owned());
    req.invite = vec!["@shipgate:localhost".try_into().unwrap()];
    req.initial_state = vec![
        InitialStateEvent::with_empty_state_key(
            RoomEncryptionEventContent::with_recommended_defaults(),
        )
        .to_raw_any(),
    ];
    let room = ana
        .client
        .create_room(req)
        .await
        .unwrap()
        .room_id()
        .to_owned();
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
    products: [(name: "payments", channels: (matrix: "{room}"))],
    people: [
        (name: "ana", timezone: "America/New_York", chat: (matrix: "@ana:localhost"), roles: ["engineer", "lead"]),
    ],
)"#,
            rules = rules.display(),
            url = synapse.url,
        ),
    );
    let sg = Shipgate::start(
        &config,
        "2026-03-09T14:00:00Z",
        TOKEN,
        Duration::from_secs(120),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    ana.say(&room, "!sg status").await;
    ana.wait_for("no RC in flight", 0).await;
    let (device, old_token) = stored_session(dir.path());

    // An admin revokes the bot's token while the daemon runs.
    synapse.revoke_token(&old_token);
    assert!(
        sg.wait_log("logging in again with the password as the same device")
            .await,
        "the refused token is noticed:\n{}",
        sg.log()
    );
    assert!(
        sg.wait_log("logged in again; the sync loop runs on the new login")
            .await,
        "{}",
        sg.log()
    );
    // Still answered, in the encrypted room, and Ana reads the answer.
    ana.say(&room, "!sg status").await;
    ana.wait_for("no RC in flight", 1).await;
    let (device_after, new_token) = stored_session(dir.path());
    assert_eq!(device_after, device, "the same device, so the same keys");
    assert_ne!(new_token, old_token, "a new access token is stored");
    // The homeserver knows the bot as that one device (asked with the
    // bot's new token, so that asking adds no device).
    let devices: Vec<(String, Option<String>)> = {
        let bot = Client::builder()
            .homeserver_url(&synapse.url)
            .build()
            .await
            .unwrap();
        bot.restore_session(matrix_sdk::authentication::matrix::MatrixSession {
            meta: matrix_sdk::SessionMeta {
                user_id: "@shipgate:localhost".try_into().unwrap(),
                device_id: device.as_str().into(),
            },
            tokens: matrix_sdk::authentication::SessionTokens {
                access_token: new_token.clone(),
                refresh_token: None,
            },
        })
        .await
        .unwrap();
        bot.devices()
            .await
            .unwrap()
            .devices
            .into_iter()
            .map(|d| (d.device_id.to_string(), d.display_name))
            .collect()
    };
    // (Registration made one more device, without a name.)
    let ids: Vec<&str> = devices
        .iter()
        .filter(|(_, name)| name.is_some())
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(ids, vec![device.as_str()], "{devices:?}");
    // A restart uses the stored new token, without another login.
    sg.stop();
    let sg = Shipgate::start(
        &config,
        "2026-03-09T14:00:00Z",
        TOKEN,
        Duration::from_secs(120),
    );
    ana.say(&room, "!sg status").await;
    ana.wait_for("no RC in flight", 2).await;
    assert!(
        !sg.log().contains("logging in again"),
        "no new login at the restart:\n{}",
        sg.log()
    );
    assert_eq!(
        stored_session(dir.path()),
        (device.clone(), new_token.clone())
    );
    sg.stop();
    // Revoked while the daemon is down: the start logs in again as the
    // same device instead of failing its first sync.
    synapse.revoke_token(&new_token);
    let sg = Shipgate::start(
        &config,
        "2026-03-09T14:00:00Z",
        TOKEN,
        Duration::from_secs(120),
    );
    ana.say(&room, "!sg status").await;
    ana.wait_for("no RC in flight", 3).await;
    assert!(
        sg.log()
            .contains("logged in again with the password as the same device"),
        "{}",
        sg.log()
    );
    let (device_last, last_token) = stored_session(dir.path());
    assert_eq!(device_last, device);
    assert_ne!(last_token, new_token);
    sg.stop();
}
