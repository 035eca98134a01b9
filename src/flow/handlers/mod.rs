//! What the consumer does with a message: the [`Handler`] interface the
//! engine (`flow::consume`) calls inside its transaction, the routing of
//! topic patterns to handlers, and the kinds an operator declares in
//! `[[handlers]]`: `sql` (a statement in the consumer's transaction), `http`
//! (a webhook), `exec` (a command), and `builtin` (the upload example).
//!
//! Depends on `config`, `model` and `store`; never on the broker or the
//! engine.

pub mod exec;
pub mod http;
pub mod sql;
pub mod upload;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::config::{Config, HandlerConfig, HandlerKind};
use crate::model::{MessageId, TopicPattern, UploadCreated};
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

/// Where a handler's effect happens.
#[derive(Clone)]
pub enum Effect {
    InDatabase(Arc<dyn Handler>),
    Outside(Arc<dyn Call>),
}

/// A handler and the topics it serves.
pub struct Route {
    pub name: String,
    pub kind: &'static str,
    pub patterns: Vec<TopicPattern>,
    pub effect: Effect,
}

impl Route {
    pub fn is_outside(&self) -> bool {
        matches!(self.effect, Effect::Outside(_))
    }

    /// See [`Handler::check`] and [`Call::check`].
    pub async fn check(&self, pool: &PgPool) -> Result<String, String> {
        match &self.effect {
            Effect::InDatabase(h) => h.check(pool).await,
            Effect::Outside(c) => c.check().await,
        }
    }
}

/// The handlers of one queue.
#[derive(Clone, Default)]
pub struct Handlers {
    routes: Vec<Arc<Route>>,
}

/// A handler that cannot work as configured.
#[derive(Debug, thiserror::Error)]
#[error("handler {handler}: {message}")]
pub struct SetupError {
    pub handler: String,
    pub message: String,
}

impl Handlers {
    /// The handlers `[[handlers]]` declares for `queue`, in their order.
    pub fn for_queue(config: &Config, queue: &str) -> Result<Self, SetupError> {
        let mut handlers = Self::default();
        for h in config.handlers_of(queue) {
            let effect = build(config, h).map_err(|message| SetupError {
                handler: h.name.clone(),
                message,
            })?;
            let patterns = h
                .topics
                .iter()
                .map(|t| TopicPattern::parse(t).expect("validated with the configuration"))
                .collect();
            handlers.routes.push(Arc::new(Route {
                name: h.name.clone(),
                kind: h.kind.as_str(),
                patterns,
                effect,
            }));
        }
        Ok(handlers)
    }

    /// The upload example alone (tests and benchmarks).
    pub fn standard() -> Self {
        Self::default().with(UploadCreated::TOPIC, upload::InspectUpload)
    }

    /// Add `handler` for `pattern`, named after the pattern.
    pub fn with(mut self, pattern: &str, handler: impl Handler) -> Self {
        self.routes.push(Arc::new(Route {
            name: pattern.to_string(),
            kind: "builtin",
            patterns: vec![TopicPattern::parse(pattern).expect("a valid topic pattern")],
            effect: Effect::InDatabase(Arc::new(handler)),
        }));
        self
    }

    /// Add a route.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(Arc::new(route));
        self
    }

    /// Whether any handler of `topic` acts outside the database.
    pub fn calls_out(&self, topic: &str) -> bool {
        self.matching(topic).any(|r| r.is_outside())
    }

    /// The handlers whose patterns match `topic`, in declaration order.
    pub fn matching<'a>(&'a self, topic: &'a str) -> impl Iterator<Item = &'a Arc<Route>> + 'a {
        self.routes
            .iter()
            .filter(move |r| r.patterns.iter().any(|p| p.matches(topic)))
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// Check every handler (see [`Route::check`]); the first that fails.
    pub async fn check(&self, pool: &PgPool) -> Result<(), SetupError> {
        for r in &self.routes {
            r.check(pool).await.map_err(|message| SetupError {
                handler: r.name.clone(),
                message,
            })?;
        }
        Ok(())
    }
}

fn build(config: &Config, h: &HandlerConfig) -> Result<Effect, String> {
    let concurrency = h.concurrency.unwrap_or(config.consumer.concurrency) as usize;
    Ok(match h.kind {
        HandlerKind::Sql => Effect::InDatabase(Arc::new(sql::Statement::new(
            h.statement.clone().expect("validated: sql has a statement"),
        ))),
        HandlerKind::Http => Effect::Outside(Arc::new(http::Webhook::new(h, concurrency)?)),
        HandlerKind::Exec => Effect::Outside(Arc::new(exec::Command::new(h, concurrency))),
        HandlerKind::Builtin => Effect::InDatabase(match h.builtin.as_deref() {
            Some("inspect-upload") => Arc::new(upload::InspectUpload),
            Some("make-thumbnail") => Arc::new(upload::MakeThumbnail {
                settings: config.uploads.clone(),
            }),
            Some("remove-thumbnail") => Arc::new(upload::RemoveThumbnail),
            Some("publish-upload") => Arc::new(upload::PublishUpload),
            Some("reject-upload") => Arc::new(upload::RejectUpload),
            other => return Err(format!("no built-in handler {other:?}")),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_the_configuration_accepts_exists() {
        let mut config = Config::default();
        for name in crate::config::BUILTINS {
            let mut h = HandlerConfig::inspect_upload();
            h.builtin = Some(name.to_string());
            assert!(build(&config, &h).is_ok(), "{name}");
            config.handlers.push(h);
        }
    }
}
