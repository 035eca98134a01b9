//! Saga instances and their timelines (`saga_instances`, `saga_events`), and
//! the outbox rows a transition writes: commands, replies, timers. Every
//! function that changes something takes the caller's transaction, so one
//! transition — inbox row, instance, history, next command — commits at once.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::model::saga::{Event, Instance, State};

const COLUMNS: &str = "id, saga, correlation, state, step, attempt, done, input, outputs, reason, \
    deadline, waiting_since, timer_id, started_at, updated_at, finished_at";

/// A new instance, for [`start`].
#[derive(Debug)]
pub struct NewInstance<'a> {
    pub id: Uuid,
    pub saga: &'a str,
    pub correlation: &'a str,
    pub input: &'a Value,
    pub deadline: DateTime<Utc>,
}

/// Create an instance, running its first step (attempt 1). `None`: this saga
/// already has an instance for this correlation (a repeated start).
pub async fn start(
    conn: &mut PgConnection,
    new: &NewInstance<'_>,
) -> Result<Option<Instance>, StoreError> {
    let row = sqlx::query_as::<_, Instance>(sqlx::AssertSqlSafe(format!(
        r#"INSERT INTO saga_instances (id, saga, correlation, state, step, attempt, input, deadline)
           VALUES ($1, $2, $3, 'running', 0, 1, $4, $5)
           ON CONFLICT (saga, correlation) DO NOTHING
           RETURNING {COLUMNS}"#
    )))
    .bind(new.id)
    .bind(new.saga)
    .bind(new.correlation)
    .bind(new.input)
    .bind(new.deadline)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// The instance, locked for a transition (`None`: there is none).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Instance>, StoreError> {
    let row = sqlx::query_as::<_, Instance>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM saga_instances WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// Write back what a transition changed.
pub async fn save(conn: &mut PgConnection, i: &Instance) -> Result<(), StoreError> {
    sqlx::query(
        r#"UPDATE saga_instances SET state = $2, step = $3, attempt = $4, done = $5, outputs = $6,
               reason = $7, waiting_since = $8, timer_id = $9, finished_at = $10,
               updated_at = clock_timestamp()
           WHERE id = $1"#,
    )
    .bind(i.id)
    .bind(i.state)
    .bind(i.step)
    .bind(i.attempt)
    .bind(i.done)
    .bind(&i.outputs)
    .bind(i.reason.as_deref())
    .bind(i.waiting_since)
    .bind(i.timer_id)
    .bind(i.finished_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An entry for an instance's timeline.
#[derive(Debug, Default)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub step: Option<&'a str>,
    pub attempt: Option<i32>,
    pub detail: Option<Value>,
    pub message_id: Option<Uuid>,
    pub actor: Option<&'a str>,
}

pub async fn record(
    conn: &mut PgConnection,
    saga_id: Uuid,
    e: NewEvent<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        r#"INSERT INTO saga_events (saga_id, kind, step, attempt, detail, message_id, actor)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
    )
    .bind(saga_id)
    .bind(e.kind)
    .bind(e.step)
    .bind(e.attempt)
    .bind(e.detail)
    .bind(e.message_id)
    .bind(e.actor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An outbox row a transition writes.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub message_id: Uuid,
    pub topic: &'a str,
    pub partition_key: Option<&'a str>,
    pub payload: &'a Value,
    pub headers: &'a Value,
    /// Not published before (a timer); `None`: at once.
    pub available_at: Option<DateTime<Utc>>,
}

/// Write `out` to the outbox; returns its row id. A message id that is
/// there already — a command sent again — puts that row back to pending
/// with the new payload and headers, as `outbox replay` does.
pub async fn send(conn: &mut PgConnection, out: &Outgoing<'_>) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        r#"INSERT INTO outbox (message_id, topic, partition_key, payload, headers, available_at)
           VALUES ($1, $2, $3, $4, $5, COALESCE($6, now()))
           ON CONFLICT (message_id) DO UPDATE SET
               topic = EXCLUDED.topic, payload = EXCLUDED.payload, headers = EXCLUDED.headers,
               available_at = EXCLUDED.available_at, sent_at = NULL, dead_at = NULL,
               attempts = 0, last_error = NULL, replay_count = outbox.replay_count + 1,
               replayed_at = now(), replayed_by = 'saga'
           RETURNING id"#,
    )
    .bind(out.message_id)
    .bind(out.topic)
    .bind(out.partition_key)
    .bind(out.payload)
    .bind(out.headers)
    .bind(out.available_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Drop a timer that is no longer needed (the reply came first), if the
/// relay has not taken it yet; one it has taken arrives and is ignored.
pub async fn cancel_timer(conn: &mut PgConnection, row: i64) -> Result<(), StoreError> {
    sqlx::query(
        r#"DELETE FROM outbox WHERE id = (
               SELECT id FROM outbox
               WHERE id = $1 AND sent_at IS NULL AND dead_at IS NULL
               FOR UPDATE SKIP LOCKED)"#,
    )
    .bind(row)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Instance>, StoreError> {
    let row = sqlx::query_as::<_, Instance>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM saga_instances WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

/// The instance of `saga` for a correlation value (an upload's saga).
pub async fn by_correlation(
    pool: &PgPool,
    saga: &str,
    correlation: &str,
) -> Result<Option<Instance>, StoreError> {
    let row = sqlx::query_as::<_, Instance>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM saga_instances WHERE saga = $1 AND correlation = $2"
    )))
    .bind(saga)
    .bind(correlation)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

/// An instance's timeline, oldest first.
pub async fn timeline(pool: &PgPool, id: Uuid) -> Result<Vec<Event>, StoreError> {
    let rows = sqlx::query_as::<_, Event>(
        "SELECT at, kind, step, attempt, detail, message_id, actor FROM saga_events \
         WHERE saga_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Which instances `saga ls` shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub saga: Option<String>,
    pub state: Option<State>,
    /// Started before.
    pub started_before: Option<DateTime<Utc>>,
    pub limit: u32,
}

pub async fn list(pool: &PgPool, f: &Filter) -> Result<Vec<Instance>, StoreError> {
    let mut q =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM saga_instances WHERE true"));
    if let Some(s) = &f.saga {
        q.push(" AND saga = ").push_bind(s.clone());
    }
    if let Some(s) = f.state {
        q.push(" AND state = ").push_bind(s);
    }
    if let Some(t) = f.started_before {
        q.push(" AND started_at < ").push_bind(t);
    }
    q.push(" ORDER BY started_at DESC LIMIT ")
        .push_bind(i64::from(f.limit));
    Ok(q.build_query_as::<Instance>().fetch_all(pool).await?)
}

/// Instances in flight (running, compensating) or failed, by saga and
/// state, and how many of them are past their deadline — for the gauges;
/// the partial index makes it cheap however many finished long ago.
pub async fn census(pool: &PgPool) -> Result<Vec<(String, State, i64, i64)>, StoreError> {
    let rows = sqlx::query_as(
        r#"SELECT saga, state, count(*), count(*) FILTER (WHERE deadline < now())
           FROM saga_instances
           WHERE state IN ('running', 'compensating', 'failed')
           GROUP BY saga, state"#,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows)
}
