//! `saga why`: one paragraph on an instance — what it waits for and what to
//! do about it, or, finished, how it ended: which steps were done, which
//! failed and why, what was undone.

use chrono::Utc;
use sqlx::PgPool;

use super::instances::{definition, find};
use crate::config::{Config, SagaConfig, StepConfig};
use crate::model::saga::{self, Event, Instance, InstanceRef, Phase, State};
use crate::model::{MessageId, TopicPattern};
use crate::ops::{Outcome, connect};
use crate::output::{self, age, when};
use crate::store::{inbox, saga as db};

pub async fn why(config: &Config, r: &InstanceRef) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let i = find(config, &pool, r).await?;
    let id = i.id;
    let Some(def) = definition(config, &i.saga) else {
        output::line(format!(
            "Instance {id} belongs to saga {}, which this configuration does not declare: \
             nothing runs it. Restore its [[sagas]] entry.",
            i.saga
        ))?;
        return Ok(Outcome::Success);
    };
    let timeline = db::timeline(&pool, id).await?;
    let name = format!("Instance {id} of saga {} (key {})", i.saga, i.correlation);
    let text = match i.state {
        State::Completed => completed(&name, &i, def, &timeline),
        State::Compensated => compensated(&name, &i, def, &timeline),
        State::Running | State::Compensating => waiting(config, &pool, &name, &i, def).await?,
        State::Failed => failed(config, &pool, &name, &i, def).await?,
    };
    output::line(text)?;
    Ok(Outcome::Success)
}

/// How long from `from` to `to`, for people.
fn took(from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>) -> String {
    let d = to - from;
    if d < chrono::TimeDelta::seconds(10) {
        format!("{}ms", d.num_milliseconds())
    } else {
        age(d)
    }
}

/// The last event of `kind` of step `step`.
fn last<'a>(timeline: &'a [Event], kind: &str, step: &str) -> Option<&'a Event> {
    timeline
        .iter()
        .rev()
        .find(|e| e.kind == kind && e.step.as_deref() == Some(step))
}

fn completed(name: &str, i: &Instance, def: &SagaConfig, timeline: &[Event]) -> String {
    let finished = i.finished_at.unwrap_or(i.updated_at);
    let steps: Vec<String> = def
        .steps
        .iter()
        .map(|s| match last(timeline, "step_done", &s.name) {
            Some(e) => format!("{} at {}", s.name, e.at.format("%H:%M:%S%.3f")),
            None => s.name.clone(),
        })
        .collect();
    format!(
        "{name} completed {} after {}: every step is done — {}. Nothing waits. Its timeline: \
         `outboxctl saga show {}`.",
        when(finished),
        took(i.started_at, finished),
        steps.join(", "),
        i.id
    )
}

fn compensated(name: &str, i: &Instance, def: &SagaConfig, timeline: &[Event]) -> String {
    let finished = i.finished_at.unwrap_or(i.updated_at);
    let mut parts = vec![format!(
        "{name} compensated {} after {}: {}.",
        when(finished),
        took(i.started_at, finished),
        i.reason.as_deref().unwrap_or("(no reason recorded)")
    )];
    if let Some(a) = timeline.iter().find(|e| e.kind == "aborted") {
        parts.push(format!(
            "{} aborted it at {}.",
            a.actor.as_deref().unwrap_or("An operator"),
            a.at.format("%H:%M:%S%.3f")
        ));
    }
    let done: Vec<&StepConfig> = def
        .steps
        .iter()
        .filter(|s| last(timeline, "step_done", &s.name).is_some())
        .collect();
    parts.push(if done.is_empty() {
        "No step had been done, so nothing was undone.".into()
    } else {
        format!(
            "Done before that: {}.",
            done.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    // What the compensations undid, latest step first, as they ran.
    let undone: Vec<String> = timeline
        .iter()
        .filter(|e| e.kind == "compensation_done")
        .filter_map(|e| {
            let step = e.step.as_deref()?;
            let comp = def
                .steps
                .iter()
                .find(|s| s.name == step)
                .and_then(|s| s.compensation.as_deref())
                .unwrap_or("-");
            Some(format!(
                "{step} ({comp}, done at {})",
                e.at.format("%H:%M:%S%.3f")
            ))
        })
        .collect();
    if !undone.is_empty() {
        parts.push(format!("Undone, latest first: {}.", undone.join(", ")));
    }
    let not_undoable: Vec<&str> = done
        .iter()
        .filter(|s| s.compensation.is_none())
        .map(|s| s.name.as_str())
        .collect();
    if !not_undoable.is_empty() {
        parts.push(format!(
            "Left as they are (they declare no compensation): {}.",
            not_undoable.join(", ")
        ));
    }
    parts.push(format!("Its timeline: `outboxctl saga show {}`.", i.id));
    parts.join(" ")
}

/// Who receives `topic`: the queues bound to it and the handlers serving it.
fn receivers(config: &Config, topic: &str) -> String {
    let mut out = Vec::new();
    for q in config.bound_queues() {
        let bound = q
            .bindings
            .iter()
            .filter_map(|b| TopicPattern::parse(b).ok())
            .any(|p| p.matches(topic));
        if !bound {
            continue;
        }
        let handlers: Vec<String> = config
            .handlers_of(&q.name)
            .filter(|h| {
                h.topics
                    .iter()
                    .filter_map(|t| TopicPattern::parse(t).ok())
                    .any(|p| p.matches(topic))
            })
            .map(|h| format!("handler {}", h.name))
            .collect();
        if handlers.is_empty() {
            out.push(format!(
                "queue {} (no handler here: a service of its own?)",
                q.name
            ));
        } else {
            out.push(format!("queue {} ({})", q.name, handlers.join(", ")));
        }
    }
    if out.is_empty() {
        "no queue".into()
    } else {
        out.join("; ")
    }
}

/// Where the dead letter of the command the instance waits on is, if a
/// consumer gave up on it: a sentence with the command that shows it.
async fn dead_letter(
    pool: &PgPool,
    i: &Instance,
    phase: Phase,
    step: &str,
) -> anyhow::Result<String> {
    let mid = MessageId(saga::command_id(i.id, phase, step));
    let dead = inbox::dead_lettered(pool, mid).await?;
    Ok(match dead.first() {
        Some(d) => format!(
            " Consumer {} gave up on that {} {} and dead-lettered it in {}.dlq: {} — \
             `outboxctl dlq show {mid}` shows it.",
            d.consumer,
            phase.as_str(),
            when(d.dead_at),
            d.queue,
            d.reason
        ),
        None => String::new(),
    })
}

async fn waiting(
    config: &Config,
    pool: &PgPool,
    name: &str,
    i: &Instance,
    def: &SagaConfig,
) -> anyhow::Result<String> {
    let id = i.id;
    let step = &def.steps[i.step as usize];
    let tries = 1 + step.retries;
    let since = i.waiting_since.map_or_else(|| "-".to_string(), when);
    Ok(if i.state == State::Running {
        format!(
            "{name} waits for the reply to step {} (attempt {} of {tries}), whose command went out \
             on {} at {since}; it reaches {}. With no reply in {}, the command is sent again, \
             then the saga compensates{}.{} If nothing answers, look at that queue (`outboxctl \
             lag`) and the dead letters (`outboxctl dlq ls`); `outboxctl saga retry {id}` sends \
             the command again now, `outboxctl saga abort {id}` compensates now.",
            step.name,
            i.attempt,
            step.command,
            receivers(config, &step.command),
            humantime::format_duration(step.timeout),
            if i.deadline < Utc::now() {
                " (its deadline has passed)".to_string()
            } else {
                format!(" at the latest at its deadline, {}", when(i.deadline))
            },
            dead_letter(pool, i, Phase::Step, &step.name).await?,
        )
    } else {
        format!(
            "{name} is compensating ({}) and waits for the reply to the compensation of step {} \
             (attempt {} of {tries}), sent on {} at {since}; it reaches {}. If it fails or gets \
             no reply {tries} time(s), the saga fails and waits for an operator.{}",
            i.reason.as_deref().unwrap_or("-"),
            step.name,
            i.attempt,
            step.compensation.as_deref().unwrap_or("-"),
            receivers(config, step.compensation.as_deref().unwrap_or_default()),
            dead_letter(pool, i, Phase::Compensation, &step.name).await?,
        )
    })
}

async fn failed(
    config: &Config,
    pool: &PgPool,
    name: &str,
    i: &Instance,
    def: &SagaConfig,
) -> anyhow::Result<String> {
    let id = i.id;
    let step = &def.steps[i.step as usize];
    Ok(format!(
        "{name} failed: {}. The compensation of step {} (topic {}, served by {}) did not \
         work {} time(s); steps before it are not undone yet.{} Fix the cause, then `outboxctl \
         saga retry {id}` sends that compensation again and the saga goes on undoing.",
        i.reason.as_deref().unwrap_or("(no reason recorded)"),
        step.name,
        step.compensation.as_deref().unwrap_or("-"),
        receivers(config, step.compensation.as_deref().unwrap_or_default()),
        i.attempt,
        dead_letter(pool, i, Phase::Compensation, &step.name).await?,
    ))
}
