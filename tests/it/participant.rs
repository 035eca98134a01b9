//! An outside saga participant: `examples/participant.py` (Python, pika),
//! installed by ./scripts/tools.sh, serves the charge step of a saga while
//! the test keeps it away, kills and restarts it, and makes it answer late
//! and twice. Every saga ends as the late-reply rule says, each charge once
//! (counted in the participant's own database, where a double would show).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use outboxctl::config::StepConfig;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::sagas::{
    effects_of, ignored, saga_env_with, settled, start_saga, start_workers, stop_workers,
    three_steps, timeline,
};
use crate::support::*;

/// The Python of the venv ./scripts/tools.sh installed pika into.
fn python() -> PathBuf {
    venv_python("participant")
}

/// The participant on `queue`, misbehaving as `chaos` says (CHAOS_TWICE,
/// CHAOS_DELAY; see tests/participant/chaos.py).
fn participant(env: &TestEnv, queue: &str, db: &Path, chaos: &[(&str, &str)]) -> Proc {
    let mut cmd = Command::new(python());
    cmd.arg("tests/participant/chaos.py")
        .args(["--url", AMQP_URL, "--queue", queue])
        .args(["--exchange", &env.config.broker.exchange])
        .arg("--db")
        .arg(db)
        .args(["--limit", "100"]);
    for (k, v) in chaos {
        cmd.env(k, v);
    }
    spawn(&mut cmd)
}

/// Rows of a query on the participant's SQLite database, as JSON arrays.
fn payments(db: &Path, sql: &str) -> Vec<Value> {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sqlite3, sys; \
             print(json.dumps(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()))",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Charges made, by saga id.
fn charges(db: &Path) -> BTreeMap<String, i64> {
    payments(db, "SELECT saga_id, count(*) FROM charges GROUP BY saga_id")
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect()
}

async fn instance(env: &TestEnv, order: &str) -> Uuid {
    settled(
        env,
        order,
        &["running", "compensating", "completed", "compensated"],
    )
    .await
}

async fn has(env: &TestEnv, id: Uuid, entry: &str) {
    wait_for(&format!("{id}: {entry}"), || async {
        timeline(&env.pool, id)
            .await
            .iter()
            .any(|e| e == entry)
            .then_some(())
    })
    .await
}

fn stop(mut p: Proc) {
    terminate(&p);
    let _ = p.wait();
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_outside_python_participant_through_outage_crash_late_and_double_replies(pool: PgPool) {
    // orders: a → charge (the participant's) → c.
    let mut saga = three_steps(Duration::from_secs(1), 30);
    saga.steps[1] = StepConfig {
        name: "charge".into(),
        command: "order.charge".into(),
        compensation: Some("order.refund".into()),
        timeout: Duration::from_secs(1),
        retries: 30,
    };
    // `<id>.extra` is the participant's queue, declared by outboxctl.
    let env = saga_env_with(pool, saga, &["order.charge", "order.refund"]).await;
    let queue = format!("{}.extra", env.id);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("payments.sqlite");
    let workers = start_workers(&env);

    // The participant is away: attempt 2 of each charge goes out.
    start_saga(&env, "d-1", json!({ "amount": 500 })).await;
    for order in ["l-1", "l-2", "l-3"] {
        start_saga(&env, order, json!({ "amount": 10 })).await;
    }
    let declined = instance(&env, "d-1").await;
    has(&env, declined, "command_sent charge #2").await;
    let mut early = Vec::new();
    for order in ["l-1", "l-2", "l-3"] {
        let id = instance(&env, order).await;
        has(&env, id, "command_sent charge #2").await;
        early.push(id);
    }
    // Back, it works through its backlog: attempt 1 first. Its decline of
    // attempt 1 is the answer; so are its yeses.
    let p = participant(&env, &queue, &db, &[]);
    settled(&env, "d-1", &["compensated"]).await;
    for order in ["l-1", "l-2", "l-3"] {
        settled(&env, order, &["completed"]).await;
    }

    // Killed while it has work, restarted answering everything twice.
    stop(p);
    let mut p = participant(&env, &queue, &db, &[("CHAOS_DELAY", "0.3")]);
    let batch: Vec<String> = (1..=30).map(|i| format!("b-{i}")).collect();
    for order in &batch {
        start_saga(&env, order, json!({ "amount": 10 })).await;
    }
    let mut ids = Vec::new();
    for order in &batch {
        ids.push(instance(&env, order).await.to_string());
    }
    let charged_of_batch = |db: &Path| charges(db).keys().filter(|k| ids.contains(k)).count();
    wait_for("some of the batch charged", || async {
        (charged_of_batch(&db) >= 3).then_some(())
    })
    .await;
    p.kill().unwrap();
    p.wait().unwrap();
    let at_kill = charged_of_batch(&db);
    assert!(
        (1..batch.len()).contains(&at_kill),
        "killed mid-batch: {at_kill} of {} charged",
        batch.len()
    );
    let p = participant(&env, &queue, &db, &[("CHAOS_TWICE", "1")]);
    for order in &batch {
        settled(&env, order, &["completed"]).await;
    }
    stop(p);

    // Late: each answer comes after the step's time-out sent attempt 2.
    let p = participant(
        &env,
        &queue,
        &db,
        &[("CHAOS_DELAY", "1.5"), ("CHAOS_TWICE", "1")],
    );
    let mut late = Vec::new();
    for order in ["late-1", "late-2"] {
        start_saga(&env, order, json!({ "amount": 10 })).await;
    }
    for order in ["late-1", "late-2"] {
        settled(&env, order, &["completed"]).await;
        late.push(instance(&env, order).await);
    }
    // Every answer it still owes is recorded before it stops.
    let mut owed = Vec::new();
    for id in &late {
        owed.push(
            wait_for("the late saga's extra answers", || async {
                let i = ignored(&env.pool, *id).await;
                (i.len() >= 2).then_some(i)
            })
            .await,
        );
    }
    stop(p);
    stop_workers(workers).await;

    // Each effect once: one charge per completed saga, none for the decline,
    // no refund anywhere.
    let made = charges(&db);
    let completed: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM saga_instances WHERE state = 'completed' ORDER BY correlation",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(completed.len(), 3 + 30 + 2);
    for id in &completed {
        assert_eq!(made.get(&id.to_string()), Some(&1), "{id}: {made:?}");
        assert_eq!(effects_of(&env.pool, *id).await, ["do a", "do c"]);
    }
    assert_eq!(
        made.len(),
        completed.len(),
        "no charge for the declined order"
    );
    assert_eq!(payments(&db, "SELECT count(*) FROM refunds"), [json!([0])]);
    assert_eq!(effects_of(&env.pool, declined).await, ["do a", "undo a"]);

    // The decline of attempt 1 was the answer; its answers to the later
    // attempts came after the saga decided: stale.
    let story = timeline(&env.pool, declined).await;
    assert!(
        story.iter().any(|e| e.starts_with("step_failed charge")),
        "{story:?}"
    );
    let d = ignored(&env.pool, declined).await;
    assert!(!d.is_empty() && d.iter().all(|r| r == "stale"), "{d:?}");
    // The yes to attempt 1 was the answer while attempt 2 was awaited.
    for id in early.iter().chain(&late) {
        let story = timeline(&env.pool, *id).await;
        let second = story.iter().position(|e| e == "command_sent charge #2");
        let done = story.iter().position(|e| e.starts_with("step_done charge"));
        assert!(second.is_some() && second < done, "{id}: {story:?}");
    }
    // Replies twice and late: the copies recorded as duplicates.
    for reasons in &owed {
        assert!(reasons.iter().all(|r| r == "duplicate"), "{reasons:?}");
    }
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM saga_events WHERE kind = 'ignored_reply' \
         AND detail->>'ignored' = 'duplicate' AND saga_id = ANY($1::uuid[])",
    )
    .bind(
        ids.iter()
            .map(|i| i.parse::<Uuid>().unwrap())
            .collect::<Vec<_>>(),
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let answered_twice = (batch.len() - at_kill) as i64;
    assert!(
        twice >= answered_twice,
        "copies of the batch's replies ignored: {twice} (at least {answered_twice})"
    );
    let dlq = format!("{}.sagas.dlq", env.id);
    assert_eq!(env.depth(&dlq).await, 0, "no reply was undecodable");
}
