//! What one consumer engine runs with, built once from the configuration:
//! its queue and name, its lanes and limits, the servers and the topology.
//! `consume`, each consumer of `up` and the saga orchestrator build one
//! each; the engine reads nothing else of the configuration.

use std::time::Duration;

use crate::broker::{BrokerError, Topology};
use crate::config::{BrokerConfig, Config, DatabaseConfig, RetryDelays, WatchdogConfig};

#[derive(Debug, Clone)]
pub struct Settings {
    /// The work queue it takes deliveries from.
    pub queue: String,
    /// Its name in `consumed_messages`: the scope of deduplication.
    pub name: String,
    /// How `outboxctl status` lists it: `consume`, or `saga` for the
    /// orchestrator's queue.
    pub role: &'static str,
    pub prefetch: u16,
    /// Lanes processing messages at once (a key's messages share one).
    pub lanes: u32,
    pub max_attempts: u32,
    /// How long failed messages wait, and the retry queues they wait in.
    pub retry: RetryDelays,
    /// Dead-letter messages of topics no handler serves.
    pub reject_unknown_topics: bool,
    /// Declared on every (re)connection, when it declares any.
    pub topology: Option<Topology>,
    /// The database, its pool sized for the lanes (see [`pool_size`]).
    pub database: DatabaseConfig,
    pub broker: BrokerConfig,
    pub watchdog: WatchdogConfig,
    /// How long deliveries in hand may take to finish after shutdown.
    pub grace: Duration,
    /// Saga steps renamed (saga, old name, new name): a command under an old
    /// name is for the step of the new one.
    pub renamed: Vec<(String, String, String)>,
}

/// The connections a consumer with `lanes` lanes uses at most: one
/// transaction per lane, the presence beat, and a ping or an out-of-band
/// write (a dead letter recorded, a failure replied to a saga).
pub fn pool_size(lanes: u32) -> u32 {
    lanes + 2
}

impl Settings {
    /// `outboxctl consume`: `consumer.queue` (else the first of
    /// broker.queues) under `consumer.name` (else the queue's name).
    pub fn from_config(config: &Config) -> Result<Self, BrokerError> {
        if config.broker.queues.is_empty() {
            return Err(BrokerError::Topology(
                "there is no queue to consume: broker.queues is empty — add the [[broker.queues]] \
                 entry this consumer reads (with `adopt = true` when it exists already)"
                    .into(),
            ));
        }
        let mut settings = Self::for_queue(config, config.consumer_queue());
        settings.name = config.consumer_name().to_string();
        Ok(settings)
    }

    /// A consumer of `queue`, deduplicating under the queue's name.
    pub fn for_queue(config: &Config, queue: &str) -> Self {
        let orchestrates = !config.sagas.is_empty() && queue == config.orchestrator.queue;
        let lanes = config.consumer.concurrency;
        let mut database = config.database.clone();
        database.max_connections = database.max_connections.max(pool_size(lanes));
        Self {
            queue: queue.to_string(),
            name: queue.to_string(),
            role: if orchestrates { "saga" } else { "consume" },
            prefetch: config.consumer.prefetch,
            lanes,
            max_attempts: config.consumer.max_attempts,
            retry: config.consumer.retry_delays(),
            reject_unknown_topics: config.consumer.reject_unknown_topics,
            topology: config
                .consumer
                .apply_topology
                .then(|| Topology::from_config(config)),
            database,
            broker: config.broker.clone(),
            watchdog: config.watchdog.clone(),
            grace: config.shutdown.grace,
            renamed: config
                .sagas
                .iter()
                .flat_map(|s| {
                    s.renamed
                        .iter()
                        .map(|r| (s.name.clone(), r.from.clone(), r.to.clone()))
                })
                .collect(),
        }
    }

    /// The name step `step` of saga `saga` has now.
    pub fn current_step<'a>(&'a self, saga: &str, step: &'a str) -> &'a str {
        self.renamed
            .iter()
            .find(|(s, from, _)| s == saga && from == step)
            .map_or(step, |(.., to)| to.as_str())
    }
}
