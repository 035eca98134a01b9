//! The state every part of a running consumer shares — its settings, pool,
//! handlers and counters — and what a lane hands down while it works on a
//! batch: the forwarder of its session, its watchdog stage, and the signal
//! that the session's connection is gone. Also the one wait every part
//! uses: holding deliveries while PostgreSQL cannot be reached.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::settings::Settings;
use crate::backoff::Backoff;
use crate::broker::{BrokerError, Forwarder};
use crate::flow::handlers::Handlers;
use crate::store;
use crate::watchdog::Stage;

#[derive(Default)]
pub(super) struct Counters {
    pub processed: AtomicU64,
    pub duplicates: AtomicU64,
    pub stale: AtomicU64,
    pub retried: AtomicU64,
    pub dead_lettered: AtomicU64,
}

pub(super) struct Consumer {
    pub settings: Settings,
    pub pool: PgPool,
    /// Settings each transaction sets itself (behind a transaction-mode pooler).
    pub local: Vec<(&'static str, String)>,
    pub handlers: Handlers,
    /// How long a ping of the database may take.
    pub ping_timeout: Duration,
    /// Set while some lane waits for the database, so that one lane says so.
    pub db_down: AtomicBool,
    pub counters: Counters,
}

/// Raised by whichever part of a session first sees the connection die; the
/// others then abandon what they hold.
#[derive(Default)]
pub(super) struct Lost {
    pub token: CancellationToken,
    reason: std::sync::Mutex<Option<String>>,
}

impl Lost {
    pub fn raise(&self, why: impl std::fmt::Display) {
        let mut reason = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        reason.get_or_insert_with(|| why.to_string());
        self.token.cancel();
    }

    pub fn reason(&self) -> String {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "the connection was lost".into())
    }
}

/// A delivery that cannot be finished: the connection it came on is gone.
#[derive(Debug)]
pub(super) struct Abandoned;

/// What a lane hands down while it works on a batch.
pub(super) struct Ctx<'a> {
    pub forwarder: &'a Forwarder,
    pub stage: &'a Stage,
    pub lost: &'a Lost,
}

impl Ctx<'_> {
    /// The outcome of a call to the broker: a lost connection ends the
    /// session; a delivery whose copy could not be forwarded goes back.
    pub fn broker(&self, result: Result<(), BrokerError>) -> Result<(), Abandoned> {
        match result {
            Ok(()) => {
                self.stage.progressed();
                Ok(())
            }
            Err(e) => {
                self.lost.raise(e);
                Err(Abandoned)
            }
        }
    }
}

impl Consumer {
    /// Hold the lane until PostgreSQL answers a fresh connection again.
    pub async fn wait_for_database(&self, ctx: &Ctx<'_>, mut why: String) -> Result<(), Abandoned> {
        if !self.db_down.swap(true, Ordering::SeqCst) {
            warn!(error = %why, "PostgreSQL is unavailable; holding deliveries (no attempt is \
                used up) until it answers");
        }
        let mut backoff = Backoff::reconnect();
        loop {
            ctx.stage.working(format!("waiting for PostgreSQL: {why}"));
            let pinged = tokio::select! {
                p = store::ping(&self.pool, self.ping_timeout) => p,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            match pinged {
                Ok(()) => {
                    if self.db_down.swap(false, Ordering::SeqCst) {
                        info!("PostgreSQL answers again; consuming");
                    }
                    return Ok(());
                }
                Err(e) => why = e.to_string(),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_delay()) => {}
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            }
        }
    }

    pub fn count(&self, topic: &str, outcome: &'static str) {
        metrics::counter!("outbox_consumer_messages_total", "queue" => self.settings.queue.clone(),
            "topic" => topic.to_string(), "outcome" => outcome)
        .increment(1);
    }

    /// What `status` shows this consumer doing.
    pub fn doing(&self) -> String {
        let n = &self.counters;
        format!(
            "consuming: {} processed, {} retried, {} dead-lettered since start",
            n.processed.load(Ordering::Relaxed),
            n.retried.load(Ordering::Relaxed),
            n.dead_lettered.load(Ordering::Relaxed)
        )
    }
}
