//! `outboxctl bench`: each stage of the pipeline measured next to the limit
//! of the servers underneath it, in the same run.
//!
//! A run works in a database of its own (`outbox_bench_<id>`, created and
//! dropped on the configured server) and exchange and queues of its own
//! (`bench-<id>.*`), and runs the relayer, consumer and API as child
//! processes of this very binary, so their peak memory is their own. Figures
//! are printed as a table or JSON; targets are reported, never enforced, but
//! a run whose counts do not add up (an event lost or doubled) exits 1.

mod api;
mod consume;
mod drain;
mod e2e;
mod ops;
mod saga;
mod soak;
mod start;
pub mod verify;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use sqlx::PgPool;

use crate::broker::{Broker, Topology, management, topology};
use crate::cli::{BenchArgs, Output, Scenario};
use crate::config::{Config, HandlerConfig, QueueConfig, SecretUrl};
use crate::ops::Outcome;
use crate::output;
use crate::store::{self, bench as sql};

/// The topic benchmark events travel under.
const TOPIC: &str = "bench.event";

pub async fn run(base: &Config, args: &BenchArgs) -> anyhow::Result<Outcome> {
    let mut lab = Lab::create(base, "bench", args.queue_type, |config, prefix| {
        if args.scenario == Scenario::Saga {
            saga::prepare(config, prefix);
        }
    })
    .await?;
    let result = match args.scenario {
        Scenario::Drain => drain::run(&lab, args).await,
        Scenario::E2e => e2e::run(&mut lab, args).await,
        Scenario::Api => api::run(&lab, args).await,
        Scenario::Consume => consume::run(&mut lab, args).await,
        Scenario::Saga => saga::run(&lab, args).await,
        Scenario::Ops => ops::run(&lab, args).await,
        Scenario::Start => start::run(&lab, args).await,
        Scenario::Soak => soak::run(&lab, args).await,
    };
    lab.cleanup().await;
    let mut report = result?;
    report.machine = machine(base).await;
    report.print(args.output.output)?;
    if report.problems.is_empty() {
        Ok(Outcome::Success)
    } else {
        for p in &report.problems {
            eprintln!("outboxctl: {p}");
        }
        Ok(Outcome::CheckFailed)
    }
}

/// What a run found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub at: String,
    pub machine: BTreeMap<&'static str, String>,
    pub settings: BTreeMap<&'static str, String>,
    /// Name → value, in the order measured; units are in the names.
    pub figures: indexmap::IndexMap<String, f64>,
    /// Targets and whether they were met.
    pub targets: Vec<Target>,
    /// Counts that do not add up (lost or doubled events, failed requests).
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub what: String,
    pub met: bool,
}

impl Report {
    fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            ..Self::default()
        }
    }

    fn setting(&mut self, name: &'static str, value: impl ToString) {
        self.settings.insert(name, value.to_string());
    }

    fn figure(&mut self, name: impl Into<String>, value: f64) {
        self.figures.insert(name.into(), value);
    }

    fn target(&mut self, what: impl Into<String>, met: bool) {
        self.targets.push(Target {
            what: what.into(),
            met,
        });
    }

    fn problem(&mut self, what: impl Into<String>) {
        self.problems.push(what.into());
    }

    fn print(&self, format: Output) -> anyhow::Result<()> {
        if format == Output::Json {
            output::json_line(self)?;
            return Ok(());
        }
        output::line(format!("outboxctl bench {} — {}", self.scenario, self.at))?;
        let mut t = output::table(&["", ""]);
        for (k, v) in self.machine.iter().chain(&self.settings) {
            t.add_row(vec![k.to_string(), v.clone()]);
        }
        output::print_table(&t)?;
        output::line("")?;
        let mut f = output::table(&["figure", "value"]);
        for (k, v) in &self.figures {
            let shown = if v.fract() == 0.0 || v.abs() >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            };
            f.add_row(vec![k.to_string(), shown]);
        }
        output::print_table(&f)?;
        if !self.targets.is_empty() {
            output::line("")?;
            for t in &self.targets {
                output::line(format!(
                    "{} {}",
                    if t.met { "met   " } else { "missed" },
                    t.what
                ))?;
            }
        }
        Ok(())
    }
}

async fn machine(base: &Config) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    m.insert(
        "cores",
        std::thread::available_parallelism().map_or("?".into(), |n| n.to_string()),
    );
    if let Ok(pool) = store::connect(&base.database, "outboxctl bench", &[]).await {
        if let Ok(v) = store::server_version(&pool).await {
            m.insert("postgresql", v);
        }
        pool.close().await;
    }
    m.insert(
        "rabbitmq",
        management::server_version(&base.broker)
            .await
            .unwrap_or_else(|| "unknown (no management API)".into()),
    );
    m
}

/// A database, exchange and queues of the run's own, and the configuration
/// (in a private file) that points the child processes at them.
pub struct Lab {
    pub config: Config,
    pub pool: PgPool,
    pub broker: Broker,
    admin: PgPool,
    db_name: String,
    dir: PathBuf,
    config_file: PathBuf,
    /// Leave `dir` (the processes' logs) behind at cleanup.
    keep_dir: bool,
}

impl Lab {
    /// A database `outbox_<purpose>_<id>` and exchange and queues
    /// `<purpose>-<id>.*` of the run's own; `prepare` adapts the configuration
    /// (given the prefix) before it is written and the topology declared.
    async fn create(
        base: &Config,
        purpose: &'static str,
        queue_type: Option<crate::config::QueueType>,
        prepare: impl FnOnce(&mut Config, &str),
    ) -> anyhow::Result<Self> {
        let id = format!("{:08x}", rand::random::<u32>());
        let db_name = format!("outbox_{purpose}_{id}");
        let app = format!("outboxctl {purpose}");
        let admin = store::connect(&base.database, &app, &[]).await?;
        sql::create_database(&admin, &db_name).await?;

        let mut config = base.clone();
        let mut url = base.database.url.parsed().context("database.url")?;
        url.set_path(&db_name);
        config.database.url = SecretUrl::new(url.to_string());
        config.database.max_connections = config.database.max_connections.max(40);
        let prefix = format!("{purpose}-{id}");
        config.broker.exchange = format!("{prefix}.x");
        config.broker.dead_letter_exchange = format!("{prefix}.dlx");
        if let Some(t) = queue_type {
            config.broker.queue_type = t;
        }
        config.broker.queues = vec![QueueConfig {
            name: format!("{prefix}.work"),
            bindings: vec!["#".into()],
            adopt: false,
        }];
        config.consumer.queue = None;
        config.consumer.name = None;
        // What the scenario needs; a consumer without handlers records each
        // message and acknowledges it.
        config.handlers = Vec::new();
        config.sagas = Vec::new();
        config.metrics.listen = None;
        config.log.level = "warn".into();
        prepare(&mut config, &prefix);

        let dir = std::env::temp_dir().join(&prefix);
        std::fs::create_dir_all(&dir)?;
        let config_file = dir.join("outbox.toml");
        write_private(&config_file, &config)?;

        let lab = async {
            let pool = store::connect(&config.database, &app, &[("jit", "off".into())]).await?;
            store::migrate(&pool).await?;
            let broker = Broker::connect(&config.broker, &app).await?;
            broker
                .apply_topology(&Topology::from_config(&config))
                .await?;
            anyhow::Ok((pool, broker))
        }
        .await;
        match lab {
            Ok((pool, broker)) => Ok(Self {
                config,
                pool,
                broker,
                admin,
                db_name,
                dir,
                config_file,
                keep_dir: false,
            }),
            Err(e) => {
                let _ = sql::drop_database(&admin, &db_name).await;
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    pub fn queue(&self) -> &str {
        &self.config.broker.queues[0].name
    }

    /// Give the child processes these handlers.
    fn set_handlers(&mut self, handlers: Vec<HandlerConfig>) -> anyhow::Result<()> {
        self.config.handlers = handlers;
        write_private(&self.config_file, &self.config)
    }

    /// A variant of the lab's configuration as a private file named `name`.
    fn write_config(&self, name: &str, config: &Config) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(name);
        write_private(&path, config)?;
        Ok(path)
    }

    /// Start `outboxctl <args>` against the lab, logging to a file of its own.
    fn start(&self, name: &str, args: &[&str]) -> anyhow::Result<Process> {
        self.start_with(name, &self.config_file, args)
    }

    /// Start `outboxctl --config <config_file> <args>`, logging to `<name>.log`
    /// (appended to, so a restarted process keeps its history).
    fn start_with(
        &self,
        name: &str,
        config_file: &std::path::Path,
        args: &[&str],
    ) -> anyhow::Result<Process> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))?;
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        for (k, _) in std::env::vars() {
            if k.starts_with("OUTBOX_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .arg("--config")
            .arg(config_file)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting outboxctl {}", args.join(" ")))?;
        Ok(Process::watch(
            name,
            child,
            self.dir.join(format!("{name}.log")),
        ))
    }

    async fn cleanup(self) {
        for queue in &self.config.broker.queues {
            let q = &queue.name;
            for q in [
                q.clone(),
                topology::retry_queue(q),
                topology::dead_letter_queue(q),
            ] {
                let _ = self.broker.delete_queue(&q).await;
            }
        }
        for x in [
            &self.config.broker.exchange,
            &self.config.broker.dead_letter_exchange,
        ] {
            let _ = self.broker.delete_exchange(x).await;
        }
        self.broker.close().await;
        self.pool.close().await;
        let _ = sql::drop_database(&self.admin, &self.db_name).await;
        self.admin.close().await;
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Keep the directory with the processes' logs after cleanup.
    fn keep_dir(&mut self) {
        self.keep_dir = true;
    }
}

/// The configuration as TOML with the real URLs, readable by us only.
fn write_private(path: &std::path::Path, config: &Config) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut table = toml::Table::try_from(config)?;
    table["database"]["url"] = toml::Value::String(config.database.url.expose().into());
    table["broker"]["url"] = toml::Value::String(config.broker.url.expose().into());
    if let Some(m) = &config.broker.management_url {
        table["broker"]["management_url"] = toml::Value::String(m.expose().into());
    }
    if let Some(t) = &config.api.token {
        table["api"]["token"] = toml::Value::String(t.expose().into());
    }
    if let Some(toml::Value::Array(handlers)) = table.get_mut("handlers") {
        for (h, given) in handlers.iter_mut().zip(&config.handlers) {
            if let Some(url) = &given.url {
                h["url"] = toml::Value::String(url.expose().into());
            }
            if let Some(secret) = &given.secret {
                h["secret"] = toml::Value::String(secret.expose().into());
            }
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(toml::to_string(&table)?.as_bytes())?;
    Ok(())
}

/// A child process and the peak of its resident memory (VmHWM), sampled.
struct Process {
    name: String,
    child: tokio::process::Child,
    peak_kib: Arc<AtomicU64>,
    log: PathBuf,
}

impl Process {
    fn watch(name: &str, child: tokio::process::Child, log: PathBuf) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        if let Some(pid) = child.id() {
            let peak = peak_kib.clone();
            tokio::spawn(async move {
                let path = format!("/proc/{pid}/status");
                while let Ok(status) = tokio::fs::read_to_string(&path).await {
                    let hwm = status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                    if let Some(kib) = hwm {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
        Self {
            name: name.into(),
            child,
            peak_kib,
            log,
        }
    }

    /// CPU seconds (user + system) the process has used so far; 0 when gone.
    fn cpu_seconds(&self) -> f64 {
        self.child
            .id()
            .and_then(ProcStat::read)
            .map_or(0.0, |p| p.own_seconds)
    }

    fn peak_mib(&self) -> f64 {
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }

    /// Wait for the process to exit by itself; an error carries its log.
    async fn wait(&mut self) -> anyhow::Result<()> {
        let status = self.child.wait().await?;
        self.check(status)
    }

    /// SIGKILL, then wait: no chance to finish anything.
    async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, then wait (it finishes what it has in hand).
    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .with_context(|| format!("{} did not stop within 60s", self.name))??;
        self.check(status)
    }

    fn check(&self, status: std::process::ExitStatus) -> anyhow::Result<()> {
        if status.success() {
            return Ok(());
        }
        anyhow::bail!(
            "the benchmark's {} exited with {status}: {}",
            self.name,
            self.tail()
        )
    }

    /// The last lines of its log, on one line.
    fn tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    /// Fail if the process died early.
    fn alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => self
                .check(status)
                .and_then(|()| anyhow::bail!("the benchmark's {} exited early", self.name)),
        }
    }
}

/// Clock ticks per second in `/proc` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// What `/proc/<pid>/stat` says of a process's CPU use.
struct ProcStat {
    /// The command name (`comm`).
    comm: String,
    ppid: u32,
    /// User + system seconds of the process itself.
    own_seconds: f64,
    /// User + system seconds of the children it has reaped.
    reaped_seconds: f64,
}

impl ProcStat {
    fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command may hold spaces and parentheses: fields follow the last ") ".
        let (head, rest) = stat.rsplit_once(") ")?;
        let comm = head.split_once(" (").map_or("", |(_, c)| c).to_string();
        let f: Vec<&str> = rest.split(' ').collect();
        // From field 3 (state) on: ppid is field 4, utime, stime, cutime,
        // cstime are fields 14-17.
        let n = |i: usize| f.get(i - 3).and_then(|x| x.parse::<f64>().ok());
        Some(Self {
            comm,
            ppid: n(4)? as u32,
            own_seconds: (n(14)? + n(15)?) / USER_HZ,
            reaped_seconds: (n(16)? + n(17)?) / USER_HZ,
        })
    }
}

/// Whether this process is the RabbitMQ node the benchmarks use (the one on
/// 5672: `beam.smp`, not a node of the test cluster `outbox-c*`).
fn is_the_broker(pid: u32, p: &ProcStat) -> bool {
    p.comm == "beam.smp"
        && !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .contains("outbox-c")
}

/// CPU seconds of the RabbitMQ node the benchmarks use, so far.
fn broker_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()))
        .filter_map(|pid| ProcStat::read(pid).map(|p| (pid, p)))
        .filter(|(pid, p)| is_the_broker(*pid, p))
        .map(|(_, p)| p.own_seconds)
        .sum()
}

/// Busy and total CPU seconds of the whole machine so far (`/proc/stat`;
/// busy is everything but idle and I/O wait).
fn machine_cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0.0, 0.0);
    };
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    ((total - idle) / USER_HZ, total / USER_HZ)
}

/// Percentile `p` (0–100) of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} ({{per_sec}})"
        ))
        .expect("a valid template"),
    );
    bar
}

/// A JSON payload of `bytes` bytes.
fn payload(n: u64, bytes: usize) -> serde_json::Value {
    let pad = bytes
        .saturating_sub(format!(r#"{{"n":{n},"pad":""}}"#).len())
        .max(1);
    serde_json::json!({ "n": n, "pad": "x".repeat(pad) })
}

/// The statement of the effect handler: one row per handling in
/// `bench_effects`, a table without a key.
pub(crate) const EFFECT_STATEMENT: &str =
    "INSERT INTO bench_effects (message_id, n) VALUES ($3, ($1->>'n')::int)";

/// An `sql` handler of the lab's queue, for every topic, writing
/// [`EFFECT_STATEMENT`].
fn effect_handler(lab: &Lab) -> HandlerConfig {
    HandlerConfig {
        queue: Some(lab.queue().to_string()),
        statement: Some(EFFECT_STATEMENT.into()),
        ..HandlerConfig::new("effect", crate::config::HandlerKind::Sql, &["#"])
    }
}
