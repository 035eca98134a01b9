//! What can be configured: every section and setting, with its default,
//! and what follows from them (which queue a handler serves, the bindings
//! each queue gets). `[[handlers]]` and `[[sagas]]` have files of their own.
//! `outbox.toml` in the repository lists the same (a test keeps them equal).

use std::time::Duration;

pub use bytesize::ByteSize;
use serde::{Deserialize, Serialize};

use super::handlers::HandlerConfig;
use super::sagas::{OrchestratorConfig, SagaConfig};
use crate::secret::{Secret, SecretUrl};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub broker: BrokerConfig,
    pub relay: RelayConfig,
    pub api: ApiConfig,
    pub consumer: ConsumerConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub watchdog: WatchdogConfig,
    pub shutdown: ShutdownConfig,
    /// What the consumer does with messages: `[[handlers]]` in the file.
    pub handlers: Vec<HandlerConfig>,
    /// Multi-step workflows with compensation: `[[sagas]]` in the file.
    pub sagas: Vec<SagaConfig>,
    pub orchestrator: OrchestratorConfig,
    /// The upload example's own settings.
    pub uploads: UploadsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: DatabaseConfig::default(),
            broker: BrokerConfig::default(),
            relay: RelayConfig::default(),
            api: ApiConfig::default(),
            consumer: ConsumerConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            watchdog: WatchdogConfig::default(),
            shutdown: ShutdownConfig::default(),
            handlers: HandlerConfig::upload_example(),
            sagas: vec![SagaConfig::upload_example()],
            orchestrator: OrchestratorConfig::default(),
            uploads: UploadsConfig::default(),
        }
    }
}

/// The upload example's settings (its thumbnail step).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// Thumbnails fit in a square of this many pixels.
    pub thumbnail_size: u32,
    /// An image with more pixels than this fails the thumbnail step and is
    /// rejected.
    pub max_pixels: u64,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        Self {
            thumbnail_size: 64,
            max_pixels: 25_000_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: SecretUrl,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// The URL points at a pooler in transaction mode (PgBouncer
    /// `pool_mode = transaction`): no prepared statement or session setting
    /// outlives a transaction, the relay polls (no LISTEN), and `migrate`
    /// needs a direct connection.
    #[serde(default)]
    pub transaction_pooling: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("postgres://postgres@127.0.0.1:5432/outbox"),
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            transaction_pooling: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    Quorum,
    Classic,
}

impl QueueType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quorum => "quorum",
            Self::Classic => "classic",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The work queue consumers read from.
    pub name: String,
    /// Topic patterns bound to the exchange (`*` one word, `#` any words).
    pub bindings: Vec<String>,
    /// The queue exists already, declared by someone else: use it as it is
    /// (a passive declare, its arguments untouched) and only bind it. Its
    /// `.retry` and `.dlq` queues are still outboxctl's own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    pub url: SecretUrl,
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub queue_type: QueueType,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub confirm_timeout: Duration,
    /// RabbitMQ management API, for unacknowledged counts in `lag`. Default:
    /// http://<broker host>:15672 with the broker's user and password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_url: Option<SecretUrl>,
    pub queues: Vec<QueueConfig>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
            exchange: "outbox".into(),
            dead_letter_exchange: "outbox.dlx".into(),
            queue_type: QueueType::Quorum,
            connect_timeout: Duration::from_secs(5),
            confirm_timeout: Duration::from_secs(10),
            management_url: None,
            queues: vec![
                // The upload example's steps (bound by their handlers'
                // topics), and the events it announces: a service that
                // wants those binds a queue of its own beside.
                QueueConfig {
                    name: "uploads.process".into(),
                    bindings: vec!["upload.available".into(), "upload.rejected".into()],
                    adopt: false,
                },
                // The orchestrator's: starts, replies and time-outs of sagas.
                QueueConfig {
                    name: "sagas".into(),
                    bindings: Vec::new(),
                    adopt: false,
                },
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    pub poll_only: bool,
    pub batch_size: u32,
    pub workers: u32,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    pub apply_topology: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            poll_only: false,
            batch_size: 1000,
            workers: 2,
            max_attempts: 10,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            apply_topology: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: std::net::SocketAddr,
    /// Bearer token every route but the health checks requires; none = open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Largest file `POST /uploads` accepts.
    #[serde(with = "exact_size")]
    pub max_upload_size: ByteSize,
    /// Content types an uploaded file may have.
    pub content_types: Vec<String>,
    /// A request still running after this long is answered 408.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            max_upload_size: ByteSize::mib(10),
            content_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
                "application/octet-stream",
            ]
            .map(String::from)
            .to_vec(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Queue to consume; default: the first of `broker.queues`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Name recorded in `consumed_messages`, the scope of deduplication:
    /// every instance of one service uses the same. Default: the queue name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Deliveries RabbitMQ sends ahead of acknowledgements.
    pub prefetch: u16,
    /// Messages processed at once (messages of one partition key never are).
    pub concurrency: u32,
    /// Attempts (the first delivery included) before a message is dead-lettered.
    pub max_attempts: u32,
    /// Wait before a failed message is delivered again.
    #[serde(with = "humantime_serde")]
    pub retry_delay: Duration,
    /// Longest wait a handler's `Retry-After` gets; a longer one is cut to
    /// this (and logged once).
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// Dead-letter messages of topics without a handler instead of recording them.
    pub reject_unknown_topics: bool,
    /// Declare the topology on start.
    pub apply_topology: bool,
}

/// Delays a retry queue may have between `consumer.retry_delay` and
/// `consumer.max_retry_after`.
const RETRY_LADDER: [u64; 13] = [
    1,
    5,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    24 * 3600,
];

/// How long failed messages wait: `consumer.retry_delay` and
/// `consumer.max_retry_after`, and the retry queues they make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDelays {
    pub retry_delay: Duration,
    pub max_retry_after: Duration,
}

impl RetryDelays {
    /// Every delay of the fixed ladder (to find retry queues no longer used).
    pub fn ladder() -> Vec<Duration> {
        RETRY_LADDER
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect()
    }

    /// The delays of the retry queues, shortest first: `retry_delay`, the
    /// steps of a fixed ladder (1s 5s 30s 1m 2m 5m 10m 30m 1h …) between it
    /// and `max_retry_after`, and `max_retry_after`. Each queue holds
    /// messages of one delay, so none waits behind a longer one; a failed
    /// message goes to the shortest that is at least its delay.
    pub fn tiers(&self) -> Vec<Duration> {
        let mut tiers = vec![self.retry_delay];
        tiers.extend(
            Self::ladder()
                .into_iter()
                .filter(|d| *d > self.retry_delay && *d < self.max_retry_after),
        );
        if self.max_retry_after > self.retry_delay {
            tiers.push(self.max_retry_after);
        }
        tiers
    }

    /// The delay a failed message waits when its handler asked for `wanted`
    /// (`None`: no wish, `retry_delay`): at least `retry_delay`, at most
    /// `max_retry_after`, rounded up to a tier; and whether the wish was cut
    /// to `max_retry_after`.
    pub fn tier(&self, wanted: Option<Duration>) -> (Duration, bool) {
        let wanted = wanted.unwrap_or(self.retry_delay);
        let tiers = self.tiers();
        let tier = tiers
            .iter()
            .copied()
            .find(|t| *t >= wanted)
            .unwrap_or_else(|| *tiers.last().expect("at least retry_delay"));
        (tier, wanted > self.max_retry_after)
    }
}

impl ConsumerConfig {
    pub fn retry_delays(&self) -> RetryDelays {
        RetryDelays {
            retry_delay: self.retry_delay,
            max_retry_after: self.max_retry_after,
        }
    }
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            queue: None,
            name: None,
            prefetch: 512,
            concurrency: 4,
            max_attempts: 5,
            retry_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(300),
            reject_unknown_topics: false,
            apply_topology: true,
        }
    }
}

impl Config {
    /// The queue a handler serves: its `queue`, else the first configured queue.
    pub fn handler_queue<'a>(&'a self, h: &'a HandlerConfig) -> &'a str {
        h.queue
            .as_deref()
            .or_else(|| self.broker.queues.first().map(|q| q.name.as_str()))
            .unwrap_or("uploads.process")
    }

    /// The handlers of `queue`, in the order they are declared.
    pub fn handlers_of<'a>(&'a self, queue: &'a str) -> impl Iterator<Item = &'a HandlerConfig> {
        self.handlers
            .iter()
            .filter(move |h| self.handler_queue(h) == queue)
    }

    /// The queues as they are declared: each bound to its own `bindings`,
    /// to the topics of its handlers, and — the orchestrator's — to every
    /// saga's start, reply and time-out topics.
    pub fn bound_queues(&self) -> Vec<QueueConfig> {
        self.broker
            .queues
            .iter()
            .map(|q| {
                let mut bindings = q.bindings.clone();
                let mut topics: Vec<String> = self
                    .handlers_of(&q.name)
                    .flat_map(|h| h.topics.iter().cloned())
                    .collect();
                if q.name == self.orchestrator.queue {
                    topics.extend(self.saga_topics());
                }
                for t in topics {
                    if !bindings.contains(&t) {
                        bindings.push(t);
                    }
                }
                QueueConfig {
                    name: q.name.clone(),
                    bindings,
                    adopt: q.adopt,
                }
            })
            .collect()
    }

    /// The topics something in this configuration writes to the outbox, and
    /// who: the API's uploads, the built-in handlers' events, the sagas'
    /// commands, compensations, replies and time-outs. (What an `sql`,
    /// `http` or `exec` handler writes, the configuration cannot know.)
    pub fn published_topics(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        // The API's events matter where the upload example runs.
        let example = self
            .handlers
            .iter()
            .any(|h| matches!(h.spec, super::handlers::HandlerSpec::Builtin(_)));
        if example {
            out.push((
                "upload.created".to_string(),
                "the API (POST /uploads)".to_string(),
            ));
        }
        for h in &self.handlers {
            if let super::handlers::HandlerSpec::Builtin(b) = &h.spec {
                for t in b.builtin.publishes() {
                    out.push((t.to_string(), format!("handler {}", h.name)));
                }
            }
        }
        for s in &self.sagas {
            for step in &s.steps {
                let by = format!("saga {} step {}", s.name, step.name);
                out.push((step.command.clone(), by.clone()));
                if let Some(c) = &step.compensation {
                    out.push((c.clone(), format!("{by} (its compensation)")));
                }
            }
            out.push((s.reply_topic(), format!("the replies to saga {}", s.name)));
            out.push((
                s.timeout_topic(),
                format!("the time-outs of saga {}", s.name),
            ));
        }
        out
    }

    /// The published topics (see [`published_topics`](Self::published_topics))
    /// no queue is bound to: the broker returns them, and their rows fail
    /// until one is.
    pub fn unrouted_topics(&self) -> Vec<(String, String)> {
        let queues = self.bound_queues();
        self.published_topics()
            .into_iter()
            .filter(|(topic, _)| {
                !queues.iter().any(|q| {
                    q.bindings
                        .iter()
                        .filter_map(|b| crate::model::TopicPattern::parse(b).ok())
                        .any(|p| p.matches(topic))
                })
            })
            .collect()
    }

    /// Every topic the orchestrator listens to: starts, replies, time-outs.
    pub fn saga_topics(&self) -> Vec<String> {
        self.sagas
            .iter()
            .flat_map(|s| [s.start.clone(), s.reply_topic(), s.timeout_topic()])
            .collect()
    }

    /// The queue `consume` reads: `consumer.queue`, else the first configured queue.
    pub fn consumer_queue(&self) -> &str {
        self.consumer
            .queue
            .as_deref()
            .or_else(|| self.broker.queues.first().map(|q| q.name.as_str()))
            .unwrap_or("uploads.process")
    }

    /// The configuration as a file another outboxctl process reads back: the
    /// passwords and secrets in clear, where `config show` masks them. Only
    /// for a file of its own, readable by its owner alone.
    pub fn to_toml_with_secrets(&self) -> toml::Table {
        let mut table = toml::Table::try_from(self).expect("the configuration serialises");
        table["database"]["url"] = toml::Value::String(self.database.url.expose().into());
        table["broker"]["url"] = toml::Value::String(self.broker.url.expose().into());
        if let Some(m) = &self.broker.management_url {
            table["broker"]["management_url"] = toml::Value::String(m.expose().into());
        }
        if let Some(t) = &self.api.token {
            table["api"]["token"] = toml::Value::String(t.expose().into());
        }
        if let Some(toml::Value::Array(handlers)) = table.get_mut("handlers") {
            for (entry, h) in handlers.iter_mut().zip(&self.handlers) {
                h.spec.expose_in(entry);
            }
        }
        table
    }

    /// The consumer's name in `consumed_messages`.
    pub fn consumer_name(&self) -> &str {
        self.consumer
            .name
            .as_deref()
            .unwrap_or_else(|| self.consumer_queue())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics on this address (`relay`, `consume`, `up`);
    /// `serve` has them on its own port at `/metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<std::net::SocketAddr>,
}

/// When a stage that holds work and makes no progress is reported and when
/// it ends the process (see `crate::watchdog`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchdogConfig {
    #[serde(with = "humantime_serde")]
    pub warn_after: Duration,
    /// `0s`: never exit.
    #[serde(with = "humantime_serde")]
    pub exit_after: Duration,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self {
            warn_after: Duration::from_secs(30),
            exit_after: Duration::from_secs(300),
        }
    }
}

/// How long work in hand may take to finish after SIGTERM or SIGINT.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(3),
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `outboxctl=debug,sqlx=warn`, …
    pub level: String,
    pub format: LogFormat,
    /// How often the relay logs what it did, and each failing topic with
    /// its reason (one line per topic and reason).
    #[serde(with = "humantime_serde")]
    pub summary_interval: Duration,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
            summary_interval: Duration::from_secs(30),
        }
    }
}

/// Settings that have no default value, so serialising the defaults does not
/// reveal them: `(section, key)`.
pub(super) const OPTIONAL_SETTINGS: &[(&str, &str)] = &[
    ("broker", "management_url"),
    ("api", "token"),
    ("consumer", "queue"),
    ("consumer", "name"),
    ("metrics", "listen"),
];

/// Sizes are read by `bytesize` (`10MiB`, `512KiB`, `1GB`, a plain number)
/// and written back exactly: `10MiB`, or the number of bytes.
mod exact_size {
    use bytesize::ByteSize;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(size: &ByteSize, s: S) -> Result<S::Ok, S::Error> {
        let n = size.as_u64();
        for (unit, factor) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= factor && n.is_multiple_of(factor) {
                return s.serialize_str(&format!("{}{unit}", n / factor));
            }
        }
        s.serialize_str(&n.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        ByteSize::deserialize(d).map_err(|_| {
            serde::de::Error::custom("not a size; write it like 10MiB, 512KiB or 1048576")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Sized {
        #[serde(with = "exact_size")]
        size: ByteSize,
    }

    #[test]
    fn retry_tiers_keep_retry_delay_and_round_a_wish_up() {
        let secs = Duration::from_secs;
        let d = ConsumerConfig::default().retry_delays();
        assert_eq!(d.tiers(), [5, 30, 60, 120, 300].map(secs));
        assert_eq!(d.tier(None), (secs(5), false));
        assert_eq!(d.tier(Some(secs(1))), (secs(5), false));
        assert_eq!(d.tier(Some(secs(20))), (secs(30), false));
        assert_eq!(d.tier(Some(secs(300))), (secs(300), false));
        assert_eq!(d.tier(Some(secs(86400))), (secs(300), true));
        let odd = RetryDelays {
            retry_delay: Duration::from_millis(250),
            max_retry_after: secs(45),
        };
        assert_eq!(
            odd.tiers(),
            [
                Duration::from_millis(250),
                secs(1),
                secs(5),
                secs(30),
                secs(45)
            ]
        );
        let flat = RetryDelays {
            retry_delay: secs(10),
            max_retry_after: secs(10),
        };
        assert_eq!(flat.tiers(), [secs(10)]);
        assert_eq!(flat.tier(Some(secs(11))), (secs(10), true));
    }

    #[test]
    fn sizes_parse_and_are_written_back_exactly() {
        for (text, bytes) in [
            ("10MiB", 10 << 20),
            ("512 KiB", 512 << 10),
            ("1000", 1000),
            ("2MB", 2_000_000),
        ] {
            let s: Sized = toml::from_str(&format!("size = {text:?}")).unwrap();
            assert_eq!(s.size, ByteSize::b(bytes), "{text}");
        }
        let plain: Sized = toml::from_str("size = 1500").unwrap();
        assert_eq!(plain.size, ByteSize::b(1500));
        assert!(toml::from_str::<Sized>("size = \"10 parsecs\"").is_err());
        assert_eq!(
            toml::to_string(&Sized {
                size: ByteSize::mib(10)
            })
            .unwrap()
            .trim(),
            "size = \"10MiB\""
        );
        // Not a whole unit: the exact number, never a rounded 1.5 KiB.
        assert_eq!(
            toml::to_string(&Sized {
                size: ByteSize::b(1500)
            })
            .unwrap()
            .trim(),
            "size = \"1500\""
        );
    }
}
