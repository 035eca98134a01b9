//! On call at 3 a.m.: every numbered point of the on-call issue has a test
//! here (point 1, lag from when a row became due, is `ops::rows_scheduled_
//! for_later_are_not_lag`), plus `status` and `top`.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap();
}

/// A dead row of `topic`, with `error` as its last error.
async fn dead_row(env: &TestEnv, topic: &str, error: &str) -> i64 {
    let (id, _) = env.insert(topic, Some("k1"), json!({"n": 1})).await;
    sqlx::query("UPDATE outbox SET dead_at = now(), attempts = 10, last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(&env.pool)
        .await
        .unwrap();
    id
}

async fn exists(pool: &PgPool, id: i64) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Point 2: dead rows and dead letters can be thrown away — audited, with
/// a dry run and confirmation — without touching the rest.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn dead_rows_and_dead_letters_can_be_thrown_away(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    env.apply_topology().await;
    let a = dead_row(&env, "order.paid", "returned by the broker as unroutable").await;
    let b = dead_row(&env, "order.paid", "returned by the broker as unroutable").await;
    let keep = dead_row(&env, "order.shipped", "nacked").await;

    let dry = run(env
        .cmd()
        .args(["outbox", "discard", &a.to_string(), "--dry-run"]));
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert!(exists(&env.pool, a).await, "a dry run changed something");

    let one = run(env
        .cmd()
        .args(["outbox", "discard", &a.to_string(), "-o", "json"]));
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert_eq!(json_lines(&one)[0]["changed"], json!([a]));
    assert!(!exists(&env.pool, a).await);
    // Gone, but not without a trace.
    let (actor, row): (String, Value) = sqlx::query_as(
        "SELECT actor, detail->'row' FROM outbox_audit WHERE action = 'discard' AND row_id = $1",
    )
    .bind(a)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(actor.contains('@'), "{actor}");
    assert_eq!(row["topic"], "order.paid");
    let show = run(env.cmd().args(["outbox", "show", &a.to_string()]));
    assert_eq!(show.status.code(), Some(2));
    assert!(stderr(&show).contains("was discarded"), "{}", stderr(&show));

    // Several need --yes without a terminal to ask on; then only their topic goes.
    let c = dead_row(&env, "order.paid", "returned by the broker as unroutable").await;
    let refused = run(env
        .cmd()
        .args(["outbox", "discard", "--dead", "--topic", "order.paid"]));
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert!(exists(&env.pool, b).await && exists(&env.pool, c).await);
    let both = run(env.cmd().args([
        "outbox",
        "discard",
        "--dead",
        "--topic",
        "order.paid",
        "--yes",
    ]));
    assert_eq!(both.status.code(), Some(0), "{}", stderr(&both));
    assert!(!exists(&env.pool, b).await && !exists(&env.pool, c).await);
    assert!(
        exists(&env.pool, keep).await,
        "another topic's dead row was discarded"
    );

    // Dead letters: drop the chosen one, keep the others.
    let dlq = format!("{}.dlq", env.queue());
    let ids: Vec<String> = (0..3).map(|_| Uuid::new_v4().to_string()).collect();
    for id in &ids {
        publish_dead_letter(&env, id, None).await;
    }
    wait_for("three dead letters", || async {
        (env.depth(&dlq).await == 3).then_some(())
    })
    .await;
    let drop = run(env
        .cmd()
        .args(["dlq", "drop", &ids[1], "--yes", "-o", "json"]));
    assert_eq!(drop.status.code(), Some(0), "{}", stderr(&drop));
    assert_eq!(json_lines(&drop)[0]["count"], 1);
    wait_for("two dead letters left", || async {
        (env.depth(&dlq).await == 2).then_some(())
    })
    .await;
    let left = run(env.cmd().args(["dlq", "ls", "-o", "json"]));
    let left: Vec<String> = json_lines(&left)
        .iter()
        .map(|l| l["message_id"].as_str().unwrap().to_string())
        .collect();
    assert!(left.contains(&ids[0]) && left.contains(&ids[2]) && !left.contains(&ids[1]));
    let unknown = run(env.cmd().args(["dlq", "drop", "no-such-message", "--yes"]));
    assert_eq!(unknown.status.code(), Some(2));
}

/// A dead letter in the test's DLQ, as the consumer leaves one.
async fn publish_dead_letter(env: &TestEnv, message_id: &str, row: Option<i64>) {
    publish_dead_letters(env, &[(message_id.to_string(), row)]).await;
}

/// Dead letters in the test's DLQ, published pipelined on one channel and
/// all confirmed.
async fn publish_dead_letters(env: &TestEnv, letters: &[(String, Option<i64>)]) {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use lapin::types::{AMQPValue, FieldTable};
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut confirms = Vec::new();
    for (message_id, row) in letters {
        let mut h = FieldTable::default();
        h.insert(
            "x-outbox-death-reason".into(),
            AMQPValue::LongString("boom".into()),
        );
        h.insert("x-outbox-attempts".into(), AMQPValue::LongLongInt(5));
        if let Some(row) = row {
            h.insert("x-outbox-id".into(), AMQPValue::LongLongInt(*row));
        }
        let props = lapin::BasicProperties::default()
            .with_message_id(message_id.as_str().into())
            .with_type("order.paid".into())
            .with_headers(h);
        confirms.push(
            ch.basic_publish(
                env.config.broker.dead_letter_exchange.as_str().into(),
                env.queue().as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                b"{}",
                props,
            )
            .await
            .unwrap(),
        );
    }
    for c in confirms {
        assert!(c.await.unwrap().is_ack());
    }
    let _ = conn.close(200, "".into()).await;
}

/// Point 3: a failing publish is named in the log at the default level —
/// topic, reason, error — within one summary interval, one line per topic
/// and reason per interval however many rows fail.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn publish_failures_are_named_in_the_log_once_per_topic_and_reason(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["ok.#"]);
    env.config.log.level = "info".into();
    env.config.log.summary_interval = Duration::from_secs(1);
    env.config.relay.max_attempts = 1000;
    env.apply_topology().await;
    for _ in 0..3 {
        env.insert("nowhere.to.go", None, json!({})).await;
    }
    let mut relay = spawn(env.cmd().arg("relay"));
    let started = std::time::Instant::now();
    wait_for("the failing topic named in the log", || {
        let named = relay
            .log()
            .lines()
            .any(|l| l.contains("WARN") && l.contains("nowhere.to.go") && l.contains("unroutable"));
        async move { named.then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64();
    terminate(&relay);
    wait_exit(&mut relay).await;
    let log = relay.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("nowhere.to.go"))
        .collect();
    let failed: u64 = sqlx::query_scalar::<_, i32>("SELECT sum(attempts)::int FROM outbox")
        .fetch_one(&env.pool)
        .await
        .unwrap() as u64;
    // Many failed attempts, few lines: at most one per interval (1 s).
    assert!(
        failed > lines.len() as u64,
        "{failed} failures, {} lines",
        lines.len()
    );
    assert!(
        lines.len() as f64 <= elapsed + 1.0,
        "{} lines in {elapsed:.1}s:\n{log}",
        lines.len()
    );
    assert!(lines[0].contains(r#"reason="returned""#), "{}", lines[0]);
}

/// Point 4 (`status`): a relay, a consumer and an API as real processes are
/// listed with their pid and role; after the consumer is SIGKILLed, the
/// queue has no consumer and `status` exits 1.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn status_lists_the_processes_and_fails_when_a_queue_has_no_consumer(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["upload.#"]);
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    // When a process does not show up, its log says where its start stopped.
    env.config.log.level = "outboxctl=debug,warn".into();
    env.apply_topology().await;
    let mut relay = spawn(env.cmd().arg("relay"));
    let mut consume = spawn(env.cmd().arg("consume"));
    let mut serve = spawn(env.cmd().arg("serve"));
    let pids = [relay.id(), consume.id(), serve.id()];
    // Polled by hand: when it times out, the last answer says what was missing.
    let deadline = std::time::Instant::now() + HANG;
    let status = loop {
        let out = run(env.cmd().args(["status", "-o", "json"]));
        let s: Value = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
        let listed = s["processes"].as_array().cloned().unwrap_or_default();
        let all = pids.iter().all(|pid| {
            listed
                .iter()
                .any(|p| p["pid"] == json!(pid) && p["alive"] == true)
        });
        if all && out.status.code() == Some(0) {
            break s;
        }
        if std::time::Instant::now() >= deadline {
            let logs: Vec<String> = [&mut relay, &mut consume, &mut serve]
                .into_iter()
                .map(|p| p.log())
                .collect();
            panic!(
                "three processes not registered, or status not 0 ({:?}): {s:#}\n{}\nlogs of \
                 relay, consume, serve:\n{}",
                out.status.code(),
                stderr(&out),
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (pid, role) in pids.iter().zip(["relay", "consume", "serve"]) {
        let p = status["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == json!(pid))
            .unwrap();
        assert_eq!(p["role"], role);
    }
    let table = run(env.cmd().arg("status"));
    assert!(
        stdout(&table).contains(&consume.id().to_string()),
        "{}",
        stdout(&table)
    );

    consume.kill().unwrap();
    consume.wait().unwrap();
    let out = wait_for("status to see the queue without consumer", || async {
        let out = run(env.cmd().arg("status"));
        (out.status.code() == Some(1)).then_some(out)
    })
    .await;
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.contains(&env.queue()) && l.contains("no consumer")),
        "{text}"
    );
    for p in [&mut relay, &mut serve] {
        terminate(p);
        wait_exit(p).await;
    }
    // A clean exit signs off: no longer listed.
    let out = run(env.cmd().args(["status", "-o", "json"]));
    let s: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        !s["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == json!(relay.id())),
        "{s}"
    );
}

/// Point 4 (`lag`): an unreachable broker is said, not hidden.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn lag_says_when_the_broker_is_unreachable(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["#"]);
    env.config.broker.url = outboxctl::config::SecretUrl::new("amqp://guest:guest@127.0.0.1:1/%2f");
    let out = run(env.cmd().arg("lag"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("UNREACHABLE"), "{}", stdout(&out));
    let json = run(env.cmd().args(["lag", "-o", "json"]));
    let snap: Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert!(
        snap["broker_error"].as_str().unwrap().contains("refused"),
        "{snap}"
    );
}

/// Point 5: a listing cut by --limit says how many more exist; at 80
/// columns ids stay on one line and the error shows its start; pending rows
/// say how they wait.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn listings_say_what_they_cut_and_fit_80_columns(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    for _ in 0..60 {
        dead_row(
            &env,
            "order.paid.with.a.long.topic",
            "returned by the broker as unroutable (NO_ROUTE): no queue is bound for this topic",
        )
        .await;
    }
    let out = run(env
        .cmd()
        .args(["outbox", "ls", "--dead"])
        .env("COLUMNS", "80"));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("50 rows shown; 10 more match"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY id DESC LIMIT 50")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    for id in &ids {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(&id.to_string())),
            "row {id} is not whole on one line:\n{text}"
        );
    }
    assert!(
        text.lines().filter(|l| l.contains("returned by")).count() == 50,
        "the start of the error is not shown:\n{text}"
    );

    // How pending rows wait.
    exec(&env.pool, "DELETE FROM outbox").await;
    let (failing, _) = env.insert("t", Some("key-a"), json!({})).await;
    exec(
        &env.pool,
        &format!(
            "UPDATE outbox SET attempts = 1, available_at = now() + interval '5 minutes', \
         last_error = 'nacked' WHERE id = {failing}"
        ),
    )
    .await;
    let (held, _) = env.insert("t", Some("key-a"), json!({})).await;
    let (scheduled, _) = env.insert("t", None, json!({})).await;
    exec(
        &env.pool,
        &format!(
            "UPDATE outbox SET available_at = now() + interval '1 hour' WHERE id = {scheduled}"
        ),
    )
    .await;
    let (due, _) = env.insert("t", None, json!({})).await;
    let out = run(env.cmd().args(["outbox", "ls", "--pending", "-o", "json"]));
    let states: std::collections::HashMap<i64, Value> = json_lines(&out)
        .into_iter()
        .map(|r| (r["id"].as_i64().unwrap(), r))
        .collect();
    assert_eq!(states[&failing]["state"], "retrying");
    assert_eq!(states[&held]["state"], "held");
    assert_eq!(states[&held]["held_by"], failing);
    assert_eq!(states[&scheduled]["state"], "scheduled");
    assert_eq!(states[&due]["state"], "due");
    let table = stdout(&run(env.cmd().args(["outbox", "ls", "--pending"])));
    assert!(table.contains(&format!("held by {failing}")), "{table}");
    assert!(
        table.contains("retry in 4m") || table.contains("retry in 5m"),
        "{table}"
    );
}

/// Point 6: `outbox why` tells a message a consumer dead-lettered from one
/// consumed; `dlq ls` shows the row id; `dlq show` takes it.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn why_knows_a_dead_lettered_message_and_dlq_speaks_row_ids(pool: PgPool) {
    use outboxctl::config::HandlerConfig;
    let mut env = TestEnv::new(pool, &[]);
    env.config.handlers = vec![HandlerConfig {
        queue: Some(env.queue()),
        ..HandlerConfig::sql("divide", &["calc.#"], "SELECT 1/0")
    }];
    env.apply_topology().await;
    let (row, message_id) = env.insert("calc.div", None, json!({})).await;
    relay_once(&env.config).await;
    let mut consume = spawn(env.cmd().arg("consume"));
    let dlq = format!("{}.dlq", env.queue());
    wait_for("the message dead-lettered", || async {
        (env.depth(&dlq).await == 1).then_some(())
    })
    .await;
    let why = wait_for("the dead letter recorded", || async {
        let out = run(env.cmd().args(["outbox", "why", &row.to_string()]));
        let text = stdout(&out);
        text.contains("gave up on it").then_some(text)
    })
    .await;
    terminate(&consume);
    wait_exit(&mut consume).await;
    assert!(why.contains("division by zero"), "{why}");
    assert!(
        why.contains(&format!("outboxctl dlq replay {message_id}")),
        "{why}"
    );
    assert!(!why.contains("Consumers have it"), "{why}");
    let ls = run(env.cmd().args(["dlq", "ls", "-o", "json"]));
    assert_eq!(json_lines(&ls)[0]["row_id"], row);
    let show = run(env
        .cmd()
        .args(["dlq", "show", &row.to_string(), "-o", "json"]));
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert_eq!(json_lines(&show)[0]["message_id"], message_id.to_string());
    // Replayed, it is no longer "given up on".
    let replay = run(env.cmd().args(["dlq", "replay", &row.to_string()]));
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    let why = stdout(&run(env.cmd().args(["outbox", "why", &row.to_string()])));
    assert!(!why.contains("gave up on it"), "{why}");
}

/// Point 7: a row waiting out a backoff goes out now with `retry`; a
/// payload is fixed in $EDITOR with `edit` (validated, audited).
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn retry_now_and_edit_a_payload_before_requeueing(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let (row, _) = env.insert("t", None, json!({"amount": "19,90"})).await;
    exec(
        &env.pool,
        &format!(
            "UPDATE outbox SET attempts = 2, available_at = now() + interval '5 minutes', \
         last_error = 'nacked' WHERE id = {row}"
        ),
    )
    .await;
    let out = run(env.cmd().args(["outbox", "retry", &row.to_string()]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let due: bool = sqlx::query_scalar("SELECT available_at <= now() FROM outbox WHERE id = $1")
        .bind(row)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(due);
    // Not in backoff any more: a clear error, nothing changed.
    let again = run(env.cmd().args(["outbox", "retry", &row.to_string()]));
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("not waiting out a backoff"),
        "{}",
        stderr(&again)
    );

    // An editor that fixes the amount, as a person would.
    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("fix-amount");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/19,90/19.90/' \"$1\"\n").unwrap();
    let broken = dir.path().join("break-json");
    std::fs::write(&broken, "#!/bin/sh\necho '{not json' > \"$1\"\n").unwrap();
    for f in [&editor, &broken] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let bad = run(env
        .cmd()
        .args(["outbox", "edit", &row.to_string()])
        .env("EDITOR", &broken));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not valid"), "{}", stderr(&bad));
    let good = run(env
        .cmd()
        .args(["outbox", "edit", &row.to_string()])
        .env("EDITOR", &editor));
    assert_eq!(good.status.code(), Some(0), "{}", stderr(&good));
    let (payload, before): (Value, Value) = sqlx::query_as(
        "SELECT o.payload, a.detail->'before'->'payload' FROM outbox o \
         JOIN outbox_audit a ON a.row_id = o.id AND a.action = 'edit' WHERE o.id = $1",
    )
    .bind(row)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(payload, json!({"amount": "19.90"}));
    assert_eq!(before, json!({"amount": "19,90"}));
}

/// Point 8: the audit actor is the real user also without $USER (cron,
/// systemd, `docker exec`).
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_audit_actor_is_known_without_user(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let row = dead_row(&env, "t", "nacked").await;
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    let mut cmd = env.cmd();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .args(["outbox", "requeue", &row.to_string()]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let by: String = sqlx::query_scalar("SELECT requeued_by FROM outbox WHERE id = $1")
        .bind(row)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(by.starts_with(&format!("{me}@")), "{by}");
}

/// Point 9: `config check` is a pre-flight: exit 1 on an unmigrated database
/// and a missing topology, 0 once both are there, bindings checked.
#[sqlx::test(migrations = false)]
async fn config_check_fails_on_an_unmigrated_database_and_a_missing_topology(pool: PgPool) {
    let env = TestEnv::new(pool, &["order.#"]);
    let out = run(env.cmd().args(["config", "check", "-o", "json"]));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let checks = json_lines(&out);
    let failed = |what: &str| {
        checks
            .iter()
            .any(|c| c["check"] == what && c["result"] == "failed")
    };
    assert!(failed("schema"), "{checks:#?}");
    assert!(failed("topology"), "{checks:#?}");

    assert!(run(env.cmd().arg("migrate")).status.success());
    assert!(run(env.cmd().args(["topology", "apply"])).status.success());
    let out = run(env.cmd().args(["config", "check", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let checks = json_lines(&out);
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "bindings" && c["result"] == "ok"),
        "{checks:#?}"
    );
    assert!(
        checks.iter().any(|c| c["check"] == "management"),
        "{checks:#?}"
    );
}

/// Point 10: long work runs in bounded batches — one transaction each —
/// with a progress bar on a terminal and nothing on a pipe.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn requeue_and_replay_run_in_batches_with_progress_only_on_a_terminal(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    exec(
        &env.pool,
        "INSERT INTO outbox (topic, payload, dead_at, attempts, last_error) \
         SELECT 't', '{}', now(), 10, 'nacked' FROM generate_series(1, 2500)",
    )
    .await;
    let out = run(env
        .cmd()
        .args(["outbox", "requeue", "--dead", "--yes", "--batch", "1000"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "a pipe got a progress bar");
    assert!(
        stdout(&out).starts_with("2500 rows requeued"),
        "{}",
        stdout(&out)
    );
    let transactions: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT xmin::text) FROM outbox WHERE requeued_at IS NOT NULL",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(transactions, 3, "2500 rows in batches of 1000");

    // On a terminal (a pseudo-terminal from `script`), a bar is drawn.
    exec(&env.pool, "UPDATE outbox SET sent_at = now(), attempts = 1").await;
    let config = env.config_file();
    let bin = env!("CARGO_BIN_EXE_outboxctl");
    let line = format!(
        "{bin} --config {} outbox replay --topic t --since 1h --yes --batch 100",
        config.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("OUTBOX_CONFIG")
        .output()
        .unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("rows replay"),
        "no progress bar on a terminal: {all:?}"
    );

    // `dlq replay --all` of more dead letters than one round: every one
    // moved (confirmed in the work queue, then removed), nothing on a pipe.
    env.apply_topology().await;
    let dlq = format!("{}.dlq", env.queue());
    let letters: Vec<(String, Option<i64>)> = (0..2500)
        .map(|_| (uuid::Uuid::new_v4().to_string(), None))
        .collect();
    publish_dead_letters(&env, &letters).await;
    let out = run(env
        .cmd()
        .args(["dlq", "replay", "--all", "--yes", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "a pipe got a progress bar");
    let moved = &json_lines(&out)[0];
    assert_eq!(moved["count"], 2500, "{moved}");
    let mut said: Vec<&str> = moved["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    said.sort_unstable();
    let mut sent: Vec<&str> = letters.iter().map(|(m, _)| m.as_str()).collect();
    sent.sort_unstable();
    assert_eq!(said, sent, "the report names every message moved");
    assert_eq!(env.depth(&dlq).await, 0);
    assert_eq!(env.depth(&env.queue()).await, 2500);
}

/// Point 11: `relay --once` prints nothing when it had nothing to do, and
/// its exit 1 names the failing rows and why.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn relay_once_is_quiet_with_nothing_to_do_and_names_what_fails(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["ok.#"]);
    env.config.relay.max_attempts = 1;
    // The default level, as under cron.
    env.config.log.level = "info".into();
    env.apply_topology().await;
    let quiet = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(
        (stdout(&quiet), stderr(&quiet)),
        (String::new(), String::new())
    );

    let (row, _) = env.insert("nowhere.to.go", None, json!({})).await;
    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("nowhere.to.go") && err.contains("unroutable"),
        "{err}"
    );
    assert!(
        err.contains(&format!("outboxctl outbox why {row}")),
        "{err}"
    );
}

/// Point 12: one exit-code rule; `-o json` where something is printed; no
/// PostgreSQL source line in errors; a wrong role or database says so.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn one_exit_code_rule_and_clear_errors(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    env.apply_topology().await;
    // An empty listing is a success with empty output.
    let empty = run(env.cmd().args(["outbox", "ls", "--dead", "-o", "json"]));
    assert_eq!(
        (empty.status.code(), stdout(&empty)),
        (Some(0), String::new())
    );
    // Nothing to change is a success too.
    let purge = run(env
        .cmd()
        .args(["outbox", "purge", "--sent", "--older-than", "1d"]));
    assert_eq!(purge.status.code(), Some(0));
    let requeue = run(env
        .cmd()
        .args(["outbox", "requeue", "--dead", "-o", "json"]));
    assert_eq!(requeue.status.code(), Some(0));
    assert_eq!(json_lines(&requeue)[0]["changed"], json!([]));
    // An unknown id is an error.
    for args in [
        ["outbox", "show", "424242"],
        ["outbox", "why", "424242"],
        ["outbox", "requeue", "424242"],
    ] {
        let out = run(env.cmd().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("there is no outbox row 424242"),
            "{}",
            stderr(&out)
        );
    }
    // JSON where text was printed.
    let (row, _) = env.insert("t", None, json!({})).await;
    let why = run(env
        .cmd()
        .args(["outbox", "why", &row.to_string(), "-o", "json"]));
    assert_eq!(json_lines(&why)[0]["id"], row);
    let show = run(env.cmd().args(["config", "show", "-o", "json"]));
    let cfg = &json_lines(&show)[0];
    assert!(cfg["config"]["database"]["url"].is_string());
    assert!(
        !stdout(&show).contains("guest:guest"),
        "a password in config show"
    );
    let dry = run(env.cmd().args(["dlq", "purge", "--dry-run", "-o", "json"]));
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(json_lines(&dry)[0]["dry_run"], true);

    // A server error without PostgreSQL's C source line, with its SQLSTATE.
    let e = sqlx::query("SELECT 1/0")
        .execute(&env.pool)
        .await
        .unwrap_err();
    let text = format!(
        "{:#}",
        anyhow::Error::from(outboxctl::store::StoreError::from(e))
    );
    assert!(
        text.contains("division by zero") && text.contains("SQLSTATE 22012"),
        "{text}"
    );
    assert!(!text.contains("at line"), "{text}");

    // A wrong role or database is not "is the server running?".
    for url in [
        "postgres://no_such_role@127.0.0.1:5432/postgres",
        "postgres://postgres@127.0.0.1:5432/no_such_database",
    ] {
        let out = run(env.cmd().args(["outbox", "ls", "--database-url", url]));
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains("refused the connection"), "{err}");
        assert!(!err.contains("server is running"), "{err}");
    }
}

/// `top` at 80×24 on ratatui's test backend: what it draws, and a key on a
/// dead row requeues it only after confirmation.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn top_draws_at_80x24_and_requeues_a_dead_row_after_confirmation(pool: PgPool) {
    use outboxctl::ops::top::{App, View, draw, step};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let env = TestEnv::new(pool, &["#"]);
    env.apply_topology().await;
    let row = dead_row(&env, "order.paid", "returned by the broker as unroutable").await;
    let mut app = App::new();
    app.refreshed(View::read(&env.config, &env.pool).await);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let screen = |terminal: &mut Terminal<TestBackend>, app: &mut App| {
        terminal.draw(|f| draw(f, app)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..24)
            .map(|y| {
                (0..80)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = screen(&mut terminal, &mut app);
    for expected in [
        "outboxctl top",
        "dead 1",
        "rows that need you (1)",
        &row.to_string(),
        "order.paid 1 dead: returned",
        "q quit",
    ] {
        assert!(text.contains(expected), "{expected:?} not drawn:\n{text}");
    }
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert!(step(&mut app, &env.pool, &env.config, key('u')).await);
    let text = screen(&mut terminal, &mut app);
    assert!(text.contains(&format!("Requeue row {row}")), "{text}");
    let dead: bool = sqlx::query_scalar("SELECT dead_at IS NOT NULL FROM outbox WHERE id = $1")
        .bind(row)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(dead, "requeued before the confirmation");
    assert!(step(&mut app, &env.pool, &env.config, key('y')).await);
    let dead: bool = sqlx::query_scalar("SELECT dead_at IS NOT NULL FROM outbox WHERE id = $1")
        .bind(row)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(!dead, "not requeued after y");
    let text = screen(&mut terminal, &mut app);
    assert!(text.contains("is requeued"), "{text}");
    // Any key dismisses the note; q quits.
    assert!(step(&mut app, &env.pool, &env.config, key('x')).await);
    assert!(
        !step(&mut app, &env.pool, &env.config, key('q')).await,
        "q quits"
    );
}
