//! Set-up commands: `migrate`, `topology apply`, `config show`, `config check`.

use anyhow::{Context, bail};

use super::Outcome;
use sqlx::PgPool;

use crate::broker::{Broker, Topology};
use crate::config::{Config, Resolved};
use crate::flow::handlers::Handlers;
use crate::output;
use crate::store;

/// Apply pending migrations and say which (running it again is a no-op).
pub async fn migrate(config: &Config) -> anyhow::Result<Outcome> {
    let pool = store::connect(&config.database, "outboxctl migrate", &[]).await?;
    let applied = store::migrate(&pool).await?;
    let total = store::MIGRATOR.iter().count();
    if applied.is_empty() {
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
pub async fn topology_apply(config: &Config) -> anyhow::Result<Outcome> {
    let broker = Broker::connect(&config.broker, "outboxctl topology").await?;
    let declared = broker.apply_topology(&Topology::from_config(config)).await;
    broker.close().await;
    for line in declared? {
        output::line(format!("declared {line}"))?;
    }
    Ok(Outcome::Success)
}

pub fn config_show(resolved: &Resolved) -> anyhow::Result<Outcome> {
    output::text(resolved.render_toml())?;
    Ok(Outcome::Success)
}

/// Validate (already done by resolving), reach both servers, and check every
/// handler (statements prepare, programs exist), one line each.
pub async fn config_check(resolved: &Resolved) -> anyhow::Result<Outcome> {
    let config = &resolved.config;
    let file = resolved
        .file
        .as_ref()
        .map_or("none (built-in defaults)".to_string(), |f| {
            f.display().to_string()
        });
    output::line(format!("config    {file}: valid"))?;

    let mut failures = Vec::new();
    let pool = match check_database(config).await {
        Ok((pool, detail)) => {
            output::line(format!("database  {}: ok, {detail}", config.database.url))?;
            Some(pool)
        }
        Err(e) => {
            output::line(format!("database  {}: FAILED, {e:#}", config.database.url))?;
            failures.push(e);
            None
        }
    };
    for q in &config.broker.queues {
        let handlers = match Handlers::for_queue(config, &q.name) {
            Ok(h) => h,
            Err(e) => {
                output::line(format!("handler   {}: FAILED, {}", e.handler, e.message))?;
                failures.push(e.into());
                continue;
            }
        };
        for route in handlers.routes() {
            let label = format!(
                "handler   {} ({}, queue {})",
                route.name, route.kind, q.name
            );
            let Some(pool) = &pool else {
                output::line(format!("{label}: not checked, the database is unreachable"))?;
                continue;
            };
            match route.check(pool).await {
                Ok(detail) => output::line(format!("{label}: ok, {detail}"))?,
                Err(message) => {
                    output::line(format!("{label}: FAILED, {message}"))?;
                    failures.push(anyhow::anyhow!("handler {}: {message}", route.name));
                }
            }
        }
    }
    if let Some(pool) = pool {
        pool.close().await;
    }
    match check_broker(config).await {
        Ok(detail) => output::line(format!("broker    {}: ok, {detail}", config.broker.url))?,
        Err(e) => {
            output::line(format!("broker    {}: FAILED, {e:#}", config.broker.url))?;
            failures.push(e);
        }
    }
    match failures.len() {
        0 => Ok(Outcome::Success),
        1 => Err(failures.remove(0)),
        n => bail!("{n} checks failed: {:#}; {:#}", failures[0], failures[1]),
    }
}

async fn check_database(config: &Config) -> anyhow::Result<(PgPool, String)> {
    let pool = store::connect(&config.database, "outboxctl config check", &[]).await?;
    let version = store::server_version(&pool).await?;
    let pending = store::pending_migrations(&pool).await?;
    let total = store::MIGRATOR.iter().count();
    let detail = if pending.is_empty() {
        format!("{version}, schema up to date ({})", migrations(total))
    } else {
        format!(
            "{version}, {} of {total} not applied yet (run `outboxctl migrate`)",
            migrations(pending.len())
        )
    };
    Ok((pool, detail))
}

async fn check_broker(config: &Config) -> anyhow::Result<String> {
    let broker = Broker::connect(&config.broker, "outboxctl config check").await?;
    let result = async {
        let mut missing = Vec::new();
        if !broker.exchange_exists(&config.broker.exchange).await? {
            missing.push(format!("exchange {}", config.broker.exchange));
        }
        for q in &config.broker.queues {
            if broker.queue_stats(&q.name).await?.is_none() {
                missing.push(format!("queue {}", q.name));
            }
        }
        let vhost = broker.vhost();
        anyhow::Ok(if missing.is_empty() {
            format!("vhost {vhost}, topology declared")
        } else {
            format!(
                "vhost {vhost}, not declared yet: {} (run `outboxctl topology apply`; relay does it on start)",
                missing.join(", ")
            )
        })
    }
    .await
    .context("checking the topology");
    broker.close().await;
    result
}

fn migrations(n: usize) -> String {
    format!("{n} migration{}", if n == 1 { "" } else { "s" })
}
