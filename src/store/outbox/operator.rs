//! The operator's queries on the outbox: listing and explaining rows, and
//! the changes an operator makes (replay, requeue, purge).

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::pipeline::{EVENT_COLUMNS, LANE_LOCK_NAMESPACE, NOTIFY_CHANNEL, event_state};
use crate::model::{EventState, MessageId, OutboxRow, OutboxStatus, RowRef};
use crate::store::{StoreError, Tx};

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
    /// Only pending rows waiting out a backoff after a failed attempt.
    pub in_backoff: bool,
    /// Only rows with an id up to this (what a resumed bulk change selects).
    pub max_id: Option<i64>,
}

/// The listing query. The status predicates are written out literally so the
/// planner can match them to the partial indexes.
fn list_query(filter: &ListFilter, explain: bool) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::new(if explain { "EXPLAIN " } else { "" });
    push_select(&mut q, filter, EVENT_COLUMNS);
    q
}

/// `SELECT <columns> FROM outbox WHERE <filter> ORDER BY … LIMIT …`.
fn push_select(q: &mut QueryBuilder<Postgres>, filter: &ListFilter, columns: &str) {
    q.push(format!("SELECT {columns} FROM outbox WHERE "));
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
    if filter.in_backoff {
        q.push(" AND attempts > 0 AND available_at > now()");
    }
    if let Some(max) = filter.max_id {
        q.push(" AND id <= ").push_bind(max);
    }
    q.push(if filter.oldest_first {
        " ORDER BY id"
    } else {
        " ORDER BY id DESC"
    });
    if let Some(limit) = filter.limit {
        q.push(" LIMIT ").push_bind(i64::from(limit));
    }
}

/// How many rows `filter` matches beyond its first `skip` (its own limit
/// ignored), counting no further than `cap`: enough to say "250 more"
/// without counting a big table to the end.
pub async fn count_beyond(
    pool: &PgPool,
    filter: &ListFilter,
    skip: u32,
    cap: u32,
) -> Result<i64, StoreError> {
    let inner = ListFilter {
        limit: Some(skip.saturating_add(cap)),
        ..filter.clone()
    };
    let mut q = QueryBuilder::<Postgres>::new("SELECT greatest(count(*) - ");
    q.push_bind(i64::from(skip));
    q.push(", 0) FROM (");
    push_select(&mut q, &inner, "1");
    q.push(") AS matching");
    Ok(q.build_query_scalar().fetch_one(pool).await?)
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

/// The headers of those of rows `ids` that are saga commands (they carry
/// a saga id), by row id.
pub async fn saga_headers(
    pool: &PgPool,
    ids: &[i64],
) -> Result<Vec<(i64, serde_json::Value)>, StoreError> {
    let rows = sqlx::query_as(
        "SELECT id, headers FROM outbox WHERE id = ANY($1) AND headers ? $2 ORDER BY id",
    )
    .bind(ids)
    .bind(crate::model::saga::ID)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// What [`OutboxRow`] has beyond [`EVENT_COLUMNS`].
const ROW_EXTRA_COLUMNS: &str = "payload, headers, traceparent, lane, replay_of, replay_count, \
    replayed_at, replayed_by, requeued_at, requeued_by";

/// One row, by id or message id.
pub async fn find(pool: &PgPool, row: RowRef) -> Result<Option<OutboxRow>, StoreError> {
    let by = match row {
        RowRef::Id(_) => "id",
        RowRef::MessageId(_) => "message_id",
    };
    let q = format!("SELECT {EVENT_COLUMNS}, {ROW_EXTRA_COLUMNS} FROM outbox WHERE {by} = $1");
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

/// `VACUUM (ANALYZE) outbox`: the space and index entries of deleted rows
/// are reused, and the planner's statistics follow the purge.
pub async fn vacuum(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::raw_sql("VACUUM (ANALYZE) outbox")
        .execute(pool)
        .await?;
    Ok(())
}

/// Why a pending row waits, beyond its own `available_at`: the older
/// pending row of its key it is held behind, and whether a relayer has it in
/// a batch right now. For the rows among `ids` that are pending.
pub async fn pending_details(
    pool: &PgPool,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, (Option<i64>, bool)>, StoreError> {
    let held: Vec<(i64, Option<i64>)> = sqlx::query_as(
        r#"SELECT o.id,
                  (SELECT min(b.id) FROM outbox b
                   WHERE b.lane = o.lane AND b.partition_key = o.partition_key AND b.id < o.id
                     AND b.sent_at IS NULL AND b.dead_at IS NULL) AS held_by
           FROM outbox o
           WHERE o.id = ANY($1) AND o.sent_at IS NULL AND o.dead_at IS NULL"#,
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    // Rows a relayer locked in its batch are skipped by this probe; its
    // `FOR KEY SHARE` conflicts only with the claim's `FOR UPDATE`.
    let mut tx = pool.begin().await?;
    let free: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE id = ANY($1) FOR KEY SHARE SKIP LOCKED")
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
    tx.rollback().await?;
    let free: std::collections::HashSet<i64> = free.into_iter().collect();
    Ok(held
        .into_iter()
        .map(|(id, held_by)| (id, (held_by, !free.contains(&id))))
        .collect())
}

/// Throw pending or dead rows away: each is deleted, and kept as it was in
/// `outbox_audit` with who did it. A row sent meanwhile is left alone.
/// Returns the ids discarded.
pub async fn discard(tx: &mut Tx, ids: &[i64], actor: &str) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        r#"WITH gone AS (
               DELETE FROM outbox WHERE id = ANY($1) AND sent_at IS NULL RETURNING *
           )
           INSERT INTO outbox_audit (row_id, action, actor, detail)
           SELECT id, 'discard', $2, jsonb_build_object('row', to_jsonb(gone)) FROM gone
           RETURNING row_id"#,
    )
    .bind(ids)
    .bind(actor)
    .fetch_all(&mut **tx)
    .await?)
}

/// Rows waiting out a backoff go out now: `available_at` moves to now.
/// Returns the ids changed.
pub async fn retry_now(tx: &mut Tx, ids: &[i64], actor: &str) -> Result<Vec<i64>, StoreError> {
    let changed: Vec<i64> = sqlx::query_scalar(
        r#"WITH moved AS (
               UPDATE outbox SET available_at = now()
               WHERE id = ANY($1) AND sent_at IS NULL AND dead_at IS NULL
                 AND attempts > 0 AND available_at > now()
               RETURNING id, attempts, last_error
           )
           INSERT INTO outbox_audit (row_id, action, actor, detail)
           SELECT id, 'retry', $2, jsonb_build_object('attempts', attempts, 'last_error', last_error)
           FROM moved
           RETURNING row_id"#,
    )
    .bind(ids)
    .bind(actor)
    .fetch_all(&mut **tx)
    .await?;
    notify(tx).await?;
    Ok(changed)
}

/// Replace the payload and headers of a pending or dead row, if they are
/// still `before_*` (nobody changed them meanwhile) and it was not sent.
/// `false`: the row moved on or changed; nothing was written.
pub async fn edit(
    tx: &mut Tx,
    id: i64,
    before: (&serde_json::Value, &serde_json::Value),
    after: (&serde_json::Value, &serde_json::Value),
    actor: &str,
) -> Result<bool, StoreError> {
    let changed: Option<i64> = sqlx::query_scalar(
        r#"UPDATE outbox SET payload = $4, headers = $5
           WHERE id = $1 AND sent_at IS NULL AND payload = $2 AND headers = $3
           RETURNING id"#,
    )
    .bind(id)
    .bind(before.0)
    .bind(before.1)
    .bind(after.0)
    .bind(after.1)
    .fetch_optional(&mut **tx)
    .await?;
    if changed.is_none() {
        return Ok(false);
    }
    sqlx::query(
        r#"INSERT INTO outbox_audit (row_id, action, actor, detail)
           VALUES ($1, 'edit', $2, jsonb_build_object(
               'before', jsonb_build_object('payload', $3::jsonb, 'headers', $4::jsonb),
               'after', jsonb_build_object('payload', $5::jsonb, 'headers', $6::jsonb)))"#,
    )
    .bind(id)
    .bind(actor)
    .bind(before.0)
    .bind(before.1)
    .bind(after.0)
    .bind(after.1)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// One entry of a row's audit trail.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub action: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

/// What operators did to a row (discard, retry, edit) and to the dead
/// letters of its message (dlq replay, drop, purge), oldest first.
pub async fn audit(
    pool: &PgPool,
    row_id: i64,
    message_id: MessageId,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT action, actor, at, detail FROM outbox_audit \
         WHERE row_id = $1 OR message_id = $2 ORDER BY id",
    )
    .bind(row_id)
    .bind(message_id)
    .fetch_all(pool)
    .await?)
}

/// An operator's action on a dead letter, for the audit.
#[derive(Debug, Clone)]
pub struct DeadLetterAction {
    /// The outbox row it came from, when it came from one.
    pub row_id: Option<i64>,
    pub message_id: Option<MessageId>,
    pub detail: serde_json::Value,
}

/// Record what an operator did to dead letters (`dlq replay`, `dlq drop`,
/// `dlq purge`), one entry each, in one statement.
pub async fn audit_dead_letters(
    pool: &PgPool,
    action: &str,
    actor: &str,
    done: &[DeadLetterAction],
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    sqlx::query(
        r#"INSERT INTO outbox_audit (row_id, message_id, action, actor, detail)
           SELECT r, m, $4, $5, d
           FROM unnest($1::bigint[], $2::uuid[], $3::jsonb[]) AS a(r, m, d)"#,
    )
    .bind(done.iter().map(|d| d.row_id).collect::<Vec<_>>())
    .bind(done.iter().map(|d| d.message_id).collect::<Vec<_>>())
    .bind(done.iter().map(|d| &d.detail).collect::<Vec<_>>())
    .bind(action)
    .bind(actor)
    .execute(pool)
    .await?;
    Ok(())
}

/// The discard record of a row that no longer exists, found by id or
/// message id.
pub async fn discarded(pool: &PgPool, row: RowRef) -> Result<Option<AuditEntry>, StoreError> {
    let (by, value) = match row {
        RowRef::Id(id) => ("row_id::text = $1", id.to_string()),
        RowRef::MessageId(m) => ("detail->'row'->>'message_id' = $1", m.to_string()),
    };
    Ok(sqlx::query_as::<_, AuditEntry>(sqlx::AssertSqlSafe(format!(
        "SELECT action, actor, at, detail FROM outbox_audit WHERE action = 'discard' AND {by}          ORDER BY id DESC LIMIT 1"
    )))
    .bind(value)
    .fetch_optional(pool)
    .await?)
}
