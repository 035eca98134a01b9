//! Fencing stale saga commands: a command carries what it is for (saga,
//! step, phase); when its instance no longer waits for that step and phase
//! — aborted, compensating, moved on, timed out to a later decision — the
//! handlers here do not run its effect. The delivery is recorded as stale,
//! acknowledged, and the instance's timeline says so. In the transaction
//! that would run the effect, the instance is held (`FOR SHARE`) while the
//! effect commits, so an abort that races it either comes first (and the
//! effect does not happen) or waits and then finds the step done (and
//! undoes it). Calls out (webhooks, commands) are checked before they are
//! made; one already made is not undone here — its reply tells the saga.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::consumer::Consumer;
use crate::flow::handlers::Message;
use crate::model::saga::{Ref, State, Wait};
use crate::store::{StoreError, saga as db};

/// The key of a stale delivery's recorded output: a copy delivered again
/// gets no reply either.
pub(super) const STALE: &str = "x-outbox-stale";

/// Why a command is stale: the instance's state and what it waits for.
fn why(w: &Wait, r: &Ref) -> String {
    let waits = match (w.state, &w.step) {
        (State::Running, Some(s)) => format!("running, waiting for step {s}"),
        (State::Compensating, Some(s)) => {
            format!("compensating, waiting for the compensation of step {s}")
        }
        (state, _) => state.as_str().to_string(),
    };
    format!(
        "saga {} instance {} has moved on from the {} of step {} (it is {waits})",
        r.saga,
        r.saga_id,
        r.phase.as_str(),
        r.step
    )
}

impl Consumer {
    /// For each of `messages` that `check` selects and that is a saga
    /// command some handler here serves: why it is stale, if it is. `lock`
    /// holds the instances until the transaction on `conn` ends.
    pub(super) async fn stale(
        &self,
        conn: &mut PgConnection,
        messages: &[&Message],
        check: impl Fn(usize) -> bool,
        lock: bool,
    ) -> Result<Vec<Option<String>>, StoreError> {
        let refs: Vec<Option<&Ref>> = messages
            .iter()
            .enumerate()
            .map(|(n, m)| {
                m.saga
                    .as_ref()
                    .filter(|_| check(n) && self.handlers.matching(&m.topic).next().is_some())
            })
            .collect();
        let mut ids: Vec<Uuid> = refs.iter().flatten().map(|r| r.saga_id).collect();
        if ids.is_empty() {
            return Ok(vec![None; messages.len()]);
        }
        ids.sort_unstable();
        ids.dedup();
        let waits: HashMap<Uuid, Wait> = db::waits(conn, &ids, lock).await?;
        Ok(refs
            .into_iter()
            .map(|r| {
                let r = r?;
                // An instance this database does not have is another's: it
                // cannot be told here.
                let w = waits.get(&r.saga_id)?;
                let step = self.settings.current_step(&r.saga, &r.step);
                (w.of(r.phase, step) == Some(false)).then(|| why(w, r))
            })
            .collect())
    }
}

/// What a stale delivery's history row keeps as its output.
pub(super) fn output(why: &str) -> Value {
    json!({ STALE: why })
}

/// Whether a recorded output is a stale delivery's.
pub(super) fn was_stale(output: Option<&Value>) -> bool {
    output.is_some_and(|o| o.get(STALE).is_some())
}

/// The timeline entry of a fenced command.
pub(super) fn record(r: &Ref, message_id: Uuid, consumer: &str, why: &str) -> db::Stale {
    db::Stale {
        saga_id: r.saga_id,
        step: r.step.clone(),
        attempt: i32::try_from(r.attempt).unwrap_or(i32::MAX),
        message_id,
        detail: json!({ "phase": r.phase.as_str(), "consumer": consumer, "why": why }),
    }
}
