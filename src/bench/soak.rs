//! `bench soak`: weeks of traffic in minutes. Rows are inserted as fast as
//! the relayer takes them (a backlog of at most `BACKLOG`), relayed by a real
//! `relay`, taken off the queue by a sink, and the sent rows purged every
//! second — the steady state of an outbox that keeps flowing, where dead
//! tuples and index entries pile up behind the purge until vacuum takes them.
//! Measured per tenth of the run: the relay's claim time per batch (from its
//! own batch log), and the outbox's table and index size; over the whole run
//! the CPU seconds per 100,000 events of PostgreSQL, RabbitMQ and the relayer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::cpu::ProcStat;
use super::lab::{Lab, TOPIC, percentile};
use super::report::Report;
use crate::cli::BenchArgs;
use crate::store::bench as sql;
use crate::store::outbox as operator;

/// Rows inserted ahead of the relayer, at most.
const BACKLOG: u64 = 50_000;
/// Rows per INSERT.
const CHUNK: u64 = 5_000;
/// Sent rows older than this are purged (every second).
const KEEP_SENT: Duration = Duration::from_secs(2);
/// Purge rounds between two `VACUUM outbox` (as `outbox purge` does after
/// deleting, for a purge run every 10 s).
const VACUUM_EVERY: u64 = 10;

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let events = args.events.unwrap_or(10_000_000).max(10 * CHUNK);
    let mut r = Report::new("soak");
    describe(&mut r, lab, args, events).await;

    // The relayer logs each batch (with its claim time) at debug.
    let mut config = lab.config.clone();
    config.log.level = "warn,outboxctl::flow::relay::batch=debug".into();
    let relay_config = lab.write_config("relay.toml", &config)?;
    let seen = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let sink = sink(lab, seen.clone(), stop.clone()).await?;
    let purger = purger(lab, args.no_vacuum, stop.clone());

    let cpu_before = Cpu::now(None);
    let mut relay = lab.start_with("relay", &relay_config, &["relay"])?;
    let relay_pid = relay.child.id();
    let started = Instant::now();
    let run = feed(lab, args, events, &seen, &mut relay, &mut r).await?;
    let elapsed = started.elapsed();
    let cpu = Cpu::now(relay_pid).minus(&cpu_before);
    relay.stop().await?;
    stop.cancel();
    let _ = sink.await;
    let purged = purger.await.unwrap_or(0);

    figures(&mut r, &run, events, elapsed, &cpu, purged);
    if let (Some(first), Some(last)) = (run.tenths.first(), run.tenths.last()) {
        r.target(
            format!(
                "claim p99 of the last tenth within 2× the first ({:.1} ms vs {:.1} ms)",
                last.claim_p99, first.claim_p99
            ),
            last.claim_p99 <= 2.0 * first.claim_p99.max(1.0),
        );
        let (a, b) = (first.table + first.index, last.table + last.index);
        r.target(
            format!(
                "outbox size bounded: {:.0} MiB at the end, {:.0} MiB after the first tenth",
                b as f64 / 1048576.0,
                a as f64 / 1048576.0
            ),
            b <= 2 * a.max(1),
        );
    }
    let sent = seen.load(Ordering::Relaxed);
    if sent != events {
        r.problem(format!(
            "{sent} messages reached the queue for {events} rows"
        ));
    }
    let (pending, _) = crate::store::outbox::lane_usage(&lab.pool).await?;
    if pending != 0 {
        r.problem(format!("{pending} rows still pending at the end"));
    }
    Ok(r)
}

/// The run's settings, as the report shows them.
async fn describe(r: &mut Report, lab: &Lab, args: &BenchArgs, events: u64) {
    r.setting("events", events);
    r.setting("payload", format!("{} B", args.payload_bytes));
    r.setting(
        "purge",
        format!(
            "DELETE of rows sent more than {}s ago, every second, in batches of 10000; {}",
            KEEP_SENT.as_secs(),
            if args.no_vacuum {
                "no VACUUM (autovacuum only)".to_string()
            } else {
                format!("VACUUM outbox every {VACUUM_EVERY} s")
            }
        ),
    );
    r.setting(
        "autovacuum",
        sql::setting(&lab.pool, "autovacuum")
            .await
            .unwrap_or_default(),
    );
    r.setting(
        "relay",
        format!(
            "{} workers, batches of {}",
            lab.config.relay.workers, lab.config.relay.batch_size
        ),
    );
}

/// Takes every message off the lab's queue, counting them in `seen`.
async fn sink(
    lab: &Lab,
    seen: Arc<AtomicU64>,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<Result<(), crate::broker::BrokerError>>> {
    let broker = crate::broker::Broker::connect(&lab.config.broker, "outboxctl bench sink").await?;
    let queue = lab.queue().to_string();
    Ok(tokio::spawn(async move {
        let counted = broker.count_off(&queue, seen, stop).await;
        broker.close().await;
        counted
    }))
}

/// Every second, the sent rows older than [`KEEP_SENT`] deleted (and,
/// unless `no_vacuum`, the outbox vacuumed every [`VACUUM_EVERY`] rounds,
/// as `outbox purge` does after deleting): the rows purged.
fn purger(lab: &Lab, no_vacuum: bool, stop: CancellationToken) -> tokio::task::JoinHandle<u64> {
    let pool = lab.pool.clone();
    let vacuum_every = if no_vacuum { 0 } else { VACUUM_EVERY };
    tokio::spawn(async move {
        let mut purged = 0u64;
        let mut rounds = 0u64;
        while stop
            .run_until_cancelled(tokio::time::sleep(Duration::from_secs(1)))
            .await
            .is_some()
        {
            let cutoff = chrono::Utc::now() - chrono::Duration::from_std(KEEP_SENT).unwrap();
            while let Ok(n) = operator::purge_sent_batch(&pool, cutoff, 10_000).await {
                purged += n;
                if n == 0 {
                    break;
                }
            }
            rounds += 1;
            if vacuum_every > 0 && rounds.is_multiple_of(vacuum_every) {
                let _ = operator::vacuum(&pool).await;
            }
        }
        purged
    })
}

/// What the run measured: each tenth's claims and size, every batch's
/// publish-to-last-confirm time.
struct Measured {
    tenths: Vec<Tenth>,
    publishes: Vec<f64>,
}

/// Keep at most [`BACKLOG`] rows ahead of the relayer until all `events`
/// are in the queue, measuring each tenth as it completes; a run that makes
/// no progress for a minute ends with a problem in the report.
async fn feed(
    lab: &Lab,
    args: &BenchArgs,
    events: u64,
    seen: &AtomicU64,
    relay: &mut super::lab::Process,
    r: &mut Report,
) -> anyhow::Result<Measured> {
    let tenth = events / 10;
    let relay_log = lab.dir.join("relay.log");
    let mut log_offset = 0u64;
    let started = Instant::now();
    let bar = super::lab::progress(events, "events relayed");
    let mut inserted = 0u64;
    let mut claims: Vec<f64> = Vec::new();
    let mut run = Measured {
        tenths: Vec::new(),
        publishes: Vec::new(),
    };
    let mut last_progress = (0u64, Instant::now());
    while (run.tenths.len() as u64) < 10 {
        let done = seen.load(Ordering::Relaxed);
        bar.set_position(done);
        if inserted < events && inserted.saturating_sub(done) < BACKLOG {
            let to = (inserted + CHUNK).min(events);
            sql::insert_numbered(
                &lab.pool,
                TOPIC,
                inserted + 1,
                to,
                args.payload_bytes as usize,
                args.keys,
            )
            .await?;
            inserted = to;
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let next = (run.tenths.len() as u64 + 1) * tenth;
        if done >= next {
            let (claimed, published) = new_batches(&relay_log, &mut log_offset)?;
            claims.extend(claimed);
            run.publishes.extend(published);
            claims.sort_by(f64::total_cmp);
            let (table, index, dead) = sql::outbox_size(&lab.pool).await?;
            run.tenths.push(Tenth {
                at: next,
                seconds: started.elapsed().as_secs_f64(),
                claim_p50: percentile(&claims, 50.0),
                claim_p99: percentile(&claims, 99.0),
                batches: claims.len(),
                table,
                index,
                dead,
            });
            claims.clear();
        }
        if done != last_progress.0 {
            last_progress = (done, Instant::now());
        } else if last_progress.1.elapsed() > Duration::from_secs(60) {
            r.problem(format!("no progress for 60 s at {done} of {events} events"));
            break;
        }
        relay.alive()?;
    }
    bar.finish_and_clear();
    Ok(run)
}

/// The report's figures: per tenth, and over the whole run.
fn figures(r: &mut Report, run: &Measured, events: u64, elapsed: Duration, cpu: &Cpu, purged: u64) {
    r.figure("events/s, whole run", events as f64 / elapsed.as_secs_f64());
    for t in &run.tenths {
        let m = if t.at >= 1_000_000 {
            format!("{:.1}M", t.at as f64 / 1e6)
        } else {
            format!("{}k", t.at / 1000)
        };
        r.figure(format!("claim p50, batches up to {m} (ms)"), t.claim_p50);
        r.figure(format!("claim p99, batches up to {m} (ms)"), t.claim_p99);
        r.figure(
            format!("table + indexes at {m} (MiB)"),
            (t.table + t.index) as f64 / 1048576.0,
        );
        r.figure(format!("indexes at {m} (MiB)"), t.index as f64 / 1048576.0);
        r.figure(format!("dead tuples at {m}"), t.dead as f64);
        r.figure(format!("batches up to {m}"), t.batches as f64);
        r.figure(format!("seconds to {m}"), t.seconds);
    }
    let mut publishes = run.publishes.clone();
    publishes.sort_by(f64::total_cmp);
    r.figure(
        "publish to last confirm per batch, p50 (ms)",
        percentile(&publishes, 50.0),
    );
    r.figure(
        "publish to last confirm per batch, p99 (ms)",
        percentile(&publishes, 99.0),
    );
    let per_100k = 100_000.0 / events as f64;
    r.figure("relayer CPU s per 100k events", cpu.relay * per_100k);
    r.figure("PostgreSQL CPU s per 100k events", cpu.postgres * per_100k);
    r.figure("RabbitMQ CPU s per 100k events", cpu.rabbitmq * per_100k);
    r.figure("rows purged", purged as f64);
}

struct Tenth {
    at: u64,
    seconds: f64,
    claim_p50: f64,
    claim_p99: f64,
    batches: usize,
    table: i64,
    index: i64,
    dead: i64,
}

/// Claim times and publish-to-last-confirm times (ms) of the batches
/// logged since `offset`.
fn new_batches(log: &std::path::Path, offset: &mut u64) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(log)?;
    f.seek(SeekFrom::Start(*offset))?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    // Only whole lines; a line being written waits for the next read.
    let whole = text.rfind('\n').map_or(0, |i| i + 1);
    *offset += whole as u64;
    let field = |line: &str, name: &str| -> Option<f64> {
        line.split(name)
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let (mut claims, mut publishes) = (Vec::new(), Vec::new());
    for line in text[..whole].lines() {
        if let Some(us) = field(line, "claim_us=") {
            claims.push(us / 1000.0);
        }
        if let Some(ms) = field(line, "publish_ms=") {
            publishes.push(ms);
        }
    }
    Ok((claims, publishes))
}

/// CPU seconds used so far by PostgreSQL (its live processes and the children
/// the postmaster reaped), RabbitMQ (the node on 5672: `beam.smp` not of the
/// test cluster) and the relayer.
#[derive(Default)]
struct Cpu {
    postgres: f64,
    rabbitmq: f64,
    relay: f64,
}

impl Cpu {
    fn now(relay: Option<u32>) -> Self {
        let mut cpu = Cpu::default();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return cpu;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
                continue;
            };
            let Some(p) = ProcStat::read(pid) else {
                continue;
            };
            if Some(pid) == relay {
                cpu.relay += p.own_seconds;
            } else if p.comm == "postgres" {
                cpu.postgres += p.own_seconds;
                // The postmaster (parent 1 or a supervisor) counts its reaped children.
                if ProcStat::read(p.ppid).is_none_or(|parent| parent.comm != "postgres") {
                    cpu.postgres += p.reaped_seconds;
                }
            } else if super::cpu::is_the_broker(pid, &p) {
                cpu.rabbitmq += p.own_seconds;
            }
        }
        cpu
    }

    fn minus(&self, before: &Cpu) -> Cpu {
        Cpu {
            postgres: self.postgres - before.postgres,
            rabbitmq: self.rabbitmq - before.rabbitmq,
            relay: self.relay - before.relay,
        }
    }
}
