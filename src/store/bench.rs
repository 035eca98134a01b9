//! SQL used only by `outboxctl bench`: a database of its own, bulk loads, and
//! the baselines that do the same work straight over SQL.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;
use crate::model::UploadCreated;

fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Schema(format!(
            "{name:?} is not a usable database name"
        )));
    }
    Ok(())
}

/// Create database `name` on the server `pool` is connected to.
pub async fn create_database(pool: &PgPool, name: &str) -> Result<(), StoreError> {
    check_name(name)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Database(e) => StoreError::Schema(format!(
                "cannot create the benchmark database {name}: {e} — the database.url user needs CREATEDB"
            )),
            other => other,
        })?;
    Ok(())
}

/// Drop database `name`, closing its sessions.
pub async fn drop_database(pool: &PgPool, name: &str) -> Result<(), StoreError> {
    check_name(name)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(pool)
    .await?;
    Ok(())
}

/// Insert `n` pending rows of `payload_bytes`-byte JSON payloads, 100,000 per
/// statement. Row i has key `k<i mod keys>`, or a key of its own when `keys` is 0.
pub async fn load_backlog(
    pool: &PgPool,
    topic: &str,
    n: u64,
    payload_bytes: usize,
    keys: u64,
) -> Result<(), StoreError> {
    let mut done = 0u64;
    while done < n {
        let chunk = (n - done).min(100_000);
        insert_numbered(pool, topic, done + 1, done + chunk, payload_bytes, keys).await?;
        done += chunk;
    }
    Ok(())
}

/// Rows numbered `from..=to` in one statement, each `payload_bytes` of JSON,
/// keyed `k<n % keys>` (or each its own key when `keys` is 0).
pub async fn insert_numbered(
    pool: &PgPool,
    topic: &str,
    from: u64,
    to: u64,
    payload_bytes: usize,
    keys: u64,
) -> Result<(), StoreError> {
    // {"n":1234567,"pad":"xx…"}: the padding makes up the size.
    let pad = payload_bytes
        .saturating_sub(r#"{"n":1000000,"pad":""}"#.len())
        .max(1);
    sqlx::query(
        r#"INSERT INTO outbox (topic, partition_key, payload)
           SELECT $1,
                  CASE WHEN $4 = 0 THEN md5(i::text) ELSE 'k' || (i % $4) END,
                  jsonb_build_object('n', i, 'pad', repeat('x', $5))
           FROM generate_series($2, $3) AS i"#,
    )
    .bind(topic)
    .bind(from as i64)
    .bind(to as i64)
    .bind(keys as i64)
    .bind(pad as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// The outbox's size on disk: (table with its TOAST, indexes) in bytes, and
/// its dead tuples as the statistics last saw them.
pub async fn outbox_size(pool: &PgPool) -> Result<(i64, i64, i64), StoreError> {
    Ok(sqlx::query_as(
        r#"SELECT pg_table_size('outbox'), pg_indexes_size('outbox'),
                  coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'outbox'), 0)"#,
    )
    .fetch_one(pool)
    .await?)
}

/// A server setting as `SHOW` gives it.
pub async fn setting(pool: &PgPool, name: &str) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT current_setting($1)")
        .bind(name)
        .fetch_one(pool)
        .await?)
}

/// The server processes of this database's connections: pid and
/// application name.
pub async fn backends(pool: &PgPool) -> Result<Vec<(i32, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT pid, COALESCE(application_name, '') FROM pg_stat_activity \
         WHERE datname = current_database()",
    )
    .fetch_all(pool)
    .await?)
}

/// One event in its own single-row transaction.
pub async fn insert_event(
    pool: &PgPool,
    message_id: Uuid,
    topic: &str,
    key: &str,
    payload: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (message_id, topic, partition_key, payload) VALUES ($1, $2, $3, $4)",
    )
    .bind(message_id)
    .bind(topic)
    .bind(key)
    .bind(payload)
    .execute(pool)
    .await?;
    Ok(())
}

/// When each sent row was marked sent.
pub async fn sent_times(pool: &PgPool) -> Result<Vec<(Uuid, DateTime<Utc>)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT message_id, sent_at FROM outbox WHERE sent_at IS NOT NULL")
            .fetch_all(pool)
            .await?,
    )
}

pub async fn sent_count(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL")
            .fetch_one(pool)
            .await?,
    )
}

/// Every consumption: message id, commit time, duplicates counted.
pub async fn consumptions(pool: &PgPool) -> Result<Vec<(Uuid, DateTime<Utc>, i32)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT message_id, committed_at, duplicates FROM consumed_messages")
            .fetch_all(pool)
            .await?,
    )
}

pub async fn consumed_count(pool: &PgPool, consumer: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM consumed_messages WHERE consumer = $1")
            .bind(consumer)
            .fetch_one(pool)
            .await?,
    )
}

/// Uploads in a status.
pub async fn uploads_in(pool: &PgPool, status: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM uploads WHERE status = $1")
            .bind(status)
            .fetch_one(pool)
            .await?,
    )
}

/// (uploads, outbox rows).
pub async fn row_counts(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(
        sqlx::query_as("SELECT (SELECT count(*) FROM uploads), (SELECT count(*) FROM outbox)")
            .fetch_one(pool)
            .await?,
    )
}

/// Empty the business and outbox tables between two measurements.
pub async fn reset(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::raw_sql("TRUNCATE uploads, outbox, consumed_messages")
        .execute(pool)
        .await?;
    Ok(())
}

/// `n` registered uploads holding `content`; returns (upload id, message id).
pub async fn load_uploads(
    pool: &PgPool,
    n: u64,
    content: &[u8],
    content_type: &str,
) -> Result<Vec<(Uuid, UploadCreated)>, StoreError> {
    let rows: Vec<(Uuid, Uuid, String, String, i64, DateTime<Utc>)> = sqlx::query_as(
        r#"INSERT INTO uploads (id, filename, content_type, size_bytes, content, message_id)
           SELECT gen_random_uuid(), 'bench-' || i || '.png', $2, octet_length($3), $3, gen_random_uuid()
           FROM generate_series(1, $1) AS i
           RETURNING message_id, id, filename, content_type, size_bytes, created_at"#,
    )
    .bind(n as i64)
    .bind(content_type)
    .bind(content)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(message_id, upload_id, filename, content_type, size_bytes, created_at)| {
                let event = UploadCreated {
                    upload_id,
                    filename,
                    content_type,
                    size_bytes,
                    created_at,
                };
                (message_id, event)
            },
        )
        .collect())
}

/// The table `bench consume --handler sql` writes, with no key: a message
/// handled twice shows as two rows.
pub async fn create_effects_table(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE bench_effects (message_id uuid NOT NULL, n int)")
        .execute(pool)
        .await?;
    Ok(())
}

/// (rows in bench_effects, distinct messages among them).
pub async fn effects(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(
        sqlx::query_as("SELECT count(*), count(DISTINCT message_id) FROM bench_effects")
            .fetch_one(pool)
            .await?,
    )
}

/// The database's own unit of work for the consume baseline: one
/// consumption row in its own transaction.
pub async fn single_row_transaction(pool: &PgPool, consumer: &str) -> Result<(), StoreError> {
    sqlx::query(
        r#"INSERT INTO consumed_messages (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered)
           VALUES ($1, gen_random_uuid(), 'bench.baseline', 'baseline', now(), 1, false)"#,
    )
    .bind(consumer)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether a relayer of this database is LISTENing for notifications.
pub async fn relay_listening(pool: &PgPool) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        r#"SELECT count(*) > 0 FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'outboxctl relay'
             AND query ILIKE 'LISTEN%'"#,
    )
    .fetch_one(pool)
    .await?)
}

/// The table the step handler of `bench saga` writes, with no key: a step
/// handled twice shows as two rows.
pub async fn create_saga_effects_table(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE bench_saga_effects (saga_id uuid NOT NULL, step text NOT NULL)")
        .execute(pool)
        .await?;
    Ok(())
}

/// (rows in bench_saga_effects, distinct saga steps among them).
pub async fn saga_effects(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(
        sqlx::query_as("SELECT count(*), count(DISTINCT (saga_id, step)) FROM bench_saga_effects")
            .fetch_one(pool)
            .await?,
    )
}

/// Saga instances that completed.
pub async fn sagas_completed(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM saga_instances WHERE state = 'completed'")
            .fetch_one(pool)
            .await?,
    )
}

/// For each completed instance, its start event's `n` and the milliseconds
/// from that event's commit to the instance's completion.
pub async fn saga_latencies(pool: &PgPool, start: &str) -> Result<Vec<(i64, f64)>, StoreError> {
    Ok(sqlx::query_as(
        r#"SELECT (o.payload->>'n')::bigint,
                  (extract(epoch FROM i.finished_at - o.created_at) * 1000)::float8
           FROM saga_instances i
           JOIN outbox o ON o.topic = $1 AND o.payload->>'n' = i.correlation
           WHERE i.state = 'completed'"#,
    )
    .bind(start)
    .fetch_all(pool)
    .await?)
}

/// The effects `outboxctl verify`'s handler writes: one row per handling,
/// no key (a message handled twice shows twice), in commit order (`seq`).
pub async fn create_verify_effects(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE verify_effects (message_id uuid NOT NULL, partition_key text, \
         n bigint NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY)",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The statement of `verify`'s handler.
pub const VERIFY_EFFECT: &str =
    "INSERT INTO verify_effects (message_id, partition_key, n) VALUES ($3, $5, ($1->>'n')::bigint)";

/// Events `from..=to` as outbox rows of `keys` keys, in one statement: row
/// `n` has key `k<n % keys>` and payload `{"n": n}`.
pub async fn insert_verify_events(
    pool: &PgPool,
    topic: &str,
    from: i64,
    to: i64,
    keys: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        r#"INSERT INTO outbox (topic, partition_key, payload)
           SELECT $1, 'k' || (n % $4), jsonb_build_object('n', n)
           FROM generate_series($2::bigint, $3::bigint) AS n"#,
    )
    .bind(topic)
    .bind(from)
    .bind(to)
    .bind(keys)
    .execute(pool)
    .await?;
    Ok(())
}

/// Rows of `verify_effects`, for progress.
pub async fn verify_effect_rows(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM verify_effects")
        .fetch_one(pool)
        .await?)
}

/// What `verify` found in the database.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct VerifyCounts {
    pub sent: i64,
    pub dead: i64,
    pub effects: i64,
    pub distinct_effects: i64,
    /// A message of a key whose first effect committed after the first
    /// effect of a younger message of that key.
    pub order_violations: i64,
}

pub async fn verify_counts(pool: &PgPool) -> Result<VerifyCounts, StoreError> {
    Ok(sqlx::query_as(
        r#"
        WITH firsts AS (
            SELECT DISTINCT ON (message_id) message_id, partition_key, n, seq
            FROM verify_effects ORDER BY message_id, seq
        ), ordered AS (
            SELECT n, lag(n) OVER (PARTITION BY partition_key ORDER BY seq) AS previous
            FROM firsts
        )
        SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL) AS sent,
               (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL) AS dead,
               (SELECT count(*) FROM verify_effects) AS effects,
               (SELECT count(DISTINCT message_id) FROM verify_effects) AS distinct_effects,
               (SELECT count(*) FROM ordered WHERE previous > n) AS order_violations
        "#,
    )
    .fetch_one(pool)
    .await?)
}
