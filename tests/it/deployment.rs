//! A whole deployment as an operator meets it: the quick start left to run,
//! dead letters in several queues, a bulk change interrupted, `top` with
//! more than fits the screen, and the audit of what operators did.

use std::collections::{BTreeSet, HashMap};

use outboxctl::config::{Config, QueueConfig};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::PNG;
use crate::support::*;

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The shipped outbox.toml with this test's servers, exchanges and queue
/// names (each queue renamed `<id>.<name>`, everything that names it too).
fn shipped_config(env: &TestEnv) -> Config {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/outbox.toml");
    let mut config: Config = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let own = |name: &str| format!("{}.{name}", env.id);
    for q in &mut config.broker.queues {
        q.name = own(&q.name);
    }
    for h in &mut config.handlers {
        h.queue = h.queue.as_deref().map(own);
    }
    config.orchestrator.queue = own(&config.orchestrator.queue);
    config.database.url = env.config.database.url.clone();
    config.broker.url = env.config.broker.url.clone();
    config.broker.exchange = env.config.broker.exchange.clone();
    config.broker.dead_letter_exchange = env.config.broker.dead_letter_exchange.clone();
    config.api.listen = "127.0.0.1:0".parse().unwrap();
    config.log.level = "info".into();
    config
}

/// (1) The quick start, as shipped: uploads go through the whole saga, and
/// then no row is failing or dead, `lag` exits 0 and `status` is all green.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_quick_start_finishes_clean(pool: PgPool) {
    let env = TestEnv::new(pool, &[]);
    let config = shipped_config(&env);
    // A file that runs as shipped: nothing unrouted for `config check`.
    assert!(
        config.unrouted_topics().is_empty(),
        "published topics no queue is bound to: {:?}",
        config.unrouted_topics()
    );
    let mut up = spawn(env.cmd_with(&config).arg("up"));
    let base = crate::consume::up_api(&mut up).await;
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..3 {
        let form = Form::new().part(
            "file",
            Part::bytes(PNG)
                .file_name(format!("demo-{n}.png"))
                .mime_str("image/png")
                .unwrap(),
        );
        let created: Value = http
            .post(format!("{base}/uploads"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        wait_for("the upload's saga to complete", || async {
            let d: Value = http
                .get(format!("{base}/uploads/{id}"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (d["status"] == "available").then_some(())
        })
        .await;
    }
    // Every event the example wrote went out: nothing pending, failing or
    // dead (an unroutable `upload.available` stays pending, failing, and
    // dies after relay.max_attempts).
    let rows = wait_for("every row sent", || async {
        let (pending, sent, dead) = env.counts().await;
        (pending == 0).then_some((sent, dead))
    })
    .await;
    assert_eq!(rows.1, 0, "dead rows");
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE attempts > 1")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(failed, 0, "rows that failed an attempt");
    let topics: Vec<String> = sqlx::query_scalar("SELECT DISTINCT topic FROM outbox ORDER BY 1")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert!(
        topics.contains(&"upload.available".to_string()),
        "{topics:?}"
    );
    let lag = run(env.cmd_with(&config).args(["lag", "--max-age", "30s"]));
    assert_eq!(lag.status.code(), Some(0), "{}", stderr(&lag));
    let status = run(env.cmd_with(&config).arg("status"));
    assert_eq!(status.status.code(), Some(0), "{}", stdout(&status));
    let check = run(env
        .cmd_with(&config)
        .args(["config", "check", "-o", "json"]));
    assert!(
        json_lines(&check).iter().all(|c| c["check"] != "routing"),
        "{}",
        stdout(&check)
    );
    // And the relay said nothing about unroutable topics.
    terminate(&up);
    assert_eq!(wait_exit(&mut up).await.code(), Some(0));
    let log = up.log();
    assert!(
        log.contains("configuration"),
        "the config file is told:\n{log}"
    );
    assert!(!log.contains("unroutable"), "{log}");
}

/// Three work queues: `<id>.billing`, `<id>.stock`, `<id>.shipping`.
fn three_queues(pool: PgPool) -> TestEnv {
    let mut env = TestEnv::new(pool, &[]);
    env.config.broker.queues = ["billing", "stock", "shipping"]
        .iter()
        .map(|q| QueueConfig {
            name: format!("{}.{q}", env.id),
            bindings: vec![format!("{q}.#")],
            adopt: false,
        })
        .collect();
    env.config.handlers = Vec::new();
    env
}

/// (2) Dead letters in three queues: listed together with their queue,
/// found by id alone, grouped by cause, and one cause replayed alone.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn dead_letters_of_every_queue_are_one_list_grouped_by_cause(pool: PgPool) {
    let env = three_queues(pool);
    env.apply_topology().await;
    let q = |name: &str| format!("{}.{name}", env.id);
    let locked = |n: u32| {
        format!(
            "failed 5 attempts; last error: handler charge-card: HTTP 503 Service Unavailable: \
             order {n} is locked"
        )
    };
    let duplicate = |n: u32| {
        format!(
            "handler reserve: SQLSTATE 23505: duplicate key value violates unique constraint \
             \"stock_pkey\": Key (id)=({n}) already exists"
        )
    };
    let mut letters: Vec<(String, String, String)> = Vec::new();
    for (queue, reason) in [
        (q("billing"), locked(1)),
        (q("billing"), locked(2)),
        (q("stock"), locked(3)),
        (q("stock"), duplicate(40)),
        (q("shipping"), duplicate(41)),
    ] {
        let id = Uuid::new_v4().to_string();
        publish_dead_letter(&env, &queue, &id, &reason, None).await;
        letters.push((queue, id, reason));
    }

    // Every queue's dead letters, each with its queue.
    let ls = run(env.cmd().args(["dlq", "ls", "-o", "json"]));
    assert_eq!(ls.status.code(), Some(0), "{}", stderr(&ls));
    let listed: HashMap<String, String> = json_lines(&ls)
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_string(),
                l["queue"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 5, "{}", stdout(&ls));
    for (queue, id, _) in &letters {
        assert_eq!(listed.get(id), Some(queue), "{id}");
    }
    // At 80 columns: no line longer, every id whole, and the cut said.
    let narrow = run(env.cmd().args(["dlq", "ls"]).env("COLUMNS", "80"));
    let text = stdout(&narrow);
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(text.contains("QUEUE"), "{text}");
    for (_, id, _) in &letters {
        assert!(text.contains(id.as_str()), "{id} cut:\n{text}");
    }
    assert!(stderr(&narrow).contains("--wide"), "{}", stderr(&narrow));

    // Each found by its id alone.
    for (queue, id, reason) in &letters {
        let show = run(env.cmd().args(["dlq", "show", id, "-o", "json"]));
        assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
        let l = &json_lines(&show)[0];
        assert_eq!(l["queue"], queue.as_str());
        assert_eq!(l["reason"], reason.as_str());
    }

    // Two causes: the lock (3 letters, in billing and stock) and the key.
    let by = run(env
        .cmd()
        .args(["dlq", "ls", "--by", "reason", "-o", "json"]));
    assert_eq!(by.status.code(), Some(0), "{}", stderr(&by));
    let groups = json_lines(&by);
    assert_eq!(groups.len(), 2, "{}", stdout(&by));
    assert_eq!(groups[0]["group"], 1);
    assert_eq!(groups[0]["count"], 3);
    assert_eq!(groups[0]["places"], json!([q("billing"), q("stock")]));
    assert_eq!(
        groups[0]["reason"],
        "handler charge-card: HTTP 503 Service Unavailable: order # is locked"
    );
    assert_eq!(groups[1]["count"], 2);
    assert_eq!(groups[1]["places"], json!([q("stock"), q("shipping")]));

    // Replaying group 2 moves its two letters and nothing else.
    let dry = run(env
        .cmd()
        .args(["dlq", "replay", "--reason", "2", "--dry-run"]));
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(env.depth(&format!("{}.dlq", q("stock"))).await, 2);
    let replay = run(env
        .cmd()
        .args(["dlq", "replay", "--reason", "2", "--yes", "-o", "json"]));
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    assert_eq!(json_lines(&replay)[0]["count"], 2);
    for (queue, dead, work) in [("billing", 2, 0), ("stock", 1, 1), ("shipping", 0, 1)] {
        assert_eq!(
            env.depth(&format!("{}.dlq", q(queue))).await,
            dead,
            "{queue}.dlq"
        );
        assert_eq!(env.depth(&q(queue)).await, work, "{queue}");
    }
    let back: BTreeSet<String> = env
        .take_all(&q("stock"))
        .await
        .into_iter()
        .chain(env.take_all(&q("shipping")).await)
        .map(|d| d.properties.message_id().as_ref().unwrap().to_string())
        .collect();
    let expected: BTreeSet<String> = letters[3..].iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(back, expected);

    // One id dead in two queues: named by its queue.
    let twice = Uuid::new_v4().to_string();
    publish_dead_letter(&env, &q("billing"), &twice, "handler a: boom", None).await;
    publish_dead_letter(&env, &q("shipping"), &twice, "handler b: boom", None).await;
    let show = run(env.cmd().args(["dlq", "show", &twice]));
    assert_eq!(show.status.code(), Some(2));
    let err = stderr(&show);
    assert!(
        err.contains(&format!("{}/{twice}", q("billing")))
            && err.contains(&format!("{}/{twice}", q("shipping"))),
        "{err}"
    );
    let show = run(env.cmd().args([
        "dlq",
        "show",
        &format!("{}/{twice}", q("shipping")),
        "-o",
        "json",
    ]));
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert_eq!(json_lines(&show)[0]["reason"], "handler b: boom");
}

/// (3) SIGINT in the middle of a bulk requeue: what it prints it changed is
/// what changed, and the command it prints changes exactly the rest.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_interrupted_bulk_requeue_says_what_it_did_and_how_to_finish(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    env.insert_many(20_000, "order.paid", 0).await;
    sqlx::query("UPDATE outbox SET dead_at = now(), attempts = 10, last_error = 'nacked'")
        .execute(&env.pool)
        .await
        .unwrap();
    let requeued = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE dead_at IS NULL")
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };
    // 500 rows a batch at 2,000/s: ten seconds, forty batches.
    let mut first = spawn_capturing(env.cmd().args([
        "outbox", "requeue", "--dead", "--yes", "--batch", "500", "--rate", "2000/s", "-o", "json",
    ]));
    wait_for("some rows requeued", || async {
        (requeued().await >= 1000).then_some(())
    })
    .await;
    let signal = std::process::Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let status = wait_exit(&mut first).await;
    let err = first.log();
    assert_eq!(status.code(), Some(130), "{err}");
    let out: Vec<Value> = first
        .out()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let report = &out[0];
    let changed = report["changed"].as_array().unwrap().len() as i64;
    let in_db = requeued().await;
    assert!(
        changed > 0 && changed < 20_000,
        "the signal landed mid-change: {changed}"
    );
    assert_eq!(changed, in_db, "what it says it changed is what changed");
    assert_eq!(report["interrupted"], true);
    assert!(
        err.contains(&format!("interrupted: {changed} of 20000 rows requeued")),
        "{err}"
    );
    let resume = report["resume"].as_str().unwrap().to_string();
    assert!(err.contains(&resume), "{err}");
    assert!(resume.contains("--max-id"), "{resume}");

    let rest = std::process::Command::new("sh")
        .args(["-c", &resume])
        .env_remove("OUTBOX_CONFIG")
        .output()
        .unwrap();
    assert_eq!(rest.status.code(), Some(0), "{}", stderr(&rest));
    let second = &json_lines(&rest)[0];
    assert_eq!(
        second["changed"].as_array().unwrap().len() as i64,
        20_000 - changed,
        "the rest, exactly"
    );
    assert_eq!(requeued().await, 20_000);
    let firsts: BTreeSet<i64> = report["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(
        second["changed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| !firsts.contains(&v.as_i64().unwrap())),
        "a row changed twice"
    );
}

/// (4) `top` with five queues and their processes at 80×24 and 120×40:
/// every queue and every role is on the screen or one page down.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn top_shows_every_queue_and_process_at_any_size(pool: PgPool) {
    use outboxctl::ops::top::{App, View, draw, step};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let mut env = TestEnv::new(pool, &[]);
    let names = ["billing", "stock", "shipping", "email", "sagas"];
    env.config.broker.queues = names
        .iter()
        .map(|q| QueueConfig {
            name: format!("{}.{q}", env.id),
            bindings: vec![format!("{q}.#")],
            adopt: false,
        })
        .collect();
    env.config.handlers = Vec::new();
    env.apply_topology().await;
    let mut roles = vec![("relay", None), ("serve", None)];
    for q in names {
        let role = if q == "sagas" { "saga" } else { "consume" };
        roles.push((role, Some(format!("{}.{q}", env.id))));
    }
    for (n, (role, queue)) in roles.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox_processes (id, role, host, pid, version, detail, doing, pool_size) \
             VALUES ($1, $2, 'db1', $3, '0.1.0', $4, 'working', 6)",
        )
        .bind(Uuid::new_v4())
        .bind(role)
        .bind(1000 + n as i32)
        .bind(queue)
        .execute(&env.pool)
        .await
        .unwrap();
    }
    let view = View::read(&env.config, &env.pool).await;
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let mut app = App::new();
        app.refreshed(
            view.as_ref()
                .map(Clone::clone)
                .map_err(|e| anyhow::anyhow!("{e:#}")),
        );
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        let mut screens = Vec::new();
        for page in 0..2 {
            terminal.draw(|f| draw(f, &mut app)).unwrap();
            let buffer = terminal.backend().buffer().clone();
            let text = (0..h)
                .map(|y| (0..w).map(|x| buffer[(x, y)].symbol()).collect::<String>())
                .collect::<Vec<_>>()
                .join("\n");
            screens.push(text);
            if page == 0 {
                let pgdn = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
                assert!(step(&mut app, &env.pool, &env.config, pgdn).await);
            }
        }
        let seen = screens.join("\n");
        for q in names {
            // Its own line in the queues, with its figures (not only as the
            // queue of a process).
            let line = format!("{}.{q} ready", env.id);
            assert!(
                seen.contains(&line),
                "{w}×{h}: queue {q} not shown:\n{seen}"
            );
        }
        for role in ["relay", "serve", "consume", "saga"] {
            assert!(
                screens
                    .iter()
                    .any(|s| s.lines().any(|l| l.trim_start().starts_with(role))),
                "{w}×{h}: role {role} not shown:\n{seen}"
            );
        }
        // Each consumer with its queue.
        assert!(
            seen.contains(&format!("consume {}.email", env.id)),
            "{w}×{h}:\n{seen}"
        );
        assert!(screens[0].contains("q quit"), "{w}×{h}:\n{}", screens[0]);
    }
}

/// (5) What an operator did to a dead letter is in the audit, and `outbox
/// why` tells it: replayed, then — dead again — purged.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn outbox_why_tells_what_operators_did_to_the_dead_letter(pool: PgPool) {
    use outboxctl::model::MessageId;
    use outboxctl::store::inbox;
    let env = TestEnv::new(pool, &["#"]);
    env.apply_topology().await;
    let (row, mid) = env.insert("order.paid", None, json!({"order": 7})).await;
    relay_once(&env.config).await;
    let _ = env.take_all(&env.queue()).await;
    let died = |why: &'static str| {
        let env = &env;
        async move {
            publish_dead_letter(env, &env.queue(), &mid.to_string(), why, Some(row)).await;
            inbox::record_dead_letter(
                &env.pool,
                "billing",
                MessageId(mid),
                &env.queue(),
                "order.paid",
                why,
                5,
            )
            .await
            .unwrap();
        }
    };
    died("handler charge: HTTP 503: busy").await;
    let why = stdout(&run(env.cmd().args(["outbox", "why", &row.to_string()])));
    assert!(why.contains("gave up on it"), "{why}");

    let replay = run(env.cmd().args(["dlq", "replay", &row.to_string()]));
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    let audit: (Option<i64>, String) = sqlx::query_as(
        "SELECT row_id, actor FROM outbox_audit WHERE action = 'dlq replay' AND message_id = $1",
    )
    .bind(mid)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(audit.0, Some(row));
    let why = stdout(&run(env.cmd().args(["outbox", "why", &row.to_string()])));
    assert!(
        why.contains(&format!("replayed it from {}.dlq", env.queue())) && why.contains(&audit.1),
        "{why}"
    );
    assert!(!why.contains("gave up on it"), "the old story: {why}");

    died("handler charge: HTTP 503: busy again").await;
    let purge = run(env.cmd().args(["dlq", "purge", "--yes"]));
    assert_eq!(purge.status.code(), Some(0), "{}", stderr(&purge));
    let why = stdout(&run(env.cmd().args(["outbox", "why", &row.to_string()])));
    assert!(
        why.contains(&format!("purged {}.dlq", env.queue())),
        "{why}"
    );
    assert!(why.contains("its dead letter is gone"), "{why}");
    assert!(
        why.contains(&format!("outboxctl outbox replay {row}")),
        "{why}"
    );
}

/// A PostgreSQL with no connection slot left for us is not "down": the
/// error says so, and how to find who holds the slots.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_server_out_of_connection_slots_is_named_as_such(pool: PgPool) {
    use sqlx::Connection;
    let env = TestEnv::new(pool, &["#"]);
    let role = format!("slots_{}", &Uuid::new_v4().simple().to_string()[..8]);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {role} LOGIN CONNECTION LIMIT 1"
    )))
    .execute(&env.pool)
    .await
    .unwrap();
    let mut url = url::Url::parse(env.config.database.url.expose()).unwrap();
    url.set_username(&role).unwrap();
    let held = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
    let out = run(env
        .cmd()
        .args(["outbox", "ls", "--database-url", url.as_str()]));
    drop(held);
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP ROLE {role}")))
        .execute(&env.pool)
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no connection slot left"), "{err}");
    assert!(err.contains("outboxctl status"), "{err}");
    assert!(!err.contains("server is running"), "{err}");
}
