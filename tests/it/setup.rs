//! `migrate`, `topology apply`, `config show|check` and bad configuration,
//! through the real binary.

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::*;

/// Exit 2 with exactly one line on stderr, `outboxctl: …`, no panic or backtrace.
fn assert_one_line_error(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("outboxctl: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[sqlx::test(migrations = false)]
async fn migrate_applies_the_schema_once(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let out = run(env.cmd().arg("migrate"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("applied 0001 outbox"), "{text}");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE tablename IN ('outbox', 'uploads', 'consumed_messages')",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(tables, 3);

    let again = run(env.cmd().arg("migrate"));
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).starts_with("schema is up to date"),
        "{}",
        stdout(&again)
    );
    assert!(!stdout(&again).contains("applied 0001"));
}

#[sqlx::test(migrations = false)]
async fn relay_refuses_to_start_on_a_database_without_the_schema(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let out = run(env.cmd().args(["relay", "--once"]));
    let err = assert_one_line_error(&out);
    assert!(err.contains("run `outboxctl migrate`"), "{err}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn topology_apply_is_idempotent_and_reports_conflicts(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["a.#", "b.*"]);
    for _ in 0..2 {
        let out = run(env.cmd().args(["topology", "apply"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!(
                "declared exchange {} (topic)",
                env.config.broker.exchange
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("declared queue {}.work (quorum)", env.id)),
            "{text}"
        );
        assert!(
            text.contains(&format!("declared queue {}.work.retry.100ms", env.id)),
            "{text}"
        );
        assert!(
            text.contains(&format!("declared queue {}.work.dlq", env.id)),
            "{text}"
        );
    }
    assert_eq!(env.depth(&format!("{}.work.dlq", env.id)).await, 0);

    // A queue that already exists as another type: the broker refuses; say so and how to fix it.
    let clash = format!("{}.extra", env.id);
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("classic".into()),
    );
    ch.queue_declare(clash.as_str().into(), QueueDeclareOptions::durable(), args)
        .await
        .unwrap();
    env.config.broker.queues[0].name = clash.clone();
    let out = run(env.cmd().args(["topology", "apply"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains(&format!(
            "queue {clash} already exists with different arguments: "
        )),
        "{err}"
    );
    // Every argument that differs, not only the first RabbitMQ names.
    assert!(err.contains("x-queue-type is "), "{err}");
    assert!(
        err.contains("x-dead-letter-exchange is none there"),
        "{err}"
    );
    assert!(err.contains("broker.queue_type"), "{err}");
    assert!(err.contains("adopt = true"), "{err}");
}

/// Another team's queue, declared long ago as a plain classic queue: the
/// relay's declaration would add dead-letter arguments, which RabbitMQ
/// refuses. The error names the queue, the argument and `adopt`; adopted, the
/// queue is only bound and the relay delivers into it. A relay whose bindings
/// are managed elsewhere runs with no queues at all.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_existing_queue_is_adopted_as_it_is_and_a_clash_names_the_fix(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["order.#"]);
    let legacy = format!("{}.extra", env.id);
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    // No arguments at all: no type, no dead-lettering.
    ch.queue_declare(
        legacy.as_str().into(),
        QueueDeclareOptions::durable(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    env.config.broker.queues[0].name = legacy.clone();
    env.config.handlers.clear();

    let out = run(env.cmd().args(["topology", "apply"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains(&format!(
            "queue {legacy} already exists with different arguments"
        )),
        "{err}"
    );
    // The argument RabbitMQ tripped over, and what it is on the queue.
    assert!(err.contains("x-") && err.contains("is none there"), "{err}");
    assert!(err.contains("`adopt = true`"), "{err}");
    // Refused, nothing changed: still argument-less, still empty.
    assert_eq!(env.depth(&legacy).await, 0);

    env.config.broker.queues[0].adopt = true;
    let out = run(env.cmd().args(["topology", "apply"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("queue {legacy} (adopted as it is) ← ")),
        "{}",
        stdout(&out)
    );
    for i in 0..3 {
        env.insert("order.placed", None, json!({ "n": i })).await;
    }
    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.counts().await, (0, 3, 0));
    let got = env.take(&legacy, 3).await;
    let ns: Vec<i64> = got
        .iter()
        .map(|d| {
            serde_json::from_slice::<Value>(&d.data).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ns, [0, 1, 2]);

    // An adopted queue that is not there is named, not created.
    let mut gone = env.config.clone();
    gone.broker.queues[0].name = format!("{}.work", env.id);
    gone.broker.queues[0].adopt = true;
    let out = run(env.cmd_with(&gone).args(["topology", "apply"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains(&format!("queue {}.work is adopted", env.id))
            && err.contains("does not exist"),
        "{err}"
    );

    // Bindings managed elsewhere: no queues, no topology of the relay's own.
    let mut bare = env.config.clone();
    bare.broker.queues.clear();
    bare.sagas.clear();
    let out = run(env.cmd_with(&bare).args(["relay", "--once"]));
    let err = assert_one_line_error(&out);
    assert!(err.contains("relay.apply_topology = false"), "{err}");
    bare.relay.apply_topology = false;
    env.insert("order.placed", None, json!({ "n": 3 })).await;
    let out = run(env.cmd_with(&bare).args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.counts().await, (0, 4, 0));
    assert_eq!(env.take(&legacy, 1).await.len(), 1);
    // ... and a consumer with nothing to read says so.
    let out = run(env.cmd_with(&bare).arg("consume"));
    let err = assert_one_line_error(&out);
    assert!(err.contains("no queue to consume"), "{err}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn config_show_masks_passwords_and_names_sources(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let out = run(env.cmd().env("OUTBOX_RELAY_BATCH_SIZE", "77").args([
        "--broker-url",
        "amqp://guest:hunter2@127.0.0.1:5672/%2f",
        "config",
        "show",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("url = \"amqp://guest:****@127.0.0.1:5672/%2f\"  # flag --broker-url"),
        "{text}"
    );
    assert!(
        text.contains("batch_size = 77  # env OUTBOX_RELAY_BATCH_SIZE"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "exchange = \"{}\"  # ",
            env.config.broker.exchange
        )),
        "{text}"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn config_check_reaches_both_servers(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    env.apply_topology().await;
    let out = run(env.cmd().args(["config", "check"]));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let row = |check: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(check))
            .unwrap_or_else(|| panic!("no {check} row: {text}"))
    };
    for (check, detail) in [
        ("database", "PostgreSQL"),
        ("schema", "up to date"),
        ("broker", "vhost /"),
        ("bindings", "#"),
        ("management", "RabbitMQ"),
    ] {
        let line = row(check);
        assert!(
            line.split_whitespace().nth(1) == Some("ok") && line.contains(detail),
            "{line}"
        );
    }

    let out = run(env.cmd().args([
        "--database-url",
        "postgres://postgres:pa55word@127.0.0.1:1/outbox",
        "config",
        "check",
        "-o",
        "json",
    ]));
    // An unreachable server is a failed check (exit 1), named in its row.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let database: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|c| c["check"] == "database")
        .unwrap();
    assert_eq!(database["result"], "failed", "{text}");
    let detail = database["detail"].as_str().unwrap();
    assert!(detail.contains("PostgreSQL is unavailable"), "{detail}");
    assert!(detail.contains("database.url"), "{detail}");
    assert!(!text.contains("pa55word") && !stderr(&out).contains("pa55word"));
}

#[test]
fn bad_configuration_is_one_line_exit_2_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };

    let broken = file("broken.toml", "[relay]\ninterval = 5s\n");
    let out = run(outboxctl_cmd()
        .env("RUST_BACKTRACE", "1")
        .arg("--config")
        .arg(&broken)
        .arg("config")
        .arg("show"));
    let err = assert_one_line_error(&out);
    assert!(err.contains("line 2"), "{err}");

    let typo = file("typo.toml", "[relay]\nintervall = \"5s\"\n");
    let out = run(outboxctl_cmd()
        .arg("--config")
        .arg(&typo)
        .args(["relay", "--once"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("unknown setting relay.intervall — did you mean relay.interval?"),
        "{err}"
    );

    let wrong_type = file("type.toml", "[relay]\nbatch_size = \"many\"\n");
    let out = run(outboxctl_cmd()
        .arg("--config")
        .arg(&wrong_type)
        .args(["config", "show"]));
    let err = assert_one_line_error(&out);
    assert!(err.contains("relay.batch_size"), "{err}");

    let out = run(outboxctl_cmd()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .args(["config", "show"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("missing.toml") && err.contains("--config"),
        "{err}"
    );

    let out = run(outboxctl_cmd()
        .env("OUTBOX_RELAY_INTERVALL", "5s")
        .args(["config", "show"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("OUTBOX_RELAY_INTERVALL")
            && err.contains("did you mean OUTBOX_RELAY_INTERVAL?"),
        "{err}"
    );

    let out = run(outboxctl_cmd()
        .env("OUTBOX_DATABASE_URL", "mysql://root:t0psecret@db/outbox")
        .args(["config", "show"]));
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("database.url must start with postgres://"),
        "{err}"
    );
    assert!(!err.contains("t0psecret"), "{err}");

    let out = run(outboxctl_cmd().args(["--broker-url", "not a url:pw@", "config", "show"]));
    let err = assert_one_line_error(&out);
    assert!(err.contains("broker.url is not a valid URL"), "{err}");

    let out = run(outboxctl_cmd().args(["relay", "--interval", "5 parsecs"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--interval"), "{}", stderr(&out));
}

/// The configuration is the one reader of `OUTBOX_*`: a bad value reads the
/// same under a command that has a flag for the setting and one that has not.
#[test]
fn a_bad_environment_value_is_the_same_error_under_every_subcommand() {
    let errors: Vec<String> = [&["relay", "--once"][..], &["lag"]]
        .iter()
        .map(|args| {
            let out = run(outboxctl_cmd()
                .env("OUTBOX_RELAY_BATCH_SIZE", "a thousand")
                .args(*args));
            assert_one_line_error(&out)
        })
        .collect();
    assert_eq!(errors[0], errors[1]);
    assert!(
        errors[0].contains("OUTBOX_RELAY_BATCH_SIZE (setting relay.batch_size)")
            && errors[0].contains("a thousand"),
        "{}",
        errors[0]
    );
}

/// The single `<queue>.retry` of earlier versions: `topology apply` keeps it
/// while a message is still on its way back (and says so), and removes it
/// once it is empty; the message reached the work queue.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn topology_apply_retires_the_old_retry_queue_once_it_is_empty(pool: PgPool) {
    use lapin::options::BasicPublishOptions;
    let env = TestEnv::new(pool, &["#"]);
    let (queue, legacy) = (env.queue(), format!("{}.retry", env.queue()));
    env.apply_topology().await;
    // The old queue as earlier versions declared it, a retry waiting in it.
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(queue.as_str().into()),
    );
    ch.queue_declare(legacy.as_str().into(), QueueDeclareOptions::durable(), args)
        .await
        .unwrap();
    ch.basic_publish(
        "".into(),
        legacy.as_str().into(),
        BasicPublishOptions::default(),
        b"{}",
        lapin::BasicProperties::default().with_expiration("3000".into()),
    )
    .await
    .unwrap();
    wait_for("the retry in the old queue", || async {
        (env.depth(&legacy).await == 1).then_some(())
    })
    .await;
    // A tier of a former retry_delay off the ladder, empty; and someone
    // else's queue that only looks like a retry queue.
    let (stale, theirs) = (
        format!("{queue}.retry.250ms"),
        format!("{queue}.retry.audit"),
    );
    for name in [&stale, &theirs] {
        ch.queue_declare(
            name.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    }

    let out = run(env.cmd().args(["topology", "apply"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "queue {legacy} is no longer a retry queue but still holds 1 message(s), on their \
             way back to {queue}"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.depth(&legacy).await, 1, "kept with its message");
    assert!(
        stdout(&out).contains(&format!("removed queue {stale} (no longer a retry queue")),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        env.depth(&theirs).await,
        0,
        "{theirs} is not ours and stays"
    );
    let check = run(env.cmd().args(["config", "check"]));
    assert!(
        stdout(&check).contains(&format!("queue {legacy}")),
        "{}",
        stdout(&check)
    );

    wait_for("the retry back in the work queue", || async {
        (env.depth(&queue).await == 1).then_some(())
    })
    .await;
    let out = run(env.cmd().args(["topology", "apply", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        report["retired"],
        json!([{ "queue": legacy, "removed": true, "messages": 0 }])
    );
    let gone = ch
        .queue_declare(
            legacy.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await;
    assert!(gone.is_err(), "{legacy} still exists");
    let ch = conn.create_channel().await.unwrap();
    ch.queue_delete(theirs.as_str().into(), Default::default())
        .await
        .unwrap();
}
