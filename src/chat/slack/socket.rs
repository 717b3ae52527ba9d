//! Socket Mode: `apps.connections.open` (with the app-level token) gives a
//! WebSocket URL; Slack sends `hello`, then envelopes (`events_api`,
//! `slash_commands`, `interactive`: button clicks), each acknowledged at once with its
//! `envelope_id` (a slash command's acknowledgement carries its immediate
//! answer), and `disconnect` when it wants the client on a new connection,
//! which the adapter opens. A connection that drops is opened again with
//! backoff; down for longer than `chat.unreachable_after` makes the daemon
//! not ready until it is back. Each new connection catches up first.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;

use super::api::{Api, Body};
use super::events::Dispatcher;
use crate::chat::health::{Health, Outage};
use crate::chat::inbound::unreachable_key;

/// How long start-up waits for the first `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a connection and waits for its `hello`.
async fn connect(app: &Api) -> Result<Ws, String> {
    let open = app
        .call_waiting("apps.connections.open", Body::Form(&[]), 5)
        .await
        .map_err(|e| format!("apps.connections.open: {e}"))?;
    let url = open
        .get("url")
        .and_then(Value::as_str)
        .ok_or("apps.connections.open gave no url")?;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| {
        format!(
            "cannot open the Socket Mode WebSocket: {}",
            crate::chat::error_chain::error_chain(&e)
        )
    })?;
    let hello = tokio::time::timeout(HELLO_TIMEOUT, async {
        while let Some(m) = ws.next().await {
            if let Ok(WsMessage::Text(t)) = m
                && serde_json::from_str::<Value>(&t)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(|s| s == "hello"))
                    == Some(true)
            {
                return true;
            }
        }
        false
    })
    .await;
    match hello {
        Ok(true) => Ok(ws),
        Ok(false) => Err("the Socket Mode connection closed before hello".to_owned()),
        Err(_) => Err(format!("no hello within {} s", HELLO_TIMEOUT.as_secs())),
    }
}

/// Why one connection ended.
enum Ended {
    Shutdown,
    /// Slack asked for a new connection (`disconnect`).
    Refresh(String),
    Dropped(String),
}

/// Reads one connection until it ends.
async fn serve(
    ws: &mut Ws,
    d: &Arc<Dispatcher>,
    events: &mpsc::UnboundedSender<Value>,
    shutdown: &CancellationToken,
) -> Ended {
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => {
                let _ = ws.close(None).await;
                return Ended::Shutdown;
            }
            m = ws.next() => m,
        };
        let text = match next {
            None => return Ended::Dropped("the connection closed".to_owned()),
            Some(Err(e)) => return Ended::Dropped(e.to_string()),
            Some(Ok(WsMessage::Text(t))) => t,
            Some(Ok(WsMessage::Close(_))) => return Ended::Dropped("closed by Slack".to_owned()),
            Some(Ok(_)) => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            tracing::warn!("slack: an unreadable Socket Mode message");
            continue;
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "disconnect" {
            let reason = v
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            return Ended::Refresh(reason);
        }
        let Some(envelope) = v.get("envelope_id").and_then(Value::as_str) else {
            continue;
        };
        let payload = v.get("payload").cloned().unwrap_or(Value::Null);
        let mut ack = json!({ "envelope_id": envelope });
        let mut slash: Option<BTreeMap<String, String>> = None;
        if kind == "slash_commands" {
            let fields: BTreeMap<String, String> = payload
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            let answer = d.slash_ack(&fields);
            if answer.as_object().is_some_and(|o| !o.is_empty()) {
                ack["payload"] = answer;
            }
            slash = Some(fields);
        }
        // Acknowledged before anything is done, within Slack's 3 s.
        if let Err(e) = ws.send(WsMessage::Text(ack.to_string())).await {
            return Ended::Dropped(format!("cannot acknowledge an envelope: {e}"));
        }
        let d = d.clone();
        match (kind, slash) {
            ("events_api", _) => {
                // One at a time, in order: a channel's cursor must not
                // pass a message that is not handed over yet.
                let _ = events.send(payload);
            }
            (_, Some(fields)) => {
                tokio::spawn(async move { d.slash(&fields).await });
            }
            ("interactive", _) => {
                tokio::spawn(async move { d.interaction(&payload).await });
            }
            _ => tracing::debug!(kind, "slack: an envelope shipgate does not handle"),
        }
    }
}

/// Connects (waiting for `hello`), catches up, and returns the task that
/// keeps a connection open until `shutdown`.
pub async fn start(
    app: Api,
    d: Arc<Dispatcher>,
    health: Arc<Health>,
    unreachable_after: Duration,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let mut ws = connect(&app).await.map_err(|e| format!("slack: {e}"))?;
    tracing::info!("slack: Socket Mode connected");
    let task = tokio::spawn(async move {
        let mut outage = Outage::new(
            unreachable_key("slack"),
            "slack: Socket Mode".to_owned(),
            unreachable_after,
        );
        let mut failures: u32 = 0;
        let (events, mut queue) = mpsc::unbounded_channel::<Value>();
        let worker = d.clone();
        tokio::spawn(async move {
            while let Some(payload) = queue.recv().await {
                worker.event(&payload).await;
            }
        });
        // Each connection is caught up on before it is read: live
        // envelopes wait on the socket meanwhile.
        d.catch_up().await;
        loop {
            match serve(&mut ws, &d, &events, &shutdown).await {
                Ended::Shutdown => return,
                Ended::Refresh(reason) => {
                    tracing::info!(reason, "slack: Socket Mode asks for a new connection");
                }
                Ended::Dropped(why) => {
                    tracing::warn!(error = %why, "slack: Socket Mode connection lost");
                }
            }
            ws = loop {
                if shutdown.is_cancelled() {
                    return;
                }
                match connect(&app).await {
                    Ok(ws) => break ws,
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        outage.failed(&health, Instant::now(), &e);
                        let wait = Duration::from_secs(1u64 << failures.min(5));
                        tracing::warn!(error = %e, retry_in = ?wait, "slack: cannot reconnect");
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            };
            failures = 0;
            if outage.ok(&health) {
                tracing::info!("slack: Socket Mode is connected again");
            }
            tracing::info!("slack: Socket Mode reconnected");
            d.catch_up().await;
        }
    });
    Ok(task)
}
