//! A lane of the consumer: the deliveries of its keys, one batch after the
//! other — one transaction per batch (each message again on its own when
//! the batch fails), then acknowledge, retry later or dead-letter.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::message::{attempt_of, decode, reply};
use super::{Abandoned, Consumer, Lost};
use crate::backoff::Backoff;
use crate::broker::{BrokerError, Delivery, Forwarder};
use crate::flow::handlers::{Done, Effect, HandlerError, Message, Route};
use crate::model::{MessageId, headers as outbox_headers};
use crate::store::inbox::{self, NewConsumption};
use crate::store::{self, StoreError};
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

/// What a lane hands down while it works on a batch.
pub(super) struct Ctx<'a> {
    pub forwarder: &'a Forwarder,
    pub stage: &'a Stage,
    pub lost: &'a Lost,
}

impl Ctx<'_> {
    /// The outcome of a call to the broker: a lost connection ends the
    /// session; a delivery whose copy could not be forwarded goes back.
    pub fn broker(&self, result: Result<(), BrokerError>) -> Result<(), Abandoned> {
        match result {
            Ok(()) => {
                self.stage.progressed();
                Ok(())
            }
            Err(e) => {
                self.lost.raise(e);
                Err(Abandoned)
            }
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

/// The handlers that ran for a message, and how long each took.
pub(super) type Ran = Vec<(Arc<Route>, Duration, Done)>;

/// What a committed delivery was.
#[derive(Clone)]
pub(super) enum Settled {
    /// New: its handlers ran, each this long.
    Processed(Ran),
    /// Recorded before: nothing ran.
    Duplicate,
}

/// Why a transaction did not commit, and which handler said so (none when
/// the consumer's own statements failed).
pub(super) struct Failure {
    pub handler: Option<Arc<Route>>,
    pub error: HandlerError,
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self {
            handler: None,
            error: e.into(),
        }
    }
}

impl From<HandlerError> for Failure {
    fn from(error: HandlerError) -> Self {
        Self {
            handler: None,
            error,
        }
    }
}

/// Most deliveries of one lane handled in one transaction.
const BATCH_MAX: usize = 128;

/// A decoded delivery of a batch.
pub(super) struct Item {
    pub delivery: Delivery,
    pub message: Message,
}

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
                    self.dead_letter(ctx, &delivery, attempt, &reason, "-")
                        .await?;
                    continue;
                }
            };
            if self.reject_unknown && self.handlers.matching(&message.topic).next().is_none() {
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

    /// Run [`attempt`](Self::attempt) until it gets an answer from the
    /// database: while PostgreSQL cannot be reached, the deliveries wait in
    /// the lane, unacknowledged, and no attempt is used up.
    pub(super) async fn commit(
        &self,
        ctx: &Ctx<'_>,
        items: &[&Item],
        calls: &[Ran],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<Result<Vec<Settled>, Failure>, Abandoned> {
        let limit = store::CALL_TIMEOUT;
        loop {
            let attempt = tokio::select! {
                a = tokio::time::timeout(limit, self.attempt(items, calls, received_at, started)) => a,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            let why = match attempt {
                Ok(Err(Failure {
                    error: HandlerError::Unavailable(why),
                    ..
                })) => why,
                Ok(answer) => return Ok(answer),
                Err(_) => {
                    // Slow, or frozen? Only a database that answers a fresh
                    // connection makes it the handler's own failure.
                    let limit = humantime::format_duration(limit);
                    match store::ping(&self.pool, self.ping_timeout).await {
                        Ok(()) => {
                            return Ok(Err(HandlerError::Retry(format!(
                                "the transaction took longer than {limit}"
                            ))
                            .into()));
                        }
                        Err(e) => format!("no answer within {limit} ({e})"),
                    }
                }
            };
            self.wait_for_database(ctx, why).await?;
        }
    }

    /// Hold the lane until PostgreSQL answers a fresh connection again.
    pub(super) async fn wait_for_database(
        &self,
        ctx: &Ctx<'_>,
        mut why: String,
    ) -> Result<(), Abandoned> {
        if !self.db_down.swap(true, Ordering::SeqCst) {
            warn!(error = %why, "PostgreSQL is unavailable; holding deliveries (no attempt is \
                used up) until it answers");
        }
        let mut backoff = Backoff::reconnect();
        loop {
            ctx.stage.working(format!("waiting for PostgreSQL: {why}"));
            let pinged = tokio::select! {
                p = store::ping(&self.pool, self.ping_timeout) => p,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            match pinged {
                Ok(()) => {
                    if self.db_down.swap(false, Ordering::SeqCst) {
                        info!("PostgreSQL answers again; consuming");
                    }
                    return Ok(());
                }
                Err(e) => why = e.to_string(),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_delay()) => {}
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            }
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

    /// One transaction: record every delivery, run the handlers of the new
    /// ones, stamp them, commit.
    /// `calls` (by position, when given) are the calls out already made for
    /// the items; they count as handled.
    async fn attempt(
        &self,
        items: &[&Item],
        calls: &[Ran],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<Vec<Settled>, Failure> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        store::set_local(&mut tx, &self.local)
            .await
            .map_err(StoreError::from)?;
        let records: Vec<NewConsumption> = items
            .iter()
            .map(|i| NewConsumption {
                message_id: i.message.message_id,
                topic: &i.message.topic,
                queue: &self.queue,
                received_at,
                delivery_attempt: i32::try_from(i.message.attempt).unwrap_or(i32::MAX),
                redelivered: i.message.redelivered,
                traceparent: i.message.traceparent.as_deref(),
            })
            .collect();
        let new = inbox::record(&mut tx, &self.name, &records).await?;
        // A saga command seen before still gets its reply (it may have been
        // sent again because the first reply was late), with what its
        // handlers handed on then.
        let again: Vec<MessageId> = items
            .iter()
            .zip(&new)
            .filter(|(i, n)| n.is_none() && self.replies(&i.message))
            .map(|(i, _)| i.message.message_id)
            .collect();
        let earlier = if again.is_empty() {
            Default::default()
        } else {
            inbox::outputs(&mut tx, &self.name, &again).await?
        };
        let mut outcomes = Vec::with_capacity(items.len());
        let mut done = Vec::new();
        // Replies to saga commands, written together once the effects ran.
        let mut replies = Vec::new();
        let mut new = new;
        let mut n = 0;
        while n < items.len() {
            let m = &items[n].message;
            let Some(recorded) = new[n].take() else {
                if self.replies(m) {
                    let output = earlier.get(&m.message_id).cloned();
                    replies.extend(reply(m, Ok(output)));
                }
                outcomes.push(Settled::Duplicate);
                n += 1;
                continue;
            };
            // A handler that does a run of messages in fewer statements gets
            // this message and the new ones after it that only it handles.
            if let Some(route) = self.batching(m) {
                new[n] = Some(recorded);
                let len = items[n..]
                    .iter()
                    .zip(&new[n..])
                    .skip(1)
                    .take_while(|(i, r)| {
                        r.is_some()
                            && self
                                .batching(&i.message)
                                .is_some_and(|other| Arc::ptr_eq(&other, &route))
                    })
                    .count()
                    + 1;
                let run: Vec<&Message> = items[n..n + len].iter().map(|i| &i.message).collect();
                let Effect::InDatabase(handler) = &route.effect else {
                    unreachable!("only handlers in the database batch");
                };
                let began = Instant::now();
                let outs = handler
                    .handle_all(&mut tx, &run)
                    .await
                    .map_err(|e| Failure {
                        handler: Some(route.clone()),
                        error: e.of(&route.name),
                    })?;
                if outs.len() != len {
                    return Err(Failure {
                        handler: Some(route.clone()),
                        error: HandlerError::Retry(format!(
                            "handler {} answered {} of a run of {len} messages",
                            route.name,
                            outs.len()
                        )),
                    });
                }
                // The run's time, shared out.
                let took = began.elapsed() / len as u32;
                for (k, out) in outs.into_iter().enumerate() {
                    let recorded = new[n + k].take().expect("the run has only new messages");
                    let mut ran = calls.get(n + k).cloned().unwrap_or_default();
                    ran.push((route.clone(), took, out));
                    let m = &items[n + k].message;
                    let (finished, outcome) =
                        self.finished(m, recorded, ran, started, &mut replies);
                    done.push(finished);
                    outcomes.push(outcome);
                }
                n += len;
                continue;
            }
            let mut ran = calls.get(n).cloned().unwrap_or_default();
            for route in self.handlers.matching(&m.topic) {
                let Effect::InDatabase(handler) = &route.effect else {
                    continue;
                };
                let began = Instant::now();
                let output = handler.handle(&mut tx, m).await.map_err(|e| Failure {
                    handler: Some(route.clone()),
                    error: e.of(&route.name),
                })?;
                ran.push((route.clone(), began.elapsed(), output));
            }
            let (finished, outcome) = self.finished(m, recorded, ran, started, &mut replies);
            done.push(finished);
            outcomes.push(outcome);
            n += 1;
        }
        store::saga::send(&mut tx, &replies).await?;
        inbox::finish(&mut tx, &self.name, &done).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcomes)
    }

    /// A message whose handlers ran: its history row's stamp, its reply
    /// (added to `replies`) and its outcome.
    fn finished(
        &self,
        m: &Message,
        recorded: inbox::Recorded,
        ran: Ran,
        started: Instant,
        replies: &mut Vec<store::saga::Outgoing>,
    ) -> (inbox::Finished, Settled) {
        // What the last handler that handed something on handed on.
        let output = ran.iter().rev().find_map(|(.., d)| d.output.clone());
        if self.replies(m) {
            replies.extend(reply(m, Ok(output.clone())));
        }
        let finished = inbox::Finished {
            recorded,
            processing_ms: started.elapsed().as_secs_f64() * 1000.0,
            output,
        };
        (finished, Settled::Processed(ran))
    }

    /// The handler that takes runs of messages like `m`: `m`'s only handler
    /// in the database, when it [batches](crate::flow::handlers::Handler::batches).
    fn batching(&self, m: &Message) -> Option<Arc<Route>> {
        let mut routes = self
            .handlers
            .matching(&m.topic)
            .filter(|r| matches!(&r.effect, Effect::InDatabase(_)));
        let route = routes.next()?;
        let Effect::InDatabase(handler) = &route.effect else {
            return None;
        };
        (handler.batches() && routes.next().is_none()).then(|| route.clone())
    }

    /// Whether this consumer answers `m`: a saga command that some handler
    /// of this queue serves.
    fn replies(&self, m: &Message) -> bool {
        m.saga.is_some() && self.handlers.matching(&m.topic).next().is_some()
    }

    pub(super) fn count(&self, topic: &str, outcome: &'static str) {
        metrics::counter!("outbox_consumer_messages_total", "queue" => self.queue.clone(),
            "topic" => topic.to_string(), "outcome" => outcome)
        .increment(1);
    }
}

pub(super) fn count_handler(route: &Route, outcome: &'static str) {
    metrics::counter!("outbox_handler_messages_total", "handler" => route.name.clone(),
        "kind" => route.kind, "outcome" => outcome)
    .increment(1);
}
