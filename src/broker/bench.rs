//! AMQP used only by `outboxctl bench`: the broker's own limits, measured
//! without a database — publishing with a sliding window of confirms, and a
//! consumer that acknowledges without doing anything.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Confirmation};

use super::connection::Broker;
use super::error::{BrokerError, describe};
use super::publish::properties;
use crate::model::Envelope;

fn unavailable(e: lapin::Error) -> BrokerError {
    BrokerError::Unavailable(describe(&e))
}

/// A message for [`Broker::publish_stream`].
pub struct RawMessage {
    pub message_id: String,
    pub message_type: String,
    pub body: Vec<u8>,
}

impl Broker {
    /// Publish every message (persistent, mandatory) keeping up to `window`
    /// unconfirmed at once; fails on the first nack or return. Returns the
    /// time from the first publish to the last confirm.
    pub async fn publish_stream(
        &self,
        exchange: &str,
        routing_key: &str,
        messages: impl Iterator<Item = RawMessage>,
        window: usize,
    ) -> Result<Duration, BrokerError> {
        let messages = messages.map(|m| {
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(ShortString::from(m.message_id))
                .with_type(ShortString::from(m.message_type))
                .with_content_type("application/json".into());
            Ok((ShortString::from(routing_key), props, m.body))
        });
        self.publish_window(exchange, messages, window).await
    }

    /// Publish outbox rows exactly as the relay would — routing key, AMQP
    /// properties and headers, mandatory flag, body — with a sliding window of
    /// `window` unconfirmed messages and no database: the fair limit of a
    /// relay. Returns the time from the first publish to the last confirm.
    pub async fn publish_rows(
        &self,
        exchange: &str,
        rows: impl Iterator<Item = Envelope>,
        window: usize,
    ) -> Result<Duration, BrokerError> {
        let messages = rows.map(|row| {
            let key = ShortString::try_new(row.topic.as_str())
                .map_err(|e| BrokerError::Unavailable(format!("topic: {e}")))?;
            let props = properties(&row).map_err(BrokerError::Unavailable)?;
            Ok((key, props, row.payload.into_bytes()))
        });
        self.publish_window(exchange, messages, window).await
    }

    async fn publish_window(
        &self,
        exchange: &str,
        messages: impl Iterator<Item = Result<(ShortString, BasicProperties, Vec<u8>), BrokerError>>,
        window: usize,
    ) -> Result<Duration, BrokerError> {
        let channel = self.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        let started = Instant::now();
        let mut in_flight = FuturesUnordered::new();
        let check = |c: lapin::Result<Confirmation>| match c {
            Ok(Confirmation::Ack(None)) => Ok(()),
            Ok(other) => Err(BrokerError::Unavailable(format!(
                "the broker did not take a message: {other:?}"
            ))),
            Err(e) => Err(unavailable(e)),
        };
        for m in messages {
            let (routing_key, props, body) = m?;
            if in_flight.len() >= window
                && let Some(c) = in_flight.next().await
            {
                check(c)?;
            }
            let confirm = channel
                .basic_publish(
                    exchange.into(),
                    routing_key,
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    &body,
                    props,
                )
                .await
                .map_err(unavailable)?;
            in_flight.push(confirm);
        }
        while let Some(c) = in_flight.next().await {
            check(c)?;
        }
        let elapsed = started.elapsed();
        let _ = channel.close(200, "done".into()).await;
        Ok(elapsed)
    }

    /// Delete a queue and whatever it holds.
    pub async fn delete_queue(&self, queue: &str) -> Result<(), BrokerError> {
        let channel = self.channel().await?;
        channel
            .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "done".into()).await;
        Ok(())
    }

    pub async fn delete_exchange(&self, exchange: &str) -> Result<(), BrokerError> {
        let channel = self.channel().await?;
        channel
            .exchange_delete(
                exchange.into(),
                lapin::options::ExchangeDeleteOptions::default(),
            )
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "done".into()).await;
        Ok(())
    }

    /// Take `n` messages off `queue` and acknowledge each, doing nothing else.
    /// Returns the time from subscribing to the last acknowledgement.
    pub async fn drain_and_ack(
        &self,
        queue: &str,
        n: u64,
        prefetch: u16,
    ) -> Result<Duration, BrokerError> {
        let channel = self.channel().await?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let started = Instant::now();
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "bench-baseline".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let mut seen = 0;
        while seen < n {
            let d = consumer
                .next()
                .await
                .ok_or_else(|| BrokerError::Unavailable("the consumer ended early".into()))?
                .map_err(unavailable)?;
            d.acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(unavailable)?;
            seen += 1;
        }
        let elapsed = started.elapsed();
        let _ = channel.close(200, "done".into()).await;
        Ok(elapsed)
    }

    /// Take every message off `queue` without acknowledgements (no_ack: the
    /// cheapest a broker can hand them out), counting them in `seen`, until
    /// `stop`.
    pub async fn count_off(
        &self,
        queue: &str,
        seen: std::sync::Arc<std::sync::atomic::AtomicU64>,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<(), BrokerError> {
        let channel = self.channel().await?;
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "bench-sink".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        loop {
            let next = tokio::select! {
                next = consumer.next() => next,
                () = stop.cancelled() => break,
            };
            match next {
                Some(Ok(_)) => {
                    seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Some(Err(e)) => return Err(unavailable(e)),
                None => break,
            }
        }
        let _ = channel.close(200, "done".into()).await;
        Ok(())
    }
}
