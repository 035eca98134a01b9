//! The outbox table: claiming pending rows for the relayer, recording what the
//! broker said, and the counts operators and `relay --once` look at.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{StoreError, Tx};
use crate::model::{
    Envelope, EventState, MessageId, OutboxRow, OutboxStatus, PublishFailure, RowRef, Topic,
};

/// The channel `outbox_notify()` signals on every insert.
pub const NOTIFY_CHANNEL: &str = "outbox";

/// Longest `last_error` kept, in characters.
const MAX_ERROR_CHARS: usize = 2000;

/// An event about to be written in the caller's transaction.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub message_id: MessageId,
    pub topic: &'a Topic,
    pub partition_key: Option<&'a str>,
    pub payload: &'a serde_json::Value,
    pub traceparent: Option<&'a str>,
}

/// Write an outbox row in the caller's transaction; returns its id. It is
/// published once the transaction commits, and never if it rolls back.
pub async fn insert(tx: &mut Tx, event: &NewEvent<'_>) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        r#"INSERT INTO outbox (message_id, topic, partition_key, payload, traceparent)
           VALUES ($1, $2, $3, $4, $5) RETURNING id"#,
    )
    .bind(event.message_id)
    .bind(event.topic.as_str())
    .bind(event.partition_key)
    .bind(event.payload)
    .bind(event.traceparent)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

const EVENT_COLUMNS: &str = "id, message_id, topic, partition_key, \
    CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN dead_at IS NOT NULL THEN 'dead' \
         ELSE 'pending' END AS status, \
    attempts, last_error, created_at, available_at, sent_at, dead_at";

/// Where the event with this message id stands (`None` once purged).
pub async fn event_state(
    pool: &PgPool,
    message_id: MessageId,
) -> Result<Option<EventState>, StoreError> {
    let row = sqlx::query_as::<_, EventState>(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM outbox WHERE message_id = $1"
    )))
    .bind(message_id)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

/// Number of lanes (see the `lane` column); fixed by the schema.
pub const LANES: u32 = 64;

/// Namespace of the advisory locks on lanes (the first key of the two-key
/// form), so they cannot collide with an application's own advisory locks.
const LANE_LOCK_NAMESPACE: i32 = 0x4f42_5831;

/// What [`claim_batch`] took.
#[derive(Debug, Default)]
pub struct Claim {
    /// The claimed rows, in id order.
    pub rows: Vec<Envelope>,
    /// Nothing was claimed because other batches hold every lane with due
    /// rows: work is waiting, it is just not this batch's to take.
    pub busy: bool,
}

/// Claim up to `limit` due rows from up to `max_lanes` lanes.
///
/// Every row lives in one of [`LANES`] lanes, and all rows of a partition key
/// share a lane. A batch first takes transaction-scoped advisory locks on the
/// lanes whose oldest due row is oldest (skipping lanes another relayer
/// holds), then locks those lanes' due rows in id order. Owning the lane is
/// what keeps per-key order with any number of relayers: no other batch can
/// hold a row of the same key, so a batch's rows of a key are always the
/// oldest pending ones. Rows queued behind a row of their key that waits for
/// its backoff are left out, so only that key waits.
///
/// The caller keeps the transaction open while it publishes and awaits
/// confirms; the locks end with it, or with the connection of a relayer that
/// died.
pub async fn claim_batch(tx: &mut Tx, limit: u32, max_lanes: u32) -> Result<Claim, StoreError> {
    // Lanes first, in a statement of their own: the rows are then read with a
    // snapshot taken after the lanes are ours, so everything their previous
    // owner committed is visible.
    let lanes: Vec<(i32, i64)> = sqlx::query_as(
        r#"
        WITH ready AS MATERIALIZED (
            SELECT l.lane, h.id AS head
            FROM generate_series(0, $2 - 1) AS l(lane)
            CROSS JOIN LATERAL (
                SELECT o.id FROM outbox o
                WHERE o.lane = l.lane
                  AND o.sent_at IS NULL AND o.dead_at IS NULL
                  AND o.available_at <= now()
                ORDER BY o.id
                LIMIT 1
            ) h
            ORDER BY h.id
        )
        , mine AS MATERIALIZED (
            SELECT lane, head FROM ready
            WHERE pg_try_advisory_xact_lock($3, lane)
            LIMIT $1
        )
        SELECT lane, head FROM mine
        UNION ALL
        -- -1: lanes are ready but other batches hold every one of them.
        SELECT -1, 0 WHERE NOT EXISTS (SELECT 1 FROM mine) AND EXISTS (SELECT 1 FROM ready)
        "#,
    )
    .bind(i64::from(max_lanes.clamp(1, LANES)))
    .bind(LANES as i32)
    .bind(LANE_LOCK_NAMESPACE)
    .fetch_all(&mut **tx)
    .await?;
    if lanes.is_empty() || lanes[0].0 == -1 {
        return Ok(Claim {
            rows: Vec::new(),
            busy: !lanes.is_empty(),
        });
    }
    // No due row of these lanes is older than their oldest head: starting the
    // index scan there skips the sent rows' index entries that vacuum has not
    // removed yet, which a long drain leaves by the million. (A row committed
    // since with a smaller id is simply taken by the next batch.)
    let floor = lanes.iter().map(|&(_, head)| head).min().unwrap_or(0);
    let lanes: Vec<i32> = lanes.into_iter().map(|(lane, _)| lane).collect();

    let rows = sqlx::query_as::<_, Envelope>(
        r#"
        WITH blocked AS MATERIALIZED (
            SELECT partition_key, min(id) AS first_id
            FROM outbox
            WHERE sent_at IS NULL AND dead_at IS NULL
              AND available_at > created_at AND available_at > now()
              AND partition_key IS NOT NULL
            GROUP BY partition_key
        )
        SELECT o.id, o.message_id, o.topic, o.partition_key, o.payload::text AS payload,
               o.headers, o.traceparent, o.created_at, o.attempts
        FROM outbox o
        WHERE o.sent_at IS NULL AND o.dead_at IS NULL
          AND o.lane = ANY ($2::int[])
          AND o.id >= $3
          AND o.available_at <= now()
          AND NOT EXISTS (
              SELECT 1 FROM blocked b
              WHERE b.partition_key = o.partition_key AND b.first_id < o.id)
        ORDER BY o.id
        LIMIT $1
        FOR UPDATE OF o
        "#,
    )
    .bind(i64::from(limit))
    .bind(&lanes)
    .bind(floor)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Claim { rows, busy: false })
}

/// Mark rows the broker confirmed (and did not return) as sent.
pub async fn mark_sent(tx: &mut Tx, ids: &[i64]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE outbox SET sent_at = clock_timestamp(), attempts = attempts + 1 WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Record failed publishes: attempts+1, the error, the next attempt's time;
/// rows that reached `max_attempts` (or can never go out) become dead.
/// Returns the ids that became dead.
pub async fn record_failures(
    tx: &mut Tx,
    failures: &[PublishFailure],
    max_attempts: u32,
) -> Result<Vec<i64>, StoreError> {
    if failures.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = failures.iter().map(|f| f.id).collect();
    let errors: Vec<String> = failures
        .iter()
        .map(|f| f.error.chars().take(MAX_ERROR_CHARS).collect())
        .collect();
    let delays: Vec<i64> = failures
        .iter()
        .map(|f| i64::try_from(f.retry_in.as_millis()).unwrap_or(i64::MAX))
        .collect();
    let give_up: Vec<bool> = failures.iter().map(|f| f.give_up).collect();
    // `id = ANY` keeps this an index lookup whatever the planner thinks of
    // the arrays' size (a join with unnest() can turn into a table scan).
    let dead: Vec<Option<i64>> = sqlx::query_scalar(
        r#"
        UPDATE outbox SET
            attempts = attempts + 1,
            last_error = ($2::text[])[array_position($1::bigint[], id)],
            available_at = clock_timestamp()
                + ($3::bigint[])[array_position($1::bigint[], id)] * interval '1 millisecond',
            dead_at = CASE WHEN ($4::bool[])[array_position($1::bigint[], id)]
                                OR attempts + 1 >= $5
                           THEN clock_timestamp() END
        WHERE id = ANY($1)
        RETURNING CASE WHEN dead_at IS NOT NULL THEN id END
        "#,
    )
    .bind(&ids)
    .bind(&errors)
    .bind(&delays)
    .bind(&give_up)
    .bind(i64::from(max_attempts))
    .fetch_all(&mut **tx)
    .await?;
    Ok(dead.into_iter().flatten().collect())
}

/// Tell writers whether a relayer sleeps until notified: the outbox trigger
/// notifies only while one does (see migration 0003).
pub async fn set_listening(pool: &PgPool, listening: bool) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox_relay_state SET listening = $1, changed_at = now() WHERE listening IS DISTINCT FROM $1",
    )
    .bind(listening)
    .execute(pool)
    .await?;
    Ok(())
}

/// When the earliest row now waiting for its backoff becomes due.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, StoreError> {
    let due = sqlx::query_scalar(
        r#"
        SELECT min(available_at) FROM outbox
        WHERE sent_at IS NULL AND dead_at IS NULL
          AND available_at > created_at AND available_at > now()
        "#,
    )
    .fetch_one(pool)
    .await?;
    Ok(due)
}

/// Rows that were tried and are still pending, and dead rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trouble {
    pub failing: i64,
    pub dead: i64,
}

pub async fn trouble(pool: &PgPool) -> Result<Trouble, StoreError> {
    let (failing, dead): (i64, i64) = sqlx::query_as(
        r#"
        SELECT
            (SELECT count(*) FROM outbox
             WHERE sent_at IS NULL AND dead_at IS NULL AND attempts > 0),
            (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL)
        "#,
    )
    .fetch_one(pool)
    .await?;
    Ok(Trouble { failing, dead })
}

// --- Operator queries -------------------------------------------------------

/// Which rows `outbox ls` (and `replay` by filter) selects.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `None`: every status.
    pub status: Option<OutboxStatus>,
    pub topic: Option<String>,
    pub key: Option<String>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    pub oldest_first: bool,
}

/// The listing query. The status predicates are written out literally so the
/// planner can match them to the partial indexes.
fn list_query(filter: &ListFilter, explain: bool) -> QueryBuilder<Postgres> {
    let explain = if explain { "EXPLAIN " } else { "" };
    let mut q = QueryBuilder::new(format!(
        "{explain}SELECT {EVENT_COLUMNS} FROM outbox WHERE "
    ));
    q.push(match filter.status {
        None => "true",
        Some(OutboxStatus::Pending) => "sent_at IS NULL AND dead_at IS NULL",
        Some(OutboxStatus::Sent) => "sent_at IS NOT NULL",
        Some(OutboxStatus::Dead) => "dead_at IS NOT NULL",
    });
    if let Some(topic) = &filter.topic {
        q.push(" AND topic = ").push_bind(topic.clone());
    }
    if let Some(key) = &filter.key {
        q.push(" AND partition_key = ").push_bind(key.clone());
    }
    if let Some(since) = filter.since {
        q.push(" AND created_at >= ").push_bind(since);
    }
    if let Some(until) = filter.until {
        q.push(" AND created_at < ").push_bind(until);
    }
    q.push(if filter.oldest_first {
        " ORDER BY id"
    } else {
        " ORDER BY id DESC"
    });
    if let Some(limit) = filter.limit {
        q.push(" LIMIT ").push_bind(i64::from(limit));
    }
    q
}

pub async fn list(pool: &PgPool, filter: &ListFilter) -> Result<Vec<EventState>, StoreError> {
    let rows = list_query(filter, false)
        .build_query_as::<EventState>()
        .fetch_all(pool)
        .await?;
    Ok(rows)
}

/// The plan PostgreSQL chooses for [`list`] (EXPLAIN, text format).
pub async fn explain_list(pool: &PgPool, filter: &ListFilter) -> Result<String, StoreError> {
    let lines: Vec<String> = list_query(filter, true)
        .build_query_scalar()
        .fetch_all(pool)
        .await?;
    Ok(lines.join("\n"))
}

const ROW_COLUMNS: &str = "id, message_id, topic, partition_key, \
    CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN dead_at IS NOT NULL THEN 'dead' \
         ELSE 'pending' END AS status, \
    payload, headers, traceparent, attempts, last_error, created_at, available_at, sent_at, \
    dead_at, lane, replay_of, replay_count, replayed_at, replayed_by, requeued_at, requeued_by";

/// One row, by id or message id.
pub async fn find(pool: &PgPool, row: RowRef) -> Result<Option<OutboxRow>, StoreError> {
    let q = match row {
        RowRef::Id(_) => format!("SELECT {ROW_COLUMNS} FROM outbox WHERE id = $1"),
        RowRef::MessageId(_) => format!("SELECT {ROW_COLUMNS} FROM outbox WHERE message_id = $1"),
    };
    let query = sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(q));
    let query = match row {
        RowRef::Id(id) => query.bind(id),
        RowRef::MessageId(m) => query.bind(m),
    };
    Ok(query.fetch_optional(pool).await?)
}

/// Whether a relayer has the row locked in a batch right now. The probe's
/// `FOR KEY SHARE` conflicts only with the claim's `FOR UPDATE`, and is
/// released at once.
pub async fn is_claimed(pool: &PgPool, id: i64) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let free: Option<i64> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1 FOR KEY SHARE SKIP LOCKED")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    tx.rollback().await?;
    Ok(free.is_none())
}

/// The database session holding a lane's lock: a relayer in mid-batch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LaneHolder {
    pub pid: i32,
    pub application_name: String,
    pub client: Option<String>,
    pub batch_started: Option<DateTime<Utc>>,
}

pub async fn lane_holder(pool: &PgPool, lane: i16) -> Result<Option<LaneHolder>, StoreError> {
    let holder = sqlx::query_as::<_, LaneHolder>(
        r#"SELECT a.pid, a.application_name, host(a.client_addr) AS client, a.xact_start AS batch_started
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 2
           LIMIT 1"#,
    )
    .bind(LANE_LOCK_NAMESPACE as i64)
    .bind(i64::from(lane))
    .fetch_optional(pool)
    .await?;
    Ok(holder)
}

/// The oldest pending row of `key` older than `before`: what holds it back.
pub async fn blocker(
    pool: &PgPool,
    key: &str,
    before: i64,
) -> Result<Option<EventState>, StoreError> {
    let row = sqlx::query_as::<_, EventState>(sqlx::AssertSqlSafe(format!(
        r#"SELECT {EVENT_COLUMNS} FROM outbox
           WHERE partition_key = $1 AND id < $2 AND sent_at IS NULL AND dead_at IS NULL
           ORDER BY id LIMIT 1"#
    )))
    .bind(key)
    .bind(before)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

/// Relayer sessions connected to this database right now.
pub async fn relayers_connected(pool: &PgPool) -> Result<i64, StoreError> {
    let n = sqlx::query_scalar(
        r#"SELECT count(DISTINCT pid) FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'outboxctl relay'"#,
    )
    .fetch_one(pool)
    .await?;
    Ok(n)
}

/// The rows among `refs` that exist, with their state (in the order asked).
pub async fn resolve(
    pool: &PgPool,
    refs: &[RowRef],
) -> Result<Vec<(RowRef, Option<EventState>)>, StoreError> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let state = match r {
            RowRef::Id(id) => {
                sqlx::query_as::<_, EventState>(sqlx::AssertSqlSafe(format!(
                    "SELECT {EVENT_COLUMNS} FROM outbox WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(pool)
                .await?
            }
            RowRef::MessageId(m) => event_state(pool, *m).await?,
        };
        out.push((*r, state));
    }
    Ok(out)
}

/// Put sent rows back to pending with their message ids; the relay publishes
/// them again. Returns the ids changed.
pub async fn replay_same_id(tx: &mut Tx, ids: &[i64], actor: &str) -> Result<Vec<i64>, StoreError> {
    let changed = sqlx::query_scalar(
        r#"UPDATE outbox SET sent_at = NULL, attempts = 0, available_at = now(),
                  replay_count = replay_count + 1, replayed_at = now(), replayed_by = $2
           WHERE id = ANY($1) AND sent_at IS NOT NULL
           RETURNING id"#,
    )
    .bind(ids)
    .bind(actor)
    .fetch_all(&mut **tx)
    .await?;
    notify(tx).await?;
    Ok(changed)
}

/// Write a copy of each sent row with a new message id (`replay_of` points
/// at the original) and mark the originals. Returns (original, copy) ids.
pub async fn replay_new_id(
    tx: &mut Tx,
    ids: &[i64],
    actor: &str,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let copies: Vec<(i64, i64)> = sqlx::query_as(
        r#"WITH originals AS (
               UPDATE outbox SET replay_count = replay_count + 1, replayed_at = now(), replayed_by = $2
               WHERE id = ANY($1) AND sent_at IS NOT NULL
               RETURNING id, topic, partition_key, payload, headers, traceparent
           )
           INSERT INTO outbox (topic, partition_key, payload, headers, traceparent, replay_of)
           SELECT topic, partition_key, payload, headers, traceparent, id FROM originals ORDER BY id
           RETURNING replay_of, id"#,
    )
    .bind(ids)
    .bind(actor)
    .fetch_all(&mut **tx)
    .await?;
    Ok(copies)
}

/// Put dead rows back to pending with their attempts reset. Returns the ids changed.
pub async fn requeue(tx: &mut Tx, ids: &[i64], actor: &str) -> Result<Vec<i64>, StoreError> {
    let changed = sqlx::query_scalar(
        r#"UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = now(),
                  requeued_at = now(), requeued_by = $2
           WHERE id = ANY($1) AND dead_at IS NOT NULL
           RETURNING id"#,
    )
    .bind(ids)
    .bind(actor)
    .fetch_all(&mut **tx)
    .await?;
    notify(tx).await?;
    Ok(changed)
}

/// Wake the relayers (rows became pending without an INSERT).
async fn notify(tx: &mut Tx) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(NOTIFY_CHANNEL)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sent rows sent before `cutoff`.
pub async fn count_sent_before(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<i64, StoreError> {
    let n = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at < $1")
        .bind(cutoff)
        .fetch_one(pool)
        .await?;
    Ok(n)
}

/// Delete up to `batch` rows sent before `cutoff`, oldest first, in their own
/// transaction. Returns how many went; 0 means none are left.
pub async fn purge_sent_batch(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    batch: u32,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        r#"DELETE FROM outbox WHERE id IN (
               SELECT id FROM outbox WHERE sent_at < $1 ORDER BY sent_at LIMIT $2)"#,
    )
    .bind(cutoff)
    .bind(i64::from(batch))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// What waits in the outbox: cheap enough to read every few seconds (only
/// the partial indexes of pending and dead rows are touched).
#[derive(Debug, Clone, Copy, Default, PartialEq, sqlx::FromRow)]
pub struct Backlog {
    pub pending: i64,
    /// Age of the oldest pending row, in seconds (0 when none).
    pub oldest_pending_seconds: f64,
    pub dead: i64,
}

pub async fn backlog(pool: &PgPool) -> Result<Backlog, StoreError> {
    let b = sqlx::query_as::<_, Backlog>(
        r#"SELECT
             (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL) AS pending,
             COALESCE((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox
                       WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT 1), 0) AS oldest_pending_seconds,
             (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL) AS dead"#,
    )
    .fetch_one(pool)
    .await?;
    Ok(b)
}

/// The outbox figures `lag` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutboxLag {
    pub backlog: Backlog,
    pub sent_last_minute: i64,
    /// Rows sent in the last 24 hours that no consumer has recorded.
    pub sent_not_consumed: i64,
}

pub async fn lag(pool: &PgPool) -> Result<OutboxLag, StoreError> {
    let backlog = backlog(pool).await?;
    let (sent_last_minute, sent_not_consumed): (i64, i64) = sqlx::query_as(
        r#"SELECT
             (SELECT count(*) FROM outbox WHERE sent_at >= now() - interval '1 minute'),
             (SELECT count(*) FROM outbox o
              WHERE o.sent_at >= now() - interval '24 hours'
                AND NOT EXISTS (SELECT 1 FROM consumed_messages c WHERE c.message_id = o.message_id))"#,
    )
    .fetch_one(pool)
    .await?;
    Ok(OutboxLag {
        backlog,
        sent_last_minute,
        sent_not_consumed,
    })
}
