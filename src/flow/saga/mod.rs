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

mod orchestrator;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use orchestrator::Orchestrator;

use crate::config::Config;
use crate::flow::consume;
use crate::flow::handlers::{Effect, Handlers, Measure, Route};
use crate::model::TopicPattern;
use crate::model::saga::{Instance, State};
use crate::output::Outcome;
use crate::store::{self, StoreError, saga as db};
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

/// The configuration the orchestrator's consumer runs with: the
/// orchestrator's queue, deduplicated under its own name.
pub fn orchestrator_config(config: &Config) -> Config {
    let mut c = config.clone();
    c.consumer.queue = Some(config.orchestrator.queue.clone());
    c.consumer.name = None;
    c
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
        &orchestrator_config(config),
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
            pool = store::connect(&config.database, "outboxctl saga", &store::worker_session())
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

/// What an operator asked of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Compensate now.
    Abort,
    /// Send the waited-for command (or compensation) again.
    Retry,
}

/// Why an action cannot apply, or the instance as it is after it.
pub async fn act(
    config: &Config,
    pool: &sqlx::PgPool,
    id: uuid::Uuid,
    action: Action,
    actor: &str,
) -> Result<Result<Instance, String>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(mut held) = db::lock(&mut tx, &[id]).await?.pop() else {
        return Ok(Err(format!("there is no saga instance {id}")));
    };
    let inst = &mut held.instance;
    let Some(saga) = config.sagas.iter().find(|s| s.name == inst.saga) else {
        return Ok(Err(format!(
            "instance {id} belongs to saga {}, which the configuration no longer declares",
            inst.saga
        )));
    };
    let (reply_topic, timeout_topic) = (saga.reply_topic(), saga.timeout_topic());
    let mut t = orchestrator::Transition::new(saga, &reply_topic, &timeout_topic, Some(actor));
    match (action, inst.state) {
        (_, State::Completed | State::Compensated) => {
            return Ok(Err(format!(
                "instance {id} is {}: nothing to do",
                inst.state.as_str()
            )));
        }
        (Action::Abort, State::Running) => {
            t.event(inst, "aborted", None, None, None);
            // The command in flight may have been done: undo it too.
            inst.done = inst.step + 1;
            t.compensate(inst, format!("aborted by {actor}"));
        }
        (Action::Abort, _) => {
            return Ok(Err(format!(
                "instance {id} is {} already — `saga retry` sends its compensation again",
                inst.state.as_str()
            )));
        }
        (Action::Retry, state) => {
            t.event(inst, "retried", None, None, None);
            let phase = if state == State::Running {
                crate::model::saga::Phase::Step
            } else {
                inst.state = State::Compensating;
                crate::model::saga::Phase::Compensation
            };
            let (step, attempt) = (inst.step, inst.attempt + 1);
            let why = inst.reason.clone();
            t.send(inst, phase, step, attempt, why.as_deref());
        }
    }
    let measures = std::mem::take(&mut t.measures);
    let mut changes = [db::Change {
        held,
        writes: std::mem::take(&mut t.writes),
    }];
    db::save(&mut tx, &mut changes).await?;
    tx.commit().await?;
    measures.iter().for_each(Measure::record);
    let [db::Change { held, .. }] = changes;
    Ok(Ok(held.instance))
}
