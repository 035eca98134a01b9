//! The relayer's promises under faults that land where they claim to: the
//! fault proxy holds the broker's replies so a batch is published and not yet
//! marked sent, and only then is the relayer killed, cut off, timed out or
//! told to stop. Every test shows the fault landed (copies at the broker that
//! the database does not count as sent), then counts every copy at the broker
//! — a duplicate is a second copy, which no primary key folds away — and
//! checks that nothing is missing and each key kept its order.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lapin::types::AMQPValue;
use outboxctl::config::Config;
use sqlx::PgPool;

use crate::support::*;

/// One copy of a message at the broker.
struct Copy {
    id: i64,
    key: Option<String>,
}

fn header<'a>(d: &'a lapin::message::Delivery, name: &str) -> Option<&'a AMQPValue> {
    d.properties.headers().as_ref()?.inner().get(name)
}

/// Every copy the broker holds in the work queue, in queue order.
async fn copies(env: &TestEnv) -> Vec<Copy> {
    let depth = env.depth(&env.queue()).await as usize;
    env.take(&env.queue(), depth)
        .await
        .iter()
        .map(|d| Copy {
            id: match header(d, "x-outbox-id") {
                Some(AMQPValue::LongLongInt(id)) => *id,
                other => panic!("x-outbox-id missing: {other:?}"),
            },
            key: match header(d, "x-outbox-partition-key") {
                Some(AMQPValue::LongString(k)) => Some(k.to_string()),
                _ => None,
            },
        })
        .collect()
}

/// What the broker received, against the rows the outbox holds.
#[derive(Debug)]
struct Tally {
    copies: usize,
    duplicates: usize,
    missing: usize,
    /// A row of a key whose first copy came before the first copy of an
    /// older row of that key.
    order_violations: usize,
}

async fn tally(env: &TestEnv) -> Tally {
    let copies = copies(env).await;
    let mut seen = HashSet::new();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut order_violations = 0;
    for c in &copies {
        if !seen.insert(c.id) {
            continue;
        }
        if let Some(key) = &c.key
            && let Some(prev) = last.insert(key.clone(), c.id)
            && prev > c.id
        {
            order_violations += 1;
        }
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    Tally {
        copies: copies.len(),
        duplicates: copies.len() - seen.len(),
        missing: ids.iter().filter(|id| !seen.contains(id)).count(),
        order_violations,
    }
}

async fn sent(env: &TestEnv) -> i64 {
    env.counts().await.1
}

/// Hold the broker's replies until a batch is at the broker and not marked
/// sent; returns how many copies are unmarked at that moment.
async fn hold_mid_batch(env: &TestEnv, amqp: &FaultProxy) -> i64 {
    amqp.hold_replies(true);
    wait_for("a batch published and not yet marked sent", || async {
        let at_broker = i64::from(env.depth(&env.queue()).await);
        let unmarked = at_broker - sent(env).await;
        (unmarked > 0).then_some(unmarked)
    })
    .await
}

/// Copies at the broker minus rows marked sent, once nothing moves (the
/// relayer is dead, or held).
async fn unmarked_now(env: &TestEnv) -> i64 {
    i64::from(env.depth(&env.queue()).await) - sent(env).await
}

/// The test's configuration with the relayer's broker connection (and
/// optionally its database connection) through proxies.
fn via(env: &TestEnv, amqp: &FaultProxy, pg: Option<&FaultProxy>) -> Config {
    let mut config = env.config.clone();
    config.broker.url = TestEnv::broker_url_via(amqp);
    if let Some(pg) = pg {
        config.database.url = env.database_url_via(pg);
    }
    config
}

async fn wait_all_sent(env: &TestEnv, rows: i64) {
    wait_progress(rows, || async { sent(env).await })
        .await
        .unwrap_or_else(|n| panic!("stuck at {n} of {rows} rows sent"));
}

/// Rows published twice because their first publish was never recorded.
async fn rows_tried_again(env: &TestEnv, error_like: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE attempts >= 2 AND last_error LIKE $1")
        .bind(error_like)
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

const BATCH: u32 = 100;
const WORKERS: u32 = 2;

fn faulty_env(pool: PgPool) -> TestEnv {
    let mut env = TestEnv::new(pool, &["f.#"]);
    env.config.relay.batch_size = BATCH;
    env.config.relay.workers = WORKERS;
    env.config.broker.confirm_timeout = Duration::from_secs(2);
    env
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_relayer_killed_between_publish_and_confirm_republishes_that_batch_only(pool: PgPool) {
    const ROWS: i64 = 3000;
    let amqp = proxy(AMQP_ADDR).await;
    let env = faulty_env(pool);
    env.apply_topology().await;
    env.insert_many(ROWS, "f.item", 30).await;
    let mut relay = spawn(env.cmd_with(&via(&env, &amqp, None)).arg("relay"));
    wait_for("some rows sent", || async {
        (sent(&env).await >= 300).then_some(())
    })
    .await;

    hold_mid_batch(&env, &amqp).await;
    relay.kill().unwrap(); // SIGKILL: the claim dies with the connection
    relay.wait().unwrap();
    amqp.hold_replies(false);
    let unmarked = unmarked_now(&env).await;
    assert!(unmarked > 0, "the kill did not land mid-batch");
    assert!(
        sent(&env).await < ROWS,
        "the relayer finished before the kill"
    );

    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.counts().await, (0, ROWS, 0));
    let t = tally(&env).await;
    assert_eq!((t.missing, t.order_violations), (0, 0), "{t:?}");
    // Exactly the rows at the broker but unmarked when it died went out twice.
    assert_eq!(t.duplicates as i64, unmarked, "{t:?}");
    assert!(t.duplicates <= (BATCH * WORKERS) as usize, "{t:?}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_broker_connection_cut_between_publish_and_confirm_is_recorded_and_retried(pool: PgPool) {
    const ROWS: i64 = 3000;
    let amqp = proxy(AMQP_ADDR).await;
    let env = faulty_env(pool);
    env.apply_topology().await;
    env.insert_many(ROWS, "f.item", 30).await;
    let mut relay = spawn(env.cmd_with(&via(&env, &amqp, None)).arg("relay"));
    wait_for("some rows sent", || async {
        (sent(&env).await >= 300).then_some(())
    })
    .await;

    hold_mid_batch(&env, &amqp).await;
    let unmarked = unmarked_now(&env).await;
    let resets = amqp.stats().reset;
    amqp.cut();
    wait_for("the cut to reset the relayer's connection", || async {
        (amqp.stats().reset > resets).then_some(())
    })
    .await;
    amqp.hold_replies(false);

    wait_all_sent(&env, ROWS).await;
    terminate(&relay);
    assert_eq!(
        wait_exit(&mut relay).await.code(),
        Some(0),
        "{}",
        relay.log()
    );
    let t = tally(&env).await;
    assert_eq!((t.missing, t.order_violations), (0, 0), "{t:?}");
    // Of the rows unmarked at the cut, those of earlier waves were confirmed
    // and are marked with the batch; the wave whose confirms were lost was
    // recorded as a failed attempt and went out again: every copy too many
    // is such a row.
    let retried = rows_tried_again(&env, "broker connection lost%").await;
    assert!(
        retried > 0,
        "no publish lost its confirm to the cut ({unmarked} unmarked)"
    );
    assert!(
        retried <= unmarked,
        "{retried} retried, {unmarked} unmarked at the cut"
    );
    assert_eq!(retried, t.duplicates as i64, "{t:?}");
    assert!(t.duplicates <= (BATCH * WORKERS) as usize, "{t:?}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn confirms_that_never_come_time_out_and_the_rows_go_out_again(pool: PgPool) {
    const ROWS: i64 = 2000;
    let amqp = proxy(AMQP_ADDR).await;
    let env = faulty_env(pool);
    env.apply_topology().await;
    env.insert_many(ROWS, "f.item", 30).await;
    let mut relay = spawn(env.cmd_with(&via(&env, &amqp, None)).arg("relay"));
    wait_for("some rows sent", || async {
        (sent(&env).await >= 300).then_some(())
    })
    .await;

    let unmarked = hold_mid_batch(&env, &amqp).await;
    // Past the confirm timeout (2 s) with the replies still held.
    wait_for("the confirm timeout to be recorded", || async {
        (rows_tried_again(&env, "no publisher confirm%").await > 0
            || sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM outbox WHERE last_error LIKE 'no publisher confirm%'",
            )
            .fetch_one(&env.pool)
            .await
            .unwrap()
                > 0)
        .then_some(())
    })
    .await;
    amqp.hold_replies(false);

    wait_all_sent(&env, ROWS).await;
    terminate(&relay);
    assert_eq!(
        wait_exit(&mut relay).await.code(),
        Some(0),
        "{}",
        relay.log()
    );
    let t = tally(&env).await;
    assert_eq!((t.missing, t.order_violations), (0, 0), "{t:?}");
    // The waves waiting when the confirms stopped timed out, were recorded
    // as failed attempts and went out again (earlier waves of their batches
    // were confirmed and marked).
    let retried = rows_tried_again(&env, "no publisher confirm%").await;
    assert!(
        retried > 0 && retried <= unmarked,
        "{retried} timed out and retried, {unmarked} held"
    );
    assert_eq!(retried, t.duplicates as i64, "{t:?}");
    assert!(t.duplicates <= (BATCH * WORKERS) as usize, "{t:?}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn postgres_cut_mid_batch_or_refusing_leaves_the_relayer_running_and_loses_nothing(
    pool: PgPool,
) {
    const ROWS: i64 = 4000;
    let amqp = proxy(AMQP_ADDR).await;
    let pg = proxy(PG_ADDR).await;
    let mut env = faulty_env(pool);
    env.config.log.level = "info".into();
    env.apply_topology().await;
    env.insert_many(ROWS, "f.item", 30).await;
    let mut relay = spawn(env.cmd_with(&via(&env, &amqp, Some(&pg))).arg("relay"));
    wait_for("some rows sent", || async {
        (sent(&env).await >= 300).then_some(())
    })
    .await;

    // 1. The database connection holding the claim is cut while its batch
    //    is at the broker and unconfirmed: marking it sent cannot commit.
    hold_mid_batch(&env, &amqp).await;
    let unmarked = unmarked_now(&env).await;
    let resets = pg.stats().reset;
    pg.cut();
    wait_for(
        "the cut to reset the relayer's database connections",
        || async { (pg.stats().reset > resets).then_some(()) },
    )
    .await;
    amqp.hold_replies(false);
    wait_for("rows sent after the cut", || async {
        (unmarked_now(&env).await < 0 || sent(&env).await > ROWS / 4).then_some(())
    })
    .await;

    // 2. PostgreSQL refuses every connection for 3 s in mid-drain.
    let before = sent(&env).await;
    pg.refuse(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.refuse(false);
    assert!(
        pg.stats().refused > 0,
        "the relayer did not try to reconnect during the refusal"
    );
    assert!(
        relay.try_wait().unwrap().is_none(),
        "the relayer exited:\n{}",
        relay.log()
    );

    wait_all_sent(&env, ROWS).await;
    assert!(sent(&env).await > before);
    terminate(&relay);
    assert_eq!(
        wait_exit(&mut relay).await.code(),
        Some(0),
        "{}",
        relay.log()
    );
    let t = tally(&env).await;
    assert_eq!((t.missing, t.order_violations), (0, 0), "{t:?}");
    assert!(
        t.duplicates as i64 >= unmarked,
        "{t:?}, {unmarked} unmarked at the cut"
    );
    // Two faults, each at most a batch per worker.
    assert!(t.duplicates <= (2 * BATCH * WORKERS) as usize, "{t:?}");
}

/// SIGTERM while a batch waits for its confirms: the relayer finishes that
/// batch — marks what the broker confirmed — before it exits, so nothing it
/// published goes out twice.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn sigterm_mid_batch_finishes_the_batch_then_exits_0(pool: PgPool) {
    const ROWS: i64 = 3000;
    let amqp = proxy(AMQP_ADDR).await;
    let env = faulty_env(pool);
    env.apply_topology().await;
    env.insert_many(ROWS, "f.item", 30).await;
    let mut relay = spawn(env.cmd_with(&via(&env, &amqp, None)).arg("relay"));
    wait_for("some rows sent", || async {
        (sent(&env).await >= 300).then_some(())
    })
    .await;

    hold_mid_batch(&env, &amqp).await;
    let unmarked = unmarked_now(&env).await;
    let sent_at_term = sent(&env).await;
    terminate(&relay);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        relay.try_wait().unwrap().is_none(),
        "exited without finishing its batch"
    );
    amqp.hold_replies(false);
    assert_eq!(
        wait_exit(&mut relay).await.code(),
        Some(0),
        "{}",
        relay.log()
    );
    let finished = sent(&env).await - sent_at_term;
    assert!(
        finished >= unmarked,
        "{finished} marked after SIGTERM, {unmarked} were in flight"
    );
    assert!(
        sent(&env).await < ROWS,
        "the relayer drained everything: no batch was cut short"
    );

    let out = run(env.cmd().args(["relay", "--once"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let t = tally(&env).await;
    assert_eq!(
        (t.missing, t.duplicates, t.order_violations),
        (0, 0, 0),
        "{t:?}"
    );
}

/// Three relayer processes, started before the rows exist, share the work:
/// each publishes some, none publishes a row another did, keys keep order.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn three_relayer_processes_share_the_work_and_keep_per_key_order(pool: PgPool) {
    const ROWS: i64 = 20_000;
    let mut env = TestEnv::new(pool, &["keyed.#"]);
    env.config.relay.batch_size = 200;
    env.config.log.level = "info".into();
    env.apply_topology().await;
    let mut relays: Vec<Proc> = (0..3).map(|_| spawn(env.cmd().arg("relay"))).collect();
    wait_for("three relayers listening", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        (n == 3).then_some(())
    })
    .await;
    env.insert_many(ROWS, "keyed.item", 200).await;
    wait_all_sent(&env, ROWS).await;

    let mut shares = Vec::new();
    for relay in &mut relays {
        terminate(relay);
        assert_eq!(wait_exit(relay).await.code(), Some(0));
        let log = relay.log();
        let line = log
            .lines()
            .find(|l| l.contains("relay stopped"))
            .unwrap_or_else(|| panic!("no summary in:\n{log}"));
        let sent: i64 = line
            .split("sent=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no sent= in {line}"));
        shares.push(sent);
    }
    assert_eq!(shares.iter().sum::<i64>(), ROWS, "{shares:?}");
    assert!(
        shares.iter().all(|&s| s > 0),
        "a relayer did nothing: {shares:?}"
    );
    let t = tally(&env).await;
    assert_eq!(
        (t.copies as i64, t.duplicates, t.missing, t.order_violations),
        (ROWS, 0, 0, 0)
    );
}

/// A relayer that hangs (SIGSTOP) holding a claim: PostgreSQL ends its idle
/// transaction after `idle_in_transaction_session_timeout` and another
/// relayer takes the rows.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_hung_relayers_claim_is_released_by_the_idle_transaction_timeout(pool: PgPool) {
    const ROWS: i64 = 500;
    let amqp = proxy(AMQP_ADDR).await;
    let mut env = faulty_env(pool);
    // A batch takes every ready lane: nothing is left for the other relayer.
    env.config.relay.batch_size = 1000;
    env.config.relay.workers = 1;
    env.apply_topology().await;
    let mut hung = spawn(env.cmd_with(&via(&env, &amqp, None)).arg("relay"));
    // Connected and publishing: a first row goes out before the replies are held.
    env.insert("f.first", None, serde_json::json!({})).await;
    wait_all_sent(&env, 1).await;
    amqp.hold_replies(true);
    env.insert_many(ROWS - 1, "f.item", 30).await;
    hold_mid_batch(&env, &amqp).await;
    let stop = std::process::Command::new("kill")
        .args(["-STOP", &hung.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    amqp.hold_replies(false);

    let mut other = spawn(env.cmd().arg("relay"));
    // The claim holds: the other relayer can publish nothing for a while.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sent(&env).await,
        1,
        "the claim of the hung relayer was not held"
    );
    let claim_holder: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'idle in transaction'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(claim_holder >= 1, "no idle transaction holds the claim");
    // Released after 2 × confirm timeout + 10 s = 14 s.
    wait_all_sent(&env, ROWS).await;
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &hung.id().to_string()])
        .status();
    hung.kill().unwrap();
    terminate(&other);
    assert_eq!(wait_exit(&mut other).await.code(), Some(0));
    let t = tally(&env).await;
    assert_eq!((t.missing, t.order_violations), (0, 0), "{t:?}");
}

/// Rows without a key are in flight together (one wave per batch); a key's
/// rows go one wave at a time.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn rows_without_a_key_are_published_in_parallel(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["p.#"]);
    env.config.relay.batch_size = 1000;
    env.config.relay.workers = 1;
    env.apply_topology().await;
    env.insert_many(500, "p.item", 0).await;
    let unkeyed = relay_once(&env.config).await;
    assert_eq!((unkeyed.sent, unkeyed.waves), (500, 1), "{unkeyed:?}");

    env.insert_many(50, "p.item", 1).await;
    let keyed = relay_once(&env.config).await;
    assert_eq!((keyed.sent, keyed.waves), (50, 50), "{keyed:?}");
}

/// A row scheduled with `available_at` is not published before it.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn available_at_holds_a_row_back_until_then(pool: PgPool) {
    let env = TestEnv::new(pool, &["d.#"]);
    env.apply_topology().await;
    let (later, _) = env
        .insert("d.later", Some("k"), serde_json::json!({}))
        .await;
    sqlx::query("UPDATE outbox SET available_at = now() + interval '2 seconds' WHERE id = $1")
        .bind(later)
        .execute(&env.pool)
        .await
        .unwrap();
    let (now, _) = env.insert("d.now", None, serde_json::json!({})).await;
    let relay = RunningRelay::start(&env.config);
    wait_all_sent(&env, 2).await;
    relay.stop().await;
    let (now_sent, later_sent, later_due): (
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    ) = sqlx::query_as(
        "SELECT (SELECT sent_at FROM outbox WHERE id = $1), sent_at, available_at FROM outbox WHERE id = $2",
    )
    .bind(now)
    .bind(later)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert!(
        later_sent >= later_due,
        "sent at {later_sent}, due at {later_due}"
    );
    assert!(
        now_sent < later_due,
        "the row due now waited for the later one"
    );
}

fn verify_report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// `outboxctl verify`, short: a sound setup passes with every fault landed;
/// a broker that drops confirmed messages (a classic queue under a policy
/// with a small max-length and the default drop-head overflow) fails it,
/// naming the row of the table that failed.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn verify_passes_a_sound_setup_and_fails_a_broker_that_drops_messages(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let out = run(env.cmd().args([
        "verify", "--events", "3000", "--rate", "1000", "--kills", "3", "--cuts", "3", "-o", "json",
    ]));
    let report = verify_report(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}\n{}", stderr(&out));
    for zero in [
        "lost",
        "duplicate_effects",
        "order_violations",
        "dead",
        "stuck",
    ] {
        assert_eq!(report[zero], 0, "{zero}: {report:#}");
    }
    assert_eq!(report["inserted"], 3000);
    assert_eq!(report["reached_broker"], 3000);
    assert_eq!(report["effects"], 3000);
    let faults: u64 = report["faults"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(faults, 6, "{report:#}");
    assert!(
        report["longest_recovery_ms"].as_u64().is_some(),
        "{report:#}"
    );

    let admin = Management::new();
    let policy = format!("{}-maxlen", env.id);
    // verify's queues are named after the configured one: this pattern is
    // how an operator's policy for that queue would reach them.
    admin
        .set_policy(
            &policy,
            &format!("^{}\\.verify-", regex_escape(&env.queue())),
            serde_json::json!({ "max-length": 10 }),
        )
        .await;
    let out = one_by_one_verify(&env, "2000", "2", "classic");
    admin.clear_policy(&policy).await;
    let report = verify_report(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}\n{}", stderr(&out));
    assert!(report["lost"].as_i64().unwrap() > 0, "{report:#}");
    assert!(
        stderr(&out).contains("verify failed: lost"),
        "{}",
        stderr(&out)
    );
    assert!(
        report["hint"].as_str().unwrap().contains("max-length"),
        "{report:#}"
    );
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = ".^$*+?()[]{}|\\-".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// `verify` with one relayer and one consumer, `kills` SIGKILLs and no
/// connection cuts, on `queue_type`.
fn one_by_one_verify(
    env: &TestEnv,
    events: &str,
    kills: &str,
    queue_type: &str,
) -> std::process::Output {
    run(env.cmd().args([
        "verify",
        "--events",
        events,
        "--rate",
        "1000",
        "--kills",
        kills,
        "--cuts",
        "0",
        "--relays",
        "1",
        "--consumers",
        "1",
        "--queue-type",
        queue_type,
        "-o",
        "json",
    ]))
}

/// `verify` looks at the queues' settings before the first event: a limit
/// that drops messages fails the run even when this run never reached it
/// (nothing lost), naming the policy and the fix. The same policy on a quorum
/// queue, which outboxctl declares with reject-publish overflow, passes.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn verify_fails_a_lossy_limit_the_run_never_reached(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let admin = Management::new();
    let policy = format!("{}-roomy", env.id);
    // The work queue only: outboxctl declares its dead-letter queues without
    // reject-publish overflow, so the look rightly flags a limit there on
    // either queue type.
    admin
        .set_policy(
            &policy,
            &format!("^{}\\.verify-[0-9a-f]+$", regex_escape(&env.queue())),
            serde_json::json!({ "max-length": 100000 }),
        )
        .await;
    let classic = one_by_one_verify(&env, "300", "0", "classic");
    let quorum = one_by_one_verify(&env, "300", "0", "quorum");
    admin.clear_policy(&policy).await;

    let report = verify_report(&classic);
    assert_eq!(classic.status.code(), Some(1), "{report:#}");
    assert_eq!(report["lost"], 0, "the limit was never reached: {report:#}");
    let risk = &report["loss_risks"][0];
    assert!(
        risk["setting"].as_str().unwrap().contains(&format!(
            "max-length 100000 with overflow drop-head (policy {policy})"
        )) && risk["fix"].as_str().unwrap().contains("reject-publish"),
        "{report:#}"
    );
    assert!(
        stderr(&classic).contains("verify failed: loss risk on"),
        "{}",
        stderr(&classic)
    );

    let report = verify_report(&quorum);
    assert_eq!(
        quorum.status.code(),
        Some(0),
        "{report:#}\n{}",
        stderr(&quorum)
    );
    assert_eq!(report["loss_risks"], serde_json::json!([]));
    assert_eq!(
        report["sent"].as_i64().unwrap() + report["dead"].as_i64().unwrap(),
        300
    );
}
