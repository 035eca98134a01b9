//! `bench e2e`: events committed at a steady rate in single-row transactions
//! while the relayer and the consumer run; latency from each commit to the
//! consumer's commit, and whether every event arrived exactly once — counted
//! in the effects an `sql` handler writes to a table without a key, where a
//! message handled twice shows as two rows.
//!
//! With `--rates`, the same for each rate in turn against the same relayer
//! and consumer: the latency curve, and the highest rate whose p99 stays
//! within 50 ms — the number a user plans capacity with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::cpu::ProcStat;
use super::lab::{Lab, Process, TOPIC, payload, percentile, progress};
use super::report::Report;
use crate::cli::BenchArgs;
use crate::store::bench as sql;

/// How long the pipeline may go without consuming anything, after the
/// producer stopped and before every event arrived, until the events left are
/// counted as lost.
const STUCK_AFTER: Duration = Duration::from_secs(60);

/// The latency a rate must keep at p99 to count as held.
const HELD_P99_MS: f64 = 50.0;

pub async fn run(lab: &mut Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let curve = !args.rates.is_empty();
    let rates = if curve {
        args.rates.clone()
    } else {
        vec![args.rate.unwrap_or(1000)]
    };
    let duration = args
        .duration
        .unwrap_or(Duration::from_secs(if curve { 20 } else { 30 }));
    let bytes = args.payload_bytes as usize;
    let mut r = Report::new("e2e");
    let list = rates
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    r.setting(
        "rate",
        format!(
            "{list} events/s for {}{}",
            humantime::format_duration(duration),
            if curve { " each, in turn" } else { "" }
        ),
    );
    r.setting("payload", format!("{bytes} bytes of JSON"));
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    r.setting(
        "relay poll interval",
        humantime::format_duration(lab.config.relay.interval),
    );

    sql::create_effects_table(&lab.pool).await?;
    lab.set_handlers(vec![super::lab::effect_handler(lab)])?;
    r.setting("handler", format!("sql: {}", super::lab::EFFECT_STATEMENT));

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

    let mut segments = Vec::new();
    for &rate in &rates {
        let s = segment(lab, rate, duration, bytes, &mut relay, &mut consume).await?;
        segments.push((rate, s));
    }
    relay.stop().await?;
    consume.stop().await?;

    let unknown = sql::consumptions(&lab.pool).await?.len() as i64
        - segments.iter().map(|(_, s)| s.consumed()).sum::<i64>();
    if unknown > 0 {
        r.problem(format!("{unknown} consumed messages were never committed"));
    }
    for (rate, s) in &segments {
        s.problems(&mut r, if curve { Some(*rate) } else { None });
    }
    if curve {
        curve_figures(&mut r, &segments);
    } else {
        let (_, s) = &segments[0];
        single_figures(&mut r, s);
    }
    r.figure("relay peak RSS (MiB)", relay.peak_mib());
    r.figure("consumer peak RSS (MiB)", consume.peak_mib());
    let (lost, twice) = segments.iter().fold((0, 0), |(l, t), (_, s)| {
        (l + s.lost(), t + s.processed_twice)
    });
    r.target(
        format!("zero lost (got {lost}), zero processed twice (got {twice})"),
        lost == 0 && twice == 0,
    );
    Ok(r)
}

/// What one rate did.
struct Segment {
    rate: u32,
    committed: i64,
    failed_inserts: u64,
    produce_secs: f64,
    /// Commit → consumer commit, ms, sorted: one per consumed event.
    latencies: Vec<f64>,
    /// Commit → marked sent, ms, sorted.
    relay_ms: Vec<f64>,
    /// Marked sent → consumer commit, ms, sorted.
    consume_ms: Vec<f64>,
    duplicates: i64,
    effects: i64,
    distinct_effects: i64,
    processed_twice: i64,
    /// Cores used while the rate was produced, by who used them.
    cores: Cores,
}

impl Segment {
    fn consumed(&self) -> i64 {
        self.latencies.len() as i64
    }

    fn lost(&self) -> i64 {
        self.committed - self.consumed()
    }

    fn achieved(&self) -> f64 {
        self.committed as f64 / self.produce_secs
    }

    fn p(&self, p: f64) -> f64 {
        percentile(&self.latencies, p)
    }

    fn max(&self) -> f64 {
        self.latencies.last().copied().unwrap_or(0.0)
    }

    /// Held: the rate was produced (within 5 %), nothing was lost or
    /// doubled, and p99 stayed within [`HELD_P99_MS`].
    fn held(&self) -> bool {
        self.achieved() >= 0.95 * f64::from(self.rate)
            && self.lost() == 0
            && self.processed_twice == 0
            && self.failed_inserts == 0
            && self.p(99.0) <= HELD_P99_MS
    }

    fn problems(&self, r: &mut Report, rate: Option<u32>) {
        let at = rate.map(|r| format!(" at {r}/s")).unwrap_or_default();
        if self.failed_inserts > 0 {
            r.problem(format!("{} inserts failed{at}", self.failed_inserts));
        }
        if self.lost() > 0 {
            r.problem(format!(
                "{} committed events{at} were not consumed (a minute passed with no progress)",
                self.lost()
            ));
        }
        if self.processed_twice > 0 {
            r.problem(format!(
                "{} events{at} were processed twice",
                self.processed_twice
            ));
        }
        if self.distinct_effects != self.consumed() {
            r.problem(format!(
                "{} messages{at} have an effect but {} were consumed",
                self.distinct_effects,
                self.consumed()
            ));
        }
    }
}

/// Produce `rate` events/s for `duration`, wait for the consumer to catch up
/// (a minute at most), and measure what happened to exactly these events.
async fn segment(
    lab: &Lab,
    rate: u32,
    duration: Duration,
    bytes: usize,
    relay: &mut Process,
    consume: &mut Process,
) -> anyhow::Result<Segment> {
    let total = ((rate as f64) * duration.as_secs_f64()).round().max(1.0) as u64;
    let consumer = lab.config.consumer_name().to_string();
    let consumed_before = sql::consumed_count(&lab.pool, &consumer).await?;
    let (effects_before, distinct_before) = sql::effects(&lab.pool).await?;

    // Produce: one single-row transaction per event, on a fixed schedule;
    // the commit instant is taken when COMMIT returns.
    let commits: Arc<Mutex<HashMap<Uuid, DateTime<Utc>>>> = Arc::new(Mutex::new(HashMap::new()));
    let inflight = Arc::new(Semaphore::new(64));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let bar = progress(total, &format!("produce {rate}/s"));
    let cpu_before = CpuSplit::now(lab, relay, consume).await;
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
    let cores = CpuSplit::now(lab, relay, consume)
        .await
        .minus(&cpu_before)
        .per_second(produce_secs);
    bar.finish_and_clear();
    let commits = std::mem::take(&mut *commits.lock().expect("not poisoned"));
    let committed = commits.len() as i64;

    // Wait for the consumer to catch up, however long a rate beyond the
    // pipeline's left it behind, as long as it makes progress: an event not
    // consumed after a minute without progress is lost. The next rate starts
    // on an empty pipeline.
    let mut progress_at = Instant::now();
    let mut last = -1;
    loop {
        let done = sql::consumed_count(&lab.pool, &consumer).await? - consumed_before;
        if done >= committed || progress_at.elapsed() > STUCK_AFTER {
            break;
        }
        if done > last {
            (last, progress_at) = (done, Instant::now());
        }
        relay.alive()?;
        consume.alive()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let consumed = sql::consumptions(&lab.pool).await?;
    let sent: HashMap<Uuid, DateTime<Utc>> =
        sql::sent_times(&lab.pool).await?.into_iter().collect();
    let ms = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut latencies = Vec::with_capacity(commits.len());
    let mut consume_ms = Vec::with_capacity(commits.len());
    let mut duplicates = 0i64;
    for (id, consumed_at, dups) in &consumed {
        let Some(at) = commits.get(id) else {
            continue; // another rate's event
        };
        duplicates += i64::from(*dups);
        latencies.push(ms(*consumed_at - *at));
        if let Some(s) = sent.get(id) {
            consume_ms.push(ms(*consumed_at - *s));
        }
    }
    // Where the time goes: commit → marked sent (relay), sent → consumed.
    let mut relay_ms: Vec<f64> = commits
        .iter()
        .filter_map(|(id, at)| sent.get(id).map(|s| ms(*s - *at)))
        .collect();
    for v in [&mut latencies, &mut relay_ms, &mut consume_ms] {
        v.sort_by(f64::total_cmp);
    }
    // Effects, not consumption rows: the inbox's primary key would fold a
    // message handled twice into one row, the effects table keeps both.
    let (effects_after, distinct_after) = sql::effects(&lab.pool).await?;
    let (effects, distinct_effects) = (
        effects_after - effects_before,
        distinct_after - distinct_before,
    );
    Ok(Segment {
        rate,
        committed,
        failed_inserts,
        produce_secs,
        latencies,
        relay_ms,
        consume_ms,
        duplicates,
        effects,
        distinct_effects,
        processed_twice: effects - distinct_effects,
        cores,
    })
}

/// CPU seconds so far, by who used them: the producer (this benchmark
/// process, which writes the events, and its PostgreSQL backends), the
/// pipeline (the relayer and consumer processes, their backends, RabbitMQ),
/// and the whole machine.
#[derive(Debug, Clone, Copy, Default)]
struct CpuSplit {
    producer: f64,
    /// The pipeline's parts: relayer and consumer processes, their
    /// PostgreSQL backends, RabbitMQ.
    processes: f64,
    backends: f64,
    broker: f64,
    busy: f64,
    total: f64,
}

/// [`CpuSplit`] over an interval, in cores.
#[derive(Debug, Clone, Copy, Default)]
struct Cores {
    producer: f64,
    processes: f64,
    backends: f64,
    broker: f64,
    busy: f64,
    machine: f64,
}

impl CpuSplit {
    async fn now(lab: &Lab, relay: &Process, consume: &Process) -> Self {
        let own = |pid: u32| ProcStat::read(pid).map_or(0.0, |p| p.own_seconds);
        let backends = sql::backends(&lab.pool).await.unwrap_or_default();
        let (mut producer, mut backends_seconds) = (own(std::process::id()), 0.0);
        for (pid, app) in backends {
            let seconds = u32::try_from(pid).map_or(0.0, own);
            if app.starts_with("outboxctl relay") || app.starts_with("outboxctl consume") {
                backends_seconds += seconds;
            } else {
                producer += seconds;
            }
        }
        let (busy, total) = super::cpu::machine_cpu_seconds();
        Self {
            producer,
            processes: relay.cpu_seconds() + consume.cpu_seconds(),
            backends: backends_seconds,
            broker: super::cpu::broker_cpu_seconds(),
            busy,
            total,
        }
    }

    fn minus(&self, before: &Self) -> Self {
        Self {
            producer: self.producer - before.producer,
            processes: self.processes - before.processes,
            backends: self.backends - before.backends,
            broker: self.broker - before.broker,
            busy: self.busy - before.busy,
            total: self.total - before.total,
        }
    }

    fn per_second(&self, secs: f64) -> Cores {
        let secs = secs.max(f64::EPSILON);
        Cores {
            producer: self.producer / secs,
            processes: self.processes / secs,
            backends: self.backends / secs,
            broker: self.broker / secs,
            busy: self.busy / secs,
            machine: self.total / secs,
        }
    }
}

fn single_figures(r: &mut Report, s: &Segment) {
    r.figure("events committed", s.committed as f64);
    r.figure("events consumed", s.consumed() as f64);
    r.figure("lost", s.lost() as f64);
    r.figure("effects", s.effects as f64);
    r.figure("processed twice", s.processed_twice as f64);
    r.figure("duplicate deliveries skipped", s.duplicates as f64);
    r.figure("achieved rate (events/s)", s.achieved().round());
    r.figure("latency p50 (ms)", s.p(50.0));
    r.figure("latency p90 (ms)", s.p(90.0));
    r.figure("latency p99 (ms)", s.p(99.0));
    r.figure("latency max (ms)", s.max());
    r.figure(
        "relay: commit → sent p50 (ms)",
        percentile(&s.relay_ms, 50.0),
    );
    r.figure(
        "relay: commit → sent p99 (ms)",
        percentile(&s.relay_ms, 99.0),
    );
    r.figure(
        "consumer: sent → consumed p50 (ms)",
        percentile(&s.consume_ms, 50.0),
    );
    r.figure(
        "consumer: sent → consumed p99 (ms)",
        percentile(&s.consume_ms, 99.0),
    );
    cpu_figures(r, "", &s.cores);
    let (p99, max) = (s.p(99.0), s.max());
    r.target(
        format!("p99 ≤ {HELD_P99_MS} ms (got {p99:.1} ms)"),
        p99 <= HELD_P99_MS,
    );
    r.target(format!("max ≤ 250 ms (got {max:.1} ms)"), max <= 250.0);
}

fn curve_figures(r: &mut Report, segments: &[(u32, Segment)]) {
    // The highest rate held, provided every lower rate was held too: a
    // curve that holds 4,000/s but not 2,000/s has no rate to plan with.
    let mut held = None;
    let mut by_rate: Vec<&(u32, Segment)> = segments.iter().collect();
    by_rate.sort_by_key(|(rate, _)| *rate);
    for (rate, s) in by_rate {
        if !s.held() {
            break;
        }
        held = Some(*rate);
    }
    r.figure(
        format!("highest rate with p99 ≤ {HELD_P99_MS} ms (events/s)"),
        held.map_or(0.0, f64::from),
    );
    for (rate, s) in segments {
        r.figure(
            format!("{rate}/s: achieved (events/s)"),
            s.achieved().round(),
        );
        r.figure(format!("{rate}/s: p50 (ms)"), s.p(50.0));
        r.figure(format!("{rate}/s: p99 (ms)"), s.p(99.0));
        r.figure(format!("{rate}/s: max (ms)"), s.max());
        r.figure(
            format!("{rate}/s: commit → sent p50 (ms)"),
            percentile(&s.relay_ms, 50.0),
        );
        r.figure(
            format!("{rate}/s: sent → consumed p50 (ms)"),
            percentile(&s.consume_ms, 50.0),
        );
        r.figure(format!("{rate}/s: lost"), s.lost() as f64);
        r.figure(
            format!("{rate}/s: processed twice"),
            s.processed_twice as f64,
        );
        cpu_figures(r, &format!("{rate}/s: "), &s.cores);
    }
    let headline = held.unwrap_or(0);
    r.target(
        format!("p99 ≤ {HELD_P99_MS} ms held up to 4000 events/s (held up to {headline}/s)"),
        headline >= 4000,
    );
}

/// Where the machine's CPU went while a rate was produced: on two cores the
/// producer's single-row transactions take a large share, and a rate the
/// pipeline could carry alone may find no core left.
fn cpu_figures(r: &mut Report, prefix: &str, c: &Cores) {
    let round = |x: f64| (x * 100.0).round() / 100.0;
    r.figure(
        format!("{prefix}cores: producer (this process + its PostgreSQL)"),
        round(c.producer),
    );
    r.figure(
        format!("{prefix}cores: relay + consume processes"),
        round(c.processes),
    );
    r.figure(
        format!("{prefix}cores: their PostgreSQL backends"),
        round(c.backends),
    );
    r.figure(format!("{prefix}cores: RabbitMQ"), round(c.broker));
    r.figure(
        format!("{prefix}cores: machine busy (of {:.0})", c.machine),
        round(c.busy),
    );
}
