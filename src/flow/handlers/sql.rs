//! `kind = "sql"`: a statement run in the consumer's transaction, beside the
//! inbox row — the effect commits exactly once, whatever crashes. SQLSTATE
//! classes decide what a failure means: a conflict that may pass is retried,
//! a statement that can never succeed on this message is dead-lettered with
//! its SQLSTATE and message, a lost connection waits for the database.

use sqlx::{PgConnection, PgPool};

use super::handler::{CheckFuture, Done, Handler, HandlerError, HandlerFuture, Message};
use crate::config::SqlSpec;
use crate::store::statement::{self, MessageParams, StatementError};

pub struct Statement {
    sql: String,
}

impl Statement {
    pub fn new(spec: &SqlSpec) -> Self {
        Self {
            sql: spec.statement.clone(),
        }
    }
}

impl Handler for Statement {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, m: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let params = MessageParams {
                payload: &m.payload,
                headers: &m.headers,
                message_id: m.message_id.0,
                topic: &m.topic,
                partition_key: m.partition_key.as_deref(),
                attempt: i32::try_from(m.attempt).unwrap_or(i32::MAX),
            };
            statement::run(conn, &self.sql, &params)
                .await
                .map(|output| Done {
                    output,
                    ..Done::default()
                })
                .map_err(classify)
        })
    }

    fn check<'a>(&'a self, pool: &'a PgPool) -> CheckFuture<'a> {
        Box::pin(async move {
            match statement::check(pool, &self.sql).await {
                Ok(()) => Ok("the statement prepares".into()),
                Err(e) => Err(format!(
                    "the statement does not prepare ({e}) — fix its statement in [[handlers]]"
                )),
            }
        })
    }
}

/// What a failed statement means for its message.
fn classify(e: StatementError) -> HandlerError {
    match e {
        StatementError::Unavailable(why) => HandlerError::Unavailable(why),
        StatementError::Failed { sqlstate, message } => {
            let reason = format!("SQLSTATE {sqlstate}: {message}");
            if is_transient(&sqlstate) {
                HandlerError::Retry(reason)
            } else {
                HandlerError::Reject(reason)
            }
        }
    }
}

/// Failures that another attempt may not meet: transaction rollback
/// (serialization failure, deadlock), lock not available, a cancelled
/// statement (statement_timeout), insufficient resources, system errors.
fn is_transient(sqlstate: &str) -> bool {
    sqlstate.starts_with("40")
        || sqlstate.starts_with("53")
        || sqlstate.starts_with("58")
        || matches!(sqlstate, "55P03" | "57014")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_classes_decide_retry_or_dead_letter() {
        let failed = |code: &str| StatementError::Failed {
            sqlstate: code.into(),
            message: "m".into(),
        };
        for retry in ["40001", "40P01", "55P03", "57014", "53300"] {
            assert!(
                matches!(classify(failed(retry)), HandlerError::Retry(_)),
                "{retry}"
            );
        }
        for reject in ["23505", "23503", "22P02", "42601", "42883", "P0001"] {
            let e = classify(failed(reject));
            assert!(
                matches!(&e, HandlerError::Reject(r) if r.contains(reject)),
                "{reject}"
            );
        }
        assert!(matches!(
            classify(StatementError::Unavailable("reset".into())),
            HandlerError::Unavailable(_)
        ));
    }
}
