//! Live reload of the team config (SIGHUP, `POST /-/reload`): people,
//! roles, chat ids, products' repos, channels and actions, the prefix and
//! the retention period change without a restart.
//!
//! The file is read and validated exactly as at start ([`Config::load`]),
//! then checked against the active rules the way start-up checks it
//! ([`crate::team::unrunnable`], every product routable). Any problem
//! rejects the whole file: the running config stays, and the channels are
//! told why. Settings only a restart can apply (the database, the rules
//! path, HTTP, the chat accounts and the console, chat catch-up) keep their
//! running values and are reported as needing a restart, never silently
//! dropped. A change is announced in every product's channel as a short
//! diff.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{Mutex, oneshot};

use super::shared::{Intake, Shared};
use crate::config::{Adapter, Config, Person, Product};
use crate::store::NewMessage;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ConfigReloadResult {
    /// Nothing that can change live changed.
    Unchanged {
        needs_restart: Vec<String>,
    },
    Loaded {
        changes: Vec<String>,
        needs_restart: Vec<String>,
    },
    Rejected {
        problems: Vec<String>,
    },
}

/// One reload at a time.
pub struct ConfigReloader {
    lock: Mutex<()>,
    /// This process's start (real clock, ms) and how many announcements it
    /// has made: together with the daemon's time they key each
    /// announcement, so two reloads at one instant of a manual clock (or in
    /// one millisecond) are two announcements, not one and a duplicate.
    started_ms: i64,
    announced: std::sync::atomic::AtomicU64,
}

impl Default for ConfigReloader {
    fn default() -> Self {
        Self {
            lock: Mutex::new(()),
            started_ms: chrono::Utc::now().timestamp_millis(),
            announced: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

/// The running config with the live parts of `new`: what a reload swaps
/// in. The other parts keep their running values.
fn merge(old: &Config, new: &Config) -> Config {
    Config {
        prefix: new.prefix.clone(),
        seed: new.seed,
        products: new.products.clone(),
        people: new.people.clone(),
        retention: new.retention,
        ..old.clone()
    }
}

/// What only a restart applies, where `new` differs from `old`.
fn needs_restart(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |changed: bool, what: &str| {
        if changed {
            out.push(format!(
                "`{what}` changed: it takes effect at the next restart"
            ));
        }
    };
    check(old.database != new.database, "database");
    check(old.rules != new.rules, "rules");
    check(old.http.listen != new.http.listen, "http.listen");
    let same_listen = crate::config::HttpConfig {
        listen: old.http.listen.clone(),
        ..new.http.clone()
    };
    check(old.http != same_listen, "http");
    check(old.chat != new.chat, "chat");
    check(old.console != new.console, "console");
    check(old.discord != new.discord, "discord");
    check(old.matrix != new.matrix, "matrix");
    // Posts follow a product's new channel at once; the adapters read a
    // room or channel they were not reading from the next start.
    for p in &new.products {
        let before = old.product(&p.name);
        for a in [Adapter::Matrix, Adapter::Discord] {
            let was = before.and_then(|b| b.channels.get(a));
            if let Some(now) = p.channels.get(a)
                && was != Some(now)
            {
                out.push(format!(
                    "`{}`'s {} channel `{now}`: posts go there now; commands typed there are read after the next restart",
                    p.name,
                    adapter_name(a)
                ));
            }
        }
    }
    out
}

fn adapter_name(a: Adapter) -> &'static str {
    match a {
        Adapter::Matrix => "matrix",
        Adapter::Discord => "discord",
        Adapter::Console => "console",
        Adapter::Slack => "slack",
    }
}

fn person_changes(old: &Person, new: &Person) -> Vec<&'static str> {
    let mut what = Vec::new();
    if old.roles != new.roles {
        what.push("roles");
    }
    if old.timezone != new.timezone {
        what.push("time zone");
    }
    if old.chat != new.chat {
        what.push("chat ids");
    }
    if old.git != new.git {
        what.push("git identities");
    }
    what
}

fn product_changes(old: &Product, new: &Product) -> Vec<&'static str> {
    let mut what = Vec::new();
    if old.repos != new.repos {
        what.push("repos");
    }
    if old.channels != new.channels {
        what.push("channels");
    }
    if old.actions != new.actions {
        what.push("actions");
    }
    if old.default_branch != new.default_branch {
        what.push("default branch");
    }
    if old.rules_product != new.rules_product {
        what.push("rules product");
    }
    what
}

/// The short diff announced in chat, one item per change.
pub fn describe(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for p in &new.people {
        match old.people.iter().find(|o| o.name == p.name) {
            None => out.push(format!("person `{}` added", p.name)),
            Some(o) => {
                let what = person_changes(o, p);
                if !what.is_empty() {
                    out.push(format!("`{}`: {} changed", p.name, what.join(", ")));
                }
            }
        }
    }
    for o in &old.people {
        if !new.people.iter().any(|p| p.name == o.name) {
            out.push(format!("person `{}` removed", o.name));
        }
    }
    for p in &new.products {
        match old.products.iter().find(|o| o.name == p.name) {
            None => out.push(format!("product `{}` added", p.name)),
            Some(o) => {
                let what = product_changes(o, p);
                if !what.is_empty() {
                    out.push(format!("product `{}`: {} changed", p.name, what.join(", ")));
                }
            }
        }
    }
    for o in &old.products {
        if !new.products.iter().any(|p| p.name == o.name) {
            out.push(format!("product `{}` removed", o.name));
        }
    }
    if old.prefix != new.prefix {
        out.push(format!("prefix `{}` is now `{}`", old.prefix, new.prefix));
    }
    if old.seed != new.seed {
        out.push("seed changed".to_owned());
    }
    if old.retention != new.retention {
        out.push(match new.retention {
            Some(d) => format!("retention is now {} days", d.num_days()),
            None => "retention is off (everything is kept)".to_owned(),
        });
    }
    out
}

impl ConfigReloader {
    /// Reads and validates the config file; swaps its live parts in if it
    /// is valid, says what changed and what needs a restart.
    pub async fn reload(&self, shared: &Arc<Shared>, why: &str) -> ConfigReloadResult {
        let _guard = self.lock.lock().await;
        let old = shared.config();
        let path = old.path.clone();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&path)).await;
        let new = match loaded {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                let diags = e.diagnostics();
                let problems = if diags.is_empty() {
                    vec![e.to_string()]
                } else {
                    diags.iter().map(|d| d.one_line()).collect()
                };
                return self.reject(shared, why, problems).await;
            }
            Err(e) => {
                return self
                    .reject(shared, why, vec![format!("internal error: {e}")])
                    .await;
            }
        };
        let restart = needs_restart(&old, &new);
        let merged = merge(&old, &new);
        // What start-up refuses, a reload refuses.
        let rules = shared.rules.load_full();
        let mut problems = crate::team::unrunnable(&merged, &rules.set, |d| d.one_line());
        for p in &merged.products {
            if !super::routable(&merged, &p.name) {
                problems.push(format!(
                    "product `{}` has no channel on any running chat adapter; give it a channel or enable the console",
                    p.name
                ));
            }
        }
        if !problems.is_empty() {
            return self.reject(shared, why, problems).await;
        }
        let changes = describe(&old, &merged);
        for r in &restart {
            tracing::warn!(why, "config: {r}");
        }
        if changes.is_empty() {
            return ConfigReloadResult::Unchanged {
                needs_restart: restart,
            };
        }
        let mut text = format!("Config reloaded ({why}): {}.", changes.join("; "));
        if !restart.is_empty() {
            text.push_str(&format!(" Needs a restart: {}.", restart.join("; ")));
        }
        let now = shared.clock.now();
        let team = crate::team::team_from_config(&merged);
        let merged = Arc::new(merged);
        // Announced to the products of the new config, after the swap, so
        // a new product's channel hears it too.
        shared.set_config(merged.clone(), team);
        shared.replan.notify_one();
        shared.outbox_ready.notify_one();
        announce(shared, &merged, self.key("config", now), text).await;
        tracing::info!(why, changes = changes.join("; "), "config reloaded");
        ConfigReloadResult::Loaded {
            changes,
            needs_restart: restart,
        }
    }

    /// The event key of the next announcement.
    fn key(&self, kind: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        let n = self
            .announced
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("{kind}:{}:{}.{n}", now.timestamp_millis(), self.started_ms)
    }

    async fn reject(
        &self,
        shared: &Arc<Shared>,
        why: &str,
        problems: Vec<String>,
    ) -> ConfigReloadResult {
        for p in &problems {
            tracing::warn!(why, "config rejected: {p}");
        }
        let shown: Vec<&String> = problems.iter().take(10).collect();
        let mut text = format!(
            "The edited config was NOT loaded ({why}); the running config stays. {} problem{}:",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for p in &shown {
            text.push_str("\n  ");
            text.push_str(p);
        }
        if problems.len() > shown.len() {
            text.push_str("\n  … run `shipgate check --config` for the rest");
        }
        let now = shared.clock.now();
        let config = shared.config();
        announce(shared, &config, self.key("config-rejected", now), text).await;
        ConfigReloadResult::Rejected { problems }
    }
}

/// Posts `text` to every product's channel under the event key `key`; a
/// post that cannot be stored is logged by the writer.
async fn announce(shared: &Shared, config: &Config, key: String, text: String) {
    let messages = config
        .products
        .iter()
        .map(|p| NewMessage {
            card_json: None,
            product: p.name.clone(),
            text: text.clone(),
            mentions: Vec::new(),
            reply_to: None,
        })
        .collect();
    let (tx, rx) = oneshot::channel();
    let sent = shared
        .intake
        .send(Intake::Announce {
            key,
            messages,
            rules_version: None,
            reply: Some(tx),
        })
        .await;
    if sent.is_ok() {
        let _ = rx.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `text` as `dir/c.ron` (one directory for both versions, as
    /// a reload reads the same file).
    fn config(dir: &tempfile::TempDir, text: &str) -> Config {
        let p = dir.path().join("c.ron");
        std::fs::write(&p, text).unwrap();
        Config::load(&p).unwrap()
    }

    const BASE: &str = r#"(
        console: (person: "ana", product: "web"),
        products: [(name: "web", repos: ["acme/web"])],
        people: [
            (name: "ana", timezone: "America/New_York"),
            (name: "ben", timezone: "America/New_York"),
        ],
    )"#;

    #[test]
    fn describes_people_and_products_and_keeps_restart_settings() {
        let dir = tempfile::tempdir().unwrap();
        let old = config(&dir, BASE);
        let new = config(
            &dir,
            r#"(
            console: (person: "ana", product: "web"),
            http: (listen: "127.0.0.1:9999"),
            products: [(name: "web", repos: ["acme/web", "acme/web-api"])],
            people: [
                (name: "ana", timezone: "America/New_York", roles: ["engineer", "lead"]),
                (name: "dana", timezone: "Europe/Berlin"),
            ],
            retention: "400d",
        )"#,
        );
        let merged = merge(&old, &new);
        assert_eq!(merged.http.listen, old.http.listen);
        assert_eq!(merged.people, new.people);
        assert_eq!(
            describe(&old, &merged),
            vec![
                "`ana`: roles changed".to_owned(),
                "person `dana` added".to_owned(),
                "person `ben` removed".to_owned(),
                "product `web`: repos changed".to_owned(),
                "retention is now 400 days".to_owned(),
            ]
        );
        assert_eq!(
            needs_restart(&old, &new),
            vec!["`http.listen` changed: it takes effect at the next restart".to_owned()]
        );
        assert!(describe(&old, &merge(&old, &old)).is_empty());
    }
}
