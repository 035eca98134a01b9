//! The state machine of one saga, as a handler on the orchestrator's queue:
//! a start message creates an instance and sends the first command; a reply
//! moves it on (the next command, or compensation in reverse); a timer that
//! arrives while its wait is still open sends the command again or gives
//! up. Each runs in the consumer's transaction, beside the inbox row of the
//! message that caused it, and writes the outbox rows of what comes next.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgConnection;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::config::{SagaConfig, StepConfig};
use crate::flow::handlers::{Done, Handler, HandlerError, HandlerFuture, Measure, Message};
use crate::model::saga::{self, Command, Instance, Phase, Reply, State, Timer};
use crate::store::saga::{self as db, NewEvent, NewInstance, Outgoing};

pub struct Orchestrator {
    saga: Arc<SagaConfig>,
    reply_topic: String,
    timeout_topic: String,
}

impl Orchestrator {
    pub fn new(saga: &SagaConfig) -> Self {
        Self {
            reply_topic: saga.reply_topic(),
            timeout_topic: saga.timeout_topic(),
            saga: Arc::new(saga.clone()),
        }
    }
}

impl Handler for Orchestrator {
    fn handle<'a>(&'a self, conn: &'a mut PgConnection, m: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let mut t = Transition {
                conn,
                saga: &self.saga,
                reply_topic: &self.reply_topic,
                timeout_topic: &self.timeout_topic,
                actor: None,
                measures: Vec::new(),
                writes: db::Writes::default(),
            };
            if m.topic == self.reply_topic {
                let reply: Reply = decode(m, "a reply")?;
                t.reply(reply, m.message_id.0).await?;
            } else if m.topic == self.timeout_topic {
                let timer: Timer = decode(m, "a timer")?;
                t.timer(timer).await?;
            } else {
                t.start(&m.payload, m.message_id.0).await?;
            }
            Ok(Done {
                output: None,
                measures: t.measures,
            })
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(m: &Message, what: &str) -> Result<T, HandlerError> {
    serde_json::from_value(m.payload.clone())
        .map_err(|e| HandlerError::Reject(format!("not {what} of a saga: {e}")))
}

/// One transition's context: the consumer's transaction and the definition.
pub(super) struct Transition<'a> {
    pub conn: &'a mut PgConnection,
    pub saga: &'a SagaConfig,
    pub reply_topic: &'a str,
    pub timeout_topic: &'a str,
    /// Who acts, when an operator does.
    pub actor: Option<&'a str>,
    /// Metrics to record once the transaction has committed.
    pub measures: Vec<Measure>,
    /// Timeline entries and outbox rows, written with the instance.
    pub writes: db::Writes,
}

impl Transition<'_> {
    fn count(&mut self, name: &'static str, outcome: Option<&'static str>) {
        let mut labels = vec![("saga", self.saga.name.clone())];
        labels.extend(outcome.map(|o| ("outcome", o.to_string())));
        self.measures.push(Measure::Count(name, labels));
    }

    fn step(&self, index: i32) -> &StepConfig {
        &self.saga.steps[index as usize]
    }

    /// Add an entry to the instance's timeline (written by [`db::save`]).
    pub(super) fn event(
        &mut self,
        inst: &Instance,
        kind: &'static str,
        step: Option<i32>,
        detail: Option<Value>,
        message_id: Option<Uuid>,
    ) {
        let step_name = step.map(|i| self.step(i).name.clone());
        self.writes.events.push(NewEvent {
            kind,
            step: step_name,
            attempt: step.map(|_| inst.attempt),
            detail,
            message_id,
            actor: self.actor.map(str::to_string),
        });
    }

    /// Write back the instance and everything the transition produced.
    pub(super) async fn save(&mut self, inst: &mut Instance) -> Result<(), HandlerError> {
        db::save(self.conn, inst, std::mem::take(&mut self.writes)).await?;
        Ok(())
    }

    /// A start message: a new instance and its first command — or, when
    /// this correlation has an instance already, nothing.
    async fn start(&mut self, payload: &Value, cause: Uuid) -> Result<(), HandlerError> {
        let field = &self.saga.correlate;
        let correlation = match payload.get(field) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => {
                return Err(HandlerError::Reject(format!(
                    "the start payload has no {field:?} (saga {}: correlate = {field:?})",
                    self.saga.name
                )));
            }
        };
        let deadline = Utc::now()
            + chrono::Duration::from_std(self.saga.deadline).unwrap_or(chrono::Duration::MAX);
        let new = NewInstance {
            id: Uuid::now_v7(),
            saga: &self.saga.name,
            correlation: &correlation,
            input: payload,
            deadline,
        };
        let Some(mut inst) = db::start(self.conn, &new).await? else {
            debug!(saga = %self.saga.name, correlation, "started before; nothing to do");
            self.count("outbox_saga_starts_ignored_total", None);
            return Ok(());
        };
        self.event(
            &inst,
            "started",
            None,
            Some(json!({ "correlation": correlation })),
            Some(cause),
        );
        self.count("outbox_sagas_total", Some("started"));
        self.send(&mut inst, Phase::Step, 0, 1, None);
        self.save(&mut inst).await?;
        Ok(())
    }

    /// Send the command (or compensation) of step `index`, attempt
    /// `attempt`, and a timer for its wait.
    pub fn send(
        &mut self,
        inst: &mut Instance,
        phase: Phase,
        index: i32,
        attempt: i32,
        reason: Option<&str>,
    ) {
        let step = self.step(index).clone();
        let topic = match phase {
            Phase::Step => step.command.clone(),
            Phase::Compensation => step
                .compensation
                .clone()
                .expect("only steps with a compensation are compensated"),
        };
        let command = Command {
            saga_id: inst.id,
            saga: self.saga.name.clone(),
            step: step.name.clone(),
            phase,
            attempt: attempt as u32,
            input: inst.input.clone(),
            outputs: inst.outputs.clone(),
            reason: reason.map(str::to_string),
        };
        let payload = serde_json::to_value(&command).expect("a command serializes");
        let headers = json!({
            saga::ID: inst.id.to_string(),
            saga::NAME: self.saga.name,
            saga::STEP: step.name,
            saga::PHASE: phase.as_str(),
            saga::ATTEMPT: attempt,
            saga::REPLY_TO: self.reply_topic,
        });
        let message_id = saga::command_id(inst.id, phase, &step.name);
        self.writes.outgoing.push(Outgoing {
            message_id,
            topic,
            partition_key: Some(inst.id.to_string()),
            payload,
            headers,
            available_at: None,
        });

        if let Some(old) = inst.timer_id.take() {
            self.writes.cancel_timer(old);
        }
        let now = Utc::now();
        let wait = chrono::Duration::from_std(step.timeout).unwrap_or(chrono::Duration::MAX);
        // A step's wait never outlives the saga's deadline.
        let fires_at = match phase {
            Phase::Step => (now + wait).min(inst.deadline),
            Phase::Compensation => now + wait,
        };
        let timer = serde_json::to_value(Timer {
            saga_id: inst.id,
            step: step.name.clone(),
            phase,
            attempt: attempt as u32,
        })
        .expect("a timer serializes");
        // No key: a timer waiting for its time must not hold back the saga's
        // other messages. Its row id becomes the instance's timer_id.
        let timer_id = Uuid::now_v7();
        self.writes.outgoing.push(Outgoing {
            message_id: timer_id,
            topic: self.timeout_topic.to_string(),
            partition_key: None,
            payload: timer,
            headers: json!({}),
            available_at: Some(fires_at),
        });
        self.writes.timer = Some(timer_id);
        inst.step = index;
        inst.attempt = attempt;
        inst.waiting_since = Some(now);
        let kind = match phase {
            Phase::Step => "command_sent",
            Phase::Compensation => "compensation_sent",
        };
        self.event(inst, kind, Some(index), None, Some(message_id));
    }

    /// What the instance waits for: (phase, step index, attempt).
    fn waiting(inst: &Instance) -> Option<Phase> {
        match inst.state {
            State::Running => Some(Phase::Step),
            State::Compensating => Some(Phase::Compensation),
            _ => None,
        }
    }

    async fn reply(&mut self, reply: Reply, cause: Uuid) -> Result<(), HandlerError> {
        let Some(mut inst) = db::lock(self.conn, reply.saga_id).await? else {
            return Err(HandlerError::Reject(format!(
                "a reply for saga instance {} of {}, which does not exist: never started, or \
                 deleted (step {:?}, attempt {})",
                reply.saga_id, self.saga.name, reply.step, reply.attempt
            )));
        };
        if inst.saga != self.saga.name {
            return Err(HandlerError::Reject(format!(
                "a reply on {} for instance {} of saga {}",
                self.reply_topic, inst.id, inst.saga
            )));
        }
        let current = self.step(inst.step).name.clone();
        // A success counts from any attempt of the step waited for (all its
        // attempts are one message: its effect happened once); a failure
        // only from the current attempt (an older one is stale).
        let fits = Self::waiting(&inst) == Some(reply.phase)
            && reply.step == current
            && if reply.ok {
                reply.attempt as i32 <= inst.attempt
            } else {
                reply.attempt as i32 == inst.attempt
            };
        if !fits {
            let detail = serde_json::to_value(&reply).ok();
            self.event(&inst, "ignored_reply", None, detail, Some(cause));
            self.count("outbox_saga_replies_ignored_total", None);
            self.save(&mut inst).await?;
            return Ok(());
        }
        let took = inst
            .waiting_since
            .map(|t| (Utc::now() - t).to_std().unwrap_or_default())
            .unwrap_or_default();
        match (reply.phase, reply.ok) {
            (Phase::Step, true) => {
                self.measures.push(Measure::Observe(
                    "outbox_saga_step_duration_seconds",
                    vec![("saga", self.saga.name.clone()), ("step", current.clone())],
                    took.as_secs_f64(),
                ));
                let output = reply.output.unwrap_or(Value::Null);
                if let Value::Object(outputs) = &mut inst.outputs {
                    outputs.insert(current.clone(), output.clone());
                }
                self.event(
                    &inst,
                    "step_done",
                    Some(inst.step),
                    Some(output),
                    Some(cause),
                );
                inst.done = inst.step + 1;
                if inst.done as usize == self.saga.steps.len() {
                    self.finish(&mut inst, State::Completed);
                } else {
                    let next = inst.done;
                    self.send(&mut inst, Phase::Step, next, 1, None);
                }
            }
            (Phase::Step, false) => {
                let reason = format!(
                    "step {current} failed: {}",
                    reply.reason.as_deref().unwrap_or("(no reason given)")
                );
                self.event(
                    &inst,
                    "step_failed",
                    Some(inst.step),
                    Some(json!(reason)),
                    Some(cause),
                );
                // What failed did not happen; the steps before it did.
                inst.done = inst.step;
                self.compensate(&mut inst, reason);
            }
            (Phase::Compensation, true) => {
                self.event(
                    &inst,
                    "compensation_done",
                    Some(inst.step),
                    None,
                    Some(cause),
                );
                inst.done = inst.step;
                let reason = inst.reason.clone().unwrap_or_default();
                self.compensate(&mut inst, reason);
            }
            (Phase::Compensation, false) => {
                let why = reply
                    .reason
                    .as_deref()
                    .unwrap_or("(no reason given)")
                    .to_string();
                self.event(
                    &inst,
                    "compensation_failed",
                    Some(inst.step),
                    Some(json!(why)),
                    Some(cause),
                );
                self.compensation_did_not_work(
                    &mut inst,
                    format!("the compensation of step {current} failed: {why}"),
                );
            }
        }
        self.save(&mut inst).await?;
        Ok(())
    }

    async fn timer(&mut self, timer: Timer) -> Result<(), HandlerError> {
        let Some(mut inst) = db::lock(self.conn, timer.saga_id).await? else {
            return Ok(());
        };
        let fits = Self::waiting(&inst) == Some(timer.phase)
            && self.step(inst.step).name == timer.step
            && inst.attempt == timer.attempt as i32;
        if !fits {
            // The answer came first; this timer was on its way already.
            return Ok(());
        }
        inst.timer_id = None;
        let step = self.step(inst.step).clone();
        self.event(&inst, "timed_out", Some(inst.step), None, None);
        let retries_left = inst.attempt as u32 <= step.retries;
        match timer.phase {
            Phase::Step if Utc::now() >= inst.deadline => {
                // The command may have been done, unanswered: undo it too.
                inst.done = inst.step + 1;
                let reason = format!(
                    "the deadline of {} passed while step {} waited for a reply",
                    humantime::format_duration(self.saga.deadline),
                    step.name
                );
                self.compensate(&mut inst, reason);
            }
            Phase::Step if retries_left => {
                let (index, attempt) = (inst.step, inst.attempt + 1);
                self.send(&mut inst, Phase::Step, index, attempt, None);
            }
            Phase::Step => {
                inst.done = inst.step + 1;
                let reason = format!(
                    "step {} got no reply in {} after {} attempt(s)",
                    step.name,
                    humantime::format_duration(step.timeout),
                    inst.attempt
                );
                self.compensate(&mut inst, reason);
            }
            Phase::Compensation => {
                let reason = format!(
                    "the compensation of step {} got no reply in {}",
                    step.name,
                    humantime::format_duration(step.timeout)
                );
                self.compensation_did_not_work(&mut inst, reason);
            }
        }
        self.save(&mut inst).await?;
        Ok(())
    }

    /// Undo the steps that completed (below `inst.done`), the latest first:
    /// send the next compensation, or finish as compensated.
    pub fn compensate(&mut self, inst: &mut Instance, reason: String) {
        if inst.state == State::Running {
            info!(saga = %self.saga.name, id = %inst.id, reason = %reason, "compensating");
            inst.reason = Some(reason.clone());
        }
        inst.state = State::Compensating;
        let next = (0..inst.done)
            .rev()
            .find(|&i| self.step(i).compensation.is_some());
        match next {
            Some(i) => {
                let why = inst.reason.clone();
                self.send(inst, Phase::Compensation, i, 1, why.as_deref())
            }
            None => self.finish(inst, State::Compensated),
        }
    }

    /// A compensation failed or got no answer: again while its retries
    /// last, then the saga fails and waits for an operator.
    fn compensation_did_not_work(&mut self, inst: &mut Instance, reason: String) {
        let step = self.step(inst.step).clone();
        if inst.attempt as u32 <= step.retries {
            let (index, attempt) = (inst.step, inst.attempt + 1);
            let why = inst.reason.clone();
            self.send(inst, Phase::Compensation, index, attempt, why.as_deref());
            return;
        }
        warn!(saga = %self.saga.name, id = %inst.id, reason = %reason,
            "saga failed: a compensation ran out of retries; see `outboxctl saga why {}`", inst.id);
        if let Some(t) = inst.timer_id.take() {
            self.writes.cancel_timer(t);
        }
        inst.state = State::Failed;
        inst.waiting_since = None;
        inst.reason = Some(reason.clone());
        self.event(inst, "failed", Some(inst.step), Some(json!(reason)), None);
        self.count("outbox_sagas_total", Some("failed"));
    }

    fn finish(&mut self, inst: &mut Instance, state: State) {
        if let Some(t) = inst.timer_id.take() {
            self.writes.cancel_timer(t);
        }
        inst.state = state;
        inst.waiting_since = None;
        inst.finished_at = Some(Utc::now());
        self.event(inst, state.as_str(), None, None, None);
        self.count("outbox_sagas_total", Some(state.as_str()));
        let took = (Utc::now() - inst.started_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        self.measures.push(Measure::Observe(
            "outbox_saga_duration_seconds",
            vec![
                ("saga", self.saga.name.clone()),
                ("outcome", state.as_str().to_string()),
            ],
            took.as_secs_f64(),
        ));
    }
}
