//! `outboxctl dlq ls|show|replay|drop|purge`: the dead-letter queue of a
//! work queue. Looking does not consume: messages are read without being
//! acknowledged and go back when the command ends. Replay moves chosen
//! messages back to the work queue (confirmed first, then removed here);
//! drop deletes chosen ones. A dead letter is named by its message id or by
//! the outbox row it came from (`x-outbox-id`).

use std::collections::HashSet;

use anyhow::Context as _;
use chrono::{TimeZone, Utc};
use serde::Serialize;

use super::{Outcome, declined, empty};
use crate::broker::consume::Browser;
use crate::broker::consume::headers;
use crate::broker::{Broker, Delivery, topology};
use crate::cli::{DlqCommand, MoveArgs, Output};
use crate::config::Config;
use crate::model::{MessageId, headers as outbox_headers};
use crate::output::{self, cut, when};
use crate::store::{self, inbox};

/// A dead letter as `dlq ls|show --output json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub message_id: Option<String>,
    /// The outbox row it came from (`x-outbox-id`), when it came from one.
    pub row_id: Option<i64>,
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
        row_id: d.header_i64(outbox_headers::OUTBOX_ID),
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

/// Whether a dead letter is the one an operator named: by message id, or by
/// the outbox row id it came from.
fn named(d: &Delivery, id: &str) -> bool {
    d.message_id() == Some(id)
        || id
            .parse::<i64>()
            .is_ok_and(|row| d.header_i64(outbox_headers::OUTBOX_ID) == Some(row))
}

/// `outboxctl dlq …`
pub async fn command(config: &Config, cmd: DlqCommand) -> anyhow::Result<Outcome> {
    match cmd {
        DlqCommand::Ls {
            queue,
            limit,
            output,
        } => ls(config, queue.queue.as_deref(), limit, output.output).await,
        DlqCommand::Show { id, queue, output } => {
            show(config, queue.queue.as_deref(), &id, output.output).await
        }
        DlqCommand::Replay {
            ids,
            all,
            queue,
            change,
        } => {
            move_or_drop(
                config,
                queue.queue.as_deref(),
                &ids,
                all,
                &change,
                Verb::Replay,
            )
            .await
        }
        DlqCommand::Drop { ids, queue, change } => {
            move_or_drop(
                config,
                queue.queue.as_deref(),
                &ids,
                false,
                &change,
                Verb::Drop,
            )
            .await
        }
        DlqCommand::Purge {
            queue,
            dry_run,
            yes,
            output,
        } => purge(config, queue.queue.as_deref(), dry_run, yes, output.output).await,
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
    let total = broker.queue_stats(&dlq).await?.map_or(0, |s| s.ready);
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
        return empty(format, &format!("{dlq} is empty"));
    }
    match format {
        Output::Json => {
            for l in &letters {
                output::json_line(l)?;
            }
        }
        Output::Table => {
            let room = output::room(100);
            let mut t = output::table(&[
                "row",
                "message id",
                "topic",
                "attempts",
                "died",
                "bytes",
                "reason",
            ]);
            for l in &letters {
                t.add_row(vec![
                    l.row_id.map_or("-".into(), |r| r.to_string()),
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
    let more = total.saturating_sub(letters.len() as u64);
    if more > 0 {
        eprintln!(
            "outboxctl: {} dead letters shown; {more} more in {dlq} — raise --limit",
            letters.len()
        );
    }
    Ok(Outcome::Success)
}

pub async fn show(
    config: &Config,
    queue: Option<&str>,
    id: &str,
    format: Output,
) -> anyhow::Result<Outcome> {
    let dlq = topology::dead_letter_queue(&work_queue(config, queue)?);
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let browser = broker.browse(&dlq).await?;
    let found = async {
        while let Some(d) = browser.next().await? {
            if named(&d, id) {
                return anyhow::Ok(Some(describe(&d, true)));
            }
        }
        Ok(None)
    }
    .await;
    browser.close().await;
    broker.close().await;
    let Some(l) = found? else {
        anyhow::bail!(
            "no dead letter {id} in {dlq} (by message id or outbox row id) — `outboxctl dlq ls` \
             lists them"
        );
    };
    if format == Output::Json {
        output::json_line(&l)?;
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "message {} in {dlq}",
        l.message_id.as_deref().unwrap_or("-")
    ))?;
    output::line(format!(
        "outbox row {}",
        l.row_id.map_or("-".into(), |r| r.to_string())
    ))?;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Replay,
    Drop,
}

/// What `dlq replay|drop|purge` did, as `-o json` prints it.
#[derive(Debug, Serialize)]
struct Moved {
    action: &'static str,
    dry_run: bool,
    queue: String,
    messages: Vec<Option<String>>,
    count: u64,
}

/// Replay (back to the work queue, confirmed there first) or drop (delete)
/// the chosen dead letters, with a progress bar on a terminal; forget the
/// consumers' record of them.
async fn move_or_drop(
    config: &Config,
    queue: Option<&str>,
    ids: &[String],
    all: bool,
    change: &MoveArgs,
    verb: Verb,
) -> anyhow::Result<Outcome> {
    let work = work_queue(config, queue)?;
    let dlq = topology::dead_letter_queue(&work);
    let format = change.output.output;
    let action = match verb {
        Verb::Replay => "replay",
        Verb::Drop => "drop",
    };
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let total = broker.queue_stats(&dlq).await?.map_or(0, |s| s.ready);
    let browser = broker.browse(&dlq).await?;
    let result = async {
        // A real `--all` streams the queue a round at a time (bounded
        // memory, and only the `total` there at the start: what consumers
        // dead-letter meanwhile is not taken again); anything else reads
        // the queue first to pick the messages.
        let stream = all && !change.dry_run;
        let mut chosen = if stream {
            Vec::new()
        } else {
            choose(&browser, &dlq, ids, all, total).await?
        };
        let n = if stream { total } else { chosen.len() as u64 };
        let mut report = Moved {
            action,
            dry_run: change.dry_run,
            queue: dlq.clone(),
            messages: chosen
                .iter()
                .map(|d| d.message_id().map(str::to_string))
                .collect(),
            count: n,
        };
        let word = messages(n);
        let what = match verb {
            Verb::Replay => format!("move {word} from {dlq} back to {work}"),
            Verb::Drop => format!("delete {word} from {dlq} for good"),
        };
        if n == 0 {
            return Ok(Ok((report, format!("{dlq} is empty; nothing to {action}"))));
        }
        if change.dry_run {
            return Ok(Ok((report, format!("would {what}"))));
        }
        // A deleted dead letter cannot come back: always ask for drop.
        let asked = if verb == Verb::Drop {
            usize::try_from(n).unwrap_or(usize::MAX).max(2)
        } else {
            usize::try_from(n).unwrap_or(usize::MAX)
        };
        if !output::confirm(&what, asked, change.yes)? {
            return Ok(Err(()));
        }
        let forwarder = match verb {
            Verb::Replay => Some(
                broker
                    .forwarder(
                        &work,
                        &config.broker.dead_letter_exchange,
                        config.broker.confirm_timeout,
                    )
                    .await?,
            ),
            Verb::Drop => None,
        };
        let bar = output::progress(n, &format!("dead letters ({action})"));
        let mut done = 0u64;
        // Streamed with a prefetch of one round: the broker keeps the next
        // deliveries coming while a round is copied and confirmed.
        let mut subscription = if stream {
            Some(
                broker
                    .subscribe(&dlq, ROUND as u16, "outboxctl-dlq")
                    .await?,
            )
        } else {
            None
        };
        let moved = async {
            loop {
                let round: Vec<Delivery> = if let Some(sub) = subscription.as_mut() {
                    let mut round = Vec::new();
                    while round.len() < ROUND && done + (round.len() as u64) < n {
                        // A queue that runs dry early (someone else took
                        // messages) ends the run instead of waiting forever.
                        let wait = if round.is_empty() { IDLE } else { IDLE / 10 };
                        match tokio::time::timeout(wait, sub.next()).await {
                            Ok(Some(d)) => round.push(d?),
                            Ok(None) | Err(_) => break,
                        }
                    }
                    round
                } else {
                    chosen.drain(..chosen.len().min(ROUND)).collect()
                };
                if round.is_empty() {
                    break;
                }
                if let Some(f) = &forwarder {
                    // Confirmed in the work queue first, then removed from here.
                    f.restore_all(&round).await?;
                }
                if stream {
                    // A subscription delivers in order: the round is every
                    // delivery up to its last one not yet acknowledged.
                    if let Some(last) = round.last() {
                        last.ack_through().await?;
                    }
                } else {
                    for d in &round {
                        d.ack().await?;
                    }
                }
                if stream {
                    report
                        .messages
                        .extend(round.iter().map(|d| d.message_id().map(str::to_string)));
                }
                done += round.len() as u64;
                bar.inc(round.len() as u64);
            }
            anyhow::Ok(())
        }
        .await;
        bar.finish_and_clear();
        if let Some(sub) = subscription {
            // Deliveries beyond the count return to the queue.
            sub.close().await;
        }
        if let Some(f) = forwarder {
            f.close().await;
        }
        moved.with_context(|| {
            format!(
                "stopped after {} of {n} ({} stay in {dlq}, any copies already in {work} are \
                 skipped by consumers that have them)",
                messages(done),
                n - done
            )
        })?;
        report.count = done;
        report.messages.truncate(done as usize);
        let past = match verb {
            Verb::Replay => format!(
                "moved {} from {dlq} back to {work}, attempts reset",
                messages(done)
            ),
            Verb::Drop => format!("deleted {} from {dlq}", messages(done)),
        };
        anyhow::Ok(Ok((report, past)))
    }
    .await;
    browser.close().await;
    broker.close().await;
    let Ok((report, text)) = result? else {
        return declined();
    };
    if !report.dry_run && report.count > 0 {
        forget(config, &work, &report.messages).await;
    }
    if format == Output::Json {
        output::json_line(&report)?;
    } else {
        output::line(text)?;
    }
    Ok(Outcome::Success)
}

/// Dead letters moved or deleted per round: read, copied and confirmed,
/// then acknowledged.
const ROUND: usize = 1000;

/// How long a streamed replay waits for the next dead letter before it
/// takes the queue as empty.
const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Read the dead-letter queue (with a progress bar on a terminal) and keep
/// the messages named by `ids`, or all of them; an error naming what is not
/// there. The rest stays unacknowledged until the browser closes.
async fn choose(
    browser: &Browser,
    dlq: &str,
    ids: &[String],
    all: bool,
    total: u64,
) -> anyhow::Result<Vec<Delivery>> {
    let mut chosen = Vec::new();
    let mut found = HashSet::new();
    let reading = output::progress(total, "dead letters read");
    while let Some(d) = browser.next().await? {
        reading.inc(1);
        if let Some(hit) = ids.iter().find(|id| named(&d, id)) {
            found.insert(hit.clone());
            chosen.push(d);
        } else if all {
            chosen.push(d);
        }
        if !all && found.len() == ids.len() {
            break;
        }
    }
    reading.finish_and_clear();
    let missing: Vec<&str> = ids
        .iter()
        .filter(|w| !found.contains(*w))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "not in {dlq}: {} (by message id or outbox row id) — nothing changed; `outboxctl \
             dlq ls` lists what is there",
            missing.join(", ")
        );
    }
    Ok(chosen)
}

/// The consumers' record of dead letters that left the queue (best effort:
/// the messages themselves have moved; `outbox why` may lag if this fails).
async fn forget(config: &Config, queue: &str, messages: &[Option<String>]) {
    let ids: Vec<MessageId> = messages
        .iter()
        .flatten()
        .filter_map(|m| uuid::Uuid::parse_str(m).ok().map(MessageId))
        .collect();
    let forgot = async {
        let pool = store::connect(&config.database, "outboxctl dlq", &[]).await?;
        inbox::forget_dead_letters(&pool, queue, &ids).await?;
        pool.close().await;
        anyhow::Ok(())
    };
    if let Err(e) = forgot.await {
        eprintln!(
            "outboxctl: the messages moved, but consumer_dead_letters could not be updated: {e:#}"
        );
    }
}

pub async fn purge(
    config: &Config,
    queue: Option<&str>,
    dry_run: bool,
    yes: bool,
    format: Output,
) -> anyhow::Result<Outcome> {
    let dlq = topology::dead_letter_queue(&work_queue(config, queue)?);
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let result = async {
        let Some(stats) = broker.queue_stats(&dlq).await? else {
            anyhow::bail!("{dlq} does not exist — `outboxctl topology apply` declares it");
        };
        let mut report = Moved {
            action: "purge",
            dry_run,
            queue: dlq.clone(),
            messages: Vec::new(),
            count: stats.ready,
        };
        if stats.ready == 0 {
            return Ok(Some((report, format!("{dlq} is empty; nothing to purge"))));
        }
        if dry_run {
            return Ok(Some((
                report,
                format!("would delete {} from {dlq}", messages(stats.ready)),
            )));
        }
        // Always ask (or want --yes): deleted dead letters cannot be replayed.
        let n = usize::try_from(stats.ready).unwrap_or(usize::MAX).max(2);
        let question = format!("delete {} from {dlq} for good", messages(stats.ready));
        if !output::confirm(&question, n, yes)? {
            return Ok(None);
        }
        let purged = broker.purge_queue(&dlq).await?;
        report.count = u64::from(purged);
        anyhow::Ok(Some((
            report,
            format!(
                "purged {purged} message{} from {dlq}",
                if purged == 1 { "" } else { "s" }
            ),
        )))
    }
    .await;
    broker.close().await;
    let Some((report, text)) = result? else {
        return declined();
    };
    if format == Output::Json {
        output::json_line(&report)?;
    } else {
        output::line(text)?;
    }
    Ok(Outcome::Success)
}

fn messages(n: u64) -> String {
    format!("{n} message{}", if n == 1 { "" } else { "s" })
}
