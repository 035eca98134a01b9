//! `outboxctl dlq ls|show|replay|drop|purge`: the dead letters of every
//! work queue (or the one `--queue` names). Looking does not consume:
//! messages are read without being acknowledged and go back when the
//! command ends. Replay moves chosen messages back to their work queue
//! (confirmed there first, then removed here); drop deletes chosen ones;
//! either takes them by id, by cause (`--reason`) or all of them.
//!
//! `letters` reads and names dead letters, `read` has the looking commands,
//! `moves` replay and drop, `purge` purge.

mod letters;
mod moves;
mod purge;
mod read;

use crate::cli::{DlqCommand, GroupBy};
use crate::config::Config;
use crate::ops::Outcome;
use moves::{Choice, Move, Verb};

/// `outboxctl dlq …`
pub async fn command(config: &Config, cmd: DlqCommand) -> anyhow::Result<Outcome> {
    match cmd {
        DlqCommand::Ls {
            queue,
            limit,
            by,
            wide,
            output,
        } => {
            let ls = read::Ls {
                queue: queue.queue.as_deref(),
                limit,
                by_reason: by == Some(GroupBy::Reason),
                wide: wide.wide,
                format: output.output,
            };
            read::ls(config, ls).await
        }
        DlqCommand::Show { id, queue, output } => {
            read::show(config, queue.queue.as_deref(), &id, output.output).await
        }
        DlqCommand::Replay {
            ids,
            all,
            reason,
            force,
            queue,
            rate,
            change,
        } => {
            let choice = match (all, reason) {
                (true, _) => Choice::All,
                (false, Some(r)) => Choice::Reason(r),
                (false, None) => Choice::Named(ids),
            };
            let m = Move {
                queue: queue.queue.as_deref(),
                choice,
                verb: Verb::Replay,
                change,
                rate: rate.rate,
                force,
            };
            moves::move_letters(config, m).await
        }
        DlqCommand::Drop {
            ids,
            reason,
            queue,
            rate,
            change,
        } => {
            let choice = match reason {
                Some(r) => Choice::Reason(r),
                None => Choice::Named(ids),
            };
            let m = Move {
                queue: queue.queue.as_deref(),
                choice,
                verb: Verb::Drop,
                change,
                rate: rate.rate,
                force: true,
            };
            moves::move_letters(config, m).await
        }
        DlqCommand::Purge {
            queue,
            dry_run,
            yes,
            output,
        } => purge::purge(config, queue.queue.as_deref(), dry_run, yes, output.output).await,
    }
}
