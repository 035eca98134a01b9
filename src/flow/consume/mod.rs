//! The consumer engine (`outboxctl consume`): at-least-once delivery made
//! into an effect that happens once. It knows nothing of any domain: what a
//! message does is a [`Handler`](crate::flow::handlers::Handler)'s business.
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

mod calls;
mod failure;
mod lane;
mod message;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use lane::{lane, lane_of};
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::backoff::until_ready;
use crate::broker::{Broker, BrokerError, Delivery, Forwarder, Link, Topology};
use crate::config::Config;
use crate::flow::handlers::{Handlers, SetupError};
use crate::output::Outcome;
use crate::presence::Presence;
use crate::store::{self, StoreError};
use crate::telemetry::MetricsEndpoint;
use crate::watchdog::{Stage, Stalled, Watchdog};

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
    Handler(#[from] SetupError),
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
    /// Settings each transaction sets itself (behind a transaction-mode pooler).
    local: Vec<(&'static str, String)>,
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
    MetricsEndpoint::around(config, &shutdown.clone(), async {
        let handlers = Handlers::for_queue(config, config.consumer_queue())?;
        Ok(run(config, handlers, shutdown).await?)
    })
    .await?;
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
    // A stall drops the work, abandoning what is in hand; the broker
    // redelivers it.
    watchdog
        .guard(consume(config, handlers, &shutdown, &watchdog))
        .await
}

async fn consume(
    config: &Config,
    handlers: Handlers,
    shutdown: &CancellationToken,
    watchdog: &Watchdog,
) -> Result<ConsumeSummary, ConsumeError> {
    if config.broker.queues.is_empty() {
        return Err(BrokerError::Topology(
            "there is no queue to consume: broker.queues is empty — add the [[broker.queues]] \
             entry this consumer reads (with `adopt = true` when it exists already)"
                .into(),
        )
        .into());
    }
    let connecting = watchdog.stage("consumer connection");
    let Some(pool) = open_database(config, &connecting, shutdown).await? else {
        return Ok(ConsumeSummary::default());
    };
    // A statement that does not prepare, a program that is not there: say
    // so now, not on the first message.
    handlers.check(&pool).await?;
    let consumer = Arc::new(Consumer {
        pool,
        handlers,
        name: config.consumer_name().to_string(),
        queue: config.consumer_queue().to_string(),
        max_attempts: config.consumer.max_attempts,
        retry_delay: config.consumer.retry_delay,
        reject_unknown: config.consumer.reject_unknown_topics,
        ping_timeout: config.database.connect_timeout,
        local: store::local_settings(&config.database, &store::worker_session()),
        db_down: AtomicBool::new(false),
        counters: Counters::default(),
    });
    let role = if !config.sagas.is_empty() && consumer.queue == config.orchestrator.queue {
        "saga"
    } else {
        "consume"
    };
    let presence = {
        let c = consumer.clone();
        Presence::start(
            &consumer.pool,
            role,
            Some(consumer.queue.clone()),
            Arc::new(move || {
                let n = &c.counters;
                format!(
                    "consuming: {} processed, {} retried, {} dead-lettered since start",
                    n.processed.load(Ordering::Relaxed),
                    n.retried.load(Ordering::Relaxed),
                    n.dead_lettered.load(Ordering::Relaxed)
                )
            }),
        )
    };
    let topology = config
        .consumer
        .apply_topology
        .then(|| Topology::from_config(config));
    let link = Link::new(&config.broker, "consume", topology);
    let lanes: Vec<Stage> = (0..config.consumer.concurrency)
        .map(|n| watchdog.stage(format!("consumer lane {n}")))
        .collect();
    // Setting a session up is a handful of requests, each bounded by
    // confirm_timeout; the whole of it gets this long.
    let open_limit = config.broker.connect_timeout + config.broker.confirm_timeout * 2;

    let open = || async {
        tokio::time::timeout(open_limit, Session::open(config, &consumer, &link))
            .await
            .unwrap_or_else(|_| {
                Err(BrokerError::Unavailable(format!(
                    "setting up the subscription got no answer within {}",
                    humantime::format_duration(open_limit)
                )))
            })
    };
    let mut sessions = 0u64;
    while !shutdown.is_cancelled() {
        let what = "connecting to RabbitMQ";
        let opened = until_ready(what, &connecting, shutdown, BrokerError::is_transient, open);
        let Some(session) = opened.await? else {
            break;
        };
        if sessions == 0 {
            info!(queue = %consumer.queue, name = %consumer.name, "consuming");
        } else {
            info!(queue = %consumer.queue, "reconnected to RabbitMQ; consuming again");
        }
        sessions += 1;
        match session
            .run(&consumer, &link, &lanes, shutdown, config.shutdown.grace)
            .await
        {
            SessionEnd::Shutdown => break,
            SessionEnd::Lost(why) => {
                warn!(error = %why, "the broker connection was lost; the deliveries in hand \
                    return to the queue; reconnecting")
            }
        }
    }
    presence.stop().await;
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
    stage: &Stage,
    shutdown: &CancellationToken,
) -> Result<Option<PgPool>, StoreError> {
    let mut db = config.database.clone();
    db.max_connections = db.max_connections.max(config.consumer.concurrency + 2);
    let open = || async {
        let pool = store::connect(&db, "outboxctl consume", &store::worker_session()).await?;
        store::bounded(store::CALL_TIMEOUT, store::check_schema(&pool)).await?;
        store::warm_up(&pool, config.consumer.concurrency).await;
        Ok(pool)
    };
    until_ready(
        "connecting to PostgreSQL",
        stage,
        shutdown,
        StoreError::is_transient,
        open,
    )
    .await
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
    broker: Arc<Broker>,
    subscription: crate::broker::Subscription,
    forwarder: Arc<Forwarder>,
}

impl Session {
    async fn open(
        config: &Config,
        consumer: &Arc<Consumer>,
        link: &Link,
    ) -> Result<Self, BrokerError> {
        let tag = format!(
            "outboxctl-{}-{:08x}",
            std::process::id(),
            rand::rng().random::<u32>()
        );
        let broker = link.connection().await?;
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
        link: &Link,
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
            tokio::join!(subscription.close(), forwarder);
        };
        match end {
            // Exiting: say goodbye to the broker (bounded).
            SessionEnd::Shutdown => {
                tokio::join!(close, link.close());
            }
            // Reconnect at once, on a new connection even if this one still
            // looks alive (an ack that timed out on a frozen link); what is
            // left of it closes meanwhile.
            SessionEnd::Lost(_) => {
                link.discard(&broker).await;
                drop(tokio::spawn(close));
            }
        }
        end
    }
}
