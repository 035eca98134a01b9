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

/// What a transition writes besides the instance: timeline entries, outbox
/// rows (the next command and the timer of its wait), a timer to drop.
#[derive(Debug, Default)]
pub struct Writes {
    pub events: Vec<NewEvent>,
    pub outgoing: Vec<Outgoing>,
    /// The pending timer row to delete (the answer came first).
    cancel: Option<i64>,
    /// The message id, among `outgoing`, of the timer the instance waits on.
    pub timer: Option<Uuid>,
}

impl Writes {
    pub fn cancel_timer(&mut self, row: i64) {
        debug_assert!(self.cancel.is_none(), "one timer per transition");
        self.cancel = Some(row);
    }
}

/// Write back what a transition changed, and what it produced, in one
/// statement: drop the old timer (if the relay has not taken it yet; one it
/// has taken arrives and is ignored), insert the outbox rows, append the
/// timeline, update the instance (its `timer_id` becomes the new timer's row).
pub async fn save(conn: &mut PgConnection, i: &mut Instance, w: Writes) -> Result<(), StoreError> {
    let o = &w.outgoing;
    let e = &w.events;
    let timer_id: Option<i64> = sqlx::query_scalar(
        r#"WITH cancelled AS (
               DELETE FROM outbox WHERE id = (
                   SELECT id FROM outbox
                   WHERE id = $11 AND sent_at IS NULL AND dead_at IS NULL
                   FOR UPDATE SKIP LOCKED)
           ), sent AS (
               INSERT INTO outbox (message_id, topic, partition_key, payload, headers, available_at)
               SELECT m, t, k, p, h, COALESCE(a, now())
               FROM unnest($12::uuid[], $13::text[], $14::text[], $15::jsonb[], $16::jsonb[],
                           $17::timestamptz[]) AS o(m, t, k, p, h, a)
               ON CONFLICT (message_id) DO UPDATE SET
                   topic = EXCLUDED.topic, payload = EXCLUDED.payload, headers = EXCLUDED.headers,
                   available_at = EXCLUDED.available_at, sent_at = NULL, dead_at = NULL,
                   attempts = 0, last_error = NULL, replay_count = outbox.replay_count + 1,
                   replayed_at = now(), replayed_by = 'saga'
               RETURNING id, message_id
           ), logged AS (
               INSERT INTO saga_events (saga_id, kind, step, attempt, detail, message_id, actor)
               SELECT $1, k, s, a, d, m, c
               FROM unnest($18::text[], $19::text[], $20::int[], $21::jsonb[], $22::uuid[],
                           $23::text[]) WITH ORDINALITY AS e(k, s, a, d, m, c, n)
               ORDER BY n
           )
           UPDATE saga_instances SET state = $2, step = $3, attempt = $4, done = $5, outputs = $6,
               reason = $7, waiting_since = $8,
               timer_id = COALESCE((SELECT id FROM sent WHERE message_id = $24), $9),
               finished_at = $10, updated_at = clock_timestamp()
           WHERE id = $1
           RETURNING timer_id"#,
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
    .bind(w.cancel)
    .bind(o.iter().map(|x| x.message_id).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.topic.clone()).collect::<Vec<_>>())
    .bind(
        o.iter()
            .map(|x| x.partition_key.clone())
            .collect::<Vec<_>>(),
    )
    .bind(o.iter().map(|x| x.payload.clone()).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.headers.clone()).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.available_at).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.kind).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.step.clone()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.attempt).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.detail.clone()).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.message_id).collect::<Vec<_>>())
    .bind(e.iter().map(|x| x.actor.clone()).collect::<Vec<_>>())
    .bind(w.timer)
    .fetch_one(&mut *conn)
    .await?;
    i.timer_id = timer_id;
    Ok(())
}

/// An entry for an instance's timeline.
#[derive(Debug, Default)]
pub struct NewEvent {
    pub kind: &'static str,
    pub step: Option<String>,
    pub attempt: Option<i32>,
    pub detail: Option<Value>,
    pub message_id: Option<Uuid>,
    pub actor: Option<String>,
}

/// An outbox row a transition writes.
#[derive(Debug)]
pub struct Outgoing {
    pub message_id: Uuid,
    pub topic: String,
    pub partition_key: Option<String>,
    pub payload: Value,
    pub headers: Value,
    /// Not published before (a timer); `None`: at once.
    pub available_at: Option<DateTime<Utc>>,
}

/// Write `out` to the outbox; returns its row id. A message id that is
/// there already — a command sent again — puts that row back to pending
/// with the new payload and headers, as `outbox replay` does.
pub async fn send(conn: &mut PgConnection, out: &Outgoing) -> Result<i64, StoreError> {
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
    .bind(&out.topic)
    .bind(&out.partition_key)
    .bind(&out.payload)
    .bind(&out.headers)
    .bind(out.available_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
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
