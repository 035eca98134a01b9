//! Checks a resolved configuration must pass: URLs with the right scheme and a
//! host, names RabbitMQ accepts, numbers and durations in range. Each error
//! names the setting, where its value came from, and the fix.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Config;
use super::resolve::{ConfigError, Source, env_name, err};
use crate::secret::SecretUrl;

pub(super) fn validate(c: &Config, sources: &BTreeMap<String, Source>) -> Result<(), ConfigError> {
    let from = |path: &str| {
        sources
            .get(path)
            .map(|s| format!(" (from {s})"))
            .unwrap_or_default()
    };
    check_url(
        &c.database.url,
        &["postgres", "postgresql"],
        "database.url",
        &from("database.url"),
        "postgres://user:password@host:5432/dbname",
    )?;
    check_url(
        &c.broker.url,
        &["amqp", "amqps"],
        "broker.url",
        &from("broker.url"),
        "amqp://user:password@host:5672/%2f",
    )?;
    if let Some(m) = &c.broker.management_url {
        check_url(
            m,
            &["http", "https"],
            "broker.management_url",
            &from("broker.management_url"),
            "http://user:password@host:15672",
        )?;
    }

    let positive = |path: &str, v: u64, max: u64| -> Result<(), ConfigError> {
        if v == 0 || v > max {
            return Err(err(format!(
                "{path} must be between 1 and {max}, got {v}{} — change {path} or {}",
                from(path),
                env_of(path)
            )));
        }
        Ok(())
    };
    positive(
        "database.max_connections",
        c.database.max_connections.into(),
        1000,
    )?;
    positive("relay.batch_size", c.relay.batch_size.into(), 10_000)?;
    positive("relay.workers", c.relay.workers.into(), 64)?;
    positive("relay.max_attempts", c.relay.max_attempts.into(), 1000)?;

    let nonzero = |path: &str, d: Duration| -> Result<(), ConfigError> {
        if d.is_zero() {
            return Err(err(format!(
                "{path} must be longer than 0{} — write a duration like 5s or 250ms",
                from(path)
            )));
        }
        Ok(())
    };
    nonzero("database.connect_timeout", c.database.connect_timeout)?;
    nonzero("broker.connect_timeout", c.broker.connect_timeout)?;
    nonzero("broker.confirm_timeout", c.broker.confirm_timeout)?;
    nonzero("relay.interval", c.relay.interval)?;
    nonzero("relay.backoff_initial", c.relay.backoff_initial)?;
    if c.relay.backoff_max < c.relay.backoff_initial {
        return Err(err(format!(
            "relay.backoff_max ({}) is shorter than relay.backoff_initial ({}) — raise relay.backoff_max",
            humantime::format_duration(c.relay.backoff_max),
            humantime::format_duration(c.relay.backoff_initial)
        )));
    }

    for (path, name) in [
        ("broker.exchange", &c.broker.exchange),
        (
            "broker.dead_letter_exchange",
            &c.broker.dead_letter_exchange,
        ),
    ] {
        check_name(path, name, &from(path))?;
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
        if q.name.len() > 255 - ".retry".len() {
            return Err(err(format!(
                "broker.queues: queue name {:?} is too long — keep it under 250 bytes",
                q.name
            )));
        }
        if !seen.insert(q.name.as_str()) {
            return Err(err(format!(
                "broker.queues: queue {:?} is listed twice — remove one entry",
                q.name
            )));
        }
        if q.bindings.is_empty() {
            return Err(err(format!(
                "broker.queues: queue {:?} has no bindings — add topic patterns, e.g. bindings = [\"upload.#\"]",
                q.name
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
    if c.api.max_upload_size.0 == 0 {
        return Err(err(
            "api.max_upload_size must be more than 0 — write a size like 10MiB",
        ));
    }
    if let Some(token) = &c.api.token
        && (token.expose().len() < 16 || token.expose().chars().any(char::is_whitespace))
    {
        return Err(err(format!(
            "api.token must be at least 16 characters without spaces{} — generate one, e.g. \
             `openssl rand -hex 32`",
            from("api.token")
        )));
    }
    for t in &c.api.content_types {
        if !t.contains('/') || t.chars().any(|c| c.is_whitespace() || c == ';') {
            return Err(err(format!(
                "api.content_types: {t:?} is not a media type — write them like \"image/png\""
            )));
        }
    }
    nonzero("api.request_timeout", c.api.request_timeout)?;
    positive("consumer.prefetch", c.consumer.prefetch.into(), 65_535)?;
    positive("consumer.concurrency", c.consumer.concurrency.into(), 1024)?;
    positive(
        "consumer.max_attempts",
        c.consumer.max_attempts.into(),
        1000,
    )?;
    nonzero("consumer.retry_delay", c.consumer.retry_delay)?;
    if c.broker.queues.is_empty() && c.consumer.queue.is_none() {
        return Err(err(
            "broker.queues is empty — declare at least one [[broker.queues]] in the config file",
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
    nonzero("watchdog.warn_after", c.watchdog.warn_after)?;
    if !c.watchdog.exit_after.is_zero() && c.watchdog.exit_after <= c.watchdog.warn_after {
        return Err(err(format!(
            "watchdog.exit_after ({}) must be longer than watchdog.warn_after ({}), or 0s to \
             never exit — raise watchdog.exit_after",
            humantime::format_duration(c.watchdog.exit_after),
            humantime::format_duration(c.watchdog.warn_after)
        )));
    }
    nonzero("shutdown.grace", c.shutdown.grace)?;
    if c.log.level.trim().is_empty() {
        return Err(err(
            "log.level is empty — use info, debug, warn or a filter like outboxctl=debug",
        ));
    }
    Ok(())
}

fn env_of(path: &str) -> String {
    let (section, key) = path.split_once('.').unwrap_or((path, ""));
    env_name(section, key)
}

fn check_url(
    url: &SecretUrl,
    schemes: &[&str],
    path: &str,
    from: &str,
    example: &str,
) -> Result<(), ConfigError> {
    let env = env_of(path);
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
