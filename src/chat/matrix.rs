//! The Matrix adapter (matrix-sdk): one room per product, plain or
//! end-to-end encrypted. The session and encryption keys live in a store
//! under the data directory, so a restart keeps the same device.
//!
//! [`session`] logs in, keeps the store one account's and one device's,
//! and logs in again as the same device when the homeserver refuses the
//! access token;
//! [`rooms`] joins the product rooms and follows the bot's membership;
//! [`catch_up`] is the sync loop, which hands over every message once,
//! including those sent while shipgate was offline; [`send`] posts answers.

mod catch_up;
mod rooms;
mod send;
mod session;

use std::collections::BTreeMap;
use std::time::Duration;

use matrix_sdk::Client;
use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::adapter::{ChatAdapter, Outgoing, SendError};
use super::error_chain::error_chain;
use super::health::{Health, Outage};
use super::inbound::{ChatInput, unreachable_key};
use crate::config::{Adapter, Config, MatrixConfig};

pub use catch_up::{RoomCursor, Seen, SeenKind, select, strip_reply_fallback};
pub use send::to_html;

/// The Matrix side of shipgate.
#[derive(Clone)]
pub struct MatrixAdapter {
    /// The client of the current login: replaced when the bot logs in
    /// again after its access token was revoked ([`session::keep`]).
    client: std::sync::Arc<arc_swap::ArcSwap<Client>>,
    /// Configured channel (room id or alias) -> room id.
    rooms: BTreeMap<String, OwnedRoomId>,
    threads: send::Threads,
}
fn err<E: std::error::Error>(what: &str, e: E) -> String {
    let chain = error_chain(&e);
    match unreachable_why(&chain) {
        Some(why) => format!("matrix: {what}: cannot reach the homeserver ({why}): {chain}"),
        None => format!("matrix: {what}: {chain}"),
    }
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
impl MatrixAdapter {
    /// Logs in (or restores the stored session), joins the configured
    /// rooms, syncs once without waiting for news, and starts the sync loop
    /// that hands messages to `inbound` (what was said since `cursors`
    /// first). A configured room the bot was in before but cannot join now
    /// (it was kicked or banned) does not stop the start: it is a problem
    /// in `health` until the bot is back in it.
    pub async fn start(
        config: &Config,
        inbound: mpsc::Sender<ChatInput>,
        shutdown: CancellationToken,
        health: std::sync::Arc<Health>,
        cursors: BTreeMap<String, String>,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), String> {
        let reader_stop = shutdown.child_token();
        // Kept across logins: the thread each pending answer belongs in.
        let threads = send::Threads::default();
        let (client, rooms, reader) = connect(
            config,
            Wiring {
                inbound: inbound.clone(),
                health: health.clone(),
                threads: threads.clone(),
            },
            reader_stop.clone(),
            cursors,
        )
        .await?;
        let current = std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(client));
        let adapter = Self {
            client: current.clone(),
            rooms,
            threads: threads.clone(),
        };
        let task = tokio::spawn(session::keep(session::Keeper {
            config: config.clone(),
            threads,
            inbound,
            shutdown,
            health,
            current,
            reader: (reader_stop, reader),
        }));
        Ok((adapter, task))
    }

    /// The client of the current login.
    pub fn client(&self) -> Client {
        Client::clone(&self.client.load())
    }
}

/// Builds the client on the store, logs in (or restores the session, or
/// logs in again as the same device when the stored token was revoked),
/// joins the configured rooms, syncs once without waiting for news, and
/// starts the sync loop; returns the client, the rooms and the loop's
/// task (stopped by `shutdown`).
/// What a login's sync loop hands its messages to, and shares with sending.
struct Wiring {
    inbound: mpsc::Sender<ChatInput>,
    health: std::sync::Arc<Health>,
    threads: send::Threads,
}

async fn connect(
    config: &Config,
    wiring: Wiring,
    shutdown: CancellationToken,
    cursors: BTreeMap<String, String>,
) -> Result<
    (
        Client,
        BTreeMap<String, OwnedRoomId>,
        tokio::task::JoinHandle<()>,
    ),
    String,
> {
    let Wiring {
        inbound,
        health,
        threads,
    } = wiring;
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
    session::log_in(&client, config, m, &store, &health).await?;
    // First sync: from where the bot last stopped reading (what was
    // said since is caught up by the reader), without waiting for news.
    let token = cursors.get(catch_up::SYNC_KEY).cloned();
    let first = client
        .sync_once(catch_up::sync_settings(token.clone()).timeout(Duration::ZERO))
        .await
        .map_err(|e| err("first sync failed", e))?;
    let rooms = rooms::join_all(&client, config, m, &health).await?;
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
    rooms::watch(
        &client,
        &health,
        channel_of,
        rooms.values().cloned().collect(),
    );
    let people: BTreeMap<String, String> = config
        .people
        .iter()
        .filter_map(|p| Some((p.chat.get(Adapter::Matrix)?.to_owned(), p.name.clone())))
        .collect();
    let own: Option<OwnedUserId> = client.user_id().map(|u| u.to_owned());
    let reader = catch_up::Reader {
        client: client.clone(),
        inbound,
        health,
        by_room,
        people,
        own,
        threads,
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
    Ok((client, rooms, task))
}

impl ChatAdapter for MatrixAdapter {
    fn name(&self) -> &'static str {
        "matrix"
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        let client = self.client();
        send::send(&client, &self.rooms, &self.threads, message).await
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
}
