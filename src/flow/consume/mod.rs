//! The consumer engine (`outboxctl consume`): at-least-once delivery made
//! into an effect that happens once.
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
//! What a message does is a [`Handler`](crate::flow::handlers::Handler)'s
//! business: the engine knows no domain. It does know the saga participant
//! protocol: a handler serving a saga's command replies to the saga, and
//! that reply is written in the transaction of the effect (or, for a failure
//! that dead-letters the command, before the dead letter goes out), so the
//! saga hears of an effect exactly when it happened.
//!
//! Messages are spread over the lanes by partition key, so the messages of
//! one key are processed one after the other, in delivery order.
//!
//! The files, in the order calls go: `session` (one connection) → `lane`
//! (a batch of one lane) → `calls` (calls out) → `transaction` (record and
//! run in one transaction) and `outcome` (acknowledge, retry, dead-letter);
//! `consumer` holds what they share, `message` decodes and replies.

mod calls;
mod consumer;
mod fence;
mod lane;
mod message;
mod outcome;
mod session;
mod settings;
mod transaction;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::backoff::until_ready;
use crate::broker::{BrokerError, Link};
use crate::config::Config;
use crate::flow::handlers::{Handlers, SetupError};
use crate::output::Outcome;
use crate::presence::Presence;
use crate::store::{self, StoreError};
use crate::telemetry::MetricsEndpoint;
use crate::watchdog::{Stage, Stalled, Watchdog};
use consumer::{Consumer, Counters};
use session::{Session, SessionEnd};
pub use settings::{Settings, pool_size};

/// What a run of the consumer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumeSummary {
    pub processed: u64,
    pub duplicates: u64,
    /// Saga commands not run: their saga had moved on.
    pub stale: u64,
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

/// `outboxctl consume`: the standard handlers on `consumer.queue` until
/// `shutdown`, serving metrics on `metrics.listen`.
pub async fn command(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    MetricsEndpoint::around(config, &shutdown.clone(), async {
        let settings = Settings::from_config(config)?;
        let handlers = Handlers::for_queue(config, &settings.queue)?;
        handlers.advise();
        Ok(run(&settings, handlers, shutdown).await?)
    })
    .await?;
    Ok(Outcome::Success)
}

/// Consume `settings.queue` until `shutdown` is cancelled: stop taking
/// deliveries, give the ones in hand `shutdown.grace` to finish, and return.
/// Unacknowledged deliveries go back to the queue by themselves.
///
/// A lost connection to either server is retried with a short backoff, at
/// start-up too; only a refusal (wrong password, missing schema or queue)
/// ends the run with an error — or the watchdog, when a stage holds work
/// without progress for `watchdog.exit_after`.
pub async fn run(
    settings: &Settings,
    handlers: Handlers,
    shutdown: CancellationToken,
) -> Result<ConsumeSummary, ConsumeError> {
    let watchdog = Watchdog::new(&settings.watchdog);
    // A stall drops the work, abandoning what is in hand; the broker
    // redelivers it.
    watchdog
        .guard(consume(settings, handlers, &shutdown, &watchdog))
        .await
}

async fn consume(
    settings: &Settings,
    handlers: Handlers,
    shutdown: &CancellationToken,
    watchdog: &Watchdog,
) -> Result<ConsumeSummary, ConsumeError> {
    let connecting = watchdog.stage("consumer connection");
    let Some(pool) = open_database(settings, &connecting, shutdown).await? else {
        return Ok(ConsumeSummary::default());
    };
    // A statement that does not prepare, a program that is not there: say
    // so now, not on the first message.
    handlers.check(&pool).await?;
    let consumer = Arc::new(Consumer {
        pool,
        handlers,
        ping_timeout: settings.database.connect_timeout,
        local: store::local_settings(&settings.database, &store::worker_session()),
        db_down: AtomicBool::new(false),
        counters: Counters::default(),
        settings: settings.clone(),
    });
    let presence = {
        let c = consumer.clone();
        Presence::start(
            &consumer.pool,
            settings.role,
            Some(settings.queue.clone()),
            Arc::new(move || c.doing()),
        )
    };
    let link = Link::new(&settings.broker, "consume", settings.topology.clone());
    let lanes: Vec<Stage> = (0..settings.lanes)
        .map(|n| watchdog.stage(format!("consumer lane {n}")))
        .collect();
    // Setting a session up is a handful of requests, each bounded by
    // confirm_timeout; the whole of it gets this long.
    let open_limit = settings.broker.connect_timeout + settings.broker.confirm_timeout * 2;

    let open = || async {
        tokio::time::timeout(open_limit, Session::open(&consumer, &link))
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
            info!(queue = %settings.queue, name = %settings.name, "consuming");
        } else {
            info!(queue = %settings.queue, "reconnected to RabbitMQ; consuming again");
        }
        sessions += 1;
        match session
            .run(&consumer, &link, &lanes, shutdown, settings.grace)
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
        stale: c.stale.load(Ordering::Relaxed),
        retried: c.retried.load(Ordering::Relaxed),
        dead_lettered: c.dead_lettered.load(Ordering::Relaxed),
    };
    info!(
        processed = summary.processed,
        duplicates = summary.duplicates,
        stale = summary.stale,
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
    settings: &Settings,
    stage: &Stage,
    shutdown: &CancellationToken,
) -> Result<Option<PgPool>, StoreError> {
    let open = || async {
        let name = format!("outboxctl {}", settings.role);
        let pool = store::connect(&settings.database, &name, &store::worker_session()).await?;
        store::bounded(store::CALL_TIMEOUT, store::check_schema(&pool)).await?;
        store::warm_up(&pool, settings.lanes).await;
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
