//! `outboxctl bench`: a short run of every scenario keeps the command working.
//! These check that each completes and that its counts add up — never timings.

use serde_json::Value;
use sqlx::PgPool;

use crate::support::*;

fn bench(env: &TestEnv, args: &[&str]) -> Value {
    let out = run(env.cmd().arg("bench").args(args).args(["-o", "json"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "bench {args:?}: {}",
        stderr(&out)
    );
    serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("bench {args:?} printed no JSON ({e}): {}", stdout(&out)))
}

fn figure(report: &Value, name: &str) -> f64 {
    report["figures"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no figure {name:?} in {report}"))
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn every_bench_scenario_runs_and_its_counts_add_up(pool: PgPool) {
    let env = TestEnv::new(pool, &["#"]);
    let bench_dbs = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'outbox_bench_%'",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    let before = bench_dbs().await;

    let drain = bench(
        &env,
        &["drain", "--events", "300", "--queue-type", "classic"],
    );
    assert_eq!(drain["problems"], serde_json::json!([]));
    assert_eq!(figure(&drain, "messages delivered"), 300.0);
    assert!(figure(&drain, "relay drain (events/s)") > 0.0);
    assert!(figure(&drain, "raw publish before the relay (msg/s)") > 0.0);
    assert!(figure(&drain, "raw publish after the relay (msg/s)") > 0.0);
    assert!(figure(&drain, "relay peak RSS (MiB)") > 0.0);
    assert!(drain["machine"]["cores"].as_str().is_some());

    let e2e = bench(&env, &["e2e", "--rate", "100", "--duration", "2s"]);
    assert_eq!(figure(&e2e, "events committed"), 200.0);
    assert_eq!(figure(&e2e, "events consumed"), 200.0);
    assert_eq!(figure(&e2e, "lost"), 0.0);
    assert_eq!(figure(&e2e, "processed twice"), 0.0);
    assert!(figure(&e2e, "latency max (ms)") >= figure(&e2e, "latency p50 (ms)"));
    // Where the CPU went while producing: the relayer and the consumer and
    // their backends worked, and the parts add up to no more than the
    // machine was busy (clock ticks of 10 ms round each part).
    let busy = e2e["figures"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("cores: machine busy (of "))
        .and_then(|(_, v)| v.as_f64())
        .expect("a machine busy figure");
    let parts = [
        "cores: producer (this process + its PostgreSQL)",
        "cores: relay + consume processes",
        "cores: their PostgreSQL backends",
        "cores: RabbitMQ",
    ]
    .map(|name| figure(&e2e, name));
    assert!(parts[1] > 0.0 && parts[2] > 0.0, "{parts:?}");
    assert!(
        parts.iter().sum::<f64>() <= busy + 0.1,
        "{parts:?} add up to more than the machine's {busy}"
    );

    // The latency curve: each rate its own events, none lost or doubled
    // (a problem, and exit 1, otherwise), and a headline.
    let curve = bench(&env, &["e2e", "--rates", "50,100", "--duration", "1s"]);
    assert_eq!(curve["problems"], serde_json::json!([]));
    for rate in ["50/s", "100/s"] {
        assert_eq!(figure(&curve, &format!("{rate}: lost")), 0.0);
        assert_eq!(figure(&curve, &format!("{rate}: processed twice")), 0.0);
        assert!(figure(&curve, &format!("{rate}: achieved (events/s)")) > 0.0);
    }
    // The headline is the highest rate held with every lower one held too.
    let held = |rate: f64| {
        figure(&curve, &format!("{rate}/s: achieved (events/s)")) >= 0.95 * rate
            && figure(&curve, &format!("{rate}/s: p99 (ms)")) <= 50.0
    };
    let expected = match (held(50.0), held(100.0)) {
        (false, _) => 0.0,
        (true, false) => 50.0,
        (true, true) => 100.0,
    };
    assert_eq!(
        figure(&curve, "highest rate with p99 ≤ 50 ms (events/s)"),
        expected,
        "{curve}"
    );

    // start: every run's row published once; each figure measured.
    let start = bench(&env, &["start", "--events", "2"]);
    assert_eq!(start["problems"], serde_json::json!([]));
    for f in [
        "outboxctl --version, median (ms)",
        "relay --once, nothing to do: median (ms)",
        "relay to its first publish: median (ms)",
    ] {
        assert!(figure(&start, f) > 0.0, "{f}: {start}");
    }

    // soak: every row relayed once (else a problem), a claim time and a size
    // for each tenth of the run.
    let soak = bench(&env, &["soak", "--events", "50000"]);
    assert_eq!(soak["problems"], serde_json::json!([]), "{soak}");
    let (mut batches, mut worst) = (0.0, 0.0_f64);
    for tenth in (5..=50).step_by(5) {
        let f = format!("table + indexes at {tenth}k (MiB)");
        assert!(figure(&soak, &f) > 0.0, "{f}: {soak}");
        // A tenth passed between two looks has no batches of its own.
        batches += figure(&soak, &format!("batches up to {tenth}k"));
        worst = worst.max(figure(
            &soak,
            &format!("claim p99, batches up to {tenth}k (ms)"),
        ));
    }
    assert!(batches > 0.0 && worst > 0.0, "{soak}");
    assert!(
        figure(&soak, "relayer CPU s per 100k events") > 0.0,
        "{soak}"
    );

    // ops: more than one batch and one round, every row and message changed
    // (checked by the scenario: a problem otherwise).
    let ops = bench(&env, &["ops", "--events", "2500"]);
    assert_eq!(ops["problems"], serde_json::json!([]));
    for f in [
        "outbox replay, batched (rows/s)",
        "outbox requeue, batched (rows/s)",
        "dlq replay --all (msg/s)",
        "dlq replay peak RSS (MiB)",
    ] {
        assert!(figure(&ops, f) > 0.0, "{f}: {ops}");
    }

    let api = bench(&env, &["api", "--concurrency", "2", "--duration", "1s"]);
    assert_eq!(api["problems"], serde_json::json!([]));
    assert_eq!(figure(&api, "api failed requests"), 0.0);
    assert!(figure(&api, "api (requests/s)") > 0.0);
    assert!(figure(&api, "sql baseline (transactions/s)") > 0.0);

    let consume = bench(&env, &["consume", "--events", "200", "--concurrency", "2"]);
    assert_eq!(consume["problems"], serde_json::json!([]));
    assert_eq!(figure(&consume, "uploads processed"), 200.0);
    assert!(figure(&consume, "consumer (messages/s)") > 0.0);

    let statement = bench(&env, &["consume", "--handler", "sql", "--events", "200"]);
    assert_eq!(statement["problems"], serde_json::json!([]));
    assert_eq!(figure(&statement, "effects"), 200.0);
    assert_eq!(figure(&statement, "effects done twice"), 0.0);
    assert!(figure(&statement, "consumer / db transactions") > 0.0);

    let hook = bench(&env, &["consume", "--handler", "http", "--events", "200"]);
    assert_eq!(hook["problems"], serde_json::json!([]));
    assert_eq!(figure(&hook, "messages received"), 200.0);
    assert!(figure(&hook, "consumer / raw POSTs") > 0.0);

    let sagas = bench(&env, &["saga", "--events", "50"]);
    assert_eq!(sagas["problems"], serde_json::json!([]));
    // 50 in a backlog and 10 paced, three steps each.
    assert_eq!(figure(&sagas, "step effects"), 180.0);
    assert!(figure(&sagas, "sagas completed (sagas/s)") > 0.0);
    assert!(figure(&sagas, "plain messages (messages/s)") > 0.0);

    // Every run cleaned up after itself.
    assert_eq!(
        bench_dbs().await,
        before,
        "a benchmark database was left behind"
    );
}
