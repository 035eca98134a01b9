//! Saga commands an operator is about to look at or send again: whether
//! the saga they are for has moved on. A command the saga no longer waits
//! for must not have its effect now — the consumers fence it as stale, and
//! `outbox replay|requeue|retry` and `dlq replay` refuse it without
//! `--force` (an outside participant would act on it).

use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Config;
use crate::model::saga::{self, Phase};
use crate::store::saga as db;

/// What a command says it is for, from its headers.
#[derive(Debug, Clone)]
pub struct For {
    pub saga_id: Uuid,
    pub saga: String,
    pub step: String,
    pub phase: Phase,
}

impl For {
    /// From headers as a JSON object (an outbox row's).
    pub fn of_json(headers: &serde_json::Value) -> Option<Self> {
        let h = |k: &str| headers.get(k).and_then(|v| v.as_str());
        Some(Self {
            saga_id: h(saga::ID)?.parse().ok()?,
            saga: h(saga::NAME)?.to_string(),
            step: h(saga::STEP)?.to_string(),
            phase: Phase::parse(h(saga::PHASE)?)?,
        })
    }

    /// From a header reader (a dead letter's).
    pub fn of(header: impl Fn(&str) -> Option<String>) -> Option<Self> {
        Some(Self {
            saga_id: header(saga::ID)?.parse().ok()?,
            saga: header(saga::NAME)?,
            step: header(saga::STEP)?,
            phase: Phase::parse(&header(saga::PHASE)?)?,
        })
    }
}

/// Why the saga of command `c` no longer waits for it — `None` when it
/// does, or when that cannot be told (no such instance here).
pub async fn moved_on(config: &Config, pool: &PgPool, c: &For) -> anyhow::Result<Option<String>> {
    let Some(i) = db::get(pool, c.saga_id).await? else {
        return Ok(None);
    };
    let step = config
        .sagas
        .iter()
        .find(|s| s.name == c.saga)
        .map_or(c.step.as_str(), |s| s.current_name(&c.step));
    let r = saga::Ref {
        saga_id: c.saga_id,
        saga: c.saga.clone(),
        step: step.to_string(),
        phase: c.phase,
        attempt: 0,
        reply_to: String::new(),
    };
    Ok((i.waits_for(&r) == Some(false)).then(|| {
        let now = match (&i.waiting_step, i.state) {
            (Some(s), saga::State::Running) => format!("running, waiting for step {s}"),
            (Some(s), saga::State::Compensating) => {
                format!("compensating, waiting for the compensation of step {s}")
            }
            (_, state) => state.as_str().to_string(),
        };
        let reason = i
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        format!(
            "it is the {} of step {} of saga {} instance {}, which has moved on (it is \
             {now}{reason})",
            c.phase.as_str(),
            c.step,
            c.saga,
            c.saga_id
        )
    }))
}

/// For each command (or not a command): whether its saga has moved past
/// it, in one look at the instances.
pub async fn moved_on_all(
    config: &Config,
    pool: &PgPool,
    commands: &[Option<For>],
) -> anyhow::Result<Vec<bool>> {
    let mut ids: Vec<Uuid> = commands.iter().flatten().map(|c| c.saga_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut conn = pool.acquire().await?;
    let waits = db::waits(&mut conn, &ids, false).await?;
    Ok(commands
        .iter()
        .map(|c| {
            c.as_ref().is_some_and(|c| {
                let step = config
                    .sagas
                    .iter()
                    .find(|s| s.name == c.saga)
                    .map_or(c.step.as_str(), |s| s.current_name(&c.step));
                waits
                    .get(&c.saga_id)
                    .is_some_and(|w| w.of(c.phase, step) == Some(false))
            })
        })
        .collect())
}
