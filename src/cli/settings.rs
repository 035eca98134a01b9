//! Flags that set configuration settings. Each group serializes straight
//! into the top layer of the configuration (`{section: {key: value}}`), and
//! each flag's clap id is its setting's path (`relay.batch_size`), so the
//! value, its name in messages and its documentation all come from one
//! declaration. clap reads no `OUTBOX_*` variable for them: the
//! configuration is the one reader of the environment, so a bad value gives
//! the same message under every subcommand.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use serde::{Serialize, Serializer};

use super::parse::parse_duration;
use crate::config::LogFormat;

/// The heading global options are listed under in every `--help`.
pub const GLOBAL: &str = "Global options";

#[derive(Debug, Default, Args, Serialize)]
pub struct GlobalSettings {
    #[command(flatten)]
    pub database: DatabaseFlags,
    #[command(flatten)]
    pub broker: BrokerFlags,
    #[command(flatten)]
    pub log: LogFlags,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct DatabaseFlags {
    /// PostgreSQL URL
    #[arg(id = "database.url", long = "database-url", global = true, hide_short_help = true, value_name = "URL", help_heading = GLOBAL)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct BrokerFlags {
    /// RabbitMQ URL
    #[arg(id = "broker.url", long = "broker-url", global = true, hide_short_help = true, value_name = "URL", help_heading = GLOBAL)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct LogFlags {
    /// Log filter: error, warn, info, debug, trace or e.g. outboxctl=debug
    #[arg(id = "log.level", long = "log-level", global = true, hide_short_help = true, value_name = "FILTER", help_heading = GLOBAL)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Log line format on stderr
    #[arg(id = "log.format", long = "log-format", global = true, hide_short_help = true, value_name = "FORMAT", help_heading = GLOBAL)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<LogFormat>,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct RelayFlags {
    /// Poll this often even without notifications
    #[arg(id = "relay.interval", long = "interval", value_parser = parse_duration, value_name = "DURATION")]
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Do not LISTEN for notifications, only poll (for PgBouncer transaction pooling)
    #[arg(id = "relay.poll_only", long = "poll-only")]
    #[serde(skip_serializing_if = "is_false")]
    pub poll_only: bool,
    /// Rows claimed per batch
    #[arg(id = "relay.batch_size", long = "batch-size", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// Batches in flight at once, each on its own connection and channel
    #[arg(id = "relay.workers", long = "workers", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Attempts before a row is dead
    #[arg(id = "relay.max_attempts", long = "max-attempts", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Do not declare the RabbitMQ topology on start
    #[arg(id = "relay.apply_topology", long = "no-topology")]
    #[serde(
        rename = "apply_topology",
        serialize_with = "negated",
        skip_serializing_if = "is_false"
    )]
    pub no_topology: bool,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct ConsumerFlags {
    /// Queue to consume [default: the first of broker.queues]
    #[arg(id = "consumer.queue", long = "queue", value_name = "QUEUE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Deliveries in flight ahead of acknowledgements
    #[arg(id = "consumer.prefetch", long = "prefetch", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<u16>,
    /// Messages processed at once
    #[arg(id = "consumer.concurrency", long = "concurrency", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Consumer name in consumed_messages [default: the queue name]
    #[arg(id = "consumer.name", long = "name", value_name = "CONSUMER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Do not declare the RabbitMQ topology on start
    #[arg(id = "consumer.apply_topology", long = "no-topology")]
    #[serde(
        rename = "apply_topology",
        serialize_with = "negated",
        skip_serializing_if = "is_false"
    )]
    pub no_topology: bool,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct ApiFlags {
    /// Address the API listens on
    #[arg(id = "api.listen", long = "listen", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct MetricsFlags {
    /// Serve Prometheus metrics at http://ADDR/metrics
    #[arg(id = "metrics.listen", long = "metrics-listen", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct RelaySettings {
    #[command(flatten)]
    pub relay: RelayFlags,
    #[command(flatten)]
    pub metrics: MetricsFlags,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct ConsumeSettings {
    #[command(flatten)]
    pub consumer: ConsumerFlags,
    #[command(flatten)]
    pub metrics: MetricsFlags,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct SagaRunSettings {
    #[command(flatten)]
    pub orchestrator: OrchestratorFlags,
    #[command(flatten)]
    pub metrics: MetricsFlags,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct OrchestratorFlags {
    /// Queue the orchestrator takes starts, replies and time-outs from
    #[arg(id = "orchestrator.queue", long = "queue", value_name = "QUEUE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct ServeSettings {
    #[command(flatten)]
    pub api: ApiFlags,
}

#[derive(Debug, Default, Args, Serialize)]
pub struct UpSettings {
    #[command(flatten)]
    pub api: ApiFlags,
    #[command(flatten)]
    pub metrics: MetricsFlags,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `--no-topology` given means `apply_topology = false`.
fn negated<S: Serializer>(given: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(!*given)
}

/// A group of setting flags as a configuration layer.
pub fn layer(flags: &impl Serialize) -> toml::Table {
    toml::Table::try_from(flags).expect("setting flags serialize to a table")
}

/// Add `other`'s settings to `layer`.
pub fn merge(layer: &mut toml::Table, other: toml::Table) {
    for (section, value) in other {
        if let (Some(toml::Value::Table(into)), toml::Value::Table(from)) =
            (layer.get_mut(&section), &value)
        {
            into.extend(from.clone());
            continue;
        }
        layer.insert(section, value);
    }
}

/// Every setting flag of `cmd` and its subcommands: path → `--flag`.
pub fn flag_names(cmd: &clap::Command) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    collect(cmd, &mut out);
    out
}

fn collect(cmd: &clap::Command, out: &mut BTreeMap<String, String>) {
    for arg in cmd.get_arguments() {
        if let (true, Some(long)) = (is_setting(arg), arg.get_long()) {
            out.insert(arg.get_id().to_string(), format!("--{long}"));
        }
    }
    for sub in cmd.get_subcommands() {
        collect(sub, out);
    }
}

fn is_setting(arg: &clap::Arg) -> bool {
    arg.get_id().as_str().contains('.')
}

/// Say in each setting flag's help which setting it sets and which variable
/// sets the same from the environment.
pub fn annotate(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|arg| {
        if !is_setting(&arg) {
            return arg;
        }
        let path = arg.get_id().to_string();
        let (section, key) = path.split_once('.').expect("a setting path");
        let note = format!(
            "[setting: {path}] [env: {}]",
            crate::config::env_name(section, key)
        );
        let help = arg
            .get_help()
            .map_or_else(|| note.clone(), |h| format!("{h} {note}"));
        arg.help(help)
    })
    .mut_subcommands(annotate)
}
