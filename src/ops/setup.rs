//! Set-up commands: `migrate`, `topology apply`, `config show`, `config check`.

use serde::Serialize;

use super::Outcome;
use crate::broker::{Broker, Topology, management, topology};
use crate::cli::Output;
use crate::config::{Config, Resolved};
use crate::flow::handlers::Handlers;
use crate::output;
use crate::store;

/// Apply pending migrations and say which (running it again is a no-op).
pub async fn migrate(config: &Config, format: Output) -> anyhow::Result<Outcome> {
    if config.database.transaction_pooling {
        anyhow::bail!(
            "migrate needs a direct connection to PostgreSQL: it serialises runs with a \
             session-level advisory lock, which a transaction-mode pooler does not keep — run it \
             against the server itself: OUTBOX_DATABASE_TRANSACTION_POOLING=false \
             outboxctl migrate --database-url postgres://…@<server>:5432/<db>"
        );
    }
    let pool = store::connect(&config.database, "outboxctl migrate", &[]).await?;
    let applied = store::migrate(&pool).await?;
    let total = store::MIGRATOR.iter().count();
    if format == Output::Json {
        let applied: Vec<_> = applied
            .iter()
            .map(|m| serde_json::json!({ "version": m.version, "description": m.description }))
            .collect();
        output::json_line(&serde_json::json!({ "applied": applied, "migrations": total }))?;
    } else if applied.is_empty() {
        output::line(format!("schema is up to date ({})", migrations(total)))?;
    } else {
        for m in &applied {
            output::line(format!("applied {:04} {}", m.version, m.description))?;
        }
        output::line(format!(
            "applied {}; schema is up to date",
            migrations(applied.len())
        ))?;
    }
    pool.close().await;
    Ok(Outcome::Success)
}

/// Declare the exchanges and queues from `[broker]`.
pub async fn topology_apply(config: &Config, format: Output) -> anyhow::Result<Outcome> {
    let broker = Broker::connect(&config.broker, "outboxctl topology").await?;
    let topology = Topology::from_config(config);
    let declared = broker.apply_topology(&topology).await;
    let retired = match &declared {
        Ok(_) => {
            // Without the management API only the ladder's delays are found.
            let listed = management::queue_names(&config.broker)
                .await
                .unwrap_or_default();
            topology.retire(&broker, &listed).await
        }
        Err(_) => Ok(Vec::new()),
    };
    broker.close().await;
    let (declared, retired) = (declared?, retired?);
    let unrouted = config.unrouted_topics();
    if format == Output::Json {
        let unrouted: Vec<_> = unrouted
            .iter()
            .map(|(topic, by)| serde_json::json!({ "topic": topic, "published_by": by }))
            .collect();
        let retired: Vec<_> = retired.iter().map(|(_, r)| r).collect();
        output::json_line(&serde_json::json!({
            "declared": declared,
            "retired": retired,
            "unrouted": unrouted,
        }))?;
        return Ok(Outcome::Success);
    }
    for line in declared {
        output::line(format!("declared {line}"))?;
    }
    for (work, r) in &retired {
        if r.removed {
            output::line(r.text(work))?;
        } else {
            eprintln!("outboxctl: warning: {}", r.text(work));
        }
    }
    for (topic, by) in &unrouted {
        eprintln!("outboxctl: warning: {}", unrouted_text(topic, by));
    }
    Ok(Outcome::Success)
}

/// What an unroutable published topic means, and the fix.
fn unrouted_text(topic: &str, by: &str) -> String {
    format!(
        "no queue is bound to {topic} ({by} publishes it): the broker returns it as unroutable \
         and its rows fail, then die — bind it to a queue (bindings in [[broker.queues]], or a \
         handler's topics)"
    )
}

/// The effective configuration: TOML with each value's source as a comment,
/// or JSON `{"file", "config", "sources"}` (passwords masked either way).
pub fn config_show(resolved: &Resolved, format: Output) -> anyhow::Result<Outcome> {
    if format == Output::Json {
        let sources: std::collections::BTreeMap<&str, String> = resolved
            .sources
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_string()))
            .collect();
        output::json_line(&serde_json::json!({
            "file": resolved.file.as_ref().map(|f| f.display().to_string()),
            "config": resolved.config,
            "sources": sources,
        }))?;
        return Ok(Outcome::Success);
    }
    output::text(resolved.render_toml())?;
    Ok(Outcome::Success)
}

/// One line of `config check`.
#[derive(Debug, Serialize)]
pub struct Check {
    /// config, database, schema, handler, broker, topology, bindings, management
    pub check: &'static str,
    /// What was checked: a file, a URL (password masked), a handler, a queue.
    pub target: String,
    pub result: Verdict,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    /// Works, but something an operator wants is missing; exit stays 0.
    Warn,
    Failed,
}

/// Validate (already done by resolving), then everything a deploy needs:
/// both servers reachable, the schema migrated, every handler able to work,
/// the exchange, queues and bindings declared, the management API that
/// `lag` reads. One line each; exit 1 when any failed — a pre-flight.
pub async fn config_check(resolved: &Resolved, format: Output) -> anyhow::Result<Outcome> {
    let config = &resolved.config;
    let mut checks = Vec::new();
    let mut add = |check: &'static str, target: String, result: Verdict, detail: String| {
        checks.push(Check {
            check,
            target,
            result,
            detail,
        })
    };
    add(
        "config",
        resolved
            .file
            .as_ref()
            .map_or("none (built-in defaults)".to_string(), |f| {
                f.display().to_string()
            }),
        Verdict::Ok,
        "valid".into(),
    );
    let db_target = config.database.url.to_string();
    let pool = match store::connect(&config.database, "outboxctl config check", &[]).await {
        Ok(pool) => {
            let version = store::server_version(&pool).await.unwrap_or_default();
            add("database", db_target.clone(), Verdict::Ok, version);
            if config.database.transaction_pooling {
                add(
                    "database",
                    db_target.clone(),
                    Verdict::Warn,
                    format!(
                        "transaction pooling: LISTEN is unavailable, so the relay polls every \
                         relay.interval ({}) instead of waking on each insert; `migrate` needs a \
                         direct connection",
                        humantime::format_duration(config.relay.interval)
                    ),
                );
            }
            let pending = store::pending_migrations(&pool).await?;
            let total = store::MIGRATOR.iter().count();
            if pending.is_empty() {
                add(
                    "schema",
                    db_target.clone(),
                    Verdict::Ok,
                    format!("up to date ({})", migrations(total)),
                );
            } else {
                add(
                    "schema",
                    db_target.clone(),
                    Verdict::Failed,
                    format!(
                        "{} of {total} migrations not applied — run `outboxctl migrate`",
                        pending.len()
                    ),
                );
            }
            Some(pool)
        }
        Err(e) => {
            add("database", db_target, Verdict::Failed, format!("{e:#}"));
            None
        }
    };
    for q in &config.broker.queues {
        let handlers = match Handlers::for_queue(config, &q.name) {
            Ok(h) => h,
            Err(e) => {
                add(
                    "handler",
                    e.handler.clone(),
                    Verdict::Failed,
                    e.message.clone(),
                );
                continue;
            }
        };
        for route in handlers.routes() {
            let target = format!("{} ({}, queue {})", route.name, route.kind, q.name);
            match &pool {
                None => add(
                    "handler",
                    target,
                    Verdict::Failed,
                    "not checked: the database is unreachable".into(),
                ),
                Some(pool) => match route.check(pool).await {
                    Ok(detail) => match &route.advice {
                        Some(advice) => add("handler", target, Verdict::Warn, advice.clone()),
                        None => add("handler", target, Verdict::Ok, detail),
                    },
                    Err(message) => add("handler", target, Verdict::Failed, message),
                },
            }
        }
    }
    if let Some(pool) = pool {
        pool.close().await;
    }
    for (topic, by) in config.unrouted_topics() {
        add(
            "routing",
            topic.clone(),
            Verdict::Warn,
            unrouted_text(&topic, &by),
        );
    }
    check_broker(config, &mut add).await;
    let failed = checks
        .iter()
        .filter(|c| c.result == Verdict::Failed)
        .count();
    if format == Output::Json {
        for c in &checks {
            output::json_line(c)?;
        }
    } else {
        let mut t = output::table(&["check", "", "target", "detail"]);
        for c in &checks {
            t.add_row(vec![
                comfy_table::Cell::new(c.check),
                match c.result {
                    Verdict::Ok => output::verdict_cell(true),
                    Verdict::Failed => output::verdict_cell(false),
                    Verdict::Warn => comfy_table::Cell::new("warn"),
                },
                comfy_table::Cell::new(&c.target),
                comfy_table::Cell::new(&c.detail),
            ]);
        }
        output::print_table(&t)?;
    }
    if failed > 0 {
        eprintln!(
            "outboxctl: {failed} check{} failed",
            if failed == 1 { "" } else { "s" }
        );
        return Ok(Outcome::CheckFailed);
    }
    Ok(Outcome::Success)
}

/// The broker, the declared topology and its bindings, and the management
/// API.
async fn check_broker(
    config: &Config,
    add: &mut impl FnMut(&'static str, String, Verdict, String),
) {
    let target = config.broker.url.to_string();
    let broker = match Broker::connect(&config.broker, "outboxctl config check").await {
        Ok(b) => b,
        Err(e) => {
            add("broker", target, Verdict::Failed, e.to_string());
            return;
        }
    };
    add(
        "broker",
        target,
        Verdict::Ok,
        format!("vhost {}", broker.vhost()),
    );
    let fix = "run `outboxctl topology apply` (relay and consume do it on start unless \
               apply_topology = false)";
    let exchange = &config.broker.exchange;
    match broker.exchange_exists(exchange).await {
        Ok(true) => add(
            "topology",
            format!("exchange {exchange}"),
            Verdict::Ok,
            "declared".into(),
        ),
        Ok(false) => add(
            "topology",
            format!("exchange {exchange}"),
            Verdict::Failed,
            format!("missing — {fix}"),
        ),
        Err(e) => add(
            "topology",
            format!("exchange {exchange}"),
            Verdict::Failed,
            e.to_string(),
        ),
    }
    let management = management::base_url(&config.broker).map_or("-".into(), |u| u.to_string());
    let mut management_ok = true;
    let tiers = config.consumer.retry_delays().tiers();
    for q in config.bound_queues() {
        let mut missing = Vec::new();
        for (name, delay) in topology::retry_queues(&q.name, &tiers).iter().zip(&tiers) {
            match broker.queue_stats(name).await {
                Ok(Some(_)) => {}
                Ok(None) => missing.push(topology::delay_label(*delay)),
                Err(e) => missing.push(format!("{} ({e})", topology::delay_label(*delay))),
            }
        }
        let labels: Vec<String> = tiers.iter().map(|d| topology::delay_label(*d)).collect();
        add(
            "topology",
            format!("queue {}", topology::retry_queues_pattern(&q.name)),
            if missing.is_empty() {
                Verdict::Ok
            } else {
                Verdict::Failed
            },
            if missing.is_empty() {
                format!("declared: {}", labels.join(", "))
            } else {
                format!("missing {} — {fix}", missing.join(", "))
            },
        );
        let legacy = topology::legacy_retry_queue(&q.name);
        if let Ok(Some(stats)) = broker.queue_stats(&legacy).await {
            add(
                "topology",
                format!("queue {legacy}"),
                Verdict::Warn,
                format!(
                    "the retry queue of earlier versions ({} message(s) in it, on their way back \
                     to {}) — once every consumer runs this version, `outboxctl topology apply` \
                     removes it when it is empty",
                    stats.ready, q.name
                ),
            );
        }
        let names = [q.name.clone(), topology::dead_letter_queue(&q.name)];
        for name in names {
            match broker.queue_stats(&name).await {
                Ok(Some(_)) => add(
                    "topology",
                    format!("queue {name}"),
                    Verdict::Ok,
                    "declared".into(),
                ),
                Ok(None) => add(
                    "topology",
                    format!("queue {name}"),
                    Verdict::Failed,
                    format!("missing — {fix}"),
                ),
                Err(e) => add(
                    "topology",
                    format!("queue {name}"),
                    Verdict::Failed,
                    e.to_string(),
                ),
            }
        }
        if !management_ok || q.bindings.is_empty() {
            continue;
        }
        match management::bindings(&config.broker, exchange, &q.name).await {
            Ok(keys) => {
                let missing: Vec<&str> = q
                    .bindings
                    .iter()
                    .filter(|b| !keys.contains(b))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() {
                    add(
                        "bindings",
                        format!("queue {}", q.name),
                        Verdict::Ok,
                        q.bindings.join(", "),
                    );
                } else {
                    add(
                        "bindings",
                        format!("queue {}", q.name),
                        Verdict::Failed,
                        format!(
                            "not bound to {}: messages of those topics are unroutable — {fix}",
                            missing.join(", ")
                        ),
                    );
                }
            }
            Err(e) => {
                management_ok = false;
                add(
                    "management",
                    management.clone(),
                    Verdict::Warn,
                    format!("{e} — bindings not checked; `outboxctl lag` shows no unacked counts"),
                );
            }
        }
    }
    if management_ok {
        match management::server_version(&config.broker).await {
            Some(v) => add("management", management, Verdict::Ok, v),
            None => add(
                "management",
                management,
                Verdict::Warn,
                "unreachable — enable the rabbitmq_management plugin or set \
                 broker.management_url; `outboxctl lag` shows no unacked counts"
                    .into(),
            ),
        }
    }
    broker.close().await;
}

fn migrations(n: usize) -> String {
    format!("{n} migration{}", if n == 1 { "" } else { "s" })
}

/// `lanes show`: the lane count and the pending rows.
pub async fn lanes_show(config: &Config, format: Output) -> anyhow::Result<Outcome> {
    let pool = store::connect(&config.database, "outboxctl lanes", &[]).await?;
    let lanes = store::outbox::lane_count(&pool).await?;
    let (pending, busy) = store::outbox::lane_usage(&pool).await?;
    if format == Output::Json {
        output::json_line(&serde_json::json!({
            "lanes": lanes, "pending_rows": pending, "lanes_with_pending_rows": busy
        }))?;
    } else {
        output::line(format!(
            "{lanes} lanes; {pending} pending rows in {busy} of them — at most {lanes} batches in \
             flight across all relayers (each worker takes up to lanes / relay.workers per batch)"
        ))?;
    }
    Ok(Outcome::Success)
}

/// `lanes set N`: renumber the lanes.
pub async fn lanes_set(
    config: &Config,
    lanes: u32,
    wait: std::time::Duration,
    change: &crate::cli::MoveArgs,
) -> anyhow::Result<Outcome> {
    let (dry_run, yes, format) = (change.dry_run, change.yes, change.output.output);
    let pool = store::connect(&config.database, "outboxctl lanes", &[]).await?;
    let old = store::outbox::lane_count(&pool).await?;
    let (pending, _) = store::outbox::lane_usage(&pool).await?;
    let say = |text: String, moved: Option<u64>| -> anyhow::Result<()> {
        if format == Output::Json {
            output::json_line(&serde_json::json!({
                "action": "lanes set", "dry_run": dry_run, "from": old, "to": lanes,
                "pending_rows": pending, "moved": moved
            }))?;
        } else {
            output::line(text)?;
        }
        Ok(())
    };
    if old == lanes {
        say(format!("already {lanes} lanes; nothing to do"), Some(0))?;
        return Ok(Outcome::Success);
    }
    if dry_run {
        say(
            format!(
                "would renumber {old} lanes to {lanes}: {pending} pending rows recomputed, after \
                 the batches in flight end (writers wait meanwhile)"
            ),
            None,
        )?;
        return Ok(Outcome::Success);
    }
    let question = format!("renumber {old} lanes to {lanes} ({pending} pending rows)");
    // Every pending row moves and writers wait: ask as for many rows.
    if !output::confirm(&question, usize::MAX, yes)? {
        return Ok(Outcome::CheckFailed);
    }
    let (_, moved) = store::outbox::set_lane_count(&pool, lanes, wait)
        .await
        .map_err(|e| {
            if e.to_string().contains("lock timeout") {
                anyhow::anyhow!(
                    "batches in flight or writers held the outbox longer than --wait {} — \
                     nothing changed; try again, or with a longer --wait",
                    humantime::format_duration(wait)
                )
            } else {
                e.into()
            }
        })?;
    say(
        format!(
            "{old} lanes are now {lanes}; the lanes of {moved} pending rows recomputed (restart \
             the relayers to spread their workers over the new lanes)"
        ),
        Some(moved),
    )?;
    Ok(Outcome::Success)
}
