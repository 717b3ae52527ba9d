//! Forge reconciliation: nothing merged is missed while shipgate was not
//! listening. At start and then every `reconcile.interval_secs`, each
//! product repo on a forge with a token is asked for the changes merged to
//! its default branch since the newest one seen last time (a cursor per
//! repo, kept in the database); each one the event log does not know yet,
//! under any of its names, goes in as the `merged` event a webhook would
//! have made. The first run only takes stock (it sets the cursor).

pub mod client;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::config::{Config, Forge, Product};
use crate::engine::Event;
use crate::ledger::Applied;
use crate::team::author_name;
pub use client::{Client, ForgeError, Merge};

/// Where the cursors live: the cursor table's adapter column.
pub const CURSOR_ADAPTER: &str = "forge";

/// One repo to reconcile.
#[derive(Debug, Clone)]
pub struct Target {
    pub product: String,
    pub repo: String,
    pub branch: String,
    pub client: Client,
}

impl Target {
    fn cursor_key(&self) -> String {
        format!("{}:{}", self.client.forge.name(), self.repo)
    }
}

/// The repos to reconcile and why any are left out (a forge without a
/// token, a token that cannot be read, a repo no forge claims).
pub fn targets(config: &Config) -> (Vec<Target>, Vec<String>) {
    let mut out = Vec::new();
    let mut off = Vec::new();
    let mut clients: Vec<(Forge, Result<Client, String>)> = Vec::new();
    for (forge, access) in config.reconcile.forges() {
        let client = match &access.token {
            None => Err(format!(
                "{}: no `reconcile.{}.token`; reconciliation with it is off",
                forge.name(),
                forge.name()
            )),
            Some(secret) => config
                .resolve(secret)
                .map_err(|e| format!("{}: {e}", forge.name()))
                .and_then(|t| Client::new(forge, access.api_base(forge), t)),
        };
        if let Err(e) = &client {
            off.push(e.clone());
        }
        clients.push((forge, client));
    }
    if clients.is_empty() {
        off.push("no forge is configured (`reconcile`); reconciliation is off".to_owned());
    }
    for p in &config.products {
        for repo in &p.repos {
            let Some((forge, _)) = config.reconcile.forge_of(repo) else {
                if !clients.is_empty() {
                    off.push(format!("{repo}: no forge in `reconcile` lists it"));
                }
                continue;
            };
            if let Some((_, Ok(client))) = clients.iter().find(|(f, _)| *f == forge) {
                out.push(Target {
                    product: p.name.clone(),
                    repo: repo.clone(),
                    branch: p.default_branch.clone(),
                    client: client.clone(),
                });
            }
        }
    }
    (out, off)
}

/// The `merged` event a webhook makes for this change (`http/hooks.rs`).
pub fn merged_event(config: &Config, product: &Product, merge: &Merge) -> Event {
    Event::Merged {
        product: product.name.clone(),
        change: merge.change.clone(),
        author: author_name(config, &merge.who),
        title: merge.title.clone(),
    }
}

/// The one door for reconciled merges: the writer's intake, exactly as a
/// webhook delivery goes in (`http/hooks.rs`'s `submit`).
pub async fn ingest(shared: &Shared, items: Vec<(String, Event)>) -> Result<Vec<Applied>, String> {
    shared.submit(items).await
}

/// Reconciles at start and then every interval, until cancelled.
pub async fn run(shared: Arc<Shared>, token: CancellationToken) {
    let (targets, off) = targets(&shared.config());
    for why in &off {
        tracing::info!("reconciliation: {why}");
    }
    if targets.is_empty() {
        return;
    }
    let every = Duration::from_secs(shared.config().reconcile.interval_secs.max(1));
    loop {
        for t in &targets {
            let key = format!("reconcile:{}", t.cursor_key());
            match reconcile(&shared, t).await {
                Ok(n) => {
                    shared.degraded.clear(&key);
                    if n > 0 {
                        tracing::info!(repo = %t.repo, changes = n, "reconciliation found merges shipgate had missed");
                    }
                }
                Err(e) => {
                    tracing::warn!(repo = %t.repo, error = %e, "reconciliation failed");
                    shared.degraded.set(
                        &key,
                        format!("reconciling {} with {}: {e}", t.repo, t.client.forge.name()),
                    );
                }
            }
        }
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One repo: lists, ingests what is missing, moves the cursor; how many
/// changes went in.
pub async fn reconcile(shared: &Shared, t: &Target) -> Result<usize, String> {
    let config = &shared.config();
    let Some(product) = config.products.iter().find(|p| p.name == t.product) else {
        return Ok(0);
    };
    let cursor_key = t.cursor_key();
    let since = {
        let reader = shared.reader.lock().await;
        let cursors = reader
            .chat_cursors(CURSOR_ADAPTER)
            .map_err(|e| e.to_string())?;
        cursors.get(&cursor_key).map(|c| {
            DateTime::parse_from_rfc3339(c)
                .map(|t| t.to_utc())
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        })
    };
    let (merges, newest) = t
        .client
        .merged_since(config, &t.repo, &t.branch, since)
        .await
        .map_err(|e| e.to_string())?;
    let mut items = Vec::new();
    {
        let reader = shared.reader.lock().await;
        for m in &merges {
            let mut names = vec![m.change.clone()];
            names.extend(m.aliases.iter().cloned());
            if reader
                .merged_change_seen(&product.name, &names)
                .map_err(|e| e.to_string())?
            {
                continue;
            }
            items.push((
                format!("reconcile:{cursor_key}:{}", m.change),
                merged_event(config, product, m),
            ));
        }
    }
    let n = items.len();
    if n > 0 {
        ingest(shared, items).await?;
    }
    let next = newest
        .max(since)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    shared
        .reader
        .lock()
        .await
        .set_chat_cursors(CURSOR_ADAPTER, &[(cursor_key, next)], shared.clock.now())
        .map_err(|e| e.to_string())?;
    Ok(n)
}
