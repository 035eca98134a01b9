//! `outboxctl bench` and `outboxctl verify`: what to measure or prove, and
//! how hard.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::args::OutputArgs;
use super::parse::parse_duration;

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
