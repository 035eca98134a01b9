//! `bench api`: POST /uploads from concurrent clients, next to the same two
//! INSERTs per transaction done straight over SQL at the same concurrency.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::lab::{Lab, percentile};
use super::report::Report;
use crate::cli::BenchArgs;
use crate::model::{MessageId, Topic, UploadCreated};
use crate::store::bench as sql;
use crate::store::outbox::{self, NewEvent};
use crate::store::uploads::{self, NewUpload};

pub(super) const PNG: &[u8] = include_bytes!("../../examples/demo.png");

/// Requests done, failures, and each success's latency in ms (sorted).
pub(super) struct Load {
    pub ok: u64,
    pub failed: u64,
    pub latencies: Vec<f64>,
    pub secs: f64,
}

impl Load {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }
}

/// Run `op` from `clients` concurrent loops for `duration`.
pub(super) async fn load<F, Fut>(clients: u32, duration: Duration, op: F) -> Load
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..u64::from(clients) {
        let op = op.clone();
        tasks.spawn(async move {
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
            let mut i = c << 32;
            while Instant::now() < deadline {
                let t = Instant::now();
                if op(i).await {
                    ok += 1;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failed += 1;
                }
                i += 1;
            }
            (ok, failed, lat)
        });
    }
    let mut all = Load {
        ok: 0,
        failed: 0,
        latencies: Vec::new(),
        secs: 0.0,
    };
    while let Some(Ok((ok, failed, lat))) = tasks.join_next().await {
        all.ok += ok;
        all.failed += failed;
        all.latencies.extend(lat);
    }
    all.secs = started.elapsed().as_secs_f64();
    all.latencies.sort_by(f64::total_cmp);
    all
}

pub async fn run(lab: &Lab, args: &BenchArgs) -> anyhow::Result<Report> {
    let clients = args.concurrency.unwrap_or(16);
    let duration = args.duration.unwrap_or(Duration::from_secs(10));
    let mut r = Report::new("api");
    r.setting("clients", clients);
    r.setting("duration", humantime::format_duration(duration));
    r.setting("upload", format!("{}-byte PNG, raw body", PNG.len()));

    // As with a relayer awake: writers do not notify (see migration 0003).
    crate::store::outbox::set_listening(&lab.pool, false).await?;

    // Baseline: what the API does per request, over SQL.
    let pool = lab.pool.clone();
    let topic = Topic::parse("upload.created")?;
    let base = load(clients, duration, move |i| {
        let (pool, topic) = (pool.clone(), topic.clone());
        async move {
            let work = async {
                let mut tx = pool.begin().await?;
                let upload = uploads::insert(
                    &mut tx,
                    &NewUpload {
                        id: Uuid::now_v7(),
                        filename: &format!("bench-{i}.png"),
                        content_type: "image/png",
                        content: PNG,
                        message_id: MessageId::new(),
                        idempotency_key: None,
                        fingerprint: None,
                    },
                )
                .await?
                .expect("no idempotency key, no conflict");
                let key = upload.id.to_string();
                // The same event the API writes.
                let payload = serde_json::to_value(UploadCreated::from(&upload))?;
                outbox::insert(
                    &mut tx,
                    &NewEvent {
                        message_id: upload.message_id,
                        topic: &topic,
                        partition_key: Some(&key),
                        payload: &payload,
                        traceparent: None,
                    },
                )
                .await?;
                tx.commit().await?;
                anyhow::Ok(())
            };
            work.await.is_ok()
        }
    })
    .await;
    sql::reset(&lab.pool).await?;

    // The API itself, as a separate process.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut serve = lab.start("serve", &["serve", "--listen", &addr])?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients as usize)
        .build()?;
    let ready = async {
        loop {
            serve.alive()?;
            if http
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .map_err(|_| anyhow::anyhow!("the API did not come up within 30s"))??;
    let token = lab
        .config
        .api
        .token
        .as_ref()
        .map(|t| t.expose().to_string());
    let url = format!("http://{addr}/uploads");
    let post = move |i: u64| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let mut req = http
                .post(&url)
                .query(&[("filename", format!("bench-{i}.png"))])
                .header("content-type", "image/png")
                .body(PNG);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            req.send()
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED)
        }
    };
    let api = load(clients, duration, post.clone()).await;
    let (upload_rows, outbox_rows) = sql::row_counts(&lab.pool).await?;
    if upload_rows != api.ok as i64 || outbox_rows != api.ok as i64 {
        r.problem(format!(
            "{} requests succeeded but {upload_rows} uploads and {outbox_rows} outbox rows exist",
            api.ok
        ));
    }

    // Again as with every relayer asleep: each commit notifies, and
    // PostgreSQL serializes notifying commits.
    sql::reset(&lab.pool).await?;
    crate::store::outbox::set_listening(&lab.pool, true).await?;
    let notifying = load(clients, duration, post).await;
    serve.stop().await?;
    if api.failed + notifying.failed > 0 {
        r.problem(format!(
            "{} API requests failed",
            api.failed + notifying.failed
        ));
    }
    let ratio = api.rate() / base.rate();
    r.figure("api (requests/s)", api.rate().round());
    r.figure("api p50 (ms)", percentile(&api.latencies, 50.0));
    r.figure("api p90 (ms)", percentile(&api.latencies, 90.0));
    r.figure("api p99 (ms)", percentile(&api.latencies, 99.0));
    r.figure("api failed requests", api.failed as f64);
    r.figure("sql baseline (transactions/s)", base.rate().round());
    r.figure("sql baseline p50 (ms)", percentile(&base.latencies, 50.0));
    r.figure("sql baseline p99 (ms)", percentile(&base.latencies, 99.0));
    r.figure("api / sql baseline", ratio);
    r.figure("api peak RSS (MiB)", serve.peak_mib());
    r.figure(
        "api, every commit notifying (requests/s)",
        notifying.rate().round(),
    );
    r.figure(
        "api, every commit notifying p99 (ms)",
        percentile(&notifying.latencies, 99.0),
    );
    r.target(
        format!("api ≥ 0.7 × the SQL baseline at concurrency {clients} (got {ratio:.2})"),
        ratio >= 0.7,
    );
    Ok(r)
}
