//! One saga's handler on the orchestrator's queue: the I/O around the state
//! machine (`machine`). A delivery batch's messages are decoded, the
//! instances they name are locked and those their starts begin created —
//! one statement each, however many messages — then each message's
//! transition applies in order, and one statement writes back what all of
//! them changed. All of it runs in the consumer's transaction, beside the
//! inbox rows of the messages that caused it. An operator's abort or retry
//! (`act`) is one transition on one locked instance.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use sqlx::PgConnection;
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::machine::{Action, Transition};
use crate::config::{Config, SagaConfig};
use crate::flow::handlers::{
    Done, Handler, HandlerError, HandlerFuture, HandlersFuture, Measure, Message,
};
use crate::model::saga::{Instance, Phase, Reply, State, Timer, Writes};
use crate::store::StoreError;
use crate::store::saga::{self as db, NewInstance};

pub struct Orchestrator {
    saga: Arc<SagaConfig>,
    reply_topic: String,
    timeout_topic: String,
    /// The definition's version, kept by the instances it starts.
    version: String,
}

impl Orchestrator {
    pub fn new(saga: &SagaConfig) -> Self {
        Self {
            reply_topic: saga.reply_topic(),
            timeout_topic: saga.timeout_topic(),
            version: saga.version(),
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

impl Input<'_> {
    /// The instance it is about.
    fn instance(&self) -> Uuid {
        match self {
            Self::Start { id, .. } => *id,
            Self::Reply(r, _) => r.saga_id,
            Self::Timer(t) => t.saga_id,
        }
    }
}

/// The instances a batch holds: each with what its transitions wrote so
/// far, and whether any of them changed it.
type Held = HashMap<Uuid, (db::Change, bool)>;

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
        let mut held = self.hold(conn, &inputs).await?;
        let mut changed = Vec::new();
        let mut done = Vec::with_capacity(inputs.len());
        for input in inputs {
            let id = input.instance();
            let mut t = Transition::new(&self.saga, None, Utc::now());
            if self.apply(&mut t, input, held.get_mut(&id))?
                && let Some((_, seen)) = held.get_mut(&id)
                && !std::mem::replace(seen, true)
            {
                changed.push(id);
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

    /// Lock the instances the replies and timers name, then create those
    /// the starts begin. Locks first, creation second: a start that waits
    /// for another transaction's start of the same correlation holds no lock
    /// that transaction could be waiting for.
    async fn hold(
        &self,
        conn: &mut PgConnection,
        inputs: &[Input<'_>],
    ) -> Result<Held, HandlerError> {
        let mut named: Vec<Uuid> = inputs
            .iter()
            .filter(|i| !matches!(i, Input::Start { .. }))
            .map(Input::instance)
            .collect();
        named.sort_unstable();
        named.dedup();
        let mut held = Held::new();
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
                    version: &self.version,
                }),
                _ => None,
            })
            .collect();
        for h in db::start(conn, &new).await? {
            held.insert(h.instance.id, (change(h), false));
        }
        Ok(held)
    }

    /// One message's transition on the instance it names (if this batch
    /// holds it): whether it changed the instance.
    fn apply(
        &self,
        t: &mut Transition<'_>,
        input: Input<'_>,
        entry: Option<&mut (db::Change, bool)>,
    ) -> Result<bool, HandlerError> {
        let Some((c, _)) = entry else {
            return match input {
                Input::Start { correlation, .. } => {
                    debug!(saga = %self.saga.name, correlation, "started before; nothing to do");
                    t.start_again();
                    Ok(false)
                }
                Input::Reply(reply, _) => Err(HandlerError::Reject(format!(
                    "a reply for saga instance {} of {}, which does not exist: never \
                     started, or deleted (step {:?}, attempt {})",
                    reply.saga_id, self.saga.name, reply.step, reply.attempt
                ))),
                // Deleted since: nothing waits for it.
                Input::Timer(_) => Ok(false),
            };
        };
        t.writes = std::mem::take(&mut c.writes);
        let inst = &mut c.held.instance;
        let before = inst.state;
        let wrote = match input {
            Input::Start {
                correlation, cause, ..
            } => {
                t.start(inst, &correlation, cause);
                Ok(true)
            }
            Input::Reply(reply, cause) => {
                let step = reply.step.clone();
                match t.reply(inst, reply, cause) {
                    Ok(Some("unknown step")) => {
                        warn!(saga = %self.saga.name, id = %inst.id, step,
                            "a reply names a step the saga does not have: recorded and ignored \
                             — a participant replies with the `step` of the command it got");
                        Ok(true)
                    }
                    Ok(_) => Ok(true),
                    Err(e) => Err(HandlerError::Reject(e)),
                }
            }
            Input::Timer(timer) => Ok(t.timer(inst, timer)),
        };
        c.writes = std::mem::take(&mut t.writes);
        tell(&self.saga.name, before, inst);
        wrote
    }
}

/// Say what a transition did that an operator should hear of: an instance
/// that began to compensate, or failed.
fn tell(saga: &str, before: State, after: &Instance) {
    let reason = after.reason.as_deref().unwrap_or("-");
    match (before, after.state) {
        (State::Running, State::Compensating | State::Compensated) => {
            info!(saga, id = %after.id, reason, "compensating")
        }
        (b, State::Failed) if b != State::Failed => warn!(saga, id = %after.id, reason,
            "saga failed: a compensation ran out of retries; see `outboxctl saga why {}`", after.id),
        _ => {}
    }
}

/// Why an action cannot apply, or the instance as it is after it.
pub async fn act(
    config: &Config,
    pool: &sqlx::PgPool,
    id: uuid::Uuid,
    action: Action,
    actor: &str,
) -> Result<Result<Instance, String>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(mut held) = db::lock(&mut tx, &[id]).await?.pop() else {
        return Ok(Err(format!("there is no saga instance {id}")));
    };
    let inst = &mut held.instance;
    let Some(saga) = config.sagas.iter().find(|s| s.name == inst.saga) else {
        return Ok(Err(format!(
            "instance {id} belongs to saga {}, which the configuration no longer declares",
            inst.saga
        )));
    };
    let mut t = Transition::new(saga, Some(actor), chrono::Utc::now());
    let before = inst.state;
    // An abort withdraws the command of the step in flight if it is not
    // out; if no attempt of it ever went out, its effect cannot have
    // happened, and it is not undone.
    let command_sent = match (action, inst.state, inst.waiting_step.as_deref()) {
        (Action::Abort, State::Running, Some(step)) => {
            let command = crate::model::saga::command_id(inst.id, Phase::Step, step);
            db::withdraw(&mut tx, command).await?
        }
        _ => true,
    };
    if let Err(why) = t.act(inst, action, command_sent) {
        return Ok(Err(why));
    }
    tell(&saga.name, before, inst);
    let mut changes = [db::Change {
        held,
        writes: std::mem::take(&mut t.writes),
    }];
    db::save(&mut tx, &mut changes).await?;
    tx.commit().await?;
    t.measures.iter().for_each(Measure::record);
    let [db::Change { held, .. }] = changes;
    Ok(Ok(held.instance))
}

fn change(held: db::Held) -> db::Change {
    db::Change {
        held,
        writes: Writes::default(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(m: &Message, what: &str) -> Result<T, HandlerError> {
    serde_json::from_value(m.payload.clone())
        .map_err(|e| HandlerError::Reject(format!("not {what} of a saga: {e}")))
}
