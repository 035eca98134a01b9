//! What the relayer runs with, built once from the configuration (and
//! `--once`): batches and workers, attempts and backoff, how it wakes up,
//! the servers and the topology. The relayer reads nothing else.

use std::time::Duration;

use crate::broker::Topology;
use crate::config::{BrokerConfig, Config, DatabaseConfig, WatchdogConfig};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Drain the rows ready now, then stop (`relay --once`).
    pub once: bool,
    pub workers: u32,
    pub batch_size: u32,
    /// The safety-net poll, and the sleep of a relayer that only polls.
    pub interval: Duration,
    /// No LISTEN: asked for, or impossible through a transaction-mode pooler
    /// (notifications are delivered to a session, and the session is the
    /// pool's).
    pub polls_only: bool,
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// How often the relay logs what it did and what fails.
    pub summary_interval: Duration,
    /// Declared on every (re)connection, when it declares any.
    pub topology: Option<Topology>,
    /// The database, its pool sized for the workers.
    pub database: DatabaseConfig,
    pub broker: BrokerConfig,
    pub watchdog: WatchdogConfig,
    /// How long batches in flight may take to finish after shutdown.
    pub grace: Duration,
}

/// The connections a relayer with `workers` workers uses at most: one
/// claim transaction per worker, its LISTEN session, and the gauges and
/// presence beat.
pub fn pool_size(workers: u32) -> u32 {
    workers + 2
}

impl Settings {
    pub fn new(config: &Config, once: bool) -> Self {
        let relay = &config.relay;
        let mut database = config.database.clone();
        database.max_connections = database.max_connections.max(pool_size(relay.workers));
        Self {
            once,
            workers: relay.workers,
            batch_size: relay.batch_size,
            interval: relay.interval,
            polls_only: relay.poll_only || config.database.transaction_pooling,
            max_attempts: relay.max_attempts,
            backoff_initial: relay.backoff_initial,
            backoff_max: relay.backoff_max,
            summary_interval: config.log.summary_interval,
            topology: relay.apply_topology.then(|| Topology::from_config(config)),
            database,
            broker: config.broker.clone(),
            watchdog: config.watchdog.clone(),
            grace: config.shutdown.grace,
        }
    }
}
