//! The one retry policy: exponential backoff with jitter, from `backon`.
//!
//! The n-th delay is `initial · 2ⁿ`, capped at `max`, then scaled by a
//! random factor in [0.5, 1) so that clients that failed together do not
//! retry together. Reconnects use [`Backoff::reconnect`], capped low so that
//! a process is back within about a second of its server; [`Complaints`]
//! keeps a long outage from flooding the log.

use std::future::Future;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::watchdog::Stage;

/// Delays for one series of retries; [`reset`](Self::reset) after a success.
#[derive(Debug)]
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        // backon's jitter adds [0, 1) × the delay: halving both ends gives
        // [0.5, 1) × the documented delay.
        let builder = ExponentialBuilder::new()
            .with_min_delay(initial / 2)
            .with_max_delay((max / 2).max(initial / 2))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        Self {
            delays: builder.build(),
            builder,
            max,
        }
    }

    /// Reconnecting to PostgreSQL or RabbitMQ: 100 ms doubling to 1 s.
    pub fn reconnect() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(1))
    }

    pub fn next_delay(&mut self) -> Duration {
        // Endless (`without_max_times`); the cap is only a fallback.
        self.delays.next().unwrap_or(self.max)
    }

    /// Start over from the initial delay.
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }

    /// The delay before attempt `attempt + 1` of a series that started at
    /// `initial` (attempt 1 waits about `initial`).
    pub fn nth(initial: Duration, max: Duration, attempt: u32) -> Duration {
        let mut b = Self::new(initial, max);
        // Past 40 doublings every delay is the cap.
        for _ in 1..attempt.clamp(1, 40) {
            b.next_delay();
        }
        b.next_delay()
    }
}

/// A warning on the first failure of a series and then every half minute,
/// not one per retry: a server down for an hour must not flood the log.
#[derive(Default)]
pub struct Complaints {
    since: Option<Instant>,
    last: Option<Instant>,
    failures: u64,
}

impl Complaints {
    const EVERY: Duration = Duration::from_secs(30);

    pub fn warn(&mut self, error: &str, retry_in: Duration, what: &str) {
        self.failures += 1;
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        if self.last.is_none_or(|l| now - l >= Self::EVERY) {
            self.last = Some(now);
            warn!(error = %error, retry_in = ?retry_in, failures = self.failures,
                failing_for = %humantime::format_duration(Duration::from_secs((now - since).as_secs())),
                "{what}; retrying");
        } else {
            debug!(error = %error, retry_in = ?retry_in, "{what}; retrying");
        }
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Run `attempt` until it succeeds, waiting [`Backoff::reconnect`] after
/// each failure that `transient` says may pass, while `stage` shows what it
/// waits for; a failure that will not pass is returned at once. `None` when
/// `shutdown` came first.
pub async fn until_ready<T, E, F, Fut>(
    what: &str,
    stage: &Stage,
    shutdown: &CancellationToken,
    transient: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<Option<T>, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = Backoff::reconnect();
    let mut complaints = Complaints::default();
    loop {
        stage.working(what.to_string());
        let e = tokio::select! {
            done = attempt() => match done {
                Ok(v) => {
                    stage.idle();
                    return Ok(Some(v));
                }
                Err(e) if !transient(&e) => return Err(e),
                Err(e) => e,
            },
            _ = shutdown.cancelled() => return Ok(None),
        };
        let wait = backoff.next_delay();
        stage.working(format!("{what}: {e}"));
        complaints.warn(&e.to_string(), wait, &format!("{what} failed"));
        if shutdown
            .run_until_cancelled(tokio::time::sleep(wait))
            .await
            .is_none()
        {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_below_the_delay() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(1));
        let mut b = Backoff::new(initial, max);
        let expected = [100, 200, 400, 800, 1000, 1000];
        for ms in expected {
            let d = b.next_delay();
            let full = Duration::from_millis(ms);
            assert!(
                d >= full / 2 && d < full,
                "{d:?} not in [{:?}, {full:?})",
                full / 2
            );
        }
        b.reset();
        assert!(b.next_delay() < initial);
    }

    #[test]
    fn nth_is_the_delay_of_that_attempt() {
        let (initial, max) = (Duration::from_secs(1), Duration::from_secs(300));
        let third = Backoff::nth(initial, max, 3);
        assert!(third >= Duration::from_secs(2) && third < Duration::from_secs(4));
        let late = Backoff::nth(initial, max, 1000);
        assert!(late >= Duration::from_secs(150) && late < max, "{late:?}");
    }
}
