//! `outboxctl doctor` against the real servers: what it finds when the
//! setup is clean, and each fault planted for it to find.

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::*;

fn doctor(env: &TestEnv) -> (Option<i32>, Vec<Value>) {
    let out = run(env
        .cmd()
        .args(["doctor", "--long-after", "1s", "-o", "json"]));
    let findings = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), findings)
}

/// The findings that are not `ok`, as (check, target, verdict).
fn flagged(findings: &[Value]) -> Vec<(String, String, String)> {
    findings
        .iter()
        .filter(|f| f["verdict"] != "ok")
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("check"), s("target"), s("verdict"))
        })
        .collect()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn doctor_names_what_hurts_the_pipeline_and_nothing_on_a_clean_setup(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["order.#"]);
    // Classic: a max-length policy drops the oldest messages there
    // (RabbitMQ's default overflow), as the lossy setup did.
    env.config.broker.queue_type = outboxctl::config::QueueType::Classic;
    env.apply_topology().await;
    let queue = env.queue();
    let mut consume = spawn(env.cmd().arg("consume"));
    let broker = env.config.broker.clone();
    wait_for("the consumer on the queue", || {
        let (broker, queue) = (broker.clone(), queue.clone());
        async move {
            let info = outboxctl::broker::management::queue_info(&broker, &queue)
                .await
                .ok()??;
            (info.consumers == 1).then_some(())
        }
    })
    .await;

    // Clean: what is flagged is only what this server really has set for
    // all its databases (this machine's PostgreSQL runs with autovacuum off
    // and no idle-in-transaction time-out), or a busy moment of the suite.
    let server_wide = |check: &str, target: &str| {
        matches!(
            (check, target),
            ("autovacuum", "server") | ("connections", "server")
        ) || check == "timeouts"
    };
    let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let (code, findings) = doctor(&env);
    let clean = flagged(&findings);
    for (check, target, verdict) in &clean {
        assert!(
            server_wide(check, target),
            "flagged on a clean setup: {check} {target} {verdict}\n{findings:#?}"
        );
    }
    assert_eq!(
        clean
            .iter()
            .any(|(c, t, _)| c == "autovacuum" && t == "server"),
        autovacuum == "off",
        "{clean:?}"
    );
    let acting = clean.iter().any(|(_, _, v)| v == "action");
    assert_eq!(code, Some(if acting { 1 } else { 0 }), "{findings:#?}");
    assert!(
        findings.iter().any(|f| f["check"] == "queue"
            && f["target"] == queue.as_str()
            && f["verdict"] == "ok"),
        "{findings:#?}"
    );

    // Planted: autovacuum off on the outbox table, a transaction left open
    // (it holds the horizon), a drop-head max-length policy on the work
    // queue, and nobody consuming it.
    sqlx::query("ALTER TABLE outbox SET (autovacuum_enabled = false)")
        .execute(&env.pool)
        .await
        .unwrap();
    let mut open = env.pool.begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *open)
        .await
        .unwrap();
    sqlx::query("SELECT txid_current()")
        .execute(&mut *open)
        .await
        .unwrap();
    let management = Management::new();
    let policy = format!("{}-lossy", env.id);
    management
        .set_policy(&policy, &format!("^{queue}$"), json!({ "max-length": 100 }))
        .await;
    terminate(&consume);
    wait_exit(&mut consume).await;
    wait_for("the policy on the queue and no consumer", || {
        let (broker, queue) = (broker.clone(), queue.clone());
        async move {
            let info = outboxctl::broker::management::queue_info(&broker, &queue)
                .await
                .ok()??;
            (info.setting("max-length").is_some() && info.consumers == 0).then_some(())
        }
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (code, findings) = doctor(&env);
    management.clear_policy(&policy).await;
    open.rollback().await.unwrap();

    let find = |check: &str, target: &str| {
        findings
            .iter()
            .find(|f| f["check"] == check && f["target"].as_str().unwrap().contains(target))
            .unwrap_or_else(|| panic!("no {check} finding on {target}:\n{findings:#?}"))
    };
    let table = find("autovacuum", "table outbox");
    assert_eq!(table["verdict"], "action");
    assert!(
        table["fix"]
            .as_str()
            .unwrap()
            .contains("ALTER TABLE outbox RESET (autovacuum_enabled)"),
        "{table}"
    );
    let held = find("xmin horizon", &format!("pid {pid}"));
    assert_eq!(held["verdict"], "action");
    assert!(
        held["evidence"]
            .as_str()
            .unwrap()
            .contains("idle in transaction")
            && held["fix"]
                .as_str()
                .unwrap()
                .contains(&format!("pg_terminate_backend({pid})")),
        "{held}"
    );
    let lossy = find("lossy limit", &queue);
    assert!(
        lossy["evidence"]
            .as_str()
            .unwrap()
            .contains("max-length 100 with overflow drop-head")
            && lossy["evidence"]
                .as_str()
                .unwrap()
                .contains(&format!("policy {policy}"))
            && lossy["fix"].as_str().unwrap().contains("reject-publish"),
        "{lossy}"
    );
    let idle = find("consumers", &queue);
    assert_eq!(idle["verdict"], "action");
    assert!(
        idle["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("outboxctl consume --queue {queue}")),
        "{idle}"
    );
    assert_eq!(code, Some(1));
}
