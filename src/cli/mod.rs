//! Every clap type of the `outboxctl` command line: the command tree here,
//! the flags that set configuration settings in `settings`. Nothing here
//! does I/O.

mod args;
mod bench;
mod ops;
mod outbox;
mod parse;
pub mod settings;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub use args::{ChangeArgs, ForceArg, GroupBy, MoveArgs, Output, OutputArgs, RateArg, WideArg};
pub use bench::{BenchArgs, BenchHandler, Scenario, VerifyArgs};
pub use ops::{
    DlqCommand, DlqQueueArg, HandlersCommand, LagArgs, SagaActArgs, SagaCommand, SagaLsArgs,
    SagaRunArgs,
};
pub use outbox::{
    DiscardArgs, LsArgs, OutboxCommand, PurgeArgs, ReplayArgs, RequeueArgs, RetryArgs,
};
pub use parse::{parse_duration, parse_time};
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
    /// Check the servers for what will hurt the pipeline: vacuum, the xmin horizon, connection
    /// slots and time-outs on PostgreSQL; alarms, blocked connections, lossy queue limits and
    /// missing consumers on RabbitMQ — each with its evidence and fix; exit 1 when one needs
    /// action
    Doctor {
        /// A transaction, idle session or prepared transaction that has held the xmin horizon
        /// longer than this is a finding
        #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "5m")]
        long_after: Duration,
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
