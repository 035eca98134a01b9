//! Through a real PgBouncer 1.18 in transaction pooling mode
//! (`scripts/pgbouncer.sh`, started by `scripts/test.sh`): each transaction
//! may run on another server connection, so nothing — prepared statements,
//! session settings, LISTEN — may outlive one.

use std::collections::{HashMap, HashSet};

use outboxctl::config::SecretUrl;
use serde_json::Value;
use sqlx::PgPool;

use crate::support::*;

const PORT: u16 = 6432;

/// This test's database, through PgBouncer. PgBouncer keeps its server
/// connections to it open; dropping this closes them (also after a failed
/// assert), so the database can be dropped after the test.
struct Pooled {
    db: String,
}

impl Pooled {
    async fn new(env: &mut TestEnv) -> Self {
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", PORT))
                .await
                .is_ok(),
            "PgBouncer is not running on port {PORT} — start it with scripts/pgbouncer.sh \
             start (scripts/test.sh does)"
        );
        let mut url = env.config.database.url.parsed().unwrap();
        let db = url.path().trim_start_matches('/').to_string();
        url.set_port(Some(PORT)).unwrap();
        env.config.database.url = SecretUrl::new(url.to_string());
        env.config.database.transaction_pooling = true;
        Self { db }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.db
        );
        let _ = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
            ])
            .arg(sql)
            .output();
    }
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn two_relayers_drain_keyed_rows_through_pgbouncer_in_key_order(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["order.#"]);
    let _pooled = Pooled::new(&mut env).await;
    // Batches smaller than the backlog of a lane set: the two relayers take
    // turns at the lanes, so both publish rows of the same keys.
    env.config.relay.batch_size = 100;
    // A confirm later than this is retried (a copy): leave room on a loaded
    // machine.
    env.config.broker.confirm_timeout = std::time::Duration::from_secs(30);
    env.config.log.level = "info".into();
    env.apply_topology().await;
    const ROWS: i64 = 20_000;
    const KEYS: i64 = 100;
    env.insert_many(ROWS, "order.placed", KEYS).await;

    let mut relays = [spawn(env.cmd().arg("relay")), spawn(env.cmd().arg("relay"))];
    wait_progress(ROWS, || async { env.counts().await.1 })
        .await
        .unwrap_or_else(|n| panic!("only {n} of {ROWS} rows sent through PgBouncer"));
    for r in &mut relays {
        terminate(r);
        assert!(wait_exit(r).await.success(), "{}", r.log());
    }
    // Both worked, and both said they poll (no LISTEN through the pooler).
    let mut failed = Vec::new();
    let mut warnings = Vec::new();
    for r in &mut relays {
        let log = r.log();
        warnings.extend(
            log.lines()
                .filter(|l| l.contains("WARN"))
                .map(str::to_string),
        );
        failed.extend(
            log.lines()
                .filter(|l| l.contains("relay stopped"))
                .map(|l| l.split("sent=").nth(1).unwrap_or_default().to_string()),
        );
        assert!(
            log.contains("LISTEN does not work through the pooler"),
            "{log}"
        );
        let sent: u64 = log
            .lines()
            .find(|l| l.contains("relay stopped"))
            .and_then(|l| l.split("sent=").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(sent > 0, "one relayer sent nothing: {log}");
    }

    // Every message in the queue: each row at least once; a copy (a publish
    // retried after its confirm did not come in time, as on a loaded
    // machine) is what a consumer's inbox folds, and is only counted.
    let got = env.take_all(&env.queue()).await;
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut ids = HashSet::new();
    let mut doubles = 0;
    for d in &got {
        if !ids.insert(d.properties.message_id().clone().unwrap().to_string()) {
            doubles += 1;
            continue;
        }
        // Row n has key k{n % KEYS} (insert_many); each key's rows come in n
        // order, counting each row's first delivery.
        let n = serde_json::from_slice::<Value>(&d.data).unwrap()["n"]
            .as_i64()
            .unwrap();
        let key = format!("k{}", n % KEYS);
        if let Some(prev) = last.insert(key.clone(), n) {
            assert!(prev < n, "key {key}: {n} delivered after {prev}");
        }
    }
    assert_eq!(ids.len(), ROWS as usize, "rows missing from the queue");
    // A copy is a second message in the queue (read without acks, so none
    // comes back to the reader). Each has a cause the relayers recorded: a
    // publish that failed (counted in `failed=` of their summary, retried),
    // or a batch that failed after publishing (a warn line; each of its rows
    // may go out again). Without either, no copy.
    let failed_publishes: u64 = failed
        .iter()
        .filter_map(|rest| rest.split("failed=").nth(1))
        .filter_map(|r| r.split_whitespace().next())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum();
    let failed_batches = warnings
        .iter()
        .filter(|w| w.contains("batch failed"))
        .count() as u64;
    let bound = failed_publishes + failed_batches * env.config.relay.batch_size as u64;
    assert!(
        doubles as u64 <= bound,
        "{doubles} copies, but the relayers recorded {failed_publishes} failed publishes and \
         {failed_batches} failed batches; their warnings: {warnings:?}"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_api_and_consumer_work_through_pgbouncer_and_config_check_warns(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["upload.#"]);
    let _pooled = Pooled::new(&mut env).await;
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    env.config.log.level = "info".into();
    env.apply_topology().await;

    let out = run(env.cmd().args(["config", "check"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.contains("warn") && l.contains("LISTEN is unavailable")),
        "{text}"
    );
    // migrate would take a session lock the pooler does not keep.
    let out = run(env.cmd().arg("migrate"));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("needs a direct connection"),
        "{}",
        stderr(&out)
    );

    let mut serve = spawn(env.cmd().arg("serve"));
    let port = bound(&mut serve, "API listening").await;
    let mut relay = spawn(env.cmd().arg("relay"));
    let mut consume = spawn(env.cmd().arg("consume"));
    let http = reqwest::Client::new();
    let mut uploads = Vec::new();
    for i in 0..20 {
        let r = http
            .post(format!("http://127.0.0.1:{port}/uploads?filename=p{i}.png"))
            .header("content-type", "image/png")
            .body(crate::api::PNG.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        uploads.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let processed = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM uploads WHERE status = 'processed' AND sha256 IS NOT NULL",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    wait_progress(20, processed)
        .await
        .unwrap_or_else(|n| panic!("only {n} of 20 uploads processed through PgBouncer"));
    // Read back through the API: the upload and who consumed its event.
    let one: Value = http
        .get(format!("http://127.0.0.1:{port}/uploads/{}", uploads[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "processed", "{one}");
    let consumed: i64 = sqlx::query_scalar("SELECT count(*) FROM consumed_messages")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(consumed, 20);
    // The operator commands through the pooler: the processes registered
    // (presence beats are plain statements), the rows, the lag.
    let out = run(env.cmd().args(["status", "-o", "json"]));
    let s: Value = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    for role in ["relay", "consume", "serve"] {
        assert!(
            s["processes"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["role"] == role)),
            "{role} not registered through PgBouncer: {s}\n{}",
            stderr(&out)
        );
    }
    let out = run(env.cmd().args(["outbox", "ls", "--sent", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim().lines().count(), 20, "{}", stdout(&out));
    let out = run(env.cmd().args(["lag", "-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for p in [&mut serve, &mut relay, &mut consume] {
        terminate(p);
        assert!(wait_exit(p).await.success(), "{}", p.log());
    }
}
