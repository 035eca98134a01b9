//! A relayer's state and its workers: each worker repeats one batch
//! (`batch`) after the other, polling hot right after work and sleeping
//! until a notification, the poll interval or the next row's backoff
//! otherwise (see the module documentation of `relay`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::settings::Settings;
use crate::backoff::{Backoff, Complaints, until_ready};
use crate::broker::{BrokerError, Link, Publisher};
use crate::store::{self, StoreError, outbox};
use crate::watchdog::{Stage, Stalled};

/// After work, workers poll this often (without notifications)…
const HOT_POLL: Duration = Duration::from_millis(10);
/// …for this long, before it asks writers to notify and sleeps.
const HOT_LINGER: Duration = Duration::from_secs(1);

/// How a relay run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelaySummary {
    pub sent: u64,
    pub failed: u64,
    pub dead: u64,
    /// Publish waves: rows of a wave are in flight together, so rows without
    /// a key take one wave per batch and a key's rows one wave each.
    pub waves: u64,
    /// After a `--once` run: rows left pending after a failed attempt, and dead rows.
    pub trouble: outbox::Trouble,
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
    /// Claimed but left for later: behind a failed row of their key, or the
    /// batch stopped early (shutdown, lost connection, time budget).
    pub released: usize,
    pub waves: usize,
    /// Nothing claimed because other batches hold every lane with due rows.
    pub busy: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Stalled(#[from] Stalled),
}

impl RelayError {
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(e) => e.is_transient(),
            Self::Broker(e) => e.is_transient(),
            Self::Stalled(_) => false,
        }
    }
}

/// A database call of the relay, bounded: on a frozen connection it fails
/// instead of hanging.
pub(super) async fn db<T>(
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    store::bounded(store::CALL_TIMEOUT, call).await
}

pub(super) async fn sql<T>(
    call: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    db(async { call.await.map_err(StoreError::from) }).await
}

pub(super) struct Relay {
    pub(super) pool: PgPool,
    /// Settings each batch's transaction sets itself (behind a
    /// transaction-mode pooler, where the connection carries none).
    pub(super) local: Vec<(&'static str, String)>,
    pub(super) broker: Link,
    pub(super) wake: Arc<Notify>,
    pub(super) batch_size: u32,
    /// A worker's share of the lanes while others are busy too, so the
    /// workers of one relay do not queue behind each other.
    pub(super) lanes_per_batch: u32,
    pub(super) interval: Duration,
    pub(super) max_attempts: u32,
    pub(super) backoff_initial: Duration,
    pub(super) backoff_max: Duration,
    /// Stop starting waves after this long, so a claim is held for a bounded time.
    pub(super) batch_budget: Duration,
    /// Whether this relayer sets `outbox_relay_state.listening` (not in
    /// poll-only or `--once` mode).
    pub(super) steers_notify: bool,
    /// What this process last told writers through `outbox_relay_state`:
    /// `true` when they should notify.
    pub(super) listening: AtomicBool,
    /// When any worker last found rows, in ms since `epoch`.
    pub(super) last_work: AtomicU64,
    pub(super) epoch: Instant,
    pub(super) totals: std::sync::Mutex<Counters>,
    /// Failed publishes since the last summary, by topic and reason: each
    /// summary names them, one line per pair.
    pub(super) failing:
        std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), Failing>>,
    pub(super) summary_interval: Duration,
    /// Topics the broker returned as unroutable, each told once at warn.
    pub(super) unroutable: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Failed publishes of one topic for one reason within a summary interval.
#[derive(Debug, Clone, Default)]
pub(super) struct Failing {
    pub(super) count: u64,
    pub(super) rows: std::collections::BTreeSet<i64>,
    pub(super) last_error: String,
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counters {
    pub(super) sent: u64,
    pub(super) failed: u64,
    pub(super) dead: u64,
    pub(super) waves: u64,
}

impl Relay {
    /// [`start`](Self::start), retried while a server is down or drops the
    /// connection (not with `once`: cron wants the error); `None` when
    /// shutdown came first.
    pub(super) async fn start_when_ready(
        settings: &Settings,
        stage: &Stage,
        shutdown: &CancellationToken,
    ) -> Result<Option<Self>, RelayError> {
        let what = "connecting to PostgreSQL and RabbitMQ";
        let transient = |e: &RelayError| !settings.once && e.is_transient();
        until_ready(what, stage, shutdown, transient, || Self::start(settings)).await
    }

    async fn start(settings: &Settings) -> Result<Self, RelayError> {
        let confirm = settings.broker.confirm_timeout;
        // A claim is held for at most two confirm timeouts (the budget plus the
        // last wave); a relayer stuck beyond that loses it.
        let idle_limit = confirm * 2 + Duration::from_secs(10);
        let broker = Link::new(&settings.broker, "relay", settings.topology.clone());
        // Both servers at once: a start (and every `relay --once` under cron)
        // waits for the slower of the two, not for their sum.
        let database = async {
            let pool = store::connect(
                &settings.database,
                "outboxctl relay",
                &outbox::relay_session(idle_limit),
            )
            .await?;
            db(store::check_schema(&pool)).await?;
            store::warm_up(&pool, settings.workers + 1).await;
            Ok::<_, RelayError>(pool)
        };
        // Fail fast on a broker that cannot be reached or a topology it refuses.
        let (pool, _) = tokio::try_join!(database, async {
            broker.connection().await.map_err(RelayError::from)
        })?;
        let lanes = db(outbox::lane_count(&pool)).await?;
        // Only a relayer that sleeps on notifications steers them; until it
        // knows better, writers notify.
        let steers_notify = !settings.polls_only && !settings.once;
        if steers_notify {
            db(outbox::set_listening(&pool, true)).await?;
        }

        Ok(Self {
            pool,
            local: store::local_settings(&settings.database, &outbox::relay_session(idle_limit)),
            broker,
            wake: Arc::new(Notify::new()),
            batch_size: settings.batch_size,
            lanes_per_batch: lanes.div_ceil(settings.workers),
            interval: settings.interval,
            max_attempts: settings.max_attempts,
            backoff_initial: settings.backoff_initial,
            backoff_max: settings.backoff_max,
            batch_budget: confirm,
            steers_notify,
            listening: AtomicBool::new(true),
            last_work: AtomicU64::new(0),
            epoch: Instant::now(),
            totals: std::sync::Mutex::new(Counters::default()),
            failing: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            summary_interval: settings.summary_interval,
            unroutable: std::sync::Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// Whether `topic` is returned as unroutable for the first time.
    pub(super) fn first_unroutable(&self, topic: &str) -> bool {
        self.unroutable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_string())
    }

    pub(super) fn totals(&self) -> RelaySummary {
        let c = *self.totals.lock().unwrap_or_else(|e| e.into_inner());
        RelaySummary {
            sent: c.sent,
            failed: c.failed,
            dead: c.dead,
            waves: c.waves,
            trouble: outbox::Trouble::default(),
        }
    }

    pub(super) async fn worker(
        &self,
        n: u32,
        once: bool,
        token: CancellationToken,
        stage: Stage,
    ) -> Result<(), RelayError> {
        let mut publisher: Option<Publisher> = None;
        let mut backlog = false;
        let mut retry = Backoff::reconnect();
        let mut complaints = Complaints::default();
        while !token.is_cancelled() {
            metrics::gauge!("outbox_relay_heartbeat_timestamp_seconds")
                .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
            let outcome = async {
                if publisher.as_ref().is_none_or(|p| !p.is_usable()) {
                    if let Some(old) = publisher.take() {
                        old.close().await;
                    }
                    stage.working("connecting to RabbitMQ");
                    publisher = Some(self.broker.publisher().await?);
                }
                let p = publisher.as_mut().expect("publisher was just opened");
                // Under a backlog (full batches) each worker takes its share of
                // the lanes, so they work side by side; otherwise every ready
                // lane, or rows in lanes left out would wait a whole batch.
                let lanes = if backlog {
                    self.lanes_per_batch
                } else {
                    outbox::MAX_LANES
                };
                self.relay_batch(p, lanes, &token, &stage).await
            }
            .await;

            let report = match outcome {
                Ok(report) => {
                    retry.reset();
                    complaints.clear();
                    stage.progressed();
                    report
                }
                Err(e) if once || !e.is_transient() => return Err(e),
                Err(RelayError::Broker(e @ BrokerError::Blocked(_))) => {
                    // The block was logged once where it began; this worker
                    // holds no rows meanwhile (they went back as they were),
                    // so the watchdog has nothing to wait for.
                    stage.idle();
                    tracing::debug!(error = %e, "relay worker {n}: waiting for the broker's block to end");
                    let wait = retry.next_delay();
                    token.run_until_cancelled(tokio::time::sleep(wait)).await;
                    continue;
                }
                Err(e) => {
                    let wait = retry.next_delay();
                    // Still holding work: the rows wait for this worker.
                    stage.working(format!("retrying after: {e}"));
                    complaints.warn(
                        &e.to_string(),
                        wait,
                        &format!("relay worker {n}: batch failed"),
                    );
                    token.run_until_cancelled(tokio::time::sleep(wait)).await;
                    continue;
                }
            };

            backlog = report.claimed as u32 >= self.batch_size;
            if report.claimed == 0 {
                stage.idle();
            }
            if report.claimed > 0 {
                self.last_work
                    .store(self.epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
                if self.steers_notify && self.listening.swap(false, Ordering::SeqCst) {
                    // Awake with work: writers need not notify any more.
                    if db(outbox::set_listening(&self.pool, false)).await.is_err() {
                        self.listening.store(true, Ordering::SeqCst);
                    }
                }
                if backlog {
                    // A full batch: more is probably waiting; get a sleeping worker going.
                    self.wake.notify_one();
                }
                continue;
            }
            if once {
                if !report.busy {
                    return Ok(());
                }
                // Due rows wait in lanes other batches hold: this worker's
                // share of the drain is not over, it just has to wait a turn.
                self.hot_pause(&token).await;
                continue;
            }
            if !self.steers_notify {
                // Polling only: due rows in lanes other relayers hold are
                // work this one gets a turn at soon, not in a poll interval.
                if report.busy {
                    self.hot_pause(&token).await;
                } else {
                    self.wait_for_work(&token).await;
                }
                continue;
            }
            let since_work = self
                .epoch
                .elapsed()
                .saturating_sub(Duration::from_millis(self.last_work.load(Ordering::SeqCst)));
            if since_work < HOT_LINGER {
                // Right after work, more is likely: poll briefly, without
                // asking writers to notify (that would serialize their commits).
                self.hot_pause(&token).await;
                continue;
            }
            if !self.listening.swap(true, Ordering::SeqCst) {
                // About to sleep: ask writers to notify, then look once more
                // after a moment — a row whose trigger ran just before the
                // flag flipped was not announced.
                if db(outbox::set_listening(&self.pool, true)).await.is_err() {
                    self.listening.store(false, Ordering::SeqCst);
                }
                token
                    .run_until_cancelled(tokio::time::sleep(HOT_POLL))
                    .await;
                continue;
            }
            self.wait_for_work(&token).await;
        }
        if let Some(p) = publisher {
            p.close().await;
        }
        Ok(())
    }

    /// Wait [`HOT_POLL`], or less if another worker calls for help.
    async fn hot_pause(&self, token: &CancellationToken) {
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = token.run_until_cancelled(tokio::time::sleep(HOT_POLL)) => {}
        }
    }

    /// Sleep until notified, the poll interval passes, or the next row in
    /// backoff becomes due.
    async fn wait_for_work(&self, token: &CancellationToken) {
        let mut wait = self.interval;
        if let Ok(Some(due)) = db(outbox::next_due(&self.pool)).await {
            let until_due = (due - chrono::Utc::now()).to_std().unwrap_or_default();
            wait = wait.min(until_due + Duration::from_millis(5));
        }
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = token.run_until_cancelled(tokio::time::sleep(wait)) => {}
        }
    }
}
