//! Consumption history (`consumed_messages`): which consumer processed which
//! message, written in the same transaction as the consumer's effect.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::StoreError;
use crate::model::{Consumption, MessageId};

/// Every consumer's record of a message, oldest first.
pub async fn history(pool: &PgPool, message_id: MessageId) -> Result<Vec<Consumption>, StoreError> {
    let rows = sqlx::query_as::<_, Consumption>(
        r#"SELECT consumer, message_id, topic, queue, received_at, committed_at,
                  delivery_attempt, redelivered, processing_ms, duplicates, traceparent
           FROM consumed_messages WHERE message_id = $1 ORDER BY committed_at"#,
    )
    .bind(message_id)
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Which of `ids` `consumer` has recorded already (committed), without
/// locking anything: a consumer about to call out skips those.
pub async fn recorded(
    pool: &PgPool,
    consumer: &str,
    ids: &[MessageId],
) -> Result<std::collections::HashSet<MessageId>, StoreError> {
    let found: Vec<MessageId> = sqlx::query_scalar(
        "SELECT message_id FROM consumed_messages WHERE consumer = $1 AND message_id = ANY($2)",
    )
    .bind(consumer)
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(found.into_iter().collect())
}

/// A delivery about to be recorded as consumed.
#[derive(Debug)]
pub struct NewConsumption<'a> {
    pub message_id: MessageId,
    pub topic: &'a str,
    pub queue: &'a str,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub delivery_attempt: i32,
    pub redelivered: bool,
    pub traceparent: Option<&'a str>,
}

/// A history row recorded in the current transaction, for [`finish`].
#[derive(Debug, Clone)]
pub struct Recorded {
    message_id: MessageId,
    /// The row's physical address (`ctid`), stable until this transaction
    /// changes the row again.
    ctid: String,
}

/// Record that `consumer` took these deliveries, in the transaction of their
/// effects; one statement for the whole batch. Returns, for each delivery in
/// order, its new row — `None`: its message was recorded before (or earlier
/// in this batch), a duplicate, which is counted. A concurrent transaction
/// recording the same message makes this wait until it ends.
pub async fn record(
    conn: &mut PgConnection,
    consumer: &str,
    batch: &[NewConsumption<'_>],
) -> Result<Vec<Option<Recorded>>, StoreError> {
    let inserted: Vec<(MessageId, String)> = sqlx::query_as(
        r#"INSERT INTO consumed_messages
               (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered, traceparent)
           SELECT $1, m, t, q, r, a, d, p
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::bool[], $8::text[])
                AS b(m, t, q, r, a, d, p)
           ON CONFLICT (consumer, message_id) DO NOTHING
           RETURNING message_id, ctid::text"#,
    )
    .bind(consumer)
    .bind(batch.iter().map(|c| c.message_id).collect::<Vec<_>>())
    .bind(batch.iter().map(|c| c.topic).collect::<Vec<_>>())
    .bind(batch.iter().map(|c| c.queue).collect::<Vec<_>>())
    .bind(batch.iter().map(|c| c.received_at).collect::<Vec<_>>())
    .bind(batch.iter().map(|c| c.delivery_attempt).collect::<Vec<_>>())
    .bind(batch.iter().map(|c| c.redelivered).collect::<Vec<_>>())
    .bind(batch.iter().map(|c| c.traceparent).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let mut fresh: HashMap<MessageId, String> = inserted.into_iter().collect();
    let new: Vec<Option<Recorded>> = batch
        .iter()
        .map(|c| {
            fresh.remove(&c.message_id).map(|ctid| Recorded {
                message_id: c.message_id,
                ctid,
            })
        })
        .collect();
    let duplicates: Vec<MessageId> = batch
        .iter()
        .zip(&new)
        .filter(|(_, new)| new.is_none())
        .map(|(c, _)| c.message_id)
        .collect();
    if !duplicates.is_empty() {
        // `= ANY` keeps this an index lookup whatever the planner thinks
        // of the array's size (a join with unnest() can turn into a scan).
        sqlx::query(
            r#"UPDATE consumed_messages SET duplicates = duplicates
                   + (SELECT count(*) FROM unnest($2::uuid[]) AS d(m) WHERE d.m = message_id)::int
               WHERE consumer = $1 AND message_id = ANY($2)"#,
        )
        .bind(consumer)
        .bind(&duplicates)
        .execute(&mut *conn)
        .await?;
    }
    Ok(new)
}

/// A row [`record`] made, done: how long it took, what its handlers handed on.
#[derive(Debug, Clone)]
pub struct Finished {
    pub recorded: Recorded,
    pub processing_ms: f64,
    pub output: Option<Value>,
}

/// What the handlers of these messages handed on when they were processed
/// (for the reply to a saga command sent again).
pub async fn outputs(
    conn: &mut PgConnection,
    consumer: &str,
    ids: &[MessageId],
) -> Result<HashMap<MessageId, Value>, StoreError> {
    let rows: Vec<(MessageId, Option<Value>)> = sqlx::query_as(
        "SELECT message_id, output FROM consumed_messages WHERE consumer = $1 AND message_id = ANY($2)",
    )
    .bind(consumer)
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, out)| out.map(|o| (id, o)))
        .collect())
}

/// Stamp commit time, processing time (ms) and output on rows [`record`]
/// just made.
pub async fn finish(
    conn: &mut PgConnection,
    consumer: &str,
    done: &[Finished],
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    let ms: Vec<f64> = done.iter().map(|d| d.processing_ms).collect();
    let outputs: Vec<Value> = done
        .iter()
        .map(|d| d.output.clone().unwrap_or(Value::Null))
        .collect();
    // By address: a lookup by key is at the planner's mercy, and on a young
    // table with stale statistics it scanned every row of the consumer.
    // Planned for each batch (`persistent(false)`): a plan cached while the
    // table was nearly empty is a sequential scan that filters every row by
    // the array, and is kept as the table grows — under a backlog, a second
    // per batch and a consumer slowed from thousands to a few hundred
    // messages/s.
    let stamped = sqlx::query(
        r#"UPDATE consumed_messages
           SET committed_at = clock_timestamp(),
               processing_ms = ($2::float8[])[array_position($1::text[]::tid[], ctid)],
               output = NULLIF(($3::jsonb[])[array_position($1::text[]::tid[], ctid)], 'null')
           WHERE ctid = ANY($1::text[]::tid[])"#,
    )
    .persistent(false)
    .bind(
        done.iter()
            .map(|d| d.recorded.ctid.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(&ms)
    .bind(&outputs)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if stamped < done.len() as u64 {
        // A duplicate later in the batch was counted on one of these rows,
        // which moved it: stamp them by key instead.
        sqlx::query(
            r#"UPDATE consumed_messages
               SET committed_at = clock_timestamp(),
                   processing_ms = ($3::float8[])[array_position($2::uuid[], message_id)],
                   output = NULLIF(($4::jsonb[])[array_position($2::uuid[], message_id)], 'null')
               WHERE consumer = $1 AND message_id = ANY($2)"#,
        )
        .persistent(false)
        .bind(consumer)
        .bind(
            done.iter()
                .map(|d| d.recorded.message_id)
                .collect::<Vec<_>>(),
        )
        .bind(&ms)
        .bind(&outputs)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A message a consumer gave up on and put in its dead-letter queue.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct DeadLettered {
    pub consumer: String,
    pub message_id: MessageId,
    pub queue: String,
    pub topic: Option<String>,
    pub reason: String,
    pub attempts: i32,
    pub dead_at: chrono::DateTime<chrono::Utc>,
}

/// Remember that `consumer` dead-lettered a message (after the dead letter
/// is in the dead-letter queue).
pub async fn record_dead_letter(
    pool: &PgPool,
    consumer: &str,
    message_id: MessageId,
    queue: &str,
    topic: &str,
    reason: &str,
    attempts: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        r#"INSERT INTO consumer_dead_letters (consumer, message_id, queue, topic, reason, attempts)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (consumer, message_id) DO UPDATE
           SET reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, dead_at = now(),
               queue = EXCLUDED.queue, topic = EXCLUDED.topic"#,
    )
    .bind(consumer)
    .bind(message_id)
    .bind(queue)
    .bind(topic)
    .bind(reason)
    .bind(attempts)
    .execute(pool)
    .await?;
    Ok(())
}

/// The consumers that dead-lettered this message (and did not take it since).
pub async fn dead_lettered(
    pool: &PgPool,
    message_id: MessageId,
) -> Result<Vec<DeadLettered>, StoreError> {
    Ok(sqlx::query_as(
        r#"SELECT consumer, message_id, queue, topic, reason, attempts, dead_at
           FROM consumer_dead_letters WHERE message_id = $1 ORDER BY dead_at"#,
    )
    .bind(message_id)
    .fetch_all(pool)
    .await?)
}

/// Forget every dead letter recorded for `queue` up to `until` (its
/// dead-letter queue was purged then): the outbox row (when there is one)
/// and message id of each.
pub async fn forget_queue_dead_letters(
    pool: &PgPool,
    queue: &str,
    until: DateTime<Utc>,
) -> Result<Vec<(Option<i64>, MessageId)>, StoreError> {
    Ok(sqlx::query_as(
        r#"WITH gone AS (
               DELETE FROM consumer_dead_letters WHERE queue = $1 AND dead_at <= $2
               RETURNING message_id
           )
           SELECT DISTINCT o.id, g.message_id
           FROM gone g LEFT JOIN outbox o ON o.message_id = g.message_id"#,
    )
    .bind(queue)
    .bind(until)
    .fetch_all(pool)
    .await?)
}

/// Forget dead letters of `queue` that left its dead-letter queue (replayed
/// or dropped).
pub async fn forget_dead_letters(
    pool: &PgPool,
    queue: &str,
    message_ids: &[MessageId],
) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM consumer_dead_letters WHERE queue = $1 AND message_id = ANY($2)")
            .bind(queue)
            .bind(message_ids)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
