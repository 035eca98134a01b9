//! Saga messages: the headers a command carries, and the payloads of
//! commands, replies and timers; an instance and its timeline; what a
//! transition writes. A step's command has one message id for all its
//! attempts, so a consumer's inbox runs its effect once however often it is
//! sent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

pub const ID: &str = "x-saga-id";
pub const NAME: &str = "x-saga-name";
pub const STEP: &str = "x-saga-step";
pub const PHASE: &str = "x-saga-phase";
pub const ATTEMPT: &str = "x-saga-attempt";
pub const REPLY_TO: &str = "x-saga-reply-to";

/// Where an instance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum State {
    /// Waiting for a step's reply.
    Running,
    /// Undoing completed steps, in reverse.
    Compensating,
    /// Every step done.
    Completed,
    /// Every completed step undone.
    Compensated,
    /// A compensation ran out of retries: an operator must act.
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Compensating => "compensating",
            Self::Completed => "completed",
            Self::Compensated => "compensated",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Compensating,
            Self::Completed,
            Self::Compensated,
            Self::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Compensated)
    }
}

/// Doing a step, or undoing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Step,
    Compensation,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Step => "step",
            Self::Compensation => "compensation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "step" => Some(Self::Step),
            "compensation" => Some(Self::Compensation),
            _ => None,
        }
    }
}

/// The message id of a step's command (or compensation): the same for
/// every attempt.
pub fn command_id(saga_id: Uuid, phase: Phase, step: &str) -> Uuid {
    Uuid::new_v5(&saga_id, format!("{}:{step}", phase.as_str()).as_bytes())
}

/// How an operator names an instance: its id, or `SAGA:KEY` — the saga's
/// name and its business key (the value of the start payload's `correlate`
/// field), e.g. `order:42`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceRef {
    Id(Uuid),
    Key { saga: String, correlation: String },
}

impl std::str::FromStr for InstanceRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(id) = Uuid::parse_str(s) {
            return Ok(Self::Id(id));
        }
        match s.split_once(':') {
            Some((saga, key)) if !saga.is_empty() && !key.is_empty() => Ok(Self::Key {
                saga: saga.to_string(),
                correlation: key.to_string(),
            }),
            _ => Err(format!(
                "{s:?} names no saga instance: write its id, or SAGA:KEY — the saga's name and \
                 its business key, e.g. order:42"
            )),
        }
    }
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Key { saga, correlation } => write!(f, "{saga}:{correlation}"),
        }
    }
}

/// What a command's headers say about its saga.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub saga_id: Uuid,
    pub saga: String,
    pub step: String,
    pub phase: Phase,
    pub attempt: u32,
    pub reply_to: String,
}

/// The payload of a command: the start payload, the outputs of the steps
/// so far and, for a compensation, why the saga compensates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub saga_id: Uuid,
    pub saga: String,
    pub step: String,
    pub phase: Phase,
    pub attempt: u32,
    pub input: Value,
    pub outputs: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A step's answer: done (with an output the later steps see), or failed.
/// Any attempt of the step awaited is the answer, so `attempt` is for the
/// record (0 when a participant leaves it out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub saga_id: Uuid,
    pub step: String,
    pub phase: Phase,
    #[serde(default)]
    pub attempt: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A saga instance, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Instance {
    pub id: Uuid,
    pub saga: String,
    pub correlation: String,
    pub state: State,
    /// The step waited for (running) or being undone (compensating).
    pub step: i32,
    pub attempt: i32,
    /// Steps that completed (or may have: one that timed out).
    pub done: i32,
    pub input: Value,
    pub outputs: Value,
    pub reason: Option<String>,
    pub deadline: DateTime<Utc>,
    pub waiting_since: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub timer_id: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The definition it started under (a hash; `None`: before versions).
    pub version: Option<String>,
    /// The step it waits for, by name: its command while running, its
    /// compensation while compensating; `None` when it waits for nothing.
    pub waiting_step: Option<String>,
}

impl Instance {
    /// Whether the instance still waits for the command (or compensation)
    /// `r` is — `None` when it cannot tell (it predates `waiting_step`).
    /// A command it has moved past is stale: its effect must not happen.
    pub fn waits_for(&self, r: &Ref) -> Option<bool> {
        Wait {
            state: self.state,
            step: self.waiting_step.clone(),
        }
        .of(r.phase, &r.step)
    }
}

/// What an instance waits for, as a handler's transaction reads it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Wait {
    pub state: State,
    /// The step waited for, by name (`None`: nothing, or it cannot tell).
    pub step: Option<String>,
}

impl Wait {
    /// Whether it waits for `step`'s command (or compensation) — `None`
    /// when it cannot tell: a running or compensating instance that
    /// predates the record of the step it waits on.
    pub fn of(&self, phase: Phase, step: &str) -> Option<bool> {
        let phase_fits = matches!(
            (self.state, phase),
            (State::Running, Phase::Step) | (State::Compensating, Phase::Compensation)
        );
        match &self.step {
            _ if !phase_fits => Some(false),
            None => None,
            Some(waited) => Some(waited == step),
        }
    }
}

/// One entry of an instance's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub step: Option<String>,
    pub attempt: Option<i32>,
    pub detail: Option<Value>,
    pub message_id: Option<Uuid>,
    pub actor: Option<String>,
}

/// What a transition writes besides the instance: timeline entries, outbox
/// rows (the next command and the timer of its wait), a timer to drop.
#[derive(Debug, Default)]
pub struct Writes {
    pub events: Vec<NewEvent>,
    pub outgoing: Vec<Outgoing>,
    /// The pending timer row to delete (the answer came first).
    cancel: Option<i64>,
    /// The message id, among `outgoing`, of the timer the instance waits on.
    pub timer: Option<Uuid>,
}

impl Writes {
    /// The pending timer row to delete, if any.
    pub fn cancelled(&self) -> Option<i64> {
        self.cancel
    }

    /// Drop the timer of the instance's wait: `row`, its outbox row written
    /// before, and the one an earlier transition of this batch was about to
    /// write.
    pub fn cancel_timer(&mut self, row: Option<i64>) {
        if let Some(row) = row {
            debug_assert!(self.cancel.is_none(), "an instance waits on one timer row");
            self.cancel = Some(row);
        }
        if let Some(unwritten) = self.timer.take() {
            self.outgoing.retain(|o| o.message_id != unwritten);
        }
    }
}

/// An entry for an instance's timeline.
#[derive(Debug, Default)]
pub struct NewEvent {
    pub kind: &'static str,
    pub step: Option<String>,
    pub attempt: Option<i32>,
    pub detail: Option<Value>,
    pub message_id: Option<Uuid>,
    pub actor: Option<String>,
}

/// An outbox row a transition writes.
#[derive(Debug)]
pub struct Outgoing {
    pub message_id: Uuid,
    pub topic: String,
    pub partition_key: Option<String>,
    pub payload: Value,
    pub headers: Value,
    /// Not published before (a timer); `None`: at once.
    pub available_at: Option<DateTime<Utc>>,
}

/// A wait's end: the outbox row that arrives when a command had no reply
/// in time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub saga_id: Uuid,
    pub step: String,
    pub phase: Phase,
    pub attempt: u32,
}
