//! Webhooks and retries as the rest of the world meets them: a receiver
//! verifying with the PyPI `standardwebhooks` library (through a key
//! rotation, and a body altered on the way), a `Retry-After` that must not
//! hold back the retries beside it, and failure reasons that keep what the
//! failure said.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use outboxctl::config::{
    HandlerConfig, HandlerSpec, HttpSpec, Secret, SecretUrl, Secrets, Signature,
};
use outboxctl::flow::handlers::Handlers;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

/// Two Standard Webhooks secrets: the one being retired and its successor.
const OLD: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW: &str = "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

fn python() -> PathBuf {
    venv_python("webhook")
}

/// examples/webhook-receiver.py holding `secret`, logging to `log`; its URL.
async fn receiver(secret: &str, log: &Path) -> (Proc, String) {
    let mut p = spawn_capturing(
        Command::new(python())
            .arg("examples/webhook-receiver.py")
            .args(["--port", "0", "--log"])
            .arg(log)
            .env("WEBHOOK_SECRET", secret),
    );
    let port = wait_for("the receiver to listen", || {
        let out = p.out();
        if let Ok(Some(status)) = p.try_wait() {
            panic!("the receiver exited with {status}:\n{}", p.log());
        }
        let port = out
            .lines()
            .find_map(|l| l.strip_prefix("listening on 127.0.0.1:"))
            .map(|port| port.trim().to_string());
        async move { port }
    })
    .await;
    (p, format!("http://127.0.0.1:{port}/hooks"))
}

/// What a receiver logged: one JSON object per request.
fn requests(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A proxy that raises the `amount` of every body it forwards to `upstream`,
/// headers untouched; counts what it altered.
async fn tamperer(upstream: String, altered: Arc<AtomicUsize>) -> String {
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (client, upstream, altered) = (client.clone(), upstream.clone(), altered.clone());
            async move {
                let text = String::from_utf8(body.to_vec()).unwrap();
                let changed = text.replace("\"amount\": 10", "\"amount\": 1000");
                assert_ne!(changed, text, "the body to alter: {text}");
                altered.fetch_add(1, Ordering::SeqCst);
                let mut forward = client.post(&upstream).body(changed);
                for (k, v) in &headers {
                    if k.as_str().starts_with("webhook-") || k == "content-type" {
                        forward = forward.header(k.as_str(), v.to_str().unwrap());
                    }
                }
                let answer = forward.send().await.unwrap();
                let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
                (status, answer.text().await.unwrap())
            }
        }),
    );
    serve_hook(app).await
}

fn webhook(env: &TestEnv, name: &str, topic: &str, url: &str, secrets: &[&str]) -> HandlerConfig {
    HandlerConfig {
        queue: Some(env.queue()),
        ..HandlerConfig::new(
            name,
            &[topic],
            HandlerSpec::Http(HttpSpec {
                url: SecretUrl::new(url),
                signature: Some(Signature::StandardWebhooks),
                secret: Some(Secrets::Many(
                    secrets.iter().map(|s| Secret::new(*s)).collect(),
                )),
            }),
        )
    }
}

/// A row with headers of its own.
async fn insert_with_headers(env: &TestEnv, topic: &str, payload: Value, headers: Value) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO outbox (topic, payload, headers) VALUES ($1, $2, $3) RETURNING message_id",
    )
    .bind(topic)
    .bind(payload)
    .bind(headers)
    .fetch_one(&env.pool)
    .await
    .unwrap()
}

/// During a key rotation the handler signs with both secrets: a receiver
/// still holding the old one and one already given the new one both verify
/// every request with the `standardwebhooks` library. A body altered on the
/// way does not verify; the receiver's 401 dead-letters it. The row's own
/// headers arrive under `Outbox-Header-`.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_standard_webhooks_library_verifies_every_request_through_a_key_rotation(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    let dir = env.config_file().parent().unwrap().to_path_buf();
    let logs = ["old", "new", "tampered"].map(|n| dir.join(format!("{n}.jsonl")));
    let (_old, old_url) = receiver(OLD, &logs[0]).await;
    let (_new, new_url) = receiver(NEW, &logs[1]).await;
    let (_third, third_url) = receiver(NEW, &logs[2]).await;
    let altered = Arc::new(AtomicUsize::new(0));
    let tampering = tamperer(third_url, altered.clone()).await;
    env.config.handlers = vec![
        webhook(&env, "to-old", "order.paid", &old_url, &[NEW, OLD]),
        webhook(&env, "to-new", "order.paid", &new_url, &[NEW, OLD]),
        webhook(&env, "tampered", "order.refunded", &tampering, &[NEW, OLD]),
    ];
    env.apply_topology().await;
    let mut paid = Vec::new();
    for i in 0..5 {
        let headers = json!({ "tenant": "acme", "priority": i });
        let id = insert_with_headers(&env, "order.paid", json!({ "order": i }), headers).await;
        paid.push(id.to_string());
    }
    let refund = insert_with_headers(
        &env,
        "order.refunded",
        json!({ "order": 9, "amount": 10 }),
        json!({}),
    )
    .await;
    relay_once(&env.config).await;
    let handlers = Handlers::for_queue(&env.config, &env.queue()).unwrap();
    let consumer = RunningConsumer::start(&env.config, handlers);
    let dead: HashMap<_, _> = dead_letters(&env, 1).await.into_iter().collect();
    wait_consumed(&env, 5).await;
    let summary = consumer.stop().await;
    assert_eq!((summary.processed, summary.dead_lettered), (5, 1));

    paid.sort();
    for log in &logs[..2] {
        let seen = requests(log);
        let mut ids: Vec<String> = seen
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(ids, paid, "{}: one request per message", log.display());
        for r in &seen {
            assert_eq!(r["verified"], true, "{}: {r}", log.display());
            assert_eq!(r["topic"], "order.paid");
            assert_eq!(r["forwarded"]["tenant"], "acme", "{r}");
            assert!(r["forwarded"]["priority"].is_string(), "{r}");
            assert!(r["forwarded"].get("x-outbox-id").is_none(), "{r}");
        }
    }
    assert_eq!(altered.load(Ordering::SeqCst), 1, "the body was altered");
    let tampered = requests(&logs[2]);
    assert_eq!(tampered.len(), 1, "{tampered:?}");
    assert_eq!(tampered[0]["verified"], false);
    assert_eq!(tampered[0]["error"], "No matching signature found");
    let reason = &dead[&refund.to_string()];
    assert!(
        reason.contains("HTTP 401") && reason.contains("signature does not verify"),
        "{reason}"
    );
}

/// When each request of a message was made.
type Calls = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Answers by the payload's `case`, the first time: `a` 429 with
/// `Retry-After: 30`, `d` 429 with a day's `Retry-After`, `b` and `c` 503
/// (a little later, so that a's copy is the first in any retry queue they
/// share). Every second request succeeds.
async fn throttling(calls: Calls) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let calls = calls.clone();
            async move {
                let payload: Value = serde_json::from_slice(&body).unwrap();
                let case = payload["case"].as_str().unwrap().to_string();
                let n = {
                    let mut c = calls.lock().unwrap();
                    let list = c.entry(case.clone()).or_default();
                    list.push(Instant::now());
                    list.len()
                };
                let mut h = HeaderMap::new();
                match (case.as_str(), n) {
                    ("a", 1) => {
                        h.insert("retry-after", "30".parse().unwrap());
                        (StatusCode::TOO_MANY_REQUESTS, h, "slow down")
                    }
                    ("d", 1) => {
                        h.insert("retry-after", "86400".parse().unwrap());
                        (StatusCode::TOO_MANY_REQUESTS, h, "come back tomorrow")
                    }
                    ("b" | "c", 1) => {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        (StatusCode::SERVICE_UNAVAILABLE, h, "busy")
                    }
                    _ => (StatusCode::OK, h, "{}"),
                }
            }
        }),
    );
    serve_hook(app).await
}

/// A long `Retry-After` waits in a retry queue of its own: the 503s beside
/// it come back after `retry_delay` (1 s), not after its 30 s; a day's
/// `Retry-After` is cut to `consumer.max_retry_after` and logged once.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_long_retry_after_holds_back_no_other_retry(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    env.config.consumer.retry_delay = Duration::from_secs(1);
    env.config.consumer.max_retry_after = Duration::from_secs(30);
    env.config.log.level = "info".into();
    let calls: Calls = Arc::default();
    let url = throttling(calls.clone()).await;
    env.config.handlers = vec![HandlerConfig {
        queue: Some(env.queue()),
        ..HandlerConfig::http("hook", &["order.#"], &url)
    }];
    env.apply_topology().await;
    for case in ["a", "d", "b", "c"] {
        env.insert("order.paid", Some(case), json!({ "case": case }))
            .await;
    }
    relay_once(&env.config).await;
    let mut consume = spawn(env.cmd().arg("consume"));
    wait_consumed(&env, 4).await;
    terminate(&consume);
    wait_exit(&mut consume).await;
    let log = consume.log();

    let calls = calls.lock().unwrap();
    let gap = |case: &str| {
        let c = &calls[case];
        assert_eq!(c.len(), 2, "{case}: one retry, then done");
        c[1] - c[0]
    };
    for case in ["b", "c"] {
        // 0.3 s answering, 1 s in the retry queue: well under a's 30 s.
        assert!(
            gap(case) >= Duration::from_millis(900) && gap(case) < Duration::from_secs(8),
            "{case} came back after {:?}, held behind a's Retry-After\n{log}",
            gap(case)
        );
    }
    assert!(gap("a") >= Duration::from_secs(29), "a: {:?}", gap("a"));
    assert!(
        gap("d") >= Duration::from_secs(29) && gap("d") < Duration::from_secs(60),
        "d waited max_retry_after: {:?}",
        gap("d")
    );
    assert_eq!(
        log.matches("longer than consumer.max_retry_after").count(),
        1,
        "the cut is logged once:\n{log}"
    );
    assert!(log.contains("retry after 1day"), "{log}");
}

/// A failure's reason keeps what it said: PL/pgSQL's DETAIL and HINT, and
/// the stdout of a command that wrote nothing to stderr.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_failure_reason_keeps_detail_hint_and_stdout(pool: PgPool) {
    let mut env = TestEnv::new(pool, &[]);
    sqlx::raw_sql(
        "CREATE FUNCTION charge(p jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN \
           RAISE EXCEPTION 'card declined' \
             USING DETAIL = format('card %s expired in 2024', p->>'card'), \
                   HINT = 'ask the customer for another card'; \
         END $$",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let dir = env.config_file().parent().unwrap().to_path_buf();
    let script = dir.join("jq-like");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'jq: error (at <stdin>:0): Cannot index number with \"id\"'\nexit 5\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.config.handlers = vec![
        HandlerConfig {
            queue: Some(env.queue()),
            ..HandlerConfig::sql("charge", &["order.charge"], "SELECT charge($1)")
        },
        HandlerConfig {
            queue: Some(env.queue()),
            ..HandlerConfig::exec("extract", &["order.extract"], &[script.to_str().unwrap()])
        },
    ];
    env.apply_topology().await;
    let (_, charge) = env
        .insert("order.charge", None, json!({ "card": "4242" }))
        .await;
    let (_, extract) = env.insert("order.extract", None, json!(7)).await;
    relay_once(&env.config).await;
    let handlers = Handlers::for_queue(&env.config, &env.queue()).unwrap();
    let consumer = RunningConsumer::start(&env.config, handlers);
    let dead: HashMap<_, _> = dead_letters(&env, 2).await.into_iter().collect();
    consumer.stop().await;
    let charged = &dead[&charge.to_string()];
    assert!(
        charged.contains("card declined")
            && charged.contains("DETAIL: card 4242 expired in 2024")
            && charged.contains("HINT: ask the customer for another card"),
        "{charged}"
    );
    let extracted = &dead[&extract.to_string()];
    assert!(
        extracted.contains("exited 5")
            && extracted.contains("(no stderr; stdout ends) jq: error")
            && extracted.contains("Cannot index number"),
        "{extracted}"
    );
}
