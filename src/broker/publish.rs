//! Publishing with publisher confirms.
//!
//! A batch is published pipelined: every message goes out before the first
//! confirm is awaited, then all confirms are awaited against one deadline.
//! Each message gets its own verdict; only [`PublishOutcome::Confirmed`]
//! means the broker took responsibility for it.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};
use tokio::time::{Instant, timeout_at};

use super::error::describe;
use crate::model::{Envelope, PublishOutcome, headers};

pub struct Publisher {
    channel: Channel,
    exchange: ShortString,
    confirm_timeout: Duration,
    /// Set once a confirm went missing or the channel failed: later confirms
    /// on this channel could be attributed to the wrong message, so the
    /// caller must open a new one.
    poisoned: bool,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("exchange", &self.exchange)
            .field("usable", &self.is_usable())
            .finish()
    }
}

impl Publisher {
    /// A publisher on `channel`, which is in confirm mode.
    pub(super) fn new(channel: Channel, exchange: &str, confirm_timeout: Duration) -> Self {
        Self {
            channel,
            exchange: ShortString::from(exchange),
            confirm_timeout,
            poisoned: false,
        }
    }

    /// Whether this publisher can take another batch.
    pub fn is_usable(&self) -> bool {
        !self.poisoned && self.channel.status().connected()
    }

    pub async fn close(self) {
        if self.channel.status().connected() {
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                self.channel.close(200, "publisher closed".into()),
            )
            .await;
        }
    }

    /// Publish `batch` (persistent, mandatory) and wait for every confirm.
    /// Returns one outcome per message, in order, and how the time was
    /// spent.
    pub async fn publish(&mut self, batch: &[&Envelope]) -> Wave {
        let started = Instant::now();
        let mut timing = WaveTiming::default();
        let outcomes = self.publish_timed(batch, started, &mut timing).await;
        timing.confirm = started.elapsed().saturating_sub(timing.handed_over);
        Wave { outcomes, timing }
    }

    async fn publish_timed(
        &mut self,
        batch: &[&Envelope],
        started: Instant,
        timing: &mut WaveTiming,
    ) -> Vec<PublishOutcome> {
        let deadline = started + self.confirm_timeout;
        let mut outcomes: Vec<Option<PublishOutcome>> = vec![None; batch.len()];
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };

        let mut sends = Vec::with_capacity(batch.len());
        for (i, env) in batch.iter().enumerate() {
            let prepared = ShortString::try_new(env.topic.as_str())
                .map_err(|e| format!("topic: {e}"))
                .and_then(|key| properties(env).map(|props| (key, props)));
            match prepared {
                Ok((routing_key, props)) => {
                    let channel = &self.channel;
                    let exchange = self.exchange.clone();
                    sends.push(async move {
                        let sent = channel
                            .basic_publish(
                                exchange,
                                routing_key,
                                options,
                                env.payload.as_bytes(),
                                props,
                            )
                            .await;
                        (i, sent)
                    });
                }
                Err(e) => outcomes[i] = Some(PublishOutcome::Invalid(e)),
            }
        }

        // Every publish is handed to the connection before any confirm is
        // awaited: the whole batch is in flight at once.
        let sent = timeout_at(deadline, join_all(sends)).await;
        timing.handed_over = started.elapsed();
        let sent = match sent {
            Ok(sent) => sent,
            Err(_) => {
                // Flow control (connection.blocked) or a stalled socket.
                self.poisoned = true;
                return fill(outcomes, PublishOutcome::TimedOut);
            }
        };

        let confirms = sent.into_iter().map(|(i, sent)| async move {
            let verdict = match sent {
                Err(e) => Err(describe(&e)),
                Ok(confirm) => match timeout_at(deadline, confirm).await {
                    Err(_) => return (i, None),
                    Ok(result) => result.map_err(|e| describe(&e)),
                },
            };
            (i, Some(verdict))
        });
        let verdicts = join_all(confirms).await;

        // lapin hands a basic.return to whichever confirm it completes next,
        // not necessarily the returned message's own. The returned message
        // carries its message-id, which is unique per row: match on that.
        let mut returned: HashMap<String, String> = HashMap::new();
        let mut acked = vec![false; batch.len()];
        for (i, verdict) in verdicts {
            match verdict {
                None => {
                    self.poisoned = true;
                    outcomes[i] = Some(PublishOutcome::TimedOut);
                }
                Some(Err(e)) => {
                    self.poisoned = true;
                    outcomes[i] = Some(PublishOutcome::ConnectionLost(e));
                }
                Some(Ok(confirmation)) => {
                    match &confirmation {
                        Confirmation::Ack(_) => acked[i] = true,
                        Confirmation::Nack(_) => outcomes[i] = Some(PublishOutcome::Nacked),
                        // Confirm mode is always on for a Publisher.
                        Confirmation::NotRequested => {
                            self.poisoned = true;
                            outcomes[i] = Some(PublishOutcome::ConnectionLost(
                                "publisher confirms are not enabled on this channel".into(),
                            ));
                        }
                    }
                    if let Some(msg) = confirmation.take_message()
                        && let Some(id) = msg.delivery.properties.message_id()
                    {
                        returned.insert(id.to_string(), msg.reply_text.to_string());
                    }
                }
            }
        }
        for (i, env) in batch.iter().enumerate() {
            if let Some(reply) = returned.remove(&env.message_id.to_string()) {
                outcomes[i] = Some(PublishOutcome::Returned { reply });
            } else if acked[i] && outcomes[i].is_none() {
                outcomes[i] = Some(PublishOutcome::Confirmed);
            }
        }
        fill(outcomes, PublishOutcome::TimedOut)
    }
}

/// What became of a wave: one outcome per message, in order.
#[derive(Debug)]
pub struct Wave {
    pub outcomes: Vec<PublishOutcome>,
    pub timing: WaveTiming,
}

/// Where a wave's time went.
#[derive(Debug, Default, Clone, Copy)]
pub struct WaveTiming {
    /// Until every message was handed to the connection (flow control and
    /// a full socket show here).
    pub handed_over: Duration,
    /// From then to the last confirm: the broker's work (queue writes, and
    /// for a quorum queue its replication and fsync).
    pub confirm: Duration,
}

fn fill(outcomes: Vec<Option<PublishOutcome>>, missing: PublishOutcome) -> Vec<PublishOutcome> {
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| missing.clone()))
        .collect()
}

/// AMQP properties for an outbox row: persistent, its message id, creation
/// time, JSON content type, the row's headers plus outboxctl's own.
pub(super) fn properties(env: &Envelope) -> Result<BasicProperties, String> {
    let mut table = FieldTable::default();
    match &env.headers {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                table.insert(header_key(k)?, to_amqp(v)?);
            }
        }
        serde_json::Value::Null => {}
        _ => return Err("headers must be a JSON object".into()),
    }
    table.insert(headers::OUTBOX_ID.into(), AMQPValue::LongLongInt(env.id));
    table.insert(
        headers::CREATED_AT_MS.into(),
        AMQPValue::LongLongInt(env.created_at.timestamp_millis()),
    );
    if let Some(key) = &env.partition_key {
        table.insert(
            headers::PARTITION_KEY.into(),
            AMQPValue::LongString(LongString::from(key.as_str())),
        );
    }
    if let Some(tp) = &env.traceparent {
        table.insert(
            headers::TRACEPARENT.into(),
            AMQPValue::LongString(LongString::from(tp.as_str())),
        );
    }
    Ok(BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(ShortString::from(env.message_id.to_string()))
        .with_timestamp(env.created_at.timestamp().max(0) as u64)
        .with_content_type("application/json".into())
        // The topic again: a retried or dead-lettered copy travels under
        // another routing key, and `type` is where consumers find it.
        .with_type(ShortString::try_new(env.topic.as_str()).map_err(|e| format!("topic: {e}"))?)
        .with_app_id("outboxctl".into())
        .with_headers(table))
}

fn header_key(k: &str) -> Result<ShortString, String> {
    ShortString::try_new(k).map_err(|_| format!("header name {:.40}… is longer than 255 bytes", k))
}

fn to_amqp(v: &serde_json::Value) -> Result<AMQPValue, String> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => AMQPValue::Void,
        Value::Bool(b) => AMQPValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AMQPValue::LongLongInt(i),
            None => AMQPValue::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        Value::Array(items) => AMQPValue::FieldArray(FieldArray::from(
            items.iter().map(to_amqp).collect::<Result<Vec<_>, _>>()?,
        )),
        Value::Object(map) => {
            let mut t = FieldTable::default();
            for (k, v) in map {
                t.insert(header_key(k)?, to_amqp(v)?);
            }
            AMQPValue::FieldTable(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_headers_map_to_amqp_types() {
        let v = serde_json::json!({"s": "x", "i": -3, "f": 1.5, "b": true, "n": null, "a": [1, "y"], "o": {"k": 2}});
        let AMQPValue::FieldTable(t) = to_amqp(&v).unwrap() else {
            panic!("not a table");
        };
        let t = t.inner();
        assert_eq!(t.get("s"), Some(&AMQPValue::LongString("x".into())));
        assert_eq!(t.get("i"), Some(&AMQPValue::LongLongInt(-3)));
        assert_eq!(t.get("f"), Some(&AMQPValue::Double(1.5)));
        assert_eq!(t.get("b"), Some(&AMQPValue::Boolean(true)));
        assert_eq!(t.get("n"), Some(&AMQPValue::Void));
        assert!(matches!(t.get("a"), Some(AMQPValue::FieldArray(_))));
        assert!(matches!(t.get("o"), Some(AMQPValue::FieldTable(_))));
    }

    #[test]
    fn overlong_header_name_is_invalid_not_a_panic() {
        let v = serde_json::json!({ "k".repeat(300): 1 });
        assert!(to_amqp(&v).unwrap_err().contains("longer than 255 bytes"));
    }
}
