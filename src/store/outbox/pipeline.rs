//! The pipeline's side of the outbox table: writing events, claiming
//! pending rows for the relayer, recording what the broker said, waking the
//! relayer, and the counts `relay --once`, `lag` and the gauges look at.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};

use crate::model::{Envelope, EventState, MessageId, PublishFailure, Topic};
use crate::store::{StoreError, Tx};

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
pub async fn insert(conn: &mut PgConnection, event: &NewEvent<'_>) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        r#"INSERT INTO outbox (message_id, topic, partition_key, payload, traceparent)
           VALUES ($1, $2, $3, $4, $5) RETURNING id"#,
    )
    .bind(event.message_id)
    .bind(event.topic.as_str())
    .bind(event.partition_key)
    .bind(event.payload)
    .bind(event.traceparent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub(super) const EVENT_COLUMNS: &str = "id, message_id, topic, partition_key, \
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

/// Session settings of the relayer's connections. `idle_limit` ends the
/// claim of a relayer that hangs in mid-batch.
pub fn relay_session(idle_limit: Duration) -> Vec<(&'static str, String)> {
    vec![
        (
            "idle_in_transaction_session_timeout",
            format!("{}ms", idle_limit.as_millis()),
        ),
        ("statement_timeout", "60s".to_string()),
        // The claim waits for a row lock only if something outside outboxctl
        // holds one on a pending row; do not wait forever.
        ("lock_timeout", "5s".to_string()),
        // The claim must walk the pending index in id order and stop after a
        // batch. Statistics lag behind bursts (a backlog after a broker outage
        // looks like an empty table), and then the planner prefers collecting
        // every pending row and sorting it: seconds per claim just when the
        // relay must catch up. These connections run only the relay's few
        // queries, none of which needs a sort or bitmap scan to be fast.
        ("enable_sort", "off".to_string()),
        ("enable_bitmapscan", "off".to_string()),
        // A disabled sort inflates plan costs past jit_above_cost, and
        // compiling a plan costs far more than running these queries.
        ("jit", "off".to_string()),
    ]
}

/// The outbox trigger's notifications (`LISTEN outbox`), on a connection of
/// their own, for a relayer that sleeps.
pub struct Notifications(PgListener);

impl Notifications {
    /// A server that refuses LISTEN answers with [`StoreError::Database`].
    pub async fn listen(pool: &PgPool) -> Result<Self, StoreError> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        Ok(Self(listener))
    }

    /// The next notification: `true` one came; `false` the connection was
    /// lost — it is re-established on the next call, and what committed
    /// meanwhile was not announced.
    pub async fn next(&mut self) -> Result<bool, StoreError> {
        Ok(self.0.try_recv().await?.is_some())
    }
}

/// Number of lanes (see the `lane` column); fixed by the schema.
pub const LANES: u32 = 64;
/// The most lanes `lanes set` allows: every claim probes each lane's oldest
/// pending row, so a claim costs more with every lane.
pub const MAX_LANES: u32 = 1024;

/// The number of lanes (`outbox_lane_count()`; 64 unless `lanes set` changed it).
pub async fn lane_count(pool: &PgPool) -> Result<u32, StoreError> {
    let n: i32 = sqlx::query_scalar("SELECT outbox_lane_count()")
        .fetch_one(pool)
        .await?;
    Ok(n.max(1) as u32)
}

/// Pending rows, and the lanes that hold any.
pub async fn lane_usage(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query_as(
        "SELECT count(*), count(DISTINCT lane) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL",
    )
    .fetch_one(pool)
    .await?)
}

/// Renumber the lanes: `n` from now on, and every pending row moved to its
/// lane under `n`, in one transaction. It first takes the lock of every
/// current lane, waiting for the batches in flight to commit (a batch must
/// never hold rows of a key while another batch can take a later row of it
/// under the new numbering), then locks the table against writers (no row
/// may be written under the old count meanwhile; readers go on). Returns the
/// old count and the pending rows whose lane changed.
pub async fn set_lane_count(
    pool: &PgPool,
    n: u32,
    wait: std::time::Duration,
) -> Result<(u32, u64), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{}ms", wait.as_millis()))
        .execute(&mut *tx)
        .await?;
    let old: i32 = sqlx::query_scalar("SELECT outbox_lane_count()")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, lane) FROM generate_series(0, $2 - 1) AS lane")
        .bind(LANE_LOCK_NAMESPACE)
        .bind(old)
        .execute(&mut *tx)
        .await?;
    sqlx::query("LOCK TABLE outbox IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    // A function body cannot take a parameter; the count is a checked integer.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE OR REPLACE FUNCTION outbox_lane_count() RETURNS integer \
         LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT {}'",
        n.clamp(1, MAX_LANES)
    )))
    .execute(&mut *tx)
    .await?;
    // A stored generated column is recomputed only when a column it reads is
    // written (`SET lane = DEFAULT` alone keeps the old value): write one.
    let moved = sqlx::query(
        "UPDATE outbox SET partition_key = partition_key WHERE sent_at IS NULL AND dead_at IS NULL",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok((old.max(1) as u32, moved))
}

/// Namespace of the advisory locks on lanes (the first key of the two-key
/// form), so they cannot collide with an application's own advisory locks.
pub(super) const LANE_LOCK_NAMESPACE: i32 = 0x4f42_5831;

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
/// Every row lives in one of the lanes ([`lane_count`], [`LANES`] unless
/// changed), and all rows of a partition key
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
    //
    // A lane's head is its oldest due row: among rows never held back (the
    // lane index holds only those, so the probe meets no row that is not
    // due); among held-back rows without a key that are due, a sample of the
    // longest-due (their index is by due time, so rows not due yet are never
    // read; a lane may look younger than it is, which only changes which
    // lanes go first); and each key's oldest held-back row when it is due
    // (from the small index of held-back keyed rows).
    let lanes: Vec<(i32, i64)> = sqlx::query_as(
        r#"
        WITH heads AS (
            SELECT l.lane, h.id
            FROM generate_series(0, outbox_lane_count() - 1) AS l(lane)
            CROSS JOIN LATERAL (
                SELECT o.id FROM outbox o
                -- A range of one lane, ordered by lane and id: only the lane
                -- index gives that order. (With `lane = l.lane` the lane is a
                -- constant to the planner, the order is just by id, and on a
                -- young table's statistics it picked the index of all
                -- pending rows by id: every pending row read for each lane.)
                WHERE o.lane >= l.lane AND o.lane < l.lane + 1
                  AND o.sent_at IS NULL AND o.dead_at IS NULL
                  AND o.available_at <= o.created_at AND o.available_at <= now()
                ORDER BY o.lane, o.id
                LIMIT 1
            ) h
            UNION ALL
            -- Held-back rows without a key that are due, longest-due first.
            SELECT d.lane, d.id FROM (
                SELECT o.lane, o.id FROM outbox o
                WHERE o.sent_at IS NULL AND o.dead_at IS NULL
                  AND o.available_at > o.created_at AND o.available_at <= now()
                  AND o.partition_key IS NULL
                ORDER BY o.available_at
                LIMIT $3
            ) d
            UNION ALL
            -- Each key's oldest held-back row, when it is due: the floor of
            -- the rows below never passes it, so the key can go on.
            SELECT f.lane, f.id FROM (
                SELECT DISTINCT ON (o.partition_key) o.lane, o.id, o.available_at
                FROM outbox o
                WHERE o.sent_at IS NULL AND o.dead_at IS NULL
                  AND o.available_at > o.created_at AND o.partition_key IS NOT NULL
                ORDER BY o.partition_key, o.id
            ) f
            WHERE f.available_at <= now()
        )
        , ready AS MATERIALIZED (
            SELECT lane, min(id) AS head FROM heads
            GROUP BY lane
            ORDER BY min(id)
        )
        , mine AS MATERIALIZED (
            SELECT lane, head FROM ready
            WHERE pg_try_advisory_xact_lock($2, lane)
            LIMIT $1
        )
        SELECT lane::int, head FROM mine
        UNION ALL
        -- -1: lanes are ready but other batches hold every one of them.
        SELECT -1, 0 WHERE NOT EXISTS (SELECT 1 FROM mine) AND EXISTS (SELECT 1 FROM ready)
        "#,
    )
    .bind(i64::from(max_lanes.clamp(1, MAX_LANES)))
    .bind(LANE_LOCK_NAMESPACE)
    .bind(i64::from(limit))
    .fetch_all(&mut **tx)
    .await?;
    if lanes.is_empty() || lanes[0].0 == -1 {
        return Ok(Claim {
            rows: Vec::new(),
            busy: !lanes.is_empty(),
        });
    }
    // No due row of these lanes that must go first is older than their
    // oldest head: starting the index scan there skips the sent rows' index
    // entries that vacuum has not removed yet, which a long drain leaves by
    // the million. (A row committed since with a smaller id is simply taken
    // by the next batch.)
    let floor = lanes.iter().map(|&(_, head)| head).min().unwrap_or(0);
    let lanes: Vec<i32> = lanes.into_iter().map(|(lane, _)| lane).collect();

    // The rows: due rows of these lanes from the floor on, in id order,
    // each left out while its key has an older held-back row that this batch
    // will not take — not due yet, or below the floor (each key's oldest due
    // held-back row is a lane head, so the floor does not pass it; this is
    // the safety net for one committed after the heads were read). A
    // held-back row in this range costs a heap visit; they are few here.
    let rows = sqlx::query_as::<_, Envelope>(
        r#"
        WITH blocked AS MATERIALIZED (
            -- From the index of held-back keyed rows: rows without a key (a
            -- saga's time-outs) cost nothing here.
            SELECT DISTINCT ON (partition_key) partition_key, id AS first_id
            FROM outbox
            WHERE sent_at IS NULL AND dead_at IS NULL
              AND available_at > created_at AND partition_key IS NOT NULL
              AND (available_at > now() OR id < $3)
            ORDER BY partition_key, id
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
    // The batch's rows by their key, never a read of the whole table: on a
    // young outbox with stale statistics PostgreSQL planned 1,000 ids as a
    // sequential scan (100–260 ms per batch at 25,000 rows, seen with
    // auto_explain under `bench saga`). For the rest of this transaction
    // only: the claim is done, recording failures is a lookup by key too.
    sqlx::query("SELECT set_config('enable_seqscan', 'off', true)")
        .execute(&mut **tx)
        .await?;
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

/// Rows marked sent, and messages any consumer recorded, in the last 10 s.
pub async fn recent_rates(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query_as(
        r#"SELECT (SELECT count(*) FROM outbox WHERE sent_at >= now() - interval '10 seconds'),
                  (SELECT count(*) FROM consumed_messages
                   WHERE committed_at >= now() - interval '10 seconds')"#,
    )
    .fetch_one(pool)
    .await?)
}

/// A group of rows in trouble: failing or dead, of one topic, with one error.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TroubleGroup {
    pub topic: String,
    pub dead: bool,
    pub last_error: Option<String>,
    pub rows: i64,
    /// The oldest few of them.
    pub ids: Vec<i64>,
}

/// The largest groups of failing and dead rows, by topic and last error.
pub async fn trouble_groups(pool: &PgPool, limit: i64) -> Result<Vec<TroubleGroup>, StoreError> {
    Ok(sqlx::query_as(
        r#"SELECT topic, dead_at IS NOT NULL AS dead, last_error, count(*) AS rows,
                  (array_agg(id ORDER BY id))[1:5] AS ids
           FROM outbox
           WHERE sent_at IS NULL AND (dead_at IS NOT NULL OR attempts > 0)
           GROUP BY topic, dead_at IS NOT NULL, last_error
           ORDER BY count(*) DESC, topic
           LIMIT $1"#,
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// What waits in the outbox: cheap enough to read every few seconds (only
/// the partial indexes of pending and dead rows are touched).
#[derive(Debug, Clone, Copy, Default, PartialEq, sqlx::FromRow)]
pub struct Backlog {
    /// Pending rows, scheduled ones included.
    pub pending: i64,
    /// The outbox lag: how long the longest-waiting due row has been due, in
    /// seconds (0 when none). A row is due from its `available_at` (its
    /// creation, unless it was scheduled for later or requeued); a row that
    /// failed and waits for its backoff counts from its creation.
    pub oldest_pending_seconds: f64,
    /// Pending rows scheduled for later (saga timers among them): not lag.
    pub scheduled: i64,
    /// When the next of those becomes due, in seconds from now.
    pub next_scheduled_seconds: Option<f64>,
    pub dead: i64,
}

pub async fn backlog(pool: &PgPool) -> Result<Backlog, StoreError> {
    // The longest-due row is the first due (or failing) one by id, unless a
    // row scheduled for later became due before it: the second probe, on the
    // index of delayed rows.
    let b = sqlx::query_as::<_, Backlog>(
        r#"SELECT
             (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL) AS pending,
             COALESCE(extract(epoch FROM now() - LEAST(
                 (SELECT CASE WHEN attempts > 0 THEN created_at ELSE available_at END FROM outbox
                  WHERE sent_at IS NULL AND dead_at IS NULL AND (attempts > 0 OR available_at <= now())
                  ORDER BY id LIMIT 1),
                 (SELECT min(available_at) FROM outbox
                  WHERE sent_at IS NULL AND dead_at IS NULL AND available_at > created_at
                    AND available_at <= now() AND attempts = 0)))::float8, 0) AS oldest_pending_seconds,
             s.scheduled, s.next_scheduled_seconds,
             (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL) AS dead
           FROM (SELECT count(*) AS scheduled,
                        extract(epoch FROM min(available_at) - now())::float8 AS next_scheduled_seconds
                 FROM outbox
                 WHERE sent_at IS NULL AND dead_at IS NULL AND available_at > created_at
                   AND available_at > now() AND attempts = 0) s"#,
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
