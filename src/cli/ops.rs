//! The operator commands beyond the outbox's rows: lag, sagas, handlers,
//! dead letters, and their arguments.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::args::{GroupBy, MoveArgs, OutputArgs, RateArg, WideArg};
use super::parse::{parse_duration, saga_state};
use super::settings;
use crate::model::saga::InstanceRef;

#[derive(Debug, Args)]
pub struct LagArgs {
    /// Redraw every DURATION until interrupted
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub watch: Option<Duration>,
    /// Exit 1 when a due row has waited longer than this (for cron alerts; rows scheduled for later are not late)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub max_age: Option<Duration>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DlqQueueArg {
    /// Only the dead letters of this work queue [default: those of every queue of broker.queues]
    #[arg(long, value_name = "QUEUE")]
    pub queue: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SagaCommand {
    /// Orchestrate: take starts, replies and time-outs from orchestrator.queue
    Run(SagaRunArgs),
    /// List instances: id, saga, key, state, step, attempt, age, reason
    Ls(SagaLsArgs),
    /// One instance's timeline: each step, attempt, duration, output or reason
    Show {
        /// Instance id, or SAGA:KEY (the saga and its business key, e.g. order:42)
        id: InstanceRef,
        #[command(flatten)]
        wide: WideArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// What an instance waits for and what to do about it; of a finished one, its story
    Why {
        /// Instance id, or SAGA:KEY (e.g. order:42)
        id: InstanceRef,
    },
    /// Compensate now: undo the steps done so far, in reverse
    Abort(SagaActArgs),
    /// Send the waited-for command (or compensation) once more
    Retry(SagaActArgs),
    /// Check the configuration's saga definitions against the instances in flight: exit 0
    /// when running them strands none, 1 listing each change and the instances it strands
    ///
    /// The definitions compared are the configuration's (./outbox.toml, or the new file given
    /// with --config) and those the orchestrator recorded when it ran. `saga run` and `up`
    /// refuse to start on a definition this would fail, naming the way out: finish or abort
    /// the instances, or map renamed steps with [[sagas.renamed]] from = "OLD", to = "NEW".
    Plan {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The steps and compensations of a saga, as a Mermaid flowchart
    Graph {
        /// Saga name
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct SagaRunArgs {
    #[command(flatten)]
    pub settings: settings::SagaRunSettings,
}

#[derive(Debug, Args)]
pub struct SagaLsArgs {
    /// Only this saga
    #[arg(long, value_name = "NAME")]
    pub saga: Option<String>,
    /// Only this state: running, compensating, completed, compensated, failed
    #[arg(long, value_name = "STATE", value_parser = saga_state)]
    pub state: Option<crate::model::saga::State>,
    /// Only the instance(s) of this business key (the start payload's correlate field)
    #[arg(long, value_name = "KEY")]
    pub correlation: Option<String>,
    /// Only instances started longer ago than this, e.g. 10m
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// At most this many
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    #[command(flatten)]
    pub wide: WideArg,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SagaActArgs {
    /// Instance ids, or SAGA:KEY (e.g. order:42)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<InstanceRef>,
    /// Say what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation when more than one instance is affected
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum HandlersCommand {
    /// Every handler: name, queue, kind, topics, target (secrets masked), limits
    Ls {
        #[command(flatten)]
        wide: WideArg,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List the dead letters of every queue (or --queue's): queue, id, topic, attempts, age,
    /// reason — or one line per cause with --by reason (they stay in their queues)
    Ls {
        #[command(flatten)]
        queue: DlqQueueArg,
        /// At most this many messages (without --by)
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// One line per cause (the handler, its SQLSTATE, HTTP status or exit status, the
        /// message with ids and numbers masked): count, queues, first and last seen, an example
        #[arg(long, value_enum, value_name = "WHAT")]
        by: Option<GroupBy>,
        #[command(flatten)]
        wide: WideArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// One dead letter in full (it stays in the queue)
    Show {
        /// Its message id (or `QUEUE/ID` when it is dead in several queues), or the outbox row
        /// id it came from
        id: String,
        #[command(flatten)]
        queue: DlqQueueArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Move dead letters back to their work queues, attempts reset
    #[command(group(clap::ArgGroup::new("select").args(["ids", "all", "reason"]).required(true)))]
    Replay {
        /// Message ids (`QUEUE/ID` when dead in several queues) or outbox row ids to move
        ids: Vec<String>,
        /// Move every dead letter
        #[arg(long)]
        all: bool,
        /// Move one cause of `dlq ls --by reason`: its number (#) or key
        #[arg(long, value_name = "N")]
        reason: Option<String>,
        /// Move saga commands back even when their saga has moved on (an outside participant
        /// would act on them; outboxctl's handlers fence them)
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        queue: DlqQueueArg,
        #[command(flatten)]
        rate: RateArg,
        #[command(flatten)]
        change: MoveArgs,
    },
    /// Delete chosen dead letters for good
    #[command(group(clap::ArgGroup::new("select").args(["ids", "reason"]).required(true)))]
    Drop {
        /// Message ids (`QUEUE/ID` when dead in several queues) or outbox row ids to delete
        ids: Vec<String>,
        /// Delete one cause of `dlq ls --by reason`: its number (#) or key
        #[arg(long, value_name = "N")]
        reason: Option<String>,
        #[command(flatten)]
        queue: DlqQueueArg,
        #[command(flatten)]
        rate: RateArg,
        #[command(flatten)]
        change: MoveArgs,
    },
    /// Delete every dead letter of every queue (or --queue's)
    Purge {
        #[command(flatten)]
        queue: DlqQueueArg,
        /// Count what would be deleted, delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}
