//! One AMQP connection ([`Broker`]): to the first node of `broker.url`
//! that answers, with heartbeats; channels on it, and the passive looks at
//! exchanges and queues every part uses.

use std::time::Duration;

use lapin::options::ConfirmSelectOptions;
use lapin::{Connection, ConnectionProperties};

use super::error::{BrokerError, bounded, describe};
use super::publish::Publisher;
use crate::config::{BrokerConfig, SecretUrl};

/// One AMQP connection. Channels are cheap; make one per publisher.
pub struct Broker {
    conn: Connection,
    /// Longest any request to the broker may wait for its answer
    /// (`broker.confirm_timeout`).
    pub(super) timeout: Duration,
    /// Index of the node in `broker.url`, and its `host:port`.
    node: usize,
    address: String,
}

fn address(node: &SecretUrl) -> String {
    node.parsed()
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            let port = u
                .port()
                .unwrap_or(if u.scheme() == "amqps" { 5671 } else { 5672 });
            Some(format!("{host}:{port}"))
        })
        .unwrap_or_else(|| "?".into())
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// What a passive queue declaration tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    pub ready: u64,
    pub consumers: u64,
}

fn no_answer(limit: Duration) -> BrokerError {
    BrokerError::Unavailable(format!(
        "the broker did not answer within {}",
        humantime::format_duration(limit)
    ))
}

/// A passive declaration answers NOT_FOUND by closing the channel; anything
/// else is a real error.
async fn finish_passive<T: Default>(
    channel: lapin::Channel,
    result: lapin::Result<T>,
) -> Result<T, BrokerError> {
    match result {
        Ok(v) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), channel.close(200, "done".into()))
                .await;
            Ok(v)
        }
        Err(e) if describe(&e).contains("NOT_FOUND") => Ok(T::default()),
        Err(e) => Err(BrokerError::Unavailable(describe(&e))),
    }
}

/// Heartbeats notice a silently dead peer; lapin's default waits for the
/// server's 60 s proposal.
const DEFAULT_HEARTBEAT_SECS: u16 = 10;

fn with_heartbeat(url: &SecretUrl) -> String {
    match url.parsed() {
        Ok(mut u) if !u.query_pairs().any(|(k, _)| k == "heartbeat") => {
            u.query_pairs_mut()
                .append_pair("heartbeat", &DEFAULT_HEARTBEAT_SECS.to_string());
            u.to_string()
        }
        _ => url.expose().to_string(),
    }
}

impl Broker {
    /// Connect within `broker.connect_timeout`. `name` shows in the management UI.
    /// Of a cluster (`broker.url` listing several nodes), the first that answers.
    pub async fn connect(cfg: &BrokerConfig, name: &str) -> Result<Self, BrokerError> {
        Self::connect_from(cfg, name, 0).await
    }

    /// Connect to the first node of `broker.url` that answers, trying them in
    /// order from the `first`-th (wrapping around): a process whose node went
    /// away starts with the next one.
    pub async fn connect_from(
        cfg: &BrokerConfig,
        name: &str,
        first: usize,
    ) -> Result<Self, BrokerError> {
        let nodes = cfg.url.nodes();
        let mut failures = Vec::new();
        for k in 0..nodes.len() {
            let i = (first + k) % nodes.len();
            match Self::connect_node(cfg, &nodes[i], name).await {
                Ok(conn) => {
                    return Ok(Self {
                        conn,
                        timeout: cfg.confirm_timeout,
                        node: i,
                        address: address(&nodes[i]),
                    });
                }
                // The same users on every node: a refusal is the answer.
                Err(e @ BrokerError::Refused(_)) => return Err(e),
                Err(e) => failures.push(e),
            }
        }
        match failures.len() {
            1 => Err(failures.remove(0)),
            n => Err(BrokerError::Unavailable(format!(
                "none of the {n} nodes of broker.url answers: {}",
                failures
                    .iter()
                    .map(|e| match e {
                        BrokerError::Unavailable(m) => m.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
    }

    async fn connect_node(
        cfg: &BrokerConfig,
        node: &SecretUrl,
        name: &str,
    ) -> Result<Connection, BrokerError> {
        let props = ConnectionProperties::default().with_connection_name(name.into());
        let url = with_heartbeat(node);
        let conn = tokio::time::timeout(cfg.connect_timeout, Connection::connect(&url, props))
            .await
            .map_err(|_| {
                BrokerError::Unavailable(format!(
                    "cannot connect to {node}: no answer within {}",
                    humantime::format_duration(cfg.connect_timeout)
                ))
            })?
            .map_err(|e| {
                let why = describe(&e);
                if why.contains("ACCESS_REFUSED") || why.contains("NOT_ALLOWED") {
                    BrokerError::Refused(format!(
                        "{node}: {why} — check the user, password and vhost in broker.url \
                         (OUTBOX_BROKER_URL, --broker-url)"
                    ))
                } else {
                    BrokerError::Unavailable(format!("cannot connect to {node}: {why}"))
                }
            })?;
        super::pressure::watch(&conn, name);
        Ok(conn)
    }

    /// Which node of `broker.url` this connection went to (0 for the first).
    pub fn node(&self) -> usize {
        self.node
    }

    /// `host:port` of the node this connection went to.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn is_connected(&self) -> bool {
        self.conn.status().connected()
    }

    pub fn vhost(&self) -> String {
        self.conn.status().vhost().to_string()
    }

    pub(crate) async fn channel(&self) -> Result<lapin::Channel, BrokerError> {
        bounded(self.timeout, "open a channel", self.conn.create_channel()).await
    }

    /// Bound a request on this connection by `broker.confirm_timeout`.
    pub(crate) async fn request<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = lapin::Result<T>>,
    ) -> Result<T, BrokerError> {
        bounded(self.timeout, what, call).await
    }

    /// Open a confirm-mode channel that publishes to `exchange`.
    pub async fn publisher(
        &self,
        exchange: &str,
        confirm_timeout: Duration,
    ) -> Result<Publisher, BrokerError> {
        let channel = self.channel().await?;
        self.request(
            "enable publisher confirms",
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        Ok(Publisher::new(channel, exchange, confirm_timeout))
    }

    /// Whether an exchange exists (a passive declare, on a throw-away channel:
    /// the broker closes the channel when it does not).
    pub async fn exchange_exists(&self, name: &str) -> Result<bool, BrokerError> {
        let channel = self.channel().await?;
        let options = lapin::options::ExchangeDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let found = tokio::time::timeout(
            self.timeout,
            channel.exchange_declare(
                name.into(),
                lapin::ExchangeKind::Topic,
                options,
                lapin::types::FieldTable::default(),
            ),
        )
        .await
        .map_err(|_| no_answer(self.timeout))?;
        finish_passive(channel, found.map(|()| true)).await
    }

    /// Ready messages and consumers of a queue, or `None` if it does not exist.
    pub async fn queue_stats(&self, name: &str) -> Result<Option<QueueStats>, BrokerError> {
        let channel = self.channel().await?;
        let options = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let found = tokio::time::timeout(
            self.timeout,
            channel.queue_declare(name.into(), options, lapin::types::FieldTable::default()),
        )
        .await
        .map_err(|_| no_answer(self.timeout))?;
        let stats = found.map(|q| QueueStats {
            ready: u64::from(q.message_count()),
            consumers: u64::from(q.consumer_count()),
        });
        finish_passive(channel, stats.map(Some)).await
    }

    /// Close the connection, waiting at most a second: on a dead or frozen
    /// connection there is nobody to say goodbye to.
    pub async fn close(&self) {
        if self.is_connected() {
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                self.conn.close(200, "outboxctl closing".into()),
            )
            .await;
        }
    }
}
