//! `bench consume`: preloaded upload.created messages consumed (history row
//! and handler per message), next to a consumer that only acknowledges and
//! to the database's own single-row transaction rate at the same concurrency.

use std::time::{Duration, Instant};

use super::api::{PNG, load};
use super::{Lab, Report, progress};
use crate::broker::bench::RawMessage;
use crate::cli::BenchArgs;
use crate::model::UploadCreated;
use crate::store::bench as sql;

/// A consumer that makes no progress this long has failed the run.
const STALL: Duration = Duration::from_secs(30);

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let n = args.events.unwrap_or(20_000);
    let c = args.concurrency.unwrap_or(lab.config.consumer.concurrency);
    let prefetch = lab.config.consumer.prefetch;
    let mut r = Report::new("consume");
    r.setting("messages", n);
    r.setting("concurrency", c);
    r.setting("prefetch", prefetch);
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    r.setting(
        "handler",
        format!("upload.created on a {}-byte PNG", PNG.len()),
    );

    let uploads = sql::load_uploads(&lab.pool, n, PNG, "image/png").await?;
    let messages = || {
        uploads.iter().map(|(message_id, event)| RawMessage {
            message_id: message_id.to_string(),
            message_type: UploadCreated::TOPIC.into(),
            body: serde_json::to_vec(event).expect("an event serializes"),
        })
    };
    let exchange = lab.config.broker.exchange.clone();

    // Baseline 1: acknowledge and nothing else.
    lab.broker
        .publish_stream(&exchange, "upload.created", messages(), 1000)
        .await?;
    let raw = lab.broker.drain_and_ack(lab.queue(), n, prefetch).await?;
    let raw_rate = n as f64 / raw.as_secs_f64();

    // Baseline 2: the database's own single-row transactions (for about as
    // long as the consumer will take, 1 to 5 s).
    let pool = lab.pool.clone();
    let window = Duration::from_secs_f64((n as f64 / 2000.0).clamp(1.0, 5.0));
    let db = load(c, window, move |_| {
        let pool = pool.clone();
        async move {
            sql::single_row_transaction(&pool, "bench-baseline")
                .await
                .is_ok()
        }
    })
    .await;

    // The consumer.
    lab.broker
        .publish_stream(&exchange, "upload.created", messages(), 1000)
        .await?;
    let name = lab.config.consumer_name().to_string();
    let concurrency = c.to_string();
    let bar = progress(n, "consume");
    let started = Instant::now();
    let mut consume = lab.start("consume", &["consume", "--concurrency", &concurrency])?;
    let (mut last, mut moved) = (0, Instant::now());
    loop {
        consume.alive()?;
        let done = sql::consumed_count(&lab.pool, &name).await? as u64;
        bar.set_position(done);
        if done >= n {
            break;
        }
        if done > last {
            (last, moved) = (done, Instant::now());
        } else if moved.elapsed() > STALL {
            anyhow::bail!(
                "the consumer processed {done} of {n} messages and nothing more for {}s — \
                 see its log above (were messages dead-lettered?)",
                STALL.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    consume.stop().await?;
    let rate = n as f64 / secs;

    let processed = sql::uploads_in(&lab.pool, "processed").await? as u64;
    if processed != n {
        r.problem(format!("{processed} of {n} uploads were processed"));
    }
    let ratio = rate / db.rate();
    r.figure("consumer (messages/s)", rate.round());
    r.figure("bare acks (messages/s)", raw_rate.round());
    r.figure("db single-row transactions (/s)", db.rate().round());
    r.figure("consumer / db transactions", ratio);
    r.figure("consumer / bare acks", rate / raw_rate);
    r.figure("consumer peak RSS (MiB)", consume.peak_mib());
    r.figure("uploads processed", processed as f64);
    r.target(
        format!("consumer ≥ 0.7 × the database's single-row transaction rate at concurrency {c} (got {ratio:.2})"),
        ratio >= 0.7,
    );
    Ok(r)
}
