//! Operator commands: set-up (migrate, topology, config), the outbox (ls,
//! show, why, replay, requeue, purge), lag, the dead-letter queue, and
//! generated docs. They read and write through the same store and broker
//! functions as the pipeline.

pub mod dlq;
pub mod docs;
pub mod lag;
pub mod outbox;
pub mod setup;

use std::process::ExitCode;

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command worked and what it checked is not fine (e.g.
    /// `relay --once` left rows failing or dead), or nothing matched.
    CheckFailed,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::CheckFailed => ExitCode::from(1),
        }
    }
}

/// Nothing matched (or nothing was done): say so on stderr, exit 1.
pub(crate) fn nothing(message: &str) -> anyhow::Result<Outcome> {
    eprintln!("outboxctl: {message}");
    Ok(Outcome::CheckFailed)
}
