//! The relayer against the real PostgreSQL and RabbitMQ: every guarantee in
//! DESIGN.md gets a test that tries to break it.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use outboxctl::broker::{Broker, Topology};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::*;

fn header<'a>(d: &'a lapin::message::Delivery, name: &str) -> Option<&'a AMQPValue> {
    d.properties.headers().as_ref()?.inner().get(name)
}

fn outbox_id(d: &lapin::message::Delivery) -> i64 {
    match header(d, "x-outbox-id") {
        Some(AMQPValue::LongLongInt(id)) => *id,
        other => panic!("x-outbox-id header missing or not an integer: {other:?}"),
    }
}

fn message_id(d: &lapin::message::Delivery) -> Uuid {
    let id = d
        .properties
        .message_id()
        .as_ref()
        .expect("message_id is set");
    Uuid::parse_str(id.as_str()).expect("message_id is a UUID")
}

async fn apply_topology(env: &TestEnv) {
    let broker = Broker::connect(&env.config.broker, "test").await.unwrap();
    broker
        .apply_topology(&Topology::from_config(&env.config))
        .await
        .unwrap();
    broker.close().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn rows_inserted_by_plain_sql_reach_the_queue_and_are_marked_sent(pool: PgPool) {
    let env = TestEnv::new(pool, &["order.*"]);
    let (keyed_id, keyed_mid): (i64, Uuid) = sqlx::query_as(
        r#"INSERT INTO outbox (topic, partition_key, payload, headers)
           VALUES ('order.created', 'order-7', '{"order": 7, "total": 12.5}',
                   '{"tenant": "acme", "priority": 3}')
           RETURNING id, message_id"#,
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let (plain_id, plain_mid) = env
        .insert("order.cancelled", None, json!({"order": 8}))
        .await;

    let summary = relay_once(&env.config).await;
    assert_eq!((summary.sent, summary.failed, summary.dead), (2, 0, 0));
    assert_eq!(env.counts().await, (0, 2, 0));
    let rows: Vec<(i32, Option<DateTime<Utc>>, Option<String>)> =
        sqlx::query_as("SELECT attempts, sent_at, last_error FROM outbox ORDER BY id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    for (attempts, sent_at, last_error) in rows {
        assert_eq!(attempts, 1);
        assert!(sent_at.is_some());
        assert_eq!(last_error, None);
    }

    let mut got: HashMap<Uuid, lapin::message::Delivery> = env
        .take(&env.queue(), 2)
        .await
        .into_iter()
        .map(|d| (message_id(&d), d))
        .collect();
    let keyed = got
        .remove(&keyed_mid)
        .expect("the keyed row's message arrived");
    assert_eq!(keyed.routing_key.as_str(), "order.created");
    assert_eq!(keyed.exchange.as_str(), env.config.broker.exchange);
    let body: serde_json::Value = serde_json::from_slice(&keyed.data).unwrap();
    assert_eq!(body, json!({"order": 7, "total": 12.5}));
    assert_eq!(keyed.properties.delivery_mode(), &Some(2), "persistent");
    assert_eq!(
        keyed.properties.content_type().as_ref().map(|s| s.as_str()),
        Some("application/json")
    );
    assert!(keyed.properties.timestamp().is_some());
    assert_eq!(
        header(&keyed, "tenant"),
        Some(&AMQPValue::LongString("acme".into()))
    );
    assert_eq!(header(&keyed, "priority"), Some(&AMQPValue::LongLongInt(3)));
    assert_eq!(outbox_id(&keyed), keyed_id);
    assert_eq!(
        header(&keyed, "x-outbox-partition-key"),
        Some(&AMQPValue::LongString("order-7".into()))
    );

    let plain = got
        .remove(&plain_mid)
        .expect("the unkeyed row's message arrived");
    assert_eq!(plain.routing_key.as_str(), "order.cancelled");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&plain.data).unwrap(),
        json!({"order": 8})
    );
    assert_eq!(outbox_id(&plain), plain_id);
    assert_eq!(header(&plain, "x-outbox-partition-key"), None);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn unroutable_publish_is_not_marked_sent_until_a_binding_exists(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["bound.#"]);
    // Long enough that --once cannot retry the row within its run.
    env.config.relay.backoff_initial = Duration::from_secs(30);
    env.config.relay.backoff_max = Duration::from_secs(30);
    let (id, mid) = env.insert("unbound.thing", None, json!({"x": 1})).await;

    let summary = relay_once(&env.config).await;
    assert_eq!((summary.sent, summary.failed), (0, 1));
    assert_eq!(summary.trouble.failing, 1);
    let (attempts, sent_at, last_error): (i32, Option<DateTime<Utc>>, Option<String>) =
        sqlx::query_as("SELECT attempts, sent_at, last_error FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(sent_at, None, "a returned message must not be marked sent");
    let last_error = last_error.expect("last_error is recorded");
    assert!(last_error.contains("unroutable"), "{last_error}");
    assert_eq!(env.depth(&env.queue()).await, 0);

    // An operator adds the missing binding; the next attempt goes out.
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    ch.queue_bind(
        env.queue().as_str().into(),
        env.config.broker.exchange.as_str().into(),
        "unbound.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    // Skip the rest of the backoff.
    sqlx::query("UPDATE outbox SET available_at = now()")
        .execute(&env.pool)
        .await
        .unwrap();
    let relay = RunningRelay::start(&env.config);
    wait_for("the row to be sent", || async {
        (env.counts().await == (0, 1, 0)).then_some(())
    })
    .await;
    relay.stop().await;
    let got = env.take(&env.queue(), 1).await;
    assert_eq!(message_id(&got[0]), mid);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn nacked_publish_is_not_marked_sent(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["ok.#"]);
    env.config.relay.backoff_initial = Duration::from_secs(30);
    env.config.relay.backoff_max = Duration::from_secs(30);
    apply_topology(&env).await;
    // A queue that refuses every message: the broker nacks publishes routed to it.
    let full = format!("{}.extra", env.id);
    let conn = env.amqp().await;
    let ch = conn.create_channel().await.unwrap();
    let mut args = FieldTable::default();
    args.insert("x-max-length".into(), AMQPValue::LongLongInt(0));
    args.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    ch.queue_declare(full.as_str().into(), QueueDeclareOptions::durable(), args)
        .await
        .unwrap();
    ch.queue_bind(
        full.as_str().into(),
        env.config.broker.exchange.as_str().into(),
        "full.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();

    let (nacked, _) = env.insert("full.item", None, json!({})).await;
    let (fine, _) = env.insert("ok.item", None, json!({})).await;
    let summary = relay_once(&env.config).await;
    assert_eq!((summary.sent, summary.failed), (1, 1));

    let row = |id: i64| {
        let pool = env.pool.clone();
        async move {
            sqlx::query_as::<_, (i32, Option<DateTime<Utc>>, Option<String>)>(
                "SELECT attempts, sent_at, last_error FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (attempts, sent_at, last_error) = row(nacked).await;
    assert_eq!(attempts, 1);
    assert_eq!(sent_at, None, "a nacked message must not be marked sent");
    assert!(last_error.unwrap().contains("nacked"));
    let (_, sent_at, _) = row(fine).await;
    assert!(
        sent_at.is_some(),
        "the other row of the same batch went out"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn poison_row_goes_dead_after_max_attempts_while_other_keys_flow(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["good.#"]);
    env.config.relay.max_attempts = 3;
    // Always returned as unroutable: no queue binds bad.#.
    let (poison, _) = env.insert("bad.thing", Some("k-bad"), json!({})).await;
    let (behind, _) = env
        .insert("good.thing", Some("k-bad"), json!({"after": "poison"}))
        .await;
    env.insert_many(200, "good.thing", 20).await;

    let relay = RunningRelay::start(&env.config);
    wait_for("the poison row to die and the rest to be sent", || async {
        (env.counts().await == (0, 201, 1)).then_some(())
    })
    .await;
    let summary = relay.stop().await;
    assert_eq!((summary.failed, summary.dead), (3, 1));

    let (attempts, dead_at, last_error): (i32, Option<DateTime<Utc>>, Option<String>) =
        sqlx::query_as("SELECT attempts, dead_at, last_error FROM outbox WHERE id = $1")
            .bind(poison)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 3);
    let dead_at = dead_at.expect("the poison row is dead");
    assert!(last_error.unwrap().contains("unroutable"));

    // Other keys went out at once; the poison row's own key waited for it.
    let others_done: DateTime<Utc> =
        sqlx::query_scalar("SELECT max(sent_at) FROM outbox WHERE partition_key <> 'k-bad'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(
        others_done < dead_at,
        "other keys were held back by the poison row"
    );
    let behind_sent: DateTime<Utc> = sqlx::query_scalar("SELECT sent_at FROM outbox WHERE id = $1")
        .bind(behind)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(
        behind_sent > dead_at,
        "a row overtook the older row of its key"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn once_exit_codes(pool: PgPool) {
    let env = TestEnv::new(pool, &["ok.#"]);

    env.insert("ok.thing", None, json!({})).await;
    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("sent 1"), "{}", stdout(&out));
    assert_eq!(env.counts().await, (0, 1, 0));

    env.insert("nowhere.thing", None, json!({})).await;
    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a row left failing: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("1 failing"), "{}", stdout(&out));

    let out = run(env.cmd().args([
        "--broker-url",
        "amqp://guest:s3cr3t@127.0.0.1:1/%2f",
        "relay",
        "--once",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("outboxctl: RabbitMQ is unavailable"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn notify_wakes_the_relay_long_before_the_poll_interval(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["n.#"]);
    // Far beyond the test's patience: only a NOTIFY can get the row out in time.
    env.config.relay.interval = Duration::from_secs(600);
    let relay = RunningRelay::start(&env.config);

    // The relay listens, and every connection of it is idle: no claim is under
    // way that could pick the row up by chance.
    wait_for("the relay to LISTEN and go idle", || async {
        let (listening, busy): (i64, i64) = sqlx::query_as(
            r#"SELECT count(*) FILTER (WHERE query ILIKE 'LISTEN%'),
                      count(*) FILTER (WHERE state <> 'idle')
               FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'outboxctl relay'"#,
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        (listening == 1 && busy == 0).then_some(())
    })
    .await;
    // Past the relay's short polling after start-up: from now on it sleeps
    // until notified (or for the 600 s interval).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    env.insert("n.thing", None, json!({})).await;
    wait_for("the notified relay to send the row", || async {
        (env.counts().await == (0, 1, 0)).then_some(())
    })
    .await;
    relay.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn writers_notify_only_while_a_relayer_sleeps(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["w.#"]);
    env.config.relay.interval = Duration::from_secs(600);
    let mut listener = sqlx::postgres::PgListener::connect(&database_url(&env.pool))
        .await
        .unwrap();
    listener.listen("outbox").await.unwrap();
    let relay = RunningRelay::start(&env.config);
    let listening = || async {
        sqlx::query_scalar::<_, bool>("SELECT listening FROM outbox_relay_state")
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };

    // Asleep: an insert notifies, and the relay wakes and sends it.
    wait_for("the relay to sleep", || async {
        listening().await.then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    while listener.next_buffered().is_some() {}
    env.insert("w.one", None, json!({})).await;
    tokio::time::timeout(HANG, listener.recv())
        .await
        .expect("a notification")
        .unwrap();
    wait_for("the first row to be sent", || async {
        (env.counts().await == (0, 1, 0)).then_some(())
    })
    .await;

    // Awake right after work: the flag goes down and inserts do not notify.
    wait_for(
        "a relayer with work to ask for no notifications",
        || async { (!listening().await).then_some(()) },
    )
    .await;
    env.insert("w.two", None, json!({})).await;
    wait_for("the second row to be sent", || async {
        (env.counts().await == (0, 2, 0)).then_some(())
    })
    .await;
    let quiet = tokio::time::timeout(Duration::from_millis(100), listener.recv()).await;
    assert!(
        quiet.is_err(),
        "an insert notified while the relayer was awake"
    );

    // Back to sleep after a second without work: notifications again.
    wait_for("the relay to sleep again", || async {
        listening().await.then_some(())
    })
    .await;
    relay.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn poll_only_relay_does_not_listen_and_still_delivers(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["p.#"]);
    env.config.relay.poll_only = true;
    env.config.relay.interval = Duration::from_millis(100);
    let relay = RunningRelay::start(&env.config);
    env.insert("p.thing", None, json!({})).await;
    wait_for("the polling relay to send the row", || async {
        (env.counts().await == (0, 1, 0)).then_some(())
    })
    .await;
    let listening: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    relay.stop().await;
    assert_eq!(listening, 0);
}

/// A claim that finds every lane with due rows held by another batch says so
/// (`busy`), so `relay --once` keeps that worker waiting for its turn instead
/// of taking "nothing claimed" for "nothing left".
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_claim_tells_held_lanes_from_an_empty_outbox(pool: PgPool) {
    use outboxctl::store::outbox;

    let mut empty = pool.begin().await.unwrap();
    let claim = outbox::claim_batch(&mut empty, 500, 64).await.unwrap();
    assert!(
        claim.rows.is_empty() && !claim.busy,
        "nothing due: {claim:?}"
    );
    empty.rollback().await.unwrap();

    sqlx::query(
        "INSERT INTO outbox (topic, partition_key, payload)
         SELECT 'order.paid', 'k' || i, '{}' FROM generate_series(1, 200) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut first = pool.begin().await.unwrap();
    let all = outbox::claim_batch(&mut first, 500, 64).await.unwrap();
    assert_eq!(all.rows.len(), 200);

    let mut second = pool.begin().await.unwrap();
    let none = outbox::claim_batch(&mut second, 500, 64).await.unwrap();
    assert!(none.rows.is_empty() && none.busy, "lanes held: {none:?}");
    second.rollback().await.unwrap();

    // Once the first batch lets go, the rows are there to take again.
    first.rollback().await.unwrap();
    let mut third = pool.begin().await.unwrap();
    let again = outbox::claim_batch(&mut third, 500, 64).await.unwrap();
    assert_eq!((again.rows.len(), again.busy), (200, false));
    third.rollback().await.unwrap();
}

/// Marking a batch sent reads the batch's rows, not the table: on a young
/// outbox whose statistics are stale, 1,000 ids by `= ANY` were planned as a
/// sequential scan of every row (seen with auto_explain under `bench saga`:
/// 100–260 ms per batch at 25,000 rows). Counted in the session's scan
/// statistics, before and after, which see rows read sequentially however
/// fast that was.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn marking_a_batch_sent_never_reads_the_whole_outbox(pool: PgPool) {
    sqlx::query(
        "INSERT INTO outbox (topic, partition_key, payload)
         SELECT 't', md5(i::text), jsonb_build_object('n', i) FROM generate_series(1, 30000) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    // A drain's batch (contiguous), one with gaps (other lanes' rows between
    // its own), and one spread over the whole table (old retried rows next
    // to new ones).
    let gaps: Vec<i64> = ids[9000..11000].iter().copied().step_by(2).collect();
    let spread: Vec<i64> = ids.iter().copied().step_by(30).collect();
    let read = "SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'outbox'";
    for batch in [&ids[5000..6000], &gaps[..], &spread[..]] {
        let mut tx = pool.begin().await.unwrap();
        let before: i64 = sqlx::query_scalar(read).fetch_one(&mut *tx).await.unwrap();
        let marked = outboxctl::store::outbox::mark_sent(&mut tx, batch)
            .await
            .unwrap();
        assert_eq!(marked, batch.len() as u64);
        let after: i64 = sqlx::query_scalar(read).fetch_one(&mut *tx).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(
            after - before,
            0,
            "marking {} rows from id {} read the outbox sequentially",
            batch.len(),
            batch[0]
        );
    }
}

/// `lanes set` renumbers the lanes with rows pending: every pending row moves
/// to its lane under the new count in one transaction, a key's rows stay in
/// one lane, and the relay then delivers each key in order. It waits for the
/// batches in flight (here a lane lock held by hand) and gives up after
/// `--wait`, changing nothing.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn lanes_are_renumbered_with_rows_pending_and_each_key_stays_in_order(pool: PgPool) {
    let env = TestEnv::new(pool, &["order.#"]);
    apply_topology(&env).await;
    let lanes = |env: &TestEnv| {
        let out = run(env.cmd().args(["lanes", "show", "-o", "json"]));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(stdout(&out).trim()).unwrap()["lanes"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(lanes(&env), 64);
    env.insert_many(3000, "order.placed", 300).await;

    let out = run(env.cmd().args(["lanes", "set", "256", "--dry-run"]));
    assert!(
        stdout(&out).contains("would renumber 64 lanes to 256"),
        "{}",
        stdout(&out)
    );
    let out = run(env.cmd().args(["lanes", "set", "256"]));
    assert_eq!(out.status.code(), Some(2), "asks, and there is no terminal");
    assert_eq!(lanes(&env), 64);

    // A batch in flight holds lane 3: the renumbering waits, then gives up.
    let mut holder = env.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(1329748017, 3)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let out = run(env
        .cmd()
        .args(["lanes", "set", "256", "--yes", "--wait", "1s"]));
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("--wait"), "{}", stderr(&out));
    assert_eq!(lanes(&env), 64);
    holder.rollback().await.unwrap();

    let out = run(env.cmd().args(["lanes", "set", "256", "--yes"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("64 lanes are now 256"),
        "{}",
        stdout(&out)
    );
    assert_eq!(lanes(&env), 256);
    // Rows written from now on use the new count too.
    env.insert_many(3000, "order.placed", 300).await;
    let (max_lane, split_keys): (i16, i64) = sqlx::query_as(
        "SELECT (SELECT max(lane) FROM outbox), \
                (SELECT count(*) FROM (SELECT partition_key FROM outbox \
                 GROUP BY partition_key HAVING count(DISTINCT lane) > 1) k)",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!((64..256).contains(&max_lane), "max lane {max_lane}");
    assert_eq!(split_keys, 0, "keys whose rows sit in two lanes");

    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let deliveries = env.take(&env.queue(), 6000).await;
    assert_each_key_in_id_order(&env, &deliveries).await;
}

/// Rows held back until later — a saga's time-outs, backoff after a failure,
/// delayed sends — cost a claim nothing until they are due: the claim finds
/// them by due time, and the lane index it walks never holds them. And under
/// a flood of due held-back rows, due in an order unrelated to their ids,
/// each key still goes out in id order.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn held_back_rows_cost_a_claim_nothing_and_each_key_stays_in_order(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["held.#"]);
    env.config.relay.batch_size = 50;
    apply_topology(&env).await;
    let exec = |sql: &'static str| {
        let pool = env.pool.clone();
        async move { sqlx::query(sql).execute(&pool).await.unwrap() }
    };
    // 5,000 time-outs due in an hour, without a key (as a saga's timers).
    exec(
        "INSERT INTO outbox (topic, payload, available_at) \
         SELECT 'held.timer', '{}', now() + interval '1 hour' FROM generate_series(1, 5000)",
    )
    .await;
    // 400 rows of two keys held back after failures and due again by now,
    // in an order unrelated to their ids.
    exec(
        "INSERT INTO outbox (topic, partition_key, payload, created_at, available_at) \
         SELECT 'held.retry', CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END, jsonb_build_object('i', i), \
                now() - interval '1 hour', now() - random() * interval '10 minutes' \
         FROM generate_series(1, 400) AS i",
    )
    .await;
    // A key whose oldest row is held back for an hour, and rows of it
    // behind that one: they wait with it.
    exec(
        "INSERT INTO outbox (topic, partition_key, payload, available_at) \
         VALUES ('held.later', 'd', '{}', now() + interval '1 hour')",
    )
    .await;
    exec(
        "INSERT INTO outbox (topic, partition_key, payload) \
         SELECT 'held.behind', 'd', '{}' FROM generate_series(1, 5)",
    )
    .await;
    // Then rows never held back: more of the same two keys, and others.
    exec(
        "INSERT INTO outbox (topic, partition_key, payload) \
         SELECT 'held.new', CASE i % 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' || i END, \
                jsonb_build_object('i', i) \
         FROM generate_series(1, 300) AS i",
    )
    .await;

    // One claim, and the buffers of the outbox and its indexes it read,
    // counted in its own transaction.
    // On a connection of its own: a backend's counts of earlier transactions
    // are reported with the current one's until they are flushed.
    let session = outboxctl::store::outbox::relay_session(Duration::from_secs(60));
    let fresh = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*env.pool.connect_options()).clone())
        .await
        .unwrap();
    let mut tx = fresh.begin().await.unwrap();
    outboxctl::store::set_local(&mut tx, &session)
        .await
        .unwrap();
    let claim = outboxctl::store::outbox::claim_batch(&mut tx, 50, 64)
        .await
        .unwrap();
    let fetched: i64 = sqlx::query_scalar(
        "SELECT sum(pg_stat_get_xact_blocks_fetched(c.oid))::int8 FROM pg_class c \
         WHERE c.oid = 'outbox'::regclass \
            OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'outbox'::regclass)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    fresh.close().await;
    assert_eq!(claim.rows.len(), 50, "a full batch of due rows");
    assert!(
        claim.rows.iter().all(|r| r.topic != "held.timer"),
        "a row not due was claimed"
    );
    println!("one claim of 50 read {fetched} buffers of the outbox and its indexes");
    assert!(
        fetched < 2000,
        "one claim read {fetched} buffers: it stepped over the 5,000 rows not due yet"
    );

    let summary = relay_once(&env.config).await;
    assert_eq!(summary.sent, 700, "{summary:?}");
    let deliveries = env.take_all(&env.queue()).await;
    assert_eq!(deliveries.len(), 700, "every due row once, no time-out");
    assert_each_key_in_id_order(&env, &deliveries).await;
    let timers_left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE topic = 'held.timer' AND sent_at IS NULL",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(timers_left, 5000);
    let key_d_left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE partition_key = 'd' AND sent_at IS NULL",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        key_d_left, 6,
        "rows behind a held-back row of their key went out"
    );
}

/// Each key's rows reached the queue in id order (rows without a key may
/// go in any order).
async fn assert_each_key_in_id_order(env: &TestEnv, deliveries: &[lapin::message::Delivery]) {
    let rows: HashMap<String, (i64, Option<String>)> =
        sqlx::query_as::<_, (String, i64, Option<String>)>(
            "SELECT message_id::text, id, partition_key FROM outbox",
        )
        .fetch_all(&env.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(m, id, k)| (m, (id, k)))
        .collect();
    let mut last: HashMap<&str, i64> = HashMap::new();
    for d in deliveries {
        let (id, key) = &rows[&d.properties.message_id().clone().unwrap().to_string()];
        let Some(key) = key.as_deref() else {
            continue;
        };
        if let Some(prev) = last.insert(key, *id) {
            assert!(prev < *id, "key {key}: row {id} delivered after {prev}");
        }
    }
}
