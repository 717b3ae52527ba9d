//! Hot reload of rules, the vector way: watch the directory (see
//! [`watch`]), debounce, gate on a content hash, compile and test on the
//! side, record the version, swap only on success, keep the old rules on
//! failure, and say so in every product's channel.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::{Mutex, oneshot};

mod watch;
pub use watch::{
    CHECK, Change, FIRST_BACKOFF, MAX_BACKOFF, MAX_DELAY, QUIET, RAPID, SETTLE, classify,
    is_relevant, wait_after, watch,
};

use super::shared::{ActiveRules, Intake, Shared};
use crate::rules::{self, RuleSet, Source};
use crate::store::{NewMessage, rules_hash};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ReloadResult {
    /// Same content as the active rules.
    Unchanged {
        version: String,
    },
    Loaded {
        version: String,
        summary: Vec<String>,
    },
    Rejected {
        diagnostics: Vec<String>,
    },
}

/// The stored text of a rules version: its files as JSON.
pub fn encode_sources(sources: &[Source]) -> String {
    let files: Vec<(&str, &str)> = sources
        .iter()
        .map(|s| (s.name.as_str(), &*s.text))
        .collect();
    serde_json::to_string(&files).unwrap_or_default()
}

pub fn decode_sources(text: &str) -> Option<Vec<Source>> {
    let files: Vec<(String, String)> = serde_json::from_str(text).ok()?;
    Some(files.into_iter().map(|(n, t)| Source::new(n, t)).collect())
}

pub fn hash_sources(sources: &[Source]) -> String {
    let pairs: Vec<(&str, &str)> = sources
        .iter()
        .map(|s| (s.name.as_str(), &*s.text))
        .collect();
    rules_hash(&pairs)
}

/// What changed in open hours over the next 14 days, per window: top-level
/// windows once, and a product's view only where it overrides the window
/// (`products` are names of `product` blocks in the rules).
pub fn summarize(
    old: &RuleSet,
    new: &RuleSet,
    products: &[String],
    now: DateTime<Utc>,
) -> Vec<String> {
    let end = now + TimeDelta::days(14);
    let mut out = Vec::new();
    let open_minutes = |set: &RuleSet, product: Option<&str>, name: &str| -> i64 {
        set.window(product, name)
            .map(|w| {
                w.open_intervals(now, end)
                    .iter()
                    .map(|(a, b)| (*b - *a).num_minutes())
                    .sum()
            })
            .unwrap_or(0)
    };
    let mut scopes: Vec<Option<&str>> = vec![None];
    scopes.extend(products.iter().map(|p| Some(p.as_str())));
    for product in scopes {
        let mut names: Vec<&str> = old.window_names(product);
        names.extend(new.window_names(product));
        names.sort_unstable();
        names.dedup();
        for name in names {
            let overrides = |set: &RuleSet| {
                product
                    .and_then(|p| set.products.get(p))
                    .is_some_and(|p| p.windows.contains_key(name))
            };
            if product.is_some() && !overrides(old) && !overrides(new) {
                // The top-level window: already said once.
                continue;
            }
            let (a, b) = (
                open_minutes(old, product, name),
                open_minutes(new, product, name),
            );
            let same = match (old.window(product, name), new.window(product, name)) {
                (Some(x), Some(y)) => x.open_intervals(now, end) == y.open_intervals(now, end),
                (None, None) => true,
                _ => false,
            };
            if same {
                continue;
            }
            let scope = product.map(|p| format!(" for {p}")).unwrap_or_default();
            let d = b - a;
            let change = match d.signum() {
                1 => format!(
                    "gains {} of open time",
                    crate::timefmt::duration(TimeDelta::minutes(d))
                ),
                -1 => format!(
                    "loses {} of open time",
                    crate::timefmt::duration(TimeDelta::minutes(-d))
                ),
                _ => "moves its open hours (same total)".to_owned(),
            };
            out.push(format!("`{name}`{scope} {change} in the next 14 days"));
        }
    }
    out.dedup();
    out
}

pub struct Reloader {
    shared: Arc<Shared>,
    path: PathBuf,
    lock: Mutex<()>,
    /// This process's start (real clock, ms) and how many rules versions
    /// it has loaded since: which activation of the rules is in force, so
    /// a mistake is announced once per activation, even when a revert
    /// brings back an earlier version.
    started_ms: i64,
    loads: std::sync::atomic::AtomicU64,
    last: std::sync::Mutex<Option<(chrono::DateTime<chrono::Utc>, ReloadResult)>>,
}

impl Reloader {
    pub fn new(shared: Arc<Shared>, path: PathBuf) -> Self {
        Self {
            shared,
            path,
            lock: Mutex::new(()),
            started_ms: chrono::Utc::now().timestamp_millis(),
            loads: std::sync::atomic::AtomicU64::new(0),
            last: std::sync::Mutex::new(None),
        }
    }

    fn activation(&self) -> String {
        let loads = self.loads.load(std::sync::atomic::Ordering::SeqCst);
        format!("{}.{loads}", self.started_ms)
    }

    /// Posts `text` to every product's channel under the event key `key`,
    /// recording the rules version `version` (hash, encoded text) first if
    /// given. `Err` when the version could not be recorded (then nothing
    /// was posted); a post that cannot be stored is only logged (by the
    /// writer).
    async fn announce(
        &self,
        key: String,
        text: String,
        version: Option<(String, String)>,
    ) -> Result<(), String> {
        let messages = self
            .shared
            .config()
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
        self.shared
            .intake
            .send(Intake::Announce {
                key,
                messages,
                rules_version: version,
                reply: Some(tx),
            })
            .await
            .map_err(|_| "the daemon is shutting down".to_owned())?;
        rx.await
            .map_err(|_| "the daemon is shutting down".to_owned())?
    }

    /// Reads, compiles and tests the rules on disk; swaps them in if they
    /// are valid and new.
    pub async fn reload(&self, why: &str) -> ReloadResult {
        let result = self.reload_now(why).await;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((self.shared.clock.now(), result.clone()));
        }
        result
    }

    /// The last reload this process tried, when, and its result (for the
    /// web page).
    pub fn last(&self) -> Option<(chrono::DateTime<chrono::Utc>, ReloadResult)> {
        self.last.lock().ok().and_then(|g| g.clone())
    }

    async fn reload_now(&self, why: &str) -> ReloadResult {
        let _guard = self.lock.lock().await;
        let path = self.path.clone();
        let read = tokio::task::spawn_blocking(move || rules::source::read_sources(&[path])).await;
        let now = self.shared.clock.now();
        let sources = match read {
            Ok(Ok(s)) => s,
            Ok(Err(diags)) => {
                return self
                    .reject(
                        why,
                        diags.iter().map(|d| d.one_line()).collect(),
                        Notice::EachTime,
                    )
                    .await;
            }
            Err(e) => {
                return self
                    .reject(why, vec![format!("internal error: {e}")], Notice::EachTime)
                    .await;
            }
        };
        let hash = hash_sources(&sources);
        let current = self.shared.rules.load_full();
        if current.hash == hash {
            // The file is the active (good) version again, e.g. restored
            // after the daemon started on the last good stored version.
            self.shared.metrics.rules_file_matches_active();
            self.shared.set_ready(Ok(()));
            return ReloadResult::Unchanged { version: hash };
        }
        // An empty file compiles to rules with no windows at all. It is
        // what the watcher sees between an editor's truncate and its write,
        // so it is never taken for the new rules.
        let empty: Vec<String> = sources
            .iter()
            .filter(|s| s.text.trim().is_empty())
            .map(|s| {
                format!(
                    "{}: the file is empty; if that is meant, write at least a comment",
                    s.name
                )
            })
            .collect();
        if !empty.is_empty() {
            // Usually an editor's save caught between its truncate and its
            // write: announced once ever, not after every good edit.
            return self.reject(why, empty, Notice::OnceEver(hash)).await;
        }
        let text = encode_sources(&sources);
        let compiled = tokio::task::spawn_blocking(move || rules::compile(sources)).await;
        let set = match compiled {
            Ok(Ok(set)) => set,
            Ok(Err(diags)) => {
                return self
                    .reject(
                        why,
                        diags.iter().map(|d| d.one_line()).collect(),
                        Notice::OncePerActivation(hash),
                    )
                    .await;
            }
            Err(e) => {
                return self
                    .reject(
                        why,
                        vec![format!("internal error: {e}")],
                        Notice::OncePerActivation(hash),
                    )
                    .await;
            }
        };
        // What the daemon refuses to start on, a reload refuses to load:
        // gates naming no window, and rules and config that disagree about
        // products.
        let problems = crate::team::unrunnable(&self.shared.config(), &set, |d| d.one_line());
        if !problems.is_empty() {
            return self
                .reject(why, problems, Notice::OncePerActivation(hash))
                .await;
        }
        // The rules' `product` blocks the configured products use, before
        // and after.
        let config = self.shared.config();
        let team = self.shared.team();
        let mut products: Vec<String> = config
            .products
            .iter()
            .flat_map(|p| {
                [
                    team.rules_product(&current.set, &p.name),
                    team.rules_product(&set, &p.name),
                ]
            })
            .flatten()
            .map(str::to_owned)
            .collect();
        products.sort_unstable();
        products.dedup();
        let summary = summarize(&current.set, &set, &products, now);
        let short = hash[..hash.len().min(12)].to_owned();
        let detail = if summary.is_empty() {
            "no window's open hours change in the next 14 days".to_owned()
        } else {
            summary.join("; ")
        };
        // The version is recorded (with its announcement) before the swap,
        // so every event decided under it finds it in `rules_versions`.
        let recorded = self
            .announce(
                format!("rules:{hash}:{}", now.timestamp_millis()),
                format!(
                    "Rules reloaded (version {short}, {why}): {detail}.{}",
                    warnings_note(&set.warnings)
                ),
                Some((hash.clone(), text)),
            )
            .await;
        if let Err(e) = recorded {
            self.shared.metrics.reload(false, now.timestamp(), None);
            let problem = format!(
                "the rules are valid but version {short} could not be recorded ({e}); \
                 the previous rules stay active"
            );
            tracing::error!(why, "rules not loaded: {problem}");
            return ReloadResult::Rejected {
                diagnostics: vec![problem],
            };
        }
        self.shared.set_rules(Arc::new(ActiveRules {
            set,
            hash: hash.clone(),
            origin: self.path.display().to_string(),
        }));
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.shared
            .metrics
            .reload(true, now.timestamp(), Some(&hash));
        self.shared.set_ready(Ok(()));
        self.shared.replan.notify_one();
        tracing::info!(version = short.as_str(), why, "rules reloaded");
        ReloadResult::Loaded {
            version: hash,
            summary,
        }
    }

    async fn reject(&self, why: &str, diagnostics: Vec<String>, notice: Notice) -> ReloadResult {
        let now = self.shared.clock.now();
        self.shared.metrics.reload(false, now.timestamp(), None);
        for d in &diagnostics {
            tracing::warn!(why, "rules rejected: {d}");
        }
        let shown: Vec<&String> = diagnostics.iter().take(10).collect();
        let more = diagnostics.len().saturating_sub(shown.len());
        let mut text = format!(
            "The edited rules were NOT loaded ({why}); the previous rules stay active. {} problem{}:",
            diagnostics.len(),
            if diagnostics.len() == 1 { "" } else { "s" }
        );
        for d in shown {
            text.push_str("\n  ");
            text.push_str(d);
        }
        if more > 0 {
            text.push_str(&format!("\n  … and {more} more (run `shipgate check`)"));
        }
        let key = match notice {
            Notice::EachTime => format!("rules-unreadable:{}", now.timestamp_millis()),
            Notice::OnceEver(h) => format!("rules-rejected:{h}"),
            Notice::OncePerActivation(h) => format!(
                "rules-rejected:{h}:over:{}:{}",
                self.shared.rules.load().hash,
                self.activation()
            ),
        };
        // The writer logs an announcement it cannot store.
        let _ = self.announce(key, text, None).await;
        ReloadResult::Rejected { diagnostics }
    }
}

/// How often a rejection is announced (its announcement's event key).
enum Notice {
    /// A file that cannot be read: every time.
    EachTime,
    /// This text, once ever (an empty file: usually a save in progress).
    OnceEver(String),
    /// This text, once per activation of the rules in force: saving the
    /// same mistake again is quiet; making it again after other rules
    /// were loaded in between (a revert included) is announced.
    OncePerActivation(String),
}

/// ` Warnings: path:line:col: ...; ...` for a reload message, the first
/// few in full; empty when there are none.
fn warnings_note(warnings: &[crate::rules::Diagnostic]) -> String {
    const SHOWN: usize = 3;
    if warnings.is_empty() {
        return String::new();
    }
    let mut lines: Vec<String> = warnings.iter().take(SHOWN).map(|d| d.one_line()).collect();
    if warnings.len() > SHOWN {
        lines.push(format!("and {} more", warnings.len() - SHOWN));
    }
    format!(
        " Warning{}: {}",
        if warnings.len() == 1 { "" } else { "s" },
        lines.join("; ")
    )
}
