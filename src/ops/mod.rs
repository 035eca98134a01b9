//! Operator commands: set-up (migrate, topology, config), the outbox (ls,
//! show, why, replay, requeue, purge), lag, the dead-letter queue, and
//! generated docs. They read and write through the same store and broker
//! functions as the pipeline.

pub mod dlq;
pub mod docs;
pub mod handlers;
pub mod lag;
pub mod outbox;
pub mod sagas;
pub mod setup;
pub mod status;
pub mod top;

pub use crate::output::Outcome;

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
