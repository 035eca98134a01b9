//! The handlers of a queue, as `[[handlers]]` declares them: each kind's
//! runner built from its spec, and the routing of topic patterns to them.

use std::sync::Arc;

use sqlx::PgPool;

use super::handler::{Call, Handler, Limits};
use super::{exec, http, sql, upload};
use crate::config::{Config, HandlerConfig, HandlerSpec};
use crate::model::{TopicPattern, UploadCreated};

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
    /// What the operator should change though it works (see
    /// [`HandlerSpec::advice`]).
    pub advice: Option<String>,
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
                kind: h.spec.kind(),
                patterns,
                effect,
                advice: h.spec.advice(),
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
            advice: None,
        }));
        self
    }

    /// Log, once at start, what should change in the handlers' configuration.
    pub fn advise(&self) {
        for r in &self.routes {
            if let Some(advice) = &r.advice {
                tracing::warn!(handler = %r.name, "handler {}: {advice}", r.name);
            }
        }
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

/// The runner of a handler's kind.
fn build(config: &Config, h: &HandlerConfig) -> Result<Effect, String> {
    let limits = Limits {
        timeout: h.timeout,
        concurrency: h.concurrency.unwrap_or(config.consumer.concurrency) as usize,
    };
    Ok(match &h.spec {
        HandlerSpec::Sql(s) => Effect::InDatabase(Arc::new(sql::Statement::new(s))),
        HandlerSpec::Http(s) => Effect::Outside(Arc::new(http::Webhook::new(s, limits)?)),
        HandlerSpec::Exec(s) => Effect::Outside(Arc::new(exec::Command::new(s, limits))),
        HandlerSpec::Builtin(b) => Effect::InDatabase(upload::handler(b.builtin, &config.uploads)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Builtin;

    #[test]
    fn every_builtin_the_configuration_accepts_exists() {
        let config = Config::default();
        for b in Builtin::ALL {
            let h = HandlerConfig::builtin(b);
            assert!(
                matches!(build(&config, &h), Ok(Effect::InDatabase(_))),
                "{}",
                b.as_str()
            );
        }
    }
}
