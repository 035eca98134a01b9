//! One AMQP connection shared by the workers of a process (the relay's
//! publishers, the consumer's sessions), re-established when it is gone —
//! and then the topology is declared again, which heals an exchange or queue
//! deleted meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Mutex;
use tracing::{debug, info};

use super::connection::Broker;
use super::error::BrokerError;
use super::publish::Publisher;
use super::topology::Topology;
use crate::config::BrokerConfig;

pub struct Link {
    config: BrokerConfig,
    /// Shown in the management UI: `outboxctl relay (pid 1234)`.
    name: String,
    topology: Option<Topology>,
    current: Mutex<Option<Arc<Broker>>>,
    /// The node of the last connection (`usize::MAX`: none yet).
    last_node: AtomicUsize,
}

impl Link {
    /// A link that declares `topology` on every new connection, when given.
    pub fn new(config: &BrokerConfig, role: &str, topology: Option<Topology>) -> Self {
        Self {
            config: config.clone(),
            name: format!("outboxctl {role} (pid {})", std::process::id()),
            topology,
            current: Mutex::new(None),
            last_node: AtomicUsize::new(usize::MAX),
        }
    }

    /// A live connection: the current one, or a new one if it is gone.
    pub async fn connection(&self) -> Result<Arc<Broker>, BrokerError> {
        let mut current = self.current.lock().await;
        if let Some(b) = current.as_ref()
            && b.is_connected()
        {
            return Ok(b.clone());
        }
        // Of a cluster, the node after the one that went away comes first.
        let last = self.last_node.load(Ordering::Relaxed);
        let first = if last == usize::MAX { 0 } else { last + 1 };
        let broker = Arc::new(Broker::connect_from(&self.config, &self.name, first).await?);
        self.last_node.store(broker.node(), Ordering::Relaxed);
        if let Some(topology) = &self.topology {
            broker.apply_topology(topology).await?;
        }
        if last != usize::MAX {
            info!(node = broker.address(), "reconnected to RabbitMQ");
        } else {
            debug!(node = broker.address(), "connected to RabbitMQ");
        }
        *current = Some(broker.clone());
        Ok(broker)
    }

    /// Stop using `broker` — it failed in a way its status does not show (a
    /// frozen link): the next [`connection`](Self::connection) opens a new
    /// one. What is left of it closes in the background.
    pub async fn discard(&self, broker: &Arc<Broker>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, broker)) {
            let old = current.take().expect("checked above");
            tokio::spawn(async move { old.close().await });
        }
    }

    /// A confirm-mode channel publishing to `broker.exchange`.
    pub async fn publisher(&self) -> Result<Publisher, BrokerError> {
        let broker = self.connection().await?;
        broker
            .publisher(&self.config.exchange, self.config.confirm_timeout)
            .await
    }

    /// Close the connection (bounded).
    pub async fn close(&self) {
        if let Some(b) = self.current.lock().await.take() {
            b.close().await;
        }
    }
}
