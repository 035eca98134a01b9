//! Taking deliveries off a queue, acknowledging them, and forwarding copies to
//! the retry queue or the dead-letter queue (with confirms, before the
//! original is acknowledged: a crash in between leaves a duplicate, never a
//! loss).

use std::time::Duration;

use futures_util::StreamExt;
use lapin::Acker;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};

use super::connection::Broker;
use super::error::{BrokerError, bounded, describe};
use super::topology::retry_queue;

/// Longest an acknowledgement, a cancel or a close may take. On a dead or
/// frozen connection they would otherwise wait forever.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Header names of the consumer's retry and dead-letter copies.
pub mod headers {
    /// Attempt number of this delivery (absent on the first).
    pub const ATTEMPT: &str = "x-outbox-attempt";
    /// Why the previous attempt failed.
    pub const LAST_ERROR: &str = "x-outbox-last-error";
    /// Why the message was dead-lettered.
    pub const DEATH_REASON: &str = "x-outbox-death-reason";
    /// Attempts made before it was dead-lettered.
    pub const ATTEMPTS: &str = "x-outbox-attempts";
    /// The work queue it was dead-lettered from.
    pub const QUEUE: &str = "x-outbox-queue";
    /// When it was dead-lettered (ms since the Unix epoch).
    pub const DIED_AT_MS: &str = "x-outbox-died-at-ms";
    /// Redeliveries counted by a quorum queue (after a consumer died).
    pub const DELIVERY_COUNT: &str = "x-delivery-count";
}

/// A message taken off a queue, not yet acknowledged.
pub struct Delivery {
    pub routing_key: String,
    pub redelivered: bool,
    pub body: Vec<u8>,
    properties: BasicProperties,
    acker: Acker,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("routing_key", &self.routing_key)
            .field("message_id", &self.message_id())
            .field("redelivered", &self.redelivered)
            .finish()
    }
}

impl Delivery {
    pub fn message_id(&self) -> Option<&str> {
        self.properties
            .message_id()
            .as_ref()
            .map(ShortString::as_str)
    }

    /// The AMQP `type` property (outboxctl puts the topic there).
    pub fn message_type(&self) -> Option<&str> {
        self.properties.kind().as_ref().map(ShortString::as_str)
    }

    pub fn header_i64(&self, name: &str) -> Option<i64> {
        match self.header(name)? {
            AMQPValue::LongLongInt(v) => Some(*v),
            AMQPValue::LongInt(v) => Some((*v).into()),
            AMQPValue::LongUInt(v) => Some((*v).into()),
            AMQPValue::ShortInt(v) => Some((*v).into()),
            AMQPValue::ShortUInt(v) => Some((*v).into()),
            AMQPValue::ShortShortInt(v) => Some((*v).into()),
            AMQPValue::ShortShortUInt(v) => Some((*v).into()),
            AMQPValue::Timestamp(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// Every header, as text, for display.
    pub fn headers_text(&self) -> Vec<(String, String)> {
        let Some(table) = self.properties.headers() else {
            return Vec::new();
        };
        table
            .inner()
            .iter()
            .map(|(k, v)| (k.to_string(), value_text(v)))
            .collect()
    }

    /// Every header as a JSON object (what `sql`, `http` and `exec`
    /// handlers receive).
    pub fn headers_json(&self) -> serde_json::Value {
        let Some(table) = self.properties.headers() else {
            return serde_json::Value::Object(Default::default());
        };
        to_json(&AMQPValue::FieldTable(table.clone()))
    }

    /// The timestamp property (seconds since the epoch).
    pub fn timestamp(&self) -> Option<u64> {
        *self.properties.timestamp()
    }

    pub fn header_str(&self, name: &str) -> Option<String> {
        match self.header(name)? {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            AMQPValue::ShortString(s) => Some(s.to_string()),
            _ => None,
        }
    }

    fn header(&self, name: &str) -> Option<&AMQPValue> {
        self.properties.headers().as_ref()?.inner().get(name)
    }

    pub async fn ack(&self) -> Result<(), BrokerError> {
        self.acknowledge(false).await
    }

    /// Acknowledge this delivery and every earlier one on its channel in
    /// one frame. A quorum queue applies one settle command for all of
    /// them; a thousand single acks become a thousand commands, and those
    /// still waiting in RabbitMQ's queue client when the channel closes are
    /// dropped (the messages come back to the queue; seen with 3.10).
    pub async fn ack_through(&self) -> Result<(), BrokerError> {
        self.acknowledge(true).await
    }

    async fn acknowledge(&self, multiple: bool) -> Result<(), BrokerError> {
        bounded(
            ACK_TIMEOUT,
            "acknowledge a delivery",
            self.acker.ack(BasicAckOptions { multiple }),
        )
        .await
        .and_then(|sent| {
            // lapin answers `false` instead of sending when the channel has
            // closed: the broker gives the message back to its queue.
            sent.then_some(()).ok_or_else(|| {
                BrokerError::Unavailable(
                    "the acknowledgement was not sent: the channel is closed (the message \
                     returns to its queue)"
                        .into(),
                )
            })
        })
    }

    /// Give the message back to its queue, for another consumer or later.
    pub async fn requeue(&self) -> Result<(), BrokerError> {
        let nack = self.acker.nack(BasicNackOptions {
            multiple: false,
            requeue: true,
        });
        bounded(ACK_TIMEOUT, "requeue a delivery", nack)
            .await
            .map(drop)
    }
}

/// Messages taken off a queue one at a time without acknowledging them:
/// those not acknowledged go back to the queue when the browser is closed
/// (or its connection drops), so looking loses nothing.
pub struct Browser {
    channel: Channel,
    queue: String,
    timeout: Duration,
}

impl Browser {
    /// The next message, or `None` when the queue has no more for us.
    pub async fn next(&self) -> Result<Option<Delivery>, BrokerError> {
        let get = self.channel.basic_get(
            ShortString::from(self.queue.as_str()),
            lapin::options::BasicGetOptions { no_ack: false },
        );
        let got = bounded(self.timeout, &format!("read {}", self.queue), get)
            .await
            .map_err(|e| {
                if e.to_string().contains("NOT_FOUND") {
                    BrokerError::Topology(format!(
                        "queue {} does not exist — run `outboxctl topology apply`",
                        self.queue
                    ))
                } else {
                    e
                }
            })?;
        Ok(got.map(|m| Delivery {
            routing_key: m.delivery.routing_key.to_string(),
            redelivered: m.delivery.redelivered,
            body: m.delivery.data,
            properties: m.delivery.properties,
            acker: m.delivery.acker,
        }))
    }

    /// Give every message not acknowledged back to the queue.
    pub async fn close(self) {
        if self.channel.status().connected() {
            let close = self.channel.close(200, "browser closed".into());
            let _ = bounded(CLOSE_TIMEOUT, "close the channel", close).await;
        }
    }
}

/// A consumer on one queue.
pub struct Subscription {
    channel: Channel,
    consumer: lapin::Consumer,
    tag: String,
}

impl Broker {
    /// Start consuming `queue` with manual acknowledgements and `prefetch`
    /// deliveries in flight.
    pub async fn subscribe(
        &self,
        queue: &str,
        prefetch: u16,
        tag: &str,
    ) -> Result<Subscription, BrokerError> {
        let channel = self.channel().await?;
        self.request(
            "set prefetch",
            channel.basic_qos(prefetch, BasicQosOptions::default()),
        )
        .await?;
        let consume = channel.basic_consume(
            ShortString::from(queue),
            ShortString::from(tag),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        );
        let consumer = self
            .request(&format!("consume {queue}"), consume)
            .await
            .map_err(|e| {
                let msg = e.to_string();
                if msg.contains("NOT_FOUND") {
                    BrokerError::Topology(format!(
                        "queue {queue} does not exist — run `outboxctl topology apply` or set consumer.queue"
                    ))
                } else {
                    e
                }
            })?;
        Ok(Subscription {
            channel,
            consumer,
            tag: tag.to_string(),
        })
    }

    /// Read `queue` without consuming it (see [`Browser`]).
    pub async fn browse(&self, queue: &str) -> Result<Browser, BrokerError> {
        Ok(Browser {
            channel: self.channel().await?,
            queue: queue.to_string(),
            timeout: self.timeout,
        })
    }

    /// Delete every ready message of `queue`; returns how many.
    pub async fn purge_queue(&self, queue: &str) -> Result<u32, BrokerError> {
        let channel = self.channel().await?;
        let purge = channel.queue_purge(
            ShortString::from(queue),
            lapin::options::QueuePurgeOptions::default(),
        );
        let n = self.request(&format!("purge {queue}"), purge).await?;
        let close = channel.close(200, "purged".into());
        let _ = bounded(CLOSE_TIMEOUT, "close the channel", close).await;
        Ok(n)
    }

    /// A confirm-mode channel that forwards deliveries of `queue` to its
    /// retry and dead-letter queues.
    pub async fn forwarder(
        &self,
        queue: &str,
        dead_letter_exchange: &str,
        confirm_timeout: Duration,
    ) -> Result<Forwarder, BrokerError> {
        let channel = self.channel().await?;
        self.request(
            "enable publisher confirms",
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        Ok(Forwarder {
            channel,
            queue: queue.to_string(),
            dead_letter_exchange: dead_letter_exchange.to_string(),
            confirm_timeout,
        })
    }
}

impl Subscription {
    /// The next delivery; `None` when the consumer or its connection ended.
    pub async fn next(&mut self) -> Option<Result<Delivery, BrokerError>> {
        let item = self.consumer.next().await?;
        Some(
            item.map(|d| Delivery {
                routing_key: d.routing_key.to_string(),
                redelivered: d.redelivered,
                body: d.data,
                properties: d.properties,
                acker: d.acker,
            })
            .map_err(|e| {
                BrokerError::Unavailable(format!("the delivery stream failed: {}", describe(&e)))
            }),
        )
    }

    /// Ask the broker to stop sending deliveries (those in hand stay valid).
    pub async fn cancel(&self) {
        let cancel = self.channel.basic_cancel(
            ShortString::from(self.tag.as_str()),
            BasicCancelOptions::default(),
        );
        let _ = bounded(CLOSE_TIMEOUT, "cancel the subscription", cancel).await;
    }

    /// Close the channel: every unacknowledged delivery returns to the queue.
    pub async fn close(self) {
        if self.channel.status().connected() {
            let close = self.channel.close(200, "consumer closed".into());
            let _ = bounded(CLOSE_TIMEOUT, "close the channel", close).await;
        }
    }
}

/// Publishes copies of deliveries to the retry or dead-letter queue.
pub struct Forwarder {
    channel: Channel,
    queue: String,
    dead_letter_exchange: String,
    confirm_timeout: Duration,
}

impl Forwarder {
    pub fn is_usable(&self) -> bool {
        self.channel.status().connected()
    }

    /// Send a copy to the retry queue of `delay` (one of the topology's
    /// tiers), which hands it back to the work queue when it has waited that
    /// long, as attempt number `attempt`. The copy comes back under the
    /// queue's name as routing key, so its `type` carries `topic`.
    pub async fn retry(
        &self,
        d: &Delivery,
        topic: &str,
        attempt: u32,
        delay: Duration,
        error: &str,
    ) -> Result<(), BrokerError> {
        let extra = [
            (headers::ATTEMPT, AMQPValue::LongLongInt(attempt.into())),
            (headers::LAST_ERROR, long_string(error)),
            (headers::QUEUE, long_string(&self.queue)),
        ];
        let props = copy_properties(d, topic, &extra);
        self.publish("", &retry_queue(&self.queue, delay), d, props)
            .await
    }

    /// Send a dead letter back to the work queue for a fresh start: without
    /// its death and attempt headers.
    /// Every copy is published pipelined, then every confirm awaited (within
    /// one `confirm_timeout`). `Ok` only when the broker confirmed them all;
    /// the caller acknowledges the originals after that.
    pub async fn restore_all(&self, ds: &[&Delivery]) -> Result<(), BrokerError> {
        let queue = self.queue.clone();
        let send = async {
            let mut confirms = Vec::with_capacity(ds.len());
            for d in ds {
                let confirm = self
                    .channel
                    .basic_publish(
                        ShortString::from(""),
                        ShortString::from(queue.as_str()),
                        BasicPublishOptions {
                            mandatory: true,
                            immediate: false,
                        },
                        &d.body,
                        restored_properties(d),
                    )
                    .await?;
                confirms.push(confirm);
            }
            let mut outcomes = Vec::with_capacity(confirms.len());
            for c in confirms {
                outcomes.push(c.await?);
            }
            Ok::<_, lapin::Error>(outcomes)
        };
        match tokio::time::timeout(self.confirm_timeout, send).await {
            Ok(Ok(outcomes)) => {
                for o in outcomes {
                    match o {
                        Confirmation::Ack(None) => {}
                        Confirmation::Ack(Some(_)) => {
                            return Err(BrokerError::Topology(format!(
                                "{queue} does not exist (the copy was returned) — run \
                                 `outboxctl topology apply`"
                            )));
                        }
                        _ => {
                            return Err(BrokerError::Unavailable(format!(
                                "the broker refused a copy for {queue}"
                            )));
                        }
                    }
                }
                Ok(())
            }
            Ok(Err(e)) => Err(BrokerError::Unavailable(format!(
                "forwarding to {queue} failed: {}",
                describe(&e)
            ))),
            Err(_) => Err(BrokerError::Unavailable(format!(
                "no confirm for the copies to {queue} in time"
            ))),
        }
    }

    /// Send a copy to `<queue>.dlq` with the reason and attempt count.
    pub async fn dead_letter(
        &self,
        d: &Delivery,
        topic: &str,
        attempts: u32,
        reason: &str,
    ) -> Result<(), BrokerError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut extra = vec![
            (headers::DEATH_REASON, long_string(reason)),
            (headers::ATTEMPTS, AMQPValue::LongLongInt(attempts.into())),
            (headers::QUEUE, long_string(&self.queue)),
            (headers::DIED_AT_MS, AMQPValue::LongLongInt(now_ms)),
        ];
        // A saga reply that could not be read (no message id, say) still
        // names its saga when its body does: `dlq ls|show` then link it.
        if let Some(id) = saga_id_in_body(d) {
            extra.push((crate::model::saga::ID, long_string(&id)));
        }
        let props = copy_properties(d, topic, &extra);
        let dlx = self.dead_letter_exchange.clone();
        self.publish(&dlx, &self.queue, d, props).await
    }

    async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        d: &Delivery,
        props: BasicProperties,
    ) -> Result<(), BrokerError> {
        let send = async {
            let confirm = self
                .channel
                .basic_publish(
                    ShortString::from(exchange),
                    ShortString::from(routing_key),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    &d.body,
                    props,
                )
                .await?;
            confirm.await
        };
        let where_to = if exchange.is_empty() {
            routing_key.to_string()
        } else {
            format!("{exchange} → {routing_key}")
        };
        match tokio::time::timeout(self.confirm_timeout, send).await {
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(_)))) => Err(BrokerError::Topology(format!(
                "{where_to} does not exist (the copy was returned) — run `outboxctl topology apply`"
            ))),
            Ok(Ok(_)) => Err(BrokerError::Unavailable(format!(
                "the broker refused the copy for {where_to}"
            ))),
            Ok(Err(e)) => Err(BrokerError::Unavailable(format!(
                "forwarding to {where_to} failed: {}",
                describe(&e)
            ))),
            Err(_) => Err(BrokerError::Unavailable(format!(
                "no confirm for the copy to {where_to} in time"
            ))),
        }
    }

    pub async fn close(self) {
        if self.channel.status().connected() {
            let close = self.channel.close(200, "forwarder closed".into());
            let _ = bounded(CLOSE_TIMEOUT, "close the channel", close).await;
        }
    }
}

/// Headers a restored message sheds: it starts over at attempt 1.
/// A dead letter's properties for a fresh start in its work queue: without
/// its death and attempt headers.
fn restored_properties(d: &Delivery) -> BasicProperties {
    let props = copy_properties(d, "", &[]);
    let mut table = FieldTable::default();
    if let Some(h) = props.headers() {
        for (k, v) in h {
            if !RESTORE_DROPS.contains(&k.as_str()) && k.as_str() != "x-death" {
                table.insert(k.clone(), v.clone());
            }
        }
    }
    props.with_headers(table)
}

const RESTORE_DROPS: &[&str] = &[
    headers::ATTEMPT,
    headers::LAST_ERROR,
    headers::DEATH_REASON,
    headers::ATTEMPTS,
    headers::QUEUE,
    headers::DIED_AT_MS,
];

/// An AMQP field value as JSON: numbers stay numbers, byte strings become text.
fn to_json(v: &AMQPValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AMQPValue::Boolean(b) => Value::Bool(*b),
        AMQPValue::ShortShortInt(i) => (*i).into(),
        AMQPValue::ShortShortUInt(i) => (*i).into(),
        AMQPValue::ShortInt(i) => (*i).into(),
        AMQPValue::ShortUInt(i) => (*i).into(),
        AMQPValue::LongInt(i) => (*i).into(),
        AMQPValue::LongUInt(i) => (*i).into(),
        AMQPValue::LongLongInt(i) => (*i).into(),
        AMQPValue::Timestamp(t) => (*t).into(),
        AMQPValue::Float(f) => serde_json::json!(f),
        AMQPValue::Double(d) => serde_json::json!(d),
        AMQPValue::Void => Value::Null,
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(to_json).collect()),
        AMQPValue::FieldTable(t) => Value::Object(
            t.inner()
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
        other => Value::String(value_text(other)),
    }
}

fn value_text(v: &AMQPValue) -> String {
    match v {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::LongLongInt(i) => i.to_string(),
        AMQPValue::LongInt(i) => i.to_string(),
        AMQPValue::Double(d) => d.to_string(),
        AMQPValue::Timestamp(t) => t.to_string(),
        AMQPValue::Void => "null".into(),
        AMQPValue::FieldArray(a) => format!(
            "[{}]",
            a.as_slice()
                .iter()
                .map(value_text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        AMQPValue::FieldTable(t) => format!(
            "{{{}}}",
            t.inner()
                .iter()
                .map(|(k, v)| format!("{k}: {}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

/// A persistent copy of the delivery's properties with `extra` headers set.
/// Left out: a stale quorum redelivery count, any expiration (the copy's
/// own), and `user-id`, which the broker checks against our connection.
/// The `saga_id` a message without an `x-saga-id` header carries in its
/// JSON body, when it is a UUID.
fn saga_id_in_body(d: &Delivery) -> Option<String> {
    if d.header_str(crate::model::saga::ID).is_some() {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Body {
        saga_id: uuid::Uuid,
    }
    serde_json::from_slice::<Body>(&d.body)
        .ok()
        .map(|b| b.saga_id.to_string())
}

fn copy_properties(d: &Delivery, topic: &str, extra: &[(&str, AMQPValue)]) -> BasicProperties {
    let mut table = FieldTable::default();
    if let Some(original) = d.properties.headers() {
        for (k, v) in original {
            if k.as_str() != headers::DELIVERY_COUNT {
                table.insert(k.clone(), v.clone());
            }
        }
    }
    for (k, v) in extra {
        table.insert(ShortString::from(*k), v.clone());
    }
    let p = &d.properties;
    let mut copy = BasicProperties::default()
        .with_headers(table)
        .with_delivery_mode(2);
    if let Some(v) = p.content_type() {
        copy = copy.with_content_type(v.clone());
    }
    if let Some(v) = p.content_encoding() {
        copy = copy.with_content_encoding(v.clone());
    }
    if let Some(v) = p.message_id() {
        copy = copy.with_message_id(v.clone());
    }
    if let Some(v) = p.correlation_id() {
        copy = copy.with_correlation_id(v.clone());
    }
    if let Some(v) = p.timestamp() {
        copy = copy.with_timestamp(*v);
    }
    match p.kind() {
        Some(v) => copy = copy.with_type(v.clone()),
        None if !topic.is_empty() => {
            if let Ok(t) = ShortString::try_new(topic) {
                copy = copy.with_type(t);
            }
        }
        None => {}
    }
    if let Some(v) = p.app_id() {
        copy = copy.with_app_id(v.clone());
    }
    if let Some(v) = p.priority() {
        copy = copy.with_priority(*v);
    }
    copy
}
