//! The outbox table: claiming pending rows for the relayer, recording what the
//! broker said, and the counts operators and `relay --once` look at.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{StoreError, Tx};
use crate::model::{Envelope, EventState, MessageId, PublishFailure, Topic};

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
pub async fn claim_batch(
    tx: &mut Tx,
    limit: u32,
    max_lanes: u32,
) -> Result<Vec<Envelope>, StoreError> {
    // Lanes first, in a statement of their own: the rows are then read with a
    // snapshot taken after the lanes are ours, so everything their previous
    // owner committed is visible.
    let lanes: Vec<i32> = sqlx::query_scalar(
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
        SELECT lane FROM ready
        WHERE pg_try_advisory_xact_lock($3, lane)
        LIMIT $1
        "#,
    )
    .bind(i64::from(max_lanes.clamp(1, LANES)))
    .bind(LANES as i32)
    .bind(LANE_LOCK_NAMESPACE)
    .fetch_all(&mut **tx)
    .await?;
    if lanes.is_empty() {
        return Ok(Vec::new());
    }

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
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
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
    let dead: Vec<Option<i64>> = sqlx::query_scalar(
        r#"
        UPDATE outbox AS o SET
            attempts = o.attempts + 1,
            last_error = f.error,
            available_at = clock_timestamp() + f.retry_in_ms * interval '1 millisecond',
            dead_at = CASE WHEN f.give_up OR o.attempts + 1 >= $5 THEN clock_timestamp() END
        FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bool[])
             AS f(id, error, retry_in_ms, give_up)
        WHERE o.id = f.id
        RETURNING CASE WHEN o.dead_at IS NOT NULL THEN o.id END
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
