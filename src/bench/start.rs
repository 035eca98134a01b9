//! `bench start`: how long a relayer takes to be useful — `relay --once` with
//! nothing to do (what cron pays on every run) and `relay` from its start to
//! its first publish — next to the cost of starting the binary at all.

use std::time::{Duration, Instant};

use super::lab::{Lab, TOPIC, percentile};
use super::report::Report;
use crate::cli::BenchArgs;
use crate::store::bench as sql;

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let runs = args.events.unwrap_or(10).min(1000);
    let mut r = Report::new("start");
    r.setting("runs", runs);
    r.setting("relay", format!("{} workers", lab.config.relay.workers));
    r.setting(
        "database TLS",
        crate::store::tls_mode(&lab.config.database).unwrap_or_else(|| "?".into()),
    );

    // Taking turns, so drift in the machine's load touches all three alike.
    let (mut bare, mut once, mut first) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..runs {
        bare.push(ms(bare_start(lab).await?));
        once.push(ms(relay_once(lab).await?));
        first.push(ms(first_publish(lab, n).await?));
    }
    for v in [&mut bare, &mut once, &mut first] {
        v.sort_by(f64::total_cmp);
    }
    let bare_ms = percentile(&bare, 50.0);
    let once_ms = percentile(&once, 50.0);
    let first_ms = percentile(&first, 50.0);
    r.figure("outboxctl --version, median (ms)", bare_ms);
    r.figure("relay --once, nothing to do: min (ms)", once[0]);
    r.figure("relay --once, nothing to do: median (ms)", once_ms);
    r.figure(
        "relay --once, nothing to do: max (ms)",
        once[once.len() - 1],
    );
    r.figure("relay to its first publish: min (ms)", first[0]);
    r.figure("relay to its first publish: median (ms)", first_ms);
    r.figure(
        "relay to its first publish: max (ms)",
        first[first.len() - 1],
    );
    r.figure("relay --once / --version", once_ms / bare_ms.max(0.001));
    r.figure("first publish / --version", first_ms / bare_ms.max(0.001));
    r.target(
        format!("relay --once with nothing to do ≤ 100 ms (median {once_ms:.0} ms)"),
        once_ms <= 100.0,
    );
    r.target(
        format!("relay to its first publish ≤ 100 ms (median {first_ms:.0} ms)"),
        first_ms <= 100.0,
    );
    let sent = sql::sent_count(&lab.pool).await? as u64;
    if sent != runs {
        r.problem(format!("{sent} of {runs} rows were marked sent"));
    }
    Ok(r)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The binary started and ended with nothing to do: process, runtime and
/// configuration, no server.
async fn bare_start(lab: &Lab) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut p = lab.start("version", &["--version"])?;
    p.wait().await?;
    Ok(started.elapsed())
}

async fn relay_once(lab: &Lab) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut p = lab.start("relay-once", &["relay", "--once"])?;
    p.wait().await?;
    Ok(started.elapsed())
}

/// One row committed before the start; the clock stops when its message
/// reaches a consumer of the queue (an upper bound of the publish: the
/// delivery comes after the broker took it).
async fn first_publish(lab: &Lab, n: u64) -> anyhow::Result<Duration> {
    let id = uuid::Uuid::new_v4();
    sql::insert_event(
        &lab.pool,
        id,
        TOPIC,
        &format!("k{n}"),
        &serde_json::json!({ "n": n }),
    )
    .await?;
    let started = Instant::now();
    let mut p = lab.start("relay", &["relay"])?;
    let arrived = tokio::time::timeout(
        Duration::from_secs(30),
        lab.broker.drain_and_ack(lab.queue(), 1, 1),
    )
    .await;
    let took = started.elapsed();
    p.stop().await?;
    match arrived {
        Ok(done) => {
            done?;
            Ok(took)
        }
        Err(_) => anyhow::bail!("the relay did not publish its first row within 30s"),
    }
}
