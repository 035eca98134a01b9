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

pub use crate::output::Outcome;

/// Nothing matched (or nothing was done): say so on stderr, exit 1.
pub(crate) fn nothing(message: &str) -> anyhow::Result<Outcome> {
    eprintln!("outboxctl: {message}");
    Ok(Outcome::CheckFailed)
}
