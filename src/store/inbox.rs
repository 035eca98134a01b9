//! Consumption history (`consumed_messages`): which consumer processed which
//! message, written in the same transaction as the consumer's effect.

use sqlx::PgPool;

use std::collections::HashSet;

use sqlx::PgConnection;

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

/// Record that `consumer` took these deliveries, in the transaction of their
/// effects; one statement for the whole batch. Returns, for each delivery in
/// order, whether it is new — `false`: its message was recorded before (or
/// earlier in this batch), a duplicate, which is counted. A concurrent
/// transaction recording the same message makes this wait until it ends.
pub async fn record(
    conn: &mut PgConnection,
    consumer: &str,
    batch: &[NewConsumption<'_>],
) -> Result<Vec<bool>, StoreError> {
    let inserted: Vec<MessageId> = sqlx::query_scalar(
        r#"INSERT INTO consumed_messages
               (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered, traceparent)
           SELECT $1, m, t, q, r, a, d, p
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::bool[], $8::text[])
                AS b(m, t, q, r, a, d, p)
           ON CONFLICT (consumer, message_id) DO NOTHING
           RETURNING message_id"#,
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
    let mut fresh: HashSet<MessageId> = inserted.into_iter().collect();
    let new: Vec<bool> = batch.iter().map(|c| fresh.remove(&c.message_id)).collect();
    let duplicates: Vec<MessageId> = batch
        .iter()
        .zip(&new)
        .filter(|(_, new)| !**new)
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

/// Stamp commit time and processing time on recorded consumptions.
pub async fn finish(
    conn: &mut PgConnection,
    consumer: &str,
    done: &[(MessageId, f64)],
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    sqlx::query(
        r#"UPDATE consumed_messages
           SET committed_at = clock_timestamp(),
               processing_ms = ($3::float8[])[array_position($2::uuid[], message_id)]
           WHERE consumer = $1 AND message_id = ANY($2)"#,
    )
    .bind(consumer)
    .bind(done.iter().map(|(m, _)| *m).collect::<Vec<_>>())
    .bind(done.iter().map(|(_, ms)| *ms).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
