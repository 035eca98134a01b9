//! `bench drain`: a backlog relayed to RabbitMQ, next to the broker's own
//! confirmed-publish rate for the same messages without a database.

use std::time::Instant;

use super::{Lab, Report, TOPIC, payload, progress};
use crate::broker::bench::RawMessage;
use crate::cli::BenchArgs;
use crate::store::bench as sql;

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let n = args.events.unwrap_or(100_000);
    let bytes = args.payload_bytes as usize;
    let mut r = Report::new("drain");
    r.setting("events", n);
    r.setting("payload", format!("{bytes} bytes of JSON"));
    r.setting(
        "partition keys",
        if args.keys == 0 {
            "one per row".to_string()
        } else {
            args.keys.to_string()
        },
    );
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    r.setting(
        "relay",
        format!(
            "batch {} × {} workers",
            lab.config.relay.batch_size, lab.config.relay.workers
        ),
    );

    // The broker's limit: the same messages, pipelined, no database.
    let body = serde_json::to_vec(&payload(0, bytes))?;
    let messages = (0..n).map(|_| RawMessage {
        message_id: uuid::Uuid::new_v4().to_string(),
        message_type: TOPIC.into(),
        body: body.clone(),
    });
    let bar = progress(n, "raw publish");
    let raw = lab
        .broker
        .publish_stream(
            &lab.config.broker.exchange,
            TOPIC,
            messages.inspect(|_| bar.inc(1)),
            1000,
        )
        .await?;
    bar.finish_and_clear();
    let raw_rate = n as f64 / raw.as_secs_f64();
    lab.broker.purge_queue(lab.queue()).await?;

    let started = Instant::now();
    sql::load_backlog(&lab.pool, TOPIC, n, bytes, args.keys).await?;
    let load_rate = n as f64 / started.elapsed().as_secs_f64();

    let bar = progress(n, "relay");
    let started = Instant::now();
    let mut relay = lab.start("relay", &["relay", "--once"])?;
    // Counting sent rows costs the database: only for a visible bar.
    let watch = async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if !bar.is_hidden()
                && let Ok(sent) = sql::sent_count(&lab.pool).await
            {
                bar.set_position(sent as u64);
            }
        }
    };
    tokio::select! {
        done = relay.wait() => done?,
        _ = watch => unreachable!("the watch loops forever"),
    }
    let relay_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let relay_rate = n as f64 / relay_secs;

    let sent = sql::sent_count(&lab.pool).await? as u64;
    let delivered = lab
        .broker
        .queue_stats(lab.queue())
        .await?
        .map_or(0, |s| s.ready);
    if sent != n {
        r.problem(format!("{sent} of {n} rows were marked sent"));
    }
    if delivered < sent {
        r.problem(format!(
            "{sent} rows marked sent but only {delivered} messages reached the queue"
        ));
    }
    lab.broker.purge_queue(lab.queue()).await?;

    let ratio = relay_rate / raw_rate;
    let rss = relay.peak_mib();
    r.figure("load (rows/s)", load_rate.round());
    r.figure("raw confirmed publish (msg/s)", raw_rate.round());
    r.figure("relay drain (events/s)", relay_rate.round());
    r.figure("relay / raw", ratio);
    r.figure("relay peak RSS (MiB)", rss);
    r.figure("messages delivered", delivered as f64);
    r.target(format!("relay ≥ 0.8 × raw (got {ratio:.2})"), ratio >= 0.8);
    r.target(
        format!(
            "relay RSS under 64 MiB (got {rss:.1} MiB for {n} rows; the target is for 1,000,000)"
        ),
        rss < 64.0,
    );
    Ok(r)
}
