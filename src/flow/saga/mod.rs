//! Sagas (`outboxctl saga run`, and part of `up`): multi-step workflows with
//! compensation, declared in `[[sagas]]`, run on the outbox and the inbox.
//!
//! The orchestrator is the consumer engine on `orchestrator.queue` with one
//! handler per saga (`orchestrator`): every transition — start, step done,
//! step failed, time-out, compensation done — commits in one transaction
//! with the inbox row of the message that caused it and the outbox row of
//! the next command, so it happens once and its command is never lost or
//! doubled. A step's command has one message id for all its attempts, so
//! the inbox of whoever serves it runs its effect once. Time-outs are outbox
//! rows that become due at the deadline; no timer thread.
//!
//! `machine` is the state machine (no I/O); `orchestrator` runs it on
//! delivery batches and on an operator's abort or retry (`act`).

mod machine;
mod orchestrator;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use machine::{Action, Transition};
pub use orchestrator::{Orchestrator, act};

use crate::config::Config;
use crate::flow::consume;
use crate::flow::handlers::{Effect, Handlers, Route};
use crate::model::TopicPattern;
use crate::model::saga::State;
use crate::output::Outcome;
use crate::store::{self, saga as db};
use crate::telemetry::MetricsEndpoint;

/// The orchestrator's handlers: for each saga, its start, reply and
/// time-out topics.
pub fn handlers(config: &Config) -> Handlers {
    let mut handlers = Handlers::default();
    for s in &config.sagas {
        let patterns = [s.start.clone(), s.reply_topic(), s.timeout_topic()]
            .iter()
            .map(|t| TopicPattern::parse(t).expect("validated with the configuration"))
            .collect();
        handlers = handlers.route(Route {
            name: format!("saga-{}", s.name),
            kind: "saga",
            patterns,
            effect: Effect::InDatabase(Arc::new(Orchestrator::new(s))),
        });
    }
    handlers
}

/// The consumer the orchestrator runs on: the orchestrator's queue,
/// deduplicated under its own name.
pub fn consumer_settings(config: &Config) -> consume::Settings {
    consume::Settings::for_queue(config, &config.orchestrator.queue)
}

/// `outboxctl saga run`: orchestrate until `shutdown`.
pub async fn command(config: &Config, shutdown: CancellationToken) -> anyhow::Result<Outcome> {
    if config.sagas.is_empty() {
        anyhow::bail!("no sagas are configured — declare [[sagas]] in the config file");
    }
    MetricsEndpoint::around(config, &shutdown.clone(), run(config, shutdown)).await?;
    Ok(Outcome::Success)
}

/// The orchestrator and its gauges, until `shutdown`.
pub async fn run(config: &Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let gauges = tokio::spawn(refresh_gauges(config.clone(), shutdown.clone()));
    let done = consume::run(
        &consumer_settings(config),
        handlers(config),
        shutdown.clone(),
    )
    .await;
    gauges.abort();
    done?;
    Ok(())
}

/// Instances in flight and failed, and past their deadline, every 5 s.
async fn refresh_gauges(config: Config, shutdown: CancellationToken) {
    let mut pool = None;
    while !shutdown.is_cancelled() {
        // Connected lazily, so a database that is down at start only delays
        // the gauges.
        if pool.is_none() {
            // One query every few seconds: one connection.
            let mut one = config.database.clone();
            one.max_connections = 1;
            pool = store::connect(&one, "outboxctl saga", &store::worker_session())
                .await
                .ok();
        }
        let census = match &pool {
            Some(pool) => store::bounded(store::CALL_TIMEOUT, db::census(pool))
                .await
                .ok(),
            None => None,
        };
        if let Some(rows) = census {
            for s in &config.sagas {
                for state in [State::Running, State::Compensating, State::Failed] {
                    let (n, overdue) = rows
                        .iter()
                        .filter(|(saga, st, ..)| *saga == s.name && *st == state)
                        .map(|(.., n, o)| (*n, *o))
                        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
                    metrics::gauge!("outbox_sagas", "saga" => s.name.clone(), "state" => state.as_str())
                        .set(n as f64);
                    metrics::gauge!("outbox_sagas_overdue", "saga" => s.name.clone(), "state" => state.as_str())
                        .set(overdue as f64);
                }
            }
        }
        let _ = shutdown
            .run_until_cancelled(tokio::time::sleep(Duration::from_secs(5)))
            .await;
    }
}
