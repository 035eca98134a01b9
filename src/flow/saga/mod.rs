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
//! delivery batches and on an operator's abort or retry (`act`). Each
//! definition run is recorded by version; `plan` checks a changed one
//! against the instances in flight before it runs (`adopt`).

mod machine;
mod orchestrator;
mod plan;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use machine::{Action, Transition};
pub use orchestrator::{Orchestrator, act};
pub use plan::{Finding, Stranded};

use crate::config::{Config, SagaConfig};
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
            advice: None,
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
    if !adopt_when_up(config, &shutdown).await? {
        return Ok(Outcome::Success);
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

/// One saga's definition in the configuration against those its instances
/// in flight run under, as `saga plan` prints it.
#[derive(Debug, Serialize)]
pub struct SagaPlan {
    pub saga: String,
    /// The configuration's definition; `None`: the saga is no longer declared.
    pub version: Option<String>,
    /// The definitions its unfinished instances run under.
    pub running: Vec<String>,
    /// Instances running, compensating or failed.
    pub in_flight: usize,
    /// Of those, how many started before definitions were recorded (not
    /// judged: nothing says what they ran under).
    pub unknown: usize,
    /// Changes that strand instances; empty: the change is safe.
    pub findings: Vec<Finding>,
}

/// For every saga declared, and every saga with instances in flight that
/// is not: what running the configuration's definition would strand.
pub async fn plan(config: &Config, pool: &PgPool) -> anyhow::Result<Vec<SagaPlan>> {
    let mut names: Vec<String> = config.sagas.iter().map(|s| s.name.clone()).collect();
    for s in db::unfinished_sagas(pool).await? {
        if !names.contains(&s) {
            names.push(s);
        }
    }
    let mut plans = Vec::new();
    for name in names {
        let instances = db::unfinished(pool, &name).await?;
        let new = config.sagas.iter().find(|s| s.name == name);
        let Some(new) = new else {
            plans.push(SagaPlan {
                saga: name.clone(),
                version: None,
                running: versions(&instances),
                in_flight: instances.len(),
                unknown: 0,
                findings: vec![Finding {
                    change: format!(
                        "saga {name:?} is no longer declared: nothing would take its replies and \
                         time-outs"
                    ),
                    way_out: "finish or abort them first (`outboxctl saga abort ID`), or keep \
                              the [[sagas]] entry until they are through"
                        .into(),
                    instances: instances.iter().map(Stranded::of).collect(),
                }],
            });
            continue;
        };
        let mut known: Vec<(String, SagaConfig)> = Vec::new();
        for (version, definition) in db::definitions(pool, &name).await? {
            match serde_json::from_value::<SagaConfig>(definition) {
                Ok(d) => known.push((version, d)),
                Err(e) => warn!(saga = %name, %version, error = %e,
                    "a recorded saga definition cannot be read; its instances are not judged"),
            }
        }
        let running = |v: Option<&str>| {
            let v = v?;
            known.iter().find(|(k, _)| k == v).map(|(_, d)| d)
        };
        let unknown = instances
            .iter()
            .filter(|i| running(i.version.as_deref()).is_none())
            .count();
        plans.push(SagaPlan {
            saga: name.clone(),
            version: Some(new.version()),
            running: versions(&instances),
            in_flight: instances.len(),
            unknown,
            findings: plan::check(new, &instances, running),
        });
    }
    Ok(plans)
}

fn versions(instances: &[crate::model::saga::Instance]) -> Vec<String> {
    let mut v: Vec<String> = instances.iter().filter_map(|i| i.version.clone()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Before orchestrating: refuse a definition that would strand instances
/// in flight (naming them and the way out); else record each definition
/// and move the unfinished instances under it (renamed steps mapped).
pub async fn adopt(config: &Config, pool: &PgPool) -> anyhow::Result<()> {
    let plans = plan(config, pool).await?;
    // A saga with instances in flight that this configuration does not
    // declare may be another deployment's: said, not refused.
    for p in plans.iter().filter(|p| p.version.is_none()) {
        warn!(saga = %p.saga, in_flight = p.in_flight,
            "instances of a saga this configuration does not declare are in flight: nothing here \
             takes their replies (ignore this if another deployment orchestrates it)");
    }
    let refused: Vec<&SagaPlan> = plans
        .iter()
        .filter(|p| p.version.is_some() && !p.findings.is_empty())
        .collect();
    if !refused.is_empty() {
        anyhow::bail!(refusal(&refused));
    }
    for s in &config.sagas {
        let version = s.version();
        db::record_definition(pool, &s.name, &version, &serde_json::to_value(s)?).await?;
        let renamed: Vec<(String, String)> = s
            .renamed
            .iter()
            .map(|r| (r.from.clone(), r.to.clone()))
            .collect();
        let moved = db::adopt_version(pool, &s.name, &version, &renamed).await?;
        if moved > 0 {
            info!(saga = %s.name, %version, instances = moved,
                "instances in flight now run under this definition");
        }
    }
    Ok(())
}

/// [`adopt`], waiting for the database while it is down: false when
/// `shutdown` came first.
async fn adopt_when_up(config: &Config, shutdown: &CancellationToken) -> anyhow::Result<bool> {
    let mut one = config.database.clone();
    one.max_connections = 1;
    loop {
        let tried = async {
            let pool = store::connect(&one, "outboxctl saga", &store::worker_session()).await?;
            let adopted = adopt(config, &pool).await;
            pool.close().await;
            adopted
        };
        match shutdown.run_until_cancelled(tried).await {
            None => return Ok(false),
            Some(Ok(())) => return Ok(true),
            Some(Err(e)) => match e.downcast_ref::<store::StoreError>() {
                Some(s) if s.is_transient() => {
                    warn!(error = %s, "cannot check the saga definitions yet; retrying in 2s");
                    let wait = tokio::time::sleep(Duration::from_secs(2));
                    if shutdown.run_until_cancelled(wait).await.is_none() {
                        return Ok(false);
                    }
                }
                _ => return Err(e),
            },
        }
    }
}

/// Why the orchestrator does not start, and what to do.
fn refusal(refused: &[&SagaPlan]) -> String {
    let mut text = String::from(
        "the configured saga definitions would strand instances in flight, so the orchestrator \
         does not start:",
    );
    for p in refused {
        for f in &p.findings {
            let shown: Vec<String> = f
                .instances
                .iter()
                .take(5)
                .map(|s| format!("{} ({}, {})", s.key, s.id, s.at))
                .collect();
            let more = f.instances.len().saturating_sub(shown.len());
            text.push_str(&format!(
                "\n  saga {}: {}\n    {} instance{}: {}{}\n    way out: {}",
                p.saga,
                f.change,
                f.instances.len(),
                if f.instances.len() == 1 { "" } else { "s" },
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                },
                f.way_out
            ));
        }
    }
    text.push_str(
        "\n`outboxctl saga plan` lists every one; run it again after the change until it \
         exits 0",
    );
    text
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
