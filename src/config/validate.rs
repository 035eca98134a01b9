//! Checks a resolved configuration must pass: URLs with the right scheme and a
//! host, names RabbitMQ accepts, numbers and durations in range, handlers
//! and sagas that can work with the queues declared. Each error names the
//! setting, where its value came from, and the fix.

use std::collections::BTreeMap;
use std::time::Duration;

use super::handlers::HandlerConfig;
use super::origin::{ConfigError, Source, env_of, err};
use super::schema::Config;
use crate::model::TopicPattern;
use crate::secret::SecretUrl;

pub(super) fn validate(c: &Config, sources: &BTreeMap<String, Source>) -> Result<(), ConfigError> {
    let check = Checks { c, sources };
    check.servers()?;
    check.relay()?;
    check.broker()?;
    check.api()?;
    check.consumer()?;
    for (n, h) in c.handlers.iter().enumerate() {
        validate_handler(c, h, &c.handlers[..n])?;
    }
    validate_sagas(c)?;
    check.process()
}

/// The configuration, and where its values came from (for the messages).
struct Checks<'a> {
    c: &'a Config,
    sources: &'a BTreeMap<String, Source>,
}

impl Checks<'_> {
    /// ` (from <source>)` for a value that is not a default.
    fn from(&self, path: &str) -> String {
        self.sources
            .get(path)
            .map(|s| format!(" (from {s})"))
            .unwrap_or_default()
    }

    fn positive(&self, path: &str, v: u64, max: u64) -> Result<(), ConfigError> {
        if v == 0 || v > max {
            return Err(err(format!(
                "{path} must be between 1 and {max}, got {v}{} — change {path} or {}",
                self.from(path),
                env_of(path)
            )));
        }
        Ok(())
    }

    fn nonzero(&self, path: &str, d: Duration) -> Result<(), ConfigError> {
        if d.is_zero() {
            return Err(err(format!(
                "{path} must be longer than 0{} — write a duration like 5s or 250ms",
                self.from(path)
            )));
        }
        Ok(())
    }

    /// The servers' URLs and how long to wait for them.
    fn servers(&self) -> Result<(), ConfigError> {
        let c = self.c;
        check_url(
            &c.database.url,
            &["postgres", "postgresql"],
            "database.url",
            &self.from("database.url"),
            "postgres://user:password@host:5432/dbname",
        )?;
        check_url(
            &c.broker.url,
            &["amqp", "amqps"],
            "broker.url",
            &self.from("broker.url"),
            "amqp://user:password@host:5672/%2f",
        )?;
        if let Some(m) = &c.broker.management_url {
            check_url(
                m,
                &["http", "https"],
                "broker.management_url",
                &self.from("broker.management_url"),
                "http://user:password@host:15672",
            )?;
        }
        self.positive(
            "database.max_connections",
            c.database.max_connections.into(),
            1000,
        )?;
        self.nonzero("database.connect_timeout", c.database.connect_timeout)?;
        self.nonzero("broker.connect_timeout", c.broker.connect_timeout)?;
        self.nonzero("broker.confirm_timeout", c.broker.confirm_timeout)
    }

    fn relay(&self) -> Result<(), ConfigError> {
        let r = &self.c.relay;
        self.positive("relay.batch_size", r.batch_size.into(), 10_000)?;
        self.positive("relay.workers", r.workers.into(), 64)?;
        self.positive("relay.max_attempts", r.max_attempts.into(), 1000)?;
        self.nonzero("relay.interval", r.interval)?;
        self.nonzero("relay.backoff_initial", r.backoff_initial)?;
        if r.backoff_max < r.backoff_initial {
            return Err(err(format!(
                "relay.backoff_max ({}) is shorter than relay.backoff_initial ({}) — raise relay.backoff_max",
                humantime::format_duration(r.backoff_max),
                humantime::format_duration(r.backoff_initial)
            )));
        }
        Ok(())
    }

    /// Exchange and queue names, each queue's bindings.
    fn broker(&self) -> Result<(), ConfigError> {
        let c = self.c;
        for (path, name) in [
            ("broker.exchange", &c.broker.exchange),
            (
                "broker.dead_letter_exchange",
                &c.broker.dead_letter_exchange,
            ),
        ] {
            check_name(path, name, &self.from(path))?;
        }
        if c.broker.exchange == c.broker.dead_letter_exchange {
            return Err(err(
                "broker.exchange and broker.dead_letter_exchange must differ — rename one of them",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for q in &c.broker.queues {
            check_name("broker.queues.name", &q.name, "")?;
            // The retry and dead-letter queues are named after the work queue.
            // (`<queue>.retry.<delay>`, the delay at most "86399999ms").
            if q.name.len() > 255 - ".retry.86399999ms".len() {
                return Err(err(format!(
                    "broker.queues: queue name {:?} is too long — keep it under 238 bytes",
                    q.name
                )));
            }
            if !seen.insert(q.name.as_str()) {
                return Err(err(format!(
                    "broker.queues: queue {:?} is listed twice — remove one entry",
                    q.name
                )));
            }
            let orchestrates = q.name == c.orchestrator.queue && !c.sagas.is_empty();
            // An adopted queue may be bound by whoever declared it.
            if q.bindings.is_empty()
                && c.handlers_of(&q.name).next().is_none()
                && !orchestrates
                && !q.adopt
            {
                return Err(err(format!(
                    "broker.queues: queue {:?} has no bindings and no handlers — add topic patterns, \
                     e.g. bindings = [\"upload.#\"], or a [[handlers]] entry with queue = {:?}",
                    q.name, q.name
                )));
            }
            for b in &q.bindings {
                if b.is_empty() || b.len() > 255 {
                    return Err(err(format!(
                        "broker.queues: queue {:?} has an empty or over-long binding — use topic patterns like \"upload.#\"",
                        q.name
                    )));
                }
            }
        }
        Ok(())
    }

    fn api(&self) -> Result<(), ConfigError> {
        let api = &self.c.api;
        if api.max_upload_size.0 == 0 {
            return Err(err(
                "api.max_upload_size must be more than 0 — write a size like 10MiB",
            ));
        }
        if let Some(token) = &api.token
            && (token.expose().len() < 16 || token.expose().chars().any(char::is_whitespace))
        {
            return Err(err(format!(
                "api.token must be at least 16 characters without spaces{} — generate one, e.g. \
                 `openssl rand -hex 32`",
                self.from("api.token")
            )));
        }
        for t in &api.content_types {
            if !t.contains('/') || t.chars().any(|c| c.is_whitespace() || c == ';') {
                return Err(err(format!(
                    "api.content_types: {t:?} is not a media type — write them like \"image/png\""
                )));
            }
        }
        self.nonzero("api.request_timeout", api.request_timeout)?;
        self.nonzero("log.summary_interval", self.c.log.summary_interval)
    }

    fn consumer(&self) -> Result<(), ConfigError> {
        let c = self.c;
        self.positive("consumer.prefetch", c.consumer.prefetch.into(), 65_535)?;
        self.positive("consumer.concurrency", c.consumer.concurrency.into(), 1024)?;
        self.positive(
            "consumer.max_attempts",
            c.consumer.max_attempts.into(),
            1000,
        )?;
        self.nonzero("consumer.retry_delay", c.consumer.retry_delay)?;
        if c.consumer.max_retry_after < c.consumer.retry_delay {
            return Err(err(format!(
                "consumer.max_retry_after ({}) is shorter than consumer.retry_delay ({}) — raise \
                 it (default 5m) or lower retry_delay",
                humantime::format_duration(c.consumer.max_retry_after),
                humantime::format_duration(c.consumer.retry_delay)
            )));
        }
        if c.consumer.max_retry_after > Duration::from_secs(24 * 3600) {
            return Err(err(format!(
                "consumer.max_retry_after ({}) is over a day — a wait that long belongs to a \
                 saga time-out or a row scheduled for later; use at most 24h",
                humantime::format_duration(c.consumer.max_retry_after)
            )));
        }
        // A relay publishing into a topology managed elsewhere needs no queue of
        // its own; `consume` says so when it has nothing to read.
        if c.broker.queues.is_empty() && c.consumer.queue.is_none() && c.relay.apply_topology {
            return Err(err(
                "broker.queues is empty — declare at least one [[broker.queues]] in the config file, \
                 or set relay.apply_topology = false when the queues and bindings are managed \
                 elsewhere",
            ));
        }
        if let Some(q) = &c.consumer.queue
            && !c.broker.queues.iter().any(|b| b.name == *q)
        {
            return Err(err(format!(
                "consumer.queue {q:?} is not one of broker.queues ({}) — add it there or pick one of those",
                c.broker
                    .queues
                    .iter()
                    .map(|b| b.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if let Some(name) = &c.consumer.name
            && (name.is_empty() || name.len() > 200)
        {
            return Err(err(
                "consumer.name must be 1 to 200 characters — e.g. the service's name",
            ));
        }
        Ok(())
    }

    /// Watchdog, shutdown and logging.
    fn process(&self) -> Result<(), ConfigError> {
        let c = self.c;
        self.nonzero("watchdog.warn_after", c.watchdog.warn_after)?;
        if !c.watchdog.exit_after.is_zero() && c.watchdog.exit_after <= c.watchdog.warn_after {
            return Err(err(format!(
                "watchdog.exit_after ({}) must be longer than watchdog.warn_after ({}), or 0s to \
                 never exit — raise watchdog.exit_after",
                humantime::format_duration(c.watchdog.exit_after),
                humantime::format_duration(c.watchdog.warn_after)
            )));
        }
        self.nonzero("shutdown.grace", c.shutdown.grace)?;
        if c.log.level.trim().is_empty() {
            return Err(err(
                "log.level is empty — use info, debug, warn or a filter like outboxctl=debug",
            ));
        }
        Ok(())
    }
}

/// One `[[handlers]]` entry (`before` are the entries above it): a unique
/// name, a configured queue, valid topic patterns, limits that leave the
/// watchdog room, and its kind's own values.
fn validate_handler(
    c: &Config,
    h: &HandlerConfig,
    before: &[HandlerConfig],
) -> Result<(), ConfigError> {
    let name = &h.name;
    let valid_name = (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'));
    if !valid_name {
        return Err(err(format!(
            "handlers: name {name:?} must be 1 to 100 letters, digits, '-', '_' or '.' — \
             e.g. name = \"apply-payment\""
        )));
    }
    if before.iter().any(|b| b.name == *name) {
        return Err(err(format!(
            "handlers: {name:?} is declared twice — give each [[handlers]] entry its own name"
        )));
    }
    let fail = |what: String| Err(err(format!("handler {name:?}: {what}")));
    let queue = c.handler_queue(h);
    if !c.broker.queues.iter().any(|q| q.name == queue) {
        return fail(format!(
            "queue {queue:?} is not one of broker.queues — add it there or set queue to one of them"
        ));
    }
    if h.topics.is_empty() {
        return fail(
            "topics is empty — list the topic patterns it handles, e.g. topics = [\"order.paid\"]"
                .into(),
        );
    }
    for t in &h.topics {
        if let Err(e) = TopicPattern::parse(t) {
            return fail(e.to_string());
        }
    }
    if h.timeout.is_zero() {
        return fail("timeout must be longer than 0 — write a duration like 10s".into());
    }
    if h.concurrency.is_some_and(|n| n == 0 || n > 1024) {
        return fail("concurrency must be between 1 and 1024".into());
    }
    let exit_after = c.watchdog.exit_after;
    if h.spec.calls_out()
        && !exit_after.is_zero()
        && h.timeout + Duration::from_secs(60) >= exit_after
    {
        return fail(format!(
            "timeout {} leaves the watchdog no room (watchdog.exit_after = {}) — shorten \
             the timeout or raise watchdog.exit_after to more than a minute beyond it",
            humantime::format_duration(h.timeout),
            humantime::format_duration(exit_after)
        ));
    }
    h.spec.check().or_else(fail)
}

/// Every `[[sagas]]` entry: a unique name usable in a topic, a start topic
/// and correlation field, steps with unique names whose commands and
/// compensations some queue receives, and no compensation that can never run.
fn validate_sagas(c: &Config) -> Result<(), ConfigError> {
    if c.sagas.is_empty() {
        return Ok(());
    }
    if !c
        .broker
        .queues
        .iter()
        .any(|q| q.name == c.orchestrator.queue)
    {
        return Err(err(format!(
            "orchestrator.queue {:?} is not one of broker.queues — add [[broker.queues]] name = {:?} \
             (bindings = [] will do: it is bound to the sagas' topics)",
            c.orchestrator.queue, c.orchestrator.queue
        )));
    }
    let queues = c.bound_queues();
    let routed = |topic: &str| {
        queues.iter().any(|q| {
            q.bindings
                .iter()
                .filter_map(|b| TopicPattern::parse(b).ok())
                .any(|p| p.matches(topic))
        })
    };
    let mut names = std::collections::HashSet::new();
    for s in &c.sagas {
        let name = &s.name;
        let valid_name = (1..=50).contains(&name.len())
            && name.chars().all(|ch| {
                ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '-' | '_')
            });
        if !valid_name {
            return Err(err(format!(
                "sagas: name {name:?} must be 1 to 50 lower-case letters, digits, '-' or '_' \
                 (it is part of the topics saga.<name>.reply and saga.<name>.timeout)"
            )));
        }
        if !names.insert(name.as_str()) {
            return Err(err(format!(
                "sagas: {name:?} is declared twice — give each [[sagas]] entry its own name"
            )));
        }
        let fail = |what: String| Err(err(format!("saga {name:?}: {what}")));
        if let Err(e) = crate::model::Topic::parse(s.start.as_str()) {
            return fail(format!("start: {e}"));
        }
        if s.correlate.trim().is_empty() {
            return fail("correlate names the start payload's field that identifies an instance, e.g. correlate = \"order_id\"".into());
        }
        if s.deadline.is_zero() {
            return fail("deadline must be longer than 0 — write a duration like 10m".into());
        }
        if s.steps.is_empty() {
            return fail("has no steps — add [[sagas.steps]] entries".into());
        }
        let mut steps = std::collections::HashSet::new();
        for (n, step) in s.steps.iter().enumerate() {
            let sfail = |what: String| fail(format!("step {:?}: {what}", step.name));
            if step.name.trim().is_empty() || !steps.insert(step.name.as_str()) {
                return sfail("every step needs a name of its own".into());
            }
            for (what, topic) in [
                ("command", Some(&step.command)),
                ("compensation", step.compensation.as_ref()),
            ] {
                let Some(topic) = topic else { continue };
                if let Err(e) = crate::model::Topic::parse(topic.as_str()) {
                    return sfail(format!("{what}: {e}"));
                }
                if !routed(topic) {
                    return sfail(format!(
                        "no queue receives its {what} topic {topic:?} — bind it to a queue \
                         (a [[handlers]] entry for it, or broker.queues bindings)"
                    ));
                }
            }
            if step.compensation.as_ref() == Some(&step.command) {
                return sfail(
                    "its compensation is its own command — give the undo a topic of its own".into(),
                );
            }
            if step.timeout.is_zero() {
                return sfail("timeout must be longer than 0 — write a duration like 30s".into());
            }
            if n + 1 == s.steps.len() && step.compensation.is_some() {
                return sfail(
                    "the last step's compensation has nothing to undo: when the last step \
                     succeeds the saga is complete — remove it"
                        .into(),
                );
            }
        }
        let mut from = std::collections::HashSet::new();
        for r in &s.renamed {
            let rfail = |what: String| {
                fail(format!(
                    "[[sagas.renamed]] from = {:?}, to = {:?}: {what}",
                    r.from, r.to
                ))
            };
            if !steps.contains(r.to.as_str()) {
                return rfail(format!(
                    "there is no step {:?} — `to` is the step's name now (one of {})",
                    r.to,
                    s.steps
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if steps.contains(r.from.as_str()) {
                return rfail(format!(
                    "{:?} is still a step's name — `from` is the name it had before",
                    r.from
                ));
            }
            if !from.insert(r.from.as_str()) {
                return rfail("this old name is mapped twice — keep one entry for it".into());
            }
        }
    }
    Ok(())
}

fn check_url(
    url: &SecretUrl,
    schemes: &[&str],
    path: &str,
    from: &str,
    example: &str,
) -> Result<(), ConfigError> {
    let env = env_of(path);
    let nodes = url.nodes();
    // A RabbitMQ cluster is a list of nodes; PostgreSQL is one server.
    if nodes.len() > 1 && path != "broker.url" {
        return Err(err(format!(
            "{path} lists several hosts{from}: {} — only broker.url may; point {path} at one \
             server",
            url.masked()
        )));
    }
    for node in &nodes[1..] {
        check_url(node, schemes, path, from, example)?;
    }
    let parsed = url.parsed().map_err(|e| {
        err(format!(
            "{path} is not a valid URL ({e}){from}: {} — expected {example} ({env} / --{})",
            url.masked(),
            path.replace(['.', '_'], "-")
        ))
    })?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(err(format!(
            "{path} must start with {}://, got {}://{from} — expected {example}",
            schemes[0],
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err(format!(
            "{path} has no host{from}: {} — expected {example}",
            url.masked()
        )));
    }
    Ok(())
}

fn check_name(path: &str, name: &str, from: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok && !name.starts_with("amq.") {
        Ok(())
    } else {
        Err(err(format!(
            "{path} {name:?} is not a usable name{from} — use letters, digits, '.', '-', '_' or ':' (up to 255, not starting with amq.)"
        )))
    }
}
