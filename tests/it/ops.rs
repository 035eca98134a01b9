//! Operator commands through the real binary: `outbox ls|show|why|replay|
//! requeue|purge`, `lag` and `dlq`, against the real servers.

use std::collections::HashSet;

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, QueueBindOptions};
use lapin::types::FieldTable;
use outboxctl::flow::handlers::Handlers;
use outboxctl::model::OutboxStatus;
use outboxctl::store::outbox::{self, ListFilter};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn ids(rows: &[Value]) -> Vec<i64> {
    rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn outbox_ls_lists_and_filters_rows(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let (a, _) = env.insert("order.paid", Some("o-1"), json!({})).await;
    let (b, _) = env.insert("order.paid", Some("o-2"), json!({})).await;
    let (c, _) = env.insert("user.created", None, json!({})).await;
    let (d, _) = env.insert("order.paid", Some("o-1"), json!({})).await;
    exec(
        &env.pool,
        &format!("UPDATE outbox SET sent_at = now(), attempts = 1 WHERE id = {a}"),
    )
    .await;
    exec(&env.pool, &format!("UPDATE outbox SET dead_at = now(), attempts = 10, last_error = 'returned by the broker' WHERE id = {b}")).await;
    exec(
        &env.pool,
        &format!("UPDATE outbox SET created_at = now() - interval '2 hours' WHERE id = {c}"),
    )
    .await;

    let ls = |args: &[&str]| {
        let out = run(env.cmd().args(["outbox", "ls", "-o", "json"]).args(args));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        ids(&json_lines(&out))
    };
    assert_eq!(ls(&[]), vec![d, c, b, a], "all rows, newest first");
    assert_eq!(ls(&["--oldest-first"]), vec![a, b, c, d]);
    assert_eq!(ls(&["--pending"]), vec![d, c]);
    assert_eq!(ls(&["--sent"]), vec![a]);
    assert_eq!(ls(&["--dead"]), vec![b]);
    assert_eq!(ls(&["--all", "--topic", "order.paid"]), vec![d, b, a]);
    assert_eq!(ls(&["--key", "o-1"]), vec![d, a]);
    assert_eq!(ls(&["--since", "1h"]), vec![d, b, a]);
    assert_eq!(ls(&["--until", "1h"]), vec![c]);
    assert_eq!(ls(&["--limit", "2"]), vec![d, c]);

    let out = run(env.cmd().args(["outbox", "ls", "-o", "json", "--dead"]));
    let row = &json_lines(&out)[0];
    for field in [
        "id",
        "message_id",
        "topic",
        "partition_key",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "available_at",
        "sent_at",
        "dead_at",
    ] {
        assert!(row.get(field).is_some(), "JSON rows carry {field}: {row}");
    }
    assert_eq!(row["status"], "dead");

    // The table for people: a header and one line per row, the error cut to fit.
    let out = run(env
        .cmd()
        .env("COLUMNS", "100")
        .args(["outbox", "ls", "--dead"]));
    let text = stdout(&out);
    assert!(
        text.lines().next().unwrap().contains("LAST ERROR"),
        "{text}"
    );
    assert!(
        text.contains("returned by the broker") || text.contains('…'),
        "{text}"
    );
    assert!(
        stderr(&out).is_empty(),
        "logs stay off stdout and out of the way: {}",
        stderr(&out)
    );

    // Nothing matched: success (an empty list is an answer), said on
    // stderr for people, nothing at all on stdout; bad usage: exit 2.
    let out = run(env.cmd().args(["outbox", "ls", "--topic", "nope"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no outbox rows match"));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let out = run(env.cmd().args(["outbox", "ls", "--pending", "--dead"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(env.cmd().args(["outbox", "ls", "--since", "last tuesday"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a time"), "{}", stderr(&out));
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn outbox_show_prints_everything_about_a_row(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let (id, mid) = env
        .insert(
            "order.paid",
            Some("o-9"),
            json!({"order": 9, "lines": [1, 2]}),
        )
        .await;
    exec(&env.pool, &format!(
        "UPDATE outbox SET headers = '{{\"tenant\": \"acme\"}}', sent_at = now(), attempts = 2, last_error = 'nacked once' WHERE id = {id}"
    ))
    .await;
    exec(&env.pool, &format!(
        "INSERT INTO consumed_messages (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered, duplicates)
         VALUES ('billing', '{mid}', 'order.paid', 'billing.q', now(), 1, false, 2)"
    ))
    .await;
    for r in [id.to_string(), mid.to_string()] {
        let out = run(env.cmd().args(["outbox", "show", &r]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        for want in [
            "sent",
            "order.paid",
            "o-9",
            "nacked once",
            "\"tenant\":\"acme\"",
            "\"order\": 9",
            "billing",
            "duplicates 2",
        ] {
            assert!(text.contains(want), "show {r} lacks {want:?}:\n{text}");
        }
    }
    let out = run(env
        .cmd()
        .args(["outbox", "show", &id.to_string(), "-o", "json"]));
    let v = &json_lines(&out)[0];
    assert_eq!(v["payload"], json!({"order": 9, "lines": [1, 2]}));
    assert_eq!(v["consumed"][0]["consumer"], "billing");

    // An unknown id is an error (exit 2), not a "no".
    let out = run(env.cmd().args(["outbox", "show", "999999"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("there is no outbox row 999999"),
        "{}",
        stderr(&out)
    );
    let out = run(env.cmd().args(["outbox", "show", "not-an-id"]));
    assert_eq!(out.status.code(), Some(2));
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn outbox_why_explains_each_reason_a_row_is_where_it_is(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let why = |id: i64| {
        let out = run(env.cmd().args(["outbox", "why", &id.to_string()]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let (sent, _) = env.insert("t.sent", None, json!({})).await;
    exec(
        &env.pool,
        &format!("UPDATE outbox SET sent_at = now(), attempts = 1 WHERE id = {sent}"),
    )
    .await;
    let (dead, _) = env.insert("t.dead", None, json!({})).await;
    exec(&env.pool, &format!("UPDATE outbox SET dead_at = now(), attempts = 10, last_error = 'no queue bound' WHERE id = {dead}")).await;
    let (backoff, _) = env.insert("t.k", Some("key-1"), json!({})).await;
    exec(&env.pool, &format!(
        "UPDATE outbox SET attempts = 2, available_at = now() + interval '10 minutes', last_error = 'nacked by the broker' WHERE id = {backoff}"
    ))
    .await;
    let (behind, _) = env.insert("t.k", Some("key-1"), json!({})).await;
    let (scheduled, _) = env.insert("t.later", None, json!({})).await;
    exec(
        &env.pool,
        &format!(
            "UPDATE outbox SET available_at = now() + interval '1 hour' WHERE id = {scheduled}"
        ),
    )
    .await;
    let (due, _) = env.insert("t.due", None, json!({})).await;

    let text = why(sent);
    assert!(
        text.contains("went out at") && text.contains("attempt 1"),
        "{text}"
    );
    let text = why(dead);
    assert!(
        text.contains("is dead since")
            && text.contains("after 10 attempts")
            && text.contains("no queue bound"),
        "{text}"
    );
    assert!(
        text.contains(&format!("outboxctl outbox requeue {dead}")),
        "{text}"
    );
    let text = why(backoff);
    assert!(
        text.contains("waits for its backoff until") && text.contains("nacked by the broker"),
        "{text}"
    );
    let text = why(behind);
    assert!(
        text.contains(&format!("held back by row {backoff}")) && text.contains("\"key-1\""),
        "{text}"
    );
    assert!(
        text.contains("waits for its backoff") && text.contains("nacked by the broker"),
        "why that one is stuck: {text}"
    );
    let text = why(scheduled);
    assert!(text.contains("is scheduled"), "{text}");
    let text = why(due);
    assert!(text.contains("no relayer is connected"), "{text}");

    // A relayer's batch holding the row right now.
    let mut claim = env.pool.begin().await.unwrap();
    let claimed = outbox::claim_batch(&mut claim, 500, 64).await.unwrap();
    assert!(claimed.rows.iter().any(|r| r.id == due));
    let text = why(due);
    assert!(
        text.contains("is being published right now by a relayer (database session"),
        "{text}"
    );
    claim.rollback().await.unwrap();

    let out = run(env
        .cmd()
        .args(["outbox", "why", &Uuid::new_v4().to_string()]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("there is no outbox message"),
        "{}",
        stderr(&out)
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn replay_with_the_same_id_is_skipped_by_consumers_and_with_a_new_id_processed_again(
    pool: PgPool,
) {
    let env = TestEnv::new(pool, &["order.#"]);
    let (a, a_mid) = env.insert("order.paid", Some("o-1"), json!({"n": 1})).await;
    let (b, b_mid) = env.insert("order.paid", Some("o-2"), json!({"n": 2})).await;
    relay_once(&env.config).await;
    let consumer = RunningConsumer::start(&env.config, Handlers::standard());
    let consumed = |mid: Uuid| {
        let pool = env.pool.clone();
        async move {
            sqlx::query_as::<_, (i32,)>(
                "SELECT duplicates FROM consumed_messages WHERE message_id = $1",
            )
            .bind(mid)
            .fetch_optional(&pool)
            .await
            .unwrap()
        }
    };
    wait_for("both consumed", || async {
        (consumed(a_mid).await.is_some() && consumed(b_mid).await.is_some()).then_some(())
    })
    .await;

    // More than one row, no terminal, no --yes: refused, nothing changed.
    let out = run(env
        .cmd()
        .args(["outbox", "replay", &a.to_string(), &b.to_string()]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("without --yes"), "{}", stderr(&out));
    let out = run(env.cmd().args([
        "outbox",
        "replay",
        "--topic",
        "order.paid",
        "--since",
        "1h",
        "--dry-run",
    ]));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains(&format!("would replay 2 rows: {a}, {b}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.counts().await, (0, 2, 0), "a dry run changes nothing");

    let out = run(env.cmd().args(["outbox", "replay", &a.to_string()]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "1 row replayed (same message ids; they go out with the next relay batch): {a}"
        )),
        "{}",
        stdout(&out)
    );
    let (replay_count, replayed_by): (i32, Option<String>) =
        sqlx::query_as("SELECT replay_count, replayed_by FROM outbox WHERE id = $1")
            .bind(a)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(replay_count, 1);
    assert!(replayed_by.is_some_and(|w| !w.is_empty()));
    relay_once(&env.config).await;
    wait_for("the consumer to skip the replayed message", || async {
        (consumed(a_mid).await == Some((1,))).then_some(())
    })
    .await;

    let out = run(env
        .cmd()
        .args(["outbox", "replay", &b_mid.to_string(), "--new-id"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "1 row replayed as new rows with new message ids: {b}→"
        )),
        "{}",
        stdout(&out)
    );
    let (copy, copy_mid): (i64, Uuid) =
        sqlx::query_as("SELECT id, message_id FROM outbox WHERE replay_of = $1")
            .bind(b)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_ne!(copy_mid, b_mid);
    relay_once(&env.config).await;
    wait_for("the consumer to process the copy", || async {
        consumed(copy_mid).await.map(|_| ())
    })
    .await;
    let summary = consumer.stop().await;
    assert_eq!((summary.processed, summary.duplicates), (3, 1));
    assert!(copy > b);

    // Unknown ids and rows in the wrong state are errors (exit 2) that
    // name the row and the command that fits.
    let out = run(env.cmd().args(["outbox", "replay", "999999"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("999999"), "{}", stderr(&out));
    let (pending, _) = env.insert("order.paid", None, json!({})).await;
    let out = run(env.cmd().args(["outbox", "replay", &pending.to_string()]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "row {pending} is pending: replay publishes sent rows"
        )),
        "{}",
        stderr(&out)
    );
    let out = run(env
        .cmd()
        .args(["outbox", "replay", "1", "--topic", "x", "--since", "1h"]));
    assert_eq!(out.status.code(), Some(2), "rows and --topic conflict");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn requeued_dead_rows_go_out(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["ok.#"]);
    env.config.relay.max_attempts = 1;
    let (x, _) = env.insert("lost.thing", None, json!({})).await;
    let (y, _) = env.insert("lost.thing", None, json!({})).await;
    let summary = relay_once(&env.config).await;
    assert_eq!(summary.dead, 2);

    let out = run(env.cmd().args(["outbox", "requeue", "--dead", "--dry-run"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains(&format!("would requeue 2 rows: {x}, {y}")),
        "{}",
        stdout(&out)
    );
    let out = run(env.cmd().args(["outbox", "requeue", "--dead"]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "two rows without --yes and no terminal"
    );
    assert_eq!(env.counts().await, (0, 0, 2));

    // Fix the cause (bind the topic), then requeue.
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    ch.queue_bind(
        env.queue().as_str().into(),
        env.config.broker.exchange.as_str().into(),
        "lost.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let out = run(env.cmd().args([
        "outbox",
        "requeue",
        "--dead",
        "--topic",
        "lost.thing",
        "--yes",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 rows requeued (attempts reset"),
        "{}",
        stdout(&out)
    );
    let (attempts, requeued_by): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, requeued_by FROM outbox WHERE id = $1")
            .bind(x)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 0);
    assert!(requeued_by.is_some());
    relay_once(&env.config).await;
    assert_eq!(env.counts().await, (0, 2, 0));
    assert_eq!(env.depth(&env.queue()).await, 2);

    // A row that is not dead: an error naming its state and the command
    // that fits.
    let out = run(env.cmd().args(["outbox", "requeue", &x.to_string()]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("row {x} is sent: requeue puts dead rows back")),
        "{}",
        stderr(&out)
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn purge_deletes_only_old_sent_rows_in_batches(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    env.insert_many(25, "old.sent", 0).await;
    exec(
        &env.pool,
        "UPDATE outbox SET sent_at = now() - interval '8 days', attempts = 1",
    )
    .await;
    env.insert_many(3, "new.sent", 0).await;
    exec(&env.pool, "UPDATE outbox SET sent_at = now() - interval '1 day', attempts = 1 WHERE topic = 'new.sent'").await;
    env.insert_many(4, "pending", 0).await;
    env.insert_many(2, "dead", 0).await;
    exec(
        &env.pool,
        "UPDATE outbox SET dead_at = now() - interval '30 days' WHERE topic = 'dead'",
    )
    .await;

    let out = run(env.cmd().args([
        "outbox",
        "purge",
        "--sent",
        "--older-than",
        "7d",
        "--dry-run",
    ]));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("would delete 25 rows"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.counts().await, (4, 28, 2));

    let vacuums = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    // Each DELETE statement and its transaction, with the rows it took.
    exec(
        &env.pool,
        "CREATE TABLE purge_batches (xid xid8 NOT NULL, rows int NOT NULL); \
         CREATE FUNCTION log_purge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           INSERT INTO purge_batches SELECT pg_current_xact_id(), count(*) FROM gone; \
           RETURN NULL; END $$; \
         CREATE TRIGGER log_purge AFTER DELETE ON outbox REFERENCING OLD TABLE AS gone \
           FOR EACH STATEMENT EXECUTE FUNCTION log_purge()",
    )
    .await;
    let before = vacuums().await;
    let out = run(env.cmd().args([
        "outbox",
        "purge",
        "--sent",
        "--older-than",
        "7d",
        "--batch",
        "10",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("deleted 25 rows"), "{}", stdout(&out));
    // 25 rows in batches of at most 10, each its own transaction: 10, 10, 5.
    let sizes: Vec<i32> =
        sqlx::query_scalar("SELECT rows FROM purge_batches WHERE rows > 0 ORDER BY rows DESC")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(sizes, [10, 10, 5], "batch sizes");
    let transactions: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT xid::text) FROM purge_batches WHERE rows > 0")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(transactions, 3, "one transaction per batch");
    assert_eq!(
        env.counts().await,
        (4, 3, 2),
        "pending, recent and dead rows are untouched"
    );
    // The deleted rows' space is reusable at once, autovacuum or not.
    assert!(
        stdout(&out).contains("vacuumed the outbox"),
        "{}",
        stdout(&out)
    );
    assert_eq!(vacuums().await, before + 1);
    exec(
        &env.pool,
        "UPDATE outbox SET sent_at = now() - interval '30 days' WHERE topic = 'new.sent'",
    )
    .await;
    let out = run(env.cmd().args([
        "outbox",
        "purge",
        "--sent",
        "--older-than",
        "7d",
        "--no-vacuum",
    ]));
    assert!(stdout(&out).contains("deleted 3 rows"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("vacuum"), "{}", stdout(&out));
    assert_eq!(vacuums().await, before + 1, "--no-vacuum vacuumed");

    let out = run(env.cmd().args(["outbox", "purge", "--older-than", "7d"]));
    assert_eq!(out.status.code(), Some(2), "--sent is required");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn lag_reports_what_each_stage_holds(pool: PgPool) {
    let env = TestEnv::new(pool, &["lag.#"]);
    env.apply_topology().await;
    // Outbox: 3 pending (the oldest 10 minutes old), 2 dead, 4 sent just now of which 1 consumed.
    env.insert_many(3, "lag.pending", 0).await;
    exec(&env.pool, "UPDATE outbox SET created_at = now() - interval '10 minutes', available_at = now() - interval '10 minutes' WHERE id = (SELECT min(id) FROM outbox)").await;
    env.insert_many(2, "lag.dead", 0).await;
    exec(
        &env.pool,
        "UPDATE outbox SET dead_at = now() WHERE topic = 'lag.dead'",
    )
    .await;
    env.insert_many(4, "lag.sent", 0).await;
    exec(
        &env.pool,
        "UPDATE outbox SET sent_at = now(), attempts = 1 WHERE topic = 'lag.sent'",
    )
    .await;
    exec(&env.pool, "INSERT INTO consumed_messages (consumer, message_id, topic, queue, received_at, delivery_attempt, redelivered)
                     SELECT 'c', message_id, topic, 'q', now(), 1, false FROM outbox WHERE topic = 'lag.sent' LIMIT 1").await;
    // Queue: 5 messages, 2 of them delivered to a consumer that does not acknowledge.
    for _ in 0..5 {
        env.publish(RawMessage {
            routing_key: "lag.msg",
            body: b"{}",
            message_id: None,
            message_type: None,
        })
        .await;
    }
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    ch.basic_qos(2, BasicQosOptions::default()).await.unwrap();
    let mut holder = ch
        .basic_consume(
            env.queue().as_str().into(),
            "holder".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        holder.next().await.unwrap().unwrap();
    }

    // The management API refreshes its figures every few seconds: wait for them.
    let snap = wait_for("lag to show the set-up", || async {
        let out = run(env.cmd().args(["lag", "-o", "json"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v = json_lines(&out).remove(0);
        let work = v["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["role"] == "work")
            .unwrap()
            .clone();
        (work["ready"] == 3 && work["unacked"] == 2 && work["consumers"] == 1).then_some(v)
    })
    .await;
    let o = &snap["outbox"];
    assert_eq!(o["pending"], 3);
    assert_eq!(o["dead"], 2);
    assert_eq!(o["sent_last_minute"], 4);
    assert_eq!(o["sent_not_consumed_24h"], 3);
    let age = o["oldest_pending_age_seconds"].as_f64().unwrap();
    assert!((600.0..660.0).contains(&age), "oldest pending age {age}");
    let roles: HashSet<&str> = snap["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, HashSet::from(["work", "retry", "dead-letter"]));

    let out = run(env.cmd().args(["lag"]));
    let text = stdout(&out);
    assert!(
        text.contains("pending rows") && text.contains(&env.queue()),
        "{text}"
    );

    // --max-age: exit 1 when the oldest pending row is older, 0 otherwise.
    let out = run(env.cmd().args(["lag", "--max-age", "30s"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("over --max-age 30s"),
        "{}",
        stderr(&out)
    );
    let out = run(env.cmd().args(["lag", "--max-age", "1h"]));
    assert_eq!(out.status.code(), Some(0));
    exec(
        &env.pool,
        "UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND dead_at IS NULL",
    )
    .await;
    let out = run(env.cmd().args(["lag", "--max-age", "1s"]));
    assert_eq!(out.status.code(), Some(0), "no pending rows, no lag");
    let _ = conn.close(200, "".into()).await;
}

/// Messages read but not acknowledged return to a quorum queue a moment
/// after the reader's channel closes: wait for the count to settle.
async fn settles(env: &TestEnv, queue: &str, expected: u32, what: &str) {
    wait_for(what, || async {
        (env.depth(queue).await == expected).then_some(())
    })
    .await;
}

/// Put a dead letter in the test's DLQ, as the consumer would.
async fn dead_letter(env: &TestEnv, message_id: &str, reason: &str) {
    publish_dead_letter(env, &env.queue(), message_id, reason, None).await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn dlq_ls_and_show_do_not_consume_and_replay_moves_messages_back(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    env.apply_topology().await;
    let dlq = format!("{}.dlq", env.queue());
    let ids: Vec<String> = (0..3).map(|_| Uuid::new_v4().to_string()).collect();
    for (i, id) in ids.iter().enumerate() {
        dead_letter(
            &env,
            id,
            &format!("failed 5 attempts; last error: boom {i}"),
        )
        .await;
    }
    assert_eq!(env.depth(&dlq).await, 3);

    let out = run(env.cmd().args(["dlq", "ls", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = json_lines(&out);
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|l| l["attempts"] == 5 && l["reason"].as_str().unwrap().contains("boom"))
    );
    let out = run(env.cmd().args(["dlq", "ls"]));
    assert!(
        stdout(&out).contains("REASON") && stdout(&out).contains("boom 0"),
        "{}",
        stdout(&out)
    );
    settles(&env, &dlq, 3, "listing lost nothing").await;

    let out = run(env.cmd().args(["dlq", "show", &ids[1]]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("boom 1") && stdout(&out).contains("\"order\": 1"),
        "{}",
        stdout(&out)
    );
    settles(&env, &dlq, 3, "showing lost nothing").await;
    // An id that is not there is an error (exit 2), not an empty answer.
    let out = run(env.cmd().args(["dlq", "show", &Uuid::new_v4().to_string()]));
    assert_eq!(out.status.code(), Some(2));

    let out = run(env.cmd().args(["dlq", "replay", &ids[0]]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("moved 1 message from"),
        "{}",
        stdout(&out)
    );
    settles(&env, &dlq, 2, "one moved, two back").await;
    let back = env.take(&env.queue(), 1).await.remove(0);
    assert_eq!(
        back.properties.message_id().as_ref().unwrap().as_str(),
        ids[0]
    );
    let h = back.properties.headers().as_ref().unwrap().inner();
    assert!(
        !h.contains_key("x-outbox-death-reason") && !h.contains_key("x-outbox-attempt"),
        "attempts reset: {h:?}"
    );

    let out = run(env.cmd().args(["dlq", "replay", "--all"]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "two messages, no terminal, no --yes"
    );
    assert_eq!(env.depth(&dlq).await, 2, "nothing moved");
    let out = run(env.cmd().args(["dlq", "replay", "--all", "--yes"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("moved 2 messages from"),
        "{}",
        stdout(&out)
    );
    assert_eq!(env.depth(&dlq).await, 0);
    assert_eq!(env.depth(&env.queue()).await, 2);

    dead_letter(&env, &ids[2], "again").await;
    let out = run(env.cmd().args(["dlq", "purge"]));
    assert_eq!(out.status.code(), Some(2), "purge always asks");
    let out = run(env.cmd().args(["dlq", "purge", "--yes"]));
    assert!(
        stdout(&out).contains("purged 1 message"),
        "{}",
        stdout(&out)
    );
    // An empty dead-letter queue is an answer: exit 0, nothing on stdout.
    let out = run(env.cmd().args(["dlq", "ls", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn ls_pending_on_a_million_sent_rows_answers_from_the_partial_index(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    exec(
        &env.pool,
        r#"INSERT INTO outbox (topic, payload, sent_at, attempts)
                       SELECT 'bulk.sent', '{}'::jsonb, now(), 1 FROM generate_series(1, 1000000)"#,
    )
    .await;
    env.insert_many(1000, "bulk.pending", 0).await;
    exec(&env.pool, "ANALYZE outbox").await;
    let filter = ListFilter {
        status: Some(OutboxStatus::Pending),
        limit: Some(50),
        ..ListFilter::default()
    };
    let plan = outbox::explain_list(&env.pool, &filter).await.unwrap();
    assert!(plan.contains("outbox_pending_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    let out = run(env
        .cmd()
        .args(["outbox", "ls", "--pending", "--limit", "1000", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 1000);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn rows_scheduled_for_later_are_not_lag(pool: PgPool) {
    let env = TestEnv::new(pool, &["lag.#"]);
    env.apply_topology().await;
    let lag = || async {
        let out = run(env.cmd().args(["lag", "-o", "json"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        json_lines(&out).remove(0)["outbox"].clone()
    };
    // Created ten minutes ago, due in an hour: waiting, not late.
    exec(
        &env.pool,
        "INSERT INTO outbox (topic, payload, created_at, available_at) \
         VALUES ('lag.later', '{}', now() - interval '10 minutes', now() + interval '1 hour')",
    )
    .await;
    let o = lag().await;
    assert_eq!(o["pending"], 1);
    assert_eq!(o["scheduled"], 1);
    assert_eq!(o["oldest_pending_age_seconds"], 0.0);
    let next = o["next_scheduled_in_seconds"].as_f64().unwrap();
    assert!((3500.0..=3600.0).contains(&next), "next in {next}");
    let out = run(env.cmd().args(["lag", "--max-age", "5m"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("scheduled for later") && stdout(&out).contains("next in 59m"),
        "{}",
        stdout(&out)
    );

    // Scheduled for two minutes ago: late by two minutes, not by its age.
    exec(
        &env.pool,
        "UPDATE outbox SET available_at = now() - interval '2 minutes' WHERE topic = 'lag.later'",
    )
    .await;
    let o = lag().await;
    assert_eq!(o["scheduled"], 0);
    let age = o["oldest_pending_age_seconds"].as_f64().unwrap();
    assert!((120.0..180.0).contains(&age), "lag {age}");
    let out = run(env.cmd().args(["lag", "--max-age", "1m"]));
    assert_eq!(out.status.code(), Some(1));

    // A row that failed and waits for its backoff is late since it was made.
    exec(
        &env.pool,
        "UPDATE outbox SET attempts = 3, available_at = now() + interval '1 minute' WHERE topic = 'lag.later'",
    )
    .await;
    let o = lag().await;
    let age = o["oldest_pending_age_seconds"].as_f64().unwrap();
    assert!((600.0..660.0).contains(&age), "lag of a failing row {age}");
}
