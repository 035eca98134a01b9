//! `outboxctl verify`: the fault campaign of the test suite, against the
//! operator's own servers. In a database and exchange of its own (like
//! `bench`), with work queues named after the configured one so the vhost's
//! policies apply to them, it runs real relayer and consumer processes, each
//! talking to PostgreSQL and RabbitMQ through a fault proxy of its own, and
//! while events flow it SIGKILLs them and resets, stalls and refuses their
//! connections at random instants. Two witnesses that owe nothing to the
//! pipeline count the outcome: an observer queue bound to every topic sees
//! every copy the broker routed, and the consumers' `sql` handler writes
//! each effect into a table without a key. A loss, a duplicate effect, a
//! dead row or a per-key order violation fails the run (exit 1).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};

mod report;

pub use report::Report;

use super::lab::{Lab, Process, progress};
use crate::broker::management;
use crate::broker::observe::Seen;
use crate::cli::VerifyArgs;
use crate::config::{Config, HandlerConfig, QueueConfig, SecretUrl};
use crate::ops::Outcome;
use crate::proxy::FaultProxy;
use crate::store::bench as sql;

const TOPIC: &str = "verify.event";
/// How long a stall lasts, and a refusal.
const STALL: Duration = Duration::from_secs(2);
const REFUSAL: Duration = Duration::from_secs(1);
/// Longest the run waits for the pipeline to move again before it calls it stuck.
pub(super) const STUCK: Duration = Duration::from_secs(60);

pub async fn command(base: &Config, args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let work_queue = base.consumer_queue().to_string();
    let mut lab = Lab::create(base, "verify", args.queue_type, |config, prefix| {
        config.broker.queues = vec![QueueConfig {
            name: format!("{work_queue}.{prefix}"),
            bindings: vec!["#".into()],
            adopt: false,
        }];
        config.log.level = "info".into();
    })
    .await?;
    let result = campaign(&mut lab, args, seed).await;
    let keep_logs = !matches!(&result, Ok(r) if r.passed());
    let logs = lab.dir.clone();
    if keep_logs {
        lab.keep_dir();
    }
    lab.cleanup().await;
    let report = result?;
    report.print(args.output.output)?;
    if report.passed() {
        return Ok(Outcome::Success);
    }
    for failure in report.failures() {
        eprintln!("outboxctl: verify failed: {failure}");
    }
    eprintln!(
        "outboxctl: the processes' logs are kept in {} (replay this campaign with --seed {seed})",
        logs.display()
    );
    Ok(Outcome::CheckFailed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Relay,
    Consume,
}

/// A relayer or consumer, restarted in place after a kill, always behind
/// the same two proxies.
struct Slot {
    name: String,
    role: Role,
    pg: Arc<FaultProxy>,
    amqp: Arc<FaultProxy>,
    config_file: PathBuf,
    process: Process,
}

/// The first address `url` names (`host:port`, the default port if none).
async fn upstream(url: &SecretUrl, default_port: u16, setting: &str) -> anyhow::Result<SocketAddr> {
    let parsed = url
        .parsed()
        .with_context(|| format!("{setting} is not a URL"))?;
    let host = parsed.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
        anyhow::anyhow!(
            "{setting} has no host; verify puts a TCP proxy in front of each server and needs \
             host:port (not a Unix socket)"
        )
    })?;
    let port = parsed.port().unwrap_or(default_port);
    tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .with_context(|| format!("cannot resolve the host of {setting}"))?
        .next()
        .ok_or_else(|| anyhow::anyhow!("the host of {setting} resolves to no address"))
}

fn through(url: &SecretUrl, proxy: &FaultProxy) -> anyhow::Result<SecretUrl> {
    let mut u = url.parsed()?;
    u.set_host(Some(&proxy.addr().ip().to_string()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    u.set_port(Some(proxy.addr().port()))
        .map_err(|()| anyhow::anyhow!("this URL cannot take a port"))?;
    Ok(SecretUrl::new(u.to_string()))
}

/// The faults of a campaign, in the order they land.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    Cut { database: bool },
    Stall { database: bool },
    Refuse { database: bool },
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Self::Kill => "kill",
            Self::Cut { database: true } => "database reset",
            Self::Cut { database: false } => "broker reset",
            Self::Stall { database: true } => "database stall",
            Self::Stall { database: false } => "broker stall",
            Self::Refuse { database: true } => "database refusal",
            Self::Refuse { database: false } => "broker refusal",
        }
    }
}

/// Every copy the observer saw: how often each row arrived, and the first
/// arrivals per key in order.
#[derive(Default)]
struct Observed {
    copies: HashMap<i64, u32>,
    last_first: HashMap<String, i64>,
    order_violations: i64,
}

impl Observed {
    fn see(&mut self, s: Seen) {
        let Some(id) = s.outbox_id else { return };
        let n = self.copies.entry(id).or_insert(0);
        *n += 1;
        if *n > 1 {
            return;
        }
        if let Some(key) = s.partition_key
            && let Some(previous) = self.last_first.insert(key, id)
            && previous > id
        {
            self.order_violations += 1;
        }
    }
}

async fn campaign(lab: &mut Lab, args: &VerifyArgs, seed: u64) -> anyhow::Result<Report> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let queue = lab.queue().to_string();
    let mut report = Report {
        seed,
        inserted: args.events as i64,
        ..Report::default()
    };
    report.settings.insert(
        "events",
        format!("{} at {}/s over {} keys", args.events, args.rate, args.keys),
    );
    report.settings.insert(
        "processes",
        format!("{} relayers, {} consumers", args.relays, args.consumers),
    );
    report.settings.insert(
        "queue",
        format!("{queue} ({})", lab.config.broker.queue_type.as_str()),
    );

    static_look(lab, &queue, &mut report).await;
    sql::create_verify_effects(&lab.pool).await?;
    lab.set_handlers(vec![HandlerConfig {
        queue: Some(queue.clone()),
        ..HandlerConfig::sql("verify-effect", &["#"], sql::VERIFY_EFFECT)
    }])?;
    let observed = Arc::new(Mutex::new(Observed::default()));
    let observer_queue = format!("{}.observer", lab.config.broker.exchange);
    let sink = observed.clone();
    let observer = lab
        .broker
        .observe(&lab.config.broker.exchange, &observer_queue, move |s| {
            sink.lock().expect("not poisoned").see(s)
        })
        .await?;
    let mut slots = start_slots(lab, args).await?;
    let faults = schedule(args, slots.len(), &mut rng);

    let bar = progress(args.events, "verify");
    let producer = produce(lab, args);
    let recoveries = land(lab, &mut slots, faults, args, &bar, &mut report).await?;
    producer.await.context("the producer")??;
    drain(lab, &mut slots, &queue, args.events as i64, &bar).await?;
    bar.finish_and_clear();
    // Copies still on their way to the observer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for s in &mut slots {
        s.process.stop().await?;
    }
    observer.abort();
    let _ = lab.broker.delete_queue(&observer_queue).await;

    for (kind, r) in recoveries {
        match r.await.unwrap_or(Recovery::Stuck) {
            Recovery::After(d) => {
                let ms = d.as_millis() as u64;
                report.longest_recovery_ms = Some(report.longest_recovery_ms.unwrap_or(0).max(ms));
                let longest = report.recovery_ms_by_fault.entry(kind).or_insert(0);
                *longest = (*longest).max(ms);
            }
            Recovery::Unobserved => report.unobserved += 1,
            Recovery::Stuck => report.stuck += 1,
        }
    }
    let observed = std::mem::take(&mut *observed.lock().expect("not poisoned"));
    tally(lab, &queue, args, &observed, &mut report).await?;
    Ok(report)
}

/// The settings of the run's work and dead-letter queues that lose
/// messages once a backlog forms, as the management API tells them (the
/// effective policy and the arguments) — before any event, so that a limit
/// the run happens not to reach still fails it.
async fn static_look(lab: &Lab, queue: &str, report: &mut Report) {
    let cfg = &lab.config.broker;
    let dlq = crate::broker::topology::dead_letter_queue(queue);
    for name in [queue.to_string(), dlq] {
        // The management API lists a queue declared a moment ago at once,
        // but its policy and state only after its first statistics round
        // (5 s by default).
        let asked = Instant::now();
        let info = loop {
            match management::queue_info(cfg, &name).await {
                Ok(Some(info)) if info.state.is_some() => break info,
                Ok(_) if asked.elapsed() < Duration::from_secs(15) => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Ok(_) => {
                    report.static_look = Some(format!(
                        "the management API has no statistics of {name}, declared 15 s ago"
                    ));
                    return;
                }
                Err(e) => {
                    report.static_look = Some(e);
                    return;
                }
            }
        };
        report
            .loss_risks
            .extend(management::loss_risks(&name, false, &info));
    }
}

/// A relayer or consumer process for each slot, each behind fault proxies
/// of its own; returns once the consumers have subscribed.
async fn start_slots(lab: &Lab, args: &VerifyArgs) -> anyhow::Result<Vec<Slot>> {
    let pg_addr = upstream(&lab.config.database.url, 5432, "database.url").await?;
    let amqp_addr = upstream(&lab.config.broker.url, 5672, "broker.url").await?;
    let mut slots = Vec::new();
    let roles = (0..args.relays)
        .map(|i| (Role::Relay, format!("relay-{i}")))
        .chain((0..args.consumers).map(|i| (Role::Consume, format!("consume-{i}"))));
    for (role, name) in roles {
        let pg = Arc::new(FaultProxy::start(pg_addr).await?);
        let amqp = Arc::new(FaultProxy::start(amqp_addr).await?);
        let mut config = lab.config.clone();
        config.database.url = through(&config.database.url, &pg)?;
        config.broker.url = through(&config.broker.url, &amqp)?;
        let config_file = lab.write_config(&format!("{name}.toml"), &config)?;
        let process = start(lab, &name, role, &config_file)?;
        slots.push(Slot {
            name,
            role,
            pg,
            amqp,
            config_file,
            process,
        });
    }
    let queue = lab.queue().to_string();
    let ready = async {
        loop {
            for s in &mut slots {
                s.process.alive()?;
            }
            let consumers = lab
                .broker
                .queue_stats(&queue)
                .await?
                .map_or(0, |s| s.consumers);
            if consumers >= u64::from(args.consumers) {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .map_err(|_| anyhow::anyhow!("the consumers did not subscribe within 60s"))??;
    Ok(slots)
}

/// The schedule, in the order faults land: kills take turns over the
/// processes; connection faults take turns over the processes and the six
/// kinds; instants are spread at random over the production time, but not
/// in its first or last tenth (faults land while work flows).
fn schedule(
    args: &VerifyArgs,
    slots: usize,
    rng: &mut rand::rngs::StdRng,
) -> Vec<(Duration, Fault, usize)> {
    let produce_for = Duration::from_secs_f64(args.events as f64 / f64::from(args.rate));
    let kinds = [
        Fault::Cut { database: false },
        Fault::Cut { database: true },
        Fault::Stall { database: false },
        Fault::Stall { database: true },
        Fault::Refuse { database: false },
        Fault::Refuse { database: true },
    ];
    let offset = rng.random_range(0..slots);
    let kills = (0..args.kills as usize).map(|k| (Fault::Kill, (offset + k) % slots));
    let cuts = (0..args.cuts as usize).map(|c| (kinds[c % kinds.len()], (offset + c) % slots));
    let mut faults: Vec<(Duration, Fault, usize)> = kills
        .chain(cuts)
        .map(|(fault, slot)| (Duration::ZERO, fault, slot))
        .collect();
    for f in &mut faults {
        f.0 = produce_for.mul_f64(rng.random_range(0.1..0.9));
    }
    faults.sort_by_key(|f| f.0);
    faults
}

/// The producer: every 10 ms the events due by then at `--rate`, in one
/// statement — one producer, so a key's rows commit in id order.
fn produce(lab: &Lab, args: &VerifyArgs) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let pool = lab.pool.clone();
    let (events, rate, keys) = (args.events as i64, args.rate, i64::from(args.keys));
    tokio::spawn(async move {
        let started = Instant::now();
        let mut done = 0i64;
        while done < events {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let due = ((started.elapsed().as_secs_f64() * f64::from(rate)) as i64).min(events);
            if due > done {
                sql::insert_verify_events(&pool, TOPIC, done + 1, due, keys).await?;
                done = due;
            }
        }
        anyhow::Ok(())
    })
}

/// The recovery watch of each fault landed, by its kind.
type Recoveries = Vec<(&'static str, tokio::task::JoinHandle<Recovery>)>;

/// Land each fault at its instant, on its process; watch each recovery.
async fn land(
    lab: &Lab,
    slots: &mut [Slot],
    faults: Vec<(Duration, Fault, usize)>,
    args: &VerifyArgs,
    bar: &indicatif::ProgressBar,
    report: &mut Report,
) -> anyhow::Result<Recoveries> {
    let started = Instant::now();
    let mut recoveries = Recoveries::new();
    for (at, fault, slot) in faults {
        if let Some(wait) = at.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        bar.set_position(sql::verify_effect_rows(&lab.pool).await.unwrap_or(0) as u64);
        let s = &mut slots[slot];
        *report.faults.entry(fault.label()).or_insert(0) += 1;
        match fault {
            Fault::Kill => {
                s.process.kill().await;
                s.process = start(lab, &s.name, s.role, &s.config_file)?;
            }
            Fault::Cut { database } => proxy_of(s, database).cut(),
            Fault::Stall { database } => {
                proxy_of(s, database).stall(true);
                tokio::time::sleep(STALL).await;
                proxy_of(s, database).stall(false);
            }
            Fault::Refuse { database } => {
                proxy_of(s, database).refuse(true);
                tokio::time::sleep(REFUSAL).await;
                proxy_of(s, database).refuse(false);
            }
        }
        for s in slots.iter_mut() {
            s.process.alive()?;
        }
        recoveries.push((
            fault.label(),
            watch_recovery(lab, &slots[slot], args.events as i64).await,
        ));
    }
    Ok(recoveries)
}

/// Wait until every event has its effect (or is dead): slow is fine, stuck
/// (no new effect for [`STUCK`]) is not; nor is waiting for what cannot
/// come (everything went out and nothing waits in the queues).
async fn drain(
    lab: &Lab,
    slots: &mut [Slot],
    queue: &str,
    target: i64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let (mut last, mut moved) = (-1, Instant::now());
    loop {
        let c = sql::verify_counts(&lab.pool).await?;
        bar.set_position(c.distinct_effects.max(0) as u64);
        if c.distinct_effects + c.dead >= target {
            return Ok(());
        }
        if c.distinct_effects > last {
            (last, moved) = (c.distinct_effects, Instant::now());
        } else if moved.elapsed() > STUCK
            || (moved.elapsed() > Duration::from_secs(3)
                && c.sent + c.dead >= target
                && queues_empty(lab, queue).await?)
        {
            // Stuck; or everything went out and nothing waits in the
            // queues: what has no effect yet never will.
            return Ok(());
        }
        for s in slots.iter_mut() {
            s.process.alive()?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The counts of the report, from the database's two witnesses and the
/// observer's, and a hint where they point somewhere.
async fn tally(
    lab: &Lab,
    queue: &str,
    args: &VerifyArgs,
    observed: &Observed,
    report: &mut Report,
) -> anyhow::Result<()> {
    let target = args.events as i64;
    let c = sql::verify_counts(&lab.pool).await?;
    let reached = observed.copies.len() as i64;
    let copies: i64 = observed.copies.values().map(|n| i64::from(*n)).sum();
    report.sent = c.sent;
    report.dead = c.dead;
    report.reached_broker = reached;
    report.broker_duplicates = copies - reached;
    report.effects = c.effects;
    report.duplicate_effects = c.effects - c.distinct_effects;
    report.lost = target - c.distinct_effects;
    // The broker's order is the relayer's promise. Consumers competing for
    // one queue take a key's messages side by side, so the order of effects
    // is a promise only of a single consumer (its lanes keep a key in order).
    report.order_violations = observed.order_violations;
    if args.consumers == 1 {
        report.order_violations += c.order_violations;
    }
    let dlq = crate::broker::topology::dead_letter_queue(queue);
    report.dead_lettered = lab
        .broker
        .queue_stats(&dlq)
        .await?
        .map_or(0, |s| s.ready as i64);
    if report.lost > 0 && report.reached_broker >= target && report.dead == 0 {
        let dead_lettered = if report.dead_lettered > 0 {
            format!(
                " ({} of them are in {dlq}: the broker dead-lettered them)",
                report.dead_lettered
            )
        } else {
            String::new()
        };
        report.hint = Some(format!(
            "Every event reached the broker and was confirmed, yet {} never reached a consumer{dead_lettered}: \
             the broker dropped them. Look at the policies of the vhost (`rabbitmqctl \
             list_policies`): a max-length with the default drop-head overflow, or a message-ttl, \
             discards messages the publisher was already told are safe. This run's queue was \
             {queue}; its name starts with the configured queue's, so patterns written for that \
             queue apply to it.",
            report.lost
        ));
    }
    Ok(())
}

/// The work queue and its retry queues hold nothing ready.
async fn queues_empty(lab: &Lab, queue: &str) -> anyhow::Result<bool> {
    let tiers = lab.config.consumer.retry_delays().tiers();
    let mut all = crate::broker::topology::retry_queues(queue, &tiers);
    all.push(queue.to_string());
    for q in all {
        if lab
            .broker
            .queue_stats(&q)
            .await?
            .is_some_and(|s| s.ready > 0)
        {
            return Ok(false);
        }
    }
    Ok(true)
}

fn proxy_of(s: &Slot, database: bool) -> &FaultProxy {
    if database { &s.pg } else { &s.amqp }
}

fn start(
    lab: &Lab,
    name: &str,
    role: Role,
    config_file: &std::path::Path,
) -> anyhow::Result<Process> {
    let args: &[&str] = match role {
        Role::Relay => &["relay"],
        Role::Consume => &["consume"],
    };
    lab.start_with(name, config_file, args)
}

/// From the end of a fault until the process it hit talks to its broker
/// again and the pipeline has committed a new effect; `None` if that did not
/// happen within [`STUCK`] while work was left.
async fn watch_recovery(lab: &Lab, slot: &Slot, target: i64) -> tokio::task::JoinHandle<Recovery> {
    let pool = lab.pool.clone();
    let events_before = sql::verify_effect_rows(&pool).await.unwrap_or(0);
    let bytes_before = slot.amqp.stats().bytes_up;
    let amqp = slot.amqp.clone();
    let ended = Instant::now();
    tokio::spawn(async move {
        let mut round = 0u32;
        while ended.elapsed() < STUCK {
            let talks = amqp.stats().bytes_up > bytes_before;
            let effects = sql::verify_effect_rows(&pool).await.unwrap_or(0);
            if talks && effects > events_before {
                return Recovery::After(ended.elapsed());
            }
            round += 1;
            // The others finished the work while this process was faulted:
            // nothing is left for it to show that it came back — its
            // heartbeats alone say nothing about its work. (Counted every
            // half second: the count reads the whole effects table.)
            if round.is_multiple_of(50)
                && sql::verify_counts(&pool)
                    .await
                    .is_ok_and(|c| c.distinct_effects + c.dead >= target)
            {
                return Recovery::Unobserved;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Recovery::Stuck
    })
}

/// How a process came out of a fault.
enum Recovery {
    /// It spoke to the broker again and effects were added, after this long.
    After(Duration),
    /// Every event had its effect before it spoke again.
    Unobserved,
    /// Neither within [`STUCK`].
    Stuck,
}
