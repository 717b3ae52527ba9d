//! Retention in the daemon: with `retention` set, a pass over the
//! database at start (after the writer has fired the timers due by then)
//! and then every hour (the setting is read before each
//! pass, so a config reload can turn it on or change it) prunes history older than the
//! retention period ([`crate::store::retention`]), a small batch at a
//! time with a pause between batches that is at least as long as the
//! batch took, on a connection of its own (its effect on the writer is
//! measured in docs/benchmarks.md, "Database care").

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::store::retention::{Pruned, Pruner};

/// Rows per batch (one short write transaction each).
pub const BATCH: usize = 500;
/// Shortest pause between batches: the writer's turn.
pub const PAUSE: Duration = Duration::from_millis(20);

/// The pause after a batch that took `took`: [`PAUSE`], or as long as the
/// batch when it was slower (a busy disk), so that pruning never takes
/// more than half of the database's time.
pub fn pause_after(took: Duration) -> Duration {
    PAUSE.max(took)
}
/// Time between passes.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Runs passes until shutdown; does nothing without `retention`.
pub async fn run(shared: Arc<Shared>, token: CancellationToken) {
    // The database is fixed for the process; `retention` may change with
    // a config reload, and is read before each pass.
    let path = shared.config().database.clone();
    loop {
        let Some(keep) = shared.config().retention else {
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(EVERY) => continue,
            }
        };
        // Timers due by now fire first (the writer handles time before any
        // input): after a downtime, the catch-up moves the state on to new
        // events, and only then are the old ones it was saved with free to
        // go. Without this the first pass races the catch-up and keeps
        // them for an hour.
        if shared.submit(Vec::new()).await.is_err() {
            return;
        }
        let cutoff = shared.clock.now() - keep;
        match pass(&path, cutoff, &token).await {
            Ok(p) if p.total() > 0 => tracing::info!(
                events = p.events,
                outbox = p.outbox,
                audit = p.audit,
                before = %crate::timefmt::utc(cutoff),
                "retention: pruned old history"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention: a pass failed; trying again later"),
        }
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

async fn pass(
    path: &std::path::Path,
    cutoff: chrono::DateTime<chrono::Utc>,
    token: &CancellationToken,
) -> Result<Pruned, String> {
    let path = path.to_owned();
    let mut pruner = blocking(move || Pruner::open(&path, cutoff, BATCH)).await?;
    loop {
        if pruner.done() {
            return Ok(pruner.pruned());
        }
        let began = std::time::Instant::now();
        pruner = blocking(move || {
            let mut p = pruner;
            p.step().map(|_| p)
        })
        .await?;
        tokio::select! {
            () = token.cancelled() => return Ok(pruner.pruned()),
            () = tokio::time::sleep(pause_after(began.elapsed())) => {}
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the retention task stopped: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_batch_is_followed_by_a_pause_as_long() {
        assert_eq!(pause_after(Duration::from_millis(3)), PAUSE);
        assert_eq!(
            pause_after(Duration::from_millis(70)),
            Duration::from_millis(70)
        );
    }
}
