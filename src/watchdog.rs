//! The watchdog of a long-running process: each stage (a relay worker, a
//! consumer lane, a connection being re-established) says when it holds work
//! and when it makes progress. A stage that holds work and makes no progress
//! for `watchdog.warn_after` is reported at warn, naming what it waits for;
//! after `watchdog.exit_after` the watchdog ends the process with an error,
//! so that systemd or `outboxctl up` restarts it. The gauge
//! `outbox_stage_seconds_since_progress{stage}` shows the same clock.
//!
//! Depends on `config` only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::WatchdogConfig;

/// A stage that held work without progress for `watchdog.exit_after`.
#[derive(Debug, thiserror::Error)]
#[error(
    "{stage} made no progress for {} while {activity} — exiting so that a supervisor restarts \
     the process (watchdog.exit_after = {})",
    humantime::format_duration(*stalled_for),
    humantime::format_duration(*exit_after)
)]
pub struct Stalled {
    pub stage: String,
    pub activity: String,
    pub stalled_for: Duration,
    pub exit_after: Duration,
}

struct StageState {
    name: String,
    /// Milliseconds since the watchdog's epoch.
    last_progress: AtomicU64,
    /// What the stage waits for while it holds work; `None` when idle.
    activity: Mutex<Option<String>>,
    warned: AtomicBool,
}

/// One stage's handle: cheap to clone, shared with the watchdog.
#[derive(Clone)]
pub struct Stage {
    state: Arc<StageState>,
    epoch: Instant,
}

impl Stage {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn activity(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.state
            .activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The stage holds work and now waits for `what` ("claiming a batch",
    /// "waiting for PostgreSQL: connection refused"). The no-progress clock
    /// starts when a stage goes from idle to working.
    pub fn working(&self, what: impl Into<String>) {
        let mut activity = self.activity();
        if activity.is_none() {
            self.state.last_progress.store(self.now(), Ordering::SeqCst);
        }
        *activity = Some(what.into());
    }

    /// The stage got something done (it may still hold more work).
    pub fn progressed(&self) {
        self.state.last_progress.store(self.now(), Ordering::SeqCst);
        if self.state.warned.swap(false, Ordering::SeqCst) {
            info!(stage = %self.state.name, "making progress again");
        }
    }

    /// The stage has nothing to do.
    pub fn idle(&self) {
        *self.activity() = None;
        self.progressed();
    }
}

/// Watches the stages of one process (or of one part of `outboxctl up`).
pub struct Watchdog {
    config: WatchdogConfig,
    epoch: Instant,
    stages: Mutex<Vec<Arc<StageState>>>,
}

impl Watchdog {
    pub fn new(config: &WatchdogConfig) -> Arc<Self> {
        Arc::new(Self {
            config: config.clone(),
            epoch: Instant::now(),
            stages: Mutex::new(Vec::new()),
        })
    }

    /// Register a stage, idle.
    pub fn stage(&self, name: impl Into<String>) -> Stage {
        let state = Arc::new(StageState {
            name: name.into(),
            last_progress: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            activity: Mutex::new(None),
            warned: AtomicBool::new(false),
        });
        self.stages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(state.clone());
        Stage {
            state,
            epoch: self.epoch,
        }
    }

    /// Run `work` under this watchdog: its result — or [`Stalled`] when a
    /// stage stalls past `exit_after`, and then `work` is dropped where it
    /// hangs.
    pub async fn guard<T, E: From<Stalled>>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        tokio::select! {
            done = work => done,
            Err(stalled) = self.run(CancellationToken::new()) => Err(stalled.into()),
        }
    }

    /// Check the stages until `stop` is cancelled; an error when one stalled
    /// past `exit_after`.
    pub async fn run(&self, stop: CancellationToken) -> Result<(), Stalled> {
        let every =
            (self.config.warn_after / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
            }
            self.check()?;
        }
    }

    fn check(&self) -> Result<(), Stalled> {
        let now = self.epoch.elapsed().as_millis() as u64;
        let stages = self.stages.lock().unwrap_or_else(|e| e.into_inner());
        for s in stages.iter() {
            let activity = s.activity.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let since =
                Duration::from_millis(now.saturating_sub(s.last_progress.load(Ordering::SeqCst)));
            let shown = if activity.is_some() {
                since
            } else {
                Duration::ZERO
            };
            metrics::gauge!("outbox_stage_seconds_since_progress", "stage" => s.name.clone())
                .set(shown.as_secs_f64());
            let Some(activity) = activity else { continue };
            let exit_after = self.config.exit_after;
            if !exit_after.is_zero() && since >= exit_after {
                return Err(Stalled {
                    stage: s.name.clone(),
                    activity,
                    stalled_for: since,
                    exit_after,
                });
            }
            if since >= self.config.warn_after && !s.warned.swap(true, Ordering::SeqCst) {
                let exits = if exit_after.is_zero() {
                    "watchdog.exit_after = 0s: it will not exit".to_string()
                } else {
                    format!(
                        "exits in {} unless it moves",
                        humantime::format_duration(Duration::from_secs(
                            exit_after.saturating_sub(since).as_secs()
                        ))
                    )
                };
                warn!(stage = %s.name, waiting_for = %activity,
                    stalled = %humantime::format_duration(Duration::from_secs(since.as_secs())),
                    "no progress while holding work; {exits}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dog(warn: u64, exit: u64) -> Arc<Watchdog> {
        Watchdog::new(&WatchdogConfig {
            warn_after: Duration::from_millis(warn),
            exit_after: Duration::from_millis(exit),
        })
    }

    #[test]
    fn an_idle_stage_never_stalls() {
        let w = dog(1, 2);
        let s = w.stage("lane 0");
        std::thread::sleep(Duration::from_millis(10));
        assert!(w.check().is_ok());
        s.working("claiming");
        s.idle();
        std::thread::sleep(Duration::from_millis(10));
        assert!(w.check().is_ok());
    }

    #[test]
    fn a_working_stage_without_progress_stalls_and_progress_resets_the_clock() {
        let w = dog(1, 30);
        let s = w.stage("consumer lane 2");
        s.working("waiting for PostgreSQL: connection refused");
        std::thread::sleep(Duration::from_millis(15));
        s.progressed();
        assert!(w.check().is_ok(), "progress 0 ms ago");
        std::thread::sleep(Duration::from_millis(40));
        let e = w.check().unwrap_err();
        assert_eq!(e.stage, "consumer lane 2");
        let text = e.to_string();
        assert!(
            text.contains("consumer lane 2 made no progress")
                && text.contains("waiting for PostgreSQL: connection refused"),
            "{text}"
        );
    }

    #[test]
    fn exit_after_zero_only_warns() {
        let w = dog(1, 0);
        let s = w.stage("relay worker 0");
        s.working("awaiting confirms");
        std::thread::sleep(Duration::from_millis(10));
        assert!(w.check().is_ok());
    }
}
