//! The interface between the consumer engine and a handler: the message as
//! a handler sees it, what it hands back ([`Done`], [`HandlerError`]), and
//! the two ways an effect happens — in the consumer's transaction
//! ([`Handler`]) or outside it ([`Call`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::model::MessageId;
use crate::store::StoreError;

/// A decoded delivery, as handlers see it.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: MessageId,
    pub topic: String,
    pub payload: Value,
    /// The body exactly as it arrived (what a webhook receives and signs).
    pub body: Vec<u8>,
    /// The AMQP headers, as a JSON object.
    pub headers: Value,
    /// The saga this message is a command of, if any: its handlers' success
    /// or failure is replied to it.
    pub saga: Option<crate::model::saga::Ref>,
    /// 1 on the first delivery; only a handler's own failure moves it on.
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
    /// Worth another attempt after `consumer.retry_delay` (a lock conflict,
    /// a busy dependency).
    #[error("{0}")]
    Retry(String),
    /// Worth another attempt, not before this long (a `Retry-After`).
    #[error("{0}")]
    RetryAfter(String, Duration),
    /// Will never work: dead-letter it now.
    #[error("{0}")]
    Reject(String),
    /// The database cannot be reached: hold the message (no attempt used)
    /// until it is back.
    #[error("{0}")]
    Unavailable(String),
}

impl HandlerError {
    /// The same error, its reason saying which handler it came from.
    pub fn of(self, handler: &str) -> Self {
        let name = |r: String| format!("handler {handler}: {r}");
        match self {
            Self::Retry(r) => Self::Retry(name(r)),
            Self::RetryAfter(r, d) => Self::RetryAfter(name(r), d),
            Self::Reject(r) => Self::Reject(name(r)),
            Self::Unavailable(r) => Self::Unavailable(r),
        }
    }
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

/// What a handler hands on when it succeeds.
#[derive(Debug, Clone, Default)]
pub struct Done {
    /// The output object for the saga step it served, if any.
    pub output: Option<Value>,
    /// Metrics of what the effect did, recorded once its transaction has
    /// committed: a run that rolls back (and runs again) counts nothing.
    pub measures: Vec<Measure>,
}

impl Done {
    /// Done, handing on `output` to the saga step it served.
    pub fn with_output(output: Value) -> Self {
        Self {
            output: Some(output),
            measures: Vec::new(),
        }
    }
}

/// A metric sample an effect leaves for after its commit.
#[derive(Debug, Clone)]
pub enum Measure {
    /// Add one to a counter.
    Count(&'static str, Vec<(&'static str, String)>),
    /// Record a value in a histogram.
    Observe(&'static str, Vec<(&'static str, String)>, f64),
}

impl Measure {
    pub fn record(&self) {
        let labels = |l: &[(&'static str, String)]| {
            l.iter()
                .map(|(k, v)| metrics::Label::new(*k, v.clone()))
                .collect::<Vec<_>>()
        };
        match self {
            Self::Count(name, l) => metrics::counter!(*name, labels(l)).increment(1),
            Self::Observe(name, l, v) => metrics::histogram!(*name, labels(l)).record(*v),
        }
    }
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Done, HandlerError>> + Send + 'a>>;
/// What [`Handler::handle_all`] returns: one [`Done`] per message.
pub type HandlersFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Done>, HandlerError>> + Send + 'a>>;

/// What a `check` found: what it checked, or what is wrong and the fix.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// An effect in the consumer's database (`sql`, the built-ins). It runs in
/// the transaction that records the consumption, so what it writes commits
/// exactly once. Many messages share a transaction; one whose batch fails
/// runs again, in a transaction that rolls back.
pub trait Handler: Send + Sync + 'static {
    /// Run the effect on `conn`, which is inside the consumer's transaction.
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, message: &'a Message) -> HandlerFuture<'a>;

    /// Whether [`handle_all`](Self::handle_all) does a run of messages in
    /// fewer statements than one [`handle`](Self::handle) each; only then
    /// does the consumer hand it runs.
    fn batches(&self) -> bool {
        false
    }

    /// Run the effects of consecutive messages of one delivery batch, in
    /// order, in the consumer's transaction: one [`Done`] per message, or
    /// the error of the first that failed (the consumer then handles each
    /// message alone, so the error stays with its message).
    fn handle_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        messages: &'a [&'a Message],
    ) -> HandlersFuture<'a> {
        Box::pin(async move {
            let mut done = Vec::with_capacity(messages.len());
            for m in messages {
                done.push(self.handle(conn, m).await?);
            }
            Ok(done)
        })
    }

    /// Check what can be checked before the first message (a statement
    /// prepares); `Ok` says what was checked.
    fn check<'a>(&'a self, _pool: &'a PgPool) -> CheckFuture<'a> {
        Box::pin(async { Ok("nothing to check".to_string()) })
    }
}

/// An effect outside the database (`http`, `exec`): at least once. The
/// consumer makes the call before it records the consumption, and records
/// it only after the call succeeded; a redelivery of a recorded message is
/// never called again.
pub trait Call: Send + Sync + 'static {
    fn call<'a>(&'a self, message: &'a Message) -> HandlerFuture<'a>;

    /// How long a call may take.
    fn timeout(&self) -> Duration;

    /// Check what can be checked before the first message (a program exists).
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async { Ok("nothing to check".to_string()) })
    }
}

/// How long a call out may take and how many run at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub concurrency: usize,
}
