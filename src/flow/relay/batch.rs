//! One batch of the relay: claim, publish in waves, record what the broker
//! said, commit (see the module documentation of `relay`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::relayer::{BatchReport, Relay, RelayError, db, sql};
use crate::backoff::Backoff;
use crate::broker::Publisher;
use crate::model::{Envelope, PublishFailure, PublishOutcome};
use crate::store::outbox;
use crate::watchdog::Stage;

/// What the broker said of a batch's rows.
#[derive(Default)]
struct Published {
    /// Rows confirmed, to mark sent.
    confirmed: Vec<i64>,
    /// Rows that did not go out, to record.
    failures: Vec<PublishFailure>,
    waves: usize,
    /// Time spent publishing and awaiting confirms.
    took: Duration,
}

impl Relay {
    /// One claim → publish → record cycle. See the module documentation.
    pub(super) async fn relay_batch(
        &self,
        publisher: &mut Publisher,
        lanes: u32,
        token: &CancellationToken,
        stage: &Stage,
    ) -> Result<BatchReport, RelayError> {
        let started = Instant::now();
        stage.working("claiming a batch");
        let mut tx = sql(self.pool.begin()).await?;
        sql(crate::store::set_local(&mut tx, &self.local)).await?;
        let outbox::Claim { rows, busy } =
            db(outbox::claim_batch(&mut tx, self.batch_size, lanes)).await?;
        let claim_time = started.elapsed();
        if rows.is_empty() {
            sql(tx.rollback()).await?;
            return Ok(BatchReport {
                busy,
                ..BatchReport::default()
            });
        }
        stage_seconds("claim", claim_time);
        stage.working(format!(
            "publishing {} rows and awaiting their confirms",
            rows.len()
        ));
        let published = self.publish(publisher, &rows, token, started).await;

        stage.working("recording the batch");
        let mark_started = Instant::now();
        db(outbox::mark_sent(&mut tx, &published.confirmed)).await?;
        let dead = db(outbox::record_failures(
            &mut tx,
            &published.failures,
            self.max_attempts,
        ))
        .await?;
        sql(tx.commit()).await?;
        stage_seconds("mark", mark_started.elapsed());

        let report = BatchReport {
            claimed: rows.len(),
            sent: published.confirmed.len(),
            failed: published.failures.len(),
            dead: dead.len(),
            released: rows.len() - published.confirmed.len() - published.failures.len(),
            waves: published.waves,
            busy: false,
        };
        self.account(&report, &dead, started, claim_time, published.took);
        Ok(report)
    }

    /// Publish claimed rows (in id order) in waves until all are out, the
    /// connection is lost, shutdown is asked for, or the batch's time is up
    /// (after one wave at least): each wave's rows in flight together, at
    /// most one row per key, none of a key whose row failed.
    async fn publish(
        &self,
        publisher: &mut Publisher,
        rows: &[Envelope],
        token: &CancellationToken,
        started: Instant,
    ) -> Published {
        let mut out = Published::default();
        let mut remaining: Vec<&Envelope> = rows.iter().collect();
        let mut failed_keys: HashSet<&str> = HashSet::new();
        let mut blocked = false;
        while !remaining.is_empty()
            && publisher.is_usable()
            && !(out.waves > 0 && (token.is_cancelled() || started.elapsed() > self.batch_budget))
        {
            let (wave, rest) = next_wave(remaining, &failed_keys);
            remaining = rest;
            if wave.is_empty() {
                break;
            }
            out.waves += 1;
            let confirm_started = Instant::now();
            let published = publisher.publish(&wave).await;
            out.took += confirm_started.elapsed();
            metrics::histogram!("outbox_relay_confirm_latency_seconds")
                .record(confirm_started.elapsed().as_secs_f64());
            stage_seconds("publish", published.timing.handed_over);
            stage_seconds("confirm", published.timing.confirm);
            for (row, outcome) in wave.iter().zip(published.outcomes) {
                if outcome == PublishOutcome::Confirmed {
                    debug!(message_id = %row.message_id, trace_id = trace_id(row), topic = %row.topic,
                        id = row.id, "published");
                    out.confirmed.push(row.id);
                    metrics::counter!("outbox_relay_published_total", "topic" => row.topic.clone())
                        .increment(1);
                    continue;
                }
                if let Some(key) = row.partition_key.as_deref() {
                    failed_keys.insert(key);
                }
                // A confirm that waited on the broker's block: the row goes
                // back as it was, no attempt used (the block is logged once).
                if outcome == PublishOutcome::TimedOut
                    && crate::broker::pressure::current().is_some()
                {
                    blocked = true;
                    continue;
                }
                out.failures.push(self.failure(row, &outcome));
            }
            if blocked {
                break;
            }
        }
        out
    }

    /// A row the broker did not take: counted, remembered for the next
    /// summary, and recorded with its backoff.
    fn failure(&self, row: &Envelope, outcome: &PublishOutcome) -> PublishFailure {
        metrics::counter!("outbox_relay_failed_total", "reason" => outcome.reason()).increment(1);

        let error = outcome.describe().unwrap_or_default();
        {
            let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            let f = failing
                .entry((row.topic.clone(), outcome.reason()))
                .or_default();
            f.count += 1;
            if f.rows.len() < 5 {
                f.rows.insert(row.id);
            }
            f.last_error.clone_from(&error);
        }
        debug!(id = row.id, message_id = %row.message_id, trace_id = trace_id(row),
            topic = %row.topic, reason = outcome.reason(), "publish failed");
        PublishFailure {
            id: row.id,
            error,
            retry_in: self.backoff(row.attempts + 1),
            give_up: matches!(outcome, PublishOutcome::Invalid(_)),
        }
    }

    /// A committed batch, told: dead rows at warn, metrics, the totals the
    /// summary reports, and the batch at debug.
    fn account(
        &self,
        report: &BatchReport,
        dead: &[i64],
        started: Instant,
        claim_time: Duration,
        publish_time: Duration,
    ) {
        for id in dead {
            warn!(
                id,
                "outbox row is dead after its last attempt; see `outboxctl outbox ls --dead`"
            );
        }
        metrics::counter!("outbox_relay_dead_total").increment(dead.len() as u64);
        metrics::histogram!("outbox_relay_batch_rows").record(report.claimed as f64);
        metrics::histogram!("outbox_relay_batch_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        {
            let mut t = self.totals.lock().unwrap_or_else(|e| e.into_inner());
            t.sent += report.sent as u64;
            t.failed += report.failed as u64;
            t.dead += report.dead as u64;
            t.waves += report.waves as u64;
        }
        debug!(
            claimed = report.claimed,
            sent = report.sent,
            failed = report.failed,
            dead = report.dead,
            released = report.released,
            waves = report.waves,
            claim_ms = claim_time.as_millis() as u64,
            claim_us = claim_time.as_micros() as u64,
            publish_ms = publish_time.as_millis() as u64,
            ms = started.elapsed().as_millis() as u64,
            "batch"
        );
    }

    /// Delay before attempt `attempt + 1`: exponential from `backoff_initial`,
    /// capped at `backoff_max`, with jitter so rows that failed together do
    /// not retry together.
    fn backoff(&self, attempt: i32) -> Duration {
        let attempt = u32::try_from(attempt).unwrap_or(1);
        Backoff::nth(self.backoff_initial, self.backoff_max, attempt)
    }
}

/// Time spent in one stage of a batch: `claim` (select and lock the rows),
/// `publish` (hand a wave to the connection), `confirm` (wait for the
/// broker's confirms of that wave), `mark` (record sent and failed rows, and
/// commit).
fn stage_seconds(stage: &'static str, took: Duration) {
    metrics::histogram!("outbox_relay_stage_seconds", "stage" => stage).record(took.as_secs_f64());
}

/// The trace id of a row's traceparent, or `-`.
fn trace_id(row: &Envelope) -> &str {
    row.traceparent
        .as_deref()
        .and_then(|t| t.split('-').nth(1))
        .unwrap_or("-")
}

/// Split rows (in id order) into the next wave — at most one row per key,
/// none of a key that failed — and the rows for later waves.
fn next_wave<'a>(
    rows: Vec<&'a Envelope>,
    failed_keys: &HashSet<&str>,
) -> (Vec<&'a Envelope>, Vec<&'a Envelope>) {
    let mut wave = Vec::new();
    let mut rest = Vec::new();
    let mut in_wave: HashSet<&str> = HashSet::new();
    for row in rows {
        match row.partition_key.as_deref() {
            None => wave.push(row),
            Some(key) if failed_keys.contains(key) => {}
            Some(key) if in_wave.insert(key) => wave.push(row),
            Some(_) => rest.push(row),
        }
    }
    (wave, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageId;

    fn row(id: i64, key: Option<&str>) -> Envelope {
        Envelope {
            id,
            message_id: MessageId::new(),
            topic: "t".into(),
            partition_key: key.map(str::to_string),
            payload: "{}".into(),
            headers: serde_json::json!({}),
            traceparent: None,
            created_at: chrono::Utc::now(),
            attempts: 0,
        }
    }

    #[test]
    fn a_wave_has_one_row_per_key_and_skips_failed_keys() {
        let rows = [
            row(1, Some("a")),
            row(2, Some("a")),
            row(3, None),
            row(4, Some("b")),
            row(5, None),
            row(6, Some("c")),
        ];
        let refs: Vec<&Envelope> = rows.iter().collect();
        let failed: HashSet<&str> = ["c"].into_iter().collect();
        let (wave, rest) = next_wave(refs, &failed);
        let ids = |v: &[&Envelope]| v.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&wave), [1, 3, 4, 5]);
        assert_eq!(ids(&rest), [2]);
    }
}
