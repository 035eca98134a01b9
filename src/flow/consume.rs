//! The consumer (`outboxctl consume`): at-least-once delivery made into an
//! effect that happens once.
//!
//! For every delivery, one transaction: record `(consumer, message_id)` in
//! `consumed_messages` — if it is already there, the delivery is a duplicate:
//! count it, commit, acknowledge, nothing else — then run the topic's handler,
//! commit, and only then acknowledge. A failure rolls everything back and the
//! message goes to `<queue>.retry`, which hands it back after
//! `consumer.retry_delay`; after `consumer.max_attempts` it goes to
//! `<queue>.dlq` with the reason in its headers. A message that cannot be
//! decoded goes there at once. Copies are confirmed by the broker before the
//! original is acknowledged.
//!
//! Messages are spread over `consumer.concurrency` lanes by partition key, so
//! the messages of one key are processed one after the other, in delivery
//! order.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::backoff::{Backoff, Complaints};
use crate::broker::consume::headers;
use crate::broker::{Broker, BrokerError, Delivery, Forwarder, Topology};
use crate::config::Config;
use crate::model::{Findings, MessageId, UploadStatus, headers as outbox_headers};
use crate::ops::Outcome;
use crate::store::inbox::{self, NewConsumption};
use crate::store::{self, StoreError, uploads};
use crate::telemetry::MetricsEndpoint;
use crate::watchdog::{Stage, Stalled, Watchdog};

/// A decoded delivery, as handlers see it.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: MessageId,
    pub topic: String,
    pub payload: Value,
    /// 1 on the first delivery.
    pub attempt: u32,
    pub redelivered: bool,
    pub partition_key: Option<String>,
    pub traceparent: Option<String>,
    /// Creation time of the outbox row (ms since the epoch), when known.
    pub created_at_ms: Option<i64>,
}

impl Message {
    pub fn trace_id(&self) -> &str {
        self.traceparent
            .as_deref()
            .and_then(|t| t.split('-').nth(1))
            .unwrap_or("-")
    }
}

/// Why a handler did not finish.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HandlerError {
    /// Worth another attempt later (a database hiccup, a busy dependency).
    #[error("{0}")]
    Retry(String),
    /// Will never work: dead-letter it now.
    #[error("{0}")]
    Reject(String),
    /// The database cannot be reached: retry, and hold other messages until
    /// it is back.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Retry(e.to_string())
        }
    }
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;

/// The effect of one topic. It runs inside the transaction that records the
/// consumption, so what it writes commits exactly once.
pub trait Handler: Send + Sync + 'static {
    /// Run the effect on `conn`, which is inside the consumer's transaction.
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a>;
}

/// Handlers by topic.
#[derive(Clone, Default)]
pub struct Handlers {
    by_topic: HashMap<String, Arc<dyn Handler>>,
}

impl Handlers {
    /// The handlers `outboxctl consume` runs: `upload.created`.
    pub fn standard() -> Self {
        Self::default().with(crate::flow::produce::UPLOAD_CREATED, UploadCreated)
    }

    pub fn with(mut self, topic: &str, handler: impl Handler) -> Self {
        self.by_topic.insert(topic.to_string(), Arc::new(handler));
        self
    }

    fn get(&self, topic: &str) -> Option<&Arc<dyn Handler>> {
        self.by_topic.get(topic)
    }
}

/// What a run of the consumer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumeSummary {
    pub processed: u64,
    pub duplicates: u64,
    pub retried: u64,
    pub dead_lettered: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Stalled(#[from] Stalled),
}

#[derive(Default)]
struct Counters {
    processed: AtomicU64,
    duplicates: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
}

struct Consumer {
    pool: PgPool,
    handlers: Handlers,
    name: String,
    queue: String,
    max_attempts: u32,
    retry_delay: Duration,
    reject_unknown: bool,
    /// How long a ping of the database may take.
    ping_timeout: Duration,
    /// Set while some lane waits for the database, so that one lane says so.
    db_down: AtomicBool,
    counters: Counters,
}

/// `outboxctl consume`: the standard handlers on `consumer.queue` until
/// `shutdown`, serving metrics on `metrics.listen`.
pub async fn command(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    let metrics = MetricsEndpoint::start(config, &shutdown).await?;
    let done = run(config, Handlers::standard(), shutdown).await;
    if let Some(m) = metrics {
        m.stop().await;
    }
    done?;
    Ok(Outcome::Success)
}

/// Consume `consumer.queue` until `shutdown` is cancelled: stop taking
/// deliveries, give the ones in hand `shutdown.grace` to finish, and return.
/// Unacknowledged deliveries go back to the queue by themselves.
///
/// A lost connection to either server is retried with a short backoff, at
/// start-up too; only a refusal (wrong password, missing schema or queue)
/// ends the run with an error — or the watchdog, when a stage holds work
/// without progress for `watchdog.exit_after`.
pub async fn run(
    config: &Config,
    handlers: Handlers,
    shutdown: CancellationToken,
) -> Result<ConsumeSummary, ConsumeError> {
    let watchdog = Watchdog::new(&config.watchdog);
    let work = consume(config, handlers, &shutdown, &watchdog);
    tokio::pin!(work);
    tokio::select! {
        done = &mut work => done,
        // Dropping `work` abandons everything in hand; the broker redelivers it.
        Err(stalled) = watchdog.run(CancellationToken::new()) => Err(stalled.into()),
    }
}

async fn consume(
    config: &Config,
    handlers: Handlers,
    shutdown: &CancellationToken,
    watchdog: &Watchdog,
) -> Result<ConsumeSummary, ConsumeError> {
    let link = watchdog.stage("consumer connection");
    let Some(pool) = open_database(config, &link, shutdown).await? else {
        return Ok(ConsumeSummary::default());
    };
    let consumer = Arc::new(Consumer {
        pool,
        handlers,
        name: config.consumer_name().to_string(),
        queue: config.consumer_queue().to_string(),
        max_attempts: config.consumer.max_attempts,
        retry_delay: config.consumer.retry_delay,
        reject_unknown: config.consumer.reject_unknown_topics,
        ping_timeout: config.database.connect_timeout,
        db_down: AtomicBool::new(false),
        counters: Counters::default(),
    });
    let topology = config
        .consumer
        .apply_topology
        .then(|| Topology::from_config(&config.broker));
    let lanes: Vec<Stage> = (0..config.consumer.concurrency)
        .map(|n| watchdog.stage(format!("consumer lane {n}")))
        .collect();
    // Setting a session up is a handful of requests, each bounded by
    // confirm_timeout; the whole of it gets this long.
    let open_limit = config.broker.connect_timeout + config.broker.confirm_timeout * 2;

    let mut backoff = Backoff::reconnect();
    let mut complaints = Complaints::default();
    let mut sessions = 0u64;
    while !shutdown.is_cancelled() {
        link.working("connecting to RabbitMQ");
        let opened = tokio::select! {
            opened = tokio::time::timeout(open_limit, Session::open(config, &consumer, topology.as_ref())) => {
                opened.unwrap_or_else(|_| Err(BrokerError::Unavailable(format!(
                    "setting up the subscription got no answer within {}",
                    humantime::format_duration(open_limit)
                ))))
            }
            _ = shutdown.cancelled() => break,
        };
        let session = match opened {
            Ok(s) => s,
            Err(e) if !e.is_transient() => return Err(e.into()),
            Err(e) => {
                let wait = backoff.next_delay();
                link.working(format!("connecting to RabbitMQ: {e}"));
                complaints.warn(&e.to_string(), wait, "cannot consume");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
        };
        backoff.reset();
        complaints.clear();
        link.idle();
        if sessions == 0 {
            info!(queue = %consumer.queue, name = %consumer.name, "consuming");
        } else {
            info!(queue = %consumer.queue, "reconnected to RabbitMQ; consuming again");
        }
        sessions += 1;
        match session
            .run(&consumer, &lanes, shutdown, config.shutdown.grace)
            .await
        {
            SessionEnd::Shutdown => break,
            SessionEnd::Lost(why) => {
                warn!(error = %why, "the broker connection was lost; the deliveries in hand \
                    return to the queue; reconnecting")
            }
        }
    }
    let c = &consumer.counters;
    let summary = ConsumeSummary {
        processed: c.processed.load(Ordering::Relaxed),
        duplicates: c.duplicates.load(Ordering::Relaxed),
        retried: c.retried.load(Ordering::Relaxed),
        dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
    };
    info!(
        processed = summary.processed,
        duplicates = summary.duplicates,
        retried = summary.retried,
        dead_lettered = summary.dead_lettered,
        "consumer stopped"
    );
    Ok(summary)
}

/// The pool, once PostgreSQL answers and has the schema; `None` when
/// shutdown came first. A server that is down or drops the connection is
/// waited for; one that refuses us is an error.
async fn open_database(
    config: &Config,
    link: &Stage,
    shutdown: &CancellationToken,
) -> Result<Option<PgPool>, StoreError> {
    let mut db = config.database.clone();
    db.max_connections = db.max_connections.max(config.consumer.concurrency + 2);
    let mut backoff = Backoff::reconnect();
    let mut complaints = Complaints::default();
    loop {
        link.working("connecting to PostgreSQL");
        let attempt = async {
            let pool = store::connect(
                &db,
                "outboxctl consume",
                &[("statement_timeout", "60s".into()), ("jit", "off".into())],
            )
            .await?;
            store::bounded(store::CALL_TIMEOUT, store::check_schema(&pool)).await?;
            Ok::<_, StoreError>(pool)
        };
        let e = tokio::select! {
            opened = attempt => match opened {
                Ok(pool) => {
                    store::warm_up(&pool, config.consumer.concurrency).await;
                    link.idle();
                    return Ok(Some(pool));
                }
                Err(e) if !e.is_transient() => return Err(e),
                Err(e) => e,
            },
            _ = shutdown.cancelled() => return Ok(None),
        };
        let wait = backoff.next_delay();
        link.working(format!("connecting to PostgreSQL: {e}"));
        complaints.warn(&e.to_string(), wait, "cannot start consuming");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return Ok(None),
        }
    }
}

/// Why a session ended.
enum SessionEnd {
    Shutdown,
    Lost(String),
}

/// Raised by whichever part of a session first sees the connection die; the
/// others then abandon what they hold.
#[derive(Default)]
struct Lost {
    token: CancellationToken,
    reason: std::sync::Mutex<Option<String>>,
}

impl Lost {
    fn raise(&self, why: impl std::fmt::Display) {
        let mut reason = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        reason.get_or_insert_with(|| why.to_string());
        self.token.cancel();
    }

    fn reason(&self) -> String {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "the connection was lost".into())
    }
}

/// A delivery that cannot be finished: the connection it came on is gone.
#[derive(Debug)]
struct Abandoned;

/// One connection's worth of consuming.
struct Session {
    broker: Broker,
    subscription: crate::broker::Subscription,
    forwarder: Arc<Forwarder>,
}

impl Session {
    async fn open(
        config: &Config,
        consumer: &Arc<Consumer>,
        topology: Option<&Topology>,
    ) -> Result<Self, BrokerError> {
        let tag = format!(
            "outboxctl-{}-{:08x}",
            std::process::id(),
            rand::rng().random::<u32>()
        );
        let broker = Broker::connect(&config.broker, &format!("outboxctl consume ({tag})")).await?;
        if let Some(t) = topology {
            broker.apply_topology(t).await?;
        }
        let forwarder = broker
            .forwarder(
                &consumer.queue,
                &config.broker.dead_letter_exchange,
                config.broker.confirm_timeout,
            )
            .await?;
        let subscription = broker
            .subscribe(&consumer.queue, config.consumer.prefetch, &tag)
            .await?;
        Ok(Self {
            broker,
            subscription,
            forwarder: Arc::new(forwarder),
        })
    }

    /// Dispatch deliveries to the lanes until shutdown or until the
    /// connection is lost. On shutdown the lanes get `grace` to finish what
    /// they hold; on a lost connection they drop it at once (the broker
    /// redelivers it) so that a new session can start.
    async fn run(
        mut self,
        consumer: &Arc<Consumer>,
        stages: &[Stage],
        shutdown: &CancellationToken,
        grace: Duration,
    ) -> SessionEnd {
        let lost = Arc::new(Lost::default());
        let mut senders = Vec::with_capacity(stages.len());
        let mut lanes = tokio::task::JoinSet::new();
        for stage in stages {
            let (tx, rx) = mpsc::unbounded_channel::<Delivery>();
            senders.push(tx);
            lanes.spawn(lane(
                consumer.clone(),
                self.forwarder.clone(),
                rx,
                stage.clone(),
                lost.clone(),
            ));
        }
        let end = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break SessionEnd::Shutdown,
                _ = lost.token.cancelled() => break SessionEnd::Lost(lost.reason()),
                next = self.subscription.next() => match next {
                    Some(Ok(delivery)) => {
                        let lane = lane_of(&delivery, senders.len());
                        let _ = senders[lane].send(delivery);
                    }
                    Some(Err(e)) => break SessionEnd::Lost(e.to_string()),
                    None => break SessionEnd::Lost(
                        "the broker ended the subscription (the queue was deleted, or the \
                         connection closed)".into(),
                    ),
                },
            }
        };
        drop(senders);
        match &end {
            SessionEnd::Shutdown => {
                info!("shutting down: finishing the messages in hand");
                let drained = tokio::time::timeout(grace, async {
                    self.subscription.cancel().await;
                    while lanes.join_next().await.is_some() {}
                })
                .await;
                if drained.is_err() {
                    warn!(grace = %humantime::format_duration(grace),
                        "messages still in hand after shutdown.grace are abandoned; \
                         the broker delivers them again");
                }
            }
            SessionEnd::Lost(why) => lost.raise(why),
        }
        lanes.shutdown().await;
        for stage in stages {
            stage.idle();
        }
        let Session {
            broker,
            subscription,
            forwarder,
        } = self;
        // Each close is bounded; together they take at most one bound.
        let close = async move {
            let forwarder = async {
                if let Ok(f) = Arc::try_unwrap(forwarder) {
                    f.close().await;
                }
            };
            tokio::join!(subscription.close(), forwarder, broker.close());
        };
        match end {
            // Exiting: say goodbye to the broker (bounded).
            SessionEnd::Shutdown => close.await,
            // Reconnect at once; whatever is left of the old link closes meanwhile.
            SessionEnd::Lost(_) => drop(tokio::spawn(close)),
        }
        end
    }
}

/// One lane: the deliveries of its keys, one batch after the other.
async fn lane(
    consumer: Arc<Consumer>,
    forwarder: Arc<Forwarder>,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    stage: Stage,
    lost: Arc<Lost>,
) {
    while let Some(first) = rx.recv().await {
        // What else waits in this lane goes into the same transaction.
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(d) => batch.push(d),
                Err(_) => break,
            }
        }
        stage.working(format!("processing {} message(s)", batch.len()));
        let ctx = Ctx {
            forwarder: &forwarder,
            stage: &stage,
            lost: &lost,
        };
        if consumer.process(&ctx, batch).await.is_err() {
            return;
        }
        if rx.is_empty() {
            stage.idle();
        }
    }
}

/// What a lane hands down while it works on a batch.
struct Ctx<'a> {
    forwarder: &'a Forwarder,
    stage: &'a Stage,
    lost: &'a Lost,
}

impl Ctx<'_> {
    /// The outcome of a call to the broker: a lost connection ends the
    /// session; a delivery whose copy could not be forwarded goes back.
    fn broker(&self, result: Result<(), BrokerError>) -> Result<(), Abandoned> {
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

fn lane_of(d: &Delivery, lanes: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    d.header_str(outbox_headers::PARTITION_KEY)
        .or_else(|| d.message_id().map(str::to_string))
        .hash(&mut h);
    (h.finish() % lanes as u64) as usize
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Processed,
    Duplicate,
}

/// Most deliveries of one lane handled in one transaction.
const BATCH_MAX: usize = 128;

/// A decoded delivery of a batch.
struct Item {
    delivery: Delivery,
    message: Message,
}

impl Consumer {
    /// Handle the deliveries a lane had waiting: one transaction for all of
    /// them (a commit and its flush shared); if anything in it fails, each is
    /// handled again on its own, so a failure stays with its message.
    async fn process(&self, ctx: &Ctx<'_>, deliveries: Vec<Delivery>) -> Result<(), Abandoned> {
        let received_at = Utc::now();
        let started = Instant::now();
        let mut items = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let attempt = attempt_of(&delivery);
            let message = match decode(&delivery, attempt) {
                Ok(m) => m,
                Err(reason) => {
                    warn!(reason = %reason, message_id = delivery.message_id().unwrap_or("-"),
                        "undecodable message; dead-lettering it");
                    let reason = format!("undecodable: {reason}");
                    self.dead_letter(ctx, &delivery, attempt, &reason, "-")
                        .await?;
                    continue;
                }
            };
            if self.reject_unknown && self.handlers.get(&message.topic).is_none() {
                let reason = format!(
                    "no handler for topic {} (consumer.reject_unknown_topics)",
                    message.topic
                );
                self.dead_letter(ctx, &delivery, attempt, &reason, &message.topic)
                    .await?;
                continue;
            }
            items.push(Item { delivery, message });
        }
        if items.len() > 1 {
            match self.commit(ctx, &items, received_at, started).await? {
                Ok(outcomes) => {
                    for (item, outcome) in items.iter().zip(outcomes) {
                        self.settled(ctx, item, outcome, started).await?;
                    }
                    return Ok(());
                }
                Err(e) => {
                    debug!(error = %e, size = items.len(), "batch failed; handling its messages one by one")
                }
            }
        }
        for item in &items {
            match self
                .commit(ctx, std::slice::from_ref(item), received_at, started)
                .await?
            {
                Ok(outcomes) => self.settled(ctx, item, outcomes[0], started).await?,
                Err(e) => self.failed(ctx, item, e).await?,
            }
        }
        Ok(())
    }

    /// Run [`attempt`](Self::attempt) until it gets an answer from the
    /// database: while PostgreSQL cannot be reached, the deliveries wait in
    /// the lane, unacknowledged, and no attempt is used up.
    async fn commit(
        &self,
        ctx: &Ctx<'_>,
        items: &[Item],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<Result<Vec<Settled>, HandlerError>, Abandoned> {
        loop {
            let attempt = tokio::select! {
                a = tokio::time::timeout(store::CALL_TIMEOUT, self.attempt(items, received_at, started)) => a,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            let why = match attempt {
                Ok(Err(HandlerError::Unavailable(why))) => why,
                Ok(answer) => return Ok(answer),
                Err(_) => {
                    // Slow, or frozen? Only a database that answers a fresh
                    // connection makes it the handler's own failure.
                    let limit = humantime::format_duration(store::CALL_TIMEOUT);
                    match store::ping(&self.pool, self.ping_timeout).await {
                        Ok(()) => {
                            return Ok(Err(HandlerError::Retry(format!(
                                "the transaction took longer than {limit}"
                            ))));
                        }
                        Err(e) => format!("no answer within {limit} ({e})"),
                    }
                }
            };
            self.wait_for_database(ctx, why).await?;
        }
    }

    /// Hold the lane until PostgreSQL answers a fresh connection again.
    async fn wait_for_database(&self, ctx: &Ctx<'_>, mut why: String) -> Result<(), Abandoned> {
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

    /// Committed: acknowledge and count.
    async fn settled(
        &self,
        ctx: &Ctx<'_>,
        item: &Item,
        outcome: Settled,
        started: Instant,
    ) -> Result<(), Abandoned> {
        let message = &item.message;
        // Committed but not acknowledged: the redelivery is a duplicate.
        ctx.broker(item.delivery.ack().await)?;
        let (label, counter) = match outcome {
            Settled::Processed => ("processed", &self.counters.processed),
            Settled::Duplicate => ("duplicate", &self.counters.duplicates),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.count(&message.topic, label);
        if outcome == Settled::Processed {
            metrics::histogram!("outbox_consumer_handler_duration_seconds", "topic" => message.topic.clone())
                .record(started.elapsed().as_secs_f64());
            if let Some(ms) = message.created_at_ms {
                let e2e = (Utc::now().timestamp_millis() - ms).max(0) as f64 / 1000.0;
                metrics::histogram!("outbox_consumer_end_to_end_seconds", "topic" => message.topic.clone())
                    .record(e2e);
            }
        }
        debug!(message_id = %message.message_id, trace_id = %message.trace_id(), topic = %message.topic,
            attempt = message.attempt, outcome = label, ms = started.elapsed().as_millis() as u64, "message");
        Ok(())
    }

    /// Rolled back: retry later, or dead-letter.
    async fn failed(
        &self,
        ctx: &Ctx<'_>,
        item: &Item,
        error: HandlerError,
    ) -> Result<(), Abandoned> {
        let (delivery, message) = (&item.delivery, &item.message);
        let attempt = message.attempt;
        match error {
            HandlerError::Reject(reason) => {
                warn!(message_id = %message.message_id, trace_id = %message.trace_id(), reason = %reason,
                    "handler rejected the message; dead-lettering it");
                self.dead_letter(ctx, delivery, attempt, &reason, &message.topic)
                    .await
            }
            HandlerError::Retry(reason) | HandlerError::Unavailable(reason)
                if attempt >= self.max_attempts =>
            {
                warn!(message_id = %message.message_id, trace_id = %message.trace_id(), attempt, reason = %reason,
                    "last attempt failed; dead-lettering the message");
                let reason = format!("failed {attempt} attempts; last error: {reason}");
                self.dead_letter(ctx, delivery, attempt, &reason, &message.topic)
                    .await
            }
            HandlerError::Retry(reason) | HandlerError::Unavailable(reason) => {
                warn!(message_id = %message.message_id, trace_id = %message.trace_id(), attempt, reason = %reason,
                    retry_in = ?self.retry_delay, "attempt failed; retrying later");
                let copied = ctx
                    .forwarder
                    .retry(
                        delivery,
                        &message.topic,
                        attempt + 1,
                        self.retry_delay,
                        &reason,
                    )
                    .await;
                match copied {
                    Ok(()) => {
                        self.counters.retried.fetch_add(1, Ordering::Relaxed);
                        self.count(&message.topic, "retried");
                        ctx.broker(delivery.ack().await)
                    }
                    Err(e) => self.give_back(ctx, delivery, e).await,
                }
            }
        }
    }

    /// One transaction: record every delivery, run the handlers of the new
    /// ones, stamp them, commit.
    async fn attempt(
        &self,
        items: &[Item],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<Vec<Settled>, HandlerError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let records: Vec<NewConsumption> = items
            .iter()
            .map(|i| NewConsumption {
                message_id: i.message.message_id,
                topic: &i.message.topic,
                queue: &self.queue,
                received_at,
                delivery_attempt: i32::try_from(i.message.attempt).unwrap_or(i32::MAX),
                redelivered: i.message.redelivered,
                traceparent: i.message.traceparent.as_deref(),
            })
            .collect();
        let new = inbox::record(&mut tx, &self.name, &records).await?;
        let mut outcomes = Vec::with_capacity(items.len());
        let mut done = Vec::new();
        for (item, new) in items.iter().zip(new) {
            let Some(recorded) = new else {
                outcomes.push(Settled::Duplicate);
                continue;
            };
            if let Some(h) = self.handlers.get(&item.message.topic) {
                h.handle(&mut tx, &item.message).await?;
            }
            done.push((recorded, started.elapsed().as_secs_f64() * 1000.0));
            outcomes.push(Settled::Processed);
        }
        inbox::finish(&mut tx, &self.name, &done).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcomes)
    }

    async fn dead_letter(
        &self,
        ctx: &Ctx<'_>,
        delivery: &Delivery,
        attempt: u32,
        reason: &str,
        topic: &str,
    ) -> Result<(), Abandoned> {
        match ctx
            .forwarder
            .dead_letter(delivery, topic, attempt, reason)
            .await
        {
            Ok(()) => {
                self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                self.count(topic, "dead_lettered");
                ctx.broker(delivery.ack().await)
            }
            Err(e) => self.give_back(ctx, delivery, e).await,
        }
    }

    /// Forwarding failed. A lost connection ends the session (the message
    /// goes back by itself); a copy the broker refused (a missing retry or
    /// dead-letter queue) puts the message back on its queue after a pause,
    /// so a broker in trouble is not hammered with the same message.
    async fn give_back(
        &self,
        ctx: &Ctx<'_>,
        delivery: &Delivery,
        e: BrokerError,
    ) -> Result<(), Abandoned> {
        if !ctx.forwarder.is_usable() || e.is_transient() {
            return ctx.broker(Err(e));
        }
        warn!(error = %e, message_id = delivery.message_id().unwrap_or("-"),
            "cannot forward the message; returning it to the queue");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = ctx.lost.token.cancelled() => return Err(Abandoned),
        }
        ctx.broker(delivery.requeue().await)
    }

    fn count(&self, topic: &str, outcome: &'static str) {
        metrics::counter!("outbox_consumer_messages_total", "queue" => self.queue.clone(),
            "topic" => topic.to_string(), "outcome" => outcome)
        .increment(1);
    }
}

/// Attempt number of a delivery: 1, or what our retry header says. Only a
/// handler's own failure moves it on; a redelivery after a crash or a lost
/// connection is the same attempt again.
fn attempt_of(d: &Delivery) -> u32 {
    let n = d.header_i64(headers::ATTEMPT).unwrap_or(1).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn decode(d: &Delivery, attempt: u32) -> Result<Message, String> {
    let raw_id = d.message_id().ok_or("no message-id property")?;
    let message_id = raw_id
        .parse::<MessageId>()
        .map_err(|_| format!("message-id {raw_id:?} is not a UUID"))?;
    let payload: Value =
        serde_json::from_slice(&d.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let topic = d.message_type().unwrap_or(&d.routing_key).to_string();
    if topic.is_empty() {
        return Err("no topic (type property or routing key)".into());
    }
    Ok(Message {
        message_id,
        topic,
        payload,
        attempt,
        redelivered: d.redelivered,
        partition_key: d.header_str(outbox_headers::PARTITION_KEY),
        traceparent: d
            .header_str(outbox_headers::TRACEPARENT)
            .filter(|t| crate::telemetry::TraceContext::parse(t).is_some()),
        created_at_ms: d.header_i64(outbox_headers::CREATED_AT_MS),
    })
}

/// `upload.created`: read the stored bytes, compute their SHA-256, read the
/// pixel size of images, and mark the upload `processed` — or `rejected` when
/// the bytes are not what the content type says.
pub struct UploadCreated;

impl Handler for UploadCreated {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let id = message
                .payload
                .get("upload_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| HandlerError::Reject("the payload has no upload_id".into()))?;
            let (upload, content) = uploads::lock_for_processing(conn, id)
                .await?
                .ok_or_else(|| HandlerError::Reject(format!("upload {id} does not exist")))?;
            if upload.status != UploadStatus::Registered {
                // Already handled through another event: the effect happened.
                return Ok(());
            }
            // Hashing megabytes would stall the async workers; small files
            // are quicker hashed in place than handed to another thread.
            let findings = if content.len() > 256 * 1024 {
                let content_type = upload.content_type.clone();
                tokio::task::spawn_blocking(move || inspect(&content_type, &content))
                    .await
                    .map_err(|e| HandlerError::Retry(format!("inspection failed: {e}")))?
            } else {
                inspect(&upload.content_type, &content)
            };
            uploads::record_findings(conn, id, &findings).await?;
            info!(upload_id = %id, message_id = %message.message_id, trace_id = %message.trace_id(),
                status = if findings.rejection.is_some() { "rejected" } else { "processed" },
                "upload checked");
            Ok(())
        })
    }
}

/// SHA-256, image dimensions, and whether the bytes match the declared type.
pub fn inspect(content_type: &str, bytes: &[u8]) -> Findings {
    let sha256: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let expected = match content_type {
        "image/png" => Some(imagesize::ImageType::Png),
        "image/jpeg" => Some(imagesize::ImageType::Jpeg),
        "image/gif" => Some(imagesize::ImageType::Gif),
        "image/webp" => Some(imagesize::ImageType::Webp),
        _ => None,
    };
    let (dimensions, rejection) = match expected {
        Some(expected) => match imagesize::image_type(bytes) {
            Ok(found) if found == expected => match imagesize::blob_size(bytes) {
                Ok(size) => (Some((size.width as u32, size.height as u32)), None),
                Err(e) => (
                    None,
                    Some(format!(
                        "declared {content_type} but the image header is damaged: {e}"
                    )),
                ),
            },
            Ok(found) => (
                None,
                Some(format!(
                    "declared {content_type} but the bytes are a {found:?} image"
                )),
            ),
            Err(_) => (
                None,
                Some(format!(
                    "declared {content_type} but the bytes are not an image"
                )),
            ),
        },
        None => match content_type {
            "application/pdf" if !bytes.starts_with(b"%PDF-") => (
                None,
                Some("declared application/pdf but the bytes do not start with %PDF-".into()),
            ),
            "text/plain" if std::str::from_utf8(bytes).is_err() => (
                None,
                Some("declared text/plain but the bytes are not UTF-8 text".into()),
            ),
            _ => (None, None),
        },
    };
    Findings {
        sha256,
        dimensions,
        rejection,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Smallest valid headers of each format, 3×2 pixels.
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0,
        0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0, 0, 0, 0, 0,
    ];
    const GIF: &[u8] = b"GIF89a\x03\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    const WEBP: &[u8] = &[
        b'R', b'I', b'F', b'F', 0x24, 0, 0, 0, b'W', b'E', b'B', b'P', b'V', b'P', b'8', b'X',
        0x0a, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0,
    ];
    const JPEG: &[u8] = &[
        0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        0xff, 0xc0, 0, 0x11, 8, 0, 2, 0, 3, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9,
    ];

    #[test]
    fn images_get_their_dimensions() {
        for (mime, bytes) in [
            ("image/png", PNG),
            ("image/gif", GIF),
            ("image/webp", WEBP),
            ("image/jpeg", JPEG),
        ] {
            let f = inspect(mime, bytes);
            assert_eq!(f.rejection, None, "{mime}");
            assert_eq!(f.dimensions, Some((3, 2)), "{mime}");
            assert_eq!(f.sha256.len(), 64);
        }
    }

    #[test]
    fn bytes_that_are_not_what_the_type_says_are_rejected() {
        let f = inspect("image/png", JPEG);
        assert!(f.rejection.unwrap().contains("Jpeg"));
        let f = inspect("image/gif", b"hello, world");
        assert!(f.rejection.unwrap().contains("not an image"));
        assert!(inspect("application/pdf", b"hello").rejection.is_some());
        assert!(
            inspect("application/pdf", b"%PDF-1.7 ...")
                .rejection
                .is_none()
        );
        assert!(
            inspect("text/plain", &[0xff, 0xfe, 0x00])
                .rejection
                .is_some()
        );
        assert!(
            inspect("application/octet-stream", &[0xff, 0xfe])
                .rejection
                .is_none()
        );
    }

    #[test]
    fn sha256_is_the_known_digest() {
        assert_eq!(
            inspect("text/plain", b"abc").sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
