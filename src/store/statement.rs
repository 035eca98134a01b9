//! Statements that operators configure (`sql` handlers): prepared once at
//! start to check them, then run in the consumer's transaction with the
//! message as parameters.
//!
//! The parameters always have these types, whichever of them a statement
//! uses: $1 payload `jsonb`, $2 headers `jsonb`, $3 message id `uuid`, $4
//! topic `text`, $5 partition key `text` (null without one), $6 attempt
//! `int`.

use serde_json::Value;
use sqlx::postgres::PgTypeInfo;
use sqlx::{Executor, PgConnection, PgPool, Row, SqlSafeStr};
use uuid::Uuid;

/// The message, as a statement's parameters.
#[derive(Debug, Clone, Copy)]
pub struct MessageParams<'a> {
    pub payload: &'a Value,
    pub headers: &'a Value,
    pub message_id: Uuid,
    pub topic: &'a str,
    pub partition_key: Option<&'a str>,
    pub attempt: i32,
}

/// Why a statement did not run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StatementError {
    /// The connection failed (I/O, or a connection-exception SQLSTATE): the
    /// database, not the statement.
    #[error("{0}")]
    Unavailable(String),
    /// The server refused or aborted the statement.
    #[error("SQLSTATE {sqlstate}: {message}")]
    Failed { sqlstate: String, message: String },
}

impl From<sqlx::Error> for StatementError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) => {
                let sqlstate = db.code().map(|c| c.to_string()).unwrap_or_default();
                let mut message = one_line(db.message());
                if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    for (label, text) in [("DETAIL", pg.detail()), ("HINT", pg.hint())] {
                        if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
                            message.push_str(&format!(" — {label}: {}", bounded(&one_line(text))));
                        }
                    }
                }
                if sqlstate.starts_with("08")
                    || matches!(sqlstate.as_str(), "57P01" | "57P02" | "57P03")
                {
                    Self::Unavailable(format!("SQLSTATE {sqlstate}: {message}"))
                } else {
                    Self::Failed { sqlstate, message }
                }
            }
            sqlx::Error::Io(io) => Self::Unavailable(crate::model::describe_io(io)),
            other => Self::Unavailable(one_line(&other.to_string())),
        }
    }
}

/// At most 300 characters of `s`, an ellipsis saying it was cut.
fn bounded(s: &str) -> String {
    const MAX: usize = 300;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parameter_types() -> [PgTypeInfo; 6] {
    [
        PgTypeInfo::with_name("jsonb"),
        PgTypeInfo::with_name("jsonb"),
        PgTypeInfo::with_name("uuid"),
        PgTypeInfo::with_name("text"),
        PgTypeInfo::with_name("text"),
        PgTypeInfo::with_name("int4"),
    ]
}

/// Prepare `statement` with the six parameters: a typo, a missing function
/// or table, a parameter used as the wrong type fails here.
pub async fn check(pool: &PgPool, statement: &str) -> Result<(), StatementError> {
    let mut conn = pool.acquire().await?;
    // The operator's own statement, by design: it is never built from input.
    let sql = sqlx::AssertSqlSafe(statement.to_string());
    (&mut *conn)
        .prepare_with(sql.into_sql_str(), &parameter_types())
        .await?;
    Ok(())
}

/// Run `statement` on `conn` (the consumer's transaction). Returns the first
/// column of the first row when the statement returns JSON — what a saga
/// step hands on — and `None` otherwise.
pub async fn run(
    conn: &mut PgConnection,
    statement: &str,
    p: &MessageParams<'_>,
) -> Result<Option<Value>, StatementError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .bind(p.payload)
        .bind(p.headers)
        .bind(p.message_id)
        .bind(p.topic)
        .bind(p.partition_key)
        .bind(p.attempt)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(|r| {
        if r.is_empty() {
            return None;
        }
        r.try_get::<Value, _>(0).ok()
    }))
}
