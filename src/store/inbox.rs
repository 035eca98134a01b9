//! Consumption history (`consumed_messages`): which consumer processed which
//! message, written in the same transaction as the consumer's effect.

use sqlx::PgPool;

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
