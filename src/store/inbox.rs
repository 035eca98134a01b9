//! Consumption history (`consumed_messages`): which consumer processed which
//! message, written in the same transaction as the consumer's effect.

use sqlx::PgPool;

use super::{StoreError, Tx};
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
    pub consumer: &'a str,
    pub message_id: MessageId,
    pub topic: &'a str,
    pub queue: &'a str,
    pub received_at: chrono::DateTime<chrono::Utc>,
    pub delivery_attempt: i32,
    pub redelivered: bool,
    pub traceparent: Option<&'a str>,
}

/// Record that `consumer` took `message_id`, in the transaction of its effect.
/// Returns `false` if it had already been recorded (a duplicate delivery),
/// after counting the duplicate. A concurrent delivery of the same message
/// waits here until the first one commits or rolls back.
pub async fn record(tx: &mut Tx, c: &NewConsumption<'_>) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        r#"INSERT INTO consumed_messages
               (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered, traceparent)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (consumer, message_id) DO NOTHING"#,
    )
    .bind(c.consumer)
    .bind(c.message_id)
    .bind(c.topic)
    .bind(c.queue)
    .bind(c.received_at)
    .bind(c.delivery_attempt)
    .bind(c.redelivered)
    .bind(c.traceparent)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        sqlx::query(
            "UPDATE consumed_messages SET duplicates = duplicates + 1 WHERE consumer = $1 AND message_id = $2",
        )
        .bind(c.consumer)
        .bind(c.message_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(inserted)
}

/// Stamp the commit time and processing time on a recorded consumption.
pub async fn finish(
    tx: &mut Tx,
    consumer: &str,
    message_id: MessageId,
    processing_ms: f64,
) -> Result<(), StoreError> {
    sqlx::query(
        r#"UPDATE consumed_messages SET committed_at = clock_timestamp(), processing_ms = $3
           WHERE consumer = $1 AND message_id = $2"#,
    )
    .bind(consumer)
    .bind(message_id)
    .bind(processing_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
