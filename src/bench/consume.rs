//! `bench consume [--handler builtin|sql|http]`: preloaded messages consumed
//! by a real `outboxctl consume` (history row and handler per message), next
//! to the limit underneath it, at the same concurrency:
//!
//! - `builtin` (the upload inspection) and `sql` (an INSERT per message):
//!   the database's own single-row transactions, and bare acknowledgements;
//! - `http` (a POST per message to a receiver this benchmark runs): raw
//!   POSTs of the same bodies to the same receiver.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::api::{PNG, load};
use super::lab::{Lab, TOPIC, payload, progress};
use super::report::Report;
use crate::broker::bench::RawMessage;
use crate::cli::{BenchArgs, BenchHandler};
use crate::config::HandlerConfig;
use crate::model::{MessageId, UploadCreated};
use crate::store::bench as sql;

/// A consumer that makes no progress this long has failed the run.
const STALL: Duration = Duration::from_secs(30);

pub async fn run(lab: &mut Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let n = args.events.unwrap_or(20_000);
    let c = args.concurrency.unwrap_or(lab.config.consumer.concurrency);
    let mut r = Report::new("consume");
    r.setting("messages", n);
    r.setting("concurrency", c);
    r.setting("prefetch", lab.config.consumer.prefetch);
    r.setting("queue type", lab.config.broker.queue_type.as_str());
    match args.handler {
        BenchHandler::Builtin => builtin(lab, &mut r, n, c).await?,
        BenchHandler::Sql => statement(lab, &mut r, n, c, args.payload_bytes).await?,
        BenchHandler::Http => {
            webhook(lab, &mut r, n, c, args.payload_bytes, args.receiver_delay).await?
        }
    }
    Ok(r)
}

/// `h` on the lab's queue.
fn on_lab_queue(lab: &Lab, h: HandlerConfig) -> HandlerConfig {
    HandlerConfig {
        queue: Some(lab.queue().to_string()),
        ..h
    }
}

/// The database's single-row transactions at concurrency `c`, for about as
/// long as the consumer will take (1 to 5 s).
async fn db_baseline(lab: &Lab, n: u64, c: u32) -> f64 {
    let pool = lab.pool.clone();
    let window = Duration::from_secs_f64((n as f64 / 2000.0).clamp(1.0, 5.0));
    load(c, window, move |_| {
        let pool = pool.clone();
        async move {
            sql::single_row_transaction(&pool, "bench-baseline")
                .await
                .is_ok()
        }
    })
    .await
    .rate()
}

/// Publish `messages`, run `outboxctl consume` until all `n` are recorded,
/// stop it; (messages/s, its peak RSS in MiB, its CPU seconds per 100,000
/// messages).
async fn consume_all(
    lab: &Lab,
    n: u64,
    c: u32,
    messages: impl Iterator<Item = RawMessage>,
) -> anyhow::Result<(f64, f64, f64)> {
    let exchange = lab.config.broker.exchange.clone();
    lab.broker
        .publish_stream(&exchange, TOPIC, messages, 1000)
        .await?;
    let name = lab.config.consumer_name().to_string();
    let concurrency = c.to_string();
    let bar = progress(n, "consume");
    let started = Instant::now();
    let mut consume = lab.start("consume", &["consume", "--concurrency", &concurrency])?;
    let (mut last, mut moved) = (0, Instant::now());
    loop {
        consume.alive()?;
        let done = sql::consumed_count(&lab.pool, &name).await? as u64;
        bar.set_position(done);
        if done >= n {
            break;
        }
        if done > last {
            (last, moved) = (done, Instant::now());
        } else if moved.elapsed() > STALL {
            anyhow::bail!(
                "the consumer processed {done} of {n} messages and nothing more for {}s — \
                 see its log above (were messages dead-lettered?)",
                STALL.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let cpu = consume.cpu_seconds() * 100_000.0 / n as f64;
    consume.stop().await?;
    Ok((n as f64 / secs, consume.peak_mib(), cpu))
}

fn bench_messages(n: u64, bytes: u32) -> Vec<RawMessage> {
    (0..n)
        .map(|i| RawMessage {
            message_id: MessageId::new().to_string(),
            message_type: TOPIC.into(),
            body: serde_json::to_vec(&payload(i, bytes as usize)).expect("JSON"),
        })
        .collect()
}

async fn builtin(lab: &mut Lab, r: &mut Report, n: u64, c: u32) -> anyhow::Result<()> {
    r.setting(
        "handler",
        format!("builtin upload inspection of a {}-byte PNG", PNG.len()),
    );
    lab.set_handlers(vec![on_lab_queue(
        lab,
        HandlerConfig {
            topics: vec!["#".into()],
            ..HandlerConfig::inspect_upload()
        },
    )])?;
    let uploads = sql::load_uploads(&lab.pool, n, PNG, "image/png").await?;
    let messages = || {
        uploads.iter().map(|(message_id, event)| RawMessage {
            message_id: message_id.to_string(),
            message_type: UploadCreated::TOPIC.into(),
            body: serde_json::to_vec(event).expect("an event serializes"),
        })
    };

    // Baseline 1: acknowledge and nothing else.
    let exchange = lab.config.broker.exchange.clone();
    lab.broker
        .publish_stream(&exchange, UploadCreated::TOPIC, messages(), 1000)
        .await?;
    let prefetch = lab.config.consumer.prefetch;
    let raw = lab.broker.drain_and_ack(lab.queue(), n, prefetch).await?;
    let raw_rate = n as f64 / raw.as_secs_f64();
    // Baseline 2: the database's own single-row transactions.
    let db = db_baseline(lab, n, c).await;

    let (rate, peak, cpu) = consume_all(lab, n, c, messages()).await?;
    let processed = sql::uploads_in(&lab.pool, "processed").await? as u64;
    if processed != n {
        r.problem(format!("{processed} of {n} uploads were processed"));
    }
    let ratio = rate / db;
    r.figure("consumer (messages/s)", rate.round());
    r.figure("bare acks (messages/s)", raw_rate.round());
    r.figure("db single-row transactions (/s)", db.round());
    r.figure("consumer / db transactions", ratio);
    r.figure("consumer / bare acks", rate / raw_rate);
    r.figure("consumer peak RSS (MiB)", peak);
    r.figure("consumer CPU s per 100k messages", cpu);
    r.figure("uploads processed", processed as f64);
    r.target(
        format!("consumer ≥ 0.7 × the database's single-row transaction rate at concurrency {c} (got {ratio:.2})"),
        ratio >= 0.7,
    );
    Ok(())
}

async fn statement(
    lab: &mut Lab,
    r: &mut Report,
    n: u64,
    c: u32,
    bytes: u32,
) -> anyhow::Result<()> {
    r.setting("handler", format!("sql: {}", super::lab::EFFECT_STATEMENT));
    sql::create_effects_table(&lab.pool).await?;
    lab.set_handlers(vec![super::lab::effect_handler(lab)])?;
    let db = db_baseline(lab, n, c).await;
    let (rate, peak, cpu) = consume_all(lab, n, c, bench_messages(n, bytes).into_iter()).await?;
    let (rows, distinct) = sql::effects(&lab.pool).await?;
    if (rows, distinct) != (n as i64, n as i64) {
        r.problem(format!(
            "{rows} effects of {distinct} distinct messages for {n} messages: lost or doubled"
        ));
    }
    let ratio = rate / db;
    r.figure("consumer, sql handler (messages/s)", rate.round());
    r.figure("db single-row transactions (/s)", db.round());
    r.figure("consumer / db transactions", ratio);
    r.figure("consumer peak RSS (MiB)", peak);
    r.figure("consumer CPU s per 100k messages", cpu);
    r.figure("effects", rows as f64);
    r.figure("effects done twice", (rows - distinct) as f64);
    r.target(
        format!("sql handler ≥ 0.7 × the database's single-row transaction rate at concurrency {c} (got {ratio:.2})"),
        ratio >= 0.7,
    );
    Ok(())
}

/// A receiver that answers 204 at once and counts what it got.
#[derive(Default)]
struct Received {
    requests: u64,
    keys: HashSet<String>,
}

async fn receiver(seen: Arc<Mutex<Received>>, delay: Duration) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, _body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                    s.requests += 1;
                    if let Some(k) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
                        s.keys.insert(k.to_string());
                    }
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

async fn webhook(
    lab: &mut Lab,
    r: &mut Report,
    n: u64,
    c: u32,
    bytes: u32,
    delay: Duration,
) -> anyhow::Result<()> {
    let seen = Arc::new(Mutex::new(Received::default()));
    let url = receiver(seen.clone(), delay).await?;
    r.setting(
        "handler",
        format!(
            "http: a POST to a receiver that answers 204 after {}",
            humantime::format_duration(delay)
        ),
    );
    lab.set_handlers(vec![on_lab_queue(
        lab,
        HandlerConfig {
            concurrency: Some(c),
            ..HandlerConfig::http("hook", &["#"], &url)
        },
    )])?;
    // Baseline: the same bodies POSTed by `c` clients, for about as long as
    // the consumer will take.
    let body = serde_json::to_vec(&payload(0, bytes as usize))?;
    let client = reqwest::Client::new();
    let window = Duration::from_secs_f64((n as f64 / 2000.0).clamp(1.0, 5.0));
    let raw = load(c, window, move |i| {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        async move {
            client
                .post(&url)
                .header("content-type", "application/json")
                .header("idempotency-key", format!("baseline-{i}"))
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await
    .rate();
    let baseline_requests = seen.lock().unwrap_or_else(|e| e.into_inner()).requests;
    *seen.lock().unwrap_or_else(|e| e.into_inner()) = Received::default();

    let (rate, peak, cpu) = consume_all(lab, n, c, bench_messages(n, bytes).into_iter()).await?;
    let (requests, distinct) = {
        let s = seen.lock().unwrap_or_else(|e| e.into_inner());
        (s.requests, s.keys.len() as u64)
    };
    if distinct != n {
        r.problem(format!("the receiver saw {distinct} of {n} messages"));
    }
    let ratio = rate / raw;
    r.figure("consumer, http handler (messages/s)", rate.round());
    r.figure("raw POSTs to the same receiver (/s)", raw.round());
    r.figure("consumer / raw POSTs", ratio);
    r.figure("consumer peak RSS (MiB)", peak);
    r.figure("consumer CPU s per 100k messages", cpu);
    r.figure("baseline requests", baseline_requests as f64);
    r.figure("requests received", requests as f64);
    r.figure("messages received", distinct as f64);
    r.target(
        format!("http handler ≥ 0.7 × raw POSTs at concurrency {c} (got {ratio:.2})"),
        ratio >= 0.7,
    );
    Ok(())
}
