//! The state machine of one saga, as a handler on the orchestrator's queue:
//! a start message creates an instance and sends the first command; a reply
//! moves it on (the next command, or compensation in reverse); a timer that
//! arrives while its wait is still open sends the command again or gives
//! up. Each runs in the consumer's transaction, beside the inbox row of the
//! message that caused it, and writes the outbox rows of what comes next;
//! the transitions of a delivery batch share their statements.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgConnection;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::config::{SagaConfig, StepConfig};
use crate::flow::handlers::{
    Done, Handler, HandlerError, HandlerFuture, HandlersFuture, Measure, Message,
};
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
            let mut done = self.transitions(conn, &[m]).await?;
            Ok(done.pop().unwrap_or_default())
        })
    }

    fn batches(&self) -> bool {
        true
    }

    fn handle_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        ms: &'a [&'a Message],
    ) -> HandlersFuture<'a> {
        Box::pin(self.transitions(conn, ms))
    }
}

/// A message on one of the orchestrator's topics, decoded.
enum Input<'a> {
    Start {
        correlation: String,
        payload: &'a Value,
        cause: Uuid,
        /// The id of the instance it would create.
        id: Uuid,
    },
    Reply(Reply, Uuid),
    Timer(Timer),
}

impl Orchestrator {
    fn input<'a>(&self, m: &'a Message) -> Result<Input<'a>, HandlerError> {
        Ok(if m.topic == self.reply_topic {
            Input::Reply(decode(m, "a reply")?, m.message_id.0)
        } else if m.topic == self.timeout_topic {
            Input::Timer(decode(m, "a timer")?)
        } else {
            let field = &self.saga.correlate;
            let correlation = match m.payload.get(field) {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                _ => {
                    return Err(HandlerError::Reject(format!(
                        "the start payload has no {field:?} (saga {}: correlate = {field:?})",
                        self.saga.name
                    )));
                }
            };
            Input::Start {
                correlation,
                payload: &m.payload,
                cause: m.message_id.0,
                id: Uuid::now_v7(),
            }
        })
    }

    /// The transitions of a run of messages, in order, in the consumer's
    /// transaction: one statement locks every instance they name, one
    /// creates the instances their starts begin, one writes back what
    /// changed — however many messages the run has. Several messages of one
    /// instance apply one after the other. Any message that cannot apply (a
    /// reply for no instance, a payload that is not a saga's) fails the
    /// run; the consumer then handles each message alone.
    async fn transitions(
        &self,
        conn: &mut PgConnection,
        ms: &[&Message],
    ) -> Result<Vec<Done>, HandlerError> {
        let inputs = ms
            .iter()
            .map(|m| self.input(m))
            .collect::<Result<Vec<_>, _>>()?;
        let mut named: Vec<Uuid> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::Reply(r, _) => Some(r.saga_id),
                Input::Timer(t) => Some(t.saga_id),
                Input::Start { .. } => None,
            })
            .collect();
        named.sort_unstable();
        named.dedup();
        // Locks first, creation second: a start that waits for another
        // transaction's start of the same correlation holds no lock that
        // transaction could be waiting for.
        let mut held: HashMap<Uuid, (db::Change, bool)> = HashMap::new();
        for h in db::lock(conn, &named).await? {
            held.insert(h.instance.id, (change(h), false));
        }
        let deadline = Utc::now()
            + chrono::Duration::from_std(self.saga.deadline).unwrap_or(chrono::Duration::MAX);
        let new: Vec<NewInstance> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::Start {
                    correlation,
                    payload,
                    id,
                    ..
                } => Some(NewInstance {
                    id: *id,
                    saga: &self.saga.name,
                    correlation,
                    input: payload,
                    deadline,
                }),
                _ => None,
            })
            .collect();
        for h in db::start(conn, &new).await? {
            held.insert(h.instance.id, (change(h), false));
        }

        let mut changed = Vec::new();
        let mut done = Vec::with_capacity(inputs.len());
        for input in inputs {
            let id = match &input {
                Input::Start { id, .. } => *id,
                Input::Reply(r, _) => r.saga_id,
                Input::Timer(t) => t.saga_id,
            };
            let mut t = Transition::new(&self.saga, &self.reply_topic, &self.timeout_topic, None);
            let entry = held.get_mut(&id);
            let wrote = match (input, entry) {
                (Input::Start { correlation, .. }, None) => {
                    debug!(saga = %self.saga.name, correlation, "started before; nothing to do");
                    t.count("outbox_saga_starts_ignored_total", None);
                    false
                }
                (Input::Reply(reply, _), None) => {
                    return Err(HandlerError::Reject(format!(
                        "a reply for saga instance {} of {}, which does not exist: never \
                         started, or deleted (step {:?}, attempt {})",
                        reply.saga_id, self.saga.name, reply.step, reply.attempt
                    )));
                }
                // Deleted since: nothing waits for it.
                (Input::Timer(_), None) => false,
                (input, Some((c, _))) => {
                    t.writes = std::mem::take(&mut c.writes);
                    let inst = &mut c.held.instance;
                    let wrote = match input {
                        Input::Start {
                            correlation, cause, ..
                        } => {
                            t.start(inst, &correlation, cause);
                            true
                        }
                        Input::Reply(reply, cause) => {
                            t.reply(inst, reply, cause)?;
                            true
                        }
                        Input::Timer(timer) => t.timer(inst, timer),
                    };
                    c.writes = std::mem::take(&mut t.writes);
                    wrote
                }
            };
            if wrote && let Some((_, seen)) = held.get_mut(&id) {
                if !*seen {
                    changed.push(id);
                }
                *seen = true;
            }
            done.push(Done {
                output: None,
                measures: t.measures,
            });
        }
        let mut changes: Vec<db::Change> = changed
            .iter()
            .filter_map(|id| held.remove(id).map(|(c, _)| c))
            .collect();
        db::save(conn, &mut changes).await?;
        Ok(done)
    }
}

fn change(held: db::Held) -> db::Change {
    db::Change {
        held,
        writes: db::Writes::default(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(m: &Message, what: &str) -> Result<T, HandlerError> {
    serde_json::from_value(m.payload.clone())
        .map_err(|e| HandlerError::Reject(format!("not {what} of a saga: {e}")))
}

/// One transition's context: the definition, and what it writes.
pub(super) struct Transition<'a> {
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

impl<'a> Transition<'a> {
    pub fn new(
        saga: &'a SagaConfig,
        reply_topic: &'a str,
        timeout_topic: &'a str,
        actor: Option<&'a str>,
    ) -> Self {
        Self {
            saga,
            reply_topic,
            timeout_topic,
            actor,
            measures: Vec::new(),
            writes: db::Writes::default(),
        }
    }

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

    /// A new instance, just created by its start message: send its first
    /// command.
    fn start(&mut self, inst: &mut Instance, correlation: &str, cause: Uuid) {
        self.event(
            inst,
            "started",
            None,
            Some(json!({ "correlation": correlation })),
            Some(cause),
        );
        self.count("outbox_sagas_total", Some("started"));
        self.send(inst, Phase::Step, 0, 1, None);
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

        self.writes.cancel_timer(inst.timer_id.take());
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

    /// A reply to the instance's command (or compensation).
    fn reply(
        &mut self,
        inst: &mut Instance,
        reply: Reply,
        cause: Uuid,
    ) -> Result<(), HandlerError> {
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
        let fits = Self::waiting(inst) == Some(reply.phase)
            && reply.step == current
            && if reply.ok {
                reply.attempt as i32 <= inst.attempt
            } else {
                reply.attempt as i32 == inst.attempt
            };
        if !fits {
            let detail = serde_json::to_value(&reply).ok();
            self.event(inst, "ignored_reply", None, detail, Some(cause));
            self.count("outbox_saga_replies_ignored_total", None);
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
                    inst,
                    "step_done",
                    Some(inst.step),
                    Some(output),
                    Some(cause),
                );
                inst.done = inst.step + 1;
                if inst.done as usize == self.saga.steps.len() {
                    self.finish(inst, State::Completed);
                } else {
                    let next = inst.done;
                    self.send(inst, Phase::Step, next, 1, None);
                }
            }
            (Phase::Step, false) => {
                let reason = format!(
                    "step {current} failed: {}",
                    reply.reason.as_deref().unwrap_or("(no reason given)")
                );
                self.event(
                    inst,
                    "step_failed",
                    Some(inst.step),
                    Some(json!(reason)),
                    Some(cause),
                );
                // What failed did not happen; the steps before it did.
                inst.done = inst.step;
                self.compensate(inst, reason);
            }
            (Phase::Compensation, true) => {
                self.event(
                    inst,
                    "compensation_done",
                    Some(inst.step),
                    None,
                    Some(cause),
                );
                inst.done = inst.step;
                let reason = inst.reason.clone().unwrap_or_default();
                self.compensate(inst, reason);
            }
            (Phase::Compensation, false) => {
                let why = reply
                    .reason
                    .as_deref()
                    .unwrap_or("(no reason given)")
                    .to_string();
                self.event(
                    inst,
                    "compensation_failed",
                    Some(inst.step),
                    Some(json!(why)),
                    Some(cause),
                );
                self.compensation_did_not_work(
                    inst,
                    format!("the compensation of step {current} failed: {why}"),
                );
            }
        }
        Ok(())
    }

    /// A timer of the instance's wait, arrived: whether it still applied
    /// (and changed the instance).
    fn timer(&mut self, inst: &mut Instance, timer: Timer) -> bool {
        let fits = Self::waiting(inst) == Some(timer.phase)
            && self.step(inst.step).name == timer.step
            && inst.attempt == timer.attempt as i32;
        if !fits {
            // The answer came first; this timer was on its way already.
            return false;
        }
        inst.timer_id = None;
        let step = self.step(inst.step).clone();
        self.event(inst, "timed_out", Some(inst.step), None, None);
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
                self.compensate(inst, reason);
            }
            Phase::Step if retries_left => {
                let (index, attempt) = (inst.step, inst.attempt + 1);
                self.send(inst, Phase::Step, index, attempt, None);
            }
            Phase::Step => {
                inst.done = inst.step + 1;
                let reason = format!(
                    "step {} got no reply in {} after {} attempt(s)",
                    step.name,
                    humantime::format_duration(step.timeout),
                    inst.attempt
                );
                self.compensate(inst, reason);
            }
            Phase::Compensation => {
                let reason = format!(
                    "the compensation of step {} got no reply in {}",
                    step.name,
                    humantime::format_duration(step.timeout)
                );
                self.compensation_did_not_work(inst, reason);
            }
        }
        true
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
        self.writes.cancel_timer(inst.timer_id.take());
        inst.state = State::Failed;
        inst.waiting_since = None;
        inst.reason = Some(reason.clone());
        self.event(inst, "failed", Some(inst.step), Some(json!(reason)), None);
        self.count("outbox_sagas_total", Some("failed"));
    }

    fn finish(&mut self, inst: &mut Instance, state: State) {
        self.writes.cancel_timer(inst.timer_id.take());
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
