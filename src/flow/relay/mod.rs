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

mod batch;
mod wake;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::backoff::{Backoff, Complaints, until_ready};
use crate::broker::{BrokerError, Link, Publisher, Topology};
use crate::cli::RelayArgs;
use crate::config::Config;
use crate::output;
use crate::output::Outcome;
use crate::presence::Presence;
use crate::store::{self, StoreError, outbox};
use crate::telemetry::MetricsEndpoint;
use crate::watchdog::{Stage, Stalled, Watchdog};
use wake::{listen, refresh_gauges, report_progress};

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
    // Under cron every line printed is a mail: a run that had nothing to do
    // and left nothing in trouble prints nothing.
    let t = summary.trouble;
    let did_something = summary.sent + summary.failed + summary.dead > 0;
    if !did_something && t.failing + t.dead == 0 {
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "sent {}, failed {}, dead {} (this run); the outbox now has {} failing and {} dead rows",
        summary.sent, summary.failed, summary.dead, t.failing, t.dead
    ))?;
    if t.failing + t.dead == 0 {
        return Ok(Outcome::Success);
    }
    // Exit 1 says which rows and why.
    let pool = store::connect(&config.database, "outboxctl relay", &[]).await?;
    for g in outbox::trouble_groups(&pool, 10).await? {
        let ids: Vec<String> = g.ids.iter().map(i64::to_string).collect();
        eprintln!(
            "outboxctl: {} {} row(s) of {}: {} (rows {}{}) — `outboxctl outbox why {}`",
            g.rows,
            if g.dead { "dead" } else { "failing" },
            g.topic,
            g.last_error.as_deref().unwrap_or("no error recorded"),
            ids.join(", "),
            if g.rows > ids.len() as i64 {
                ", …"
            } else {
                ""
            },
            ids.first().map_or("", String::as_str)
        );
    }
    pool.close().await;
    Ok(Outcome::CheckFailed)
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
    if once {
        return work.await;
    }
    // A stall drops `work`, which rolls back the batches in flight.
    watchdog.guard(work).await
}

/// No LISTEN: asked for, or impossible through a transaction-mode pooler
/// (notifications are delivered to a session, and the session is the pool's).
fn polls_only(config: &Config) -> bool {
    config.relay.poll_only || config.database.transaction_pooling
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
    let presence = {
        let r = relay.clone();
        Presence::start(
            &relay.pool,
            "relay",
            None,
            Arc::new(move || {
                let t = r.totals();
                format!(
                    "relaying: {} sent, {} failed, {} dead since start",
                    t.sent, t.failed, t.dead
                )
            }),
        )
    };
    let token = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for n in 0..config.relay.workers {
        let relay = relay.clone();
        let token = token.clone();
        let stage = watchdog.stage(format!("relay worker {n}"));
        tasks.spawn(async move { relay.worker(n, once, token, stage).await });
    }
    if !once {
        if config.database.transaction_pooling && !config.relay.poll_only {
            info!(interval = %humantime::format_duration(config.relay.interval),
                "database.transaction_pooling: LISTEN does not work through the pooler; \
                 polling every relay.interval");
        }
        if !polls_only(config) {
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
    presence.stop().await;
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut summary = relay.totals();
    if once {
        // `command` prints what the run did, and nothing when it did
        // nothing: under cron every line is a mail.
        summary.trouble = db(outbox::trouble(&relay.pool)).await?;
        return Ok(summary);
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
    /// Settings each batch's transaction sets itself (behind a
    /// transaction-mode pooler, where the connection carries none).
    local: Vec<(&'static str, String)>,
    broker: Link,
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
    /// Failed publishes since the last summary, by topic and reason: each
    /// summary names them, one line per pair.
    failing: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), Failing>>,
    summary_interval: Duration,
}

/// Failed publishes of one topic for one reason within a summary interval.
#[derive(Debug, Clone, Default)]
pub(super) struct Failing {
    pub(super) count: u64,
    pub(super) rows: std::collections::BTreeSet<i64>,
    pub(super) last_error: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    sent: u64,
    failed: u64,
    dead: u64,
    waves: u64,
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
        let what = "connecting to PostgreSQL and RabbitMQ";
        let transient = |e: &RelayError| !once && e.is_transient();
        until_ready(what, stage, shutdown, transient, || {
            Self::start(config, once)
        })
        .await
    }

    async fn start(config: &Config, once: bool) -> Result<Self, RelayError> {
        let confirm = config.broker.confirm_timeout;
        // A claim is held for at most two confirm timeouts (the budget plus the
        // last wave); a relayer stuck beyond that loses it.
        let idle_limit = confirm * 2 + Duration::from_secs(10);
        let mut database = config.database.clone();
        database.max_connections = database.max_connections.max(config.relay.workers + 2);
        let topology = config
            .relay
            .apply_topology
            .then(|| Topology::from_config(config));
        let broker = Link::new(&config.broker, "relay", topology);
        // Both servers at once: a start (and every `relay --once` under cron)
        // waits for the slower of the two, not for their sum.
        let database = async {
            let pool = store::connect(
                &database,
                "outboxctl relay",
                &outbox::relay_session(idle_limit),
            )
            .await?;
            db(store::check_schema(&pool)).await?;
            store::warm_up(&pool, config.relay.workers + 1).await;
            Ok::<_, RelayError>(pool)
        };
        // Fail fast on a broker that cannot be reached or a topology it refuses.
        let (pool, _) = tokio::try_join!(database, async {
            broker.connection().await.map_err(RelayError::from)
        })?;
        let lanes = db(outbox::lane_count(&pool)).await?;
        // Only a relayer that sleeps on notifications steers them; until it
        // knows better, writers notify.
        let steers_notify = !polls_only(config) && !once;
        if steers_notify {
            db(outbox::set_listening(&pool, true)).await?;
        }

        Ok(Self {
            pool,
            local: store::local_settings(&config.database, &outbox::relay_session(idle_limit)),
            broker,
            wake: Arc::new(Notify::new()),
            batch_size: config.relay.batch_size,
            lanes_per_batch: lanes.div_ceil(config.relay.workers),
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
            failing: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            summary_interval: config.log.summary_interval,
        })
    }

    fn totals(&self) -> RelaySummary {
        let c = *self.totals.lock().unwrap_or_else(|e| e.into_inner());
        RelaySummary {
            sent: c.sent,
            failed: c.failed,
            dead: c.dead,
            waves: c.waves,
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
