//! `outboxctl lag`: how far behind each stage is — the outbox (pending rows
//! and the age of the oldest: the outbox lag), the queues (ready, unacked,
//! consumers), and what was sent but not consumed yet.

use std::io::IsTerminal;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::Outcome;
use crate::broker::{Broker, management, topology};
use crate::cli::{LagArgs, Output};
use crate::config::Config;
use crate::output;
use crate::store::{self, outbox};

/// One snapshot, as `--output json` prints it (one object per line).
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub at: chrono::DateTime<Utc>,
    pub outbox: OutboxFigures,
    pub queues: Vec<QueueFigures>,
    /// Why RabbitMQ could not be reached over AMQP (`null` when it could):
    /// relayers and consumers cannot work, whatever the management API says.
    pub broker_error: Option<String>,
    /// The resource alarms raised (`memory alarm on rabbit@mq1`): while any
    /// is, RabbitMQ blocks every publisher. Empty when none is, or when the
    /// management API cannot tell.
    pub broker_alarms: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxFigures {
    pub pending: i64,
    /// How long the longest-waiting due row has been due (the outbox lag).
    pub oldest_pending_age_seconds: f64,
    /// Pending rows scheduled for later (not lag), and when the next is due.
    pub scheduled: i64,
    pub next_scheduled_in_seconds: Option<f64>,
    pub dead: i64,
    pub sent_last_minute: i64,
    /// Rows sent in the last 24 hours that no consumer has recorded.
    pub sent_not_consumed_24h: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueFigures {
    pub name: String,
    /// `work`, `retry` (a queue's retry queues together, named
    /// `<queue>.retry.*`) or `dead-letter`.
    pub role: &'static str,
    pub ready: Option<u64>,
    /// Needs the management API; `null` when it cannot be reached.
    pub unacked: Option<u64>,
    pub consumers: Option<u64>,
    /// Why some figures are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `outboxctl lag`: once, or every `--watch` until `shutdown`.
pub async fn command(
    config: &Config,
    args: LagArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let pool = store::connect(&config.database, "outboxctl lag", &[("jit", "off".into())]).await?;
    store::check_schema(&pool).await?;
    let Some(every) = args.watch else {
        let snap = snapshot(config, &pool).await?;
        print(&snap, args.output.output, args.max_age)?;
        if let Some(e) = &snap.broker_error {
            eprintln!("outboxctl: {e}");
            return Ok(Outcome::CheckFailed);
        }
        return Ok(match args.max_age {
            Some(max) if over(&snap, max) => {
                eprintln!(
                    "outboxctl: a due row has waited {:.1}s, over --max-age {}",
                    snap.outbox.oldest_pending_age_seconds,
                    humantime::format_duration(max)
                );
                Outcome::CheckFailed
            }
            _ => Outcome::Success,
        });
    };
    let redraw = args.output.output == Output::Table && std::io::stdout().is_terminal();
    loop {
        let snap = snapshot(config, &pool).await?;
        if redraw {
            // Home and clear: the table redraws in place.
            output::text("\x1b[H\x1b[2J")?;
            output::line(format!(
                "every {} — {} (Ctrl-C stops)",
                humantime::format_duration(every),
                snap.at.format("%H:%M:%S")
            ))?;
        }
        print(&snap, args.output.output, args.max_age)?;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return Ok(Outcome::Success),
        }
    }
}

/// The resource alarms, said as what they do.
pub fn blocked_text(alarms: &[String]) -> String {
    format!(
        "RabbitMQ blocks publishers ({}) — rows wait and go out once it clears; `outboxctl \
         doctor` shows the evidence",
        alarms.join(", ")
    )
}

fn over(snap: &Snapshot, max: Duration) -> bool {
    snap.outbox.oldest_pending_age_seconds > max.as_secs_f64()
}

/// Take the figures; a broker that cannot be reached leaves the queue
/// figures empty with a note rather than failing the whole command.
pub async fn snapshot(config: &Config, pool: &PgPool) -> anyhow::Result<Snapshot> {
    let o = outbox::lag(pool).await?;
    let mut queues = Vec::new();
    let broker = Broker::connect(&config.broker, "outboxctl lag").await;
    let tiers = config.consumer.retry_delays().tiers();
    for q in &config.broker.queues {
        let b = broker.as_ref().ok();
        queues.push(queue_figures(config, b, q.name.clone(), "work").await);
        let mut retry = Vec::new();
        for name in topology::retry_queues(&q.name, &tiers) {
            retry.push(queue_figures(config, b, name, "retry").await);
        }
        queues.push(together(topology::retry_queues_pattern(&q.name), retry));
        let dlq = topology::dead_letter_queue(&q.name);
        queues.push(queue_figures(config, b, dlq, "dead-letter").await);
    }
    if let Ok(b) = &broker {
        b.close().await;
    }
    let broker_error = broker.err().map(|e| e.to_string());
    let broker_alarms = management::alarms(&config.broker)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(node, kind)| format!("{kind} alarm on {node}"))
        .collect();
    Ok(Snapshot {
        at: Utc::now(),
        outbox: OutboxFigures {
            pending: o.backlog.pending,
            oldest_pending_age_seconds: o.backlog.oldest_pending_seconds,
            scheduled: o.backlog.scheduled,
            next_scheduled_in_seconds: o.backlog.next_scheduled_seconds,
            dead: o.backlog.dead,
            sent_last_minute: o.sent_last_minute,
            sent_not_consumed_24h: o.sent_not_consumed,
        },
        queues,
        broker_error,
        broker_alarms,
    })
}

/// Queues of one role as one line, under `name`: their figures added up
/// (unknown when any is), the first note.
fn together(name: String, parts: Vec<QueueFigures>) -> QueueFigures {
    let sum = |f: fn(&QueueFigures) -> Option<u64>| {
        parts.iter().map(f).try_fold(0u64, |acc, x| Some(acc + x?))
    };
    QueueFigures {
        role: parts.first().map_or("retry", |p| p.role),
        ready: sum(|p| p.ready),
        unacked: sum(|p| p.unacked),
        consumers: sum(|p| p.consumers),
        note: parts.iter().find_map(|p| p.note.clone()),
        name,
    }
}

async fn queue_figures(
    config: &Config,
    broker: Option<&Broker>,
    name: String,
    role: &'static str,
) -> QueueFigures {
    match management::queue_counts(&config.broker, &name).await {
        Ok(c) => QueueFigures {
            name,
            role,
            ready: Some(c.ready),
            unacked: Some(c.unacked),
            consumers: Some(c.consumers),
            note: None,
        },
        Err(why) => {
            // AMQP still tells ready messages and consumers.
            let amqp = match broker {
                Some(b) => b.queue_stats(&name).await.map_err(|e| e.to_string()),
                None => Err("RabbitMQ unreachable".to_string()),
            };
            match amqp {
                Ok(Some(s)) => QueueFigures {
                    name,
                    role,
                    ready: Some(s.ready),
                    unacked: None,
                    consumers: Some(s.consumers),
                    note: Some(format!("unacked unknown: {why}")),
                },
                Ok(None) => QueueFigures {
                    name,
                    role,
                    ready: None,
                    unacked: None,
                    consumers: None,
                    note: Some("queue does not exist (run `outboxctl topology apply`)".into()),
                },
                Err(e) => QueueFigures {
                    name,
                    role,
                    ready: None,
                    unacked: None,
                    consumers: None,
                    note: Some(e),
                },
            }
        }
    }
}

fn print(snap: &Snapshot, format: Output, max_age: Option<Duration>) -> anyhow::Result<()> {
    if format == Output::Json {
        output::json_line(snap)?;
        return Ok(());
    }
    let o = &snap.outbox;
    let oldest = if o.pending == o.scheduled {
        "-".to_string()
    } else {
        let mut s = format!("{:.1}s", o.oldest_pending_age_seconds);
        if let Some(max) = max_age
            && over(snap, max)
        {
            s.push_str(&format!(
                "  over --max-age {}",
                humantime::format_duration(max)
            ));
        }
        s
    };
    let mut t = output::table(&["outbox", ""]);
    t.add_row(vec!["pending rows".to_string(), o.pending.to_string()]);
    t.add_row(vec!["oldest pending (lag)".to_string(), oldest]);
    let scheduled = match o.next_scheduled_in_seconds {
        Some(next) if o.scheduled > 0 => format!(
            "{}  next in {}",
            o.scheduled,
            output::age(chrono::TimeDelta::milliseconds((next * 1000.0) as i64))
        ),
        _ => "0".to_string(),
    };
    t.add_row(vec!["scheduled for later".to_string(), scheduled]);
    t.add_row(vec!["dead rows".to_string(), o.dead.to_string()]);
    t.add_row(vec![
        "sent in the last minute".to_string(),
        o.sent_last_minute.to_string(),
    ]);
    t.add_row(vec![
        "sent, not consumed (24h)".to_string(),
        o.sent_not_consumed_24h.to_string(),
    ]);
    output::print_table(&t)?;
    output::line("")?;
    let n = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    let mut q = output::table(&["queue", "role", "ready", "unacked", "consumers"]);
    let mut notes = Vec::new();
    for f in &snap.queues {
        q.add_row(vec![
            f.name.clone(),
            f.role.to_string(),
            n(f.ready),
            n(f.unacked),
            n(f.consumers),
        ]);
        if let Some(note) = &f.note
            && !notes.contains(note)
        {
            notes.push(note.clone());
        }
    }
    output::print_table(&q)?;
    if let Some(e) = &snap.broker_error {
        output::line(format!(
            "broker: UNREACHABLE over AMQP — relayers and consumers cannot work: {e}"
        ))?;
    }
    if !snap.broker_alarms.is_empty() {
        output::line(format!("broker: {}", blocked_text(&snap.broker_alarms)))?;
    }
    for note in notes {
        output::line(format!("note: {note}"))?;
    }
    Ok(())
}
