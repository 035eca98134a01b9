//! Plain domain types shared by every layer. No I/O here: the store, the
//! broker and the flows exchange these values and nothing else.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The AMQP `message-id` of an event and the consumer's deduplication key.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct MessageId(pub Uuid);

impl MessageId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for MessageId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A routing key on the topic exchange, checked once: 1 to 255 bytes (the
/// AMQP short-string limit), no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Topic(String);

impl Topic {
    pub fn parse(s: impl Into<String>) -> Result<Self, InvalidTopic> {
        let s = s.into();
        if s.is_empty() || s.len() > 255 {
            return Err(InvalidTopic(format!(
                "a topic must be 1 to 255 bytes long, got {} bytes",
                s.len()
            )));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidTopic(
                "a topic must not contain control characters".into(),
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTopic(String);

/// An AMQP topic pattern (`order.*`, `upload.#`): words separated by dots,
/// `*` stands for exactly one word, `#` for zero or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern(String);

impl TopicPattern {
    pub fn parse(s: &str) -> Result<Self, InvalidTopic> {
        if s.is_empty() || s.len() > 255 || s.chars().any(|c| c.is_control() || c == ' ') {
            return Err(InvalidTopic(format!(
                "{s:?} is not a topic pattern: 1 to 255 bytes, words separated by dots, \
                 `*` for one word, `#` for any number"
            )));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a message with routing key `topic` matches, as RabbitMQ's
    /// topic exchange decides it.
    pub fn matches(&self, topic: &str) -> bool {
        fn walk(pattern: &[&str], topic: &[&str]) -> bool {
            match (pattern.first(), topic.first()) {
                (None, None) => true,
                (Some(&"#"), _) => {
                    walk(&pattern[1..], topic) || (!topic.is_empty() && walk(pattern, &topic[1..]))
                }
                (Some(&"*"), Some(_)) => walk(&pattern[1..], &topic[1..]),
                (Some(p), Some(t)) if p == t => walk(&pattern[1..], &topic[1..]),
                _ => false,
            }
        }
        let pattern: Vec<&str> = self.0.split('.').collect();
        let topic: Vec<&str> = topic.split('.').collect();
        walk(&pattern, &topic)
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum OutboxStatus {
    Pending,
    Sent,
    Dead,
}

impl OutboxStatus {
    pub fn of(sent_at: Option<DateTime<Utc>>, dead_at: Option<DateTime<Utc>>) -> Self {
        match (sent_at, dead_at) {
            (Some(_), _) => Self::Sent,
            (None, Some(_)) => Self::Dead,
            (None, None) => Self::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event ready to leave for the broker: what the relayer claimed from the
/// outbox, in the shape the broker layer publishes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Envelope {
    /// The outbox row id (also sent as the `x-outbox-id` header).
    pub id: i64,
    pub message_id: MessageId,
    pub topic: String,
    pub partition_key: Option<String>,
    /// The JSON payload as text, published byte for byte.
    pub payload: String,
    /// A JSON object of extra headers.
    pub headers: serde_json::Value,
    pub traceparent: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// Header names the relayer adds to every message.
pub mod headers {
    pub const OUTBOX_ID: &str = "x-outbox-id";
    pub const PARTITION_KEY: &str = "x-outbox-partition-key";
    /// Creation time of the outbox row, milliseconds since the Unix epoch.
    pub const CREATED_AT_MS: &str = "x-outbox-created-at-ms";
    pub const TRACEPARENT: &str = "traceparent";
}

/// What the broker said about one publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Acknowledged and routed to at least one queue.
    Confirmed,
    /// Returned as unroutable (`mandatory`): no queue is bound for the topic.
    Returned { reply: String },
    /// Negatively acknowledged: the broker could not take the message.
    Nacked,
    /// No confirm arrived in time; the message may or may not have arrived.
    TimedOut,
    /// The channel or connection failed before the confirm arrived.
    ConnectionLost(String),
    /// The message can never be published as it is (e.g. an invalid header).
    Invalid(String),
}

impl PublishOutcome {
    /// A bounded label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Returned { .. } => "returned",
            Self::Nacked => "nack",
            Self::TimedOut => "timeout",
            Self::ConnectionLost(_) => "connection",
            Self::Invalid(_) => "invalid",
        }
    }

    /// The sentence stored in `outbox.last_error`.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Confirmed => None,
            Self::Returned { reply } => Some(format!(
                "returned by the broker as unroutable ({reply}): no queue is bound for this topic"
            )),
            Self::Nacked => Some("nacked by the broker (queue full or broker error)".into()),
            Self::TimedOut => Some("no publisher confirm within the confirm timeout".into()),
            Self::ConnectionLost(e) => Some(format!("broker connection lost: {e}")),
            Self::Invalid(e) => Some(format!("cannot be published: {e}")),
        }
    }
}

/// A publish that did not go out, as the store records it.
#[derive(Debug, Clone)]
pub struct PublishFailure {
    pub id: i64,
    pub error: String,
    /// Wait before the next attempt.
    pub retry_in: std::time::Duration,
    /// Give up now, whatever the attempt count (the message can never go out).
    pub give_up: bool,
}

pub mod saga;

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum UploadStatus {
    /// Stored; its `upload.created` event is on its way.
    Registered,
    /// Inspected: its digest and dimensions are recorded.
    Processed,
    /// Inspected, thumbnailed and published (`upload.available`).
    Available,
    /// The bytes are not what the content type says.
    Rejected,
}

impl UploadStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "registered" => Some(Self::Registered),
            "processed" => Some(Self::Processed),
            "available" => Some(Self::Available),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Processed => "processed",
            Self::Available => "available",
            Self::Rejected => "rejected",
        }
    }
}

/// The event the API writes with every upload, and the upload handler reads:
/// the payload of `upload.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadCreated {
    pub upload_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

impl UploadCreated {
    pub const TOPIC: &'static str = "upload.created";
}

impl From<&Upload> for UploadCreated {
    fn from(u: &Upload) -> Self {
        Self {
            upload_id: u.id,
            filename: u.filename.clone(),
            content_type: u.content_type.clone(),
            size_bytes: u.size_bytes,
            created_at: u.created_at,
        }
    }
}

/// An upload's metadata (never its bytes).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Upload {
    pub id: uuid::Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub status: UploadStatus,
    pub message_id: MessageId,
    pub sha256: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub rejection_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// What the consumer found in an upload's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// Pixel width and height, for images.
    pub dimensions: Option<(u32, u32)>,
    /// Why the bytes are not what the content type says, if they are not.
    pub rejection: Option<String>,
}

/// Where an outbox row (an event) stands.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EventState {
    pub id: i64,
    pub message_id: MessageId,
    pub topic: String,
    pub partition_key: Option<String>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub available_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub dead_at: Option<DateTime<Utc>>,
}

/// Everything about one outbox row: its state and all the rest.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub state: EventState,
    pub payload: serde_json::Value,
    pub headers: serde_json::Value,
    pub traceparent: Option<String>,
    pub lane: i16,
    pub replay_of: Option<i64>,
    pub replay_count: i32,
    pub replayed_at: Option<DateTime<Utc>>,
    pub replayed_by: Option<String>,
    pub requeued_at: Option<DateTime<Utc>>,
    pub requeued_by: Option<String>,
}

/// How an operator names a row: by id or by message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    Id(i64),
    MessageId(MessageId),
}

impl FromStr for RowRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(id) = s.parse::<i64>() {
            return Ok(Self::Id(id));
        }
        s.parse::<MessageId>()
            .map(Self::MessageId)
            .map_err(|_| format!("{s:?} is neither a row id (a number) nor a message id (a UUID)"))
    }
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "row {id}"),
            Self::MessageId(m) => write!(f, "message {m}"),
        }
    }
}

/// One consumer's record of having processed a message.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Consumption {
    pub consumer: String,
    pub message_id: MessageId,
    pub topic: String,
    pub queue: String,
    pub received_at: DateTime<Utc>,
    pub committed_at: DateTime<Utc>,
    pub delivery_attempt: i32,
    pub redelivered: bool,
    pub processing_ms: f64,
    pub duplicates: i32,
    pub traceparent: Option<String>,
}

/// What a socket error means, for someone reading the log: refused, reset,
/// timed out — the fix differs.
pub fn describe_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => {
            "connection refused (nothing listens there, or the server is down)".into()
        }
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
            "the connection was reset".into()
        }
        TimedOut => "the connection timed out".into(),
        _ => e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rejects_empty_long_and_control() {
        assert!(Topic::parse("").is_err());
        assert!(Topic::parse("a".repeat(256)).is_err());
        assert!(Topic::parse("a\nb").is_err());
        assert_eq!(
            Topic::parse("upload.created").unwrap().as_str(),
            "upload.created"
        );
        assert!(Topic::parse("a".repeat(255)).is_ok());
    }

    #[test]
    fn topic_patterns_match_like_a_topic_exchange() {
        let m = |p: &str, t: &str| TopicPattern::parse(p).unwrap().matches(t);
        assert!(m("order.paid", "order.paid"));
        assert!(!m("order.paid", "order.paid.late"));
        assert!(m("order.*", "order.paid"));
        assert!(!m("order.*", "order"));
        assert!(!m("order.*", "order.paid.late"));
        assert!(m("order.#", "order"));
        assert!(m("order.#", "order.paid.late"));
        assert!(m("#", "anything.at.all"));
        assert!(m("#.paid", "order.paid"));
        assert!(m("*.*.late", "order.paid.late"));
        assert!(!m("upload.#", "order.paid"));
        assert!(TopicPattern::parse("").is_err());
        assert!(TopicPattern::parse("a b").is_err());
    }

    #[test]
    fn status_from_timestamps() {
        let now = Some(Utc::now());
        assert_eq!(OutboxStatus::of(None, None), OutboxStatus::Pending);
        assert_eq!(OutboxStatus::of(now, None), OutboxStatus::Sent);
        assert_eq!(OutboxStatus::of(None, now), OutboxStatus::Dead);
    }
}
