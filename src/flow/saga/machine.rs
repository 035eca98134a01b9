//! The state machine of a saga instance: the instance as it is and what
//! arrived (a start, a reply, a timer, an operator's abort or retry) → the
//! instance as it becomes, the commands and timers to send, the timeline
//! entries to write and the metrics to record once that commits. No
//! database, no broker, no clock of its own (the caller says what time it
//! is): `orchestrator` locks and writes around it, `act` does for operators.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::{SagaConfig, StepConfig};
use crate::flow::handlers::Measure;
use crate::model::saga::{
    self, Command, Instance, NewEvent, Outgoing, Phase, Reply, State, Timer, Writes,
};

/// One transition's context: the definition, the time, who acts, and what
/// it writes.
pub struct Transition<'a> {
    pub saga: &'a SagaConfig,
    reply_topic: String,
    timeout_topic: String,
    /// Who acts, when an operator does.
    actor: Option<&'a str>,
    now: DateTime<Utc>,
    /// Metrics to record once the transaction has committed.
    pub measures: Vec<Measure>,
    /// Timeline entries and outbox rows, written with the instance.
    pub writes: Writes,
}

/// What an operator asked of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Compensate now.
    Abort,
    /// Send the waited-for command (or compensation) again.
    Retry,
}

impl<'a> Transition<'a> {
    pub fn new(saga: &'a SagaConfig, actor: Option<&'a str>, now: DateTime<Utc>) -> Self {
        Self {
            saga,
            reply_topic: saga.reply_topic(),
            timeout_topic: saga.timeout_topic(),
            actor,
            now,
            measures: Vec::new(),
            writes: Writes::default(),
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

    /// Add an entry to the instance's timeline.
    fn event(
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

    /// A start that found its instance there already: nothing happens.
    pub fn start_again(&mut self) {
        self.count("outbox_saga_starts_ignored_total", None);
    }

    /// A new instance, just created by its start message: send its first
    /// command.
    pub fn start(&mut self, inst: &mut Instance, correlation: &str, cause: Uuid) {
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
    fn send(
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
        let wait = chrono::Duration::from_std(step.timeout).unwrap_or(chrono::Duration::MAX);
        // A step's wait never outlives the saga's deadline.
        let fires_at = match phase {
            Phase::Step => (self.now + wait).min(inst.deadline),
            Phase::Compensation => self.now + wait,
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
            topic: self.timeout_topic.clone(),
            partition_key: None,
            payload: timer,
            headers: json!({}),
            available_at: Some(fires_at),
        });
        self.writes.timer = Some(timer_id);
        inst.step = index;
        inst.attempt = attempt;
        inst.waiting_since = Some(self.now);
        inst.waiting_step = Some(step.name.clone());
        let kind = match phase {
            Phase::Step => "command_sent",
            Phase::Compensation => "compensation_sent",
        };
        self.event(inst, kind, Some(index), None, Some(message_id));
    }

    /// What the instance waits for: a step's reply, a compensation's, or
    /// nothing.
    fn waiting(inst: &Instance) -> Option<Phase> {
        match inst.state {
            State::Running => Some(Phase::Step),
            State::Compensating => Some(Phase::Compensation),
            _ => None,
        }
    }

    /// A reply to the instance's command (or compensation): `Ok(None)` when
    /// it was the answer, `Ok(Some(why))` when it came after the saga decided
    /// otherwise and is only recorded (`duplicate`, `stale`, `unknown
    /// step`). `Err`: the reply is not this saga's at all.
    ///
    /// Every attempt of a step is one message (one message id, one effect),
    /// so a reply to any attempt of the step awaited is its answer — a
    /// success or a failure alike.
    pub fn reply(
        &mut self,
        inst: &mut Instance,
        reply: Reply,
        cause: Uuid,
    ) -> Result<Option<&'static str>, String> {
        if inst.saga != self.saga.name {
            return Err(format!(
                "a reply on {} for instance {} of saga {}",
                self.reply_topic, inst.id, inst.saga
            ));
        }
        let Some(index) = self.saga.step_index(&reply.step) else {
            return Ok(Some(self.ignore(inst, reply, cause, "unknown step")));
        };
        if Self::waiting(inst) != Some(reply.phase) || index as i32 != inst.step {
            let why = if self.recorded(inst, &reply, index) {
                "duplicate"
            } else {
                "stale"
            };
            return Ok(Some(self.ignore(inst, reply, cause, why)));
        }
        let current = self.step(inst.step).name.clone();
        let took = inst
            .waiting_since
            .map(|t| (self.now - t).to_std().unwrap_or_default())
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
        Ok(None)
    }

    /// Whether the saga has recorded already what `reply` says of step
    /// `index`: a step done (its output is kept), or a compensation done
    /// (the instance has undone it).
    fn recorded(&self, inst: &Instance, reply: &Reply, index: usize) -> bool {
        let name = &self.saga.steps[index].name;
        match (reply.phase, reply.ok) {
            (Phase::Step, true) => inst.outputs.get(name).is_some(),
            (Phase::Compensation, true) => {
                inst.state != State::Running
                    && index as i32 >= inst.done
                    && self.saga.steps[index].compensation.is_some()
            }
            _ => false,
        }
    }

    /// A reply that is not the answer: on the timeline with `why`, counted.
    fn ignore(
        &mut self,
        inst: &Instance,
        reply: Reply,
        cause: Uuid,
        why: &'static str,
    ) -> &'static str {
        let mut detail = serde_json::to_value(&reply).unwrap_or(Value::Null);
        if let Value::Object(d) = &mut detail {
            d.insert("ignored".into(), json!(why));
        }
        self.event(inst, "ignored_reply", None, Some(detail), Some(cause));
        let labels = vec![
            ("saga", self.saga.name.clone()),
            ("reason", why.to_string()),
        ];
        self.measures
            .push(Measure::Count("outbox_saga_replies_ignored_total", labels));
        why
    }

    /// A timer of the instance's wait, arrived: whether it still applied
    /// (and changed the instance).
    pub fn timer(&mut self, inst: &mut Instance, timer: Timer) -> bool {
        let fits = Self::waiting(inst) == Some(timer.phase)
            && self.step(inst.step).name == self.saga.current_name(&timer.step)
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
            Phase::Step if self.now >= inst.deadline => {
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

    /// An operator's action. `Err`: why it does not apply to the instance as
    /// it is (nothing changed). `command_sent`: for an abort, whether the
    /// command of the step in flight went out (its row was not found unsent
    /// and dropped) — then its effect may have happened and it is undone
    /// too, as after a time-out; else only the steps before it are.
    pub fn act(
        &mut self,
        inst: &mut Instance,
        action: Action,
        command_sent: bool,
    ) -> Result<(), String> {
        let (id, state) = (inst.id, inst.state);
        match (action, state) {
            (_, State::Completed | State::Compensated) => {
                return Err(format!(
                    "instance {id} is {}: nothing to do",
                    state.as_str()
                ));
            }
            (Action::Abort, State::Running) => {
                let command = if command_sent {
                    "sent"
                } else {
                    "never sent (dropped)"
                };
                let detail = json!({ "step": self.step(inst.step).name, "command": command });
                self.event(inst, "aborted", None, Some(detail), None);
                inst.done = inst.step + i32::from(command_sent);
                let actor = self.actor.unwrap_or("an operator");
                self.compensate(inst, format!("aborted by {actor}"));
            }
            (Action::Abort, _) => {
                return Err(format!(
                    "instance {id} is {} already — `saga retry` sends its compensation again",
                    state.as_str()
                ));
            }
            (Action::Retry, state) => {
                self.event(inst, "retried", None, None, None);
                let phase = if state == State::Running {
                    Phase::Step
                } else {
                    inst.state = State::Compensating;
                    Phase::Compensation
                };
                let (step, attempt) = (inst.step, inst.attempt + 1);
                let why = inst.reason.clone();
                self.send(inst, phase, step, attempt, why.as_deref());
            }
        }
        Ok(())
    }

    /// Undo the steps that completed (below `inst.done`), the latest first:
    /// send the next compensation, or finish as compensated.
    fn compensate(&mut self, inst: &mut Instance, reason: String) {
        if inst.state == State::Running {
            inst.reason = Some(reason);
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
        self.writes.cancel_timer(inst.timer_id.take());
        inst.state = State::Failed;
        inst.waiting_since = None;
        inst.waiting_step = None;
        inst.reason = Some(reason.clone());
        self.event(inst, "failed", Some(inst.step), Some(json!(reason)), None);
        self.count("outbox_sagas_total", Some("failed"));
    }

    fn finish(&mut self, inst: &mut Instance, state: State) {
        self.writes.cancel_timer(inst.timer_id.take());
        inst.state = state;
        inst.waiting_since = None;
        inst.waiting_step = None;
        inst.finished_at = Some(self.now);
        self.event(inst, state.as_str(), None, None, None);
        self.count("outbox_sagas_total", Some(state.as_str()));
        let took = (self.now - inst.started_at).to_std().unwrap_or_default();
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

#[cfg(test)]
mod tests {
    //! Every transition, one row each: the instance before, what arrives,
    //! and what the instance, its timeline and its outgoing commands are
    //! after.

    use std::time::Duration;

    use super::*;
    use crate::config::StepConfig;

    fn order_saga() -> SagaConfig {
        let step = |name: &str, command: &str, compensation: Option<&str>, retries| StepConfig {
            name: name.into(),
            command: command.into(),
            compensation: compensation.map(str::to_string),
            timeout: Duration::from_secs(30),
            retries,
        };
        SagaConfig {
            name: "order".into(),
            start: "order.placed".into(),
            correlate: "order_id".into(),
            deadline: Duration::from_secs(600),
            steps: vec![
                step("reserve", "order.reserve", Some("order.release"), 2),
                step("charge", "order.charge", Some("order.refund"), 1),
                step("ship", "order.ship", None, 0),
            ],
            renamed: vec![crate::config::Renamed {
                from: "pay".into(),
                to: "charge".into(),
            }],
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-08T10:00:00Z".parse().unwrap()
    }

    /// An instance of the order saga waiting for `step`'s reply, `attempt`.
    fn waiting(state: State, step: i32, attempt: i32, done: i32) -> Instance {
        let waits = matches!(state, State::Running | State::Compensating);
        // Each step done has its output kept.
        let outputs: serde_json::Map<String, Value> = order_saga().steps[..done.min(3) as usize]
            .iter()
            .map(|s| (s.name.clone(), json!({ "id": s.name })))
            .collect();
        Instance {
            version: Some(order_saga().version()),
            waiting_step: waits.then(|| order_saga().steps[step as usize].name.clone()),
            id: Uuid::from_u128(42),
            saga: "order".into(),
            correlation: "42".into(),
            state,
            step,
            attempt,
            done,
            input: json!({"order_id": 42}),
            outputs: Value::Object(outputs),
            reason: (state != State::Running).then(|| "step ship failed: no courier".into()),
            deadline: now() + chrono::Duration::minutes(10),
            waiting_since: Some(now() - chrono::Duration::seconds(3)),
            timer_id: Some(7),
            started_at: now() - chrono::Duration::seconds(9),
            updated_at: now(),
            finished_at: None,
        }
    }

    fn reply(step: &str, phase: Phase, attempt: u32, ok: bool) -> Reply {
        Reply {
            saga_id: Uuid::from_u128(42),
            step: step.into(),
            phase,
            attempt,
            ok,
            output: ok.then(|| json!({"id": step})),
            reason: (!ok).then(|| "declined".into()),
        }
    }

    fn timer(step: &str, phase: Phase, attempt: u32) -> Timer {
        Timer {
            saga_id: Uuid::from_u128(42),
            step: step.into(),
            phase,
            attempt,
        }
    }

    enum Arrives {
        Start,
        Reply(Reply),
        Timer(Timer),
        Act(Action),
        /// An abort whose step's command had not gone out yet.
        AbortUnsent,
    }

    struct Case {
        name: &'static str,
        before: Instance,
        arrives: Arrives,
        /// State, step, attempt, done after.
        after: (State, i32, i32, i32),
        /// Timeline entries written, in order.
        timeline: &'static [&'static str],
        /// Commands sent (topic, attempt), timers aside.
        sent: &'static [(&'static str, i64)],
        /// Whether the instance waits on a new timer after.
        timer: bool,
        /// What the reason says after, in part.
        reason: Option<&'static str>,
        /// A reply that is not the answer: why it was ignored.
        ignored: Option<&'static str>,
    }

    fn run(c: Case) {
        let saga = order_saga();
        let mut t = Transition::new(&saga, Some("alice@db1"), now());
        let mut inst = c.before.clone();
        // A timer that fires is the instance's timer row arriving: there is
        // no row left to drop.
        let fired = matches!(c.arrives, Arrives::Timer(_));
        let applied = match c.arrives {
            Arrives::Start => {
                t.start(&mut inst, "42", Uuid::from_u128(1));
                Ok(())
            }
            Arrives::Reply(r) => {
                let ignored = t.reply(&mut inst, r, Uuid::from_u128(2));
                assert_eq!(ignored, Ok(c.ignored), "{}: ignored", c.name);
                Ok(())
            }
            Arrives::Timer(x) => {
                t.timer(&mut inst, x);
                Ok(())
            }
            Arrives::Act(a) => t.act(&mut inst, a, true),
            Arrives::AbortUnsent => t.act(&mut inst, Action::Abort, false),
        };
        assert!(applied.is_ok(), "{}: {applied:?}", c.name);
        // What it waits for, by name, is what a handler checks.
        let waits = matches!(inst.state, State::Running | State::Compensating);
        let expected = waits.then(|| saga.steps[inst.step as usize].name.clone());
        assert_eq!(inst.waiting_step, expected, "{}: waiting_step", c.name);
        assert_eq!(
            (inst.state, inst.step, inst.attempt, inst.done),
            c.after,
            "{}: state, step, attempt, done",
            c.name
        );
        let kinds: Vec<&str> = t.writes.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, c.timeline, "{}: timeline", c.name);
        let sent: Vec<(&str, i64)> = t
            .writes
            .outgoing
            .iter()
            .filter(|o| o.topic != "saga.order.timeout")
            .map(|o| (o.topic.as_str(), o.headers[saga::ATTEMPT].as_i64().unwrap()))
            .collect();
        assert_eq!(sent, c.sent, "{}: commands", c.name);
        assert_eq!(t.writes.timer.is_some(), c.timer, "{}: timer", c.name);
        if let Some(r) = c.reason {
            let reason = inst.reason.clone().unwrap_or_default();
            assert!(reason.contains(r), "{}: reason {reason:?}", c.name);
        }
        // A command and its wait: the instance's old timer goes.
        if !fired && (!c.sent.is_empty() || inst.state.is_terminal() || inst.state == State::Failed)
        {
            assert_eq!(
                t.writes.cancelled(),
                c.before.timer_id,
                "{}: old timer",
                c.name
            );
        }
    }

    #[test]
    fn every_transition() {
        use Phase::{Compensation, Step};
        use State::*;
        let cases = [
            Case {
                name: "start",
                before: Instance {
                    timer_id: None,
                    ..waiting(Running, 0, 1, 0)
                },
                arrives: Arrives::Start,
                after: (Running, 0, 1, 0),
                timeline: &["started", "command_sent"],
                sent: &[("order.reserve", 1)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "step done",
                before: waiting(Running, 0, 1, 0),
                arrives: Arrives::Reply(reply("reserve", Step, 1, true)),
                after: (Running, 1, 1, 1),
                timeline: &["step_done", "command_sent"],
                sent: &[("order.charge", 1)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "last step done",
                before: waiting(Running, 2, 1, 2),
                arrives: Arrives::Reply(reply("ship", Step, 1, true)),
                after: (Completed, 2, 1, 3),
                timeline: &["step_done", "completed"],
                sent: &[],
                timer: false,
                reason: None,
                ignored: None,
            },
            Case {
                name: "step failed: the steps before it are undone",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Reply(reply("charge", Step, 1, false)),
                after: (Compensating, 0, 1, 1),
                timeline: &["step_failed", "compensation_sent"],
                sent: &[("order.release", 1)],
                timer: true,
                reason: Some("step charge failed: declined"),
                ignored: None,
            },
            Case {
                name: "first step failed: nothing to undo",
                before: waiting(Running, 0, 1, 0),
                arrives: Arrives::Reply(reply("reserve", Step, 1, false)),
                after: (Compensated, 0, 1, 0),
                timeline: &["step_failed", "compensated"],
                sent: &[],
                timer: false,
                reason: Some("step reserve failed"),
                ignored: None,
            },
            Case {
                name: "time-out with retries left: the same command again",
                before: waiting(Running, 0, 1, 0),
                arrives: Arrives::Timer(timer("reserve", Step, 1)),
                after: (Running, 0, 2, 0),
                timeline: &["timed_out", "command_sent"],
                sent: &[("order.reserve", 2)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "time-out with no retry left: compensate it too",
                before: waiting(Running, 1, 2, 1),
                arrives: Arrives::Timer(timer("charge", Step, 2)),
                after: (Compensating, 1, 1, 2),
                timeline: &["timed_out", "compensation_sent"],
                sent: &[("order.refund", 1)],
                timer: true,
                reason: Some("step charge got no reply in 30s after 2 attempt(s)"),
                ignored: None,
            },
            Case {
                name: "time-out past the deadline",
                before: Instance {
                    deadline: now() - chrono::Duration::seconds(1),
                    ..waiting(Running, 1, 1, 1)
                },
                arrives: Arrives::Timer(timer("charge", Step, 1)),
                after: (Compensating, 1, 1, 2),
                timeline: &["timed_out", "compensation_sent"],
                sent: &[("order.refund", 1)],
                timer: true,
                reason: Some("the deadline of 10m passed while step charge waited"),
                ignored: None,
            },
            Case {
                name: "a timer of an attempt answered already",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Timer(timer("reserve", Step, 1)),
                after: (Running, 1, 1, 1),
                timeline: &[],
                sent: &[],
                timer: false,
                reason: None,
                ignored: None,
            },
            Case {
                name: "a timer racing the reply that already moved the step on",
                before: waiting(Running, 0, 2, 0),
                arrives: Arrives::Timer(timer("reserve", Step, 1)),
                after: (Running, 0, 2, 0),
                timeline: &[],
                sent: &[],
                timer: false,
                reason: None,
                ignored: None,
            },
            Case {
                name: "success from an older attempt of the step waited for",
                before: waiting(Running, 0, 2, 0),
                arrives: Arrives::Reply(reply("reserve", Step, 1, true)),
                after: (Running, 1, 1, 1),
                timeline: &["step_done", "command_sent"],
                sent: &[("order.charge", 1)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "failure from an older attempt of the step waited for: the answer too",
                before: waiting(Running, 1, 2, 1),
                arrives: Arrives::Reply(reply("charge", Step, 1, false)),
                after: (Compensating, 0, 1, 1),
                timeline: &["step_failed", "compensation_sent"],
                sent: &[("order.release", 1)],
                timer: true,
                reason: Some("step charge failed: declined"),
                ignored: None,
            },
            Case {
                name: "a reply under a step's old name reaches it",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Reply(reply("pay", Step, 1, true)),
                after: (Running, 2, 1, 2),
                timeline: &["step_done", "command_sent"],
                sent: &[("order.ship", 1)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "a timer under a step's old name fires",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Timer(timer("pay", Step, 1)),
                after: (Running, 1, 2, 1),
                timeline: &["timed_out", "command_sent"],
                sent: &[("order.charge", 2)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "a reply naming no step of the saga",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Reply(reply("bill", Step, 1, true)),
                after: (Running, 1, 1, 1),
                timeline: &["ignored_reply"],
                sent: &[],
                timer: false,
                reason: None,
                ignored: Some("unknown step"),
            },
            Case {
                name: "a failure for a step the saga has moved past",
                before: waiting(Compensating, 0, 1, 1),
                arrives: Arrives::Reply(reply("charge", Step, 1, false)),
                after: (Compensating, 0, 1, 1),
                timeline: &["ignored_reply"],
                sent: &[],
                timer: false,
                reason: None,
                ignored: Some("stale"),
            },
            Case {
                name: "abort before the command in flight went out: it is not undone",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::AbortUnsent,
                after: (Compensating, 0, 1, 1),
                timeline: &["aborted", "compensation_sent"],
                sent: &[("order.release", 1)],
                timer: true,
                reason: Some("aborted by alice@db1"),
                ignored: None,
            },
            Case {
                name: "a duplicate reply of a step done",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Reply(reply("reserve", Step, 1, true)),
                after: (Running, 1, 1, 1),
                timeline: &["ignored_reply"],
                sent: &[],
                timer: false,
                reason: None,
                ignored: Some("duplicate"),
            },
            Case {
                name: "abort while a step is in flight: compensate it too",
                before: waiting(Running, 1, 1, 1),
                arrives: Arrives::Act(Action::Abort),
                after: (Compensating, 1, 1, 2),
                timeline: &["aborted", "compensation_sent"],
                sent: &[("order.refund", 1)],
                timer: true,
                reason: Some("aborted by alice@db1"),
                ignored: None,
            },
            Case {
                name: "compensation done: the next one down",
                before: waiting(Compensating, 1, 1, 2),
                arrives: Arrives::Reply(reply("charge", Compensation, 1, true)),
                after: (Compensating, 0, 1, 1),
                timeline: &["compensation_done", "compensation_sent"],
                sent: &[("order.release", 1)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "compensation failed with retries left: sent again",
                before: waiting(Compensating, 0, 1, 1),
                arrives: Arrives::Reply(reply("reserve", Compensation, 1, false)),
                after: (Compensating, 0, 2, 1),
                timeline: &["compensation_failed", "compensation_sent"],
                sent: &[("order.release", 2)],
                timer: true,
                reason: None,
                ignored: None,
            },
            Case {
                name: "compensation failing past its retries: the saga fails",
                before: waiting(Compensating, 0, 3, 1),
                arrives: Arrives::Reply(reply("reserve", Compensation, 3, false)),
                after: (Failed, 0, 3, 1),
                timeline: &["compensation_failed", "failed"],
                sent: &[],
                timer: false,
                reason: Some("the compensation of step reserve failed: declined"),
                ignored: None,
            },
            Case {
                name: "a compensation's time-out past its retries",
                before: waiting(Compensating, 0, 3, 1),
                arrives: Arrives::Timer(timer("reserve", Compensation, 3)),
                after: (Failed, 0, 3, 1),
                timeline: &["timed_out", "failed"],
                sent: &[],
                timer: false,
                reason: Some("got no reply in 30s"),
                ignored: None,
            },
            Case {
                name: "retry of a failed saga: its compensation again",
                before: Instance {
                    timer_id: None,
                    ..waiting(Failed, 0, 3, 1)
                },
                arrives: Arrives::Act(Action::Retry),
                after: (Compensating, 0, 4, 1),
                timeline: &["retried", "compensation_sent"],
                sent: &[("order.release", 4)],
                timer: true,
                reason: None,
                ignored: None,
            },
        ];
        for c in cases {
            run(c);
        }
    }

    #[test]
    fn what_does_not_apply_changes_nothing() {
        let saga = order_saga();
        for (before, action) in [
            (waiting(State::Completed, 2, 1, 3), Action::Abort),
            (waiting(State::Compensated, 0, 1, 0), Action::Retry),
            (waiting(State::Compensating, 0, 1, 1), Action::Abort),
        ] {
            let mut t = Transition::new(&saga, Some("alice"), now());
            let mut inst = before.clone();
            assert!(
                t.act(&mut inst, action, true).is_err(),
                "{action:?} {:?}",
                before.state
            );
            assert_eq!(inst, before);
            assert!(t.writes.events.is_empty() && t.writes.outgoing.is_empty());
        }
        let mut t = Transition::new(&saga, None, now());
        let mut other = Instance {
            saga: "shipping".into(),
            ..waiting(State::Running, 0, 1, 0)
        };
        let before = other.clone();
        assert!(
            t.reply(
                &mut other,
                reply("reserve", Phase::Step, 1, true),
                Uuid::nil()
            )
            .is_err()
        );
        assert_eq!(other, before);
    }
}
