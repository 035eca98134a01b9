//! `bench e2e`: events committed at a steady rate in single-row transactions
//! while the relayer and the consumer run; latency from each commit to the
//! consumer's commit, and whether every event arrived exactly once — counted
//! in the effects an `sql` handler writes to a table without a key, where a
//! message handled twice shows as two rows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::{Lab, Report, TOPIC, payload, percentile, progress};
use crate::cli::BenchArgs;
use crate::store::bench as sql;

pub async fn run(lab: &mut Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let rate = args.rate;
    let duration = args.duration.unwrap_or(Duration::from_secs(30));
    let total = ((rate as f64) * duration.as_secs_f64()).round().max(1.0) as u64;
    let bytes = args.payload_bytes as usize;
    let mut r = Report::new("e2e");
    r.setting(
        "rate",
        format!(
            "{rate} events/s for {}",
            humantime::format_duration(duration)
        ),
    );
    r.setting("events", total);
    r.setting("payload", format!("{bytes} bytes of JSON"));
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    r.setting(
        "relay poll interval",
        humantime::format_duration(lab.config.relay.interval),
    );

    sql::create_effects_table(&lab.pool).await?;
    lab.set_handlers(vec![super::effect_handler(lab)])?;
    r.setting("handler", format!("sql: {}", super::EFFECT_STATEMENT));

    let mut relay = lab.start("relay", &["relay"])?;
    let mut consume = lab.start("consume", &["consume"])?;
    let ready = async {
        loop {
            relay.alive()?;
            consume.alive()?;
            let listening = sql::relay_listening(&lab.pool).await?;
            let consumers = lab
                .broker
                .queue_stats(lab.queue())
                .await?
                .map_or(0, |s| s.consumers);
            if listening && consumers > 0 {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .map_err(|_| anyhow::anyhow!("the relayer and consumer were not ready within 30s"))??;

    // The producer's connections are opened before the clock starts, so
    // their set-up does not load the machine while the first events pass.
    crate::store::warm_up(&lab.pool, 32).await;

    // Produce: one single-row transaction per event, on a fixed schedule;
    // the commit instant is taken when COMMIT returns.
    let commits: Arc<Mutex<HashMap<Uuid, DateTime<Utc>>>> = Arc::new(Mutex::new(HashMap::new()));
    let inflight = Arc::new(Semaphore::new(64));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let bar = progress(total, "produce");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        ticker.tick().await;
        let permit = inflight.clone().acquire_owned().await?;
        let (pool, commits, body) = (lab.pool.clone(), commits.clone(), payload(i, bytes));
        tasks.spawn(async move {
            let id = Uuid::new_v4();
            let result = sql::insert_event(&pool, id, TOPIC, &id.to_string(), &body).await;
            let at = Utc::now();
            drop(permit);
            if result.is_ok() {
                commits.lock().expect("not poisoned").insert(id, at);
            }
            result
        });
        bar.inc(1);
    }
    let mut failed_inserts = 0;
    while let Some(done) = tasks.join_next().await {
        if !matches!(done, Ok(Ok(()))) {
            failed_inserts += 1;
        }
    }
    let produce_secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let committed = commits.lock().expect("not poisoned").len() as i64;

    // Wait for the consumer to catch up (or give up after a minute).
    let deadline = Instant::now() + Duration::from_secs(60);
    let consumer = lab.config.consumer_name().to_string();
    while sql::consumed_count(&lab.pool, &consumer).await? < committed && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    relay.stop().await?;
    consume.stop().await?;

    let consumed = sql::consumptions(&lab.pool).await?;
    let sent: HashMap<Uuid, DateTime<Utc>> =
        sql::sent_times(&lab.pool).await?.into_iter().collect();
    let commits = std::mem::take(&mut *commits.lock().expect("not poisoned"));
    let mut latencies = Vec::with_capacity(consumed.len());
    let mut duplicates = 0i64;
    let mut unknown = 0;
    for (id, committed_at, dups) in &consumed {
        duplicates += i64::from(*dups);
        match commits.get(id) {
            Some(at) => latencies
                .push((*committed_at - *at).num_microseconds().unwrap_or(0) as f64 / 1000.0),
            None => unknown += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    let lost = committed - latencies.len() as i64;
    // Where the time goes: commit → marked sent (relay), sent → consumed.
    let ms = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut relay_ms: Vec<f64> = commits
        .iter()
        .filter_map(|(id, at)| sent.get(id).map(|s| ms(*s - *at)))
        .collect();
    relay_ms.sort_by(f64::total_cmp);
    let mut consume_ms: Vec<f64> = consumed
        .iter()
        .filter_map(|(id, c, _)| sent.get(id).map(|s| ms(*c - *s)))
        .collect();
    consume_ms.sort_by(f64::total_cmp);
    // Effects, not consumption rows: the inbox's primary key would fold a
    // message handled twice into one row, the effects table keeps both.
    let (effects, distinct_effects) = sql::effects(&lab.pool).await?;
    let processed_twice = effects - distinct_effects;
    if distinct_effects != latencies.len() as i64 {
        r.problem(format!(
            "{distinct_effects} messages have an effect but {} were consumed",
            latencies.len()
        ));
    }

    r.figure("events committed", committed as f64);
    r.figure("events consumed", latencies.len() as f64);
    r.figure("lost", lost as f64);
    r.figure("effects", effects as f64);
    r.figure("processed twice", processed_twice as f64);
    r.figure("duplicate deliveries skipped", duplicates as f64);
    r.figure(
        "achieved rate (events/s)",
        (committed as f64 / produce_secs).round(),
    );
    r.figure("latency p50 (ms)", percentile(&latencies, 50.0));
    r.figure("latency p90 (ms)", percentile(&latencies, 90.0));
    r.figure("latency p99 (ms)", percentile(&latencies, 99.0));
    r.figure("latency max (ms)", latencies.last().copied().unwrap_or(0.0));
    r.figure("relay: commit → sent p50 (ms)", percentile(&relay_ms, 50.0));
    r.figure("relay: commit → sent p99 (ms)", percentile(&relay_ms, 99.0));
    r.figure(
        "consumer: sent → consumed p50 (ms)",
        percentile(&consume_ms, 50.0),
    );
    r.figure(
        "consumer: sent → consumed p99 (ms)",
        percentile(&consume_ms, 99.0),
    );
    r.figure("relay peak RSS (MiB)", relay.peak_mib());
    r.figure("consumer peak RSS (MiB)", consume.peak_mib());
    if failed_inserts > 0 {
        r.problem(format!("{failed_inserts} inserts failed"));
    }
    if lost > 0 {
        r.problem(format!(
            "{lost} committed events were not consumed within a minute"
        ));
    }
    if unknown > 0 {
        r.problem(format!("{unknown} consumed messages were never committed"));
    }
    let p99 = percentile(&latencies, 99.0);
    let max = latencies.last().copied().unwrap_or(0.0);
    r.target(format!("p99 ≤ 50 ms (got {p99:.1} ms)"), p99 <= 50.0);
    r.target(format!("max ≤ 250 ms (got {max:.1} ms)"), max <= 250.0);
    if processed_twice > 0 {
        r.problem(format!("{processed_twice} events were processed twice"));
    }
    r.target(
        format!("zero lost (got {lost}), zero processed twice (got {processed_twice})"),
        lost == 0 && processed_twice == 0,
    );
    Ok(r)
}
