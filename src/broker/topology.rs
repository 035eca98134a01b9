//! The RabbitMQ objects outboxctl relies on, declared idempotently:
//!
//! ```text
//! exchange <exchange> (topic) ──binding──► <queue>          work queue
//!                                            │ reject / delivery limit
//! exchange <dead_letter_exchange> (direct) ◄─┘ routing key <queue>
//!          └──► <queue>.dlq                 dead letters, kept for operators
//! <queue>.retry.<delay> ──queue TTL expires──► default exchange ──► <queue>
//! ```
//!
//! A retry queue per delay tier (see `RetryDelays::tiers`): every
//! message in one waits as long as the others, so RabbitMQ, which expires
//! only the head of a queue, never holds a short retry behind a long one.
//!
//! Declaring an object that exists with the same arguments is a no-op;
//! different arguments are refused by the broker and reported with the fix.
//! Only [`Topology::retire`] (`outboxctl topology apply`) removes anything:
//! retry queues of delays no longer configured, once empty.

use std::time::Duration;

use lapin::ExchangeKind;
use lapin::options::{
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use super::connection::Broker;
use super::error::{BrokerError, describe};
use crate::config::{Config, QueueConfig, QueueType};

impl Broker {
    /// Declare `topology` (idempotent); returns one line per declared object.
    pub async fn apply_topology(&self, topology: &Topology) -> Result<Vec<String>, BrokerError> {
        // A few requests per queue; each would wait forever on a frozen link.
        let limit = self.timeout * 2;
        tokio::time::timeout(limit, topology.apply(self))
            .await
            .unwrap_or_else(|_| {
                Err(BrokerError::Unavailable(format!(
                    "declaring the topology got no answer within {}",
                    humantime::format_duration(limit)
                )))
            })
    }
}

/// The declared shape, derived from `[broker]` and `[[handlers]]`.
#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub queue_type: QueueType,
    pub queues: Vec<QueueConfig>,
    /// The delays of each queue's retry queues, shortest first.
    pub retry_tiers: Vec<Duration>,
}

/// The retry queue of `queue` whose messages wait `delay`.
pub fn retry_queue(queue: &str, delay: Duration) -> String {
    format!("{queue}.retry.{}", delay_label(delay))
}

/// The retry queues of `queue`, shortest delay first.
pub fn retry_queues(queue: &str, tiers: &[Duration]) -> Vec<String> {
    tiers.iter().map(|d| retry_queue(queue, *d)).collect()
}

/// How the retry queues of `queue` are named together: `<queue>.retry.*`.
pub fn retry_queues_pattern(queue: &str) -> String {
    format!("{queue}.retry.*")
}

/// The one retry queue of versions before the delay tiers.
pub fn legacy_retry_queue(queue: &str) -> String {
    format!("{queue}.retry")
}

/// `250ms`, `5s`, `2m`, `1h`: the largest whole unit.
pub fn delay_label(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        ms if ms > 0 && ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms > 0 && ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms > 0 && ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

/// Whether `s` is what [`delay_label`] writes (`250ms`, `5s`, `2m`, `1h`).
fn is_delay_label(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "ms" | "s" | "m" | "h")
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
            retry_tiers: config.consumer.retry_delays().tiers(),
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
            let args = self.dead_letter_args(&self.dead_letter_exchange, &q.name);
            if q.adopt {
                // Someone else's queue: it must exist; its arguments stay.
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                };
                channel
                    .queue_declare(
                        ShortString::from(q.name.as_str()),
                        passive,
                        FieldTable::default(),
                    )
                    .await
                    .map_err(|e| missing_adopted(&q.name, &e))?;
            } else if let Err(e) = channel
                .queue_declare(
                    ShortString::from(q.name.as_str()),
                    QueueDeclareOptions::durable(),
                    args.clone(),
                )
                .await
            {
                return Err(clash(broker, &q.name, &args, &e).await);
            }
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
                "queue {} ({}) ← {} [{}]",
                q.name,
                if q.adopt { "adopted as it is" } else { kind },
                self.exchange,
                q.bindings.join(", ")
            ));

            for delay in &self.retry_tiers {
                let retry = retry_queue(&q.name, *delay);
                let mut args = self.dead_letter_args("", &q.name);
                args.insert(
                    "x-message-ttl".into(),
                    AMQPValue::LongLongInt(delay.as_millis() as i64),
                );
                declare(retry.clone(), args).await?;
                report.push(format!(
                    "queue {retry} ({kind}) → {} after {}",
                    q.name,
                    humantime::format_duration(*delay)
                ));
            }

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

/// What [`Topology::retire`] did with a retry queue no longer configured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retired {
    pub queue: String,
    /// Deleted (it was empty); else kept, holding `messages`.
    pub removed: bool,
    pub messages: u64,
}

impl Retired {
    pub fn text(&self, work_queue: &str) -> String {
        if self.removed {
            format!(
                "removed queue {} (no longer a retry queue; it was empty)",
                self.queue
            )
        } else {
            format!(
                "queue {} is no longer a retry queue but still holds {} message(s), on their way \
                 back to {work_queue} — run `outboxctl topology apply` again once it is empty \
                 to remove it",
                self.queue, self.messages
            )
        }
    }
}

impl Topology {
    /// Remove the retry queues a queue no longer has — the single
    /// `<queue>.retry` of earlier versions, tiers of delays no longer
    /// configured — when they are empty; keep (and report) the others, whose
    /// messages still go back to their work queue as they expire. Run this
    /// once every consumer runs a version with the same tiers: an older
    /// consumer still sends its retries to the old queue.
    ///
    /// Candidates: the old queue, every delay of the ladder, and of `listed`
    /// (the vhost's queues, when the management API could list them) those
    /// named `<queue>.retry.<delay>` — a former `retry_delay` off the ladder.
    pub async fn retire(
        &self,
        broker: &Broker,
        listed: &[String],
    ) -> Result<Vec<(String, Retired)>, BrokerError> {
        let mut out = Vec::new();
        let ladder = crate::config::RetryDelays::ladder();
        for q in &self.queues {
            let current = retry_queues(&q.name, &self.retry_tiers);
            let prefix = format!("{}.retry.", q.name);
            let mut candidates: Vec<String> = std::iter::once(legacy_retry_queue(&q.name))
                .chain(ladder.iter().map(|d| retry_queue(&q.name, *d)))
                .chain(
                    listed
                        .iter()
                        .filter(|n| n.strip_prefix(&prefix).is_some_and(is_delay_label))
                        .cloned(),
                )
                .filter(|n| !current.contains(n))
                .collect();
            candidates.sort();
            candidates.dedup();
            for name in candidates {
                let Some(stats) = broker.queue_stats(&name).await? else {
                    continue;
                };
                let removed = stats.ready == 0 && {
                    let channel = broker.channel().await?;
                    // Quorum queues refuse `if_empty` (a connection error);
                    // for them the check above is the guard, which is why
                    // this runs only once no older consumer sends retries.
                    let delete = channel.queue_delete(
                        ShortString::from(name.as_str()),
                        QueueDeleteOptions {
                            if_empty: self.queue_type == QueueType::Classic,
                            ..QueueDeleteOptions::default()
                        },
                    );
                    let deleted = broker.request("delete a retired retry queue", delete).await;
                    let _ = channel.close(200, "retired".into()).await;
                    deleted.is_ok()
                };
                out.push((
                    q.name.clone(),
                    Retired {
                        queue: name,
                        removed,
                        messages: stats.ready,
                    },
                ));
            }
        }
        Ok(out)
    }
}

/// A work queue that exists with other arguments than outboxctl declares
/// (another team's, or from an older config): name each argument that
/// differs, and the ways out. RabbitMQ names only the first it trips over, so
/// each of outboxctl's arguments is declared alone on a channel of its own
/// (a refusal closes the channel; nothing is created or changed).
async fn clash(broker: &Broker, name: &str, ours: &FieldTable, e: &lapin::Error) -> BrokerError {
    let msg = describe(e);
    if !(msg.contains("PRECONDITION_FAILED") || msg.contains("inequivalent")) {
        return refused("queue", name, "broker.queue_type", e);
    }
    let mut differing: Vec<(String, String)> = Vec::new();
    let mut note = |msg: &str| {
        if let Some(d) = inequivalent(msg)
            && !differing.iter().any(|(k, _)| *k == d.0)
        {
            differing.push(d);
        }
    };
    note(&msg);
    for (k, v) in ours.inner() {
        let Ok(channel) = broker.channel().await else {
            break;
        };
        let mut alone = FieldTable::default();
        alone.insert(k.clone(), v.clone());
        let probe = channel.queue_declare(
            ShortString::from(name),
            QueueDeclareOptions::durable(),
            alone,
        );
        match broker.request("compare a queue argument", probe).await {
            Err(e) => note(&e.to_string()),
            Ok(_) => {
                let _ = channel.close(200, "compared".into()).await;
            }
        }
    }
    let described: Vec<String> = differing
        .iter()
        .map(|(arg, theirs)| {
            let declared = ours
                .inner()
                .get(&ShortString::from(arg.as_str()))
                .map_or("none".to_string(), amqp_text);
            format!("{arg} is {theirs} there, outboxctl declares {declared}")
        })
        .collect();
    BrokerError::Topology(format!(
        "queue {name} already exists with different arguments: {} — to use the queue as it is, \
         set `adopt = true` on it in [[broker.queues]] (outboxctl then only binds it){}; or \
         delete it (rabbitmqctl delete_queue {name}, its messages go with it) to have it \
         declared anew",
        if described.is_empty() {
            msg.clone()
        } else {
            described.join("; ")
        },
        if differing.iter().any(|(k, _)| k == "x-queue-type") {
            "; or change broker.queue_type to match"
        } else {
            ""
        }
    ))
}

/// `inequivalent arg 'K' for queue … received … but current is the value 'V'
/// of type …` (or `… current is none`) → (K, V or "none").
fn inequivalent(msg: &str) -> Option<(String, String)> {
    let rest = msg.split("inequivalent arg '").nth(1)?;
    let arg = rest.split('\'').next()?.to_string();
    let current = rest.split("but current is ").nth(1)?;
    let theirs = match current.strip_prefix("the value '") {
        Some(v) => v.split('\'').next()?.to_string(),
        None => "none".to_string(),
    };
    Some((arg, theirs))
}

fn amqp_text(v: &AMQPValue) -> String {
    match v {
        AMQPValue::LongString(s) => format!("{s}"),
        AMQPValue::ShortString(s) => s.as_str().to_string(),
        other => format!("{other:?}"),
    }
}

fn missing_adopted(name: &str, e: &lapin::Error) -> BrokerError {
    let msg = describe(e);
    if msg.contains("NOT_FOUND") {
        BrokerError::Topology(format!(
            "queue {name} is adopted (`adopt = true` in [[broker.queues]]) but does not exist — \
             declare it first, or remove `adopt` to have outboxctl declare it"
        ))
    } else {
        refused("queue", name, "broker.queues", e)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{delay_label, is_delay_label};

    #[test]
    fn delay_labels_read_back() {
        for d in [250, 1000, 5000, 120_000, 3_600_000, 90_000] {
            let label = delay_label(Duration::from_millis(d));
            assert!(is_delay_label(&label), "{label}");
        }
        assert_eq!(delay_label(Duration::from_millis(90_000)), "90s");
        for other in ["audit", "5", "ms", "5sec", "1.5s", ""] {
            assert!(!is_delay_label(other), "{other}");
        }
    }
}
