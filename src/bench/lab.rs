//! A run's laboratory: a database, exchange and queues of its own, the
//! configuration (in a private file) that points child processes at them,
//! the child processes themselves, and the small helpers every scenario
//! uses (payloads, percentiles, progress bars, the effect handler).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;

use super::cpu::ProcStat;
use crate::broker::{Broker, Topology, topology};
use crate::config::{Config, HandlerConfig, QueueConfig, SecretUrl};
use crate::store::{self, bench as sql};

/// The topic benchmark events travel under.
pub(super) const TOPIC: &str = "bench.event";

/// A database, exchange and queues of the run's own, and the configuration
/// (in a private file) that points the child processes at them.
pub struct Lab {
    pub config: Config,
    pub pool: PgPool,
    pub broker: Broker,
    pub(super) admin: PgPool,
    pub(super) db_name: String,
    pub(super) dir: PathBuf,
    pub(super) config_file: PathBuf,
    /// Leave `dir` (the processes' logs) behind at cleanup.
    pub(super) keep_dir: bool,
}

impl Lab {
    /// A database `outbox_<purpose>_<id>` and exchange and queues
    /// `<purpose>-<id>.*` of the run's own; `prepare` adapts the configuration
    /// (given the prefix) before it is written and the topology declared.
    pub(super) async fn create(
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
    pub(super) fn set_handlers(&mut self, handlers: Vec<HandlerConfig>) -> anyhow::Result<()> {
        self.config.handlers = handlers;
        write_private(&self.config_file, &self.config)
    }

    /// A variant of the lab's configuration as a private file named `name`.
    pub(super) fn write_config(&self, name: &str, config: &Config) -> anyhow::Result<PathBuf> {
        let path = self.dir.join(name);
        write_private(&path, config)?;
        Ok(path)
    }

    /// Start `outboxctl <args>` against the lab, logging to a file of its own.
    pub(super) fn start(&self, name: &str, args: &[&str]) -> anyhow::Result<Process> {
        self.start_with(name, &self.config_file, args)
    }

    /// Start `outboxctl --config <config_file> <args>`, logging to `<name>.log`
    /// (appended to, so a restarted process keeps its history).
    pub(super) fn start_with(
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

    pub(super) async fn cleanup(self) {
        for queue in &self.config.broker.queues {
            let q = &queue.name;
            let tiers = self.config.consumer.retry_delays().tiers();
            let mut all = topology::retry_queues(q, &tiers);
            all.extend([q.clone(), topology::dead_letter_queue(q)]);
            for q in all {
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
    pub(super) fn keep_dir(&mut self) {
        self.keep_dir = true;
    }
}

/// The configuration as TOML with the real URLs, readable by us only.
pub(super) fn write_private(path: &std::path::Path, config: &Config) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let table = config.to_toml_with_secrets();
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
pub(super) struct Process {
    pub(super) name: String,
    pub(super) child: tokio::process::Child,
    pub(super) peak_kib: Arc<AtomicU64>,
    pub(super) log: PathBuf,
}

impl Process {
    pub(super) fn watch(name: &str, child: tokio::process::Child, log: PathBuf) -> Self {
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
    pub(super) fn cpu_seconds(&self) -> f64 {
        self.child
            .id()
            .and_then(ProcStat::read)
            .map_or(0.0, |p| p.own_seconds)
    }

    pub(super) fn peak_mib(&self) -> f64 {
        self.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }

    /// Wait for the process to exit by itself; an error carries its log.
    pub(super) async fn wait(&mut self) -> anyhow::Result<()> {
        let status = self.child.wait().await?;
        self.check(status)
    }

    /// SIGKILL, then wait: no chance to finish anything.
    pub(super) async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, then wait (it finishes what it has in hand).
    pub(super) async fn stop(&mut self) -> anyhow::Result<()> {
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

    pub(super) fn check(&self, status: std::process::ExitStatus) -> anyhow::Result<()> {
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
    pub(super) fn tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    /// Fail if the process died early.
    pub(super) fn alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => self
                .check(status)
                .and_then(|()| anyhow::bail!("the benchmark's {} exited early", self.name)),
        }
    }
}

/// Percentile `p` (0–100) of sorted values.
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub(super) fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
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
pub(super) fn payload(n: u64, bytes: usize) -> serde_json::Value {
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
pub(super) fn effect_handler(lab: &Lab) -> HandlerConfig {
    HandlerConfig {
        queue: Some(lab.queue().to_string()),
        ..HandlerConfig::sql("effect", &["#"], EFFECT_STATEMENT)
    }
}
