//! `bench drain`: a backlog relayed to RabbitMQ, next to the broker's own
//! confirmed-publish rate for the same messages without a database.

use std::time::Instant;

use super::lab::{Lab, TOPIC, progress};
use super::report::Report;
use crate::cli::BenchArgs;
use crate::model::{Envelope, MessageId};
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
        "raw baseline",
        format!(
            "the relay's own messages (key, properties, headers, mandatory) on {} channels, \
             1000 unconfirmed on each, no database",
            lab.config.relay.workers
        ),
    );
    r.setting(
        "relay",
        format!(
            "batch {} × {} workers",
            lab.config.relay.batch_size, lab.config.relay.workers
        ),
    );

    // The broker's limit: the same messages, pipelined, no database —
    // measured before and after the relay, since the broker's rate drifts.
    let raw_before = raw_publish(lab, n, bytes, args.keys).await?;

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

    let raw_after = raw_publish(lab, n, bytes, args.keys).await?;
    let raw_rate = (raw_before + raw_after) / 2.0;
    let ratio = relay_rate / raw_rate;
    let rss = relay.peak_mib();
    r.figure("load (rows/s)", load_rate.round());
    r.figure("raw publish before the relay (msg/s)", raw_before.round());
    r.figure("raw publish after the relay (msg/s)", raw_after.round());
    r.figure("raw publish, mean of both (msg/s)", raw_rate.round());
    r.figure("relay drain (events/s)", relay_rate.round());
    r.figure("relay / raw", ratio);
    r.figure("relay peak RSS (MiB)", rss);
    r.figure("messages delivered", delivered as f64);
    r.target(
        format!("relay ≥ 0.85 × raw (got {ratio:.2})"),
        ratio >= 0.85,
    );
    r.target(
        format!(
            "relay RSS under 64 MiB (got {rss:.1} MiB for {n} rows; the target is for 1,000,000)"
        ),
        rss < 64.0,
    );
    Ok(r)
}

/// Publish `n` messages straight to the lab's exchange — the very messages
/// the relay publishes for a backlog of [`sql::load_backlog`] (routing key,
/// properties, headers, mandatory flag, body and size) — on as many
/// confirm-mode channels as the relay has workers, each with a sliding window
/// of 1,000 unconfirmed messages (the relay's batch), and no database; returns
/// messages/s. Leaves the queue empty.
pub(super) async fn raw_publish(lab: &Lab, n: u64, bytes: usize, keys: u64) -> anyhow::Result<f64> {
    // The body as PostgreSQL renders the backlog's jsonb.
    let pad = bytes
        .saturating_sub(r#"{"n":1000000,"pad":""}"#.len())
        .max(1);
    let pad = "x".repeat(pad);
    let channels = u64::from(lab.config.relay.workers.max(1));
    let row = |i: u64| Envelope {
        id: i as i64,
        message_id: MessageId::new(),
        topic: TOPIC.into(),
        partition_key: Some(if keys == 0 {
            format!("{:032x}", rand::random::<u128>())
        } else {
            format!("k{}", i % keys)
        }),
        payload: format!(r#"{{"n": {i}, "pad": "{pad}"}}"#),
        headers: serde_json::json!({}),
        traceparent: None,
        created_at: chrono::Utc::now(),
        attempts: 0,
    };
    let bar = progress(n, "raw publish");
    let started = std::time::Instant::now();
    let publishers = (0..channels).map(|c| {
        let rows = (1..=n).filter(move |i| i % channels == c).map(row);
        let bar = &bar;
        lab.broker.publish_rows(
            &lab.config.broker.exchange,
            rows.inspect(move |_| bar.inc(1)),
            1000,
        )
    });
    for done in futures_util::future::join_all(publishers).await {
        done?;
    }
    let took = started.elapsed();
    bar.finish_and_clear();
    lab.broker.purge_queue(lab.queue()).await?;
    Ok(n as f64 / took.as_secs_f64())
}
