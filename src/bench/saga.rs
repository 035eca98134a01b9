//! `bench saga`: N three-step sagas through a real `relay`, `consume` (each
//! step an sql INSERT, as a service would do) and `saga run`, next to plain
//! messages through the same relayer and consumer with the same INSERT, in
//! the same run.
//!
//! A three-step saga moves seven messages (start, then a command and a reply
//! per step), so the message rate divided by seven is the saga rate the
//! pipeline allows; the orchestrator's own work (a transition and the next
//! command per reply) is what the ratio measures. Latency is taken apart
//! from the backlog: sagas started one by one at a fifth of the measured
//! throughput (or `--rate`, to compare builds at one pace), from the start
//! event's commit to the instance's completion.

use std::time::{Duration, Instant};

use super::lab::{Lab, Process, payload, percentile, progress};
use super::report::Report;
use crate::cli::BenchArgs;
use crate::config::{Config, HandlerConfig, QueueConfig, SagaConfig, StepConfig};
use crate::store::bench as sql;

/// The topic that starts a benchmark saga, and the one plain messages use.
const START: &str = "bench.saga.start";
const PLAIN: &str = "bench.event";
/// Messages a three-step saga moves: its start, a command and a reply per step.
const MESSAGES_PER_SAGA: u64 = 7;
/// A pipeline that makes no progress this long has failed the run.
const STALL: Duration = Duration::from_secs(30);

/// The lab's topology and handlers for this scenario, before it is applied:
/// the work queue serves the steps and the plain messages, a queue of its
/// own feeds the orchestrator.
pub fn prepare(config: &mut Config, prefix: &str) {
    let work = format!("{prefix}.work");
    let sagas = format!("{prefix}.sagas");
    config.broker.queues = vec![
        QueueConfig {
            name: work.clone(),
            bindings: vec![],
            adopt: false,
        },
        QueueConfig {
            name: sagas.clone(),
            bindings: vec![],
            adopt: false,
        },
    ];
    config.orchestrator.queue = sagas;
    let handler = |name: &str, topic: &str, statement: &str| HandlerConfig {
        queue: Some(work.clone()),
        ..HandlerConfig::sql(name, &[topic], statement)
    };
    config.handlers = vec![
        handler(
            "step",
            "bench.step.*",
            "INSERT INTO bench_saga_effects (saga_id, step) \
             VALUES (($1->>'saga_id')::uuid, $1->>'step')",
        ),
        handler(
            "plain",
            PLAIN,
            "INSERT INTO bench_effects (message_id, n) VALUES ($3, ($1->>'n')::int)",
        ),
    ];
    let step = |name: &str| StepConfig {
        name: name.into(),
        command: format!("bench.step.{name}"),
        compensation: None,
        timeout: Duration::from_secs(120),
        retries: 1,
    };
    config.sagas = vec![SagaConfig {
        name: "bench".into(),
        start: START.into(),
        correlate: "n".into(),
        deadline: Duration::from_secs(3600),
        steps: vec![step("a"), step("b"), step("c")],
        renamed: Vec::new(),
    }];
}

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let n = args.events.unwrap_or(2_000);
    let bytes = args.payload_bytes as usize;
    let messages = n * MESSAGES_PER_SAGA;
    let mut r = Report::new("saga");
    r.setting("sagas", format!("{n} of three sql steps, no compensation"));
    r.setting("plain messages", format!("{messages} (seven per saga)"));
    r.setting("payload", format!("{bytes} bytes of JSON"));
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    r.setting("consumer concurrency", lab.config.consumer.concurrency);

    sql::create_effects_table(&lab.pool).await?;
    sql::create_saga_effects_table(&lab.pool).await?;
    let work = lab.config.broker.queues[0].name.clone();
    let mut relay = lab.start("relay", &["relay"])?;
    let mut consume = lab.start("consume", &["consume", "--queue", &work])?;
    let mut orchestrator = lab.start("orchestrator", &["saga", "run"])?;
    let ready = async {
        loop {
            relay.alive()?;
            consume.alive()?;
            orchestrator.alive()?;
            let mut consumers = 0;
            for q in &lab.config.broker.queues {
                let c = lab
                    .broker
                    .queue_stats(&q.name)
                    .await?
                    .map_or(0, |s| s.consumers);
                consumers += u32::from(c > 0);
            }
            if sql::relay_listening(&lab.pool).await? && consumers == 2 {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .map_err(|_| anyhow::anyhow!("relay, consume and saga run were not ready within 30s"))??;

    // Plain messages: a backlog committed at once, timed until the last
    // effect commits.
    let started = Instant::now();
    sql::load_backlog(&lab.pool, PLAIN, messages, bytes, 0).await?;
    until(
        "plain messages handled",
        messages,
        &mut [&mut relay, &mut consume, &mut orchestrator],
        || async { Ok(sql::effects(&lab.pool).await?.0 as u64) },
    )
    .await?;
    let message_rate = messages as f64 / started.elapsed().as_secs_f64();

    // Sagas: as many start events, committed at once.
    let started = Instant::now();
    sql::load_backlog(&lab.pool, START, n, bytes, 0).await?;
    until(
        "sagas completed",
        n,
        &mut [&mut relay, &mut consume, &mut orchestrator],
        || async { Ok(sql::sagas_completed(&lab.pool).await? as u64) },
    )
    .await?;
    let saga_rate = n as f64 / started.elapsed().as_secs_f64();
    let backlog_ms = sql::saga_latencies(&lab.pool, START).await?;

    // Latency: sagas started one at a time at a fifth of that throughput.
    let paced = (n / 5).clamp(1, 1_000);
    let pace = args.rate.map_or((saga_rate / 5.0).max(1.0), f64::from);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / pace));
    let bar = progress(paced, "start");
    for i in 0..paced {
        ticker.tick().await;
        let id = uuid::Uuid::new_v4();
        let body = payload(n + 1 + i, bytes);
        sql::insert_event(&lab.pool, id, START, &id.to_string(), &body).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    until(
        "paced sagas completed",
        n + paced,
        &mut [&mut relay, &mut consume, &mut orchestrator],
        || async { Ok(sql::sagas_completed(&lab.pool).await? as u64) },
    )
    .await?;
    let mut paced_ms = sql::saga_latencies(&lab.pool, START).await?;
    paced_ms.retain(|(n_of, _)| *n_of > n as i64);
    let mut paced_ms: Vec<f64> = paced_ms.into_iter().map(|(_, ms)| ms).collect();
    paced_ms.sort_by(f64::total_cmp);
    let mut backlog_ms: Vec<f64> = backlog_ms.into_iter().map(|(_, ms)| ms).collect();
    backlog_ms.sort_by(f64::total_cmp);

    orchestrator.stop().await?;
    consume.stop().await?;
    relay.stop().await?;

    let total = n + paced;
    let (rows, distinct) = sql::saga_effects(&lab.pool).await?;
    if (rows, distinct) != (3 * total as i64, 3 * total as i64) {
        r.problem(format!(
            "{rows} step effects ({distinct} distinct saga steps) for {total} three-step sagas: \
             lost or doubled"
        ));
    }
    let (plain, plain_distinct) = sql::effects(&lab.pool).await?;
    if (plain, plain_distinct) != (messages as i64, messages as i64) {
        r.problem(format!(
            "{plain} effects of {plain_distinct} distinct plain messages for {messages}"
        ));
    }
    let allowed = message_rate / MESSAGES_PER_SAGA as f64;
    let ratio = saga_rate / allowed;
    r.figure("plain messages (messages/s)", message_rate.round());
    r.figure("saga rate those allow (sagas/s)", allowed.round());
    r.figure("sagas completed (sagas/s)", saga_rate.round());
    r.figure("sagas / allowed", ratio);
    r.figure(
        "backlog: start → completed p50 (ms)",
        percentile(&backlog_ms, 50.0),
    );
    r.figure(
        "backlog: start → completed p99 (ms)",
        percentile(&backlog_ms, 99.0),
    );
    r.figure("paced: sagas started (/s)", pace.round());
    r.figure(
        "paced: start → completed p50 (ms)",
        percentile(&paced_ms, 50.0),
    );
    r.figure(
        "paced: start → completed p99 (ms)",
        percentile(&paced_ms, 99.0),
    );
    r.figure("step effects", rows as f64);
    r.figure("orchestrator peak RSS (MiB)", orchestrator.peak_mib());
    r.figure("consumer peak RSS (MiB)", consume.peak_mib());
    r.target(
        format!("sagas/s ≥ 0.7 × (plain messages/s ÷ {MESSAGES_PER_SAGA}) (got {ratio:.2})"),
        ratio >= 0.7,
    );
    r.target(
        format!(
            "each step's effect exactly once (got {rows} for {} steps)",
            3 * total
        ),
        rows == distinct && rows == 3 * total as i64,
    );
    Ok(r)
}

/// Wait until `count` reaches `target` while the processes live; fail when
/// it stops growing for [`STALL`].
async fn until<F, Fut>(
    what: &str,
    target: u64,
    processes: &mut [&mut Process],
    mut count: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<u64>>,
{
    let bar = progress(target, what);
    let (mut last, mut moved) = (0, Instant::now());
    loop {
        for p in processes.iter_mut() {
            p.alive()?;
        }
        let done = count().await?;
        bar.set_position(done);
        if done >= target {
            bar.finish_and_clear();
            return Ok(());
        }
        if done > last {
            (last, moved) = (done, Instant::now());
        } else if moved.elapsed() > STALL {
            let logs: Vec<String> = processes
                .iter()
                .map(|p| format!("{}: {}", p.name, p.tail()))
                .collect();
            anyhow::bail!(
                "{done} of {target} {what}, and nothing more for {}s (did a step \
                 dead-letter?); the logs end with {}",
                STALL.as_secs(),
                logs.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
