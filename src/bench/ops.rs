//! `bench ops`: the operator commands that change many things at once —
//! `outbox replay`, `outbox requeue` and `dlq replay --all` — run as real
//! processes on N rows or messages, next to the same change made in one go
//! without batches or a process: one SQL statement for the rows, raw
//! confirmed publishing for the messages.

use std::time::Instant;

use super::lab::{Lab, TOPIC, payload, progress};
use super::report::Report;
use crate::broker::bench::RawMessage;
use crate::broker::topology;
use crate::cli::BenchArgs;
use crate::store::bench as sql;
use crate::store::outbox;

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let n = args.events.unwrap_or(100_000);
    let bytes = args.payload_bytes as usize;
    let mut r = Report::new("ops");
    r.setting("rows and messages", n);
    r.setting("payload", format!("{bytes} bytes of JSON"));
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    r.setting(
        "batch",
        "1,000 rows per transaction, 1,000 messages per round",
    );

    sql::load_backlog(&lab.pool, TOPIC, n, bytes, 0).await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY id")
        .fetch_all(&lab.pool)
        .await?;

    // replay: sent rows back to pending, same message ids.
    set_all(lab, "sent_at = now(), dead_at = NULL, attempts = 1").await?;
    let one_go = timed_statement(lab, &ids, Rows::Replay).await?;
    set_all(lab, "sent_at = now(), dead_at = NULL, attempts = 1").await?;
    let (command, rss) = timed_command(
        lab,
        "replay",
        &[
            "outbox", "replay", "--topic", TOPIC, "--since", "1h", "--yes",
        ],
    )
    .await?;
    let replayed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND replay_count = 2",
    )
    .fetch_one(&lab.pool)
    .await?;
    if replayed != n as i64 {
        r.problem(format!("replay changed {replayed} of {n} rows"));
    }
    figures(
        &mut r,
        [
            "replay in one statement (rows/s)",
            "outbox replay, batched (rows/s)",
            "replay: batched / one statement",
            "outbox replay peak RSS (MiB)",
        ],
        n,
        one_go,
        command,
        rss,
    );

    // requeue: dead rows back to pending, attempts reset.
    set_all(
        lab,
        "sent_at = NULL, dead_at = now(), attempts = 10, last_error = 'nacked'",
    )
    .await?;
    let one_go = timed_statement(lab, &ids, Rows::Requeue).await?;
    set_all(
        lab,
        "sent_at = NULL, dead_at = now(), attempts = 10, last_error = 'nacked'",
    )
    .await?;
    let (command, rss) =
        timed_command(lab, "requeue", &["outbox", "requeue", "--dead", "--yes"]).await?;
    let requeued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE dead_at IS NULL AND attempts = 0 AND requeued_by <> 'bench'",
    )
    .fetch_one(&lab.pool)
    .await?;
    if requeued != n as i64 {
        r.problem(format!("requeue changed {requeued} of {n} rows"));
    }
    figures(
        &mut r,
        [
            "requeue in one statement (rows/s)",
            "outbox requeue, batched (rows/s)",
            "requeue: batched / one statement",
            "outbox requeue peak RSS (MiB)",
        ],
        n,
        one_go,
        command,
        rss,
    );

    // dlq replay --all: the broker's limit is the same messages published
    // with confirms; the command also reads and acknowledges each.
    let work = lab.queue().to_string();
    let dlq = topology::dead_letter_queue(&work);
    let raw_rate = super::drain::raw_publish(lab, n, bytes, 0).await?;
    settle(lab, &work, 0).await?;
    let body = serde_json::to_vec(&payload(0, bytes))?;
    let letters = (0..n).map(|_| RawMessage {
        message_id: uuid::Uuid::new_v4().to_string(),
        message_type: TOPIC.into(),
        body: body.clone(),
    });
    let bar = progress(n, "dead letters");
    lab.broker
        .publish_stream(
            &lab.config.broker.dead_letter_exchange,
            &work,
            letters.inspect(|_| bar.inc(1)),
            1000,
        )
        .await?;
    bar.finish_and_clear();
    settle(lab, &dlq, n).await?;
    let (command, rss) =
        timed_command(lab, "dlq-replay", &["dlq", "replay", "--all", "--yes"]).await?;
    // A quorum queue applies acknowledgements through its log: its counts
    // may trail the command's exit by a moment. What persists is real.
    let (mut moved, mut left) = (0, 0);
    for _ in 0..50 {
        moved = lab.broker.queue_stats(&work).await?.map_or(0, |s| s.ready);
        left = lab.broker.queue_stats(&dlq).await?.map_or(0, |s| s.ready);
        if moved == n && left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    if moved != n || left != 0 {
        r.problem(format!(
            "dlq replay left {left} in {dlq} and {moved} of {n} in {work}"
        ));
    }
    lab.broker.purge_queue(&work).await?;
    figures(
        &mut r,
        [
            "raw confirmed publish (msg/s)",
            "dlq replay --all (msg/s)",
            "dlq replay / raw publish",
            "dlq replay peak RSS (MiB)",
        ],
        n,
        n as f64 / raw_rate,
        command,
        rss,
    );

    Ok(r)
}

/// Wait until `queue` shows `ready` messages: a quorum queue's counts may
/// trail the confirms and the purge that changed them by a moment.
async fn settle(lab: &Lab, queue: &str, ready: u64) -> anyhow::Result<()> {
    let mut seen = 0;
    for _ in 0..100 {
        seen = lab.broker.queue_stats(queue).await?.map_or(0, |s| s.ready);
        if seen == ready {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("{queue} holds {seen} messages where {ready} were expected")
}

/// Put every row in one state.
async fn set_all(lab: &Lab, set: &str) -> anyhow::Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("UPDATE outbox SET {set}")))
        .execute(&lab.pool)
        .await?;
    Ok(())
}

/// The row changes measured.
enum Rows {
    Replay,
    Requeue,
}

/// The change to every row in one transaction, in this process: seconds.
async fn timed_statement(lab: &Lab, ids: &[i64], rows: Rows) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut tx = lab.pool.begin().await?;
    match rows {
        Rows::Replay => outbox::replay_same_id(&mut tx, ids, "bench").await?,
        Rows::Requeue => outbox::requeue(&mut tx, ids, "bench").await?,
    };
    tx.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}

/// `outboxctl <args>` from start to exit (its output on a pipe, so no
/// progress bar): seconds and peak RSS in MiB.
async fn timed_command(lab: &Lab, name: &str, args: &[&str]) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let mut p = lab.start(name, args)?;
    p.wait().await?;
    Ok((started.elapsed().as_secs_f64(), p.peak_mib()))
}

/// The four figures of one operation: the baseline's rate, the command's,
/// their ratio and the command's peak memory, under these names.
fn figures(
    r: &mut Report,
    names: [&'static str; 4],
    n: u64,
    baseline: f64,
    command: f64,
    rss: f64,
) {
    let base_rate = n as f64 / baseline;
    let cmd_rate = n as f64 / command;
    r.figure(names[0], base_rate.round());
    r.figure(names[1], cmd_rate.round());
    r.figure(names[2], cmd_rate / base_rate);
    r.figure(names[3], rss);
}
