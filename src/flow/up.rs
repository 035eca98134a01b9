//! `outboxctl up`: migrate, declare the topology, then run the API, the
//! relayer, a consumer per queue with handlers and the saga orchestrator in
//! one process — for a laptop or a demo. Each runs as a supervised task,
//! restarted with backoff when it fails.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info, info_span, warn};

use crate::backoff::Backoff;
use crate::broker::{Broker, Topology};
use crate::config::Config;
use crate::flow::handlers::Handlers;
use crate::flow::{consume, produce, relay, saga};
use crate::output::Outcome;
use crate::store;
use crate::telemetry::MetricsEndpoint;

/// `outboxctl up`: all three parts until `shutdown`, metrics on `metrics.listen`.
pub async fn command(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    MetricsEndpoint::around(config, &shutdown.clone(), run(config, shutdown)).await?;
    Ok(Outcome::Success)
}

pub async fn run(config: &Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = store::connect(&config.database, "outboxctl up", &[]).await?;
    for m in store::migrate(&pool).await? {
        info!(version = m.version, description = %m.description, "applied migration");
    }
    // A saga definition that would strand instances in flight stops `up`
    // here, before anything runs.
    let adopted = if config.sagas.is_empty() {
        Ok(())
    } else {
        saga::adopt(config, &pool).await
    };
    pool.close().await;
    adopted?;
    let broker = Broker::connect(&config.broker, "outboxctl up").await?;
    let declared = broker.apply_topology(&Topology::from_config(config)).await;
    broker.close().await;
    declared?;
    // The API's address must be free now; later restarts rebind it.
    drop(produce::bind(config).await?);

    // Each part's pool is as large as what it runs needs (the relay's
    // workers, a consumer's lanes, the saga gauges' one query) — not
    // database.max_connections each: that is the API's, which serves
    // requests side by side.
    let sized = {
        let mut c = config.clone();
        c.database.max_connections = 1;
        Arc::new(c)
    };
    let config = Arc::new(config.clone());
    let token = shutdown.child_token();
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (config, stop) = (config.clone(), token.clone());
        tasks.spawn(supervise("serve", token.clone(), move || {
            let (config, stop) = (config.clone(), stop.clone());
            async move {
                let listener = produce::bind(&config).await?;
                produce::serve(&config, listener, stop).await
            }
        }));
    }
    {
        let (config, stop) = (sized.clone(), token.clone());
        tasks.spawn(supervise("relay", token.clone(), move || {
            let (config, stop) = (config.clone(), stop.clone());
            async move {
                relay::run(&relay::Settings::new(&config, false), stop).await?;
                Ok(())
            }
        }));
    }
    // A consumer for consumer.queue and for every other queue with handlers.
    let orchestrated = !config.sagas.is_empty();
    for q in &config.broker.queues {
        let is_default = q.name == config.consumer_queue();
        let has_handlers = config.handlers_of(&q.name).next().is_some();
        if (orchestrated && q.name == config.orchestrator.queue) || !(is_default || has_handlers) {
            continue;
        }
        let settings = if is_default {
            consume::Settings::from_config(&sized)?
        } else {
            consume::Settings::for_queue(&sized, &q.name)
        };
        let handlers = Handlers::for_queue(&config, &settings.queue)?;
        handlers.advise();
        let (settings, stop) = (Arc::new(settings), token.clone());
        tasks.spawn(supervise("consume", token.clone(), move || {
            let (settings, handlers, stop) = (settings.clone(), handlers.clone(), stop.clone());
            async move {
                consume::run(&settings, handlers, stop).await?;
                Ok(())
            }
        }));
    }
    if orchestrated {
        let (config, stop) = (sized.clone(), token.clone());
        tasks.spawn(supervise("saga", token.clone(), move || {
            let (config, stop) = (config.clone(), stop.clone());
            async move { saga::run(&config, stop).await }
        }));
    }
    info!(api = %config.api.listen, "up: serving, relaying, consuming and orchestrating; Ctrl-C stops");
    shutdown.cancelled().await;
    info!("shutting down");
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Run `component` until `stop` is cancelled, restarting it with backoff
/// (1 s doubling to 5 s, reset after a minute of health) when it fails or
/// its watchdog gives up on it.
async fn supervise<F, Fut>(name: &'static str, stop: CancellationToken, component: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut restarts = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
    loop {
        let started = Instant::now();
        let result = component()
            .instrument(info_span!("up", component = name))
            .await;
        if stop.is_cancelled() {
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            restarts.reset();
        }
        let backoff = restarts.next_delay();
        match result {
            Ok(()) => warn!(
                component = name,
                "stopped unexpectedly; restarting in {backoff:?}"
            ),
            Err(e) => error!(
                component = name,
                error = format!("{e:#}"),
                "failed; restarting in {backoff:?}"
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.cancelled() => return,
        }
    }
}
