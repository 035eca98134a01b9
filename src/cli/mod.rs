//! Every clap type of the `outboxctl` command line: the command tree here,
//! the flags that set configuration settings in `settings`. Nothing here
//! does I/O.

pub mod settings;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::model::RowRef;
use settings::{ConsumeSettings, GLOBAL, GlobalSettings, RelaySettings, ServeSettings, UpSettings};

#[derive(Debug, Parser)]
#[command(
    name = "outboxctl",
    version,
    about = "Transactional outbox for PostgreSQL and RabbitMQ",
    long_about = "Transactional outbox for PostgreSQL and RabbitMQ.\n\n\
        Applications write business rows and outbox rows in one PostgreSQL transaction; \
        `outboxctl relay` publishes the outbox rows to RabbitMQ and marks them sent only \
        after the broker confirmed them.\n\n\
        Configuration: built-in defaults < outbox.toml (--config, else ./outbox.toml) < \
        OUTBOX_* environment variables < flags. Every setting section.key has the variable \
        OUTBOX_SECTION_KEY.",
    after_help = "Exit status: 0 success (an empty list too); 1 a check failed or the answer is no \
        (`lag --max-age`, `relay --once` leaving rows failing or dead, `status`, `config check`, \
        `verify`, a declined confirmation); 2 an error (usage, configuration, unknown id, \
        unreachable server). Global options (--config, --database-url, --broker-url, --log-level, \
        --log-format) work with every command; `--help` lists them. NO_COLOR disables colours. \
        See `outboxctl man`.",
    after_long_help = AFTER_LONG_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

const AFTER_LONG_HELP: &str = "\
EXIT STATUS
  One rule for every command:
  0  Success. A listing with nothing to list is a success (it prints nothing on stdout; in \
table mode stderr says so), and so is a change with nothing to change.
  1  A check that failed, or an answer that is no: `lag --max-age` exceeded, `relay --once` \
left rows failing or dead (stderr says which and why), `status` found a stage nobody serves, \
`config check` found a check failing, `verify` found a loss, a duplicate effect or an order \
violation, a confirmation was declined.
  2  An error: usage, bad configuration, an unknown id or a row in the wrong state, an \
unreachable server. One line on stderr says what is wrong and how to fix it: \
`outboxctl: <what> — <fix>`. Nothing was changed.
  A closed standard output (`outboxctl ... | head`) is not an error.

ENVIRONMENT
  OUTBOX_CONFIG            Configuration file (as --config).
  OUTBOX_<SECTION>_<KEY>   Any setting, e.g. OUTBOX_DATABASE_URL, OUTBOX_RELAY_INTERVAL, \
OUTBOX_BROKER_QUEUE_TYPE. Beats the file; flags beat it. An unknown OUTBOX_ variable is an error.
  NO_COLOR                 When set and not empty, output has no colours.

FILES
  ./outbox.toml            Read when present and no --config is given. `outboxctl config show` \
prints the effective configuration and the source of each value; passwords are masked.";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./outbox.toml when present]
    #[arg(long, global = true, hide_short_help = true, env = "OUTBOX_CONFIG", value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: GlobalSettings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations (outbox, uploads, consumed_messages)
    Migrate {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Declare the RabbitMQ exchanges and queues
    #[command(subcommand)]
    Topology(TopologyCommand),
    /// The lanes that bound how many batches are in flight across all relayers: show, set
    #[command(subcommand)]
    Lanes(LanesCommand),
    /// Show or check the effective configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Publish pending outbox rows to RabbitMQ, marking them sent once confirmed
    Relay(RelayArgs),
    /// Serve the producer HTTP API (POST /uploads and friends)
    Serve(ServeArgs),
    /// Process messages from a queue, each effect exactly once
    Consume(ConsumeArgs),
    /// Migrate, declare the topology, then serve, relay and consume in one process
    Up(UpArgs),
    /// Inspect and steer outbox rows: ls, show, why, replay, requeue, retry, discard, edit, purge
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// How far behind each stage is: pending rows and their age, queues, unconsumed
    Lag(LagArgs),
    /// Who is running: every relayer, consumer, API and orchestrator, the broker's consumers
    /// per queue, a verdict per stage; exit 1 when a stage has nobody serving it
    Status {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// A live view in the terminal: rates and lag per stage, processes, failing topics, dead
    /// letters, and the rows that need you — with keys to see why and to retry, requeue or
    /// discard them
    Top,
    /// The dead-letter queue: ls, show, replay, drop, purge
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// The handlers the consumer runs ([[handlers]] in the config file): ls
    #[command(subcommand)]
    Handlers(HandlersCommand),
    /// Sagas ([[sagas]] in the config file): run the orchestrator; ls, show, why, abort,
    /// retry, graph
    #[command(subcommand)]
    Saga(SagaCommand),
    /// Measure a stage against the servers' own limit, in a database and queues of its own
    Bench(BenchArgs),
    /// Prove the guarantees on these servers: real relayers and consumers through SIGKILLs and
    /// cut, stalled and refused connections, counted by an independent observer; exit 1 on any
    /// loss, duplicate effect or order violation
    Verify(VerifyArgs),
    /// Print a shell completion script to stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or write one page per command into a directory
    Man {
        /// Write outboxctl.1 and one page per subcommand into this directory
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopologyCommand {
    /// Declare the exchange, work queues with their bindings, retry and dead-letter queues
    /// (idempotent)
    Apply {
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum LanesCommand {
    /// How many lanes there are, and the pending rows in them
    Show {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Renumber the lanes: waits for the batches in flight, moves every pending row to its new
    /// lane in one transaction (writers wait meanwhile)
    Set {
        /// The new number of lanes (1–1024; each claim probes every lane)
        #[arg(value_parser = clap::value_parser!(u32).range(1..=1024))]
        lanes: u32,
        /// Longest to wait for the batches in flight and the table lock
        #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "30s")]
        wait: Duration,
        #[command(flatten)]
        change: MoveArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML (passwords masked), with each value's source
    Show {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Pre-flight: validate, reach PostgreSQL and RabbitMQ, check the schema is migrated, every
    /// handler can work, the topology and bindings are declared and the management API answers;
    /// exit 1 when a check failed
    Check {
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Drain the rows ready now, then exit: 0 all went out, 1 rows left failing or dead, 2 error
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub settings: RelaySettings,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: ServeSettings,
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub settings: ConsumeSettings,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub settings: UpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// Aligned columns for people
    #[default]
    Table,
    /// One JSON object per line, for scripts
    Json,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// A point in time: `1h` or `30m` (ago), `2026-11-27`, or an RFC 3339 timestamp.
pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        let d = chrono::Duration::from_std(d).map_err(|e| e.to_string())?;
        return Ok(chrono::Utc::now() - d);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t.into());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!(
        "{s:?} is not a time: write an age like 1h or 30m, a date like 2026-11-27, or 2026-11-27T10:00:00Z"
    ))
}

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

/// What every changing command takes.
#[derive(Debug, Clone, Copy, Args)]
pub struct ChangeArgs {
    /// Say what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation when more than one row is affected
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Rows changed per transaction (a progress bar shows on a terminal)
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What the changing commands that always ask take (moving or deleting dead
/// letters, renumbering lanes).
#[derive(Debug, Clone, Copy, Args)]
pub struct MoveArgs {
    /// Say what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub output: OutputArgs,
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
    /// Work queue whose dead letters to use [default: consumer.queue or the first of broker.queues]
    #[arg(long, value_name = "QUEUE")]
    pub queue: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SagaCommand {
    /// Orchestrate: take starts, replies and time-outs from orchestrator.queue
    Run(SagaRunArgs),
    /// List instances: id, saga, state, step, attempt, age, reason
    Ls(SagaLsArgs),
    /// One instance's timeline: each step, attempt, duration, output or reason
    Show {
        /// Instance id
        id: uuid::Uuid,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// What an instance waits for, and what to do about it
    Why {
        /// Instance id
        id: uuid::Uuid,
    },
    /// Compensate now: undo the steps done so far, in reverse
    Abort(SagaActArgs),
    /// Send the waited-for command (or compensation) once more
    Retry(SagaActArgs),
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
    #[arg(long, value_name = "STATE", value_parser = parse_saga_state)]
    pub state: Option<crate::model::saga::State>,
    /// Only instances started longer ago than this, e.g. 10m
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// At most this many
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct SagaActArgs {
    /// Instance ids
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<uuid::Uuid>,
    /// Say what would happen, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation when more than one instance is affected
    #[arg(long, short = 'y')]
    pub yes: bool,
}

fn parse_saga_state(s: &str) -> Result<crate::model::saga::State, String> {
    crate::model::saga::State::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a saga state: running, compensating, completed, compensated or failed"
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum HandlersCommand {
    /// Every handler: name, queue, kind, topics, target (secrets masked), limits
    Ls {
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters with their reason and attempts (they stay in the queue)
    Ls {
        #[command(flatten)]
        queue: DlqQueueArg,
        /// At most this many messages
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// One dead letter in full (it stays in the queue)
    Show {
        /// Its message id, or the outbox row id it came from
        id: String,
        #[command(flatten)]
        queue: DlqQueueArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Move dead letters back to the work queue, attempts reset
    #[command(group(clap::ArgGroup::new("select").args(["ids", "all"]).required(true)))]
    Replay {
        /// Message ids (or outbox row ids) to move
        ids: Vec<String>,
        /// Move every dead letter
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        queue: DlqQueueArg,
        #[command(flatten)]
        change: MoveArgs,
    },
    /// Delete chosen dead letters for good
    Drop {
        /// Message ids (or outbox row ids) to delete
        #[arg(required = true)]
        ids: Vec<String>,
        #[command(flatten)]
        queue: DlqQueueArg,
        #[command(flatten)]
        change: MoveArgs,
    },
    /// Delete every dead letter
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// A backlog of --events rows relayed to RabbitMQ, next to raw confirmed publishing
    Drain,
    /// --rate events per second for --duration through relay and consumer: latency, exactly once
    E2e,
    /// POST /uploads from --concurrency clients for --duration, next to the same SQL done directly
    Api,
    /// --events messages consumed (history + handler), next to bare acks and single-row transactions
    Consume,
    /// --events three-step sagas (default 2000) through relay, consume and saga run, next to
    /// seven times as many plain messages
    Saga,
    /// outbox replay, outbox requeue and dlq replay --all of --events rows and messages (default
    /// 100000), next to the same change in one statement and raw confirmed publishing
    Ops,
    /// `relay --once` with nothing to do and `relay` to its first publish, --events times
    /// (default 10), next to `outboxctl --version`
    Start,
    /// --events rows (default 10000000) through insert → relay → purge: claim time per batch
    /// and outbox size per tenth of the run, CPU seconds per 100k events
    Soak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchHandler {
    /// The upload inspection, next to the database's single-row transactions
    Builtin,
    /// An INSERT per message, next to the database's single-row transactions
    Sql,
    /// A POST per message, next to raw POSTs to the same receiver
    Http,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Events to relay (drain, default 100000; soak, default 10000000), consume (consume,
    /// default 20000), sagas (saga, default 2000), rows and messages to change (ops, default
    /// 100000) or starts (start, default 10)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub events: Option<u64>,
    /// Events per second (e2e, default 1000), or sagas started per second in saga's latency
    /// part (default: a fifth of the saga throughput it measured)
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: Option<u32>,
    /// e2e: the latency curve — each rate in turn for --duration (default 20s each), and the
    /// highest rate whose p99 stays within 50 ms
    #[arg(long, value_name = "R,R,…", value_delimiter = ',', conflicts_with = "rate", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rates: Vec<u32>,
    /// How long to produce (e2e, default 30s) or send requests (api, default 10s)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Concurrent clients (api, default 16) or consumer lanes (consume, default consumer.concurrency)
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: Option<u32>,
    /// Size of each event's JSON payload
    #[arg(long, value_name = "B", default_value_t = 256, value_parser = clap::value_parser!(u32).range(32..=1_048_576))]
    pub payload_bytes: u32,
    /// Distinct partition keys in a drain backlog (0: every row its own key)
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub keys: u64,
    /// Queue type of the benchmark's queues [default: broker.queue_type]
    #[arg(long, value_enum)]
    pub queue_type: Option<crate::config::QueueType>,
    /// consume: the handler measured — the upload example, an sql statement,
    /// or a webhook to a receiver the benchmark runs
    #[arg(long, value_enum, default_value_t = BenchHandler::Builtin)]
    pub handler: BenchHandler,
    /// consume --handler http: how long the benchmark's receiver takes per
    /// request (a webhook does some work; 0s measures the pipeline's own cost)
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "5ms")]
    pub receiver_delay: Duration,
    /// soak: purge without the VACUUM `outbox purge` runs after deleting (autovacuum only)
    #[arg(long)]
    pub no_vacuum: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Events to push through the pipeline
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub events: u64,
    /// SIGKILLs, taking turns over the relayers and consumers, each restarted at once
    #[arg(long, value_name = "K", default_value_t = 20)]
    pub kills: u32,
    /// Connection faults, taking turns over the processes and kinds: reset, a 2 s stall, a 1 s
    /// refusal, of the database and of the broker connection
    #[arg(long, value_name = "C", default_value_t = 10)]
    pub cuts: u32,
    /// Events committed per second while the faults land
    #[arg(long, value_name = "R", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: u32,
    /// Distinct partition keys
    #[arg(long, value_name = "K", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub keys: u32,
    /// Relayer processes
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub relays: u32,
    /// Consumer processes
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub consumers: u32,
    /// Queue type of the run's queues [default: broker.queue_type]
    #[arg(long, value_enum)]
    pub queue_type: Option<crate::config::QueueType>,
    /// Seed of the fault schedule (printed with the report), to run the same campaign again
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write a duration like 5s, 250ms or 2m)"))
}

/// Build the clap command (for parsing, help, completions and man pages).
pub fn command() -> clap::Command {
    settings::annotate(Cli::command())
}

impl Cli {
    /// The settings given as flags: the top layer of the configuration, and
    /// how each flag is written (for messages).
    pub fn settings(&self) -> (toml::Table, BTreeMap<String, String>) {
        let mut layer = settings::layer(&self.global.settings);
        let subcommand = match &self.command {
            Command::Relay(a) => settings::layer(&a.settings),
            Command::Consume(a) => settings::layer(&a.settings),
            Command::Serve(a) => settings::layer(&a.settings),
            Command::Up(a) => settings::layer(&a.settings),
            Command::Saga(SagaCommand::Run(a)) => settings::layer(&a.settings),
            _ => toml::Table::new(),
        };
        settings::merge(&mut layer, subcommand);
        (layer, settings::flag_names(&command()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        let m = command().try_get_matches_from(args).unwrap();
        <Cli as clap::FromArgMatches>::from_arg_matches(&m).unwrap()
    }

    #[test]
    fn setting_flags_become_the_top_layer() {
        let cli = parse(&[
            "outboxctl",
            "--broker-url",
            "amqp://h/%2f",
            "relay",
            "--interval",
            "250ms",
            "--batch-size",
            "7",
            "--no-topology",
        ]);
        let (layer, names) = cli.settings();
        let expected: toml::Table = toml::toml! {
            [broker]
            url = "amqp://h/%2f"
            [relay]
            interval = "250ms"
            batch_size = 7
            apply_topology = false
        };
        assert_eq!(
            layer
                .into_iter()
                .filter(|(_, v)| v.as_table().is_some_and(|t| !t.is_empty()))
                .collect::<toml::Table>(),
            expected
        );
        assert_eq!(names["relay.apply_topology"], "--no-topology");
        assert_eq!(names["relay.batch_size"], "--batch-size");
    }

    #[test]
    fn every_setting_flag_names_a_real_setting_and_reads_no_environment() {
        let known: Vec<String> = crate::config::settings().iter().map(|s| s.path()).collect();
        fn walk(cmd: &clap::Command, known: &[String]) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id.contains('.') {
                    assert!(
                        known.iter().any(|k| k == id),
                        "--{:?} sets unknown {id}",
                        arg.get_long()
                    );
                    assert!(
                        arg.get_env().is_none(),
                        "{id}: the configuration reads OUTBOX_*, not clap"
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, known);
            }
        }
        walk(&command(), &known);
    }
}
