//! Against the local three-node RabbitMQ cluster of `scripts/cluster.sh`
//! (`scripts/test.sh` starts it): the node a relayer or consumer is connected
//! to stops in the middle of the work; the process fails over to another node
//! and nothing is lost or done twice. One test at a time: each stops a node,
//! and two stopped at once would leave the quorum queues without a majority.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use outboxctl::config::{HandlerConfig, SecretUrl};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::support::*;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const NODES: [u16; 3] = [5681, 5682, 5683];

fn cluster_url() -> SecretUrl {
    SecretUrl::new(
        "amqp://guest:guest@127.0.0.1:5681,127.0.0.1:5682,127.0.0.1:5683/%2f?heartbeat=2",
    )
}

fn node_name(n: usize) -> String {
    format!("outbox-c{n}@localhost")
}

/// A test environment on the cluster; its queues are quorum queues, kept by
/// all three nodes.
async fn cluster_env(pool: PgPool, bindings: &[&str]) -> TestEnv {
    for port in NODES {
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok(),
            "the three-node cluster is not running (nothing on port {port}) — start it with \
             scripts/cluster.sh start (scripts/test.sh does)"
        );
    }
    let mut env = TestEnv::new(pool, bindings);
    env.config.broker.url = cluster_url();
    // The management API of node 2, which is never stopped.
    env.config.broker.management_url = Some(SecretUrl::new("http://guest:guest@127.0.0.1:15682"));
    env
}

fn cluster_script(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cluster.sh");
    let out = Command::new(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/cluster.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Node `n` with its RabbitMQ application stopped (its connections closed,
/// its port shut), started again when dropped — also after a failed assert.
struct NodeDown(usize);

impl NodeDown {
    fn stop(n: usize) -> Self {
        cluster_script(&["stop-node", &n.to_string()]);
        Self(n)
    }
}

impl Drop for NodeDown {
    fn drop(&mut self) {
        cluster_script(&["start-node", &self.0.to_string()]);
    }
}

/// The node the connection named `outboxctl <role> (pid <pid>)` is on, as
/// the management API (of node 2) sees it; waits until it shows.
async fn node_of(role: &str, pid: u32) -> String {
    let name = format!("outboxctl {role} (pid {pid})");
    let http = reqwest::Client::new();
    wait_for(
        &format!("the connection {name:?} in the management API"),
        || {
            let (http, name) = (http.clone(), name.clone());
            async move {
                let list: Value = http
                .get("http://127.0.0.1:15682/api/connections?columns=name,node,client_properties")
                .basic_auth("guest", Some("guest"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
                list.as_array()?
                    .iter()
                    .find(|c| c["client_properties"]["connection_name"] == name.as_str())
                    .and_then(|c| c["node"].as_str().map(str::to_string))
            }
        },
    )
    .await
}

/// Every message of `queue`, counted by message id (a double shows as 2).
async fn drain(env: &TestEnv, queue: &str) -> HashMap<String, u32> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    for d in env.take_all(queue).await {
        let id = d.properties.message_id().as_ref().unwrap().to_string();
        *seen.entry(id).or_default() += 1;
    }
    seen
}

async fn sent(env: &TestEnv) -> i64 {
    env.counts().await.1
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_relay_fails_over_when_its_node_stops_and_sends_every_row(pool: PgPool) {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut env = cluster_env(pool, &["order.#"]).await;
    // Small batches, one worker: the drain lasts long enough (~20 s) to be
    // cut in the middle; stopping a node takes seconds.
    env.config.relay.batch_size = 20;
    env.config.relay.workers = 1;
    env.config.log.level = "info".into();
    env.apply_topology().await;
    const ROWS: i64 = 50_000;
    env.insert_many(ROWS, "order.placed", 500).await;

    let mut relay = spawn(env.cmd().arg("relay"));
    assert_eq!(node_of("relay", relay.id()).await, node_name(1));
    wait_for("the drain under way", || async {
        (sent(&env).await >= 2_000).then_some(())
    })
    .await;
    let down = NodeDown::stop(1);
    let at_stop = sent(&env).await;
    // Rows left when node 1 was down: they can only go out through another.
    assert!(
        at_stop < ROWS,
        "the drain ended before node 1 stopped; nothing was cut"
    );
    // Failed over: a connection on another node, and then every row sent.
    let now_on = node_of("relay", relay.id()).await;
    assert_ne!(now_on, node_name(1));
    wait_progress(ROWS, || sent(&env))
        .await
        .unwrap_or_else(|n| panic!("only {n} of {ROWS} rows sent after the failover"));
    terminate(&relay);
    wait_exit(&mut relay).await;
    let log = relay.log();
    assert!(log.contains("reconnected to RabbitMQ"), "{log}");
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    eprintln!("relay warnings: {warnings:?}");
    // Publishes the stop caught before their confirms count as failed and go
    // out again; a stop between two batches catches none. Either is right.
    let cut: u64 = log
        .lines()
        .find(|l| l.contains("relay stopped"))
        .unwrap_or_default()
        .split("failed=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);

    let ids: Vec<String> = sqlx::query_scalar("SELECT message_id::text FROM outbox")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    let seen = drain(&env, &env.queue()).await;
    let missing = ids.iter().filter(|id| !seen.contains_key(*id)).count();
    let doubles: u32 = seen.values().map(|n| n - 1).sum();
    assert_eq!(
        missing, 0,
        "{missing} rows marked sent never reached the queue"
    );
    assert_eq!(seen.len(), ROWS as usize, "messages that are no row");
    // A publish that got no confirm (the node stopping, or the queue's
    // leader moving to another node meanwhile) goes out again: at least
    // once, and the consumers' inbox folds the copy (the consumer test below
    // counts effects). Counted and shown, not bounded: with an acknowledging
    // reader, loaded suite runs saw up to 907 copies where the relay counted
    // no failed publish and logged no warning — acknowledgements lost at the
    // reader's channel close would explain that, hence the reader without
    // acknowledgements (`take_all`).
    eprintln!(
        "failover at {at_stop} of {ROWS} sent: {cut} failed publishes, {doubles} messages \
         published twice"
    );
    drop(down);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_consumer_fails_over_when_its_node_stops_and_each_effect_happens_once(pool: PgPool) {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut env = cluster_env(pool, &[]).await;
    sqlx::query(
        "CREATE TABLE effects (n bigint GENERATED ALWAYS AS IDENTITY, message_id uuid NOT NULL)",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    // No key on message_id: a second effect is a second row.
    env.config.handlers = vec![HandlerConfig::sql(
        "record",
        &["order.#"],
        "INSERT INTO effects (message_id) VALUES ($3)",
    )];
    env.config.consumer.prefetch = 50;
    env.config.log.level = "info".into();
    env.apply_topology().await;
    const ROWS: i64 = 50_000;
    env.insert_many(ROWS, "order.placed", 0).await;
    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sent(&env).await, ROWS);

    let effects = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM effects")
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };
    let mut consume = spawn(env.cmd().arg("consume"));
    assert_eq!(node_of("consume", consume.id()).await, node_name(1));
    wait_for("the consumer under way", || async {
        (effects().await >= 2_000).then_some(())
    })
    .await;
    let down = NodeDown::stop(1);
    let at_stop = effects().await;
    assert!(
        at_stop < ROWS,
        "all consumed before node 1 stopped; nothing was cut"
    );
    assert_ne!(node_of("consume", consume.id()).await, node_name(1));
    wait_progress(ROWS, effects)
        .await
        .unwrap_or_else(|n| panic!("only {n} of {ROWS} effects after the failover"));
    // Whatever the broker redelivers after the cut is recognised, not redone.
    tokio::time::sleep(Duration::from_secs(2)).await;
    terminate(&consume);
    wait_exit(&mut consume).await;
    let log = consume.log();
    assert!(log.contains("reconnected to RabbitMQ"), "{log}");
    let (all, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT message_id) FROM effects")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((all, distinct), (ROWS, ROWS), "effects (all, distinct)");
    assert_eq!(env.depth(&env.queue()).await, 0);
    drop(down);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_node_restarted_during_up_loses_no_upload(pool: PgPool) {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut env = cluster_env(pool, &["upload.#"]).await;
    env.config.api.listen = "127.0.0.1:0".parse().unwrap();
    env.config.log.level = "info".into();
    let mut up = spawn(env.cmd().arg("up"));
    let port = bound(&mut up, "API listening").await;
    let http = reqwest::Client::new();
    let png = crate::api::PNG.to_vec();
    let post = |i: usize| {
        let (http, png) = (http.clone(), png.clone());
        async move {
            let r = http
                .post(format!("http://127.0.0.1:{port}/uploads?filename=p{i}.png"))
                .header("content-type", "image/png")
                .body(png)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        }
    };
    const UPLOADS: usize = 300;
    let mut down = None;
    for i in 0..UPLOADS {
        post(i).await;
        if i == UPLOADS / 3 {
            down = Some(NodeDown::stop(1));
        }
        if i == 2 * UPLOADS / 3 {
            // Node 1 back while uploads keep coming.
            drop(down.take());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let inspected = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM uploads WHERE status = 'processed' AND sha256 IS NOT NULL",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    wait_progress(UPLOADS as i64, inspected)
        .await
        .unwrap_or_else(|n| panic!("only {n} of {UPLOADS} uploads processed"));
    let (pending, _, dead) = env.counts().await;
    assert_eq!((pending, dead), (0, 0));
    terminate(&up);
    assert!(wait_exit(&mut up).await.success(), "{}", up.log());
    assert!(up.log().contains("reconnected to RabbitMQ"), "{}", up.log());
}

/// A memory alarm on node 2, cleared when dropped (also after a failed
/// assert). While it is raised RabbitMQ blocks every publisher of the
/// cluster.
struct MemoryAlarm;

impl MemoryAlarm {
    fn raise() -> Self {
        rabbitmqctl(&["set_vm_memory_high_watermark", "0"]);
        Self
    }
}

impl Drop for MemoryAlarm {
    fn drop(&mut self) {
        rabbitmqctl(&["set_vm_memory_high_watermark", "0.4"]);
    }
}

fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl")
        .args(["-q", "-n", &node_name(2)])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A memory alarm under a running relay: the relay says so once at warn with
/// the broker's reason, the gauge shows it, `status` names it, no row uses an
/// attempt while it lasts, and every row goes out once it clears.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_memory_alarm_is_named_uses_no_attempt_and_everything_goes_out_after(pool: PgPool) {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut env = cluster_env(pool, &["alarm.#"]).await;
    env.config.broker.confirm_timeout = Duration::from_secs(2);
    env.config.log.level = "info".into();
    env.apply_topology().await;
    let mut relay = spawn(env.cmd().args(["relay", "--metrics-listen", "127.0.0.1:0"]));
    let port = bound(&mut relay, "metrics at /metrics").await;
    env.insert_many(20, "alarm.before", 0).await;
    wait_for("the first rows out", || async {
        (sent(&env).await == 20).then_some(())
    })
    .await;

    let alarm = MemoryAlarm::raise();
    env.insert_many(200, "alarm.during", 4).await;
    wait_for("the block in the relay's log", || {
        let log = relay.log();
        async move {
            log.contains("RabbitMQ blocks publishers: low on memory")
                .then_some(())
        }
    })
    .await;
    let metrics = crate::observability::scrape(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(
        metrics.contains("outbox_broker_blocked{reason=\"low on memory\"} 1"),
        "{metrics}"
    );
    // Several confirm time-outs pass while it is blocked.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let status = run(env.cmd().arg("status"));
    assert_eq!(status.status.code(), Some(1), "{}", stdout(&status));
    assert!(
        stdout(&status).contains("RabbitMQ blocks publishers: low on memory (since"),
        "{}",
        stdout(&status)
    );
    // The management API's node figures lag the alarm by its stats interval.
    let blocked = format!(
        "broker: RabbitMQ blocks publishers (memory alarm on {})",
        node_name(2)
    );
    wait_for("`lag` to name the alarm", || {
        let lag = stdout(&run(env.cmd().arg("lag")));
        let named = lag.contains(&blocked);
        async move { named.then_some(()) }
    })
    .await;
    let (attempts, pending): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(attempts), 0)::int8, count(*)::int8 FROM outbox WHERE sent_at IS NULL",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 0, "attempts used while the broker blocked");
    assert!(pending > 0, "the alarm blocked nothing?");

    drop(alarm);
    wait_for("every row out after the alarm", || async {
        (sent(&env).await == 220).then_some(())
    })
    .await;
    wait_for("the end of the block in the log", || {
        let log = relay.log();
        async move {
            log.contains("RabbitMQ unblocked publishers after")
                .then_some(())
        }
    })
    .await;
    let log = relay.log();
    assert_eq!(
        log.matches("RabbitMQ blocks publishers: low on memory")
            .count(),
        1,
        "the block is logged once:\n{log}"
    );
    // One attempt each: the one that went out.
    let attempts: i64 = sqlx::query_scalar("SELECT max(attempts)::int8 FROM outbox")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "a failed attempt was recorded");
    let copies = drain(&env, &env.queue()).await;
    assert_eq!(copies.len(), 220, "every row reached the queue");
    terminate(&relay);
}
