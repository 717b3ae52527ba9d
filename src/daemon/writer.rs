//! The single writer: decides every event with the pure engine and commits
//! it, and fires timers when they fall due.
//!
//! Group commit: when requests queue up behind a disk flush, the writer
//! takes every event waiting in the intake and stores them in one SQLite
//! transaction, each in its own savepoint, so they share one flush
//! ([`Store::begin_group`]). Nothing is acknowledged, published (state
//! snapshot, metrics) or acted on (outbox, CI actions) before that
//! transaction is durably committed; if the commit fails, every event of
//! the group is refused and the writer reloads the state from the
//! database. A lone event costs what it did before: one transaction, one
//! flush.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::shared::{Intake, Shared};
use crate::engine::{ActionRun, Context, Effect, Event};
use crate::ledger::{Applied, Ledger};
use crate::store::Store;

/// The most intake messages stored by one group commit (the intake holds
/// 256).
const MAX_GROUP: usize = 256;

/// Runs until shutdown. Finishes the events in progress, then returns.
pub async fn run(
    shared: Arc<Shared>,
    mut ledger: Ledger,
    mut rx: mpsc::Receiver<Intake>,
    actions: mpsc::UnboundedSender<ActionRun>,
    shutdown: CancellationToken,
) {
    // Every decision's seed is derived from this base and its event number
    // (see `ledger::derive_seed`), as `simulate` derives them.
    let base = shared.config().seed.unwrap_or_else(rand::random);
    loop {
        let due = {
            ledger.set_config_generation(shared.generation());
            let rules = shared.rules.load();
            ledger.next_due(&rules.set, &shared.team())
        };
        let sleep = async {
            match due {
                Some(t) => shared.clock.sleep_until(t).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            msg = rx.recv() => match msg {
                None => break,
                Some(m) => {
                    // Time first: timers due by now fire before new input.
                    fire_due(&shared, &mut ledger, &actions, base);
                    // Everything else already waiting joins the group.
                    let mut batch = vec![m];
                    while batch.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(m) => batch.push(m),
                            Err(_) => break,
                        }
                    }
                    handle(&shared, &mut ledger, batch, &actions, &shutdown, base);
                }
            },
            () = sleep => fire_due(&shared, &mut ledger, &actions, base),
            () = shared.replan.notified() => {}
        }
    }
    tracing::info!("writer stopped");
}

/// Fires every timer due by the clock's now through the ledger's one
/// catch-up (each decided at its due time, never before the latest event),
/// then publishes what changed.
fn fire_due(
    shared: &Shared,
    ledger: &mut Ledger,
    actions: &mpsc::UnboundedSender<ActionRun>,
    base: u64,
) {
    ledger.set_config_generation(shared.generation());
    let rules = shared.rules.load();
    ledger.set_rules_version(Some(rules.hash.clone()));
    let now = shared.clock.now();
    let result = tokio::task::block_in_place(|| {
        ledger.catch_up(&rules.set, &shared.team(), now, base, |_, applied| {
            after_commit(shared, "tick", &Event::Tick, applied, actions);
        })
    });
    match result {
        Ok(0) => {}
        Ok(_) => {
            shared.metrics.commit();
            shared.state.store(Arc::new(ledger.state().clone()));
            shared.outbox_ready.notify_one();
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store a timer firing");
            // What fired before the failure is stored: publish it.
            shared.state.store(Arc::new(ledger.state().clone()));
            shared.outbox_ready.notify_one();
        }
    }
}

type Reply = Option<oneshot::Sender<Result<Vec<Applied>, String>>>;

/// Handles intake messages in order: runs of events as one group commit,
/// announcements on their own.
fn handle(
    shared: &Shared,
    ledger: &mut Ledger,
    batch: Vec<Intake>,
    actions: &mpsc::UnboundedSender<ActionRun>,
    shutdown: &CancellationToken,
    base: u64,
) {
    let mut group: Vec<(Vec<(String, Event)>, Reply)> = Vec::new();
    for msg in batch {
        match msg {
            Intake::Events { items, reply } => group.push((items, reply)),
            Intake::Announce {
                key,
                messages,
                rules_version,
                reply,
            } => {
                commit_group(
                    shared,
                    ledger,
                    std::mem::take(&mut group),
                    actions,
                    shutdown,
                    base,
                );
                let now = shared.clock.now();
                let result = tokio::task::block_in_place(|| {
                    if let Some((hash, text)) = &rules_version {
                        ledger
                            .record_rules_version(hash, text, now)
                            .map_err(|e| e.to_string())?;
                    }
                    // The version (if any) is recorded: the reload stands
                    // even if its announcement is lost.
                    if let Err(e) = ledger.announce(&key, now, messages) {
                        tracing::error!(error = %e, key, "could not store an announcement");
                    }
                    Ok(())
                });
                if let Err(e) = &result {
                    tracing::error!(error = %e, "could not record a rules version");
                }
                shared.outbox_ready.notify_one();
                if let Some(tx) = reply {
                    let _ = tx.send(result);
                }
            }
        }
    }
    commit_group(shared, ledger, group, actions, shutdown, base);
}

/// Decides and stores the events of several intake messages in one
/// transaction, then acknowledges each message. Within a message, the
/// events are applied in order until one fails (as before: those before it
/// stay applied, the message is answered with the error).
fn commit_group(
    shared: &Shared,
    ledger: &mut Ledger,
    group: Vec<(Vec<(String, Event)>, Reply)>,
    actions: &mpsc::UnboundedSender<ActionRun>,
    shutdown: &CancellationToken,
    base: u64,
) {
    if group.is_empty() {
        return;
    }
    if group.iter().all(|(items, _)| items.is_empty()) {
        // E.g. `POST /-/clock` waiting for the timers to fire.
        for (_, reply) in group {
            if let Some(tx) = reply {
                let _ = tx.send(Ok(Vec::new()));
            }
        }
        return;
    }
    let mut answers: Vec<(Reply, Result<Vec<Applied>, String>)> = Vec::with_capacity(group.len());
    // Applied events and what they did, for after the commit.
    let mut staged: Vec<(String, Event, Applied)> = Vec::new();
    if let Err(e) = tokio::task::block_in_place(|| ledger.begin_group()) {
        tracing::error!(error = %e, "could not start a transaction");
        let refusal = format!("could not store the event: {e}");
        for (_, reply) in group {
            if let Some(tx) = reply {
                let _ = tx.send(Err(refusal.clone()));
            }
        }
        return;
    }
    let committed = tokio::task::block_in_place(|| {
        for (items, reply) in group {
            let mut results = Vec::with_capacity(items.len());
            let mut failure = None;
            for (key, event) in items {
                match decide(shared, ledger, &key, &event, base) {
                    Ok(a) => {
                        staged.push((key, event, a.clone()));
                        results.push(a);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            answers.push((
                reply,
                match failure {
                    None => Ok(results),
                    Some(e) => Err(e),
                },
            ));
        }
        ledger.commit_group().map_err(|e| e.to_string())
    });
    match committed {
        Ok(()) => {
            // Durable: now it may be seen, acted on and acknowledged.
            let mut changed = false;
            for (key, event, applied) in &staged {
                changed |= matches!(applied, Applied::New { .. });
                after_commit(shared, key, event, applied, actions);
            }
            if changed {
                shared.metrics.commit();
                shared.state.store(Arc::new(ledger.state().clone()));
                shared.outbox_ready.notify_one();
            }
            for (reply, answer) in answers {
                if let Some(tx) = reply {
                    let _ = tx.send(answer);
                }
            }
        }
        Err(e) => {
            tokio::task::block_in_place(|| ledger.rollback_group());
            tracing::error!(error = %e, events = staged.len(), "could not commit a group of events; none of them is stored");
            let refusal = format!("could not store the event: {e}");
            for (reply, _) in answers {
                if let Some(tx) = reply {
                    let _ = tx.send(Err(refusal.clone()));
                }
            }
            if !staged.is_empty() {
                reopen(shared, ledger, shutdown);
            }
        }
    }
}

/// After a failed group commit the ledger's state holds events that are
/// not stored: read it back from the database.
fn reopen(shared: &Shared, ledger: &mut Ledger, shutdown: &CancellationToken) {
    let fresh = tokio::task::block_in_place(|| {
        Store::open(&shared.config().database)
            .map_err(|e| e.to_string())
            .and_then(|s| Ledger::open(s).map_err(|e| e.to_string()))
    });
    match fresh {
        Ok(l) => {
            *ledger = l;
            shared.state.store(Arc::new(ledger.state().clone()));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the state back after a failed commit; stopping");
            shared.fail(format!(
                "cannot read the state back after a failed commit: {e}"
            ));
            shutdown.cancel();
        }
    }
}

/// Decides `event` and commits it under `key` (inside a group: stages it).
/// No side effects.
fn decide(
    shared: &Shared,
    ledger: &mut Ledger,
    key: &str,
    event: &Event,
    base: u64,
) -> Result<Applied, String> {
    // The generation first, then the team and rules it stands for.
    ledger.set_config_generation(shared.generation());
    let rules = shared.rules.load();
    ledger.set_rules_version(Some(rules.hash.clone()));
    let seed = ledger.next_seed(base);
    let ctx = Context {
        rules: &rules.set,
        team: &shared.team(),
        now: shared.clock.now(),
        seed,
    };
    ledger.apply(&ctx, key, event).map_err(|e| {
        tracing::error!(error = %e, key, "could not commit an event");
        format!("could not store the event: {e}")
    })
}

/// What a stored event sets going: metrics and CI actions.
fn after_commit(
    shared: &Shared,
    key: &str,
    event: &Event,
    applied: &Applied,
    actions: &mpsc::UnboundedSender<ActionRun>,
) {
    match applied {
        Applied::New { effects, seq } => {
            tracing::debug!(seq, key, effects = effects.len(), "event applied");
            shared.metrics.event(event, effects);
            for e in effects {
                if let Effect::Action(run) = e {
                    let _ = actions.send(run.clone());
                }
                if let Effect::Deployment(a) = e {
                    match shared.deployments.get() {
                        Some(tx) => {
                            let _ = tx.send(a.clone());
                        }
                        None => {
                            tracing::warn!(id = %a.id, "a deployment answer, but no `github_app` is configured to send it")
                        }
                    }
                }
            }
        }
        Applied::Duplicate { seq } => {
            tracing::debug!(seq, key, "duplicate event ignored");
            shared.metrics.duplicate();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::config::Config;
    use crate::daemon::clock::ManualClock;
    use crate::daemon::shared::ActiveRules;
    use crate::rules::{self, Source};
    use chrono::TimeZone;

    fn merged(n: u64) -> Event {
        Event::Merged {
            product: "web".to_owned(),
            change: format!("#{n}"),
            author: "ana".to_owned(),
            title: format!("Change {n}"),
        }
    }

    fn sample(text: &str, name: &str) -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap()
    }

    /// Events queued while the writer is busy are stored by one commit,
    /// each answered as if it had been alone (duplicates included).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_events_share_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("shipgate.ron");
        std::fs::write(
            &config_path,
            "(database: \"shipgate.db\", http: (listen: \"127.0.0.1:0\"), \
             products: [(name: \"web\")], people: [(name: \"ana\", timezone: \"UTC\")])",
        )
        .unwrap();
        let config = Config::load(&config_path).unwrap();
        let db = config.database.clone();
        let set = rules::compile(vec![Source::new(
            rules::DEFAULT_RULES_NAME,
            rules::DEFAULT_RULES,
        )])
        .unwrap();
        let ledger = Ledger::open(Store::open(&db).unwrap()).unwrap();
        let team = crate::team::team_from_config(&config);
        let (tx, rx) = mpsc::channel(256);
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap());
        let shared = Arc::new(Shared::new(
            config,
            team,
            clock,
            ActiveRules {
                set,
                hash: "test".to_owned(),
                origin: "test".to_owned(),
            },
            ledger.state().clone(),
            tx.clone(),
            Store::open(&db).unwrap(),
            Ok(()),
        ));
        // Queued before the writer runs: 20 single events, one message of
        // two, one repeated key.
        let mut answers = Vec::new();
        let mut send = |items: Vec<(String, Event)>| {
            let (reply, answer) = oneshot::channel();
            tx.try_send(Intake::Events {
                items,
                reply: Some(reply),
            })
            .map_err(|_| "full")
            .unwrap();
            answers.push(answer);
        };
        for n in 0..20 {
            send(vec![(format!("k:{n}"), merged(n))]);
        }
        send(vec![
            ("k:20".to_owned(), merged(20)),
            ("k:21".to_owned(), merged(21)),
        ]);
        send(vec![("k:3".to_owned(), merged(3))]);
        let (actions, _actions_rx) = mpsc::unbounded_channel();
        let token = CancellationToken::new();
        let writer = tokio::spawn(run(shared.clone(), ledger, rx, actions, token.clone()));
        let mut new = 0;
        let mut duplicates = 0;
        for a in answers {
            for r in a.await.unwrap().unwrap() {
                match r {
                    Applied::New { .. } => new += 1,
                    Applied::Duplicate { seq } => {
                        assert_eq!(seq, 4);
                        duplicates += 1;
                    }
                }
            }
        }
        assert_eq!((new, duplicates), (22, 1));
        let reader = Store::open_read_only(&db).unwrap();
        assert_eq!(reader.event_count().unwrap(), 22);
        let metrics = shared.metrics.render(0);
        assert_eq!(sample(&metrics, "shipgate_event_commits_total"), 1);
        assert_eq!(sample(&metrics, "shipgate_duplicate_events_total"), 1);
        assert_eq!(shared.state.load().products["web"].pool.len(), 22);
        // A lone event: its own commit.
        let applied = shared
            .submit(vec![("k:22".to_owned(), merged(22))])
            .await
            .unwrap();
        assert!(matches!(applied[..], [Applied::New { seq: 23, .. }]));
        let metrics = shared.metrics.render(0);
        assert_eq!(sample(&metrics, "shipgate_event_commits_total"), 2);
        token.cancel();
        writer.await.unwrap();
    }
}
