//! `outboxctl dlq ls|show|replay|purge`: the dead-letter queue of a work
//! queue. Looking does not consume: messages are read without being
//! acknowledged and go back when the command ends. Replay moves chosen
//! messages back to the work queue (confirmed first, then removed here).

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use serde::Serialize;

use super::{Outcome, nothing};
use crate::broker::consume::headers;
use crate::broker::{Broker, Delivery, topology};
use crate::cli::{DlqCommand, Output};
use crate::config::Config;
use crate::output::{self, cut, when};

/// A dead letter as `dlq ls|show --output json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub message_id: Option<String>,
    pub topic: Option<String>,
    pub reason: Option<String>,
    pub attempts: Option<i64>,
    pub died_at: Option<chrono::DateTime<Utc>>,
    pub bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<(String, String)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn describe(d: &Delivery, full: bool) -> DeadLetter {
    DeadLetter {
        message_id: d.message_id().map(str::to_string),
        topic: d.message_type().map(str::to_string),
        reason: d.header_str(headers::DEATH_REASON),
        attempts: d.header_i64(headers::ATTEMPTS),
        died_at: d
            .header_i64(headers::DIED_AT_MS)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
        bytes: d.body.len(),
        headers: full.then(|| d.headers_text()),
        body: full.then(|| String::from_utf8_lossy(&d.body).into_owned()),
    }
}

fn work_queue(config: &Config, queue: Option<&str>) -> anyhow::Result<String> {
    let q = queue.unwrap_or_else(|| config.consumer_queue());
    if !config.broker.queues.iter().any(|b| b.name == q) {
        anyhow::bail!(
            "{q} is not one of broker.queues ({}) — pass one of those with --queue",
            config
                .broker
                .queues
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(q.to_string())
}

/// `outboxctl dlq …`
pub async fn command(config: &Config, cmd: DlqCommand) -> anyhow::Result<Outcome> {
    match cmd {
        DlqCommand::Ls {
            queue,
            limit,
            output,
        } => ls(config, queue.queue.as_deref(), limit, output.output).await,
        DlqCommand::Show {
            message_id,
            queue,
            output,
        } => show(config, queue.queue.as_deref(), &message_id, output.output).await,
        DlqCommand::Replay {
            message_ids,
            all,
            queue,
            dry_run,
            yes,
        } => {
            replay(
                config,
                queue.queue.as_deref(),
                &message_ids,
                all,
                dry_run,
                yes,
            )
            .await
        }
        DlqCommand::Purge { queue, yes } => purge(config, queue.queue.as_deref(), yes).await,
    }
}

pub async fn ls(
    config: &Config,
    queue: Option<&str>,
    limit: u32,
    format: Output,
) -> anyhow::Result<Outcome> {
    let dlq = topology::dead_letter_queue(&work_queue(config, queue)?);
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let browser = broker.browse(&dlq).await?;
    let mut letters = Vec::new();
    let result = async {
        while letters.len() < limit as usize {
            match browser.next().await? {
                Some(d) => letters.push(describe(&d, false)),
                None => break,
            }
        }
        anyhow::Ok(())
    }
    .await;
    browser.close().await;
    broker.close().await;
    result?;
    if letters.is_empty() {
        return nothing(&format!("{dlq} is empty"));
    }
    match format {
        Output::Json => {
            for l in &letters {
                output::json_line(l)?;
            }
        }
        Output::Table => {
            let room = output::room(90);
            let mut t = output::table(&[
                "#",
                "message id",
                "topic",
                "attempts",
                "died",
                "bytes",
                "reason",
            ]);
            for (i, l) in letters.iter().enumerate() {
                t.add_row(vec![
                    (i + 1).to_string(),
                    l.message_id.clone().unwrap_or_else(|| "-".into()),
                    l.topic.clone().unwrap_or_else(|| "-".into()),
                    l.attempts.map_or("-".into(), |a| a.to_string()),
                    l.died_at
                        .map_or("-".into(), |t| output::age(Utc::now() - t) + " ago"),
                    l.bytes.to_string(),
                    l.reason.as_deref().map_or("-".into(), |r| cut(r, room)),
                ]);
            }
            output::print_table(&t)?;
        }
    }
    Ok(Outcome::Success)
}

pub async fn show(
    config: &Config,
    queue: Option<&str>,
    message_id: &str,
    format: Output,
) -> anyhow::Result<Outcome> {
    let dlq = topology::dead_letter_queue(&work_queue(config, queue)?);
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let browser = broker.browse(&dlq).await?;
    let found = async {
        while let Some(d) = browser.next().await? {
            if d.message_id() == Some(message_id) {
                return anyhow::Ok(Some(describe(&d, true)));
            }
        }
        Ok(None)
    }
    .await;
    browser.close().await;
    broker.close().await;
    let Some(l) = found? else {
        return nothing(&format!("no message {message_id} in {dlq}"));
    };
    if format == Output::Json {
        output::json_line(&l)?;
        return Ok(Outcome::Success);
    }
    output::line(format!("message {message_id} in {dlq}"))?;
    output::line(format!("topic     {}", l.topic.as_deref().unwrap_or("-")))?;
    output::line(format!("reason    {}", l.reason.as_deref().unwrap_or("-")))?;
    output::line(format!(
        "attempts  {}",
        l.attempts.map_or("-".into(), |a| a.to_string())
    ))?;
    output::line(format!("died      {}", l.died_at.map_or("-".into(), when)))?;
    output::line("headers")?;
    for (k, v) in l.headers.unwrap_or_default() {
        output::line(format!("  {k}: {v}"))?;
    }
    output::line(format!("body ({} bytes)", l.bytes))?;
    let body = l.body.unwrap_or_default();
    let pretty = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(body);
    for line in pretty.lines() {
        output::line(format!("  {line}"))?;
    }
    Ok(Outcome::Success)
}

pub async fn replay(
    config: &Config,
    queue: Option<&str>,
    ids: &[String],
    all: bool,
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<Outcome> {
    let work = work_queue(config, queue)?;
    let dlq = topology::dead_letter_queue(&work);
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let browser = broker.browse(&dlq).await?;
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let result = async {
        let mut chosen = Vec::new();
        let mut found = HashSet::new();
        while let Some(d) = browser.next().await? {
            let id = d.message_id().map(str::to_string);
            if all || id.as_deref().is_some_and(|i| wanted.contains(i)) {
                if let Some(i) = &id {
                    found.insert(i.clone());
                }
                chosen.push(d);
            }
            if !all && found.len() == wanted.len() {
                break;
            }
        }
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|w| !found.contains(**w))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Ok(Err(format!(
                "not in {dlq}: {} — nothing moved",
                missing.join(", ")
            )));
        }
        if chosen.is_empty() {
            return Ok(Err(format!("{dlq} is empty; nothing to move")));
        }
        let n = chosen.len();
        let word = format!("{n} message{}", if n == 1 { "" } else { "s" });
        if dry_run {
            return Ok(Ok(format!("would move {word} from {dlq} back to {work}")));
        }
        if !output::confirm(&format!("move {word} from {dlq} back to {work}"), n, yes)? {
            return Ok(Err("not confirmed; nothing moved".into()));
        }
        let forwarder = broker
            .forwarder(
                &work,
                &config.broker.dead_letter_exchange,
                config.broker.confirm_timeout,
            )
            .await?;
        let mut moved = 0;
        for d in &chosen {
            // Confirmed in the work queue first, then removed from here.
            forwarder.restore(d).await?;
            d.ack().await?;
            moved += 1;
        }
        forwarder.close().await;
        anyhow::Ok(Ok(format!(
            "moved {moved} message{} from {dlq} back to {work}, attempts reset",
            if moved == 1 { "" } else { "s" }
        )))
    }
    .await;
    browser.close().await;
    broker.close().await;
    done(result?)
}

pub async fn purge(config: &Config, queue: Option<&str>, yes: bool) -> anyhow::Result<Outcome> {
    let dlq = topology::dead_letter_queue(&work_queue(config, queue)?);
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let result = async {
        let Some(stats) = broker.queue_stats(&dlq).await? else {
            return Ok(Err(format!("{dlq} does not exist")));
        };
        if stats.ready == 0 {
            return Ok(Err(format!("{dlq} is empty; nothing to purge")));
        }
        // Always ask (or want --yes): deleted dead letters cannot be replayed.
        let n = usize::try_from(stats.ready).unwrap_or(usize::MAX).max(2);
        let question = format!("delete {} dead letter(s) from {dlq} for good", stats.ready);
        if !output::confirm(&question, n, yes)? {
            return Ok(Err("not confirmed; nothing deleted".into()));
        }
        let purged = broker.purge_queue(&dlq).await?;
        anyhow::Ok(Ok(format!(
            "purged {purged} message{} from {dlq}",
            if purged == 1 { "" } else { "s" }
        )))
    }
    .await;
    broker.close().await;
    done(result?)
}

/// Print what was done (exit 0), or why nothing was (exit 1).
fn done(result: Result<String, String>) -> anyhow::Result<Outcome> {
    match result {
        Ok(message) => {
            output::line(message)?;
            Ok(Outcome::Success)
        }
        Err(message) => nothing(&message),
    }
}
