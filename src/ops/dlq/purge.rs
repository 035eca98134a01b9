//! `dlq purge`: the dead-letter queue of every work queue (or --queue's)
//! emptied, after a confirmation; audited per queue and per message the
//! consumers had recorded as dead there.

use chrono::Utc;
use serde_json::json;

use super::letters;
use super::moves::{Done, Moved, QueueMoved, messages};
use crate::broker::{Broker, topology};
use crate::cli::Output;
use crate::config::Config;
use crate::ops::bulk::{self, Bulk};
use crate::ops::{Outcome, declined};
use crate::output;
use crate::store::outbox::{self, DeadLetterAction};
use crate::store::{self, inbox};

pub async fn purge(
    config: &Config,
    queue: Option<&str>,
    dry_run: bool,
    yes: bool,
    format: Output,
) -> anyhow::Result<Outcome> {
    let queues = letters::scope(config, queue)?;
    let broker = Broker::connect(&config.broker, "outboxctl dlq").await?;
    let result = purge_queues(config, &broker, &queues, queue, dry_run, yes).await;
    broker.close().await;
    let Some(Done {
        report,
        chosen,
        rest,
    }) = result?
    else {
        return declined();
    };
    if format == Output::Json {
        output::json_line(&report)?;
    } else if report.queues.is_empty() {
        output::line("the dead-letter queues are empty; nothing to purge")?;
    } else {
        for q in &report.queues {
            output::line(if dry_run {
                format!("would delete {} from {}", messages(q.count), q.queue)
            } else {
                format!(
                    "purged {} message{} from {}",
                    q.count,
                    if q.count == 1 { "" } else { "s" },
                    q.queue
                )
            })?;
        }
    }
    Ok(match rest {
        None => Outcome::Success,
        Some(rest) => bulk::interrupted(report.count, chosen, "dead letters purged", &rest),
    })
}

async fn purge_queues(
    config: &Config,
    broker: &Broker,
    queues: &[String],
    queue: Option<&str>,
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<Option<Done>> {
    let mut ready = Vec::new();
    for q in queues {
        let dlq = topology::dead_letter_queue(q);
        let Some(stats) = broker.queue_stats(&dlq).await? else {
            anyhow::bail!("{dlq} does not exist — `outboxctl topology apply` declares it");
        };
        ready.push((q.clone(), dlq, stats.ready));
    }
    let n: u64 = ready.iter().map(|r| r.2).sum();
    let mut report = Moved {
        action: "purge",
        dry_run,
        queues: ready
            .iter()
            .filter(|r| r.2 > 0)
            .map(|(_, dlq, count)| QueueMoved {
                queue: dlq.clone(),
                count: *count,
                messages: Vec::new(),
                kept: 0,
            })
            .collect(),
        messages: Vec::new(),
        count: n,
        interrupted: false,
        resume: None,
    };
    if n == 0 || dry_run {
        return Ok(Some(Done {
            report,
            chosen: n,
            rest: None,
        }));
    }
    // Always ask (or want --yes): purged dead letters cannot be replayed.
    let question = format!(
        "delete {} from {} dead-letter queue(s) for good",
        messages(n),
        report.queues.len()
    );
    if !output::confirm(
        &question,
        usize::try_from(n).unwrap_or(usize::MAX).max(2),
        yes,
    )? {
        return Ok(None);
    }
    let bulk = Bulk::start(None);
    report.queues.clear();
    report.count = 0;
    for (q, dlq, _) in ready.iter().filter(|r| r.2 > 0) {
        if bulk.stopped() {
            break;
        }
        let since = Utc::now();
        let purged = broker.purge_queue(dlq).await?;
        forget_purged(config, q, dlq, purged, since).await;
        report.queues.push(QueueMoved {
            queue: dlq.clone(),
            count: u64::from(purged),
            messages: Vec::new(),
            kept: 0,
        });
        report.count += u64::from(purged);
    }
    let rest = bulk.stopped().then(|| {
        let mut args = bulk::resume(&["dlq", "purge"]);
        if let Some(q) = queue {
            args.extend(["--queue".to_string(), q.to_string()]);
        }
        args.push("--yes".into());
        args
    });
    Ok(Some(Done {
        report,
        chosen: n,
        rest,
    }))
}

/// A purged dead-letter queue in the audit: one entry for the queue, and one
/// per message the consumers had recorded as dead there (before `since`),
/// whose record is forgotten.
async fn forget_purged(
    config: &Config,
    queue: &str,
    dlq: &str,
    purged: u32,
    since: chrono::DateTime<Utc>,
) {
    let written = async {
        let pool = store::connect(&config.database, "outboxctl dlq", &[]).await?;
        let known = inbox::forget_queue_dead_letters(&pool, queue, since).await?;
        let mut done: Vec<DeadLetterAction> = known
            .iter()
            .map(|(row, message_id)| DeadLetterAction {
                row_id: *row,
                message_id: Some(*message_id),
                detail: json!({ "queue": queue, "dead_letter_queue": dlq }),
            })
            .collect();
        done.push(DeadLetterAction {
            row_id: None,
            message_id: None,
            detail: json!({ "queue": queue, "dead_letter_queue": dlq, "purged": purged }),
        });
        outbox::audit_dead_letters(&pool, "dlq purge", &crate::identity::actor(), &done).await?;
        pool.close().await;
        anyhow::Ok(())
    };
    if let Err(e) = written.await {
        eprintln!(
            "outboxctl: {dlq} was purged, but the audit and consumer_dead_letters could not be \
             updated: {e:#}"
        );
    }
}
