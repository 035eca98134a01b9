//! One transaction of the consumer: record every delivery of a run in
//! `consumed_messages` — a message recorded before is a duplicate and runs
//! nothing — run the handlers of the new ones in the same transaction, write
//! the replies of saga commands, stamp the history, commit. A reply to a
//! saga command must commit with its effect: the saga must learn of an
//! effect exactly when it happened. What the transaction came to is for
//! `outcome` to act on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::consumer::{Abandoned, Consumer, Ctx};
use super::fence;
use super::message::reply;
use crate::broker::Delivery;
use crate::flow::handlers::{Done, Effect, HandlerError, Message, Route};
use crate::model::{MessageId, saga};
use crate::store::inbox::{self, NewConsumption};
use crate::store::{self, StoreError};

/// The handlers that ran for a message, and how long each took.
pub(super) type Ran = Vec<(Arc<Route>, Duration, Done)>;

/// What a committed delivery was.
#[derive(Clone)]
pub(super) enum Settled {
    /// New: its handlers ran, each this long.
    Processed(Ran),
    /// Recorded before: nothing ran.
    Duplicate,
    /// A saga command its saga has moved past (why): nothing ran.
    Stale(String),
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

/// A decoded delivery of a batch.
pub(super) struct Item {
    pub delivery: Delivery,
    pub message: Message,
}

impl Consumer {
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
                queue: &self.settings.queue,
                received_at,
                delivery_attempt: i32::try_from(i.message.attempt).unwrap_or(i32::MAX),
                redelivered: i.message.redelivered,
                traceparent: i.message.traceparent.as_deref(),
            })
            .collect();
        let new = inbox::record(&mut tx, &self.settings.name, &records).await?;
        // A saga command whose saga has moved on runs nothing — unless its
        // calls out were made already (that effect happened: the reply says so).
        let messages: Vec<&Message> = items.iter().map(|i| &i.message).collect();
        let unran = |n: usize| new[n].is_some() && calls.get(n).is_none_or(|r| r.is_empty());
        let stale = self.stale(&mut tx, &messages, unran, true).await?;
        let mut fenced = Vec::new();
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
            inbox::outputs(&mut tx, &self.settings.name, &again).await?
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
                let output = earlier.get(&m.message_id).cloned();
                if self.replies(m) && !fence::was_stale(output.as_ref()) {
                    replies.extend(reply(m, Ok(output)));
                }
                outcomes.push(Settled::Duplicate);
                n += 1;
                continue;
            };
            if let (Some(why), Some(r)) = (&stale[n], &m.saga) {
                fenced.push(fence::record(r, m.message_id.0, &self.settings.name, why));
                done.push(inbox::Finished {
                    recorded,
                    processing_ms: started.elapsed().as_secs_f64() * 1000.0,
                    output: Some(fence::output(why)),
                });
                outcomes.push(Settled::Stale(why.clone()));
                n += 1;
                continue;
            }
            // A handler that does a run of messages in fewer statements gets
            // this message and the new ones after it that only it handles.
            if let Some(route) = self.batching(m) {
                new[n] = Some(recorded);
                let len = items[n..]
                    .iter()
                    .zip(&new[n..])
                    .zip(&stale[n..])
                    .skip(1)
                    .take_while(|((i, r), stale)| {
                        r.is_some()
                            && stale.is_none()
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
        store::saga::record_stale(&mut tx, &fenced).await?;
        inbox::finish(&mut tx, &self.settings.name, &done).await?;
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
        replies: &mut Vec<saga::Outgoing>,
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
}
