//! What a run found: its settings, figures beside their baselines, targets
//! met or missed, problems — printed as a table or JSON — and the machine it
//! ran on.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::broker::management;
use crate::cli::Output;
use crate::config::Config;
use crate::output;
use crate::store;

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
    pub(super) fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
            ..Self::default()
        }
    }

    pub(super) fn setting(&mut self, name: &'static str, value: impl ToString) {
        self.settings.insert(name, value.to_string());
    }

    pub(super) fn figure(&mut self, name: impl Into<String>, value: f64) {
        self.figures.insert(name.into(), value);
    }

    pub(super) fn target(&mut self, what: impl Into<String>, met: bool) {
        self.targets.push(Target {
            what: what.into(),
            met,
        });
    }

    pub(super) fn problem(&mut self, what: impl Into<String>) {
        self.problems.push(what.into());
    }

    pub(super) fn print(&self, format: Output) -> anyhow::Result<()> {
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

pub(super) async fn machine(base: &Config) -> BTreeMap<&'static str, String> {
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
