//! `outboxctl status`: who is running — every relayer, consumer, API and
//! orchestrator that registered (role, host, pid, version, since, last beat,
//! what it is doing), the broker's view of the consumers of each queue, and
//! one verdict per stage. Exit 1 when a stage has nobody serving it.

use chrono::Utc;
use serde::Serialize;

use super::Outcome;
use crate::broker::{Broker, management};
use crate::cli::Output;
use crate::config::Config;
use crate::output::{self, age, cut};
use crate::presence::GONE_AFTER;
use crate::store::{self, processes};

#[derive(Debug, Serialize)]
pub struct Status {
    pub processes: Vec<Listed>,
    pub queues: Vec<QueueView>,
    pub stages: Vec<Verdict>,
    /// Every stage has someone serving it.
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub process: processes::Process,
    /// Beat within the last 15 s.
    pub alive: bool,
}

#[derive(Debug, Serialize)]
pub struct QueueView {
    pub name: String,
    /// Consumers the broker counts on the queue; `null` when it cannot be asked.
    pub consumers: Option<u64>,
    pub ready: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub stage: String,
    pub ok: bool,
    pub verdict: String,
}

/// The queues someone must consume: the consumer's queue, every queue with
/// handlers, and the orchestrator's when sagas are declared.
fn served_queues(config: &Config) -> Vec<String> {
    config
        .broker
        .queues
        .iter()
        .map(|q| q.name.clone())
        .filter(|q| {
            *q == config.consumer_queue()
                || config.handlers_of(q).next().is_some()
                || (!config.sagas.is_empty() && *q == config.orchestrator.queue)
        })
        .collect()
}

/// The block a process reported in its beat (see `broker::pressure`).
fn blocked_since(doing: &str) -> Option<String> {
    let at = doing.find("RabbitMQ blocks publishers")?;
    let rest = &doing[at..];
    Some(rest.split(';').next().unwrap_or(rest).trim().to_string())
}

pub async fn command(config: &Config, format: Output) -> anyhow::Result<Outcome> {
    let pool = store::connect(&config.database, "outboxctl status", &[]).await?;
    store::check_schema(&pool).await?;
    let listed: Vec<Listed> = processes::list(&pool)
        .await?
        .into_iter()
        .map(|p| Listed {
            alive: p.silent_seconds < GONE_AFTER.as_secs_f64(),
            process: p,
        })
        .collect();
    pool.close().await;

    let queues = served_queues(config);
    let mut views = Vec::new();
    let mut broker_error = None;
    match Broker::connect(&config.broker, "outboxctl status").await {
        Ok(broker) => {
            for q in &queues {
                match broker.queue_stats(q).await {
                    Ok(stats) => views.push(QueueView {
                        name: q.clone(),
                        consumers: Some(stats.map_or(0, |s| s.consumers)),
                        ready: stats.map(|s| s.ready),
                    }),
                    Err(e) => {
                        broker_error.get_or_insert(e.to_string());
                        views.push(QueueView {
                            name: q.clone(),
                            consumers: None,
                            ready: None,
                        });
                    }
                }
            }
            broker.close().await;
        }
        Err(e) => {
            broker_error = Some(e.to_string());
            views.extend(queues.iter().map(|q| QueueView {
                name: q.clone(),
                consumers: None,
                ready: None,
            }));
        }
    }

    let alive = |role: &str| {
        listed
            .iter()
            .filter(|l| l.alive && l.process.role == role)
            .count()
    };
    let mut stages = Vec::new();
    let relays = alive("relay");
    stages.push(Verdict {
        stage: "relay".into(),
        ok: relays > 0,
        verdict: if relays > 0 {
            format!("{relays} {} running", plural(relays, "relayer", "relayers"))
        } else {
            "no relayer is running: outbox rows wait — start `outboxctl relay` (or `up`)".into()
        },
    });
    for v in &views {
        let (ok, verdict) = match (v.consumers, &broker_error) {
            (Some(0), _) if v.ready.is_none() => (
                false,
                "the queue does not exist — `outboxctl topology apply` declares it".into(),
            ),
            (Some(0), _) => (
                false,
                format!(
                    "no consumer: its messages wait — start `outboxctl consume --queue {}`",
                    v.name
                ),
            ),
            (Some(n), _) => (
                true,
                format!(
                    "{n} {} subscribed",
                    plural(n as usize, "consumer", "consumers")
                ),
            ),
            (None, Some(e)) => (false, format!("cannot tell: {}", cut(e, 200))),
            (None, None) => (false, "cannot tell".into()),
        };
        stages.push(Verdict {
            stage: format!("queue {}", v.name),
            ok,
            verdict,
        });
    }
    // A resource alarm blocks every publisher: as the processes feel it
    // (their beat says since when), and as the broker tells it.
    let felt = listed
        .iter()
        .filter(|l| l.alive)
        .find_map(|l| l.process.doing.as_deref().and_then(blocked_since));
    let alarms = management::alarms(&config.broker).await.unwrap_or_default();
    if felt.is_some() || !alarms.is_empty() {
        let on: Vec<String> = alarms
            .iter()
            .map(|(n, k)| format!("{k} alarm on {n}"))
            .collect();
        stages.push(Verdict {
            stage: "broker".into(),
            ok: false,
            verdict: format!(
                "{}{} — rows wait (no attempt used) and go out once it clears; `outboxctl \
                 doctor` shows the evidence",
                felt.unwrap_or_else(|| "RabbitMQ blocks publishers".into()),
                if on.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", on.join(", "))
                }
            ),
        });
    }
    let apis = alive("serve");
    stages.push(Verdict {
        stage: "api".into(),
        ok: true,
        verdict: if apis > 0 {
            format!(
                "{apis} API {} serving",
                plural(apis, "process", "processes")
            )
        } else {
            "no API process registered (fine when applications write outbox rows themselves)".into()
        },
    });
    let ok = stages.iter().all(|s| s.ok);
    let status = Status {
        processes: listed,
        queues: views,
        stages,
        ok,
    };
    print(&status, format)?;
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

fn print(s: &Status, format: Output) -> anyhow::Result<()> {
    if format == Output::Json {
        output::json_line(s)?;
        return Ok(());
    }
    let now = Utc::now();
    if s.processes.is_empty() {
        output::line("PROCESSES  none registered")?;
    } else {
        let mut t = output::table(&[
            "role", "host", "pid", "version", "pool", "up", "beat", "doing",
        ]);
        let room = output::room(60);
        for l in &s.processes {
            let p = &l.process;
            let doing = if l.alive {
                let what = p.doing.as_deref().unwrap_or("starting");
                match &p.detail {
                    Some(d) => format!("{d}: {what}"),
                    None => what.to_string(),
                }
            } else {
                format!(
                    "GONE: no beat for {} (killed, or its host is down)",
                    age(chrono::TimeDelta::seconds(p.silent_seconds as i64))
                )
            };
            t.add_row(vec![
                comfy_table::Cell::new(&p.role),
                comfy_table::Cell::new(&p.host),
                comfy_table::Cell::new(p.pid),
                comfy_table::Cell::new(&p.version),
                comfy_table::Cell::new(p.pool_size.map_or("-".into(), |n| n.to_string())),
                comfy_table::Cell::new(age(now - p.started_at)),
                comfy_table::Cell::new(format!(
                    "{} ago",
                    age(chrono::TimeDelta::seconds(p.silent_seconds as i64))
                )),
                comfy_table::Cell::new(cut(&doing, room)),
            ]);
        }
        output::print_table(&t)?;
        let pools: i32 = s
            .processes
            .iter()
            .filter(|l| l.alive)
            .filter_map(|l| l.process.pool_size)
            .sum();
        output::line(format!(
            "(the pools of the processes running open at most {pools} connections to PostgreSQL)"
        ))?;
    }
    output::line("")?;
    let mut q = output::table(&["queue", "consumers", "ready"]);
    for v in &s.queues {
        let show = |n: Option<u64>| n.map_or("?".into(), |n| n.to_string());
        q.add_row(vec![v.name.clone(), show(v.consumers), show(v.ready)]);
    }
    output::print_table(&q)?;
    output::line("")?;
    let mut st = output::table(&["stage", "", "verdict"]);
    for v in &s.stages {
        st.add_row(vec![
            comfy_table::Cell::new(&v.stage),
            output::verdict_cell(v.ok),
            comfy_table::Cell::new(&v.verdict),
        ]);
    }
    output::print_table(&st)?;
    Ok(())
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
