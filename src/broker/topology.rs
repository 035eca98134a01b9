//! The RabbitMQ objects outboxctl relies on, declared idempotently:
//!
//! ```text
//! exchange <exchange> (topic) ──binding──► <queue>          work queue
//!                                            │ reject / delivery limit
//! exchange <dead_letter_exchange> (direct) ◄─┘ routing key <queue>
//!          └──► <queue>.dlq                 dead letters, kept for operators
//! <queue>.retry ──message TTL expires──► default exchange ──► <queue>
//! ```
//!
//! Declaring an object that exists with the same arguments is a no-op;
//! different arguments are refused by the broker and reported with the fix.

use lapin::ExchangeKind;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use super::{Broker, BrokerError, describe};
use crate::config::{Config, QueueConfig, QueueType};

/// The declared shape, derived from `[broker]` and `[[handlers]]`.
#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub queue_type: QueueType,
    pub queues: Vec<QueueConfig>,
}

pub fn retry_queue(queue: &str) -> String {
    format!("{queue}.retry")
}

pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dlq")
}

impl Topology {
    /// The exchanges and queues of `[broker]`, each queue bound to its
    /// `bindings` and to the topics of its handlers.
    pub fn from_config(config: &Config) -> Self {
        let cfg = &config.broker;
        Self {
            exchange: cfg.exchange.clone(),
            dead_letter_exchange: cfg.dead_letter_exchange.clone(),
            queue_type: cfg.queue_type,
            queues: config.bound_queues(),
        }
    }

    fn base_args(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(self.queue_type.as_str().into()),
        );
        args
    }

    /// Arguments that make dead-lettering out of a queue go to `exchange`
    /// with `routing_key`. Quorum queues dead-letter at-least-once only with
    /// `reject-publish` overflow; classic queues have no such option.
    fn dead_letter_args(&self, exchange: &str, routing_key: &str) -> FieldTable {
        let mut args = self.base_args();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(LongString::from(exchange)),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(LongString::from(routing_key)),
        );
        if self.queue_type == QueueType::Quorum {
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
        }
        args
    }

    pub(super) async fn apply(&self, broker: &Broker) -> Result<Vec<String>, BrokerError> {
        let channel = broker.channel().await?;
        let mut report = Vec::new();
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        let kind = self.queue_type.as_str();

        channel
            .exchange_declare(
                ShortString::from(self.exchange.as_str()),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|e| refused("exchange", &self.exchange, "broker.exchange", &e))?;
        report.push(format!("exchange {} (topic)", self.exchange));
        channel
            .exchange_declare(
                ShortString::from(self.dead_letter_exchange.as_str()),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                refused(
                    "exchange",
                    &self.dead_letter_exchange,
                    "broker.dead_letter_exchange",
                    &e,
                )
            })?;
        report.push(format!(
            "exchange {} (direct, dead letters)",
            self.dead_letter_exchange
        ));

        for q in &self.queues {
            let declare = |name: String, args: FieldTable| {
                let channel = channel.clone();
                async move {
                    channel
                        .queue_declare(
                            ShortString::from(name.as_str()),
                            QueueDeclareOptions::durable(),
                            args,
                        )
                        .await
                        .map_err(|e| refused("queue", &name, "broker.queue_type", &e))
                }
            };
            declare(
                q.name.clone(),
                self.dead_letter_args(&self.dead_letter_exchange, &q.name),
            )
            .await?;
            for pattern in &q.bindings {
                channel
                    .queue_bind(
                        ShortString::from(q.name.as_str()),
                        ShortString::from(self.exchange.as_str()),
                        ShortString::from(pattern.as_str()),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .map_err(|e| refused("binding for", &q.name, "broker.queues", &e))?;
            }
            report.push(format!(
                "queue {} ({kind}) ← {} [{}]",
                q.name,
                self.exchange,
                q.bindings.join(", ")
            ));

            let retry = retry_queue(&q.name);
            declare(retry.clone(), self.dead_letter_args("", &q.name)).await?;
            report.push(format!(
                "queue {retry} ({kind}) → {} after each message's delay",
                q.name
            ));

            let dlq = dead_letter_queue(&q.name);
            declare(dlq.clone(), self.base_args()).await?;
            channel
                .queue_bind(
                    ShortString::from(dlq.as_str()),
                    ShortString::from(self.dead_letter_exchange.as_str()),
                    ShortString::from(q.name.as_str()),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| refused("binding for", &dlq, "broker.queues", &e))?;
            report.push(format!(
                "queue {dlq} ({kind}) ← {} [{}]",
                self.dead_letter_exchange, q.name
            ));
        }
        let _ = channel.close(200, "topology applied".into()).await;
        Ok(report)
    }
}

fn refused(what: &str, name: &str, setting: &str, e: &lapin::Error) -> BrokerError {
    let msg = describe(e);
    if msg.contains("PRECONDITION_FAILED") || msg.contains("inequivalent") {
        BrokerError::Topology(format!(
            "{what} {name} already exists with different settings ({msg}) — delete it \
             (rabbitmqctl delete_queue / delete_exchange) or change {setting} to match"
        ))
    } else if msg.contains("ACCESS_REFUSED") {
        BrokerError::Topology(format!(
            "{what} {name} cannot be declared: {msg} — give the broker.url user configure \
             permission, or declare the topology yourself and run with relay.apply_topology = false"
        ))
    } else {
        BrokerError::Unavailable(format!("declaring {what} {name} failed: {msg}"))
    }
}
