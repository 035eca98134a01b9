//! Every worker lives through any fault: the real consumer binary under load
//! while its connections are reset, refused and frozen by a fault proxy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use outboxctl::config::HandlerConfig;
use sqlx::PgPool;

use crate::support::*;

/// Rows inserted per tick of [`Producer`].
const PER_TICK: i64 = 50;
const TICK: Duration = Duration::from_millis(50);

/// Inserts keyed rows at a steady rate until stopped.
struct Producer {
    stop: Arc<AtomicBool>,
    inserted: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl Producer {
    fn start(pool: PgPool, topic: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let inserted = Arc::new(AtomicI64::new(0));
        let (s, n) = (stop.clone(), inserted.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            while !s.load(Ordering::SeqCst) {
                tick.tick().await;
                sqlx::query(
                    r#"INSERT INTO outbox (topic, partition_key, payload)
                       SELECT $1, 'k' || (i % 50), jsonb_build_object('n', i)
                       FROM generate_series(1, $2) AS i"#,
                )
                .bind(topic)
                .bind(PER_TICK)
                .execute(&pool)
                .await
                .unwrap();
                n.fetch_add(PER_TICK, Ordering::SeqCst);
            }
        });
        Self {
            stop,
            inserted,
            task,
        }
    }

    async fn stop(self) -> i64 {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        self.inserted.load(Ordering::SeqCst)
    }
}

/// (history rows, rows that show a delivery was in hand when a connection
/// died: redelivered before they committed, or committed and then
/// redelivered as a duplicate)
async fn consumed(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE redelivered OR duplicates > 0) FROM consumed_messages",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The database's clock, the one `committed_at` is stamped with.
async fn db_now(pool: &PgPool) -> chrono::DateTime<chrono::Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// How long after `since` the consumer committed again.
async fn resumed_after(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
    what: &str,
) -> Duration {
    let first: chrono::DateTime<chrono::Utc> = wait_for(what, || async {
        sqlx::query_scalar(
            "SELECT min(committed_at) FROM consumed_messages WHERE committed_at > $1",
        )
        .bind(since)
        .fetch_one(pool)
        .await
        .unwrap()
    })
    .await;
    (first - since).to_std().unwrap_or_default()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_consumer_lives_through_resets_refusals_and_freezes_of_its_broker_connection(
    pool: PgPool,
) {
    let mut env = TestEnv::new(pool, &["load.#"]);
    // The effect: a row in a table without a key, so that a message handled
    // twice shows as two rows.
    sqlx::query("CREATE TABLE effects (message_id uuid NOT NULL)")
        .execute(&env.pool)
        .await
        .unwrap();
    env.config.handlers = vec![HandlerConfig::sql(
        "effect",
        &["load.#"],
        "INSERT INTO effects VALUES ($3)",
    )];
    env.apply_topology().await;
    let amqp = proxy(AMQP_ADDR).await;
    let mut via = env.config.clone();
    via.broker.url = TestEnv::broker_url_via(&amqp);
    let mut consumer = spawn(env.cmd_with(&via).arg("consume"));

    let relay = RunningRelay::start(&env.config);
    let producer = Producer::start(env.pool.clone(), "load.item");
    wait_for("the consumer to be busy", || async {
        (consumed(&env.pool).await.0 > 500).then_some(())
    })
    .await;

    let mut recoveries = Vec::new();
    // Three resets that land while deliveries are in hand. A burst of rows
    // keeps the consumer busy; whether a reset caught deliveries in hand is
    // shown by what follows it: a redelivery (recorded as redelivered, or
    // counted as a duplicate). A reset that happened to catch the consumer
    // holding nothing is not counted, and another one is tried.
    let mut burst = 0;
    let mut landed = 0;
    for attempt in 0..10 {
        if landed == 3 {
            break;
        }
        sqlx::query(
            r#"INSERT INTO outbox (topic, partition_key, payload)
               SELECT 'load.item', 'k' || (i % 50), jsonb_build_object('burst', i)
               FROM generate_series(1, 5000) AS i"#,
        )
        .execute(&env.pool)
        .await
        .unwrap();
        burst += 5000;
        let before = consumed(&env.pool).await.1;
        let flowing = amqp.stats().bytes_down;
        wait_for("deliveries of the burst flowing", || async {
            (amqp.stats().bytes_down > flowing).then_some(())
        })
        .await;
        let resets = amqp.stats().reset;
        amqp.cut();
        wait_for("the cut to reset the consumer's connection", || async {
            (amqp.stats().reset > resets).then_some(())
        })
        .await;
        let at = db_now(&env.pool).await;
        let took = resumed_after(&env.pool, at, "work after a reset").await;
        let redelivered = async {
            while consumed(&env.pool).await.1 <= before {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), redelivered)
            .await
            .is_ok()
        {
            recoveries.push((format!("reset {landed}"), took));
            landed += 1;
        } else {
            eprintln!("reset {attempt} caught no delivery in hand; another one");
        }
    }
    assert_eq!(landed, 3, "three resets with deliveries in hand");

    // Refused for 10 s.
    amqp.refuse(true);
    tokio::time::sleep(Duration::from_secs(10)).await;
    amqp.refuse(false);
    let at = db_now(&env.pool).await;
    recoveries.push((
        "refused 10s".into(),
        resumed_after(&env.pool, at, "work after the refusal").await,
    ));

    // Frozen for 10 s and for 35 s.
    for secs in [10, 35] {
        amqp.stall(true);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        amqp.stall(false);
        let at = db_now(&env.pool).await;
        recoveries.push((
            format!("frozen {secs}s"),
            resumed_after(&env.pool, at, "work after a freeze").await,
        ));
    }
    eprintln!("recovery after each fault: {recoveries:?}");
    for (fault, took) in &recoveries {
        assert!(
            *took < Duration::from_secs(2),
            "{fault}: back to work only after {took:?}"
        );
    }

    // SIGTERM during a freeze.
    amqp.stall(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let asked = Instant::now();
    terminate(&consumer);
    let status = wait_exit(&mut consumer).await;
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(0), "SIGTERM during a freeze");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    amqp.stall(false);

    // Drain what is left with a consumer on a direct connection.
    let inserted = producer.stop().await + burst;
    let (left, began) = (inserted - consumed(&env.pool).await.0, Instant::now());
    let mut drain = spawn(env.cmd().arg("consume"));
    let drained = wait_progress(inserted, || async { consumed(&env.pool).await.0 }).await;
    eprintln!("the drain consumed {left} rows in {:?}", began.elapsed());
    if let Err(stuck_at) = drained {
        let (pending, sent, dead) = env.counts().await;
        let q = env.queue();
        panic!(
            "{stuck_at} of {inserted} rows consumed, then nothing for a minute: outbox \
             pending {pending}, sent {sent}, dead {dead}; queue {} ready, retry {}, dlq {}\n{}",
            env.depth(&q).await,
            env.retry_depth(&q).await,
            env.depth(&format!("{q}.dlq")).await,
            drain.log()
        );
    }
    terminate(&drain);
    assert_eq!(wait_exit(&mut drain).await.code(), Some(0));
    relay.stop().await;

    let (history, _) = consumed(&env.pool).await;
    assert_eq!(history, inserted, "every message consumed");
    let (effects, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT message_id) FROM effects")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        (effects, distinct),
        (inserted, inserted),
        "every message's effect committed exactly once"
    );
}

/// Rows of consumed_messages whose recorded attempt is above 1.
async fn second_attempts(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM consumed_messages WHERE delivery_attempt > 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_database_cut_or_refused_under_the_consumer_uses_no_attempt(pool: PgPool) {
    let env = TestEnv::new(pool, &["load.#"]);
    env.apply_topology().await;
    let pg = proxy(PG_ADDR).await;
    let mut via = env.config.clone();
    via.database.url = env.database_url_via(&pg);
    via.database.connect_timeout = Duration::from_secs(1);
    let mut consumer = spawn(env.cmd_with(&via).arg("consume"));
    let relay = RunningRelay::start(&env.config);
    let producer = Producer::start(env.pool.clone(), "load.item");
    wait_for("the consumer to be busy", || async {
        (consumed(&env.pool).await.0 > 300).then_some(())
    })
    .await;

    for _ in 0..3 {
        pg.cut();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    pg.refuse(true);
    tokio::time::sleep(Duration::from_secs(5)).await;
    pg.refuse(false);
    let inserted = producer.stop().await;
    wait_for("every row consumed", || async {
        (consumed(&env.pool).await.0 == inserted).then_some(())
    })
    .await;
    terminate(&consumer);
    assert_eq!(wait_exit(&mut consumer).await.code(), Some(0));
    relay.stop().await;

    let log = consumer.log();
    assert!(
        pg.stats().reset >= 3 && log.contains("PostgreSQL is unavailable; holding deliveries"),
        "the faults did not reach the consumer at work: {:?}\n{log}",
        pg.stats()
    );
    assert_eq!(
        second_attempts(&env.pool).await,
        0,
        "a database outage used up attempts"
    );
    assert!(
        !log.contains("retrying later"),
        "a message went to the retry queue:\n{log}"
    );
    assert_eq!(env.retry_depth(&env.queue()).await, 0);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_consumer_killed_ten_times_counts_no_attempt(pool: PgPool) {
    let env = TestEnv::new(pool, &["load.#"]);
    env.apply_topology().await;
    let relay = RunningRelay::start(&env.config);
    let producer = Producer::start(env.pool.clone(), "load.item");
    for _ in 0..10 {
        let mut consumer = spawn(env.cmd().arg("consume"));
        let before = consumed(&env.pool).await.0;
        wait_for("the consumer at work", || async {
            (consumed(&env.pool).await.0 > before + 200).then_some(())
        })
        .await;
        consumer.kill().unwrap();
        consumer.wait().unwrap();
    }
    let inserted = producer.stop().await;
    let mut consumer = spawn(env.cmd().arg("consume"));
    wait_for("every row consumed", || async {
        (consumed(&env.pool).await.0 == inserted).then_some(())
    })
    .await;
    terminate(&consumer);
    assert_eq!(wait_exit(&mut consumer).await.code(), Some(0));
    relay.stop().await;

    let (_, redelivered) = consumed(&env.pool).await;
    assert!(redelivered > 0, "no kill caught deliveries in hand");
    assert_eq!(
        second_attempts(&env.pool).await,
        0,
        "a crash counted as an attempt"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_reset_right_after_start_does_not_stop_the_consumer(pool: PgPool) {
    let env = TestEnv::new(pool, &["load.#"]);
    env.apply_topology().await;
    let (pg, amqp) = (proxy(PG_ADDR).await, proxy(AMQP_ADDR).await);
    let mut via = env.config.clone();
    via.database.url = env.database_url_via(&pg);
    via.broker.url = TestEnv::broker_url_via(&amqp);
    let mut consumer = spawn(env.cmd_with(&via).arg("consume"));
    // Whatever it is connecting to at that moment, it loses.
    for ms in [100, 50, 50, 50] {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        pg.cut();
        amqp.cut();
    }
    assert!(
        pg.stats().reset + amqp.stats().reset > 0,
        "no connection was open when cut: {:?} {:?}",
        pg.stats(),
        amqp.stats()
    );
    env.insert("load.item", None, serde_json::json!({})).await;
    relay_once(&env.config).await;
    wait_for("the consumer to come up and consume", || async {
        (consumed(&env.pool).await.0 == 1).then_some(())
    })
    .await;
    assert!(consumer.try_wait().unwrap().is_none(), "{}", consumer.log());
    terminate(&consumer);
    assert_eq!(wait_exit(&mut consumer).await.code(), Some(0));
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_watchdog_reports_a_stalled_stage_and_ends_the_process(pool: PgPool) {
    let env = TestEnv::new(pool, &["load.#"]);
    env.apply_topology().await;
    let pg = proxy(PG_ADDR).await;
    let mut via = env.config.clone();
    via.database.url = env.database_url_via(&pg);
    // Short, but longer than a start-up on a busy machine takes.
    via.watchdog.warn_after = Duration::from_secs(1);
    via.watchdog.exit_after = Duration::from_secs(5);
    let mut consumer = spawn(env.cmd_with(&via).arg("consume"));
    env.insert("load.item", None, serde_json::json!({})).await;
    relay_once(&env.config).await;
    wait_for("the consumer to be idle", || async {
        (consumed(&env.pool).await.0 == 1).then_some(())
    })
    .await;
    // An idle consumer is not stalled, however long it waits.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(consumer.try_wait().unwrap().is_none(), "{}", consumer.log());

    // Frozen database, a message in hand: no progress.
    pg.stall(true);
    env.insert("load.item", None, serde_json::json!({})).await;
    relay_once(&env.config).await;
    let status = wait_exit(&mut consumer).await;
    pg.stall(false);
    let log = consumer.log();
    assert_eq!(status.code(), Some(2), "{log}");
    let warned = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("no progress while holding work"))
        .unwrap_or_else(|| panic!("no warning before the exit:\n{log}"));
    assert!(warned.contains("consumer lane"), "{warned}");
    let last = log.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("outboxctl: consumer lane")
            && last.contains("made no progress")
            && last.contains("watchdog.exit_after"),
        "{last}"
    );
}
