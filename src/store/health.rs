//! What PostgreSQL says about its own health, as far as it touches the
//! pipeline (`outboxctl doctor`): vacuum on outboxctl's tables, who holds the
//! xmin horizon back, connection slots, the session time-outs.

use sqlx::PgPool;

use super::StoreError;

/// The tables outboxctl writes all day: their dead rows are its claims' cost.
pub const TABLES: &[&str] = &[
    "outbox",
    "consumed_messages",
    "consumer_dead_letters",
    "saga_instances",
    "saga_events",
    "outbox_processes",
    "outbox_relay_state",
];

/// Vacuum figures of one table.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TableVacuum {
    pub table: String,
    /// `autovacuum_enabled = false` among the table's storage parameters.
    pub autovacuum_disabled: bool,
    pub live: i64,
    pub dead: i64,
    /// Seconds since the last vacuum of either kind; `None`: never.
    pub since_vacuum_seconds: Option<f64>,
}

pub async fn tables(pool: &PgPool) -> Result<Vec<TableVacuum>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT c.relname AS table, \
                coalesce('autovacuum_enabled=false' = ANY (c.reloptions), false) \
                  OR coalesce('autovacuum_enabled=off' = ANY (c.reloptions), false) \
                  AS autovacuum_disabled, \
                coalesce(s.n_live_tup, 0) AS live, coalesce(s.n_dead_tup, 0) AS dead, \
                extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float8 \
                  AS since_vacuum_seconds \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY ($1) \
         ORDER BY c.relname",
    )
    .bind(TABLES)
    .fetch_all(pool)
    .await?)
}

/// Something that keeps vacuum from removing dead rows: a transaction (or an
/// idle-in-transaction session) of this database, a replication slot, a
/// prepared transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HorizonHolder {
    /// `session`, `replication slot`, `prepared transaction`.
    pub kind: String,
    /// pid and application, the slot's name, the prepared transaction's gid.
    pub who: String,
    /// A session's process id.
    pub pid: Option<i32>,
    /// `idle in transaction`, `active`, …; the slot's type.
    pub state: String,
    /// How long it has held it (the transaction's age; a slot: unknown).
    pub seconds: Option<f64>,
    /// Transactions between it and now (`age(xmin)`).
    pub xid_age: i64,
}

pub async fn horizon_holders(pool: &PgPool) -> Result<Vec<HorizonHolder>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT 'session' AS kind, \
                'pid ' || pid || coalesce(' (' || nullif(application_name, '') || ')', '') \
                  || coalesce(', ' || usename, '') AS who, pid, \
                coalesce(state, '?') AS state, \
                extract(epoch FROM now() - xact_start)::float8 AS seconds, \
                greatest(coalesce(age(backend_xmin), 0), coalesce(age(backend_xid), 0))::int8 \
                  AS xid_age \
         FROM pg_stat_activity \
         WHERE (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL) \
           AND datname = current_database() \
           AND pid <> pg_backend_pid() \
         UNION ALL \
         SELECT 'replication slot', slot_name, NULL::int4, slot_type || CASE WHEN active THEN ', active' \
                ELSE ', inactive' END, NULL, \
                greatest(age(xmin), age(catalog_xmin))::int8 \
         FROM pg_replication_slots WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL \
         UNION ALL \
         SELECT 'prepared transaction', gid, NULL::int4, 'prepared', \
                extract(epoch FROM now() - prepared)::float8, age(transaction)::int8 \
         FROM pg_prepared_xacts \
         ORDER BY xid_age DESC",
    )
    .fetch_all(pool)
    .await?)
}

/// Connection slots: the server's limit, and who uses them.
#[derive(Debug, Clone)]
pub struct Slots {
    pub max_connections: i64,
    /// Reserved for superusers (`superuser_reserved_connections`).
    pub reserved: i64,
    /// (application name, connections), most first.
    pub by_application: Vec<(String, i64)>,
}

impl Slots {
    pub fn used(&self) -> i64 {
        self.by_application.iter().map(|(_, n)| n).sum()
    }
}

pub async fn slots(pool: &PgPool) -> Result<Slots, StoreError> {
    let (max_connections, reserved): (i64, i64) = sqlx::query_as(
        "SELECT current_setting('max_connections')::int8, \
                current_setting('superuser_reserved_connections')::int8",
    )
    .fetch_one(pool)
    .await?;
    let by_application = sqlx::query_as(
        "SELECT coalesce(nullif(application_name, ''), '(unnamed)'), count(*) \
         FROM pg_stat_activity WHERE backend_type = 'client backend' \
         GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .fetch_all(pool)
    .await?;
    Ok(Slots {
        max_connections,
        reserved,
        by_application,
    })
}

/// A setting as the server reports it (`SHOW`), for this database and role.
pub async fn setting(pool: &PgPool, name: &str) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT current_setting($1)")
        .bind(name)
        .fetch_one(pool)
        .await?)
}
