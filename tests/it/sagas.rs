//! Sagas against the real servers: steps served by `sql` handlers that
//! reply on their own, compensation in reverse, time-outs as outbox rows,
//! operators steering a stuck instance, and the orchestrator killed at
//! random moments.

use std::time::Duration;

use outboxctl::config::{HandlerConfig, QueueConfig, SagaConfig, StepConfig, UploadsConfig};
use outboxctl::flow::handlers::{Effect, HandlerError, Handlers, Message};
use outboxctl::model::MessageId;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::Server;
use crate::support::*;

/// One saga, `orders`: a → b → c, a and b undone by undo.a and undo.b.
pub(crate) fn three_steps(timeout: Duration, retries: u32) -> SagaConfig {
    let step = |name: &str, command: &str, undo: Option<&str>| StepConfig {
        name: name.into(),
        command: command.into(),
        compensation: undo.map(str::to_string),
        timeout,
        retries,
    };
    SagaConfig {
        name: "orders".into(),
        start: "order.placed".into(),
        correlate: "order".into(),
        deadline: Duration::from_secs(300),
        steps: vec![
            step("a", "step.a", Some("undo.a")),
            step("b", "step.b", Some("undo.b")),
            step("c", "step.c", None),
        ],
        renamed: Vec::new(),
    }
}

pub(crate) fn sql_handler(name: &str, topics: &[&str], statement: &str) -> HandlerConfig {
    HandlerConfig::sql(name, topics, statement)
}

/// The work queue serves the steps; `<id>.sagas` is the orchestrator's.
/// Every effect is a row of `effects` (no key: a double shows). A step
/// fails when the start payload names it in `fail_at`; a compensation fails
/// while `fixed` says false for it.
pub(crate) async fn saga_env(pool: PgPool, saga: SagaConfig) -> TestEnv {
    saga_env_with(pool, saga, &[]).await
}

/// [`saga_env`] with an extra queue `<id>.extra` bound to `extra`, which no
/// consumer reads.
pub(crate) async fn saga_env_with(pool: PgPool, saga: SagaConfig, extra: &[&str]) -> TestEnv {
    let mut env = TestEnv::new(pool, &[]);
    if !extra.is_empty() {
        env.config.broker.queues.push(QueueConfig {
            name: format!("{}.extra", env.id),
            bindings: extra.iter().map(|b| b.to_string()).collect(),
            adopt: false,
        });
    }
    for ddl in [
        "CREATE TABLE effects (id bigint GENERATED ALWAYS AS IDENTITY, saga_id uuid NOT NULL, \
         kind text NOT NULL, step text NOT NULL)",
        "CREATE TABLE broken (step text PRIMARY KEY)",
        r#"CREATE FUNCTION do_step(cmd jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
           BEGIN
             IF cmd->'input'->>'fail_at' = cmd->>'step' THEN
               RAISE EXCEPTION 'step % refused', cmd->>'step' USING ERRCODE = 'check_violation';
             END IF;
             INSERT INTO effects (saga_id, kind, step) VALUES ((cmd->>'saga_id')::uuid, 'do', cmd->>'step');
             RETURN jsonb_build_object('did', cmd->>'step');
           END $$"#,
        r#"CREATE FUNCTION undo_step(cmd jsonb) RETURNS void LANGUAGE plpgsql AS $$
           BEGIN
             IF EXISTS (SELECT 1 FROM broken WHERE step = cmd->>'step') THEN
               RAISE EXCEPTION 'cannot undo %', cmd->>'step';
             END IF;
             INSERT INTO effects (saga_id, kind, step) VALUES ((cmd->>'saga_id')::uuid, 'undo', cmd->>'step');
           END $$"#,
    ] {
        sqlx::query(ddl).execute(&env.pool).await.unwrap();
    }
    let sagas_queue = format!("{}.sagas", env.id);
    env.config.broker.queues.push(QueueConfig {
        name: sagas_queue.clone(),
        bindings: vec![],
        adopt: false,
    });
    env.config.orchestrator.queue = sagas_queue;
    env.config.handlers = vec![
        sql_handler("do", &["step.*"], "SELECT do_step($1)"),
        sql_handler("undo", &["undo.*"], "SELECT undo_step($1)"),
    ];
    env.config.sagas = vec![saga];
    env.apply_topology().await;
    env
}

/// The step handlers and the orchestrator, in this process.
pub(crate) fn start_workers(env: &TestEnv) -> (RunningRelay, RunningConsumer, RunningConsumer) {
    let relay = RunningRelay::start(&env.config);
    let steps = RunningConsumer::start(
        &env.config,
        Handlers::for_queue(&env.config, &env.queue()).unwrap(),
    );
    let orchestrator = RunningConsumer::start_with(
        outboxctl::flow::saga::consumer_settings(&env.config),
        outboxctl::flow::saga::handlers(&env.config),
    );
    (relay, steps, orchestrator)
}

pub(crate) async fn start_saga(env: &TestEnv, order: &str, extra: Value) {
    let mut payload = json!({ "order": order });
    payload
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    env.insert("order.placed", Some(order), payload).await;
}

/// (id, state) of the instance for an order, once it is in one of `states`.
pub(crate) async fn settled(env: &TestEnv, order: &str, states: &[&str]) -> Uuid {
    wait_for(&format!("order {order} to end in {states:?}"), || async {
        let row: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT id, state FROM saga_instances WHERE saga = 'orders' AND correlation = $1",
        )
        .bind(order)
        .fetch_optional(&env.pool)
        .await
        .unwrap();
        row.filter(|(_, s)| states.contains(&s.as_str()))
            .map(|(id, _)| id)
    })
    .await
}

/// The effects of one instance, in the order they committed.
pub(crate) async fn effects_of(pool: &PgPool, id: Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT kind || ' ' || step FROM effects WHERE saga_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap()
}

pub(crate) async fn timeline(pool: &PgPool, id: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT kind || coalesce(' ' || step, '') || coalesce(' #' || attempt, '') \
         FROM saga_events WHERE saga_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A reply to the `orders` saga, as a service sends it: a message id of its
/// own, the body as given.
pub(crate) async fn send_reply(env: &TestEnv, body: &Value) {
    env.publish(RawMessage {
        routing_key: "saga.orders.reply",
        body: body.to_string().as_bytes(),
        message_id: Some(&Uuid::new_v4().to_string()),
        message_type: None,
    })
    .await;
}

/// Why each ignored reply of an instance was ignored, in order.
pub(crate) async fn ignored(pool: &PgPool, id: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT detail->>'ignored' FROM saga_events WHERE saga_id = $1 AND kind = 'ignored_reply' \
         ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

pub(crate) async fn stop_workers(workers: (RunningRelay, RunningConsumer, RunningConsumer)) {
    let (relay, steps, orchestrator) = workers;
    orchestrator.stop().await;
    steps.stop().await;
    relay.stop().await;
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn three_steps_served_by_sql_handlers_complete_each_effect_once(pool: PgPool) {
    let env = saga_env(pool, three_steps(Duration::from_secs(30), 1)).await;
    let workers = start_workers(&env);
    start_saga(&env, "o-1", json!({})).await;
    let id = settled(&env, "o-1", &["completed"]).await;
    stop_workers(workers).await;

    assert_eq!(effects_of(&env.pool, id).await, ["do a", "do b", "do c"]);
    assert_eq!(
        timeline(&env.pool, id).await,
        [
            "started",
            "command_sent a #1",
            "step_done a #1",
            "command_sent b #1",
            "step_done b #1",
            "command_sent c #1",
            "step_done c #1",
            "completed"
        ]
    );
    let outputs: Value = sqlx::query_scalar("SELECT outputs FROM saga_instances WHERE id = $1")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        outputs["b"],
        json!({ "did": "b" }),
        "a step's output is kept"
    );
    // Every timer was cancelled when its reply came first.
    let timers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE topic = 'saga.orders.timeout'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(timers, 0);
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_failing_third_step_undoes_the_second_and_the_first_once_in_reverse(pool: PgPool) {
    let env = saga_env(pool, three_steps(Duration::from_secs(30), 1)).await;
    let workers = start_workers(&env);
    start_saga(&env, "o-2", json!({ "fail_at": "c" })).await;
    let id = settled(&env, "o-2", &["compensated"]).await;
    stop_workers(workers).await;

    assert_eq!(
        effects_of(&env.pool, id).await,
        ["do a", "do b", "undo b", "undo a"]
    );
    let reason: String = sqlx::query_scalar("SELECT reason FROM saga_instances WHERE id = $1")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(
        reason.contains("step c failed") && reason.contains("step c refused"),
        "{reason}"
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_step_with_no_reply_is_sent_again_at_its_time_out_then_compensated(pool: PgPool) {
    let mut saga = three_steps(Duration::from_millis(800), 1);
    // Nobody serves step b: its command goes to a queue no consumer reads.
    saga.steps[1].command = "silent.b".into();
    let env = saga_env_with(pool, saga, &["silent.#"]).await;
    let workers = start_workers(&env);
    start_saga(&env, "o-3", json!({})).await;
    let id = settled(&env, "o-3", &["compensated"]).await;
    stop_workers(workers).await;

    let t = timeline(&env.pool, id).await;
    for expected in [
        "command_sent b #1",
        "timed_out b #1",
        "command_sent b #2",
        "timed_out b #2",
        "compensation_sent b #1",
        "compensation_done b #1",
        "compensation_sent a #1",
        "compensated",
    ] {
        assert!(
            t.iter().any(|e| e == expected),
            "{expected} missing from {t:?}"
        );
    }
    // The unanswered step may have happened: it is undone too, then a.
    assert_eq!(
        effects_of(&env.pool, id).await,
        ["do a", "undo b", "undo a"]
    );
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_compensation_that_keeps_failing_fails_the_saga_until_an_operator_retries(pool: PgPool) {
    let env = saga_env(pool, three_steps(Duration::from_secs(30), 1)).await;
    sqlx::query("INSERT INTO broken VALUES ('a')")
        .execute(&env.pool)
        .await
        .unwrap();
    let workers = start_workers(&env);
    start_saga(&env, "o-4", json!({ "fail_at": "c" })).await;
    let id = settled(&env, "o-4", &["failed"]).await;

    let out = run(env.cmd().args(["saga", "why", &id.to_string()]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let why = stdout(&out);
    for says in [
        "failed",
        "compensation of step a",
        "cannot undo a",
        &format!("outboxctl saga retry {id}"),
    ] {
        assert!(why.contains(says), "{says:?} missing: {why}");
    }
    let t = timeline(&env.pool, id).await;
    assert!(
        t.contains(&"compensation_failed a #1".to_string())
            && t.contains(&"compensation_failed a #2".to_string()),
        "retried once before giving up: {t:?}"
    );

    // The cause is fixed; the operator retries.
    sqlx::query("DELETE FROM broken")
        .execute(&env.pool)
        .await
        .unwrap();
    let out = run(env.cmd().args(["saga", "retry", &id.to_string()]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    settled(&env, "o-4", &["compensated"]).await;
    stop_workers(workers).await;
    assert_eq!(
        effects_of(&env.pool, id).await,
        ["do a", "do b", "undo b", "undo a"]
    );
    let actor: Option<String> =
        sqlx::query_scalar("SELECT actor FROM saga_events WHERE saga_id = $1 AND kind = 'retried'")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(actor.is_some_and(|a| !a.is_empty()));
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_thousand_sagas_end_through_ten_orchestrator_sigkills_with_each_effect_once(
    pool: PgPool,
) {
    const SAGAS: i64 = 1000;
    let env = saga_env(pool, three_steps(Duration::from_secs(10), 2)).await;
    let relay = RunningRelay::start(&env.config);
    let steps = RunningConsumer::start(
        &env.config,
        Handlers::for_queue(&env.config, &env.queue()).unwrap(),
    );
    // Every tenth order fails at c and is compensated.
    sqlx::query(
        r#"INSERT INTO outbox (topic, partition_key, payload)
           SELECT 'order.placed', 'o' || i,
                  jsonb_build_object('order', 'o' || i, 'fail_at', CASE WHEN i % 10 = 0 THEN 'c' END)
           FROM generate_series(1, $1) AS i"#,
    )
    .bind(SAGAS)
    .execute(&env.pool)
    .await
    .unwrap();
    let finished = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM saga_instances WHERE state IN ('completed', 'compensated')",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    let transitions = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM saga_events")
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };
    // A message the orchestrator's inbox took on a redelivery: the killed
    // one had it and had not committed its transition.
    let orchestrator_queue = env.config.orchestrator.queue.clone();
    let redelivered = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM consumed_messages WHERE queue = $1 AND redelivered",
        )
        .bind(&orchestrator_queue)
        .fetch_one(&env.pool)
        .await
        .unwrap()
    };
    let config = env.config.clone();
    let mut kills = 0;
    let mut landed = 0;
    // Kills after which the next orchestrator committed a transition its
    // killed predecessor had open.
    let mut open = 0;
    while kills < 10 {
        let redelivered_before = redelivered().await;
        let mut orchestrator = spawn(env.cmd_with(&config).args(["saga", "run"]));
        // At work: fifty transitions (of about nine per saga) past where
        // the last one was killed.
        let before = transitions().await;
        let at_work = wait_progress(before + 50, transitions).await;
        assert_eq!(
            at_work,
            Ok(()),
            "the orchestrator did not get on with it:\n{}",
            orchestrator.log()
        );
        if kills > 0 && redelivered().await > redelivered_before {
            open += 1;
        }
        let pause = rand::random::<u64>() % 300;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        orchestrator.kill().unwrap();
        orchestrator.wait().unwrap();
        kills += 1;
        if finished().await < SAGAS {
            landed += 1;
        }
    }
    assert_eq!(landed, kills, "a kill came after every saga had ended");
    let redelivered_before = redelivered().await;
    let mut orchestrator = spawn(env.cmd_with(&config).args(["saga", "run"]));
    let ended = wait_progress(SAGAS, finished).await;
    if redelivered().await > redelivered_before {
        open += 1;
    }
    assert!(
        open > 0,
        "no kill hit an open transition (no redelivered message in the orchestrator's inbox)"
    );
    eprintln!("{open} of {kills} kills hit a transition the next orchestrator committed");
    terminate(&orchestrator);
    wait_exit(&mut orchestrator).await;
    steps.stop().await;
    relay.stop().await;
    assert_eq!(ended, Ok(()), "every saga ends in a terminal state");

    let (completed, compensated): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'compensated') \
         FROM saga_instances",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!((completed, compensated), (900, 100));
    // Each instance's effects: exactly its steps, each once.
    let wrong: Vec<(Uuid, String, String)> = sqlx::query_as(
        r#"SELECT i.id, i.state, coalesce(string_agg(e.kind || ' ' || e.step, ', ' ORDER BY e.id), '')
           FROM saga_instances i LEFT JOIN effects e ON e.saga_id = i.id
           GROUP BY i.id, i.state
           HAVING coalesce(string_agg(e.kind || ' ' || e.step, ', ' ORDER BY e.id), '')
                  <> CASE i.state WHEN 'completed' THEN 'do a, do b, do c'
                                  ELSE 'do a, do b, undo b, undo a' END
           LIMIT 5"#,
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert!(wrong.is_empty(), "effects not exactly once: {wrong:?}");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn a_duplicated_reply_is_ignored_and_one_for_an_unknown_saga_dead_lettered(pool: PgPool) {
    let env = saga_env(pool, three_steps(Duration::from_secs(30), 1)).await;
    let workers = start_workers(&env);
    start_saga(&env, "o-6", json!({})).await;
    let id = settled(&env, "o-6", &["completed"]).await;

    // A copy of step a's reply, as a confused service might send it again.
    let copy = json!({ "saga_id": id, "step": "a", "phase": "step", "attempt": 1, "ok": true });
    let stray = json!({ "saga_id": Uuid::new_v4(), "step": "a", "phase": "step", "attempt": 1, "ok": true });
    for body in [&copy, &stray] {
        send_reply(&env, body).await;
    }
    let dlq = format!("{}.sagas.dlq", env.id);
    wait_for("the stray reply dead-lettered", || async {
        (env.depth(&dlq).await == 1).then_some(())
    })
    .await;
    wait_for("the copy ignored", || async {
        timeline(&env.pool, id)
            .await
            .contains(&"ignored_reply".to_string())
            .then_some(())
    })
    .await;
    stop_workers(workers).await;

    let dead = env.take(&dlq, 1).await.remove(0);
    let reason = match dead
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-outbox-death-reason"))
    {
        Some(lapin::types::AMQPValue::LongString(s)) => s.to_string(),
        other => panic!("no reason: {other:?}"),
    };
    assert!(reason.contains("does not exist"), "{reason}");
    assert_eq!(
        effects_of(&env.pool, id).await,
        ["do a", "do b", "do c"],
        "the copy changed nothing"
    );
}

/// A message on one of the `orders` saga's topics, as the orchestrator's
/// consumer hands it over.
fn orchestrated(topic: &str, payload: Value) -> Message {
    Message {
        message_id: MessageId(Uuid::now_v7()),
        topic: topic.into(),
        body: payload.to_string().into_bytes(),
        payload,
        headers: json!({}),
        saga: None,
        attempt: 1,
        redelivered: false,
        partition_key: None,
        traceparent: None,
        created_at_ms: None,
    }
}

/// One delivery batch through the orchestrator, in a transaction of its
/// own; how many messages it applied.
async fn transitions(env: &TestEnv, batch: &[Message]) -> Result<usize, HandlerError> {
    let handlers = outboxctl::flow::saga::handlers(&env.config);
    let Effect::InDatabase(orchestrator) = &handlers.routes()[0].effect else {
        panic!("the orchestrator works in the database");
    };
    assert!(orchestrator.batches());
    let run: Vec<&Message> = batch.iter().collect();
    let mut tx = env.pool.begin().await.unwrap();
    let done = orchestrator.handle_all(&mut tx, &run).await?;
    tx.commit().await.unwrap();
    Ok(done.len())
}

/// (instance id, state, step, outbox row of its timer) of an order.
async fn instance_of(env: &TestEnv, order: &str) -> (Uuid, String, i32, Option<i64>) {
    sqlx::query_as(
        "SELECT id, state, step, timer_id FROM saga_instances \
         WHERE saga = 'orders' AND correlation = $1",
    )
    .bind(order)
    .fetch_one(&env.pool)
    .await
    .unwrap()
}

/// The pending timer rows of an instance: (row, step, attempt).
async fn pending_timers(env: &TestEnv, id: Uuid) -> Vec<(i64, String, i64)> {
    sqlx::query_as(
        "SELECT id, payload->>'step', (payload->>'attempt')::bigint FROM outbox \
         WHERE topic = 'saga.orders.timeout' AND payload->>'saga_id' = $1::text \
           AND sent_at IS NULL AND dead_at IS NULL ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_transitions_of_one_batch_apply_in_order_as_one_at_a_time_would(pool: PgPool) {
    let env = saga_env(pool, three_steps(Duration::from_secs(60), 1)).await;
    let reply = |id: Uuid, step: &str, attempt: u32, ok: bool| {
        let mut r =
            json!({ "saga_id": id, "step": step, "phase": "step", "attempt": attempt, "ok": ok });
        if !ok {
            r["reason"] = json!("refused");
        }
        orchestrated("saga.orders.reply", r)
    };
    let timer = |id: Uuid, step: &str, attempt: u32| {
        orchestrated(
            "saga.orders.timeout",
            json!({ "saga_id": id, "step": step, "phase": "step", "attempt": attempt }),
        )
    };

    // Two starts of order 1 and one of order 2: the repeat starts nothing.
    let starts = [
        orchestrated("order.placed", json!({ "order": "1" })),
        orchestrated("order.placed", json!({ "order": "1", "again": true })),
        orchestrated("order.placed", json!({ "order": "2" })),
    ];
    assert_eq!(transitions(&env, &starts).await.unwrap(), 3);
    let (one, ..) = instance_of(&env, "1").await;
    let (two, ..) = instance_of(&env, "2").await;
    let instances: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_instances")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(instances, 2, "the repeated start created nothing");
    for id in [one, two] {
        assert_eq!(
            timeline(&env.pool, id).await,
            ["started", "command_sent a #1"]
        );
        let timers = pending_timers(&env, id).await;
        assert_eq!(timers.len(), 1, "one timer per wait: {timers:?}");
    }

    // Order 1's reply, a copy of it and its timer, now stale; order 2's
    // step refused: one batch.
    let batch = [
        reply(one, "a", 1, true),
        reply(one, "a", 1, true),
        timer(one, "a", 1),
        reply(two, "a", 1, false),
    ];
    assert_eq!(transitions(&env, &batch).await.unwrap(), 4);
    assert_eq!(
        timeline(&env.pool, one).await,
        [
            "started",
            "command_sent a #1",
            "step_done a #1",
            "command_sent b #1",
            "ignored_reply"
        ]
    );
    let (_, state, step, timer_row) = instance_of(&env, "1").await;
    assert_eq!((state.as_str(), step), ("running", 1));
    let timers = pending_timers(&env, one).await;
    assert_eq!(
        timers.len(),
        1,
        "step a's timer dropped, b's written: {timers:?}"
    );
    assert_eq!((timers[0].1.as_str(), timers[0].2), ("b", 1));
    assert_eq!(
        timer_row,
        Some(timers[0].0),
        "the instance waits on b's timer"
    );
    let (_, state, ..) = instance_of(&env, "2").await;
    assert_eq!(
        state, "compensated",
        "nothing was done before a, so nothing to undo"
    );
    assert!(pending_timers(&env, two).await.is_empty());

    // Step b times out (the command goes again, with a timer) and, in the
    // same batch, b's answer comes: the saga moves on to c, and the timer
    // of b's second attempt is never written.
    // The relayer published b's timer when it fell due.
    sqlx::query("UPDATE outbox SET sent_at = now() WHERE id = $1")
        .bind(timer_row)
        .execute(&env.pool)
        .await
        .unwrap();
    let batch = [timer(one, "b", 1), reply(one, "b", 1, true)];
    assert_eq!(transitions(&env, &batch).await.unwrap(), 2);
    assert_eq!(
        timeline(&env.pool, one).await[5..],
        [
            "timed_out b #1",
            "command_sent b #2",
            "step_done b #2",
            "command_sent c #1"
        ]
    );
    let (_, state, step, timer_row) = instance_of(&env, "1").await;
    assert_eq!((state.as_str(), step), ("running", 2));
    let timers = pending_timers(&env, one).await;
    assert_eq!(timers.len(), 1, "one timer, step c's: {timers:?}");
    assert_eq!((timers[0].1.as_str(), timers[0].2), ("c", 1));
    assert_eq!(timer_row, Some(timers[0].0));

    // A batch with a reply for no instance fails whole and writes nothing.
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_events")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let batch = [
        reply(one, "c", 1, true),
        reply(Uuid::new_v4(), "a", 1, true),
    ];
    match transitions(&env, &batch).await {
        Err(HandlerError::Reject(why)) => assert!(why.contains("does not exist"), "{why}"),
        other => panic!("a reply for no instance: {other:?}"),
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_events")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(after, events);
    assert_eq!(instance_of(&env, "1").await.1, "running");
}

#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn the_upload_saga_makes_a_thumbnail_or_rejects_an_oversized_image(pool: PgPool) {
    let mut env = TestEnv::new(pool, &["upload.#"]);
    env.with_upload_saga();
    // The demo image (32×20) is over the limit; the 1×1 pixel is not.
    env.config.uploads = UploadsConfig {
        thumbnail_size: 16,
        max_pixels: 100,
    };
    env.apply_topology().await;
    let workers = start_workers(&env);
    let server = Server::start(&env.config).await;
    let small = server.upload_png("pixel.png").await;
    let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.png")).unwrap();
    let r = server
        .http
        .post(server.url("/uploads?filename=demo.png"))
        .header("content-type", "image/png")
        .body(demo)
        .send()
        .await
        .unwrap();
    let big: Value = r.json().await.unwrap();

    let detail = |id: &Value| {
        let (http, url) = (
            server.http.clone(),
            server.url(&format!("/uploads/{}", id.as_str().unwrap())),
        );
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let done = wait_for("the small upload available", || async {
        let d = detail(&small["id"]).await;
        (d["status"] == "available" && d["saga"]["state"] == "completed").then_some(d)
    })
    .await;
    let rejected = wait_for("the oversized upload rejected", || async {
        let d = detail(&big["id"]).await;
        (d["status"] == "rejected" && d["saga"]["state"] == "compensated").then_some(d)
    })
    .await;
    let thumbnail = |id: &Value| {
        server
            .http
            .get(server.url(&format!("/uploads/{}/thumbnail", id.as_str().unwrap())))
            .send()
    };
    let small_thumb = thumbnail(&small["id"]).await.unwrap();
    assert_eq!(small_thumb.status(), 200);
    assert_eq!(small_thumb.headers()["content-type"], "image/png");
    let small_thumb = small_thumb.bytes().await.unwrap();
    let big_thumb = thumbnail(&big["id"]).await.unwrap();
    assert_eq!(big_thumb.status(), 409);
    let big_thumb: Value = big_thumb.json().await.unwrap();
    assert_eq!(big_thumb["error"], "no_thumbnail");
    server.stop().await;
    stop_workers(workers).await;

    let kinds: Vec<&str> = done["saga"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"started"));
    assert_eq!(kinds.last(), Some(&"completed"));
    assert_eq!(kinds.iter().filter(|k| **k == "step_done").count(), 3);
    let id = |v: &Value| Uuid::parse_str(v["id"].as_str().unwrap()).unwrap();
    let png = image::load_from_memory(&small_thumb).unwrap();
    assert_eq!((png.width(), png.height()), (1, 1));

    let reason = rejected["rejection_reason"].as_str().unwrap();
    assert!(
        reason.contains("more than uploads.max_pixels = 100"),
        "{reason}"
    );
    assert!(
        outboxctl::store::uploads::thumbnail(&env.pool, id(&big))
            .await
            .unwrap()
            .is_none(),
        "no thumbnail left behind"
    );
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT topic FROM outbox WHERE topic IN ('upload.available', 'upload.rejected') ORDER BY topic",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(events, ["upload.available", "upload.rejected"]);
}

/// The README's example is a configuration that loads and draws.
#[test]
fn the_orders_example_is_valid_and_draws_its_compensations() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders-saga.toml");
    let out = run(outboxctl_cmd().args(["--config", example, "config", "show"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(outboxctl_cmd().args(["--config", example, "saga", "graph", "order"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let graph = stdout(&out);
    for edge in [
        "start([order.placed]) --> s0",
        "s1 -.->|fails| u0",
        "s2 -.->|fails| u1",
        "u1 -.-> u0",
    ] {
        assert!(graph.contains(edge), "{edge:?} missing: {graph}");
    }
}

/// An operator finds sagas by their business key, reads how a finished one
/// ended, and a dry run refuses what the command refuses; listings fit 80
/// columns.
#[sqlx::test(migrator = "outboxctl::store::MIGRATOR")]
async fn operators_find_sagas_by_key_and_read_how_they_ended(pool: PgPool) {
    let env = saga_env(pool, three_steps(Duration::from_secs(30), 1)).await;
    let workers = start_workers(&env);
    start_saga(&env, "o-42", json!({})).await;
    start_saga(&env, "o-43", json!({ "fail_at": "c" })).await;
    let done = settled(&env, "o-42", &["completed"]).await;
    let undone = settled(&env, "o-43", &["compensated"]).await;
    stop_workers(workers).await;

    // By business key: `saga ls --correlation` and `saga show SAGA:KEY`.
    let ls = run(env
        .cmd()
        .args(["saga", "ls", "--correlation", "o-43", "-o", "json"]));
    assert_eq!(ls.status.code(), Some(0), "{}", stderr(&ls));
    let listed: Vec<Value> = stdout(&ls)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], undone.to_string());
    let show = run(env
        .cmd()
        .args(["saga", "show", "orders:o-42", "-o", "json"]));
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    let shown: Value = serde_json::from_str(stdout(&show).trim()).unwrap();
    assert_eq!(shown["id"], done.to_string());
    let missing = run(env.cmd().args(["saga", "show", "orders:o-99"]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no instance for the key \"o-99\""),
        "{}",
        stderr(&missing)
    );

    // A cut list says so.
    let cut = run(env.cmd().args(["saga", "ls", "--limit", "1"]));
    assert_eq!(cut.status.code(), Some(0));
    assert!(
        stderr(&cut).contains("1 instances (newest first) shown; 1 more match"),
        "{}",
        stderr(&cut)
    );

    // How each ended.
    let why = stdout(&run(env.cmd().args(["saga", "why", "orders:o-42"])));
    assert!(
        why.contains("completed") && why.contains("every step is done"),
        "{why}"
    );
    let why = stdout(&run(env.cmd().args(["saga", "why", &undone.to_string()])));
    for says in [
        "compensated",
        "step c failed",
        "step c refused",
        "Done before that: a, b.",
        "Undone, latest first: b (undo.b",
        "a (undo.a",
    ] {
        assert!(why.contains(says), "{says:?} missing: {why}");
    }

    // The dry run refuses what abort refuses: both are finished.
    for id in ["orders:o-42", "orders:o-43"] {
        let dry = run(env.cmd().args(["saga", "abort", id, "--dry-run"]));
        assert_eq!(dry.status.code(), Some(1), "{}", stdout(&dry));
        assert!(
            stderr(&dry).contains("would refuse") && stderr(&dry).contains("nothing to do"),
            "{}",
            stderr(&dry)
        );
        assert!(stdout(&dry).is_empty(), "{}", stdout(&dry));
        let real = run(env.cmd().args(["saga", "abort", id, "--yes"]));
        assert_eq!(real.status.code(), Some(1));
        assert!(stderr(&real).contains("nothing to do"), "{}", stderr(&real));
    }

    // 80 columns: no line longer, ids whole.
    for args in [
        vec!["saga", "ls"],
        vec!["saga", "show", "orders:o-43"],
        vec!["handlers", "ls"],
    ] {
        let out = run(env.cmd().args(&args).env("COLUMNS", "80"));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.lines().all(|l| l.chars().count() <= 80),
            "{args:?}:\n{text}"
        );
        if args[1] == "ls" && args[0] == "saga" {
            assert!(
                text.contains(&done.to_string()) && text.contains(&undone.to_string()),
                "{text}"
            );
        }
    }
}
