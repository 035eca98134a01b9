//! `outboxctl outbox ls|show|why|replay|requeue|retry|discard|edit|purge`:
//! see every row, know why it is where it is, and steer it. Every change says
//! what it changed (also as `-o json`) and records who did it and when: in
//! the row (replay, requeue) or in `outbox_audit` (retry, discard, edit).
//! Many rows change in bounded batches, each its own transaction, with a
//! progress bar on a terminal.
//!
//! `read` has the reading commands, `moves` the changing ones, `select`
//! what the changing ones share (the rows named, the batches).

mod moves;
mod read;
mod select;

use sqlx::PgPool;

use crate::cli::OutboxCommand;
use crate::config::Config;
use crate::ops::Outcome;

pub use read::{Listed, Waiting, why_row};
pub use select::{Action, Changed};

/// `outboxctl outbox …`
pub async fn command(config: &Config, cmd: OutboxCommand) -> anyhow::Result<Outcome> {
    match cmd {
        OutboxCommand::Ls(args) => read::ls(config, &args).await,
        OutboxCommand::Show { row, output } => read::show(config, row, output.output).await,
        OutboxCommand::Why { row, output } => read::why(config, row, output.output).await,
        OutboxCommand::Replay(args) => moves::replay(config, &args).await,
        OutboxCommand::Requeue(args) => moves::requeue(config, &args).await,
        OutboxCommand::Retry(args) => moves::retry(config, &args).await,
        OutboxCommand::Discard(args) => moves::discard(config, &args).await,
        OutboxCommand::Edit { row, output } => moves::edit(config, row, output.output).await,
        OutboxCommand::Purge(args) => moves::purge(config, &args).await,
    }
}

/// One row changed by an operator elsewhere (a key in `top`): the rows
/// `action` changed — empty when the row had changed state meanwhile.
pub async fn act_on(pool: &PgPool, action: Action, id: i64) -> anyhow::Result<Vec<i64>> {
    let mut tx = pool.begin().await?;
    let done = action
        .apply(&mut tx, &[id], &crate::identity::actor(), &mut Vec::new())
        .await?;
    tx.commit().await?;
    Ok(done)
}
