//! Saga instances and their timelines (`saga_instances`, `saga_events`), and
//! the outbox rows a transition writes: commands, replies, timers. Every
//! function that changes something takes the caller's transaction, so one
//! transition — inbox row, instance, history, next command — commits at once.
//! The orchestrator works on a delivery batch at a time: one statement locks
//! the instances its messages name, one creates those its starts begin, one
//! writes back what all of its transitions changed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreError;
use crate::model::saga::{Event, Instance, Outgoing, State, Wait, Writes};

/// A message id already in the outbox — a command sent again — puts that
/// row back to pending with the new topic, payload and headers, as
/// `outbox replay` does.
const RESEND: &str = "ON CONFLICT (message_id) DO UPDATE SET \
    topic = EXCLUDED.topic, payload = EXCLUDED.payload, headers = EXCLUDED.headers, \
    available_at = EXCLUDED.available_at, sent_at = NULL, dead_at = NULL, \
    attempts = 0, last_error = NULL, replay_count = outbox.replay_count + 1, \
    replayed_at = now(), replayed_by = 'saga'";

const COLUMNS: &str = "id, saga, correlation, state, step, attempt, done, input, outputs, reason, \
    deadline, waiting_since, timer_id, started_at, updated_at, finished_at, version, waiting_step";

/// A new instance, for [`start`].
#[derive(Debug)]
pub struct NewInstance<'a> {
    pub id: Uuid,
    pub saga: &'a str,
    pub correlation: &'a str,
    pub input: &'a Value,
    pub deadline: DateTime<Utc>,
    /// The definition it starts under.
    pub version: &'a str,
}

/// An instance this transaction holds: locked by [`lock`] or created by
/// [`start`], and where its row is.
#[derive(Debug, sqlx::FromRow)]
pub struct Held {
    /// The row's physical address: stable while this transaction holds the
    /// row, so [`save`] finds it without a lookup the planner could turn
    /// into a scan.
    ctid: String,
    #[sqlx(flatten)]
    pub instance: Instance,
}

/// Create instances, each running its first step (attempt 1), in one
/// statement. Returns those created; a start whose saga has an instance
/// for its correlation already (before, or earlier in `new`) is left out.
pub async fn start(
    conn: &mut PgConnection,
    new: &[NewInstance<'_>],
) -> Result<Vec<Held>, StoreError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    // No scan to plan: conflicts are found in the correlation key's index.
    let rows = sqlx::query_as::<_, Held>(sqlx::AssertSqlSafe(format!(
        r#"INSERT INTO saga_instances (id, saga, correlation, state, step, attempt, input, deadline,
                                      version)
           SELECT i, s, c, 'running', 0, 1, p, d, v
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[],
                       $6::text[])
                WITH ORDINALITY AS n(i, s, c, p, d, v, o)
           ORDER BY o
           ON CONFLICT (saga, correlation) DO NOTHING
           RETURNING ctid::text AS ctid, {COLUMNS}"#
    )))
    .bind(new.iter().map(|n| n.id).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.saga).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.correlation).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.input).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.deadline).collect::<Vec<_>>())
    .bind(new.iter().map(|n| n.version).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// The instances with these ids, locked for a transition, by id (those
/// that exist). Locked in id order, so two transactions that lock some of
/// the same instances never wait for each other in a circle.
pub async fn lock(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Held>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One instance (a batch of one, an operator's command): a lookup by key,
    // prepared once. Several: planned for the batch, so the plan is made for
    // the table as it is now — a plan kept from when it was small would
    // read every instance to find a few.
    let (sql, prepared) = match ids {
        [_] => ("id = ($1)[1]", true),
        _ => ("id = ANY($1)", false),
    };
    let rows = sqlx::query_as::<_, Held>(sqlx::AssertSqlSafe(format!(
        "SELECT ctid::text AS ctid, {COLUMNS} FROM saga_instances WHERE {sql} \
         ORDER BY id FOR UPDATE"
    )))
    .persistent(prepared)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows)
}

/// An instance held by this transaction and what its transitions wrote.
#[derive(Debug)]
pub struct Change {
    pub held: Held,
    pub writes: Writes,
}

/// Write back what transitions changed, and what they produced, in one
/// statement for all of them: drop old timers (if the relay has not taken
/// them yet; one it has taken arrives and is ignored), insert the outbox
/// rows, append the timelines, update the instances (each one's `timer_id`
/// becomes its new timer's row).
pub async fn save(conn: &mut PgConnection, changes: &mut [Change]) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let cancel: Vec<i64> = changes
        .iter()
        .filter_map(|c| c.writes.cancelled())
        .collect();
    // One row per message id: the last word on it (a command sent again in
    // the same batch).
    let mut latest: HashMap<Uuid, &Outgoing> = HashMap::new();
    let mut order = Vec::new();
    for o in changes.iter().flat_map(|c| &c.writes.outgoing) {
        if latest.insert(o.message_id, o).is_none() {
            order.push(o.message_id);
        }
    }
    let o: Vec<&Outgoing> = order.iter().map(|id| latest[id]).collect();
    let e: Vec<(Uuid, &crate::model::saga::NewEvent)> = changes
        .iter()
        .flat_map(|c| c.writes.events.iter().map(|e| (c.held.instance.id, e)))
        .collect();
    let i: Vec<&Instance> = changes.iter().map(|c| &c.held.instance).collect();
    // One instance: found by its key, the statement prepared once (planning
    // it costs as much as running it for one instance). Several: by their
    // rows' addresses, planned for the batch (see `lock`).
    // The same goes for the timer to drop: `id = ANY(…)` in a plan made
    // once, on a young outbox, reads the whole outbox for it.
    let (drop_timer, find, one) = match changes {
        [_] => ("id = ($1)[1]", "s.id = $26 AND s.ctid = u.t", true),
        _ => ("id = ANY($1)", "s.ctid = u.t", false),
    };
    let timers: Vec<(Uuid, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        r#"WITH cancelled AS (
               DELETE FROM outbox WHERE id IN (
                   SELECT id FROM outbox
                   WHERE {drop_timer} AND sent_at IS NULL AND dead_at IS NULL
                   FOR UPDATE SKIP LOCKED)
           ), sent AS (
               INSERT INTO outbox (message_id, topic, partition_key, payload, headers, available_at)
               SELECT m, t, k, p, h, COALESCE(a, now())
               FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[],
                           $7::timestamptz[]) WITH ORDINALITY AS o(m, t, k, p, h, a, n)
               ORDER BY n
               {RESEND}
               RETURNING id, message_id
           ), logged AS (
               INSERT INTO saga_events (saga_id, kind, step, attempt, detail, message_id, actor)
               SELECT i, k, s, a, d, m, c
               FROM unnest($8::uuid[], $9::text[], $10::text[], $11::int[], $12::jsonb[],
                           $13::uuid[], $14::text[]) WITH ORDINALITY AS e(i, k, s, a, d, m, c, n)
               ORDER BY n
           )
           UPDATE saga_instances s SET state = u.state, step = u.step, attempt = u.attempt,
               done = u.done, outputs = u.outputs, reason = u.reason,
               waiting_since = u.waiting_since,
               timer_id = COALESCE((SELECT id FROM sent WHERE message_id = u.timer), u.timer_id),
               finished_at = u.finished_at, updated_at = clock_timestamp(),
               waiting_step = u.waiting_step, version = u.version
           FROM unnest($15::text[]::tid[], $16::text[], $17::int[], $18::int[], $19::int[],
                       $20::jsonb[], $21::text[], $22::timestamptz[], $23::bigint[],
                       $24::timestamptz[], $25::uuid[], $27::text[], $28::text[])
                AS u(t, state, step, attempt, done, outputs, reason, waiting_since, timer_id,
                     finished_at, timer, waiting_step, version)
           WHERE {find}
           RETURNING s.id, s.timer_id"#
    )))
    .persistent(one)
    .bind(&cancel)
    .bind(o.iter().map(|x| x.message_id).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.topic.as_str()).collect::<Vec<_>>())
    .bind(
        o.iter()
            .map(|x| x.partition_key.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(o.iter().map(|x| &x.payload).collect::<Vec<_>>())
    .bind(o.iter().map(|x| &x.headers).collect::<Vec<_>>())
    .bind(o.iter().map(|x| x.available_at).collect::<Vec<_>>())
    .bind(e.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(e.iter().map(|(_, x)| x.kind).collect::<Vec<_>>())
    .bind(e.iter().map(|(_, x)| x.step.as_deref()).collect::<Vec<_>>())
    .bind(e.iter().map(|(_, x)| x.attempt).collect::<Vec<_>>())
    .bind(e.iter().map(|(_, x)| x.detail.as_ref()).collect::<Vec<_>>())
    .bind(e.iter().map(|(_, x)| x.message_id).collect::<Vec<_>>())
    .bind(
        e.iter()
            .map(|(_, x)| x.actor.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(
        changes
            .iter()
            .map(|c| c.held.ctid.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(i.iter().map(|x| x.state.as_str()).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.step).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.attempt).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.done).collect::<Vec<_>>())
    .bind(i.iter().map(|x| &x.outputs).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.reason.as_deref()).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.waiting_since).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.timer_id).collect::<Vec<_>>())
    .bind(i.iter().map(|x| x.finished_at).collect::<Vec<_>>())
    .bind(changes.iter().map(|c| c.writes.timer).collect::<Vec<_>>())
    .bind(changes[0].held.instance.id)
    .bind(
        i.iter()
            .map(|x| x.waiting_step.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(i.iter().map(|x| x.version.as_deref()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    if timers.len() != changes.len() {
        return Err(StoreError::Schema(format!(
            "{} of {} saga instances held by this transaction were written back",
            timers.len(),
            changes.len()
        )));
    }
    let timers: HashMap<Uuid, Option<i64>> = timers.into_iter().collect();
    for c in changes.iter_mut() {
        c.held.instance.timer_id = timers[&c.held.instance.id];
    }
    Ok(())
}

/// Write these rows to the outbox in one statement (replies: each with a
/// message id of its own). A message id that is there already — a command
/// sent again — puts that row back to pending with the new payload and
/// headers, as `outbox replay` does.
pub async fn send(conn: &mut PgConnection, out: &[Outgoing]) -> Result<(), StoreError> {
    if out.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"INSERT INTO outbox (message_id, topic, partition_key, payload, headers, available_at)
           SELECT m, t, k, p, h, COALESCE(a, now())
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[],
                       $6::timestamptz[]) WITH ORDINALITY AS o(m, t, k, p, h, a, n)
           ORDER BY n
           {RESEND}"#
    )))
    .bind(out.iter().map(|x| x.message_id).collect::<Vec<_>>())
    .bind(out.iter().map(|x| x.topic.as_str()).collect::<Vec<_>>())
    .bind(
        out.iter()
            .map(|x| x.partition_key.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(out.iter().map(|x| &x.payload).collect::<Vec<_>>())
    .bind(out.iter().map(|x| &x.headers).collect::<Vec<_>>())
    .bind(out.iter().map(|x| x.available_at).collect::<Vec<_>>())
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
    /// The business key: the start payload's `correlate` field.
    pub correlation: Option<String>,
    /// Started before.
    pub started_before: Option<DateTime<Utc>>,
    pub limit: u32,
}

fn push_filter(q: &mut QueryBuilder<Postgres>, f: &Filter) {
    if let Some(s) = &f.saga {
        q.push(" AND saga = ").push_bind(s.clone());
    }
    if let Some(s) = f.state {
        q.push(" AND state = ").push_bind(s);
    }
    if let Some(c) = &f.correlation {
        q.push(" AND correlation = ").push_bind(c.clone());
    }
    if let Some(t) = f.started_before {
        q.push(" AND started_at < ").push_bind(t);
    }
}

pub async fn list(pool: &PgPool, f: &Filter) -> Result<Vec<Instance>, StoreError> {
    let mut q =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM saga_instances WHERE true"));
    push_filter(&mut q, f);
    q.push(" ORDER BY started_at DESC LIMIT ")
        .push_bind(i64::from(f.limit));
    Ok(q.build_query_as::<Instance>().fetch_all(pool).await?)
}

/// How many instances `f` matches beyond its limit, counting no further
/// than `cap` more: enough to say "250 more" without counting them all.
pub async fn count_beyond(pool: &PgPool, f: &Filter, cap: u32) -> Result<i64, StoreError> {
    let mut q = QueryBuilder::<Postgres>::new("SELECT greatest(count(*) - ");
    q.push_bind(i64::from(f.limit));
    q.push(", 0) FROM (SELECT 1 FROM saga_instances WHERE true");
    push_filter(&mut q, f);
    q.push(" LIMIT ")
        .push_bind(i64::from(f.limit) + i64::from(cap));
    q.push(") AS matching");
    Ok(q.build_query_scalar().fetch_one(pool).await?)
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

/// What each of these instances waits for, by id (those that exist). With
/// `lock`, each is held against a transition until the caller's
/// transaction ends (`FOR SHARE`, in id order): a handler's effect commits
/// only while the saga still waits for it, and an abort that comes after
/// sees it done.
pub async fn waits(
    conn: &mut PgConnection,
    ids: &[Uuid],
    lock: bool,
) -> Result<HashMap<Uuid, Wait>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, State, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, state, waiting_step FROM saga_instances WHERE id = ANY($1) ORDER BY id{}",
        if lock { " FOR SHARE" } else { "" }
    )))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, state, step)| (id, Wait { state, step }))
        .collect())
}

/// A command a handler did not run because its saga had moved on.
#[derive(Debug, Clone)]
pub struct Stale {
    pub saga_id: Uuid,
    pub step: String,
    pub attempt: i32,
    pub message_id: Uuid,
    /// Who fenced it, and why.
    pub detail: Value,
}

/// Write each fenced command on its instance's timeline (`stale_command`).
pub async fn record_stale(conn: &mut PgConnection, stale: &[Stale]) -> Result<(), StoreError> {
    if stale.is_empty() {
        return Ok(());
    }
    sqlx::query(
        r#"INSERT INTO saga_events (saga_id, kind, step, attempt, detail, message_id)
           SELECT i, 'stale_command', s, a, d, m
           FROM unnest($1::uuid[], $2::text[], $3::int[], $4::jsonb[], $5::uuid[])
                AS x(i, s, a, d, m)
           WHERE EXISTS (SELECT 1 FROM saga_instances WHERE id = x.i)"#,
    )
    .bind(stale.iter().map(|s| s.saga_id).collect::<Vec<_>>())
    .bind(stale.iter().map(|s| s.step.as_str()).collect::<Vec<_>>())
    .bind(stale.iter().map(|s| s.attempt).collect::<Vec<_>>())
    .bind(stale.iter().map(|s| &s.detail).collect::<Vec<_>>())
    .bind(stale.iter().map(|s| s.message_id).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// When consumers fenced deliveries of command `message_id` as stale, and
/// who: (at, consumer).
pub async fn fenced(
    pool: &PgPool,
    message_id: Uuid,
) -> Result<Vec<(DateTime<Utc>, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT at, coalesce(detail->>'consumer', '?') FROM saga_events \
         WHERE kind = 'stale_command' AND message_id = $1 ORDER BY id",
    )
    .bind(message_id)
    .fetch_all(pool)
    .await?)
}

/// Withdraw a command: delete its outbox row if it is not out now
/// (pending, or dead), so it does not go out. Whether the command has ever
/// gone out: sent now, or an earlier attempt sent before this re-send (its
/// replay count says). A row a relayer is publishing right now is waited
/// for (its batch is short) and then found sent.
pub async fn withdraw(conn: &mut PgConnection, message_id: Uuid) -> Result<bool, StoreError> {
    let dropped: Option<i32> = sqlx::query_scalar(
        "DELETE FROM outbox WHERE message_id = $1 AND sent_at IS NULL RETURNING replay_count",
    )
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(dropped.is_none_or(|replays| replays > 0))
}

/// Remember a definition the orchestrator runs (once per version).
pub async fn record_definition(
    pool: &PgPool,
    saga: &str,
    version: &str,
    definition: &Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO saga_definitions (saga, version, definition) VALUES ($1, $2, $3) \
         ON CONFLICT (saga, version) DO NOTHING",
    )
    .bind(saga)
    .bind(version)
    .bind(definition)
    .execute(pool)
    .await?;
    Ok(())
}

/// The definitions of `saga` that ran, newest first: (version, definition).
pub async fn definitions(pool: &PgPool, saga: &str) -> Result<Vec<(String, Value)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT version, definition FROM saga_definitions WHERE saga = $1 \
         ORDER BY first_run_at DESC",
    )
    .bind(saga)
    .fetch_all(pool)
    .await?)
}

/// The instances of `saga` in flight (running, compensating) or failed:
/// those a changed definition must still serve.
pub async fn unfinished(pool: &PgPool, saga: &str) -> Result<Vec<Instance>, StoreError> {
    Ok(sqlx::query_as::<_, Instance>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM saga_instances \
         WHERE saga = $1 AND state IN ('running', 'compensating', 'failed') ORDER BY started_at, id"
    )))
    .bind(saga)
    .fetch_all(pool)
    .await?)
}

/// The sagas that have instances in flight or failed.
pub async fn unfinished_sagas(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT saga FROM saga_instances \
         WHERE state IN ('running', 'compensating', 'failed') ORDER BY saga",
    )
    .fetch_all(pool)
    .await?)
}

/// Move the unfinished instances of `saga` under `version`: the step they
/// wait on and the outputs they keep renamed by `renamed` (old → new).
pub async fn adopt_version(
    pool: &PgPool,
    saga: &str,
    version: &str,
    renamed: &[(String, String)],
) -> Result<u64, StoreError> {
    let (from, to): (Vec<&str>, Vec<&str>) = renamed
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .unzip();
    Ok(sqlx::query(
        r#"UPDATE saga_instances s SET version = $2,
               waiting_step = COALESCE(
                   (SELECT r.t FROM unnest($3::text[], $4::text[]) AS r(f, t)
                    WHERE r.f = s.waiting_step),
                   s.waiting_step),
               outputs = (SELECT COALESCE(jsonb_object_agg(COALESCE(r.t, o.key), o.value),
                                          '{}'::jsonb)
                          FROM jsonb_each(s.outputs) AS o
                          LEFT JOIN unnest($3::text[], $4::text[]) AS r(f, t) ON r.f = o.key)
           WHERE saga = $1 AND state IN ('running', 'compensating', 'failed')
             AND version IS DISTINCT FROM $2"#,
    )
    .bind(saga)
    .bind(version)
    .bind(from)
    .bind(to)
    .execute(pool)
    .await?
    .rows_affected())
}
