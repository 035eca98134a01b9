//! Sagas where operators, participants and deploys get in the way: an abort
//! racing a step still being retried, replies to older attempts, a renamed
//! step meeting instances in flight, a deadline passing unnoticed, and what
//! an abort and a time-out send.

use std::time::Duration;

use outboxctl::config::{Renamed, SagaConfig, StepConfig};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::observability::{parse_exposition, scrape, total};
use crate::sagas::{
    effects_of, ignored, saga_env, saga_env_with, send_reply, settled, start_saga, start_workers,
    stop_workers, three_steps, timeline,
};
use crate::support::*;

/// `orders`: a → x → c, where x is served outside (its command `ext.x` goes
/// to `<id>.extra`, which nothing consumes: the test answers for it).
/// `with_b` puts b (undone by undo.b) between a and x.
fn outside_step(timeout: Duration, retries: u32, with_b: bool) -> SagaConfig {
    let mut saga = three_steps(timeout, retries);
    let x = StepConfig {
        name: "x".into(),
        command: "ext.x".into(),
        compensation: None,
        timeout,
        retries,
    };
    if with_b {
        saga.steps.insert(2, x);
    } else {
        saga.steps[1] = x;
    }
    saga
}

/// The instance of an order once its timeline has `entry` (`command_sent x #2`).
async fn at(env: &TestEnv, order: &str, entry: &str) -> Uuid {
    let id = settled(
        env,
        order,
        &["running", "compensating", "completed", "compensated"],
    )
    .await;
    wait_for(&format!("{order}: {entry}"), || async {
        timeline(&env.pool, id)
            .await
            .iter()
            .any(|e| e == entry)
            .then_some(id)
    })
    .await
}

/// A reply as an outside participant sends it.
async fn reply(env: &TestEnv, saga_id: Uuid, step: &str, attempt: u32, ok: bool) {
    let mut body =
        json!({ "saga_id": saga_id, "step": step, "phase": "step", "attempt": attempt, "ok": ok });
    if !ok {
        body["reason"] = json!("declined");
    }
    send_reply(env, &body).await;
}

async fn ignored_n(pool: &PgPool, id: Uuid, n: usize) -> Vec<String> {
    wait_for(&format!("{n} ignored replies of {id}"), || async {
        let got = ignored(pool, id).await;
        (got.len() >= n).then_some(got)
    })
    .await
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_abort_while_a_step_is_retried_keeps_its_effect_from_landing_after(pool: PgPool) {
    let mut saga = three_steps(Duration::from_secs(60), 0);
    saga.steps[1].name = "charge".into();
    saga.steps[1].command = "step.charge".into();
    saga.steps[1].compensation = Some("undo.charge".into());
    let mut env = saga_env(pool, saga).await;
    // A failing handler is retried (not dead-lettered) for as long as the
    // test needs.
    env.config.consumer.max_attempts = 1000;
    // The charge's handler fails with a serialization failure (retried)
    // while `flaky` names it; every failed try takes a number from `tries`
    // (a sequence: it counts tries that rolled back).
    for ddl in [
        "CREATE TABLE flaky (step text PRIMARY KEY)",
        "CREATE SEQUENCE tries",
        r#"CREATE OR REPLACE FUNCTION do_step(cmd jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
           BEGIN
             IF EXISTS (SELECT 1 FROM flaky WHERE step = cmd->>'step') THEN
               PERFORM nextval('tries');
               RAISE EXCEPTION 'step % busy', cmd->>'step' USING ERRCODE = '40001';
             END IF;
             IF cmd->'input'->>'fail_at' = cmd->>'step' THEN
               RAISE EXCEPTION 'step % refused', cmd->>'step' USING ERRCODE = 'check_violation';
             END IF;
             INSERT INTO effects (saga_id, kind, step) VALUES ((cmd->>'saga_id')::uuid, 'do', cmd->>'step');
             RETURN jsonb_build_object('payment_id', 'pay-' || (cmd->'input'->>'order'));
           END $$"#,
        "INSERT INTO flaky VALUES ('charge')",
    ] {
        sqlx::query(ddl).execute(&env.pool).await.unwrap();
    }
    let workers = start_workers(&env);
    start_saga(&env, "106", json!({})).await;
    // A charge refused for good is dead-lettered, and its saga compensated.
    start_saga(&env, "107", json!({ "fail_at": "charge" })).await;
    let tries = || async {
        sqlx::query_scalar::<_, Option<i64>>("SELECT last_value FROM tries WHERE is_called")
            .fetch_optional(&env.pool)
            .await
            .unwrap()
            .flatten()
            .unwrap_or(0)
    };
    wait_progress(3, tries)
        .await
        .expect("the charge is being retried");
    let id = settled(&env, "106", &["running"]).await;
    let abort = run(env.cmd().args(["saga", "abort", &id.to_string()]));
    assert!(abort.status.success(), "{}", stderr(&abort));
    let tried_by_abort = tries().await;
    // The charge would go through now.
    sqlx::query("DELETE FROM flaky")
        .execute(&env.pool)
        .await
        .unwrap();
    settled(&env, "106", &["compensated"]).await;
    // The charge's next delivery meets a saga that has moved on.
    let charge: Uuid = sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE headers->>'x-saga-id' = $1 \
         AND headers->>'x-saga-step' = 'charge' AND headers->>'x-saga-phase' = 'step'",
    )
    .bind(id.to_string())
    .fetch_one(&env.pool)
    .await
    .unwrap();
    wait_for("the charge's delivery after the abort handled", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM consumed_messages WHERE message_id = $1")
            .bind(charge)
            .fetch_one(&env.pool)
            .await
            .unwrap()
            .eq(&1)
            .then_some(())
    })
    .await;
    let gone = settled(&env, "107", &["compensated"]).await;
    let steps_queue = env.queue();
    wait_for("the steps' queue drained", || async {
        (env.depth(&steps_queue).await == 0).then_some(())
    })
    .await;
    stop_workers(workers).await;

    assert!(
        tried_by_abort >= 3,
        "the abort came while the charge was failing"
    );
    assert_eq!(
        effects_of(&env.pool, id).await,
        ["do a", "undo charge", "undo a"],
        "the charge never lands after the abort; its refund (a no-op for a charge never made) \
         and the release do"
    );
    // Fenced: on the timeline, after the abort.
    let story = timeline(&env.pool, id).await;
    let aborted = story.iter().position(|e| e == "aborted");
    let stale = story.iter().position(|e| e == "stale_command charge #1");
    assert!(aborted.is_some() && aborted < stale, "{story:?}");

    // The charge's command row: `outbox why` says the saga moved on, and
    // `outbox replay` refuses it without --force.
    let row: i64 = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE headers->>'x-saga-id' = $1 AND headers->>'x-saga-step' = 'charge' \
         AND headers->>'x-saga-phase' = 'step'",
    )
    .bind(id.to_string())
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let why = run(env.cmd().args(["outbox", "why", &row.to_string()]));
    let says = stdout(&why) + &stderr(&why);
    assert!(says.contains("moved on"), "{says}");
    assert!(!says.contains("dlq replay"), "{says}");
    let replay = run(env
        .cmd()
        .args(["outbox", "replay", &row.to_string(), "--yes"]));
    assert_eq!(replay.status.code(), Some(2), "{}", stdout(&replay));
    assert!(stderr(&replay).contains("moved on"), "{}", stderr(&replay));
    let replays: i32 = sqlx::query_scalar("SELECT replay_count FROM outbox WHERE id = $1")
        .bind(row)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(replays, 0, "a refused replay changes nothing");

    // The dead charge of 107: `dlq show` says its saga moved on, `dlq
    // replay` refuses it, `--all` leaves it where it is.
    let dead: i64 = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE headers->>'x-saga-id' = $1 AND headers->>'x-saga-step' = 'charge'",
    )
    .bind(gone.to_string())
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let show = run(env.cmd().args(["dlq", "show", &dead.to_string()]));
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(stdout(&show).contains("moved on"), "{}", stdout(&show));
    let replay = run(env.cmd().args(["dlq", "replay", &dead.to_string()]));
    assert_eq!(replay.status.code(), Some(2), "{}", stdout(&replay));
    assert!(stderr(&replay).contains("moved on"), "{}", stderr(&replay));
    let all = run(env
        .cmd()
        .args(["dlq", "replay", "--all", "--yes", "-o", "json"]));
    assert!(all.status.success(), "{}", stderr(&all));
    let report: Value = serde_json::from_str(stdout(&all).trim()).unwrap();
    assert_eq!(report["count"], 0, "{report}");
    assert_eq!(report["queues"][0]["kept"], 1, "{report}");
    let dlq = format!("{steps_queue}.dlq");
    assert_eq!(env.depth(&dlq).await, 1, "the dead charge stays dead");
    assert_eq!(effects_of(&env.pool, gone).await, ["do a", "undo a"]);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_reply_to_any_attempt_of_the_awaited_step_is_its_answer_and_a_later_one_is_recorded(
    pool: PgPool,
) {
    let env = saga_env_with(
        pool,
        outside_step(Duration::from_millis(700), 50, false),
        &["ext.*"],
    )
    .await;
    let workers = start_workers(&env);
    start_saga(&env, "late-ok", json!({})).await;
    start_saga(&env, "late-no", json!({})).await;
    // The participant was away: attempt 2 is out when its backlog answers
    // attempt 1 — yes for one order, no for the other.
    let ok = at(&env, "late-ok", "command_sent x #2").await;
    let no = at(&env, "late-no", "command_sent x #2").await;
    reply(&env, ok, "x", 1, true).await;
    reply(&env, no, "x", 1, false).await;
    settled(&env, "late-ok", &["completed"]).await;
    settled(&env, "late-no", &["compensated"]).await;
    // Its answers to attempt 2 come after the saga decided: recorded with
    // why, and ignored; so is a reply for a step the saga does not have.
    reply(&env, ok, "x", 2, true).await;
    reply(&env, no, "x", 2, true).await;
    reply(&env, ok, "pay", 1, true).await;
    let ok_ignored = ignored_n(&env.pool, ok, 2).await;
    let no_ignored = ignored_n(&env.pool, no, 1).await;
    stop_workers(workers).await;

    assert_eq!(ok_ignored, ["duplicate", "unknown step"]);
    assert_eq!(no_ignored, ["stale"]);
    assert_eq!(effects_of(&env.pool, ok).await, ["do a", "do c"]);
    assert_eq!(
        effects_of(&env.pool, no).await,
        ["do a", "undo a"],
        "a decline of an older attempt is the answer: x is not undone, a is"
    );
    let story = timeline(&env.pool, no).await;
    assert!(
        story.iter().any(|e| e.starts_with("step_failed x")),
        "{story:?}"
    );
    let reason: String = sqlx::query_scalar("SELECT reason FROM saga_instances WHERE id = $1")
        .bind(no)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(reason.contains("declined"), "{reason}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_renamed_step_strands_waiting_instances_until_mapped_then_they_finish(pool: PgPool) {
    let env = saga_env_with(
        pool,
        outside_step(Duration::from_secs(60), 0, false),
        &["ext.*"],
    )
    .await;
    let relay = RunningRelay::start(&env.config);
    let steps = RunningConsumer::start(
        &env.config,
        outboxctl::flow::handlers::Handlers::for_queue(&env.config, &env.queue()).unwrap(),
    );
    // The definition running: recorded by `saga run` when it starts.
    let mut orchestrator = spawn(env.cmd().args(["saga", "run"]));
    let mut ids = Vec::new();
    for order in ["p-1", "p-2", "p-3"] {
        start_saga(&env, order, json!({})).await;
    }
    for order in ["p-1", "p-2", "p-3"] {
        ids.push(at(&env, order, "command_sent x #1").await);
    }
    terminate(&orchestrator);
    wait_exit(&mut orchestrator).await;

    // The next release calls step x "verify".
    let mut renamed = env.config.clone();
    renamed.sagas[0].steps[1].name = "verify".into();
    let plan = run(env.cmd_with(&renamed).args(["saga", "plan"]));
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    let said = stdout(&plan);
    for id in &ids {
        assert!(said.contains(&id.to_string()), "{id} not named:\n{said}");
    }
    assert!(
        said.contains("[[sagas.renamed]] from = \"x\", to = \"verify\""),
        "{said}"
    );
    let json = run(env.cmd_with(&renamed).args(["saga", "plan", "-o", "json"]));
    let report: Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(report["safe"], false);
    assert_eq!(
        report["sagas"][0]["findings"][0]["instances"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // (Spawned: were it to start, it would run until stopped.)
    let mut refused = spawn(env.cmd_with(&renamed).args(["saga", "run"]));
    let status = wait_exit(&mut refused).await;
    let why = refused.log();
    assert_eq!(status.code(), Some(2), "{why}");
    assert!(
        why.contains("strand") && why.contains(&ids[0].to_string()),
        "{why}"
    );
    assert!(why.contains("saga plan"), "{why}");

    // Mapped, the plan passes and the orchestrator starts.
    renamed.sagas[0].renamed.push(Renamed {
        from: "x".into(),
        to: "verify".into(),
    });
    let plan = run(env.cmd_with(&renamed).args(["saga", "plan"]));
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    let mut orchestrator = spawn(env.cmd_with(&renamed).args(["saga", "run"]));
    // The outside service answers under the name its command carried, or
    // already under the new one.
    reply(&env, ids[0], "x", 1, true).await;
    reply(&env, ids[1], "verify", 1, true).await;
    reply(&env, ids[2], "x", 1, false).await;
    settled(&env, "p-1", &["completed"]).await;
    settled(&env, "p-2", &["completed"]).await;
    settled(&env, "p-3", &["compensated"]).await;
    terminate(&orchestrator);
    wait_exit(&mut orchestrator).await;
    steps.stop().await;
    relay.stop().await;

    let version = renamed.sagas[0].version();
    let rows: Vec<(Uuid, Option<String>, Value)> =
        sqlx::query_as("SELECT id, version, outputs FROM saga_instances ORDER BY correlation")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    for (id, v, outputs) in &rows {
        assert_eq!(
            v.as_deref(),
            Some(version.as_str()),
            "{id} runs under the new definition"
        );
        if *id != ids[2] {
            assert!(outputs.get("verify").is_some(), "{id}: {outputs}");
            assert_eq!(effects_of(&env.pool, *id).await, ["do a", "do c"]);
        }
    }
    assert_eq!(effects_of(&env.pool, ids[2]).await, ["do a", "undo a"]);
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_definitions")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 2, "the first definition and the mapped one");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_saga_past_its_deadline_shows_overdue_then_compensates(pool: PgPool) {
    let mut saga = outside_step(Duration::from_secs(120), 0, false);
    saga.deadline = Duration::from_secs(4);
    let env = saga_env_with(pool, saga, &["ext.*"]).await;
    let relay = RunningRelay::start(&env.config);
    let steps = RunningConsumer::start(
        &env.config,
        outboxctl::flow::handlers::Handlers::for_queue(&env.config, &env.queue()).unwrap(),
    );
    let mut orchestrator = spawn(
        env.cmd()
            // The bound address is logged at info.
            .args([
                "saga",
                "run",
                "--metrics-listen",
                "127.0.0.1:0",
                "--log-level",
                "info",
            ]),
    );
    let port = bound(&mut orchestrator, "metrics at /metrics").await;
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    start_saga(&env, "late", json!({})).await;
    let id = at(&env, "late", "command_sent x #1").await;
    // Nothing publishes the time-out due at the deadline.
    relay.stop().await;
    let overdue = || async {
        let samples = parse_exposition(&scrape(&metrics).await);
        total(
            &samples,
            "outbox_sagas_overdue",
            &[("saga", "orders"), ("state", "running")],
        ) as i64
    };
    wait_progress(1, overdue)
        .await
        .expect("the overdue gauge shows the saga past its deadline");
    let state: String = sqlx::query_scalar("SELECT state FROM saga_instances WHERE id = $1")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(state, "running", "overdue, not yet compensated");
    let relay = RunningRelay::start(&env.config);
    settled(&env, "late", &["compensated"]).await;
    wait_for("the overdue gauge back to 0", || async {
        (overdue().await == 0).then_some(())
    })
    .await;
    terminate(&orchestrator);
    wait_exit(&mut orchestrator).await;
    steps.stop().await;
    relay.stop().await;

    assert_eq!(effects_of(&env.pool, id).await, ["do a", "undo a"]);
    let reason: String = sqlx::query_scalar("SELECT reason FROM saga_instances WHERE id = $1")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(reason.contains("deadline"), "{reason}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn an_abort_undoes_the_done_steps_in_reverse_and_a_resent_command_is_one_row(pool: PgPool) {
    // x is undone by ext.x-undo, which the test answers too.
    let mut saga = outside_step(Duration::from_millis(400), 1000, true);
    saga.steps[2].compensation = Some("ext.x-undo".into());
    let env = saga_env_with(pool, saga, &["ext.*"]).await;
    let workers = start_workers(&env);
    start_saga(&env, "r-1", json!({})).await;
    let id = at(&env, "r-1", "timed_out x #3").await;
    // Time-outs and their re-sends, read in one statement: each re-send is
    // the time-out's transaction, so they agree at any instant.
    let (rows, replays, timeouts): (i64, Option<i32>, i64) = sqlx::query_as(
        r#"SELECT (SELECT count(*) FROM outbox WHERE headers->>'x-saga-id' = $1
                     AND headers->>'x-saga-step' = 'x' AND headers->>'x-saga-phase' = 'step'),
                  (SELECT max(replay_count) FROM outbox WHERE headers->>'x-saga-id' = $1
                     AND headers->>'x-saga-step' = 'x' AND headers->>'x-saga-phase' = 'step'),
                  (SELECT count(*) FROM saga_events WHERE saga_id = $1::uuid AND kind = 'timed_out')"#,
    )
    .bind(id.to_string())
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(rows, 1, "one outbox row for every attempt of x");
    assert_eq!(replays, Some(timeouts as i32), "re-sent once per time-out");
    assert!(timeouts >= 3);

    let abort = run(env.cmd().args(["saga", "abort", "orders:r-1"]));
    assert!(abort.status.success(), "{}", stderr(&abort));
    // x went out (three times at least): its effect may have happened, so
    // it is undone first — even if its latest re-send was withdrawn unsent.
    at(&env, "r-1", "compensation_sent x #1").await;
    send_reply(
        &env,
        &json!({ "saga_id": id, "step": "x", "phase": "compensation", "ok": true }),
    )
    .await;
    settled(&env, "r-1", &["compensated"]).await;
    let extra = format!("{}.extra", env.id);
    let sent = env.take_all(&extra).await;
    stop_workers(workers).await;

    assert_eq!(
        effects_of(&env.pool, id).await,
        ["do a", "do b", "undo b", "undo a"],
        "the steps done, undone latest first (x by the test)"
    );
    let story = timeline(&env.pool, id).await;
    // (x's compensation may time out and go again before the test answers.)
    let order: Vec<Option<usize>> = [
        "compensation_done x",
        "compensation_sent b #1",
        "compensation_sent a #1",
    ]
    .iter()
    .map(|e| story.iter().position(|s| s.starts_with(e)))
    .collect();
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "x, then b, then a undone: {story:?}"
    );
    let detail: Value = sqlx::query_scalar(
        "SELECT detail FROM saga_events WHERE saga_id = $1 AND kind = 'aborted'",
    )
    .bind(id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(detail["command"], "sent", "{detail}");
    // Every delivery of x's command was one message: the time-outs' re-sends
    // went out (but the latest, if the abort withdrew it unsent).
    let commands: Vec<_> = sent
        .iter()
        .filter(|d| d.routing_key.as_str() == "ext.x")
        .collect();
    let ids: std::collections::BTreeSet<_> = commands
        .iter()
        .map(|d| d.properties.message_id().clone())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(
        commands.len() as i64 >= timeouts,
        "{} deliveries",
        commands.len()
    );
}

/// What an abort learns from withdrawing the command of the step in
/// flight: whether any attempt of it went out.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn withdrawing_a_command_tells_whether_any_attempt_of_it_went_out(pool: PgPool) {
    let row = |sent: bool, replays: i32| {
        let pool = pool.clone();
        async move {
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO outbox (message_id, topic, payload, sent_at, replay_count) \
                 VALUES ($1, 'ext.x', '{}', CASE WHEN $2 THEN now() END, $3)",
            )
            .bind(id)
            .bind(sent)
            .bind(replays)
            .execute(&pool)
            .await
            .unwrap();
            id
        }
    };
    let never = row(false, 0).await;
    let resent = row(false, 2).await;
    let out = row(true, 0).await;
    let mut conn = pool.acquire().await.unwrap();
    use outboxctl::store::saga::withdraw;
    assert!(!withdraw(&mut conn, never).await.unwrap(), "never went out");
    assert!(
        withdraw(&mut conn, resent).await.unwrap(),
        "attempts 1 and 2 went out"
    );
    assert!(withdraw(&mut conn, out).await.unwrap(), "out now");
    assert!(
        withdraw(&mut conn, Uuid::new_v4()).await.unwrap(),
        "sent and purged"
    );
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT message_id FROM outbox")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        left,
        [out],
        "the unsent rows are withdrawn; the sent one stays"
    );
}
