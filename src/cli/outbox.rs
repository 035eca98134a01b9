//! `outboxctl outbox …`: the rows' commands and their arguments.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::args::{ChangeArgs, ForceArg, GroupBy, OutputArgs};
use super::parse::{parse_duration, parse_time};
use crate::model::RowRef;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List rows: id, topic, key, status (due, in flight, retrying, scheduled, held, sent, dead),
    /// attempts, age, last error
    Ls(LsArgs),
    /// Everything about one row: payload, headers, timestamps, attempts, consumption, audit
    Show {
        /// Row id or message id
        row: RowRef,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Explain why a row has not gone out (or when it did, and what consumers made of it)
    Why {
        /// Row id or message id
        row: RowRef,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Publish sent rows again (same message id by default: consumers that have it skip it)
    Replay(ReplayArgs),
    /// Put dead rows back to pending with their attempts reset
    Requeue(RequeueArgs),
    /// Send rows that wait out a backoff now (after the cause was fixed)
    Retry(RetryArgs),
    /// Throw pending or dead rows away; each is kept as it was in the audit trail
    Discard(DiscardArgs),
    /// Edit the payload and headers of a pending or dead row in $EDITOR (validated, audited)
    Edit {
        /// Row id or message id
        row: RowRef,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete old sent rows in bounded batches
    Purge(PurgeArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("select").args(["rows", "failing"]).required(true)))]
pub struct RetryArgs {
    /// Row ids or message ids of rows waiting out a backoff
    #[arg(value_name = "ROW")]
    pub rows: Vec<RowRef>,
    /// Every row waiting out a backoff (of --topic, if given)
    #[arg(long)]
    pub failing: bool,
    /// With --failing: only this topic
    #[arg(long, value_name = "TOPIC", requires = "failing")]
    pub topic: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
    #[command(flatten)]
    pub force: ForceArg,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("select").args(["rows", "dead", "pending"]).required(true)))]
pub struct DiscardArgs {
    /// Row ids or message ids of pending or dead rows
    #[arg(value_name = "ROW")]
    pub rows: Vec<RowRef>,
    /// Every dead row (of --topic, if given)
    #[arg(long, conflicts_with = "pending")]
    pub dead: bool,
    /// Every pending row of --topic
    #[arg(long, requires = "topic")]
    pub pending: bool,
    /// With --dead or --pending: only this topic
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("status").args(["pending", "sent", "dead", "all"])))]
pub struct LsArgs {
    /// Only rows waiting to go out
    #[arg(long)]
    pub pending: bool,
    /// Only rows the broker confirmed
    #[arg(long)]
    pub sent: bool,
    /// Only rows that gave up after relay.max_attempts
    #[arg(long)]
    pub dead: bool,
    /// Rows of every status (the default)
    #[arg(long)]
    pub all: bool,
    /// Only this topic
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Only this partition key
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Created at or after: 1h (ago), 2026-11-27, 2026-11-27T10:00:00Z
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Created before (same forms as --since)
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many rows
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    /// Oldest first (default: newest first)
    #[arg(long)]
    pub oldest_first: bool,
    /// With --dead: one line per cause (the last error with its ids and
    /// numbers masked): rows, topics, first and last seen, an example
    #[arg(long, value_enum, value_name = "WHAT", requires = "dead")]
    pub by: Option<GroupBy>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("select").args(["rows", "topic"]).required(true)))]
pub struct ReplayArgs {
    /// Row ids or message ids of sent rows
    #[arg(value_name = "ROW")]
    pub rows: Vec<RowRef>,
    /// Every sent row of this topic created in --since..--until
    #[arg(long, value_name = "TOPIC", requires = "since")]
    pub topic: Option<String>,
    /// With --topic: created at or after (1h, 2026-11-27, RFC 3339)
    #[arg(long, value_parser = parse_time, value_name = "TIME", requires = "topic")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// With --topic: created before
    #[arg(long, value_parser = parse_time, value_name = "TIME", requires = "topic")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Keep each row's message id: consumers that processed it skip it (the default)
    #[arg(long, conflicts_with = "new_id")]
    pub same_id: bool,
    /// Publish copies with new message ids: consumers process them again
    #[arg(long)]
    pub new_id: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
    #[command(flatten)]
    pub force: ForceArg,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("select").args(["rows", "dead"]).required(true)))]
pub struct RequeueArgs {
    /// Row ids or message ids of dead rows
    #[arg(value_name = "ROW")]
    pub rows: Vec<RowRef>,
    /// Every dead row (of --topic, if given)
    #[arg(long)]
    pub dead: bool,
    /// With --dead: only this topic
    #[arg(long, value_name = "TOPIC", requires = "dead")]
    pub topic: Option<String>,
    #[command(flatten)]
    pub change: ChangeArgs,
    #[command(flatten)]
    pub force: ForceArg,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Delete sent rows (the only kind purge deletes; required to say so)
    #[arg(long, required = true)]
    pub sent: bool,
    /// Only rows sent longer ago than this, e.g. 7d
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", required = true)]
    pub older_than: Duration,
    /// Rows deleted per transaction
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch: u32,
    /// Count what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not VACUUM the outbox after deleting (leave it to autovacuum)
    #[arg(long)]
    pub no_vacuum: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}
