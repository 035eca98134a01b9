//! Handlers declared in the configuration — `sql`, `http`, `exec` — against
//! the real servers: each effect once where the kind promises it, retries
//! and dead letters where the failure says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use outboxctl::config::{HandlerConfig, HandlerSpec, HttpSpec, Secret, SecretUrl, Secrets};
use outboxctl::flow::handlers::Handlers;
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

/// `h` on this test's queue.
fn on_queue(env: &TestEnv, h: HandlerConfig) -> HandlerConfig {
    HandlerConfig {
        queue: Some(env.queue()),
        ..h
    }
}

fn sql(env: &TestEnv, name: &str, topics: &[&str], statement: &str) -> HandlerConfig {
    on_queue(env, HandlerConfig::sql(name, topics, statement))
}

/// A table with no key at all: every committed effect is a row, so a
/// duplicate is counted, not folded away.
async fn effects_table(pool: &PgPool) {
    sqlx::query(
        "CREATE TABLE effects (message_id uuid NOT NULL, handler text NOT NULL, n int, \
         at timestamptz NOT NULL DEFAULT clock_timestamp())",
    )
    .execute(pool)
    .await
    .unwrap();
}

/// (rows in effects, distinct messages among them)
async fn effects(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT message_id) FROM effects")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn attempts_of(pool: &PgPool, message_id: Uuid) -> Option<i32> {
    sqlx::query_scalar("SELECT delivery_attempt FROM consumed_messages WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_sql_effect_commits_exactly_once_through_sigkills(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    effects_table(&env.pool).await;
    // Slow enough that every kill lands while batches are in flight.
    env.config.handlers = vec![sql(
        &env,
        "record",
        &["pay.#"],
        "INSERT INTO effects (message_id, handler, n) \
         SELECT $3, 'record', ($1->>'n')::int FROM pg_sleep(0.004)",
    )];
    env.apply_topology().await;
    env.insert_many(2000, "pay.item", 40).await;
    let relay = RunningRelay::start(&env.config);

    let mut kills = 0;
    let mut landed = 0;
    while kills < 5 {
        let mut consumer = spawn(env.cmd().arg("consume"));
        let before = effects(&env.pool).await.0;
        wait_for("the consumer at work", || async {
            (effects(&env.pool).await.0 >= before + 150).then_some(())
        })
        .await;
        consumer.kill().unwrap();
        consumer.wait().unwrap();
        kills += 1;
        if effects(&env.pool).await.0 < 2000 {
            landed += 1;
        }
    }
    assert_eq!(landed, kills, "a kill came after the work was done");
    let mut consumer = spawn(env.cmd().arg("consume"));
    wait_for("every effect", || async {
        (effects(&env.pool).await.1 == 2000).then_some(())
    })
    .await;
    terminate(&consumer);
    assert_eq!(wait_exit(&mut consumer).await.code(), Some(0));
    relay.stop().await;

    let redelivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM consumed_messages WHERE redelivered")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(redelivered > 0, "no kill caught deliveries in hand");
    assert_eq!(
        effects(&env.pool).await,
        (2000, 2000),
        "every message's effect exactly once"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_sql_constraint_violation_dead_letters_and_a_conflict_retries(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    sqlx::query(
        "CREATE TABLE ledger (id uuid PRIMARY KEY, amount numeric NOT NULL CHECK (amount > 0))",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    // Fails with serialization_failure on the first attempt, as a real
    // conflict would; the rollback undoes nothing else.
    sqlx::query(
        r#"CREATE FUNCTION settle(payload jsonb, attempt int) RETURNS void LANGUAGE plpgsql AS $$
           BEGIN
             IF payload->>'conflict' = 'yes' AND attempt = 1 THEN
               RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
             END IF;
             INSERT INTO ledger VALUES ((payload->>'id')::uuid, (payload->>'amount')::numeric);
           END $$"#,
    )
    .execute(&env.pool)
    .await
    .unwrap();
    env.config.handlers = vec![sql(&env, "settle", &["ledger.*"], "SELECT settle($1, $6)")];
    env.apply_topology().await;
    let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let mut message_ids = Vec::new();
    for (i, (amount, conflict)) in [(10, "no"), (-5, "no"), (7, "no"), (3, "yes")]
        .iter()
        .enumerate()
    {
        // One key: one lane, and so one batch with a failure in it.
        let (_, mid) = env
            .insert(
                "ledger.entry",
                Some("ledger"),
                json!({ "id": ids[i], "amount": amount, "conflict": conflict }),
            )
            .await;
        message_ids.push(mid);
    }
    // All four reach the queue before the consumer starts: one batch.
    relay_once(&env.config).await;
    let handlers = Handlers::for_queue(&env.config, &env.queue()).unwrap();
    let consumer = RunningConsumer::start(&env.config, handlers);
    let dead = dead_letters(&env, 1).await;
    wait_for("the conflicting entry retried and settled", || async {
        attempts_of(&env.pool, message_ids[3]).await.map(|_| ())
    })
    .await;
    let summary = consumer.stop().await;

    assert_eq!(dead[0].0, message_ids[1].to_string());
    assert!(
        dead[0].1.contains("handler settle") && dead[0].1.contains("SQLSTATE 23514"),
        "{}",
        dead[0].1
    );
    let settled: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM ledger ORDER BY amount")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        settled,
        vec![ids[3], ids[2], ids[0]],
        "the others, each once"
    );
    assert_eq!(attempts_of(&env.pool, message_ids[3]).await, Some(2));
    assert_eq!((summary.retried, summary.dead_lettered), (1, 1));
}

/// What the test's webhook receiver saw: per message id, each request's
/// arrival, idempotency key and whether its signature verified.
#[derive(Default)]
struct Seen {
    requests: HashMap<String, Vec<(Instant, String, bool)>>,
}

const SECRET: &str = "whsec_test_0123456789abcdef";

fn verify(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers
        .get("outbox-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in sig.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x.to_string()),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(v1).unwrap_or_default())
        .is_ok()
}

/// A receiver that answers by the payload's `case` — and by how often it saw
/// the message before.
async fn receiver(seen: Arc<Mutex<Seen>>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let payload: Value = serde_json::from_slice(&body).unwrap();
                let id = headers["outbox-message-id"].to_str().unwrap().to_string();
                let key = headers["idempotency-key"].to_str().unwrap().to_string();
                let n = {
                    let mut s = seen.lock().unwrap();
                    let list = s.requests.entry(id).or_default();
                    list.push((Instant::now(), key, verify(&headers, &body)));
                    list.len()
                };
                let case = payload["case"].as_str().unwrap().to_string();
                match (case.as_str(), n) {
                    ("flaky", 1) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        HeaderMap::new(),
                        "down".to_string(),
                    ),
                    ("throttled", 1) => {
                        let mut h = HeaderMap::new();
                        h.insert("retry-after", "2".parse().unwrap());
                        (StatusCode::TOO_MANY_REQUESTS, h, "slow down".into())
                    }
                    ("bad", _) => (
                        StatusCode::BAD_REQUEST,
                        HeaderMap::new(),
                        "amount is missing from the order".into(),
                    ),
                    ("slow", 1) => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        (StatusCode::OK, HeaderMap::new(), "late".into())
                    }
                    _ => (StatusCode::OK, HeaderMap::new(), "{\"ok\":true}".into()),
                }
            }
        }),
    );
    serve_hook(app).await
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_http_handler_retries_what_may_pass_and_dead_letters_what_will_not(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    env.config.consumer.retry_delay = Duration::from_millis(500);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone()).await;
    env.config.handlers = vec![HandlerConfig {
        timeout: Duration::from_secs(1),
        ..on_queue(
            &env,
            HandlerConfig::new(
                "hook",
                &["order.#"],
                // No `signature`: signed as by earlier versions, which
                // receivers of `Outbox-Signature` keep verifying.
                HandlerSpec::Http(HttpSpec {
                    url: SecretUrl::new(url),
                    signature: None,
                    secret: Some(Secrets::One(Secret::new(SECRET))),
                }),
            ),
        )
    }];
    env.apply_topology().await;
    let mut ids = HashMap::new();
    for case in ["ok", "flaky", "throttled", "bad", "slow"] {
        let (_, mid) = env
            .insert("order.paid", Some(case), json!({ "case": case }))
            .await;
        ids.insert(case, mid.to_string());
    }
    relay_once(&env.config).await;
    let handlers = Handlers::for_queue(&env.config, &env.queue()).unwrap();
    let consumer = RunningConsumer::start(&env.config, handlers);
    let dead = dead_letters(&env, 1).await;
    wait_consumed(&env, 4).await;
    let summary = consumer.stop().await;
    assert_eq!((summary.processed, summary.dead_lettered), (4, 1));

    assert_eq!(dead[0].0, ids["bad"]);
    assert!(
        dead[0].1.contains("400") && dead[0].1.contains("amount is missing"),
        "{}",
        dead[0].1
    );
    let seen = seen.lock().unwrap();
    let calls = |case: &str| seen.requests[&ids[case]].clone();
    assert_eq!(calls("ok").len(), 1);
    assert_eq!(calls("bad").len(), 1, "a 400 is not retried");
    for case in ["flaky", "throttled", "slow"] {
        assert_eq!(calls(case).len(), 2, "{case}: retried once, then done");
    }
    // Lower bounds with room for the broker's timer: the copy waits in the
    // retry queue for retry_delay (0.5 s), or for Retry-After (2 s).
    let gap = |case: &str| calls(case)[1].0 - calls(case)[0].0;
    assert!(
        gap("flaky") >= Duration::from_millis(400),
        "retried before retry_delay: {:?}",
        gap("flaky")
    );
    assert!(
        gap("throttled") >= Duration::from_millis(1800),
        "Retry-After not honoured: {:?}",
        gap("throttled")
    );
    for (id, requests) in &seen.requests {
        for (_, key, signed) in requests {
            assert_eq!(
                key, id,
                "the idempotency key is the message id on every delivery"
            );
            assert!(signed, "a signature the receiver can verify");
        }
    }
}

/// A script in the test's directory, executable.
fn script(env: &TestEnv, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = env.config_file().parent().unwrap().join(name);
    std::fs::write(&path, format!("#!/bin/bash\nset -u\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

/// Whether a process runs (a zombie waiting to be reaped does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("State:"))
            .is_some_and(|l| !l.contains("Z (zombie)"))
    })
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_exec_handler_runs_retries_dead_letters_and_kills_what_hangs(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    env.config.consumer.retry_delay = Duration::from_millis(200);
    let dir = env.config_file().parent().unwrap().to_path_buf();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let command = script(
        &env,
        "on-job.sh",
        &format!(
            r#"out={out}
payload=$(cat)
case "$OUTBOX_TOPIC" in
  job.ok)    printf '%s|%s|%s|%s' "$payload" "$OUTBOX_MESSAGE_ID" "$OUTBOX_ATTEMPT" "${{OUTBOX_DATABASE_URL:-unset}}" > "$out/ok"; exit 0 ;;
  job.later) if [ "$OUTBOX_ATTEMPT" = 1 ]; then echo "not yet" >&2; exit 75; fi; echo done > "$out/later"; exit 0 ;;
  job.bad)   echo "the invoice template is missing" >&2; exit 1 ;;
  job.hang)  if [ "$OUTBOX_ATTEMPT" = 1 ]; then sleep 300 & echo "$$ $!" > "$out/pids"; sleep 300; fi; exit 0 ;;
esac"#,
            out = out.display()
        ),
    );
    env.config.handlers = vec![HandlerConfig {
        timeout: Duration::from_secs(1),
        ..on_queue(&env, HandlerConfig::exec("job", &["job.*"], &[&command]))
    }];
    env.apply_topology().await;
    let mut ids = HashMap::new();
    for case in ["ok", "later", "bad", "hang"] {
        let (_, mid) = env
            .insert(&format!("job.{case}"), Some(case), json!({ "case": case }))
            .await;
        ids.insert(case, mid);
    }
    relay_once(&env.config).await;
    // A password given to the consumer in its environment is not the
    // command's business.
    let mut consumer = spawn(
        env.cmd()
            .env("OUTBOX_DATABASE_URL", env.config.database.url.expose())
            .arg("consume"),
    );
    let dead = dead_letters(&env, 1).await;
    wait_consumed(&env, 3).await;
    terminate(&consumer);
    assert_eq!(wait_exit(&mut consumer).await.code(), Some(0));

    let ok = std::fs::read_to_string(out.join("ok")).unwrap();
    assert_eq!(
        ok,
        format!("{{\"case\": \"ok\"}}|{}|1|unset", ids["ok"]),
        "payload on stdin, metadata in the environment"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("later")).unwrap(),
        "done\n"
    );
    assert_eq!(
        attempts_of(&env.pool, ids["later"]).await,
        Some(2),
        "75 retried"
    );
    assert_eq!(dead[0].0, ids["bad"].to_string());
    assert!(
        dead[0].1.contains("exited 1") && dead[0].1.contains("the invoice template is missing"),
        "{}",
        dead[0].1
    );
    assert_eq!(
        attempts_of(&env.pool, ids["hang"]).await,
        Some(2),
        "killed, then retried"
    );
    let pids: Vec<i32> = std::fs::read_to_string(out.join("pids"))
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        wait_for("the hung command's processes gone", || async {
            (!alive(pid)).then_some(())
        })
        .await;
    }
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_broken_handler_stops_consume_at_start_and_fails_config_check(pool: PgPool) {
    let env = TestEnv::new(pool, &["x.#"]);
    let cases = [
        (
            sql(&env, "bad-sql", &["x.#"], "SELEC effect FROM nowhere"),
            "handler bad-sql: the statement does not prepare",
            Check::Fails,
        ),
        (
            on_queue(
                &env,
                HandlerConfig::http("bad-url", &["x.#"], "htp://hooks.internal/x"),
            ),
            "handler \"bad-url\": url htp://hooks.internal/x must be http:// or https://",
            Check::CannotLoad,
        ),
        (
            on_queue(
                &env,
                HandlerConfig::exec("no-program", &["x.#"], &["/nonexistent/on-order"]),
            ),
            "handler no-program: program \"/nonexistent/on-order\" is not an executable file",
            Check::Fails,
        ),
    ];
    for (broken, says, check) in cases {
        let mut config = env.config.clone();
        config.handlers = vec![broken];
        // `consume` cannot start: an error, exit 2, the cause on the last line.
        let out = run(env.cmd_with(&config).args(["consume"]));
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        let last = err.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("outboxctl: ") && last.contains(says),
            "{err}"
        );
        // `config check` is the pre-flight that finds it: a handler that
        // cannot work is a failed check (exit 1, its row says why); a
        // configuration that does not even load is an error (exit 2, one
        // line), as under every other command.
        if check == Check::CannotLoad {
            let out = run(env.cmd_with(&config).args(["config", "check"]));
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            let err = stderr(&out);
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains(says), "{err}");
            continue;
        }
        let out = run(env
            .cmd_with(&config)
            .args(["config", "check", "-o", "json"]));
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let (name, why) = says.split_once(": ").unwrap();
        let name = name.trim_start_matches("handler ").trim_matches('"');
        let found = stdout(&out).lines().any(|l| {
            let c: serde_json::Value = serde_json::from_str(l).unwrap();
            c["check"] == "handler"
                && c["result"] == "failed"
                && c["target"].as_str().unwrap().contains(name)
                && c["detail"].as_str().unwrap().contains(why)
        });
        assert!(found, "{says}: {}", stdout(&out));
    }
}

#[derive(PartialEq)]
enum Check {
    Fails,
    CannotLoad,
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn each_queue_runs_only_its_own_handlers(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    effects_table(&env.pool).await;
    let extra = format!("{}.extra", env.id);
    env.config
        .broker
        .queues
        .push(outboxctl::config::QueueConfig {
            name: extra.clone(),
            bindings: vec![],
            adopt: false,
        });
    let record =
        |name: &str| format!("INSERT INTO effects (message_id, handler) VALUES ($3, '{name}')");
    env.config.handlers = vec![
        sql(&env, "billing", &["order.*"], &record("billing")),
        HandlerConfig {
            queue: Some(extra.clone()),
            ..sql(
                &env,
                "shipping",
                &["order.paid", "parcel.#"],
                &record("shipping"),
            )
        },
    ];
    env.apply_topology().await;
    let mut ids = HashMap::new();
    for topic in ["order.created", "order.paid", "parcel.sent.late"] {
        let (_, mid) = env.insert(topic, None, json!({})).await;
        ids.insert(topic, mid);
    }
    relay_once(&env.config).await;
    let mut a = spawn(env.cmd().args(["consume", "--queue", &env.queue()]));
    let mut b = spawn(env.cmd().args(["consume", "--queue", &extra]));
    wait_for("the four effects", || async {
        (effects(&env.pool).await.0 == 4).then_some(())
    })
    .await;
    for p in [&a, &b] {
        terminate(p);
    }
    assert_eq!(wait_exit(&mut a).await.code(), Some(0));
    assert_eq!(wait_exit(&mut b).await.code(), Some(0));

    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT message_id, handler FROM effects ORDER BY handler, message_id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    let mut expected = vec![
        (ids["order.created"], "billing".to_string()),
        (ids["order.paid"], "billing".to_string()),
        (ids["order.paid"], "shipping".to_string()),
        (ids["parcel.sent.late"], "shipping".to_string()),
    ];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
}
