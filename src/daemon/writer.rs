//! The single writer: decides every event with the pure engine and commits
//! it, one at a time, and fires timers when they fall due.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::shared::{Intake, Shared};
use crate::engine::{ActionRun, Context, Effect, Event, next_due};
use crate::ledger::{Applied, Ledger};

/// Runs until shutdown. Finishes the event in progress, then returns.
pub async fn run(
    shared: Arc<Shared>,
    mut ledger: Ledger,
    mut rx: mpsc::Receiver<Intake>,
    actions: mpsc::UnboundedSender<ActionRun>,
    shutdown: CancellationToken,
) {
    loop {
        let due = {
            let rules = shared.rules.load();
            next_due(ledger.state(), &rules.set, &shared.team)
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
                    fire_due(&shared, &mut ledger, &actions);
                    handle(&shared, &mut ledger, m, &actions);
                }
            },
            () = sleep => fire_due(&shared, &mut ledger, &actions),
            () = shared.replan.notified() => {}
        }
    }
    tracing::info!("writer stopped");
}

/// Fires every timer due by the clock's now, oldest first. Each firing is
/// keyed by its due time, so a replay after a crash fires it once.
fn fire_due(shared: &Shared, ledger: &mut Ledger, actions: &mpsc::UnboundedSender<ActionRun>) {
    let mut last = None;
    for _ in 0..10_000 {
        let due = {
            let rules = shared.rules.load();
            next_due(ledger.state(), &rules.set, &shared.team)
        };
        let Some(t) = due.filter(|t| *t <= shared.clock.now()) else {
            return;
        };
        if last == Some(t) {
            tracing::error!(due = %t, "a timer did not change the state when it fired; not firing it again");
            return;
        }
        last = Some(t);
        let key = format!("tick:{}", crate::timefmt::utc(t));
        if apply(shared, ledger, &key, &Event::Tick, actions).is_err() {
            return;
        }
    }
}

fn handle(
    shared: &Shared,
    ledger: &mut Ledger,
    msg: Intake,
    actions: &mpsc::UnboundedSender<ActionRun>,
) {
    match msg {
        Intake::Events { items, reply } => {
            let mut results = Vec::new();
            let mut failure = None;
            for (key, event) in items {
                match apply(shared, ledger, &key, &event, actions) {
                    Ok(a) => results.push(a),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            if let Some(tx) = reply {
                let _ = tx.send(match failure {
                    None => Ok(results),
                    Some(e) => Err(e),
                });
            }
        }
        Intake::Announce {
            key,
            messages,
            rules_version,
            reply,
        } => {
            let now = shared.clock.now();
            let result = tokio::task::block_in_place(|| {
                if let Some((hash, text)) = &rules_version {
                    ledger
                        .store_mut()
                        .record_rules_version(hash, text, now)
                        .map_err(|e| e.to_string())?;
                }
                ledger
                    .announce(&key, now, messages)
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = &result {
                tracing::error!(error = %e, "could not store an announcement");
            }
            shared.outbox_ready.notify_one();
            if let Some(tx) = reply {
                let _ = tx.send(result.map(|_| ()));
            }
        }
    }
}

fn apply(
    shared: &Shared,
    ledger: &mut Ledger,
    key: &str,
    event: &Event,
    actions: &mpsc::UnboundedSender<ActionRun>,
) -> Result<Applied, String> {
    let rules = shared.rules.load();
    ledger.set_rules_version(Some(rules.hash.clone()));
    let seed = shared.config.seed.unwrap_or_else(rand::random);
    let ctx = Context {
        rules: &rules.set,
        team: &shared.team,
        now: shared.clock.now(),
        seed,
    };
    let applied = tokio::task::block_in_place(|| ledger.apply(&ctx, key, event)).map_err(|e| {
        tracing::error!(error = %e, key, "could not commit an event");
        format!("could not store the event: {e}")
    })?;
    match &applied {
        Applied::New { effects, seq } => {
            tracing::debug!(seq, key, effects = effects.len(), "event applied");
            shared.metrics.event(event, effects);
            for e in effects {
                if let Effect::Action(run) = e {
                    let _ = actions.send(run.clone());
                }
            }
            shared.state.store(Arc::new(ledger.state().clone()));
            shared.outbox_ready.notify_one();
        }
        Applied::Duplicate { seq } => {
            tracing::debug!(seq, key, "duplicate event ignored");
            shared.metrics.duplicate();
        }
    }
    Ok(applied)
}
