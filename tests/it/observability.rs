//! Metrics at every stage, the dashboard and alert rules against what is
//! exported, and one trace id followed from the HTTP request to the consumer.
//! These run the real binaries: every process has its own metrics registry.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::api::PNG;
use crate::support::*;

/// One sample of the text exposition format: name, labels, value.
pub(crate) type Samples = Vec<(String, BTreeMap<String, String>, f64)>;

pub(crate) fn parse_exposition(text: &str) -> Samples {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad sample line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("bad labels in {line:?}"));
                let mut labels = BTreeMap::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label {pair:?} in {line:?}"));
                    labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
                (name.to_string(), labels)
            }
        };
        out.push((name, labels, value));
    }
    out
}

/// Sum of `name` over the samples whose labels include `with`.
pub(crate) fn total(samples: &Samples, name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

pub(crate) async fn scrape(url: &str) -> String {
    let r = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("scraping {url}: {e}"));
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.text().await.unwrap()
}

async fn wait_http(url: &str) {
    wait_for(url, || async {
        reqwest::get(url)
            .await
            .ok()
            .filter(|r| r.status().is_success())
            .map(|_| ())
    })
    .await;
}

fn stop(children: Vec<Proc>) -> Vec<Option<i32>> {
    children
        .into_iter()
        .map(|mut c| {
            terminate(&c);
            c.wait().unwrap().code()
        })
        .collect()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn every_metrics_endpoint_counts_what_the_pipeline_did(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["obs.#", "upload.#"]);
    env.config.relay.max_attempts = 2;
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    // The bound addresses are logged at info.
    env.config.log.level = "info".into();
    env.apply_topology().await;
    let mut serve = spawn(env.cmd().arg("serve"));
    let mut relay = spawn(env.cmd().args(["relay", "--metrics-listen", "127.0.0.1:0"]));
    let mut consume = spawn(
        env.cmd()
            .args(["consume", "--metrics-listen", "127.0.0.1:0"]),
    );
    let api = bound(&mut serve, "API listening").await;
    let relay_port = bound(&mut relay, "metrics at /metrics").await;
    let consume_port = bound(&mut consume, "metrics at /metrics").await;
    let base = format!("http://127.0.0.1:{api}");
    wait_http(&format!("{base}/healthz")).await;

    // 3 uploads and 1 bad request through the API, 47 rows by SQL: 50 events.
    let http = reqwest::Client::new();
    for i in 0..3 {
        let form = Form::new().part(
            "file",
            Part::bytes(PNG)
                .file_name(format!("{i}.png"))
                .mime_str("image/png")
                .unwrap(),
        );
        assert_eq!(
            http.post(format!("{base}/uploads"))
                .multipart(form)
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
    }
    // An empty file: 400.
    let bad = http
        .post(format!("{base}/uploads?filename=empty.png"))
        .header("content-type", "image/png")
        .body(Vec::<u8>::new())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    env.insert_many(47, "obs.item", 5).await;
    // And one that no queue takes: returned twice, then dead.
    env.insert("nowhere.item", None, json!({})).await;

    wait_for("50 sent, 1 dead, 50 consumed", || async {
        let consumed: i64 = sqlx::query_scalar("SELECT count(*) FROM consumed_messages")
            .fetch_one(&env.pool)
            .await
            .unwrap();
        (env.counts().await == (0, 50, 1) && consumed == 50).then_some(())
    })
    .await;

    let relay_url = format!("http://127.0.0.1:{relay_port}/metrics");
    let relay_metrics = wait_for("the relay's gauges to catch up", || async {
        let s = parse_exposition(&scrape(&relay_url).await);
        (total(&s, "outbox_dead_rows", &[]) == 1.0 && total(&s, "outbox_pending_rows", &[]) == 0.0)
            .then_some(s)
    })
    .await;
    assert_eq!(
        total(&relay_metrics, "outbox_relay_published_total", &[]),
        50.0
    );
    assert_eq!(
        total(
            &relay_metrics,
            "outbox_relay_published_total",
            &[("topic", "upload.created")]
        ),
        3.0
    );
    assert_eq!(
        total(
            &relay_metrics,
            "outbox_relay_failed_total",
            &[("reason", "returned")]
        ),
        2.0
    );
    assert_eq!(total(&relay_metrics, "outbox_relay_failed_total", &[]), 2.0);
    assert_eq!(total(&relay_metrics, "outbox_relay_dead_total", &[]), 1.0);
    assert!(total(&relay_metrics, "outbox_relay_batch_rows_count", &[]) >= 1.0);
    assert!(
        total(
            &relay_metrics,
            "outbox_relay_batch_duration_seconds_count",
            &[]
        ) >= 1.0
    );
    assert!(
        total(
            &relay_metrics,
            "outbox_relay_confirm_latency_seconds_count",
            &[]
        ) >= 1.0
    );
    // Each stage of a batch, timed apart.
    for stage in ["claim", "publish", "confirm", "mark"] {
        assert!(
            total(
                &relay_metrics,
                "outbox_relay_stage_seconds_count",
                &[("stage", stage)]
            ) >= 1.0,
            "stage {stage}"
        );
    }
    assert!(
        total(
            &relay_metrics,
            "outbox_relay_heartbeat_timestamp_seconds",
            &[]
        ) > 1.7e9
    );
    // The watchdog's clock, per stage (idle now: 0).
    assert!(
        relay_metrics
            .iter()
            .any(|(n, l, v)| n == "outbox_stage_seconds_since_progress"
                && l.get("stage").map(String::as_str) == Some("relay worker 0")
                && *v < 30.0),
        "no watchdog gauge for relay worker 0"
    );

    let consume_metrics =
        parse_exposition(&scrape(&format!("http://127.0.0.1:{consume_port}/metrics")).await);
    assert!(
        consume_metrics
            .iter()
            .any(|(n, l, _)| n == "outbox_stage_seconds_since_progress"
                && l.get("stage").map(String::as_str) == Some("consumer lane 0")),
        "no watchdog gauge for consumer lane 0"
    );
    let queue = env.queue();
    assert_eq!(
        total(
            &consume_metrics,
            "outbox_consumer_messages_total",
            &[("outcome", "processed"), ("queue", &queue)]
        ),
        50.0
    );
    assert_eq!(
        total(
            &consume_metrics,
            "outbox_consumer_messages_total",
            &[("outcome", "duplicate")]
        ),
        0.0
    );
    assert_eq!(
        total(
            &consume_metrics,
            "outbox_consumer_handler_duration_seconds_count",
            &[]
        ),
        50.0
    );
    assert_eq!(
        total(
            &consume_metrics,
            "outbox_consumer_end_to_end_seconds_count",
            &[]
        ),
        50.0
    );

    let api_metrics = parse_exposition(&scrape(&format!("{base}/metrics")).await);
    let posts = |status| {
        total(
            &api_metrics,
            "outbox_api_requests_total",
            &[
                ("method", "POST"),
                ("route", "/uploads"),
                ("status", status),
            ],
        )
    };
    assert_eq!((posts("201"), posts("400")), (3.0, 1.0));
    assert_eq!(
        total(
            &api_metrics,
            "outbox_api_events_written_total",
            &[("topic", "upload.created")]
        ),
        3.0
    );
    assert_eq!(
        total(
            &api_metrics,
            "outbox_api_request_duration_seconds_count",
            &[("route", "/uploads"), ("method", "POST")]
        ),
        4.0
    );

    // Labels stay bounded: no message ids or keys.
    for (name, labels, _) in relay_metrics
        .iter()
        .chain(&consume_metrics)
        .chain(&api_metrics)
    {
        for key in labels.keys() {
            assert!(
                [
                    "topic", "reason", "queue", "outcome", "method", "route", "status", "le",
                    "quantile",
                    // One per relay worker, consumer lane or handler: bounded
                    // by the configuration.
                    "stage", "handler", "kind",
                    // One per table outboxctl owns (`outbox_pg_dead_rows`).
                    "table"
                ]
                .contains(&key.as_str()),
                "{name} has an unbounded label {key}"
            );
        }
    }
    assert_eq!(
        stop(vec![serve, relay, consume]),
        vec![Some(0), Some(0), Some(0)]
    );
}

/// Metric names a PromQL text mentions (those outboxctl would export).
fn metric_names(promql: &str) -> BTreeSet<String> {
    promql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("outbox_"))
        .map(str::to_string)
        .collect()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_dashboard_and_alert_rules_use_only_exported_metrics(pool: PgPool) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/outboxctl.json")).unwrap(),
    )
    .unwrap();
    let mut wanted = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            wanted.extend(metric_names(t["expr"].as_str().unwrap()));
        }
    }
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let in_rules: Vec<&str> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    wanted.extend(metric_names(&in_rules.join("\n")));
    assert!(wanted.len() >= 10, "too few metrics found: {wanted:?}");

    // Everything flows once through `up`: an upload, and a row that dies.
    let mut env = TestEnv::new(pool, &["upload.#"]);
    env.with_upload_saga();
    env.config.relay.max_attempts = 1;
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    // The bound addresses are logged at info.
    env.config.log.level = "info".into();
    let mut up = spawn(env.cmd().args(["up", "--metrics-listen", "127.0.0.1:0"]));
    let api = bound(&mut up, "API listening").await;
    let metrics = bound(&mut up, "metrics at /metrics").await;
    let base = format!("http://127.0.0.1:{api}");
    wait_http(&format!("{base}/readyz")).await;
    let form = Form::new().part(
        "file",
        Part::bytes(PNG)
            .file_name("m.png")
            .mime_str("image/png")
            .unwrap(),
    );
    reqwest::Client::new()
        .post(format!("{base}/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    env.insert("nowhere.item", None, json!({})).await;
    let metrics_url = format!("http://127.0.0.1:{metrics}/metrics");
    let text = wait_for("every stage to have reported", || async {
        let text = scrape(&metrics_url).await;
        let names: BTreeSet<String> = parse_exposition(&text)
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        wanted.iter().all(|w| names.contains(w)).then_some(text)
    })
    .await;
    let exported: BTreeSet<String> = parse_exposition(&text)
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    let missing: Vec<&String> = wanted.iter().filter(|w| !exported.contains(*w)).collect();
    assert!(missing.is_empty(), "used but not exported: {missing:?}");
    // The API port serves the same registry in `up`.
    assert!(
        scrape(&format!("{base}/metrics"))
            .await
            .contains("outbox_relay_published_total")
    );
    assert_eq!(stop(vec![up]), vec![Some(0)]);

    let promtool = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(root.join("deploy/prometheus/alerts.yml"))
        .output()
        .expect("promtool is installed by ./scripts/tools.sh (the test script runs it)");
    assert!(
        promtool.status.success(),
        "{}{}",
        stdout(&promtool),
        stderr(&promtool)
    );
    // The rules' own tests: each alert fires on the series it is for.
    let tested = std::process::Command::new("promtool")
        .args(["test", "rules"])
        .arg(root.join("deploy/prometheus/alerts_test.yml"))
        .output()
        .unwrap();
    assert!(
        tested.status.success(),
        "{}{}",
        stdout(&tested),
        stderr(&tested)
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn one_trace_id_follows_an_upload_from_request_to_consumer(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["upload.#"]);
    env.config.log.level = "info,outboxctl=debug".into();
    env.config.log.format = outboxctl::config::LogFormat::Json;
    env.apply_topology().await;
    // A tap on the exchange, to see the message as the broker carries it.
    let tap = format!("{}.extra", env.id);
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    ch.queue_declare(
        tap.as_str().into(),
        QueueDeclareOptions::durable(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        tap.as_str().into(),
        env.config.broker.exchange.as_str().into(),
        "upload.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();

    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    let mut up = spawn(env.cmd().arg("up"));
    let api = bound(&mut up, "API listening").await;
    let base = format!("http://127.0.0.1:{api}");
    wait_http(&format!("{base}/readyz")).await;

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let form = Form::new().part(
        "file",
        Part::bytes(PNG)
            .file_name("t.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/uploads"))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message_id = created["message_id"].as_str().unwrap().to_string();
    let upload_id = created["id"].as_str().unwrap().to_string();
    wait_for("the upload to be processed", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM uploads WHERE id = $1::uuid")
            .bind(&upload_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
        (status == "processed").then_some(())
    })
    .await;

    // 1. The outbox row.
    let row_tp: String =
        sqlx::query_scalar("SELECT traceparent FROM outbox WHERE message_id = $1::uuid")
            .bind(&message_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(row_tp.starts_with(&format!("00-{trace}-")), "{row_tp}");
    // 2. The AMQP headers.
    let mut consumer = ch
        .basic_consume(
            tap.as_str().into(),
            "tap".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let carried = consumer.next().await.unwrap().unwrap();
    match carried
        .properties
        .headers()
        .as_ref()
        .unwrap()
        .inner()
        .get("traceparent")
    {
        Some(AMQPValue::LongString(tp)) => assert_eq!(tp.to_string(), row_tp),
        other => panic!("traceparent header: {other:?}"),
    }
    // 3. The consumer's history row.
    let history_tp: String =
        sqlx::query_scalar("SELECT traceparent FROM consumed_messages WHERE message_id = $1::uuid")
            .bind(&message_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(history_tp.contains(trace), "{history_tp}");
    terminate(&up);
    assert_eq!(wait_exit(&mut up).await.code(), Some(0));

    // 4. The logs of every stage carry the trace id and the message id: one
    //    grep shows the journey. They are JSON lines on stderr.
    let logs = up.log();
    let journey: Vec<Value> = logs
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .filter(|v| v.to_string().contains(trace))
        .collect();
    let messages: BTreeSet<&str> = journey
        .iter()
        .filter_map(|v| v["message"].as_str())
        .collect();
    for stage in ["upload registered", "published", "upload checked"] {
        assert!(
            messages.contains(stage),
            "no {stage:?} line with the trace id: {messages:?}"
        );
    }
    assert!(
        journey.iter().all(|v| v.to_string().contains(&message_id)),
        "{journey:?}"
    );
    let _ = conn.close(200, "".into()).await;
}

/// Every line every process logs at debug level — outboxctl's and its
/// libraries' (sqlx, lapin, hyper, reqwest) — while work flows, a webhook is
/// signed and a server is unreachable: none holds the database password,
/// the broker password, the webhook secret or the API token.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn no_secret_in_any_log_line_at_debug_level(pool: PgPool) {
    use outboxctl::config::{
        HandlerConfig, HandlerSpec, HttpSpec, Secret, SecretUrl, Secrets, Signature,
    };
    let mut env = TestEnv::new(pool, &["upload.#"]);
    let pg_password = format!("pg-{}-Zq8", env.id);
    let mq_user = format!("{}-user", env.id);
    let mq_password = format!("mq-{}-Kw3", env.id);
    let webhook_secret = "whsec_c2VjcmV0LXdlYmhvb2sta2V5LW5ldmVyLWxvZ2dlZA==";
    let token = format!("tok-{}-Vb7", env.id);
    let admin = Management::new();
    admin.add_user(&mq_user, &mq_password).await;
    // Trust authentication takes the password without checking it: it is in
    // the URL, every connection option and every error that could echo it.
    let mut db = url::Url::parse(&database_url(&env.pool)).unwrap();
    db.set_password(Some(&pg_password)).unwrap();
    env.config.database.url = SecretUrl::new(db.to_string());
    env.config.broker.url =
        SecretUrl::new(format!("amqp://{mq_user}:{mq_password}@127.0.0.1:5672/%2f"));
    env.config.broker.management_url = Some(SecretUrl::new(format!(
        "http://{mq_user}:{mq_password}@127.0.0.1:15672"
    )));
    env.config.api.token = Some(Secret::new(token.clone()));
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    env.config.log.level = "debug".into();
    let hook =
        serve_hook(axum::Router::new().route("/hook", axum::routing::post(|| async { "{}" })))
            .await;
    env.config.handlers = vec![HandlerConfig {
        queue: Some(env.queue()),
        ..HandlerConfig::new(
            "hook",
            &["order.#"],
            HandlerSpec::Http(HttpSpec {
                url: SecretUrl::new(hook),
                signature: Some(Signature::StandardWebhooks),
                secret: Some(Secrets::One(Secret::new(webhook_secret))),
            }),
        )
    }];
    env.config.broker.queues[0].bindings.push("order.#".into());
    env.apply_topology().await;

    let mut up = spawn(env.cmd().arg("up"));
    let relay = spawn(env.cmd().arg("relay"));
    let consume = spawn(env.cmd().arg("consume"));
    let api = bound(&mut up, "API listening").await;
    for i in 0..20 {
        env.insert(
            "order.paid",
            Some(&format!("k{}", i % 3)),
            json!({ "i": i }),
        )
        .await;
    }
    let status = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{api}/uploads"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    wait_consumed(&env, 20).await;
    // Unreachable servers: the errors name the URLs.
    let mut offline = env.config.clone();
    offline.broker.url = SecretUrl::new(format!("amqp://{mq_user}:{mq_password}@127.0.0.1:1/%2f"));
    let failed = run(env.cmd_with(&offline).args(["relay", "--once"]));
    offline.database.url = SecretUrl::new(db.to_string().replace(":5432", ":1"));
    let no_db = run(env.cmd_with(&offline).args(["outbox", "ls"]));
    let mut logs = Vec::new();
    for (name, mut p) in [("up", up), ("relay", relay), ("consume", consume)] {
        terminate(&p);
        wait_exit(&mut p).await;
        logs.push((name, p.log()));
    }
    logs.push(("relay --once, broker down", stderr(&failed)));
    logs.push(("outbox ls, database down", stderr(&no_db)));
    admin.delete_user(&mq_user).await;

    let debug_lines: usize = logs.iter().map(|(_, l)| l.matches(" DEBUG ").count()).sum();
    assert!(
        debug_lines > 30,
        "a debug-level run logs plenty: {debug_lines}"
    );
    assert!(
        logs.iter().any(|(_, l)| l.contains("127.0.0.1:1")),
        "the unreachable servers were named: {logs:?}"
    );
    for (name, log) in &logs {
        for secret in [
            pg_password.as_str(),
            mq_password.as_str(),
            webhook_secret,
            token.as_str(),
        ] {
            if let Some(line) = log.lines().find(|l| l.contains(secret)) {
                panic!("{name} logged a secret:\n{line}");
            }
        }
    }
}
