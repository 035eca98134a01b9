//! Operator commands: set-up (migrate, topology, config), the outbox (ls,
//! show, why, replay, requeue, purge), lag, the dead-letter queue, and
//! generated docs. They read and write through the same store and broker
//! functions as the pipeline.

mod bulk;
pub mod dlq;
pub mod docs;
pub mod doctor;
mod fenced;
pub mod handlers;
pub mod lag;
pub mod outbox;
mod reasons;
pub mod sagas;
pub mod setup;
pub mod status;
pub mod top;

pub use crate::output::Outcome;

/// A pool for an operator command, the schema checked.
pub(crate) async fn connect(config: &crate::config::Config) -> anyhow::Result<sqlx::PgPool> {
    let pool =
        crate::store::connect(&config.database, "outboxctl ops", &[("jit", "off".into())]).await?;
    crate::store::check_schema(&pool).await?;
    Ok(pool)
}

/// A listing cut by `--limit` says so, and by how much (`more`, counted up
/// to 100,000), and what narrows it.
pub(crate) fn cut_short(shown: usize, what: &str, more: i64, narrow: &str) {
    if more <= 0 {
        return;
    }
    let n = if more >= 100_000 {
        "100000 or more".to_string()
    } else {
        more.to_string()
    };
    eprintln!(
        "outboxctl: {shown} {what} shown; {n} more match — raise --limit (up to 100000) or \
         narrow with {narrow}"
    );
}

/// Nothing matched: say so (on stderr, so a script reading stdout gets an
/// empty listing) and succeed — an empty list is an answer, not an error.
pub(crate) fn empty(format: crate::cli::Output, message: &str) -> anyhow::Result<Outcome> {
    if format == crate::cli::Output::Table {
        eprintln!("outboxctl: {message}");
    }
    Ok(Outcome::Success)
}

/// The operator answered no to a confirmation: nothing changed, exit 1.
pub(crate) fn declined() -> anyhow::Result<Outcome> {
    eprintln!("outboxctl: not confirmed; nothing changed");
    Ok(Outcome::CheckFailed)
}
