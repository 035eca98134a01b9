//! `outboxctl handlers ls`: what the consumer does with each topic, as the
//! configuration declares it — secrets masked.

use serde::Serialize;

use super::Outcome;
use crate::cli::{HandlersCommand, Output};
use crate::config::{Config, HandlerConfig, HandlerKind};
use crate::output;

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
    /// `http`: whether requests carry an `Outbox-Signature`.
    pub signed: bool,
    /// `http`, `exec`: the time-out and attempts in flight at once.
    pub timeout_seconds: Option<f64>,
    pub concurrency: Option<u32>,
}

pub fn command(config: &Config, cmd: HandlersCommand) -> anyhow::Result<Outcome> {
    let HandlersCommand::Ls { output } = cmd;
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
            let mut t = output::table(&["name", "queue", "kind", "topics", "target", "limits"]);
            let room = output::room(70);
            for l in &lines {
                let limits = match (l.timeout_seconds, l.concurrency) {
                    (Some(s), Some(c)) => format!("{s}s × {c}"),
                    _ => "-".into(),
                };
                let mut target = output::cut(&l.target, room);
                if l.signed {
                    target.push_str(" (signed)");
                }
                t.add_row(vec![
                    l.name.clone(),
                    l.queue.clone(),
                    l.kind.to_string(),
                    l.topics.join(", "),
                    target,
                    limits,
                ]);
            }
            output::print_table(&t)?;
        }
    }
    Ok(Outcome::Success)
}

fn line(config: &Config, h: &HandlerConfig) -> HandlerLine {
    let target = match h.kind {
        HandlerKind::Sql => h.statement.clone().unwrap_or_default(),
        HandlerKind::Http => h.url.as_ref().map(|u| u.masked()).unwrap_or_default(),
        HandlerKind::Exec => h.command.join(" "),
        HandlerKind::Builtin => h.builtin.clone().unwrap_or_default(),
    };
    let outside = matches!(h.kind, HandlerKind::Http | HandlerKind::Exec);
    HandlerLine {
        name: h.name.clone(),
        queue: config.handler_queue(h).to_string(),
        kind: h.kind.as_str(),
        topics: h.topics.clone(),
        target,
        signed: h.secret.is_some(),
        timeout_seconds: outside.then_some(h.timeout.as_secs_f64()),
        concurrency: outside.then(|| h.concurrency.unwrap_or(config.consumer.concurrency)),
    }
}
