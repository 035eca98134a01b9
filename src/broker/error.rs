//! What goes wrong with the broker, said once: [`BrokerError`] (unavailable,
//! worth retrying; refused; a declaration refused), lapin's errors in a
//! sentence, and the bound every request to the broker has.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Cannot connect, or the connection or channel is gone; worth retrying.
    #[error(
        "RabbitMQ is unavailable: {0} — check broker.url (OUTBOX_BROKER_URL, --broker-url) \
         and that the server is running"
    )]
    Unavailable(String),
    /// The broker answered and refused us: a wrong user or password, a vhost
    /// that does not exist or that the user may not use. Retrying will not help.
    #[error("RabbitMQ refused the connection: {0}")]
    Refused(String),
    /// The broker refused a declaration (e.g. a queue exists with other arguments).
    #[error("{0}")]
    Topology(String),
    /// The broker blocks this process's connections (a resource alarm): a
    /// request waited on the block, not on a dead server. Worth retrying.
    #[error(
        "{0} — RabbitMQ raised a resource alarm (see `outboxctl doctor`); it is up, and what \
         waits goes out once the alarm clears"
    )]
    Blocked(String),
}

impl BrokerError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Blocked(_))
    }
}

pub(crate) fn describe(e: &lapin::Error) -> String {
    match e.kind() {
        lapin::ErrorKind::IOError(io) => crate::model::describe_io(io),
        lapin::ErrorKind::MissingHeartbeatError => {
            "no heartbeat from the server: the connection is dead".into()
        }
        _ => e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Bound a call to the broker; past `limit` it fails as the connection would.
pub(crate) async fn bounded<T>(
    limit: Duration,
    what: &str,
    call: impl std::future::Future<Output = lapin::Result<T>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(BrokerError::Unavailable(format!(
            "cannot {what}: {}",
            describe(&e)
        ))),
        Err(_) => Err(match super::pressure::current() {
            Some(block) => BrokerError::Blocked(format!(
                "{block}: cannot {what} (no answer within {})",
                humantime::format_duration(limit)
            )),
            None => BrokerError::Unavailable(format!(
                "cannot {what}: no answer within {}",
                humantime::format_duration(limit)
            )),
        }),
    }
}
