//! Dead letters as the dlq commands see them: read from the dead-letter
//! queue of every work queue of the configuration (or the one `--queue`
//! names), without being consumed — what is read goes back to its queue
//! unless it is acknowledged. A dead letter is named by its message id or
//! by the outbox row it came from; when one id is dead in several queues,
//! `QUEUE/ID` says which.

use anyhow::bail;
use chrono::{TimeZone, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::broker::consume::{Browser, headers};
use crate::broker::{Broker, Delivery, topology};
use crate::config::Config;
use crate::model::{headers as outbox_headers, saga};
use crate::output;

/// A dead letter as `dlq ls|show --output json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// The work queue whose dead-letter queue holds it.
    pub queue: String,
    /// What names it: its message id, or `body-<hex>` when it has none.
    pub id: String,
    pub message_id: Option<String>,
    /// The outbox row it came from (`x-outbox-id`), when it came from one.
    pub row_id: Option<i64>,
    pub topic: Option<String>,
    pub reason: Option<String>,
    pub attempts: Option<i64>,
    pub died_at: Option<chrono::DateTime<Utc>>,
    pub bytes: usize,
    /// The saga it is a command or reply of, when its headers say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saga_id: Option<String>,
    /// A saga command whose saga no longer waits for it: why (`dlq show`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<(String, String)>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The name of a dead letter: its message id, or — without one — a digest
/// of its body and death, stable across reads.
pub fn id_of(d: &Delivery) -> String {
    match d.message_id() {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            let mut h = Sha256::new();
            h.update(&d.body);
            h.update(d.header_i64(headers::DIED_AT_MS).unwrap_or(0).to_be_bytes());
            format!("body-{}", hex::encode(&h.finalize()[..6]))
        }
    }
}

pub fn describe(queue: &str, d: &Delivery, full: bool) -> DeadLetter {
    DeadLetter {
        queue: queue.to_string(),
        id: id_of(d),
        message_id: d.message_id().map(str::to_string),
        row_id: d.header_i64(outbox_headers::OUTBOX_ID),
        topic: d.message_type().map(str::to_string),
        reason: d.header_str(headers::DEATH_REASON),
        attempts: d.header_i64(headers::ATTEMPTS),
        died_at: d
            .header_i64(headers::DIED_AT_MS)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
        bytes: d.body.len(),
        saga_id: d.header_str(saga::ID),
        moved_on: None,
        headers: full.then(|| d.headers_text()),
        body: full.then(|| String::from_utf8_lossy(&d.body).into_owned()),
    }
}

/// The work queues whose dead letters a command takes: every one of
/// broker.queues, or the one `--queue` names.
pub fn scope(config: &Config, queue: Option<&str>) -> anyhow::Result<Vec<String>> {
    let all: Vec<String> = config
        .broker
        .queues
        .iter()
        .map(|q| q.name.clone())
        .collect();
    match queue {
        None if all.is_empty() => bail!(
            "broker.queues is empty: there is no dead-letter queue to look at — declare the \
             [[broker.queues]] whose dead letters you want"
        ),
        None => Ok(all),
        Some(q) if all.iter().any(|a| a == q) => Ok(vec![q.to_string()]),
        Some(q) => bail!(
            "{q} is not one of broker.queues ({}) — pass one of those with --queue, or leave \
             --queue out for all of them",
            all.join(", ")
        ),
    }
}

/// How an operator names a dead letter: `ID` or `QUEUE/ID`, where ID is a
/// message id (or `body-…`) or the outbox row id it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub queue: Option<String>,
    pub id: String,
}

impl Name {
    pub fn parse(s: &str) -> Self {
        // Queue names have no '/' (broker.queues are checked for it).
        match s.rsplit_once('/') {
            Some((q, id)) if !q.is_empty() => Self {
                queue: Some(q.to_string()),
                id: id.to_string(),
            },
            _ => Self {
                queue: None,
                id: s.to_string(),
            },
        }
    }

    /// Whether this names `d`, a dead letter of work queue `queue`.
    pub fn names(&self, queue: &str, d: &Delivery) -> bool {
        if self.queue.as_deref().is_some_and(|q| q != queue) {
            return false;
        }
        id_of(d) == self.id
            || self
                .id
                .parse::<i64>()
                .is_ok_and(|row| d.header_i64(outbox_headers::OUTBOX_ID) == Some(row))
    }

    /// How it is written: `QUEUE/ID` or `ID`.
    pub fn qualified(queue: &str, id: &str) -> String {
        format!("{queue}/{id}")
    }
}

/// A dead-letter queue being read: what was read stays unacknowledged
/// until it is acknowledged or the browser closes.
pub struct Opened {
    /// The work queue.
    pub queue: String,
    pub dlq: String,
    pub browser: Browser,
    pub letters: Vec<Delivery>,
    /// Ready in the dead-letter queue when reading began.
    pub total: u64,
}

/// Read the dead-letter queue of each of `queues` (all of it, or `limit`
/// letters in all), a progress bar on a terminal.
pub async fn read(
    broker: &Broker,
    queues: &[String],
    limit: Option<usize>,
) -> anyhow::Result<Vec<Opened>> {
    let mut opened = Vec::new();
    let mut totals = Vec::new();
    for q in queues {
        let dlq = topology::dead_letter_queue(q);
        totals.push(broker.queue_stats(&dlq).await?.map_or(0, |s| s.ready));
    }
    let bar = output::progress(totals.iter().sum(), "dead letters read");
    let mut read = 0usize;
    for (q, total) in queues.iter().zip(totals) {
        let dlq = topology::dead_letter_queue(q);
        let browser = broker.browse(&dlq).await?;
        let mut letters = Vec::new();
        while limit.is_none_or(|l| read < l) {
            match browser.next().await {
                Ok(Some(d)) => {
                    letters.push(d);
                    read += 1;
                    bar.inc(1);
                }
                Ok(None) => break,
                Err(e) => {
                    browser.close().await;
                    close(opened).await;
                    return Err(e.into());
                }
            }
        }
        opened.push(Opened {
            queue: q.clone(),
            dlq,
            browser,
            letters,
            total,
        });
    }
    bar.finish_and_clear();
    Ok(opened)
}

/// Give back everything not acknowledged.
pub async fn close(opened: Vec<Opened>) {
    for o in opened {
        o.browser.close().await;
    }
}

/// The letters `names` name, as (queue, letter) positions in `opened`: an
/// error naming each name that is not there, or that is dead in several
/// queues without saying which.
pub fn pick(opened: &[Opened], names: &[Name]) -> anyhow::Result<Vec<(usize, usize)>> {
    let mut picked = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        let hits: Vec<(usize, usize)> = opened
            .iter()
            .enumerate()
            .flat_map(|(q, o)| {
                o.letters
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| name.names(&o.queue, d))
                    .map(move |(l, _)| (q, l))
            })
            .collect();
        let mut queues: Vec<&str> = hits
            .iter()
            .map(|(q, _)| opened[*q].queue.as_str())
            .collect();
        queues.dedup();
        match queues.len() {
            0 => missing.push(name.id.clone()),
            1 => {
                for h in hits {
                    if !picked.contains(&h) {
                        picked.push(h);
                    }
                }
            }
            _ => bail!(
                "{} is dead in {} queues ({}) — say which: {} (nothing changed)",
                name.id,
                queues.len(),
                queues.join(", "),
                queues
                    .iter()
                    .map(|q| format!("`{}`", Name::qualified(q, &name.id)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }
    }
    if !missing.is_empty() {
        let dlqs: Vec<&str> = opened.iter().map(|o| o.dlq.as_str()).collect();
        bail!(
            "not in {}: {} (by message id or outbox row id) — nothing changed; `outboxctl dlq ls` \
             lists what is there",
            dlqs.join(", "),
            missing.join(", ")
        );
    }
    Ok(picked)
}
