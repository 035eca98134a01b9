//! `outboxctl handlers ls`: what the consumer does with each topic, as the
//! configuration declares it — secrets masked.

use serde::Serialize;

use super::Outcome;
use crate::cli::{HandlersCommand, Output};
use crate::config::{Config, HandlerConfig, Signature};
use crate::output::{self, Column};

/// One handler, as `--output json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct HandlerLine {
    pub name: String,
    pub queue: String,
    pub kind: &'static str,
    pub topics: Vec<String>,
    /// The statement, the URL (password masked), the command line, or the
    /// built-in's name.
    pub target: String,
    /// `http`: whether requests are signed, and by which scheme
    /// (`standard-webhooks` or `stripe`).
    pub signed: bool,
    pub signature: Option<&'static str>,
    /// `http`, `exec`: the time-out and attempts in flight at once.
    pub timeout_seconds: Option<f64>,
    pub concurrency: Option<u32>,
}

pub fn command(config: &Config, cmd: HandlersCommand) -> anyhow::Result<Outcome> {
    let HandlersCommand::Ls { wide, output } = cmd;
    let lines: Vec<HandlerLine> = config.handlers.iter().map(|h| line(config, h)).collect();
    match output.output {
        Output::Json => {
            for l in &lines {
                output::json_line(l)?;
            }
        }
        Output::Table => {
            if lines.is_empty() {
                eprintln!(
                    "outboxctl: no handlers are configured: the consumer records every message \
                     and does nothing else — declare [[handlers]] in the config file"
                );
                return Ok(Outcome::Success);
            }
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|l| {
                    let limits = match (l.timeout_seconds, l.concurrency) {
                        (Some(s), Some(c)) => format!("{s}s × {c}"),
                        _ => "-".into(),
                    };
                    let signed = l
                        .signature
                        .map_or(String::new(), |s| format!(" (signed: {s})"));
                    vec![
                        l.name.clone(),
                        l.queue.clone(),
                        l.kind.to_string(),
                        l.topics.join(", "),
                        format!("{}{signed}", l.target),
                        limits,
                    ]
                })
                .collect();
            output::fitted(
                &[
                    Column::flex("name", 8),
                    Column::flex("queue", 8),
                    Column::fixed("kind"),
                    Column::flex("topics", 8),
                    Column::flex("target", 12),
                    Column::optional("limits"),
                ],
                &rows,
                wide.wide,
                "--wide shows every column in full, -o json every field",
            )?;
        }
    }
    Ok(Outcome::Success)
}

fn line(config: &Config, h: &HandlerConfig) -> HandlerLine {
    let outside = h.spec.calls_out();
    HandlerLine {
        name: h.name.clone(),
        queue: config.handler_queue(h).to_string(),
        kind: h.spec.kind(),
        topics: h.topics.clone(),
        target: h.spec.target(),
        signed: h.spec.signature().is_some(),
        signature: h.spec.signature().map(Signature::as_str),
        timeout_seconds: outside.then_some(h.timeout.as_secs_f64()),
        concurrency: outside.then(|| h.concurrency.unwrap_or(config.consumer.concurrency)),
    }
}
