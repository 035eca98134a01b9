//! The only module that speaks SQL. Functions that write take the caller's
//! `Transaction`, so a business row and its outbox row commit together; reads
//! take the pool. Driver errors become [`StoreError`] here, at the edge, with
//! what happened to a connection named (refused, reset, timed out, refused
//! by the server). Also here: pools and their session settings, the schema
//! check, a bounded ping, and the outbox's LISTEN stream.
//!
//! Depends on `model` and `config` only; never on the broker.

pub mod bench;
pub mod health;
pub mod inbox;
pub mod outbox;
pub mod processes;
pub mod saga;
pub mod statement;
pub mod uploads;

use std::collections::BTreeSet;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};

use crate::config::DatabaseConfig;

/// The schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!();

pub type Tx = Transaction<'static, Postgres>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tables are not there (or not as expected).
    #[error("{0}")]
    Schema(String),
    /// The server cannot be reached or dropped the connection; worth retrying.
    #[error(
        "PostgreSQL is unavailable: {0} — check database.url (OUTBOX_DATABASE_URL, \
         --database-url) and that the server is running"
    )]
    Unavailable(String),
    /// The server answered and refused us: a wrong password, role or
    /// database name. Retrying will not help.
    #[error("PostgreSQL refused the connection: {0}")]
    Refused(String),
    /// The server is up and has no connection slot left: someone holds them
    /// all. Worth retrying (slots free up), but not a server that is down.
    #[error(
        "PostgreSQL has no connection slot left ({0}) — see who holds them: `outboxctl status` \
         lists each outboxctl process's pool size, `SELECT application_name, count(*) FROM \
         pg_stat_activity GROUP BY 1` counts them all; raise the server's max_connections (or \
         the role's CONNECTION LIMIT), or lower database.max_connections (docs/SCALING.md gives \
         what each process needs)"
    )]
    Crowded(String),
    #[error("not found")]
    NotFound,
    /// Not shown as a source: the driver's own text ends in the line of
    /// PostgreSQL's C source that raised it ("… at line 948").
    #[error("database error: {}", describe_sqlx(.0))]
    Database(sqlx::Error),
}

impl StoreError {
    /// Whether waiting and trying again may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Crowded(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Io(io) => Self::Unavailable(crate::model::describe_io(io)),
            sqlx::Error::PoolTimedOut => Self::Unavailable(
                "no connection could be opened within database.connect_timeout".into(),
            ),
            sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(one_line(&e.to_string())),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // invalid_password, invalid_authorization_specification
                Some("28P01" | "28000") => Self::Refused(format!(
                    "{} — check the user and password in database.url (OUTBOX_DATABASE_URL, \
                     --database-url)",
                    one_line(db.message())
                )),
                // invalid_catalog_name: the database does not exist
                Some("3D000") => Self::Refused(format!(
                    "{} — create it (`createdb`, or ./scripts/services.sh here) or fix the \
                     database name in database.url",
                    one_line(db.message())
                )),
                // too_many_connections (also "remaining connection slots are
                // reserved"), configuration_limit_exceeded
                Some("53300" | "53400") => Self::Crowded(one_line(db.message())),
                // undefined_table, undefined_column, undefined_function
                Some("42P01" | "42703" | "42883") => Self::Schema(format!(
                    "the database schema is missing or out of date ({}) — run `outboxctl migrate`",
                    one_line(db.message())
                )),
                // connection_exception class, admin/crash shutdown, cannot_connect_now,
                // idle_in_transaction_session_timeout, read-only replica after failover
                Some(code)
                    if code.starts_with("08")
                        || matches!(code, "57P01" | "57P02" | "57P03" | "25P03" | "25006") =>
                {
                    Self::Unavailable(one_line(db.message()))
                }
                _ => Self::Database(e),
            },
            _ => Self::Database(e),
        }
    }
}

/// A driver error for people: a server error as its message, detail and
/// hint with `SQLSTATE <code>`, anything else on one line.
pub fn describe_sqlx(e: &sqlx::Error) -> String {
    let sqlx::Error::Database(db) = e else {
        return one_line(&e.to_string());
    };
    let mut text = one_line(db.message());
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(detail) = pg.detail() {
            text.push_str(&format!(" ({})", one_line(detail)));
        }
        if let Some(hint) = pg.hint() {
            text.push_str(&format!("; hint: {}", one_line(hint)));
        }
    }
    match db.code() {
        Some(code) => format!("{text} (SQLSTATE {code})"),
        None => text,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Longest a single database call may take here, whatever the network does:
/// the server's own `statement_timeout` (60 s on the relay's and consumer's
/// connections) plus a margin. A frozen connection fails instead of hanging.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(65);

/// Run a database call with a bound of `limit`; past it, the call counts as
/// a lost connection (the driver closes that connection).
pub async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(format!(
            "no answer within {}",
            humantime::format_duration(limit)
        )))
    })
}

/// Whether the pool can run a query now, within `limit` (`/readyz`).
pub async fn ready(pool: &PgPool, limit: Duration) -> Result<(), StoreError> {
    bounded(limit, async {
        sqlx::query("SELECT 1").execute(pool).await?;
        Ok(())
    })
    .await
}

/// Whether PostgreSQL answers now, asked on a connection of its own (the
/// pool would only say that it timed out): `Err` says why not.
pub async fn ping(pool: &PgPool, limit: Duration) -> Result<(), StoreError> {
    let options = pool.connect_options();
    bounded(limit, async {
        let conn = PgConnection::connect_with(&options).await?;
        let _ = conn.close().await;
        Ok(())
    })
    .await
}

/// The driver's options for `cfg`: its URL, and TLS as [`tls_is_a_choice`] says.
fn connect_options(cfg: &DatabaseConfig) -> Result<PgConnectOptions, StoreError> {
    let options = PgConnectOptions::from_str(cfg.url.expose()).map_err(|e| {
        StoreError::Unavailable(format!(
            "database.url {} cannot be used: {}",
            cfg.url,
            one_line(&e.to_string())
        ))
    })?;
    let env_asks = std::env::var_os("PGSSLMODE").is_some();
    let options = if tls_is_a_choice(cfg.url.expose(), &options, env_asks) {
        options
    } else {
        options.ssl_mode(PgSslMode::Disable)
    };
    Ok(if cfg.transaction_pooling {
        // Each transaction may run on another server connection: no named
        // prepared statement may be left behind (an unnamed one lives until
        // the next), and PgBouncer refuses startup parameters it does not
        // track (extra_float_digits, options).
        options.statement_cache_capacity(0).extra_float_digits(None)
    } else {
        options
    })
}

/// Behind a transaction-mode pooler, every use of a pooled connection is one
/// transaction. The driver runs a statement with parameters in two steps (parse
/// and describe, then bind and execute), each ended by a Sync; between the two
/// the pooler may hand the server connection to another client, whose next
/// statement replaces the unnamed one ours would bind to — an error at best,
/// another client's statement run with our parameters at worst. An open
/// transaction keeps the pooler from moving the server connection: `BEGIN`
/// when a connection is handed out, `COMMIT` when it comes back. A
/// `pool.begin()` inside runs as before (its BEGIN only draws a warning, its
/// COMMIT or ROLLBACK ends the transaction), and a single statement commits
/// at release, as it would have on its own.
fn pinned_to_one_server(pool: PgPoolOptions) -> PgPoolOptions {
    use sqlx::Executor;
    pool.after_connect(|conn, _| Box::pin(async move { conn.execute("BEGIN").await.map(drop) }))
        .before_acquire(|conn, _| {
            Box::pin(async move { conn.execute("BEGIN").await.map(|_| true) })
        })
        .after_release(|conn, _| {
            Box::pin(async move { conn.execute("COMMIT").await.map(|_| true) })
        })
}

/// `settings` for the rest of the current transaction only (`SET LOCAL`):
/// how a process behind a transaction-mode pooler gets the session settings a
/// direct connection has from the start. One round trip; nothing when empty.
pub async fn set_local(
    conn: &mut sqlx::PgConnection,
    settings: &[(&'static str, String)],
) -> Result<(), sqlx::Error> {
    if settings.is_empty() {
        return Ok(());
    }
    let calls: Vec<String> = (0..settings.len())
        .map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2))
        .collect();
    // Only placeholders are spliced in; names and values are bound.
    let sql = format!("SELECT {}", calls.join(", "));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (k, v) in settings {
        query = query.bind(*k).bind(v.as_str());
    }
    query.execute(conn).await?;
    Ok(())
}

/// The settings a pool's connections do not carry and its transactions must
/// set themselves: all of `session` behind a transaction-mode pooler, none on
/// a direct connection (they were set when it opened).
pub fn local_settings(
    cfg: &DatabaseConfig,
    session: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    if cfg.transaction_pooling {
        session.to_vec()
    } else {
        Vec::new()
    }
}

/// The TLS mode connections to `cfg` use (`Disable`, `Prefer`, `Require`, …).
pub fn tls_mode(cfg: &DatabaseConfig) -> Option<String> {
    connect_options(cfg)
        .ok()
        .map(|o| format!("{:?}", o.get_ssl_mode()))
}

/// Open a pool. `session` settings (e.g. `statement_timeout`) apply to every
/// connection. Fails fast with a message naming the (masked) URL.
pub async fn connect(
    cfg: &DatabaseConfig,
    application_name: &str,
    session: &[(&str, String)],
) -> Result<PgPool, StoreError> {
    let options = connect_options(cfg)?.application_name(application_name);
    // Behind a transaction-mode pooler a session setting would stick to a
    // server connection other clients then get: the callers set theirs per
    // transaction instead (`local_settings`).
    let options = if cfg.transaction_pooling {
        options
    } else {
        options.options(session.iter().map(|(k, v)| (*k, v.as_str())))
    };
    // One direct connection first: its error says why ("connection refused",
    // "password authentication failed"), where the pool would only time out.
    let probe = tokio::time::timeout(cfg.connect_timeout, PgConnection::connect_with(&options))
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!(
                "cannot connect to {}: no answer within {}",
                cfg.url,
                humantime::format_duration(cfg.connect_timeout)
            ))
        })?
        .map_err(|e| match StoreError::from(e) {
            StoreError::Refused(why) => StoreError::Refused(format!("{}: {why}", cfg.url)),
            StoreError::Crowded(why) => StoreError::Crowded(format!("{}: {why}", cfg.url)),
            // PgBouncer's answer to the parameters a direct connection sends.
            StoreError::Unavailable(why) if why.contains("unsupported startup parameter") => {
                StoreError::Refused(format!(
                    "{}: {why} — the URL points at a connection pooler (PgBouncer): set \
                     database.transaction_pooling = true (OUTBOX_DATABASE_TRANSACTION_POOLING=true)",
                    cfg.url
                ))
            }
            other => StoreError::Unavailable(format!(
                "cannot connect to {}: {}",
                cfg.url,
                match other {
                    StoreError::Unavailable(why) => why,
                    e => e.to_string(),
                }
            )),
        })?;
    let _ = probe.close().await;
    let pool = PgPoolOptions::new();
    let pool = if cfg.transaction_pooling {
        pinned_to_one_server(pool)
    } else {
        pool
    };
    Ok(pool
        .max_connections(cfg.max_connections)
        .acquire_timeout(cfg.connect_timeout)
        .connect_lazy_with(options))
}

/// Whether TLS to the database is left to the driver's default (`prefer`).
/// It is not for a server on this machine (a loopback address, or a Unix
/// socket) unless the URL's `sslmode` or `PGSSLMODE` asks for it: TLS there
/// protects nothing a local user could not read anyway, and costs every new
/// connection a handshake (≈ 90 ms of a relay's start). Set `sslmode=require`
/// to have it anyway.
fn tls_is_a_choice(url: &str, options: &PgConnectOptions, env_asks: bool) -> bool {
    let asked = env_asks
        || url::Url::parse(url)
            .map(|u| u.query_pairs().any(|(k, _)| k == "sslmode"))
            .unwrap_or(true);
    if asked {
        return true;
    }
    let host = options.get_host();
    let local = options.get_socket().is_some()
        || host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !local
}

/// Session settings of the consumer's (and other workers') connections: a
/// statement that runs away is ended by the server; plans are never
/// JIT-compiled (these queries are short).
pub fn worker_session() -> Vec<(&'static str, String)> {
    vec![("statement_timeout", "60s".into()), ("jit", "off".into())]
}

/// Open `n` of the pool's connections now, so the first events after a start
/// do not each wait for a connection (and its TLS handshake) to be set up.
/// Best effort: a connection that fails is left to the pool to retry later.
pub async fn warm_up(pool: &PgPool, n: u32) {
    let conns = futures_util::future::join_all((0..n).map(|_| pool.acquire())).await;
    drop(conns);
}

/// A migration known to the binary.
#[derive(Debug, Clone)]
pub struct MigrationInfo {
    pub version: i64,
    pub description: String,
}

/// Versions recorded as applied in the database (empty before the first run).
pub async fn applied_migrations(pool: &PgPool) -> Result<BTreeSet<i64>, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(BTreeSet::new());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?;
    Ok(versions.into_iter().collect())
}

/// Migrations the binary has that the database has not applied yet.
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<MigrationInfo>, StoreError> {
    let applied = applied_migrations(pool).await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| MigrationInfo {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect())
}

/// Check that the database has exactly the schema this binary expects:
/// every migration applied, none changed since.
pub async fn check_schema(pool: &PgPool) -> Result<(), StoreError> {
    let pending = pending_migrations(pool).await?;
    if let Some(first) = pending.first() {
        let database: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(pool)
            .await?;
        return Err(StoreError::Schema(format!(
            "the schema of database {database} is behind this binary: {} migration(s) not \
             applied, starting with {:04} {} — run `outboxctl migrate`",
            pending.len(),
            first.version,
            first.description
        )));
    }
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?;
    for m in MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        if let Some((_, checksum)) = applied.iter().find(|(v, _)| *v == m.version)
            && checksum.as_slice() != &*m.checksum
        {
            return Err(StoreError::Schema(format!(
                "migration {:04} {} in the database differs from this binary's — the schema was \
                 applied by another build; migrate with the matching outboxctl or recreate the \
                 database",
                m.version, m.description
            )));
        }
    }
    Ok(())
}

/// Apply every pending migration; returns the ones applied now. Concurrent
/// runs are serialised by sqlx's advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<Vec<MigrationInfo>, StoreError> {
    let pending = pending_migrations(pool).await?;
    MIGRATOR.run(pool).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(inner) => StoreError::from(inner),
        other => StoreError::Schema(format!(
            "cannot migrate: {} — the database was migrated by another build of outboxctl",
            one_line(&other.to_string())
        )),
    })?;
    Ok(pending)
}

/// The server's version string, e.g. `PostgreSQL 15.20`.
pub async fn server_version(pool: &PgPool) -> Result<String, StoreError> {
    let v: String = sqlx::query_scalar("SELECT 'PostgreSQL ' || current_setting('server_version')")
        .fetch_one(pool)
        .await?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(url: &str) -> bool {
        tls_is_a_choice(url, &PgConnectOptions::from_str(url).unwrap(), false)
    }

    #[test]
    fn a_local_server_is_reached_without_tls_unless_asked() {
        let url = "postgres://u@127.0.0.1:5432/db";
        assert!(tls_is_a_choice(
            url,
            &PgConnectOptions::from_str(url).unwrap(),
            true
        ));
        assert!(!choice("postgres://u@127.0.0.1:5432/db"));
        assert!(!choice("postgres://u@localhost/db"));
        assert!(!choice("postgres://u@[::1]:5432/db"));
        assert!(!choice("postgres://u@127.0.0.2/db"));
        assert!(choice("postgres://u@127.0.0.1/db?sslmode=require"));
        assert!(choice("postgres://u@localhost/db?sslmode=prefer"));
        assert!(choice("postgres://u@db.example.com/db"));
        assert!(choice("postgres://u@10.0.0.5/db"));
    }
}
