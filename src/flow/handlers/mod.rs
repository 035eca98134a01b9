//! What the consumer does with a message: the [`Handler`] interface the
//! engine (`flow::consume`) calls inside its transaction, the routing of
//! topics to handlers, and the handlers that come with outboxctl — for now
//! the upload example's inspection (`upload`).
//!
//! Depends on `model` and `store`; never on the broker or the engine.

pub mod upload;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use sqlx::PgConnection;

use crate::model::{MessageId, UploadCreated};
use crate::store::StoreError;

/// A decoded delivery, as handlers see it.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: MessageId,
    pub topic: String,
    pub payload: Value,
    /// 1 on the first delivery.
    pub attempt: u32,
    pub redelivered: bool,
    pub partition_key: Option<String>,
    pub traceparent: Option<String>,
    /// Creation time of the outbox row (ms since the epoch), when known.
    pub created_at_ms: Option<i64>,
}

impl Message {
    pub fn trace_id(&self) -> &str {
        self.traceparent
            .as_deref()
            .and_then(|t| t.split('-').nth(1))
            .unwrap_or("-")
    }
}

/// Why a handler did not finish.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HandlerError {
    /// Worth another attempt later (a database hiccup, a busy dependency).
    #[error("{0}")]
    Retry(String),
    /// Will never work: dead-letter it now.
    #[error("{0}")]
    Reject(String),
    /// The database cannot be reached: retry, and hold other messages until
    /// it is back.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Retry(e.to_string())
        }
    }
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;

/// The effect of one topic. It runs inside the transaction that records the
/// consumption, so what it writes commits exactly once.
pub trait Handler: Send + Sync + 'static {
    /// Run the effect on `conn`, which is inside the consumer's transaction.
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a>;
}

/// Handlers by topic.
#[derive(Clone, Default)]
pub struct Handlers {
    by_topic: HashMap<String, Arc<dyn Handler>>,
}

impl Handlers {
    /// The handlers `outboxctl consume` runs: the upload example's
    /// inspection of `upload.created`.
    pub fn standard() -> Self {
        Self::default().with(UploadCreated::TOPIC, upload::InspectUpload)
    }

    pub fn with(mut self, topic: &str, handler: impl Handler) -> Self {
        self.by_topic.insert(topic.to_string(), Arc::new(handler));
        self
    }

    /// The handler of `topic`, if any.
    pub fn get(&self, topic: &str) -> Option<&Arc<dyn Handler>> {
        self.by_topic.get(topic)
    }
}
