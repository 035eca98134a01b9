//! The outbox table: claiming pending rows for the relayer, recording what the
//! broker said, and the counts operators and `relay --once` look at.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{StoreError, Tx};
use crate::model::{Envelope, PublishFailure};

/// The channel `outbox_notify()` signals on every insert.
pub const NOTIFY_CHANNEL: &str = "outbox";

/// Longest `last_error` kept, in characters.
const MAX_ERROR_CHARS: usize = 2000;

/// Lock up to `limit` pending rows that are due, oldest first.
///
/// `FOR UPDATE SKIP LOCKED` lets several relayers claim side by side: a row
/// locked by one is invisible to the others until that transaction ends, and a
/// relayer that dies takes its locks with its connection. The caller keeps the
/// transaction open while it publishes and awaits confirms.
///
/// Rows queued behind a row of the same key that waits for its backoff are
/// left out here, so a failing key cannot fill the batch; whether a claimed
/// row really is next in its key is settled by [`held_back`].
pub async fn claim_batch(tx: &mut Tx, limit: u32) -> Result<Vec<Envelope>, StoreError> {
    let rows = sqlx::query_as::<_, Envelope>(
        r#"
        WITH blocked AS MATERIALIZED (
            SELECT partition_key, min(id) AS first_id
            FROM outbox
            WHERE sent_at IS NULL AND dead_at IS NULL
              AND available_at > now()
              AND partition_key IS NOT NULL
            GROUP BY partition_key
        )
        SELECT o.id, o.message_id, o.topic, o.partition_key, o.payload::text AS payload,
               o.headers, o.traceparent, o.created_at, o.attempts
        FROM outbox o
        WHERE o.sent_at IS NULL AND o.dead_at IS NULL
          AND o.available_at <= now()
          AND NOT EXISTS (
              SELECT 1 FROM blocked b
              WHERE b.partition_key = o.partition_key AND b.first_id < o.id)
        ORDER BY o.id
        LIMIT $1
        FOR UPDATE OF o SKIP LOCKED
        "#,
    )
    .bind(i64::from(limit))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

/// The ids among `claimed` (which this transaction has locked) that must not
/// be published now because they are not next in line for their key.
///
/// Per-key order holds when, for every key, the claimed rows are exactly the
/// oldest pending rows of that key. Two things break that: an older pending
/// row of the key (locked by another relayer, or waiting for its backoff), and
/// a gap: a pending row between two claimed ones that another relayer happens
/// to have locked. A key with an older row is held back whole; a key with a
/// gap keeps the part before the gap.
pub async fn held_back(tx: &mut Tx, claimed: &[Envelope]) -> Result<HashSet<i64>, StoreError> {
    let mut by_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for row in claimed {
        if let Some(key) = row.partition_key.as_deref() {
            by_key.entry(key).or_default().push(row.id);
        }
    }
    if by_key.is_empty() {
        return Ok(HashSet::new());
    }
    for ids in by_key.values_mut() {
        ids.sort_unstable();
    }
    let keys: Vec<&str> = by_key.keys().copied().collect();
    let first: Vec<i64> = by_key.values().map(|ids| ids[0]).collect();
    let last: Vec<i64> = by_key.values().map(|ids| ids[ids.len() - 1]).collect();
    let count: Vec<i64> = by_key.values().map(|ids| ids.len() as i64).collect();

    // One index probe per key; only keys out of line come back.
    let flagged: Vec<(String, bool)> = sqlx::query_as(
        r#"
        SELECT k.key, o.older
        FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
             AS k(key, first_id, last_id, claimed)
        CROSS JOIN LATERAL (
            SELECT EXISTS (
                SELECT 1 FROM outbox p
                WHERE p.partition_key = k.key
                  AND p.sent_at IS NULL AND p.dead_at IS NULL
                  AND p.id < k.first_id) AS older
        ) o
        WHERE o.older
           OR (k.claimed > 1 AND (
                SELECT count(*) FROM outbox p
                WHERE p.partition_key = k.key
                  AND p.sent_at IS NULL AND p.dead_at IS NULL
                  AND p.id BETWEEN k.first_id AND k.last_id) <> k.claimed)
        "#,
    )
    .bind(&keys)
    .bind(&first)
    .bind(&last)
    .bind(&count)
    .fetch_all(&mut **tx)
    .await?;

    let mut held = HashSet::new();
    let mut gapped: Vec<&str> = Vec::new();
    for (key, older) in &flagged {
        let Some((key, ids)) = by_key.get_key_value(key.as_str()) else {
            continue;
        };
        if *older {
            held.extend(ids.iter().copied());
        } else {
            gapped.push(key);
        }
    }
    if gapped.is_empty() {
        return Ok(held);
    }

    // Rare: keep each gapped key's claimed rows up to the first foreign row.
    let gap_first: Vec<i64> = gapped.iter().map(|k| by_key[k][0]).collect();
    let gap_last: Vec<i64> = gapped
        .iter()
        .map(|k| by_key[k][by_key[k].len() - 1])
        .collect();
    let pending: Vec<(String, i64)> = sqlx::query_as(
        r#"
        SELECT p.partition_key, p.id
        FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS k(key, first_id, last_id)
        JOIN outbox p ON p.partition_key = k.key
                     AND p.sent_at IS NULL AND p.dead_at IS NULL
                     AND p.id BETWEEN k.first_id AND k.last_id
        ORDER BY p.partition_key, p.id
        "#,
    )
    .bind(&gapped)
    .bind(&gap_first)
    .bind(&gap_last)
    .fetch_all(&mut **tx)
    .await?;
    let mut pending_by_key: HashMap<&str, Vec<i64>> = HashMap::new();
    for (key, id) in &pending {
        pending_by_key.entry(key.as_str()).or_default().push(*id);
    }
    for key in gapped {
        let mine = &by_key[key];
        let all = pending_by_key.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let in_line = mine.iter().zip(all).take_while(|(a, b)| a == b).count();
        held.extend(mine[in_line..].iter().copied());
    }
    Ok(held)
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
        WHERE sent_at IS NULL AND dead_at IS NULL AND available_at > now()
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
