//! The relayer: pending outbox rows → RabbitMQ, marked sent only once the
//! broker confirmed them.
//!
//! Each worker repeats one step, [`Relay::relay_batch`]:
//!
//! 1. BEGIN; claim a batch: lock the ready lanes (a key's rows share a lane;
//!    only a share of them while the worker's last batch came back full, so
//!    workers drain a backlog side by side) and their due rows, oldest first;
//! 2. publish in waves: a wave holds at most one row per key, and a key whose
//!    row failed sends nothing more in this batch, so per-key order survives
//!    any failure; all rows of a wave are in flight together;
//! 3. mark confirmed rows sent; record failures (attempts+1, error, backoff
//!    with jitter, dead after `max_attempts`); COMMIT.
//!
//! The claim transaction stays open across publish and confirm: a relayer
//! that dies releases its rows with its connection, and PostgreSQL's
//! `idle_in_transaction_session_timeout` releases those of a hung one.
//!
//! Waking up: right after work, the workers poll every 10 ms for a second;
//! then the relay sets `outbox_relay_state.listening`, and the outbox
//! trigger starts to NOTIFY on inserts. Workers sleep until a NOTIFY, the poll
//! interval, or the next row's backoff, whichever comes first. Notifying only
//! while a relayer sleeps keeps NOTIFY's commit serialization off the writers'
//! hot path.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::backoff::{Backoff, Complaints};
use crate::broker::{Broker, BrokerError, Publisher, Topology};
use crate::cli::RelayArgs;
use crate::config::Config;
use crate::model::{Envelope, PublishFailure, PublishOutcome};
use crate::ops::Outcome;
use crate::output;
use crate::store::{self, StoreError, outbox};
use crate::telemetry::MetricsEndpoint;
use crate::watchdog::{Stage, Stalled, Watchdog};

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
    fn is_transient(&self) -> bool {
        match self {
            Self::Store(e) => e.is_transient(),
            Self::Broker(e) => e.is_transient(),
            Self::Stalled(_) => false,
        }
    }
}

/// A database call of the relay, bounded: on a frozen connection it fails
/// instead of hanging.
async fn db<T>(call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    store::bounded(store::CALL_TIMEOUT, call).await
}

async fn sql<T>(call: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, StoreError> {
    db(async { call.await.map_err(StoreError::from) }).await
}

/// `outboxctl relay [--once]`: relay until `shutdown`, serving metrics on
/// `metrics.listen`; with `--once`, say what the run did and exit 1 when
/// rows are left failing or dead.
pub async fn command(
    config: &Config,
    args: RelayArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let metrics = if args.once {
        None
    } else {
        MetricsEndpoint::start(config, &shutdown).await?
    };
    let summary = run(config, args.once, shutdown).await;
    if let Some(m) = metrics {
        m.stop().await;
    }
    let summary = summary?;
    if !args.once {
        return Ok(Outcome::Success);
    }
    let t = summary.trouble;
    output::line(format!(
        "sent {}, failed {}, dead {} (this run); the outbox now has {} failing and {} dead rows",
        summary.sent, summary.failed, summary.dead, t.failing, t.dead
    ))?;
    Ok(if t.failing + t.dead > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// Run the relayer until `shutdown` is cancelled — or, with `once`, until
/// the rows that are ready now are drained. On shutdown the batches in flight
/// get `shutdown.grace` to finish; a batch abandoned after that rolls back
/// and its rows go out again later.
///
/// A long-running relay waits for servers that are down or drop the
/// connection, at start-up too; `--once` fails at once. A stage that holds
/// work without progress for `watchdog.exit_after` ends the run with an error.
pub async fn run(
    config: &Config,
    once: bool,
    shutdown: CancellationToken,
) -> Result<RelaySummary, RelayError> {
    let watchdog = Watchdog::new(&config.watchdog);
    let work = relay(config, once, &shutdown, &watchdog);
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => done,
        // Dropping `work` rolls back the batches in flight.
        Err(stalled) = watchdog.run(CancellationToken::new()), if !once => Err(stalled.into()),
    }
}

async fn relay(
    config: &Config,
    once: bool,
    shutdown: &CancellationToken,
    watchdog: &Watchdog,
) -> Result<RelaySummary, RelayError> {
    let starting = watchdog.stage("relay start-up");
    let Some(relay) = Relay::start_when_ready(config, once, &starting, shutdown).await? else {
        return Ok(RelaySummary::default());
    };
    let relay = Arc::new(relay);
    let token = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for n in 0..config.relay.workers {
        let relay = relay.clone();
        let token = token.clone();
        let stage = watchdog.stage(format!("relay worker {n}"));
        tasks.spawn(async move { relay.worker(n, once, token, stage).await });
    }
    if !once {
        if !config.relay.poll_only {
            tasks.spawn(listen(
                relay.pool.clone(),
                relay.wake.clone(),
                token.clone(),
            ));
        }
        tasks.spawn(report_progress(relay.clone(), token.clone()));
        tasks.spawn(refresh_gauges(relay.pool.clone(), token.clone()));
    }

    let started = Instant::now();
    let mut first_error = None;
    let grace = config.shutdown.grace;
    let mut deadline = std::pin::pin!(tokio::time::sleep(Duration::MAX));
    loop {
        tokio::select! {
            _ = shutdown.cancelled(), if !token.is_cancelled() => {
                info!("shutting down: finishing the batches in flight");
                token.cancel();
                deadline.as_mut().reset(tokio::time::Instant::now() + grace);
            }
            _ = &mut deadline => {
                warn!(grace = %humantime::format_duration(grace),
                    "batches still in flight after shutdown.grace are abandoned; they roll back \
                     and their rows go out again");
                tasks.shutdown().await;
                break;
            }
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => {
                    first_error.get_or_insert(e);
                    token.cancel();
                }
                Some(Err(join_error)) => {
                    token.cancel();
                    std::panic::resume_unwind(join_error.into_panic());
                }
            }
        }
    }
    relay.broker.close().await;
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut summary = relay.totals();
    if once {
        summary.trouble = db(outbox::trouble(&relay.pool)).await?;
    }
    info!(
        sent = summary.sent,
        failed = summary.failed,
        dead = summary.dead,
        elapsed = %humantime::format_duration(Duration::from_secs(started.elapsed().as_secs())),
        "relay stopped"
    );
    Ok(summary)
}

struct Relay {
    pool: PgPool,
    broker: BrokerLink,
    wake: Arc<Notify>,
    batch_size: u32,
    /// A worker's share of the lanes while others are busy too, so the
    /// workers of one relay do not queue behind each other.
    lanes_per_batch: u32,
    interval: Duration,
    max_attempts: u32,
    backoff_initial: Duration,
    backoff_max: Duration,
    /// Stop starting waves after this long, so a claim is held for a bounded time.
    batch_budget: Duration,
    /// Whether this relayer sets `outbox_relay_state.listening` (not in
    /// poll-only or `--once` mode).
    steers_notify: bool,
    /// What this process last told writers through `outbox_relay_state`:
    /// `true` when they should notify.
    listening: AtomicBool,
    /// When any worker last found rows, in ms since `epoch`.
    last_work: AtomicU64,
    epoch: Instant,
    totals: std::sync::Mutex<Counters>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    sent: u64,
    failed: u64,
    dead: u64,
}

impl Relay {
    /// [`start`](Self::start), retried while a server is down or drops the
    /// connection (not with `once`: cron wants the error); `None` when
    /// shutdown came first.
    async fn start_when_ready(
        config: &Config,
        once: bool,
        stage: &Stage,
        shutdown: &CancellationToken,
    ) -> Result<Option<Self>, RelayError> {
        let mut backoff = Backoff::reconnect();
        let mut complaints = Complaints::default();
        loop {
            stage.working("connecting to PostgreSQL and RabbitMQ");
            let e = tokio::select! {
                started = Self::start(config, once) => match started {
                    Ok(relay) => {
                        stage.idle();
                        return Ok(Some(relay));
                    }
                    Err(e) if once || !e.is_transient() => return Err(e),
                    Err(e) => e,
                },
                _ = shutdown.cancelled() => return Ok(None),
            };
            let wait = backoff.next_delay();
            stage.working(format!("starting: {e}"));
            complaints.warn(&e.to_string(), wait, "cannot start relaying");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return Ok(None),
            }
        }
    }

    async fn start(config: &Config, once: bool) -> Result<Self, RelayError> {
        let confirm = config.broker.confirm_timeout;
        // A claim is held for at most two confirm timeouts (the budget plus the
        // last wave); a relayer stuck beyond that loses it.
        let idle_limit = confirm * 2 + Duration::from_secs(10);
        let mut database = config.database.clone();
        database.max_connections = database.max_connections.max(config.relay.workers + 2);
        let pool = store::connect(
            &database,
            "outboxctl relay",
            &[
                (
                    "idle_in_transaction_session_timeout",
                    format!("{}ms", idle_limit.as_millis()),
                ),
                ("statement_timeout", "60s".to_string()),
                // The claim waits for a row lock only if something outside
                // outboxctl holds one on a pending row; do not wait forever.
                ("lock_timeout", "5s".to_string()),
                // The claim must walk the pending index in id order and stop
                // after a batch. Statistics lag behind bursts (a backlog after
                // a broker outage looks like an empty table), and then the
                // planner prefers collecting every pending row and sorting it:
                // seconds per claim just when the relay must catch up. These
                // connections run only the relay's few queries, none of which
                // needs a sort or bitmap scan to be fast.
                ("enable_sort", "off".to_string()),
                ("enable_bitmapscan", "off".to_string()),
                // A disabled sort inflates plan costs past jit_above_cost, and
                // compiling a plan costs far more than running these queries.
                ("jit", "off".to_string()),
            ],
        )
        .await?;
        db(store::check_schema(&pool)).await?;
        store::warm_up(&pool, config.relay.workers + 1).await;

        let topology = config
            .relay
            .apply_topology
            .then(|| Topology::from_config(&config.broker));
        let broker = BrokerLink {
            config: config.broker.clone(),
            topology,
            current: Mutex::new(None),
        };
        // Fail fast on a broker that cannot be reached or a topology it refuses.
        broker.connection().await?;
        // Only a relayer that sleeps on notifications steers them; until it
        // knows better, writers notify.
        let steers_notify = !config.relay.poll_only && !once;
        if steers_notify {
            db(outbox::set_listening(&pool, true)).await?;
        }

        Ok(Self {
            pool,
            broker,
            wake: Arc::new(Notify::new()),
            batch_size: config.relay.batch_size,
            lanes_per_batch: outbox::LANES.div_ceil(config.relay.workers),
            interval: config.relay.interval,
            max_attempts: config.relay.max_attempts,
            backoff_initial: config.relay.backoff_initial,
            backoff_max: config.relay.backoff_max,
            batch_budget: confirm,
            steers_notify,
            listening: AtomicBool::new(true),
            last_work: AtomicU64::new(0),
            epoch: Instant::now(),
            totals: std::sync::Mutex::new(Counters::default()),
        })
    }

    fn totals(&self) -> RelaySummary {
        let c = *self.totals.lock().unwrap_or_else(|e| e.into_inner());
        RelaySummary {
            sent: c.sent,
            failed: c.failed,
            dead: c.dead,
            trouble: outbox::Trouble::default(),
        }
    }

    async fn worker(
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
                    outbox::LANES
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
                Err(e) => {
                    let wait = retry.next_delay();
                    // Still holding work: the rows wait for this worker.
                    stage.working(format!("retrying after: {e}"));
                    complaints.warn(
                        &e.to_string(),
                        wait,
                        &format!("relay worker {n}: batch failed"),
                    );
                    sleep_or_cancel(wait, &token).await;
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
                self.wait_for_work(&token).await;
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
                sleep_or_cancel(HOT_POLL, &token).await;
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
            _ = sleep_or_cancel(HOT_POLL, token) => {}
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
            _ = sleep_or_cancel(wait, token) => {}
        }
    }

    /// One claim → publish → record cycle. See the module documentation.
    async fn relay_batch(
        &self,
        publisher: &mut Publisher,
        lanes: u32,
        token: &CancellationToken,
        stage: &Stage,
    ) -> Result<BatchReport, RelayError> {
        let started = Instant::now();
        stage.working("claiming a batch");
        let mut tx = sql(self.pool.begin()).await?;
        let outbox::Claim {
            rows: claimed,
            busy,
        } = db(outbox::claim_batch(&mut tx, self.batch_size, lanes)).await?;
        let claim_ms = started.elapsed().as_millis() as u64;
        if claimed.is_empty() {
            sql(tx.rollback()).await?;
            return Ok(BatchReport {
                busy,
                ..BatchReport::default()
            });
        }
        stage.working(format!(
            "publishing {} rows and awaiting their confirms",
            claimed.len()
        ));
        let mut report = BatchReport {
            claimed: claimed.len(),
            ..BatchReport::default()
        };

        let mut remaining: Vec<&Envelope> = claimed.iter().collect();
        let mut failed_keys: HashSet<&str> = HashSet::new();
        let mut confirmed: Vec<i64> = Vec::new();
        let mut failures: Vec<PublishFailure> = Vec::new();
        let mut publish_time = Duration::ZERO;
        while !remaining.is_empty()
            && publisher.is_usable()
            && !(report.waves > 0
                && (token.is_cancelled() || started.elapsed() > self.batch_budget))
        {
            let (wave, rest) = next_wave(remaining, &failed_keys);
            remaining = rest;
            if wave.is_empty() {
                break;
            }
            report.waves += 1;
            let confirm_started = Instant::now();
            let outcomes = publisher.publish(&wave).await;
            publish_time += confirm_started.elapsed();
            metrics::histogram!("outbox_relay_confirm_latency_seconds")
                .record(confirm_started.elapsed().as_secs_f64());
            for (row, outcome) in wave.iter().zip(outcomes) {
                if outcome == PublishOutcome::Confirmed {
                    debug!(message_id = %row.message_id, trace_id = trace_id(row), topic = %row.topic,
                        id = row.id, "published");
                    confirmed.push(row.id);
                    metrics::counter!("outbox_relay_published_total", "topic" => row.topic.clone())
                        .increment(1);
                    continue;
                }
                metrics::counter!("outbox_relay_failed_total", "reason" => outcome.reason())
                    .increment(1);
                if let Some(key) = row.partition_key.as_deref() {
                    failed_keys.insert(key);
                }
                failures.push(PublishFailure {
                    id: row.id,
                    error: outcome.describe().unwrap_or_default(),
                    retry_in: self.backoff(row.attempts + 1),
                    give_up: matches!(outcome, PublishOutcome::Invalid(_)),
                });
                debug!(id = row.id, message_id = %row.message_id, trace_id = trace_id(row),
                    topic = %row.topic, reason = outcome.reason(), "publish failed");
            }
        }

        stage.working("recording the batch");
        db(outbox::mark_sent(&mut tx, &confirmed)).await?;
        let dead = db(outbox::record_failures(
            &mut tx,
            &failures,
            self.max_attempts,
        ))
        .await?;
        sql(tx.commit()).await?;

        for id in &dead {
            warn!(
                id,
                "outbox row is dead after its last attempt; see `outboxctl outbox ls --dead`"
            );
        }
        report.sent = confirmed.len();
        report.failed = failures.len();
        report.dead = dead.len();
        report.released = report.claimed - report.sent - report.failed;
        metrics::counter!("outbox_relay_dead_total").increment(dead.len() as u64);
        metrics::histogram!("outbox_relay_batch_rows").record(report.claimed as f64);
        metrics::histogram!("outbox_relay_batch_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        {
            let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
            t.sent += report.sent as u64;
            t.failed += report.failed as u64;
            t.dead += report.dead as u64;
        }
        debug!(
            claimed = report.claimed,
            sent = report.sent,
            failed = report.failed,
            dead = report.dead,
            released = report.released,
            waves = report.waves,
            claim_ms,
            publish_ms = publish_time.as_millis() as u64,
            ms = started.elapsed().as_millis() as u64,
            "batch"
        );
        Ok(report)
    }

    /// Delay before attempt `attempt + 1`: exponential from `backoff_initial`,
    /// capped at `backoff_max`, with jitter so rows that failed together do
    /// not retry together.
    fn backoff(&self, attempt: i32) -> Duration {
        let attempt = u32::try_from(attempt).unwrap_or(1);
        Backoff::nth(self.backoff_initial, self.backoff_max, attempt)
    }
}

/// The trace id of a row's traceparent, or `-`.
fn trace_id(row: &Envelope) -> &str {
    row.traceparent
        .as_deref()
        .and_then(|t| t.split('-').nth(1))
        .unwrap_or("-")
}

/// Split rows (in id order) into the next wave — at most one row per key,
/// none of a key that failed — and the rows for later waves.
fn next_wave<'a>(
    rows: Vec<&'a Envelope>,
    failed_keys: &HashSet<&str>,
) -> (Vec<&'a Envelope>, Vec<&'a Envelope>) {
    let mut wave = Vec::new();
    let mut rest = Vec::new();
    let mut in_wave: HashSet<&str> = HashSet::new();
    for row in rows {
        match row.partition_key.as_deref() {
            None => wave.push(row),
            Some(key) if failed_keys.contains(key) => {}
            Some(key) if in_wave.insert(key) => wave.push(row),
            Some(_) => rest.push(row),
        }
    }
    (wave, rest)
}

/// The shared AMQP connection, re-established on demand.
struct BrokerLink {
    config: crate::config::BrokerConfig,
    topology: Option<Topology>,
    current: Mutex<Option<Arc<Broker>>>,
}

impl BrokerLink {
    /// A live connection; reconnects (and re-declares the topology, which
    /// heals a deleted exchange) when the last one is gone.
    async fn connection(&self) -> Result<Arc<Broker>, BrokerError> {
        let mut current = self.current.lock().await;
        if let Some(b) = current.as_ref()
            && b.is_connected()
        {
            return Ok(b.clone());
        }
        let name = format!("outboxctl relay (pid {})", std::process::id());
        let broker = Arc::new(Broker::connect(&self.config, &name).await?);
        if let Some(topology) = &self.topology {
            broker.apply_topology(topology).await?;
        }
        if current.is_some() {
            info!("reconnected to RabbitMQ");
        }
        *current = Some(broker.clone());
        Ok(broker)
    }

    async fn publisher(&self) -> Result<Publisher, BrokerError> {
        let broker = self.connection().await?;
        broker
            .publisher(&self.config.exchange, self.config.confirm_timeout)
            .await
    }

    async fn close(&self) {
        if let Some(b) = self.current.lock().await.take() {
            b.close().await;
        }
    }
}

/// Turn NOTIFYs from the outbox trigger into worker wake-ups. Notifications
/// are best effort: after a lost connection every worker is woken once, and
/// the poll interval covers the rest.
async fn listen(
    pool: PgPool,
    wake: Arc<Notify>,
    token: CancellationToken,
) -> Result<(), RelayError> {
    let mut retry = Backoff::reconnect();
    let mut warned = false;
    while !token.is_cancelled() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(outbox::NOTIFY_CHANNEL).await {
                Ok(()) => l,
                Err(e) => {
                    warn_listen(&mut warned, &e);
                    sleep_or_cancel(retry.next_delay(), &token).await;
                    continue;
                }
            },
            Err(e) => {
                warn_listen(&mut warned, &e);
                sleep_or_cancel(retry.next_delay(), &token).await;
                continue;
            }
        };
        debug!("listening for outbox notifications");
        retry.reset();
        loop {
            tokio::select! {
                _ = token.cancelled() => return Ok(()),
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => wake.notify_one(),
                    Ok(None) => {
                        // Connection lost; try_recv reconnects on the next call.
                        // Anything committed meanwhile went unannounced.
                        debug!("notification connection lost; reconnecting");
                        wake.notify_waiters();
                        wake.notify_one();
                    }
                    Err(e) => {
                        warn_listen(&mut warned, &e);
                        break;
                    }
                }
            }
        }
        sleep_or_cancel(retry.next_delay(), &token).await;
    }
    Ok(())
}

/// Say once why notifications do not arrive. Only a server that refuses
/// LISTEN hints at PgBouncer; a dropped connection is just that.
fn warn_listen(warned: &mut bool, e: &sqlx::Error) {
    if *warned {
        return;
    }
    *warned = true;
    let error = store::describe(e);
    if matches!(e, sqlx::Error::Database(_)) {
        warn!(error = %error, "PostgreSQL refused LISTEN; polling every relay.interval instead \
            (behind PgBouncer in transaction pooling, set relay.poll_only = true)");
    } else {
        warn!(error = %error, "cannot LISTEN for outbox notifications; polling every \
            relay.interval until it works again");
    }
}

/// The backlog gauges (pending rows, the outbox lag, dead rows), every 5 s.
async fn refresh_gauges(pool: PgPool, token: CancellationToken) -> Result<(), RelayError> {
    while !token.is_cancelled() {
        if let Ok(b) = db(outbox::backlog(&pool)).await {
            metrics::gauge!("outbox_pending_rows").set(b.pending as f64);
            metrics::gauge!("outbox_oldest_pending_age_seconds").set(b.oldest_pending_seconds);
            metrics::gauge!("outbox_dead_rows").set(b.dead as f64);
        }
        sleep_or_cancel(Duration::from_secs(5), &token).await;
    }
    Ok(())
}

/// An info line every 30 s when rows moved.
async fn report_progress(relay: Arc<Relay>, token: CancellationToken) -> Result<(), RelayError> {
    const EVERY: Duration = Duration::from_secs(30);
    let mut last = relay.totals();
    loop {
        sleep_or_cancel(EVERY, &token).await;
        if token.is_cancelled() {
            return Ok(());
        }
        let now = relay.totals();
        let sent = now.sent - last.sent;
        let failed = now.failed - last.failed;
        let dead = now.dead - last.dead;
        if sent + failed + dead > 0 {
            info!(
                sent,
                failed,
                dead,
                per_second = format!("{:.1}", sent as f64 / EVERY.as_secs_f64()),
                "relayed in the last 30s"
            );
        }
        last = now;
    }
}

async fn sleep_or_cancel(d: Duration, token: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = token.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageId;

    fn row(id: i64, key: Option<&str>) -> Envelope {
        Envelope {
            id,
            message_id: MessageId::new(),
            topic: "t".into(),
            partition_key: key.map(str::to_string),
            payload: "{}".into(),
            headers: serde_json::json!({}),
            traceparent: None,
            created_at: chrono::Utc::now(),
            attempts: 0,
        }
    }

    #[test]
    fn a_wave_has_one_row_per_key_and_skips_failed_keys() {
        let rows = [
            row(1, Some("a")),
            row(2, Some("a")),
            row(3, None),
            row(4, Some("b")),
            row(5, None),
            row(6, Some("c")),
        ];
        let refs: Vec<&Envelope> = rows.iter().collect();
        let failed: HashSet<&str> = ["c"].into_iter().collect();
        let (wave, rest) = next_wave(refs, &failed);
        let ids = |v: &[&Envelope]| v.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&wave), [1, 3, 4, 5]);
        assert_eq!(ids(&rest), [2]);
    }
}
