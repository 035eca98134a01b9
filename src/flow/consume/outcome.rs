//! What becomes of a delivery once its transaction answered: committed,
//! it is acknowledged and counted; rolled back, it goes to the retry queue,
//! or — rejected, or out of attempts — to the dead-letter queue (after the
//! saga it belongs to heard of the failure); when its copy cannot be made,
//! it goes back to its queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{debug, info, warn};

use super::consumer::{Abandoned, Consumer, Ctx};
use super::message::{saga_of, write_reply};
use super::transaction::{Failure, Item, Ran, Settled};
use crate::broker::{BrokerError, Delivery};
use crate::flow::handlers::{HandlerError, Route};
use crate::model::MessageId;
use crate::store::{self, StoreError, inbox};

/// Whether a `Retry-After` cut to `consumer.max_retry_after` was logged
/// (once per process).
static CUT_LOGGED: AtomicBool = AtomicBool::new(false);

impl Consumer {
    /// One message in a transaction of its own, after its calls out (`ran`).
    pub(super) async fn one(
        &self,
        ctx: &Ctx<'_>,
        item: &Item,
        ran: Ran,
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<(), Abandoned> {
        match self
            .commit(ctx, &[item], &[ran], received_at, started)
            .await?
        {
            Ok(mut outcomes) => {
                let outcome = outcomes.pop().expect("one outcome per item");
                self.settled(ctx, item, outcome, started).await
            }
            Err(f) => self.failed(ctx, item, f).await,
        }
    }

    /// Committed: acknowledge and count.
    pub(super) async fn settled(
        &self,
        ctx: &Ctx<'_>,
        item: &Item,
        outcome: Settled,
        started: Instant,
    ) -> Result<(), Abandoned> {
        let message = &item.message;
        // Committed but not acknowledged: the redelivery is a duplicate.
        ctx.broker(item.delivery.ack().await)?;
        let (label, counter) = match &outcome {
            Settled::Processed(_) => ("processed", &self.counters.processed),
            Settled::Duplicate => ("duplicate", &self.counters.duplicates),
            Settled::Stale(why) => {
                info!(message_id = %message.message_id, topic = %message.topic, why = %why,
                    "saga command not run: its saga has moved on (recorded as stale)");
                ("stale", &self.counters.stale)
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.count(&message.topic, label);
        if let Settled::Processed(ran) = &outcome {
            for (route, took, done) in ran {
                count_handler(route, "processed");
                metrics::histogram!("outbox_handler_duration_seconds", "handler" => route.name.clone())
                    .record(took.as_secs_f64());
                done.measures.iter().for_each(|m| m.record());
            }
            metrics::histogram!("outbox_consumer_handler_duration_seconds", "topic" => message.topic.clone())
                .record(started.elapsed().as_secs_f64());
            if let Some(ms) = message.created_at_ms {
                let e2e = (Utc::now().timestamp_millis() - ms).max(0) as f64 / 1000.0;
                metrics::histogram!("outbox_consumer_end_to_end_seconds", "topic" => message.topic.clone())
                    .record(e2e);
            }
        }
        debug!(message_id = %message.message_id, trace_id = %message.trace_id(), topic = %message.topic,
            attempt = message.attempt, outcome = label, ms = started.elapsed().as_millis() as u64, "message");
        Ok(())
    }

    /// Rolled back: retry later (in the retry queue of the delay), or
    /// dead-letter.
    pub(super) async fn failed(
        &self,
        ctx: &Ctx<'_>,
        item: &Item,
        failure: Failure,
    ) -> Result<(), Abandoned> {
        let (delivery, message) = (&item.delivery, &item.message);
        let attempt = message.attempt;
        let handler = failure.handler;
        let (reason, delay) = match failure.error {
            HandlerError::Reject(reason) => {
                warn!(message_id = %message.message_id, trace_id = %message.trace_id(), reason = %reason,
                    "handler rejected the message; dead-lettering it");
                if let Some(h) = &handler {
                    count_handler(h, "dead_lettered");
                }
                return self
                    .dead_letter(ctx, delivery, attempt, &reason, &message.topic)
                    .await;
            }
            HandlerError::RetryAfter(reason, after) => {
                let (delay, cut) = self.settings.retry.tier(Some(after));
                if cut && !CUT_LOGGED.swap(true, Ordering::Relaxed) {
                    warn!(message_id = %message.message_id, asked = ?after, waits = ?delay,
                        "a handler asked to retry after {} — longer than consumer.max_retry_after, \
                         so it waits {}; raise consumer.max_retry_after to honour longer waits \
                         (logged once)",
                        humantime::format_duration(after), humantime::format_duration(delay));
                }
                (reason, delay)
            }
            HandlerError::Retry(reason) | HandlerError::Unavailable(reason) => {
                (reason, self.settings.retry.tier(None).0)
            }
        };
        if attempt >= self.settings.max_attempts {
            warn!(message_id = %message.message_id, trace_id = %message.trace_id(), attempt, reason = %reason,
                "last attempt failed; dead-lettering the message");
            if let Some(h) = &handler {
                count_handler(h, "dead_lettered");
            }
            let reason = format!("failed {attempt} attempts; last error: {reason}");
            return self
                .dead_letter(ctx, delivery, attempt, &reason, &message.topic)
                .await;
        }
        warn!(message_id = %message.message_id, trace_id = %message.trace_id(), attempt, reason = %reason,
            retry_in = ?delay, "attempt failed; retrying later");
        let copied = ctx
            .forwarder
            .retry(delivery, &message.topic, attempt + 1, delay, &reason)
            .await;
        match copied {
            Ok(()) => {
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                self.count(&message.topic, "retried");
                if let Some(h) = &handler {
                    count_handler(h, "retried");
                }
                ctx.broker(delivery.ack().await)
            }
            Err(e) => self.give_back(ctx, delivery, e).await,
        }
    }

    /// Tell the saga a command failed for good, before its dead letter goes
    /// out (a crash in between sends the failure twice; the saga takes one).
    async fn reply_failure(
        &self,
        ctx: &Ctx<'_>,
        delivery: &Delivery,
        reason: &str,
    ) -> Result<(), Abandoned> {
        let Some(saga) = saga_of(delivery) else {
            return Ok(());
        };
        loop {
            let sent = tokio::select! {
                r = store::bounded(store::CALL_TIMEOUT, async {
                    let mut tx = self.pool.begin().await?;
                    write_reply(&mut tx, &saga, Err(reason.to_string())).await?;
                    tx.commit().await?;
                    Ok::<_, StoreError>(())
                }) => r,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            match sent {
                Ok(()) => return Ok(()),
                Err(e) if e.is_transient() => self.wait_for_database(ctx, e.to_string()).await?,
                Err(e) => {
                    warn!(error = %e, "cannot reply to the saga; its time-out will tell it");
                    return Ok(());
                }
            }
        }
    }

    pub(super) async fn dead_letter(
        &self,
        ctx: &Ctx<'_>,
        delivery: &Delivery,
        attempt: u32,
        reason: &str,
        topic: &str,
    ) -> Result<(), Abandoned> {
        if self.handlers.matching(topic).next().is_some() {
            self.reply_failure(ctx, delivery, reason).await?;
        }
        match ctx
            .forwarder
            .dead_letter(delivery, topic, attempt, reason)
            .await
        {
            Ok(()) => {
                self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                self.count(topic, "dead_lettered");
                self.remember_dead_letter(delivery, attempt, reason, topic)
                    .await;
                ctx.broker(delivery.ack().await)
            }
            Err(e) => self.give_back(ctx, delivery, e).await,
        }
    }

    /// Write down that this message was dead-lettered, so `outbox why` can
    /// tell "given up on" from "consumed". Best effort, and briefly: the
    /// dead letter itself is already safe in its queue.
    async fn remember_dead_letter(
        &self,
        delivery: &Delivery,
        attempt: u32,
        reason: &str,
        topic: &str,
    ) {
        let Some(id) = delivery
            .message_id()
            .and_then(|m| uuid::Uuid::parse_str(m).ok())
        else {
            return;
        };
        let record = inbox::record_dead_letter(
            &self.pool,
            &self.settings.name,
            MessageId(id),
            &self.settings.queue,
            topic,
            reason,
            i32::try_from(attempt).unwrap_or(i32::MAX),
        );
        if let Err(e) = store::bounded(Duration::from_secs(2), record).await {
            debug!(error = %e, "cannot record the dead letter in consumer_dead_letters");
        }
    }

    /// Forwarding failed. A lost connection ends the session (the message
    /// goes back by itself); a copy the broker refused (a missing retry or
    /// dead-letter queue) puts the message back on its queue after a pause,
    /// so a broker in trouble is not hammered with the same message.
    async fn give_back(
        &self,
        ctx: &Ctx<'_>,
        delivery: &Delivery,
        e: BrokerError,
    ) -> Result<(), Abandoned> {
        if !ctx.forwarder.is_usable() || e.is_transient() {
            return ctx.broker(Err(e));
        }
        warn!(error = %e, message_id = delivery.message_id().unwrap_or("-"),
            "cannot forward the message; returning it to the queue");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = ctx.lost.token.cancelled() => return Err(Abandoned),
        }
        ctx.broker(delivery.requeue().await)
    }
}

pub(super) fn count_handler(route: &Route, outcome: &'static str) {
    metrics::counter!("outbox_handler_messages_total", "handler" => route.name.clone(),
        "kind" => route.kind, "outcome" => outcome)
    .increment(1);
}
