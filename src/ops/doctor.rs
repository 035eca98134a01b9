//! `outboxctl doctor`: what on the servers will hurt the pipeline before it
//! shows as lag — vacuum, the xmin horizon, connection slots and session
//! time-outs on PostgreSQL; alarms, blocked connections, lossy limits and
//! missing consumers on RabbitMQ. Each finding carries its evidence and the
//! fix; exit 1 when one needs action.

use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;

use super::Outcome;
use crate::broker::{management, topology};
use crate::cli::Output;
use crate::config::Config;
use crate::output;
use crate::store::{self, health};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    /// Worth knowing; nothing breaks yet.
    Warn,
    /// Will hurt the pipeline (or does): act.
    Action,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `postgresql` or `rabbitmq`.
    pub server: &'static str,
    pub check: &'static str,
    /// A table, a session, a queue, a node.
    pub target: String,
    pub verdict: Verdict,
    /// What was seen.
    pub evidence: String,
    /// What to do, when something needs doing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// A table with more dead rows than this (and a fifth of its rows dead)
/// costs every claim a scan of them.
const DEAD_ROWS: i64 = 10_000;

#[derive(Default)]
struct Report(Vec<Finding>);

impl Report {
    fn ok(&mut self, server: &'static str, check: &'static str, target: String, evidence: String) {
        self.push(server, check, target, Verdict::Ok, evidence, None);
    }

    fn push(
        &mut self,
        server: &'static str,
        check: &'static str,
        target: String,
        verdict: Verdict,
        evidence: String,
        fix: Option<String>,
    ) {
        self.0.push(Finding {
            server,
            check,
            target,
            verdict,
            evidence,
            fix,
        });
    }
}

pub async fn command(
    config: &Config,
    long_after: Duration,
    format: Output,
) -> anyhow::Result<Outcome> {
    let pool = store::connect(&config.database, "outboxctl doctor", &[]).await?;
    let mut report = Report::default();
    postgresql(&pool, long_after, &mut report).await?;
    pool.close().await;
    rabbitmq(config, &mut report).await;
    let findings = report.0;
    if format == Output::Json {
        for f in &findings {
            output::json_line(f)?;
        }
    } else {
        let mut t = output::table(&["server", "check", "", "target", "evidence — fix"]);
        for f in &findings {
            let verdict = match f.verdict {
                Verdict::Ok => output::verdict_cell(true),
                Verdict::Warn => comfy_table::Cell::new("warn"),
                Verdict::Action => comfy_table::Cell::new("ACTION"),
            };
            let detail = match &f.fix {
                Some(fix) => format!("{} — {fix}", f.evidence),
                None => f.evidence.clone(),
            };
            t.add_row(vec![
                comfy_table::Cell::new(f.server),
                comfy_table::Cell::new(f.check),
                verdict,
                comfy_table::Cell::new(&f.target),
                comfy_table::Cell::new(detail),
            ]);
        }
        output::print_table(&t)?;
    }
    let act = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Action)
        .count();
    if act > 0 {
        eprintln!(
            "outboxctl: {act} finding{} need{} action",
            if act == 1 { "" } else { "s" },
            if act == 1 { "s" } else { "" }
        );
        return Ok(Outcome::CheckFailed);
    }
    Ok(Outcome::Success)
}

fn ago(seconds: Option<f64>) -> String {
    seconds.map_or("never".into(), |s| {
        format!(
            "{} ago",
            humantime::format_duration(Duration::from_secs(s.max(0.0) as u64))
        )
    })
}

async fn postgresql(pool: &PgPool, long_after: Duration, r: &mut Report) -> anyhow::Result<()> {
    const PG: &str = "postgresql";
    let database: String = sqlx::query_scalar("SELECT quote_ident(current_database())")
        .fetch_one(pool)
        .await?;
    if health::setting(pool, "autovacuum").await? == "off" {
        r.push(
            PG,
            "autovacuum",
            "server".into(),
            Verdict::Action,
            "autovacuum = off: nothing removes the dead rows every sent, purged or consumed row \
             leaves, so the outbox grows and each claim scans more of them"
                .into(),
            Some(
                "ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf(); (or run VACUUM on \
                 the outbox tables from cron)"
                    .into(),
            ),
        );
    } else {
        r.ok(PG, "autovacuum", "server".into(), "autovacuum = on".into());
    }
    for t in health::tables(pool).await? {
        let target = format!("table {}", t.table);
        let figures = format!(
            "{} dead of {} rows, vacuumed {}",
            t.dead,
            t.live + t.dead,
            ago(t.since_vacuum_seconds)
        );
        if t.autovacuum_disabled {
            r.push(
                PG,
                "autovacuum",
                target,
                Verdict::Action,
                format!("autovacuum_enabled = false on the table ({figures})"),
                Some(format!(
                    "ALTER TABLE {} RESET (autovacuum_enabled);",
                    t.table
                )),
            );
        } else if t.dead > DEAD_ROWS && t.dead * 5 > t.live + t.dead {
            r.push(
                PG,
                "dead rows",
                target,
                Verdict::Action,
                format!("vacuum is not keeping up: {figures}"),
                Some(format!(
                    "VACUUM (ANALYZE) {}; then find what holds it back (see the xmin horizon \
                     line) or make autovacuum more eager on it (autovacuum_vacuum_scale_factor)",
                    t.table
                )),
            );
        } else {
            r.ok(PG, "dead rows", target, figures);
        }
    }
    let mut held = false;
    for h in health::horizon_holders(pool).await? {
        let long = h.seconds.is_some_and(|s| s > long_after.as_secs_f64());
        let forgotten = h.kind == "replication slot" && h.state.ends_with("inactive");
        if !(long || forgotten) {
            continue;
        }
        held = true;
        let evidence = format!(
            "{} {} ({}) holds the xmin horizon{}, {} transactions back: vacuum cannot remove \
             any row that died since",
            h.kind,
            h.who,
            h.state,
            h.seconds.map_or(String::new(), |s| format!(
                " for {}",
                humantime::format_duration(Duration::from_secs(s as u64))
            )),
            h.xid_age
        );
        let fix = match h.kind.as_str() {
            "session" => {
                let pid = h.pid.map_or("PID".into(), |p| p.to_string());
                format!(
                    "end it: SELECT pg_terminate_backend({pid}); and bound such sessions: ALTER \
                     DATABASE {database} SET idle_in_transaction_session_timeout = '5min'"
                )
            }
            "replication slot" => format!(
                "drop it if nothing reads it any more: SELECT pg_drop_replication_slot('{}');",
                h.who
            ),
            _ => format!("COMMIT PREPARED '{0}'; or ROLLBACK PREPARED '{0}';", h.who),
        };
        r.push(
            PG,
            "xmin horizon",
            h.who.clone(),
            Verdict::Action,
            evidence,
            Some(fix),
        );
    }
    if !held {
        r.ok(
            PG,
            "xmin horizon",
            format!("database {database}"),
            format!(
                "no transaction, slot or prepared transaction has held it for over {}",
                humantime::format_duration(long_after)
            ),
        );
    }
    let slots = health::slots(pool).await?;
    let usable = (slots.max_connections - slots.reserved).max(1);
    let used = slots.used();
    let top: Vec<String> = slots
        .by_application
        .iter()
        .take(5)
        .map(|(app, n)| format!("{app} {n}"))
        .collect();
    let evidence = format!(
        "{used} of {usable} connection slots in use (max_connections {} less {} reserved): {}",
        slots.max_connections,
        slots.reserved,
        top.join(", ")
    );
    let fix = "lower database.max_connections of the outboxctl processes (`outboxctl status` \
               lists each pool), put PgBouncer in front, or raise max_connections";
    let verdict = match used * 100 / usable {
        p if p >= 90 => Verdict::Action,
        p if p >= 75 => Verdict::Warn,
        _ => Verdict::Ok,
    };
    let fix = (verdict != Verdict::Ok).then(|| fix.to_string());
    r.push(PG, "connections", "server".into(), verdict, evidence, fix);
    let idle = health::setting(pool, "idle_in_transaction_session_timeout").await?;
    if matches!(idle.as_str(), "0" | "0ms") {
        r.push(
            PG,
            "timeouts",
            format!("database {database}"),
            Verdict::Warn,
            "idle_in_transaction_session_timeout = 0: a client that leaves a transaction open \
             holds the xmin horizon until someone ends it"
                .into(),
            Some(format!(
                "ALTER DATABASE {database} SET idle_in_transaction_session_timeout = '5min'"
            )),
        );
    } else {
        r.ok(
            PG,
            "timeouts",
            format!("database {database}"),
            format!("idle_in_transaction_session_timeout = {idle}"),
        );
    }
    Ok(())
}

async fn rabbitmq(config: &Config, r: &mut Report) {
    const MQ: &str = "rabbitmq";
    let cfg = &config.broker;
    let unreachable = |r: &mut Report, e: String| {
        r.push(
            MQ,
            "management",
            management::base_url(cfg).map_or("-".into(), |u| u.to_string()),
            Verdict::Warn,
            format!("alarms, policies and consumers not checked: {e}"),
            Some("enable the rabbitmq_management plugin or set broker.management_url".into()),
        );
    };
    match management::alarms(cfg).await {
        Ok(alarms) if alarms.is_empty() => {
            r.ok(
                MQ,
                "alarms",
                "cluster".into(),
                "no memory or disk alarm".into(),
            );
        }
        Ok(alarms) => {
            for (node, kind) in alarms {
                let fix = if kind == "memory" {
                    "free memory on the node or raise vm_memory_high_watermark; the relay waits \
                     and nothing is lost"
                } else {
                    "free disk space on the node or lower disk_free_limit; the relay waits and \
                     nothing is lost"
                };
                r.push(
                    MQ,
                    "alarms",
                    node,
                    Verdict::Action,
                    format!("{kind} alarm: RabbitMQ blocks every publishing connection"),
                    Some(fix.into()),
                );
            }
        }
        Err(e) => return unreachable(r, e),
    }
    match management::headroom(cfg).await {
        Ok(nodes) => {
            for n in nodes {
                let mb = |b: u64| format!("{} MiB", b / (1 << 20));
                let mem = n.mem_limit > 0 && n.mem_used * 10 >= n.mem_limit * 8;
                let disk = n.disk_free_limit > 0 && n.disk_free < n.disk_free_limit * 2;
                let evidence = format!(
                    "memory {} of the {} watermark, disk {} free over the {} limit",
                    mb(n.mem_used),
                    mb(n.mem_limit),
                    mb(n.disk_free),
                    mb(n.disk_free_limit)
                );
                if mem || disk {
                    r.push(
                        MQ,
                        "headroom",
                        n.name,
                        Verdict::Warn,
                        format!("{evidence}: near the alarm that blocks every publisher"),
                        Some(
                            "drain the queues that hold the most, give the node memory or disk, \
                             or adjust vm_memory_high_watermark / disk_free_limit"
                                .into(),
                        ),
                    );
                } else {
                    r.ok(MQ, "headroom", n.name, evidence);
                }
            }
        }
        Err(e) => return unreachable(r, e),
    }
    match management::blocked_connections(cfg).await {
        Ok(blocked) if blocked.is_empty() => {}
        Ok(blocked) => {
            let names: Vec<String> = blocked.iter().map(|(n, s)| format!("{n} ({s})")).collect();
            r.push(
                MQ,
                "blocked",
                format!("{} connection(s)", blocked.len()),
                Verdict::Action,
                format!("the broker blocks publishers: {}", names.join(", ")),
                Some("clear the alarm that blocks them (see the alarms line)".into()),
            );
        }
        Err(e) => return unreachable(r, e),
    }
    let tiers = config.consumer.retry_delays().tiers();
    for q in config.bound_queues() {
        let mut names = vec![(q.name.clone(), "work")];
        names.push((topology::dead_letter_queue(&q.name), "dead-letter"));
        names.extend(
            topology::retry_queues(&q.name, &tiers)
                .into_iter()
                .map(|n| (n, "retry")),
        );
        for (name, role) in names {
            match management::queue_info(cfg, &name).await {
                Ok(Some(info)) => queue(r, &name, role, &info),
                Ok(None) => r.push(
                    MQ,
                    "queue",
                    name,
                    Verdict::Action,
                    "does not exist".into(),
                    Some("outboxctl topology apply".into()),
                ),
                Err(e) => return unreachable(r, e),
            }
        }
    }
}

/// One queue: limits that lose messages, a limit nearly reached, a work
/// queue nobody consumes.
fn queue(r: &mut Report, name: &str, role: &str, info: &management::QueueInfo) {
    const MQ: &str = "rabbitmq";
    let risks = management::loss_risks(name, role == "retry", info);
    let mut clean = risks.is_empty();
    for risk in risks {
        r.push(
            MQ,
            "lossy limit",
            name.to_string(),
            Verdict::Action,
            format!("{}: {}", risk.setting, risk.means),
            Some(risk.fix),
        );
    }
    let overflow = info.setting("overflow");
    if let Some(limit) = info.setting("max-length").and_then(|v| v.as_u64())
        && overflow.as_ref().and_then(|v| v.as_str()) == Some("reject-publish")
    {
        clean = false;
        if info.messages * 5 >= limit * 4 {
            r.push(
                MQ,
                "near limit",
                name.to_string(),
                Verdict::Action,
                format!(
                    "{} of max-length {limit} messages ({}): publishes are refused at the limit",
                    info.messages,
                    info.source("max-length")
                ),
                Some("start more consumers, or raise the limit".into()),
            );
        }
    }
    if info.kind.as_deref() == Some("quorum") && info.online.len() < info.members.len() {
        clean = false;
        let missing: Vec<&String> = info
            .members
            .iter()
            .filter(|m| !info.online.contains(m))
            .collect();
        let majority = info.online.len() * 2 > info.members.len();
        r.push(
            MQ,
            "quorum members",
            name.to_string(),
            if majority {
                Verdict::Warn
            } else {
                Verdict::Action
            },
            format!(
                "{} of {} members online (not: {}){}",
                info.online.len(),
                info.members.len(),
                missing
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if majority {
                    "; it works while a majority is online, one more loss stops it"
                } else {
                    "; without a majority the queue takes and gives nothing"
                }
            ),
            Some("start the missing nodes; they catch up by themselves".into()),
        );
    }
    if role == "work" && info.consumers == 0 {
        clean = false;
        r.push(
            MQ,
            "consumers",
            name.to_string(),
            Verdict::Action,
            format!("no consumer, {} message(s) waiting", info.messages),
            Some(format!(
                "start one: outboxctl consume --queue {name} (or outboxctl up)"
            )),
        );
    }
    if clean && role == "work" {
        r.ok(
            MQ,
            "queue",
            name.to_string(),
            format!(
                "{} consumer(s), {} message(s), no lossy limit",
                info.consumers, info.messages
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        arguments: serde_json::Value,
        policy: serde_json::Value,
        messages: u64,
    ) -> management::QueueInfo {
        management::QueueInfo {
            messages,
            consumers: 1,
            arguments: arguments.as_object().unwrap().clone(),
            policy: (!policy.as_object().unwrap().is_empty()).then(|| "p".into()),
            effective_policy_definition: policy,
            ..management::QueueInfo::default()
        }
    }

    fn checks(role: &str, i: &management::QueueInfo) -> Vec<(&'static str, Verdict)> {
        let mut r = Report::default();
        queue(&mut r, "q", role, i);
        r.0.into_iter().map(|f| (f.check, f.verdict)).collect()
    }

    #[test]
    fn limits_that_lose_messages_are_actions_and_ours_are_not() {
        use serde_json::json;
        let none = json!({});
        // outboxctl's own quorum work queue and retry queue: clean.
        let quorum = json!({"x-queue-type": "quorum", "x-overflow": "reject-publish"});
        assert_eq!(
            checks("work", &info(quorum.clone(), none.clone(), 5)),
            [("queue", Verdict::Ok)]
        );
        let retry = json!({"x-message-ttl": 5000, "x-overflow": "reject-publish"});
        assert!(checks("retry", &info(retry, none.clone(), 0)).is_empty());
        // A policy's max-length on a classic queue drops the oldest.
        let capped = json!({"max-length": 100});
        assert_eq!(
            checks("work", &info(json!({}), capped.clone(), 5)),
            [("lossy limit", Verdict::Action)]
        );
        // With reject-publish it refuses instead: only near the limit.
        assert!(
            checks("work", &info(quorum.clone(), capped.clone(), 10))
                .iter()
                .all(|c| c.1 == Verdict::Ok)
        );
        assert_eq!(
            checks("work", &info(quorum, capped, 90)),
            [("near limit", Verdict::Action)]
        );
        // A TTL or an expiry on a work or dead-letter queue.
        assert_eq!(
            checks(
                "dead-letter",
                &info(json!({"x-message-ttl": 60000}), none.clone(), 0)
            ),
            [("lossy limit", Verdict::Action)]
        );
        assert_eq!(
            checks(
                "retry",
                &info(json!({"x-message-ttl": 1000}), json!({"expires": 1000}), 0)
            ),
            [("lossy limit", Verdict::Action)]
        );
        // A quorum queue with a member down, then without a majority.
        let mut q = info(json!({}), none.clone(), 0);
        q.kind = Some("quorum".into());
        q.members = vec!["a".into(), "b".into(), "c".into()];
        q.online = vec!["a".into(), "b".into()];
        assert_eq!(checks("work", &q), [("quorum members", Verdict::Warn)]);
        q.online.pop();
        assert_eq!(checks("work", &q), [("quorum members", Verdict::Action)]);
        // The stricter of argument and policy applies.
        let both = info(json!({"x-max-length": 500}), json!({"max-length": 100}), 0);
        assert_eq!(both.setting("max-length"), Some(json!(100)));
    }
}
