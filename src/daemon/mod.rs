//! `shipgate run`: the long-running service. Tokio tasks wired together:
//! the single writer (engine + store + timers), the outbox dispatcher, CI
//! actions, the rules watcher, the console, and HTTP. Only here is the clock
//! read, through [`clock::Clock`].

pub mod actions;
pub mod clock;
pub mod config_reload;
pub mod console;
pub mod github;
pub mod http;
pub mod lock;
pub mod metrics;
pub mod outbox;
pub mod reconcile;
pub mod reload;
pub mod retention;
pub mod shared;
pub mod writer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::chat::console::ConsoleAdapter;
use crate::chat::discord::DiscordAdapter;
use crate::chat::inbound::{ChatInput, catch_up_key};
use crate::chat::matrix::MatrixAdapter;
use crate::chat::slack::SlackAdapter;
use crate::config::{Adapter, Config, SecretString};
use crate::ledger::Ledger;
use crate::rules::{self, Source};
use crate::store::Store;
use clock::{Clock, ManualClock, SystemClock};
use reload::{Reloader, decode_sources, encode_sources, hash_sources};
use shared::{ActiveRules, Shared};

/// Options for `shipgate run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config: std::path::PathBuf,
    /// Start a manual clock at this instant (tests and demos).
    pub manual_clock: Option<DateTime<Utc>>,
}

/// A start-up failure, said in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

fn resolve(
    config: &Config,
    s: Option<&crate::config::Secret>,
) -> Result<Option<SecretString>, StartError> {
    match s {
        None => Ok(None),
        Some(s) => config
            .resolve(s)
            .map(Some)
            .map_err(|e| StartError(format!("{e}"))),
    }
}

/// The rules to start on, whether that makes the daemon ready, and the
/// text to record as a rules version.
struct StartupRules {
    active: ActiveRules,
    ready: Result<(), String>,
    record: Option<String>,
}

/// Loads the rules for start-up: from disk, else the last good stored
/// version (not ready), else refuses to start.
fn startup_rules(config: &Config, store: &Store) -> Result<StartupRules, StartError> {
    let Some(path) = &config.rules else {
        let sources = vec![Source::new(rules::DEFAULT_RULES_NAME, rules::DEFAULT_RULES)];
        let hash = hash_sources(&sources);
        let text = encode_sources(&sources);
        let set = rules::compile(sources).map_err(|d| {
            StartError(format!(
                "the embedded rules are invalid: {}",
                d.iter()
                    .map(|x| x.one_line())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        return Ok(StartupRules {
            active: ActiveRules {
                set,
                hash,
                origin: "the embedded default rules".to_owned(),
            },
            ready: Ok(()),
            record: Some(text),
        });
    };
    let disk = rules::source::read_sources(std::slice::from_ref(path)).and_then(|sources| {
        let hash = hash_sources(&sources);
        let text = encode_sources(&sources);
        rules::compile(sources).map(|set| (set, hash, text))
    });
    // Rules that compile but that the daemon cannot run (a gate naming no
    // window, products the config does not have) count as invalid too, as
    // they do for a reload.
    let disk = disk
        .map_err(|diags| {
            diags
                .iter()
                .map(|d| d.render(false))
                .collect::<Vec<String>>()
        })
        .and_then(|(set, hash, text)| {
            let problems = crate::team::unrunnable(config, &set, |d| d.render(false));
            if problems.is_empty() {
                Ok((set, hash, text))
            } else {
                Err(problems)
            }
        });
    match disk {
        Ok((set, hash, text)) => Ok(StartupRules {
            active: ActiveRules {
                set,
                hash,
                origin: path.display().to_string(),
            },
            ready: Ok(()),
            record: Some(text),
        }),
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            let last = store
                .last_good_rules()
                .map_err(|e| StartError(e.to_string()))?;
            let Some(v) = last else {
                return Err(StartError(format!(
                    "the rules in {} are not valid ({} problem(s), above) and no earlier good version is stored; fix them and start again",
                    path.display(),
                    diags.len()
                )));
            };
            let sources = decode_sources(&v.text)
                .ok_or_else(|| StartError("the stored rules version cannot be read".to_owned()))?;
            let set = rules::compile(sources).map_err(|_| {
                StartError("the stored rules version no longer compiles".to_owned())
            })?;
            let reason = format!(
                "the rules on disk ({}) are invalid; running on the last good version {} from {}",
                path.display(),
                &v.hash[..v.hash.len().min(12)],
                crate::timefmt::utc(v.loaded_at)
            );
            tracing::error!("{reason}");
            eprintln!("WARNING: {reason}");
            Ok(StartupRules {
                active: ActiveRules {
                    set,
                    hash: v.hash,
                    origin: "the last good stored version".to_owned(),
                },
                ready: Err(reason),
                record: None,
            })
        }
    }
}

async fn shutdown_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            () = token.cancelled() => return,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = token.cancelled() => return,
        }
    }
    tracing::info!("shutting down");
    token.cancel();
}

#[cfg(unix)]
async fn sighup(
    shared: Arc<Shared>,
    reloader: Option<Arc<Reloader>>,
    config_reloader: Arc<config_reload::ConfigReloader>,
    token: CancellationToken,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            got = hup.recv() => if got.is_none() { return },
        }
        // Always handled, so SIGHUP never kills the daemon (its default
        // action). The team config first, then the rules.
        let result = config_reloader.reload(&shared, "SIGHUP").await;
        tracing::info!(?result, "config reload on SIGHUP");
        match &reloader {
            Some(r) => {
                let result = r.reload("SIGHUP").await;
                tracing::info!(?result, "reload on SIGHUP");
            }
            None => {
                tracing::info!("SIGHUP: the embedded default rules are in use; no rules to reload")
            }
        }
    }
}

/// Runs the daemon until SIGTERM, Ctrl-C or (console) end of input.
pub async fn run(opts: RunOptions) -> Result<(), StartError> {
    let config = Config::load(&opts.config).map_err(|e| {
        let diags = e.diagnostics();
        if diags.is_empty() {
            StartError(e.to_string())
        } else {
            StartError(
                diags
                    .iter()
                    .map(|d| d.render(false))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }
    })?;
    let secrets = http::Secrets {
        api_token: resolve(&config, config.http.api_token.as_ref())?,
        github_secret: resolve(&config, config.http.github_secret.as_ref())?,
        gitlab_token: resolve(&config, config.http.gitlab_token.as_ref())?,
        web_auth: http::web::resolve_auth(&config)?,
    };
    // A key that cannot sign stops start-up, not the first deployment.
    let github_app = config
        .github_app
        .as_ref()
        .map(|a| github::GithubApp::new(&config, a).map(Arc::new))
        .transpose()
        .map_err(StartError)?;
    let clock: Arc<dyn Clock> = match opts.manual_clock {
        Some(t) => ManualClock::new(t),
        None => Arc::new(SystemClock),
    };
    // Held until `run` returns: one daemon per database.
    let _lock =
        lock::DatabaseLock::acquire(&config.database).map_err(|e| StartError(e.to_string()))?;
    let store = Store::open(&config.database).map_err(|e| StartError(e.to_string()))?;
    let StartupRules {
        active,
        ready,
        record: text,
    } = startup_rules(&config, &store)?;
    let gate_problems = rules::check_gates(&active.set);
    if !gate_problems.is_empty() {
        return Err(StartError(
            gate_problems
                .iter()
                .map(|d| d.render(false))
                .collect::<Vec<_>>()
                .join("\n"),
        ));
    }
    let mismatches = crate::team::cross_check(&config, &active.set);
    if !mismatches.is_empty() {
        return Err(StartError(format!(
            "the rules and the config disagree about products:\n{}",
            mismatches
                .iter()
                .map(|m| format!("  - {m}"))
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    let mut ledger = Ledger::open(store).map_err(|e| StartError(e.to_string()))?;
    if let Some(text) = &text {
        ledger
            .record_rules_version(&active.hash, text, clock.now())
            .map_err(|e| StartError(e.to_string()))?;
    }
    let reader = Store::open(&config.database).map_err(|e| StartError(e.to_string()))?;
    let dispatcher_store = Store::open(&config.database).map_err(|e| StartError(e.to_string()))?;
    let cursor_store = Store::open(&config.database).map_err(|e| StartError(e.to_string()))?;
    let token = CancellationToken::new();
    for p in &config.products {
        if !routable(&config, &p.name) {
            return Err(StartError(format!(
                "product `{}` has no channel on any running chat adapter; give it a channel or enable the console",
                p.name
            )));
        }
    }
    // Not ready until each chat adapter is connected and has read what was
    // said while it was away; the adapters clear these.
    let chat_health = Arc::new(crate::chat::health::Health::default());
    if config.matrix.is_some() {
        chat_health.set(
            &catch_up_key("matrix"),
            "matrix: connecting to the homeserver".to_owned(),
        );
    }
    if config.discord.is_some() {
        chat_health.set(
            &catch_up_key("discord"),
            "discord: connecting to the gateway".to_owned(),
        );
    }
    if config.slack.is_some() {
        chat_health.set(&catch_up_key("slack"), "slack: connecting".to_owned());
    }
    // Slack's Events API requests (`/hooks/slack`, HTTP mode) reach the
    // adapter through this channel; they wait in it while it starts.
    let (slack_hooks, slack_hooks_rx) = match config.slack.as_ref().map(|s| s.mode) {
        Some(crate::config::SlackMode::Http) => {
            let (tx, rx) = mpsc::channel(256);
            (Some(tx), Some(rx))
        }
        Some(crate::config::SlackMode::Socket) | None => (None, None),
    };
    let slack_signing_secret = resolve(
        &config,
        config
            .slack
            .as_ref()
            .and_then(|s| s.signing_secret.as_ref()),
    )?;
    let slack_hook = match (slack_hooks, slack_signing_secret) {
        (Some(to_adapter), Some(signing_secret)) => Some(Arc::new(http::slack::SlackHook {
            signing_secret,
            to_adapter,
        })),
        _ => None,
    };
    let team = crate::team::team_from_config(&config);
    let (intake_tx, intake_rx) = mpsc::channel(256);
    let rules_path = config.rules.clone();
    let listen = config.http.listen.clone();
    let shared = Arc::new(Shared::new(
        config,
        team,
        clock,
        active,
        ledger.state().clone(),
        intake_tx,
        reader,
        ready.clone(),
    ));
    shared.watch_chat_health(chat_health.clone());
    shared.metrics.reload(
        ready.is_ok(),
        shared.clock.now().timestamp(),
        Some(&shared.rules.load().hash),
    );
    let (actions_tx, actions_rx) = mpsc::unbounded_channel();
    // Actions asked for before a crash and never reported run again.
    for run in &ledger.state().pending_actions {
        let _ = actions_tx.send(run.clone());
    }
    // HTTP listens before any chat adapter connects: `/healthz` answers at
    // once, `/readyz` says what is still starting.
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(listen);
    tracing::info!(addr = %local, rules = %shared.rules.load().origin, "shipgate is running");
    eprintln!(
        "shipgate: listening on http://{local}; rules from {}",
        shared.rules.load().origin
    );
    let reloader = rules_path.map(|p| Arc::new(Reloader::new(shared.clone(), p)));
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(writer::run(
        shared.clone(),
        ledger,
        intake_rx,
        actions_tx,
        token.clone(),
    ));
    let (inbound_tx, inbound_rx) = mpsc::channel::<ChatInput>(256);
    let adapter_tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
    tasks.spawn(chat(
        shared.clone(),
        ChatStart {
            dispatcher_store,
            inbound: inbound_tx,
            health: chat_health.clone(),
            matrix_cursors: cursor_store
                .chat_cursors("matrix")
                .map_err(|e| StartError(e.to_string()))?,
            discord_cursors: cursor_store
                .chat_cursors("discord")
                .map_err(|e| StartError(e.to_string()))?,
            slack_cursors: cursor_store
                .chat_cursors("slack")
                .map_err(|e| StartError(e.to_string()))?,
            slack_hooks: slack_hooks_rx,
            adapter_tasks: adapter_tasks.clone(),
        },
        token.clone(),
    ));
    tasks.spawn(outbox::retry_on_recovery(
        shared.clone(),
        chat_health.clone(),
        token.clone(),
    ));
    tasks.spawn(actions::run(shared.clone(), actions_rx, token.clone()));
    if let Some(app) = github_app {
        let (tx, rx) = mpsc::unbounded_channel();
        // Answers decided before a crash and never reported go again.
        for a in &shared.state.load().pending_answers {
            let _ = tx.send(a.clone());
        }
        let _ = shared.deployments.set(tx);
        tasks.spawn(github::run(shared.clone(), app, rx, token.clone()));
    }
    if let Some(r) = &reloader {
        tasks.spawn(reload::watch(r.clone(), token.clone()));
    }
    let config_reloader = Arc::new(config_reload::ConfigReloader::default());
    #[cfg(unix)]
    tasks.spawn(sighup(
        shared.clone(),
        reloader.clone(),
        config_reloader.clone(),
        token.clone(),
    ));
    tasks.spawn(console::run(shared.clone(), token.clone()));
    tasks.spawn(inbound(
        shared.clone(),
        inbound_rx,
        chat_health.clone(),
        cursor_store,
        token.clone(),
    ));
    tasks.spawn(reconcile::run(shared.clone(), token.clone()));
    tasks.spawn(shutdown_signal(token.clone()));
    tasks.spawn(retention::run(shared.clone(), token.clone()));
    let app = http::router(http::AppState {
        shared: shared.clone(),
        secrets: Arc::new(secrets),
        reloader: reloader.clone(),
        manual_clock: opts.manual_clock.is_some(),
        slack: slack_hook,
        config_reloader,
    });
    let http_token = token.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move { http_token.cancelled().await });
    if let Err(e) = server.await {
        tracing::error!(error = %e, "HTTP server failed");
        shared.fail(format!("the HTTP server failed: {e}"));
        token.cancel();
    }
    // Intake has stopped; let the writer finish and the outbox flush.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    // Adapters close their connections (Discord: a clean gateway close).
    let adapter_tasks = adapter_tasks
        .lock()
        .map(|mut g| std::mem::take(&mut *g))
        .unwrap_or_default();
    for t in adapter_tasks {
        let abort = t.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), t)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    // Stopped by itself, not asked to: a non-zero exit, so that a service
    // manager restarts it.
    match shared.failure() {
        Some(why) => Err(StartError(format!("the daemon stopped: {why}"))),
        None => Ok(()),
    }
}

/// Whether some configured chat adapter serves `product` (as
/// [`outbox::Adapters::route`] will once they run).
fn routable(config: &Config, product: &str) -> bool {
    let Some(p) = config.product(product) else {
        return false;
    };
    (config.matrix.is_some() && p.channels.get(Adapter::Matrix).is_some())
        || (config.discord.is_some() && p.channels.get(Adapter::Discord).is_some())
        || (config.slack.is_some() && p.channels.get(Adapter::Slack).is_some())
        || config.console.is_some()
}

/// What the chat start-up task needs.
struct ChatStart {
    dispatcher_store: Store,
    inbound: mpsc::Sender<ChatInput>,
    health: Arc<crate::chat::health::Health>,
    matrix_cursors: BTreeMap<String, String>,
    discord_cursors: BTreeMap<String, String>,
    slack_cursors: BTreeMap<String, String>,
    slack_hooks: Option<mpsc::Receiver<crate::chat::slack::HookRequest>>,
    /// The adapters' own tasks, closed last at shutdown.
    adapter_tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

/// Connects the chat adapters (while HTTP already answers), then runs the
/// outbox dispatcher over them. An adapter that cannot start stops the
/// daemon, saying why.
async fn chat(shared: Arc<Shared>, start: ChatStart, token: CancellationToken) {
    let ChatStart {
        dispatcher_store,
        inbound,
        health,
        matrix_cursors,
        discord_cursors,
        slack_cursors,
        slack_hooks,
        adapter_tasks,
    } = start;
    let keep = |task: tokio::task::JoinHandle<()>| {
        if let Ok(mut g) = adapter_tasks.lock() {
            g.push(task);
        }
    };
    let config = shared.config().clone();
    let fail = |why: String| {
        tracing::error!(error = %why, "a chat adapter cannot start; stopping");
        eprintln!("shipgate: {why}");
        shared.fail(why);
        token.cancel();
    };
    let matrix = match &config.matrix {
        None => None,
        Some(_) => {
            let started = tokio::select! {
                () = token.cancelled() => return,
                r = MatrixAdapter::start(
                    &config,
                    inbound.clone(),
                    token.clone(),
                    health.clone(),
                    matrix_cursors,
                ) => r,
            };
            match started {
                Ok((m, task)) => {
                    keep(task);
                    tracing::info!("matrix adapter connected");
                    Some(m)
                }
                Err(e) => return fail(e),
            }
        }
    };
    let discord = match &config.discord {
        None => None,
        Some(_) => {
            let started = tokio::select! {
                () = token.cancelled() => return,
                r = DiscordAdapter::start(
                    &config,
                    inbound.clone(),
                    token.clone(),
                    health.clone(),
                    discord_cursors,
                ) => r,
            };
            match started {
                Ok((d, task)) => {
                    keep(task);
                    tracing::info!("discord adapter connected");
                    Some(d)
                }
                Err(e) => return fail(e),
            }
        }
    };
    // What was pending before this run may have been posted by the last
    // one (Slack has no idempotency key): the adapter looks before posting.
    let pending_at_start: std::collections::BTreeSet<i64> = dispatcher_store
        .outbox_to_send(&[], 100_000)
        .map(|v| v.iter().map(|m| m.id).collect())
        .unwrap_or_default();
    let slack = match &config.slack {
        None => None,
        Some(_) => {
            let started = tokio::select! {
                () = token.cancelled() => return,
                r = SlackAdapter::start(
                    &config,
                    inbound.clone(),
                    token.clone(),
                    health.clone(),
                    slack_cursors,
                    slack_hooks,
                    pending_at_start.clone(),
                ) => r,
            };
            match started {
                Ok((s, task)) => {
                    keep(task);
                    tracing::info!("slack adapter connected");
                    Some(s)
                }
                Err(e) => return fail(e),
            }
        }
    };
    drop(inbound);
    // Connected (catch-up may still run: `/readyz` says when it is done).
    eprintln!("shipgate: chat adapters connected");
    let adapters = outbox::Adapters {
        console: config.console.as_ref().map(|_| ConsoleAdapter),
        matrix,
        discord,
        slack,
    };
    outbox::run(shared, dispatcher_store, adapters, token).await;
}

/// Chat messages from platform adapters become engine events, keyed by the
/// platform's message id so a redelivered message changes nothing; a
/// message read on catch-up becomes [`crate::engine::Event::MissedChat`].
/// An adapter's read position (its cursors) is stored only once every
/// message before it is, so a crash at any point re-reads rather than
/// loses.
async fn inbound(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<ChatInput>,
    health: Arc<crate::chat::health::Health>,
    mut cursors: Store,
    token: CancellationToken,
) {
    // Adapters a message of which could not be stored: their position
    // stays where it is, so the next start reads the message again.
    let mut stuck: std::collections::BTreeSet<&'static str> = Default::default();
    loop {
        let input = tokio::select! {
            () = token.cancelled() => return,
            m = rx.recv() => match m { Some(m) => m, None => return },
        };
        match input {
            ChatInput::Message(msg) => {
                let key = format!("chat:{}:{}", msg.adapter, msg.message_id);
                // The adapters map channels and chat ids to config names; the
                // ledger's one conversion makes a name typed in another case
                // the config's spelling.
                let input = crate::ledger::Input::Chat(crate::ledger::input::ChatMessage {
                    product: msg.product,
                    from: msg.from,
                    text: msg.text,
                    message_id: Some(msg.message_id),
                    sent_at: msg.missed,
                });
                let event = match crate::ledger::to_event(&shared.config(), input) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(error = %e, "a chat message for a product the config does not have; ignored");
                        continue;
                    }
                };
                if let Err(e) = shared.submit(vec![(key, event)]).await {
                    tracing::warn!(error = %e, "could not record a chat message");
                    stuck.insert(msg.adapter);
                }
            }
            ChatInput::Progress {
                adapter,
                cursors: moved,
                caught_up,
            } => {
                if stuck.contains(adapter) {
                    continue;
                }
                if !moved.is_empty() {
                    let now = shared.clock.now();
                    let stored = tokio::task::block_in_place(|| {
                        cursors.set_chat_cursors(adapter, &moved, now)
                    });
                    if let Err(e) = stored {
                        tracing::error!(error = %e, adapter, "could not store how far chat was read");
                        stuck.insert(adapter);
                        continue;
                    }
                }
                if caught_up {
                    tracing::info!(adapter, "chat: caught up");
                    health.clear(&catch_up_key(adapter));
                }
            }
        }
    }
}
