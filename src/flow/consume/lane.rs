//! A lane of the consumer: the deliveries of its keys, one batch after the
//! other. A batch is decoded (what cannot be is dead-lettered at once) and
//! split, in delivery order, into runs: messages whose handlers stay in the
//! database share one transaction (each again on its own when it fails);
//! runs with calls out go to `calls`. `outcome` acts on what each came to.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::consumer::{Abandoned, Consumer, Ctx, Lost};
use super::message::{attempt_of, decode};
use super::transaction::Item;
use crate::broker::{Delivery, Forwarder};
use crate::model::headers as outbox_headers;
use crate::watchdog::Stage;

/// One lane: the deliveries of its keys, one batch after the other.
pub(super) async fn lane(
    consumer: Arc<Consumer>,
    forwarder: Arc<Forwarder>,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    stage: Stage,
    lost: Arc<Lost>,
) {
    while let Some(first) = rx.recv().await {
        // What else waits in this lane goes into the same transaction.
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(d) => batch.push(d),
                Err(_) => break,
            }
        }
        stage.working(format!("processing {} message(s)", batch.len()));
        let ctx = Ctx {
            forwarder: &forwarder,
            stage: &stage,
            lost: &lost,
        };
        if consumer.process(&ctx, batch).await.is_err() {
            return;
        }
        if rx.is_empty() {
            stage.idle();
        }
    }
}

pub(super) fn lane_of(d: &Delivery, lanes: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    d.header_str(outbox_headers::PARTITION_KEY)
        .or_else(|| d.message_id().map(str::to_string))
        .hash(&mut h);
    (h.finish() % lanes as u64) as usize
}

/// Most deliveries of one lane handled in one transaction.
const BATCH_MAX: usize = 128;

impl Consumer {
    /// Handle the deliveries a lane had waiting: one transaction for all of
    /// them (a commit and its flush shared); if anything in it fails, each is
    /// handled again on its own, so a failure stays with its message.
    async fn process(&self, ctx: &Ctx<'_>, deliveries: Vec<Delivery>) -> Result<(), Abandoned> {
        let received_at = Utc::now();
        let started = Instant::now();
        let mut items = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let attempt = attempt_of(&delivery);
            let message = match decode(&delivery, attempt) {
                Ok(m) => m,
                Err(reason) => {
                    warn!(reason = %reason, message_id = delivery.message_id().unwrap_or("-"),
                        "undecodable message; dead-lettering it");
                    let reason = format!("undecodable: {reason}");
                    let topic = delivery
                        .message_type()
                        .unwrap_or(&delivery.routing_key)
                        .to_string();
                    let topic = if topic.is_empty() { "-".into() } else { topic };
                    self.dead_letter(ctx, &delivery, attempt, &reason, &topic)
                        .await?;
                    continue;
                }
            };
            if self.settings.reject_unknown_topics
                && self.handlers.matching(&message.topic).next().is_none()
            {
                let reason = format!(
                    "no handler for topic {} (consumer.reject_unknown_topics)",
                    message.topic
                );
                self.dead_letter(ctx, &delivery, attempt, &reason, &message.topic)
                    .await?;
                continue;
            }
            items.push(Item { delivery, message });
        }
        // In delivery order: runs of messages whose handlers stay in the
        // database share transactions; runs with calls out are made first,
        // then recorded. One key's messages never overtake each other.
        let mut rest = items.as_slice();
        while let Some(first) = rest.first() {
            let out = self.handlers.calls_out(&first.message.topic);
            let len = rest
                .iter()
                .take_while(|i| self.handlers.calls_out(&i.message.topic) == out)
                .count();
            let (run, next) = rest.split_at(len);
            if out {
                self.call_out(ctx, run, received_at, started).await?;
            } else {
                self.in_database(ctx, run, received_at, started).await?;
            }
            rest = next;
        }
        Ok(())
    }

    /// Messages handled in the database: one transaction for all of them;
    /// if it fails, each again on its own, so a failure stays with its message.
    async fn in_database(
        &self,
        ctx: &Ctx<'_>,
        items: &[Item],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<(), Abandoned> {
        if items.len() > 1 {
            let all: Vec<&Item> = items.iter().collect();
            match self.commit(ctx, &all, &[], received_at, started).await? {
                Ok(outcomes) => {
                    for (item, outcome) in items.iter().zip(outcomes) {
                        self.settled(ctx, item, outcome, started).await?;
                    }
                    return Ok(());
                }
                Err(f) => {
                    debug!(error = %f.error, size = items.len(), "batch failed; handling its messages one by one")
                }
            }
        }
        for item in items {
            self.one(ctx, item, Vec::new(), received_at, started)
                .await?;
        }
        Ok(())
    }
}
