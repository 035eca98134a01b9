//! An independent observer for `outboxctl verify`: a queue of its own bound
//! to every topic of the exchange, whose every copy is reported — so a
//! message published twice is seen twice, whatever the consumers make of it.

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};

use super::connection::Broker;
use super::error::BrokerError;
use crate::model::headers;

/// One copy of a message as the broker routed it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The outbox row (`x-outbox-id`), when the publisher set it.
    pub outbox_id: Option<i64>,
    pub partition_key: Option<String>,
}

impl Broker {
    /// Declare `queue` (not durable: it lives as long as the run), bind it to
    /// `exchange` for every routing key, and report each copy to `on` until
    /// the connection closes. The copies are acknowledged as they come.
    pub async fn observe(
        &self,
        exchange: &str,
        queue: &str,
        mut on: impl FnMut(Seen) + Send + 'static,
    ) -> Result<tokio::task::JoinHandle<()>, BrokerError> {
        let channel = self.channel().await?;
        let declare = QueueDeclareOptions {
            durable: false,
            ..QueueDeclareOptions::default()
        };
        self.request(
            "declare the observer queue",
            channel.queue_declare(queue.into(), declare, FieldTable::default()),
        )
        .await?;
        self.request(
            "bind the observer queue",
            channel.queue_bind(
                queue.into(),
                exchange.into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        self.request(
            "set the observer's prefetch",
            channel.basic_qos(1000, BasicQosOptions::default()),
        )
        .await?;
        let mut consumer = self
            .request(
                "subscribe the observer",
                channel.basic_consume(
                    queue.into(),
                    "outboxctl-observer".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                ),
            )
            .await?;
        Ok(tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                let header = |name: &str| {
                    d.properties
                        .headers()
                        .as_ref()
                        .and_then(|h| h.inner().get(name).cloned())
                };
                let outbox_id = match header(headers::OUTBOX_ID) {
                    Some(AMQPValue::LongLongInt(id)) => Some(id),
                    _ => None,
                };
                let partition_key = match header(headers::PARTITION_KEY) {
                    Some(AMQPValue::LongString(k)) => Some(k.to_string()),
                    _ => None,
                };
                on(Seen {
                    outbox_id,
                    partition_key,
                });
                if d.acker.ack(BasicAckOptions::default()).await.is_err() {
                    break;
                }
            }
        }))
    }
}
