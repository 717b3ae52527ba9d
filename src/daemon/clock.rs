//! The daemon's only source of time. `SystemClock` in production;
//! `ManualClock` (`shipgate run --manual-clock START`) for demos and
//! integration tests, moved by `POST /-/clock`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Sleeps until `t` by this clock (returns at once if it is past).
    fn sleep_until(
        &self,
        t: DateTime<Utc>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;

    /// Moves a manual clock; `None` for a real one.
    fn set(&self, _t: DateTime<Utc>) -> Option<()> {
        None
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(
        &self,
        t: DateTime<Utc>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // Re-check after each sleep: wall-clock jumps (suspend, NTP)
            // make a single long sleep wrong.
            loop {
                let left = t - Utc::now();
                let Ok(left) = left.to_std() else { return };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(Duration::from_secs(30))).await;
            }
        })
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    moved: Notify,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(start),
            moved: Notify::new(),
        })
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        match self.now.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    fn sleep_until(
        &self,
        t: DateTime<Utc>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                let notified = self.moved.notified();
                if self.now() >= t {
                    return;
                }
                notified.await;
            }
        })
    }

    fn set(&self, t: DateTime<Utc>) -> Option<()> {
        match self.now.lock() {
            Ok(mut g) => *g = t,
            Err(p) => *p.into_inner() = t,
        }
        self.moved.notify_waiters();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_moved() {
        let start = DateTime::parse_from_rfc3339("2026-03-09T12:00:00Z")
            .expect("a valid instant")
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        let c2 = clock.clone();
        let target = start + chrono::TimeDelta::minutes(5);
        let sleeper = tokio::spawn(async move { c2.sleep_until(target).await });
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        // Moved, but not far enough: still asleep.
        clock.set(start + chrono::TimeDelta::minutes(1));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        // Moved to its time: it must wake (not time out).
        clock.set(target);
        let woken = tokio::time::timeout(Duration::from_secs(5), sleeper).await;
        assert!(
            matches!(woken, Ok(Ok(()))),
            "the sleeper was not woken by `set`: {woken:?}"
        );
    }

    #[tokio::test]
    async fn manual_clock_sleep_until_the_past_returns_at_once() {
        let start = DateTime::parse_from_rfc3339("2026-03-09T12:00:00Z")
            .expect("a valid instant")
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        let done = tokio::time::timeout(
            Duration::from_secs(5),
            clock.sleep_until(start - chrono::TimeDelta::minutes(1)),
        )
        .await;
        assert!(done.is_ok(), "sleep_until a past instant did not return");
    }
}
