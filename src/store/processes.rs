//! The process registry (`outbox_processes`): every long-running outboxctl
//! part registers, beats every few seconds and signs off at a clean exit;
//! `outboxctl status` and `top` read it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;

/// A registered process as `status` shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Process {
    pub id: Uuid,
    pub role: String,
    pub host: String,
    pub pid: i32,
    pub version: String,
    pub detail: Option<String>,
    pub doing: Option<String>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// Seconds since the last beat, by the database's clock.
    pub silent_seconds: f64,
    /// The most connections its pool opens.
    pub pool_size: Option<i32>,
}

/// Who is registering.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub id: Uuid,
    pub role: &'a str,
    pub host: &'a str,
    pub pid: i32,
    pub version: &'a str,
    pub detail: Option<&'a str>,
    pub pool_size: u32,
}

pub async fn register(pool: &PgPool, r: &Registration<'_>, doing: &str) -> Result<(), StoreError> {
    sqlx::query(
        r#"INSERT INTO outbox_processes (id, role, host, pid, version, detail, doing, pool_size)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL, doing = $7"#,
    )
    .bind(r.id)
    .bind(r.role)
    .bind(r.host)
    .bind(r.pid)
    .bind(r.version)
    .bind(r.detail)
    .bind(doing)
    .bind(i32::try_from(r.pool_size).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(())
}

/// A beat: alive, doing `doing`. Also forgets processes silent for a day.
pub async fn beat(pool: &PgPool, id: Uuid, doing: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox_processes SET heartbeat_at = now(), doing = $2, stopped_at = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(doing)
    .execute(pool)
    .await?;
    sqlx::query("DELETE FROM outbox_processes WHERE heartbeat_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn sign_off(pool: &PgPool, id: Uuid) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox_processes SET stopped_at = now(), doing = 'stopped' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Processes that beat in the last day and did not sign off, by role.
pub async fn list(pool: &PgPool) -> Result<Vec<Process>, StoreError> {
    Ok(sqlx::query_as(
        r#"SELECT id, role, host, pid, version, detail, doing, started_at, heartbeat_at,
                  stopped_at, extract(epoch FROM now() - heartbeat_at)::float8 AS silent_seconds,
                  pool_size
           FROM outbox_processes
           WHERE stopped_at IS NULL
           ORDER BY role, host, pid, started_at"#,
    )
    .fetch_all(pool)
    .await?)
}
