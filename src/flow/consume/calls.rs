//! A run of messages with handlers that act outside the database
//! (webhooks, commands): the calls are made before the consumption is
//! recorded, and only successes are — in one transaction (`transaction`);
//! `outcome` acts on each message's result.

use std::time::Instant;

use chrono::Utc;
use tracing::debug;

use super::consumer::{Abandoned, Consumer, Ctx};
use super::transaction::{Failure, Item, Ran};
use crate::flow::handlers::{Effect, Message};
use crate::model::MessageId;
use crate::store::{self, StoreError, inbox};

impl Consumer {
    /// Messages with handlers that act outside the database (webhooks,
    /// commands): skip what was recorded before, make the calls — the keys
    /// side by side, each key's messages in order — then record the
    /// successes in one transaction. A call is never repeated for a message
    /// whose consumption committed; one that succeeded but could not be
    /// recorded is made again on redelivery (at least once).
    pub(super) async fn call_out(
        &self,
        ctx: &Ctx<'_>,
        items: &[Item],
        received_at: chrono::DateTime<Utc>,
        started: Instant,
    ) -> Result<(), Abandoned> {
        let ids: Vec<MessageId> = items.iter().map(|i| i.message.message_id).collect();
        let messages: Vec<&Message> = items.iter().map(|i| &i.message).collect();
        // What was recorded before is not called again; a saga command its
        // saga has moved past is not called at all (the transaction below
        // records it as stale).
        let look = || async {
            let known = inbox::recorded(&self.pool, &self.settings.name, &ids).await?;
            let mut conn = self.pool.acquire().await?;
            let fresh = |n: usize| !known.contains(&ids[n]);
            let stale = self.stale(&mut conn, &messages, fresh, false).await?;
            Ok::<_, StoreError>((known, stale))
        };
        let (known, stale) = loop {
            let asked = tokio::select! {
                k = store::bounded(store::CALL_TIMEOUT, look()) => k,
                _ = ctx.lost.token.cancelled() => return Err(Abandoned),
            };
            match asked {
                Ok(k) => break k,
                Err(e) if e.is_transient() => self.wait_for_database(ctx, e.to_string()).await?,
                // Not known: the transaction below will tell.
                Err(_) => break (Default::default(), vec![None; items.len()]),
            }
        };
        // One group per key, in order; a message without a key is a group
        // of its own.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut of_key: std::collections::HashMap<&str, usize> = Default::default();
        for (n, item) in items.iter().enumerate() {
            if known.contains(&item.message.message_id) || stale[n].is_some() {
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
                // Recorded before, or stale: the transaction counts the
                // duplicate, or records it as stale.
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
            let output = call.call(m).await.map_err(|e| Failure {
                handler: Some(route.clone()),
                error: e.of(&route.name),
            })?;
            ran.push((route.clone(), began.elapsed(), output));
        }
        Ok(ran)
    }
}
