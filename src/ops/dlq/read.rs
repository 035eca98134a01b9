//! Looking at dead letters: `dlq ls` (those of every queue, or one cause a
//! line with `--by reason`) and `dlq show` (one in full). Looking does not
//! consume: what is read goes back to its queue.

use chrono::Utc;

use super::letters::{self, DeadLetter, Name, describe};
use crate::broker::Broker;
use crate::cli::Output;
use crate::config::Config;
use crate::ops::reasons::{self, Failure};
use crate::ops::{Outcome, empty, fenced};
use crate::output::{self, Column, when};

/// What `dlq ls` was asked.
pub struct Ls<'a> {
    pub queue: Option<&'a str>,
    pub limit: u32,
    pub by_reason: bool,
    pub wide: bool,
    pub format: Output,
}

pub async fn ls(config: &Config, args: Ls<'_>) -> anyhow::Result<Outcome> {
    let queues = letters::scope(config, args.queue)?;
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    // Grouping needs every letter; a listing, as many as it shows.
    let limit = (!args.by_reason).then_some(args.limit as usize);
    let opened = letters::read(&broker, &queues, limit).await;
    let opened = match opened {
        Ok(o) => o,
        Err(e) => {
            broker.close().await;
            return Err(e);
        }
    };
    let listed: Vec<DeadLetter> = opened
        .iter()
        .flat_map(|o| o.letters.iter().map(|d| describe(&o.queue, d, false)))
        .collect();
    let more: Vec<(String, u64)> = opened
        .iter()
        .map(|o| {
            (
                o.dlq.clone(),
                o.total.saturating_sub(o.letters.len() as u64),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    letters::close(opened).await;
    broker.close().await;
    let where_ = if queues.len() == 1 {
        format!("{}.dlq is empty", queues[0])
    } else {
        format!(
            "no dead letters in the {} queues' dead-letter queues",
            queues.len()
        )
    };
    if listed.is_empty() {
        return empty(args.format, &where_);
    }
    if args.by_reason {
        return groups(&listed, args.format, args.wide);
    }
    match args.format {
        Output::Json => {
            for l in &listed {
                output::json_line(l)?;
            }
        }
        Output::Table => table(&listed, args.wide)?,
    }
    if !more.is_empty() {
        let beyond: Vec<String> = more
            .iter()
            .map(|(q, n)| format!("{n} more in {q}"))
            .collect();
        eprintln!(
            "outboxctl: {} dead letters shown; {} — raise --limit",
            listed.len(),
            beyond.join(", ")
        );
    }
    Ok(Outcome::Success)
}

/// The letters as a table that fits the terminal: ids whole, the reason
/// cut to what is left.
fn table(listed: &[DeadLetter], wide: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
            vec![
                l.queue.clone(),
                l.id.clone(),
                l.topic.clone().unwrap_or_else(|| "-".into()),
                l.attempts.map_or("-".into(), |a| a.to_string()),
                l.died_at
                    .map_or("-".into(), |t| output::age(now - t) + " ago"),
                l.row_id.map_or("-".into(), |r| r.to_string()),
                l.bytes.to_string(),
                l.reason.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::fitted(
        &[
            Column::flex("queue", 8),
            Column::fixed("id"),
            Column::flex("topic", 8),
            Column::fixed("att"),
            Column::fixed("died"),
            Column::optional("row"),
            Column::optional("bytes"),
            Column::flex("reason", 12),
        ],
        &rows,
        wide,
        "--wide shows every column in full, -o json every field",
    )?;
    Ok(())
}

/// `dlq ls --by reason`: one line per cause.
fn groups(listed: &[DeadLetter], format: Output, wide: bool) -> anyhow::Result<Outcome> {
    let failures: Vec<Failure> = listed
        .iter()
        .map(|l| Failure {
            reason: l
                .reason
                .clone()
                .unwrap_or_else(|| "(no reason recorded)".into()),
            place: l.queue.clone(),
            at: l.died_at,
            id: l.id.clone(),
        })
        .collect();
    let groups = reasons::group(&failures);
    match format {
        Output::Json => {
            for g in &groups {
                output::json_line(g)?;
            }
        }
        Output::Table => {
            reasons::print(&groups, "queues", wide)?;
            eprintln!(
                "outboxctl: `outboxctl dlq replay --reason N` moves group N back once its cause \
                 is fixed, `dlq drop --reason N` deletes it (--dry-run first)"
            );
        }
    }
    Ok(Outcome::Success)
}

pub async fn show(
    config: &Config,
    queue: Option<&str>,
    id: &str,
    format: Output,
) -> anyhow::Result<Outcome> {
    let queues = letters::scope(config, queue)?;
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let found = match letters::read(&broker, &queues, None).await {
        Ok(opened) => {
            let picked = letters::pick(&opened, &[Name::parse(id)]);
            let found = picked.map(|p| {
                let (q, l) = p[0];
                let d = &opened[q].letters[l];
                let command = fenced::For::of(|k| d.header_str(k));
                (describe(&opened[q].queue, d, true), command)
            });
            letters::close(opened).await;
            found
        }
        Err(e) => Err(e),
    };
    broker.close().await;
    let (mut l, command) = found?;
    if let Some(c) = command {
        l.moved_on = saga_moved_on(config, &c).await;
    }
    if format == Output::Json {
        output::json_line(&l)?;
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "message {} in {}.dlq",
        l.message_id.as_deref().unwrap_or("-"),
        l.queue
    ))?;
    if l.message_id.is_none() {
        output::line(format!("named         {} (it has no message id)", l.id))?;
    }
    output::line(format!(
        "outbox row {}",
        l.row_id.map_or("-".into(), |r| r.to_string())
    ))?;
    output::line(format!("topic     {}", l.topic.as_deref().unwrap_or("-")))?;
    if let Some(s) = &l.saga_id {
        output::line(format!("saga      {s} (`outboxctl saga why {s}`)"))?;
    }
    if let Some(why) = &l.moved_on {
        output::line(format!(
            "moved on  {why} — replaying it would have its effect after the saga decided \
             otherwise: `outboxctl dlq drop {}` removes it (`dlq replay --force` sends it anyway)",
            l.id
        ))?;
    }
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

/// Why the saga of a dead saga command no longer waits for it; nothing when
/// it does, or when the database cannot say (`dlq show` still shows the
/// letter).
async fn saga_moved_on(config: &Config, c: &fenced::For) -> Option<String> {
    let pool = match crate::ops::connect(config).await {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "cannot tell whether the saga has moved on");
            return None;
        }
    };
    let why = fenced::moved_on(config, &pool, c).await;
    pool.close().await;
    why.unwrap_or_else(|e| {
        tracing::debug!(error = %e, "cannot tell whether the saga has moved on");
        None
    })
}
