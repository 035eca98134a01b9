//! A lane of the consumer: the deliveries of its keys, one batch after the
//! other — one transaction per batch (each message again on its own when
//! the batch fails), then acknowledge, retry later or dead-letter.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::Value;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{Abandoned, Consumer, Lost};
use crate::backoff::Backoff;
use crate::broker::consume::headers;
use crate::broker::{BrokerError, Delivery, Forwarder};
use crate::flow::handlers::{Effect, HandlerError, Message, Route};
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
struct Ctx<'a> {
    forwarder: &'a Forwarder,
    stage: &'a Stage,
    lost: &'a Lost,
}

impl Ctx<'_> {
    /// The outcome of a call to the broker: a lost connection ends the
    /// session; a delivery whose copy could not be forwarded goes back.
    fn broker(&self, result: Result<(), BrokerError>) -> Result<(), Abandoned> {
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
type Ran = Vec<(Arc<Route>, Duration)>;

/// What a committed delivery was.
#[derive(Clone)]
enum Settled {
    /// New: its handlers ran, each this long.
    Processed(Ran),
    /// Recorded before: nothing ran.
    Duplicate,
}

/// Why a transaction did not commit, and which handler said so (none when
/// the consumer's own statements failed).
struct Failure {
    handler: Option<Arc<Route>>,
    error: HandlerError,
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
struct Item {
    delivery: Delivery,
    message: Message,
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
    async fn one(
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

    /// Messages with handlers that act outside the database (webhooks,
    /// commands): skip what was recorded before, make the calls — the keys
    /// side by side, each key's messages in order — then record the
    /// successes in one transaction. A call is never repeated for a message
    /// whose consumption committed; one that succeeded but could not be
    /// recorded is made again on redelivery (at least once).
    async fn call_out(
        &self,
        ctx: &Ctx<'_>,
        items: &[Item],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<(), Abandoned> {
        let ids: Vec<MessageId> = items.iter().map(|i| i.message.message_id).collect();
        let known = loop {
            let asked = tokio::select! {
                k = store::bounded(store::CALL_TIMEOUT, inbox::recorded(&self.pool, &self.name, &ids)) => k,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            match asked {
                Ok(k) => break k,
                Err(e) if e.is_transient() => self.wait_for_database(ctx, e.to_string()).await?,
                // Not known to be recorded: the transaction below will tell.
                Err(_) => break Default::default(),
            }
        };
        // One group per key, in order; a message without a key is a group
        // of its own.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut of_key: std::collections::HashMap<&str, usize> = Default::default();
        for (n, item) in items.iter().enumerate() {
            if known.contains(&item.message.message_id) {
                continue;
            }
            match item.message.partition_key.as_deref() {
                Some(key) => {
                    let g = *of_key.entry(key).or_insert_with(|| {
                        groups.push(Vec::new());
                        groups.len() - 1
                    });
                    groups[g].push(n);
                }
                None => groups.push(vec![n]),
            }
        }
        let stage = ctx.stage;
        let calls = groups.into_iter().map(|indexes| async move {
            let mut results = Vec::with_capacity(indexes.len());
            for n in indexes {
                results.push((n, self.calls(&items[n].message).await));
                // A slow receiver is not a stalled consumer.
                stage.progressed();
            }
            results
        });
        let results = tokio::select! {
            r = futures_util::future::join_all(calls) => r,
            _ = ctx.lost.token.cancelled() => return Err(Abandoned),
        };
        let mut outcomes: Vec<Option<Result<Ran, Failure>>> =
            (0..items.len()).map(|_| None).collect();
        for (n, result) in results.into_iter().flatten() {
            outcomes[n] = Some(result);
        }
        let mut ok = Vec::new();
        let mut ran = Vec::new();
        let mut failed = Vec::new();
        for (item, outcome) in items.iter().zip(outcomes) {
            match outcome {
                // Recorded before: the transaction counts the duplicate.
                None => {
                    ok.push(item);
                    ran.push(Vec::new());
                }
                Some(Ok(r)) => {
                    ok.push(item);
                    ran.push(r);
                }
                Some(Err(f)) => failed.push((item, f)),
            }
        }
        match self.commit(ctx, &ok, &ran, received_at, started).await? {
            Ok(settled) => {
                for (item, outcome) in ok.iter().zip(settled) {
                    self.settled(ctx, item, outcome, started).await?;
                }
            }
            Err(f) => {
                debug!(error = %f.error, size = ok.len(), "recording the calls failed; one by one");
                for (item, r) in ok.into_iter().zip(ran) {
                    self.one(ctx, item, r, received_at, started).await?;
                }
            }
        }
        for (item, f) in failed {
            self.failed(ctx, item, f).await?;
        }
        Ok(())
    }

    /// Every call out of a message's handlers, in order; the first failure.
    async fn calls(&self, m: &Message) -> Result<Ran, Failure> {
        let mut ran = Vec::new();
        for route in self.handlers.matching(&m.topic) {
            let Effect::Outside(call) = &route.effect else {
                continue;
            };
            let began = Instant::now();
            call.call(m).await.map_err(|e| Failure {
                handler: Some(route.clone()),
                error: e.of(&route.name),
            })?;
            ran.push((route.clone(), began.elapsed()));
        }
        Ok(ran)
    }

    /// Run [`attempt`](Self::attempt) until it gets an answer from the
    /// database: while PostgreSQL cannot be reached, the deliveries wait in
    /// the lane, unacknowledged, and no attempt is used up.
    async fn commit(
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
    async fn wait_for_database(&self, ctx: &Ctx<'_>, mut why: String) -> Result<(), Abandoned> {
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
    async fn settled(
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
            for (route, took) in ran {
                count_handler(route, "processed");
                metrics::histogram!("outbox_handler_duration_seconds", "handler" => route.name.clone())
                    .record(took.as_secs_f64());
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

    /// Rolled back: retry later, or dead-letter.
    async fn failed(&self, ctx: &Ctx<'_>, item: &Item, failure: Failure) -> Result<(), Abandoned> {
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
            HandlerError::RetryAfter(reason, after) => (reason, after.max(self.retry_delay)),
            HandlerError::Retry(reason) | HandlerError::Unavailable(reason) => {
                (reason, self.retry_delay)
            }
        };
        if attempt >= self.max_attempts {
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
        let mut outcomes = Vec::with_capacity(items.len());
        let mut done = Vec::new();
        for (n, (item, new)) in items.iter().zip(new).enumerate() {
            let Some(recorded) = new else {
                outcomes.push(Settled::Duplicate);
                continue;
            };
            let mut ran = calls.get(n).cloned().unwrap_or_default();
            for route in self.handlers.matching(&item.message.topic) {
                let Effect::InDatabase(handler) = &route.effect else {
                    continue;
                };
                let began = Instant::now();
                if let Err(e) = handler.handle(&mut tx, &item.message).await {
                    return Err(Failure {
                        handler: Some(route.clone()),
                        error: e.of(&route.name),
                    });
                }
                ran.push((route.clone(), began.elapsed()));
            }
            done.push((recorded, started.elapsed().as_secs_f64() * 1000.0));
            outcomes.push(Settled::Processed(ran));
        }
        inbox::finish(&mut tx, &self.name, &done).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcomes)
    }

    async fn dead_letter(
        &self,
        ctx: &Ctx<'_>,
        delivery: &Delivery,
        attempt: u32,
        reason: &str,
        topic: &str,
    ) -> Result<(), Abandoned> {
        match ctx
            .forwarder
            .dead_letter(delivery, topic, attempt, reason)
            .await
        {
            Ok(()) => {
                self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                self.count(topic, "dead_lettered");
                ctx.broker(delivery.ack().await)
            }
            Err(e) => self.give_back(ctx, delivery, e).await,
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

    fn count(&self, topic: &str, outcome: &'static str) {
        metrics::counter!("outbox_consumer_messages_total", "queue" => self.queue.clone(),
            "topic" => topic.to_string(), "outcome" => outcome)
        .increment(1);
    }
}

fn count_handler(route: &Route, outcome: &'static str) {
    metrics::counter!("outbox_handler_messages_total", "handler" => route.name.clone(),
        "kind" => route.kind, "outcome" => outcome)
    .increment(1);
}

/// Attempt number of a delivery: 1, or what our retry header says. Only a
/// handler's own failure moves it on; a redelivery after a crash or a lost
/// connection is the same attempt again.
fn attempt_of(d: &Delivery) -> u32 {
    let n = d.header_i64(headers::ATTEMPT).unwrap_or(1).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn decode(d: &Delivery, attempt: u32) -> Result<Message, String> {
    let raw_id = d.message_id().ok_or("no message-id property")?;
    let message_id = raw_id
        .parse::<MessageId>()
        .map_err(|_| format!("message-id {raw_id:?} is not a UUID"))?;
    let payload: Value =
        serde_json::from_slice(&d.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let topic = d.message_type().unwrap_or(&d.routing_key).to_string();
    if topic.is_empty() {
        return Err("no topic (type property or routing key)".into());
    }
    Ok(Message {
        message_id,
        topic,
        payload,
        body: d.body.clone(),
        headers: d.headers_json(),
        attempt,
        redelivered: d.redelivered,
        partition_key: d.header_str(outbox_headers::PARTITION_KEY),
        traceparent: d
            .header_str(outbox_headers::TRACEPARENT)
            .filter(|t| crate::telemetry::TraceContext::parse(t).is_some()),
        created_at_ms: d.header_i64(outbox_headers::CREATED_AT_MS),
    })
}
