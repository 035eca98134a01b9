//! `outboxctl saga ls|show|why|abort|retry|graph`: see every instance, its
//! timeline and what it waits for; steer one that is stuck.

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Outcome, declined};
use crate::cli::{Output, SagaActArgs, SagaCommand, SagaLsArgs};
use crate::config::{Config, SagaConfig};
use crate::flow::saga::{self, Action};
use crate::model::TopicPattern;
use crate::model::saga::{Event, Instance, State};
use crate::output::{self, age, cut, when};
use crate::store::{self, saga as db};

async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    let pool = store::connect(&config.database, "outboxctl ops", &[("jit", "off".into())]).await?;
    store::check_schema(&pool).await?;
    Ok(pool)
}

pub async fn command(config: &Config, cmd: SagaCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SagaCommand::Run(_) => unreachable!("`saga run` is the orchestrator (flow::saga)"),
        SagaCommand::Ls(args) => ls(config, &args).await,
        SagaCommand::Show { id, output } => show(config, id, output.output).await,
        SagaCommand::Why { id } => why(config, id).await,
        SagaCommand::Abort(args) => act(config, &args, Action::Abort).await,
        SagaCommand::Retry(args) => act(config, &args, Action::Retry).await,
        SagaCommand::Graph { name } => graph(config, &name),
    }
}

fn definition<'a>(config: &'a Config, name: &str) -> Option<&'a SagaConfig> {
    config.sagas.iter().find(|s| s.name == name)
}

/// The name of the step an instance is at.
fn step_name(config: &Config, i: &Instance) -> String {
    definition(config, &i.saga)
        .and_then(|s| s.steps.get(i.step as usize))
        .map_or_else(|| format!("#{}", i.step), |s| s.name.clone())
}

async fn ls(config: &Config, args: &SagaLsArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let filter = db::Filter {
        saga: args.saga.clone(),
        state: args.state,
        started_before: args
            .older_than
            .map(|d| Utc::now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
        limit: args.limit,
    };
    let rows = db::list(&pool, &filter).await?;
    if args.output.output == Output::Json {
        for r in &rows {
            output::json_line(r)?;
        }
        return Ok(Outcome::Success);
    }
    if rows.is_empty() {
        eprintln!("outboxctl: no saga instances match");
        return Ok(Outcome::Success);
    }
    let now = Utc::now();
    let mut t = output::table(&["id", "saga", "state", "step", "attempt", "age", "reason"]);
    let room = output::room(90);
    for r in &rows {
        let step = if r.state.is_terminal() {
            "-".into()
        } else {
            step_name(config, r)
        };
        t.add_row(vec![
            r.id.to_string(),
            r.saga.clone(),
            r.state.as_str().to_string(),
            step,
            r.attempt.to_string(),
            age(now - r.started_at),
            r.reason.as_deref().map_or("-".into(), |x| cut(x, room)),
        ]);
    }
    output::print_table(&t)?;
    Ok(Outcome::Success)
}

async fn instance(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<(Instance, Vec<Event>)>> {
    let Some(i) = db::get(pool, id).await? else {
        return Ok(None);
    };
    let timeline = db::timeline(pool, id).await?;
    Ok(Some((i, timeline)))
}

async fn show(config: &Config, id: Uuid, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some((i, timeline)) = instance(&pool, id).await? else {
        anyhow::bail!("there is no saga instance {id} — `outboxctl saga ls` lists them");
    };
    if format == Output::Json {
        let mut v = serde_json::to_value(&i)?;
        v["timeline"] = serde_json::to_value(&timeline)?;
        output::json_line(&v)?;
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "saga {}  instance {}  {}",
        i.saga,
        i.id,
        i.state.as_str()
    ))?;
    output::line(format!("correlation  {}", i.correlation))?;
    output::line(format!("started      {}", when(i.started_at)))?;
    match i.finished_at {
        Some(f) => {
            let took = f - i.started_at;
            let took = if took < chrono::TimeDelta::seconds(10) {
                format!("{}ms", took.num_milliseconds())
            } else {
                age(took)
            };
            output::line(format!("finished     {} after {took}", when(f)))?;
        }
        None => output::line(format!("deadline     {}", when(i.deadline)))?,
    }
    if let Some(r) = &i.reason {
        output::line(format!("reason       {r}"))?;
    }
    output::line("")?;
    let mut t = output::table(&["at", "event", "step", "attempt", "took", "output or reason"]);
    let room = output::room(80);
    let mut sent_at = None;
    for e in &timeline {
        let took = match e.kind.as_str() {
            "command_sent" | "compensation_sent" => {
                sent_at = Some(e.at);
                "-".to_string()
            }
            "step_done"
            | "step_failed"
            | "compensation_done"
            | "compensation_failed"
            | "timed_out" => sent_at.map_or("-".into(), |s| {
                format!("{}ms", (e.at - s).num_milliseconds())
            }),
            _ => "-".into(),
        };
        let detail = match (&e.detail, &e.actor) {
            (Some(d), _) if !d.is_null() => cut(&d.to_string(), room),
            (_, Some(a)) => format!("by {a}"),
            _ => "-".into(),
        };
        t.add_row(vec![
            e.at.format("%H:%M:%S%.3f").to_string(),
            e.kind.clone(),
            e.step.clone().unwrap_or_else(|| "-".into()),
            e.attempt.map_or("-".into(), |a| a.to_string()),
            took,
            detail,
        ]);
    }
    output::print_table(&t)?;
    Ok(Outcome::Success)
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

async fn why(config: &Config, id: Uuid) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(i) = db::get(&pool, id).await? else {
        anyhow::bail!("there is no saga instance {id} — `outboxctl saga ls` lists them");
    };
    let Some(def) = definition(config, &i.saga) else {
        output::line(format!(
            "Instance {id} belongs to saga {}, which this configuration does not declare: \
             nothing runs it. Restore its [[sagas]] entry.",
            i.saga
        ))?;
        return Ok(Outcome::Success);
    };
    let name = format!("Instance {id} of saga {}", i.saga);
    let step = &def.steps[i.step as usize];
    let tries = 1 + step.retries;
    let since = i.waiting_since.map_or_else(|| "-".to_string(), when);
    let text = match i.state {
        State::Completed | State::Compensated => format!(
            "{name} is {} since {}: nothing waits. Its timeline: `outboxctl saga show {id}`.",
            i.state.as_str(),
            i.finished_at.map_or("-".into(), when)
        ),
        State::Running => format!(
            "{name} waits for the reply to step {} (attempt {} of {tries}), whose command went out \
             on {} at {since}; it reaches {}. With no reply in {}, the command is sent again, \
             then the saga compensates{}. If nothing answers, look at that queue (`outboxctl lag`) \
             and its dead letters (`outboxctl dlq ls --queue …`); `outboxctl saga retry {id}` \
             sends the command again now, `outboxctl saga abort {id}` compensates now.",
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
        ),
        State::Compensating => format!(
            "{name} is compensating ({}) and waits for the reply to the compensation of step {} \
             (attempt {} of {tries}), sent on {} at {since}; it reaches {}. If it fails or gets \
             no reply {tries} time(s), the saga fails and waits for an operator.",
            i.reason.as_deref().unwrap_or("-"),
            step.name,
            i.attempt,
            step.compensation.as_deref().unwrap_or("-"),
            receivers(config, step.compensation.as_deref().unwrap_or_default()),
        ),
        State::Failed => format!(
            "{name} failed: {}. The compensation of step {} (topic {}, served by {}) did not \
             work {} time(s); steps before it are not undone yet. Fix the cause — its dead \
             letters tell it (`outboxctl dlq ls`) — then `outboxctl saga retry {id}` sends that \
             compensation again and the saga goes on undoing.",
            i.reason.as_deref().unwrap_or("(no reason recorded)"),
            step.name,
            step.compensation.as_deref().unwrap_or("-"),
            receivers(config, step.compensation.as_deref().unwrap_or_default()),
            i.attempt,
        ),
    };
    output::line(text)?;
    Ok(Outcome::Success)
}

async fn act(config: &Config, args: &SagaActArgs, action: Action) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let verb = match action {
        Action::Abort => "abort (compensate now)",
        Action::Retry => "retry (send the waited-for command again)",
    };
    let mut found = Vec::new();
    for id in &args.ids {
        match db::get(&pool, *id).await? {
            Some(i) => found.push(i),
            None => anyhow::bail!(
                "there is no saga instance {id} — `outboxctl saga ls` lists them; nothing changed"
            ),
        }
    }
    if args.dry_run {
        for i in &found {
            output::line(format!(
                "would {verb}: {} ({}, {} at step {})",
                i.id,
                i.saga,
                i.state.as_str(),
                step_name(config, i)
            ))?;
        }
        return Ok(Outcome::Success);
    }
    if !output::confirm(
        &format!("{verb} {} saga instances", found.len()),
        found.len(),
        args.yes,
    )? {
        return declined();
    }
    let actor = output::actor();
    let mut refused = 0;
    for i in &found {
        match saga::act(config, &pool, i.id, action, &actor).await? {
            Ok(after) => output::line(format!(
                "{}: {} at step {} (attempt {})",
                after.id,
                after.state.as_str(),
                step_name(config, &after),
                after.attempt
            ))?,
            Err(why) => {
                refused += 1;
                eprintln!("outboxctl: {why}");
            }
        }
    }
    Ok(if refused > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// The steps in order, each step's failure leading through the
/// compensations of the steps before it, in reverse.
pub fn mermaid(s: &SagaConfig) -> String {
    let mut out = vec!["flowchart LR".to_string()];
    let node = |i: usize| format!("s{i}");
    out.push(format!("    start([{}]) --> {}", s.start, node(0)));
    for (i, step) in s.steps.iter().enumerate() {
        out.push(format!(
            "    {}[\"{}<br/>{}\"]",
            node(i),
            step.name,
            step.command
        ));
        if let Some(c) = &step.compensation {
            out.push(format!("    u{i}[/\"undo {}<br/>{c}\"/]", step.name));
        }
        let next = if i + 1 < s.steps.len() {
            node(i + 1)
        } else {
            "completed([completed])".into()
        };
        out.push(format!("    {} -->|done| {next}", node(i)));
    }
    // Failing step i undoes the steps below it that have a compensation.
    let undo_below = |i: usize| (0..i).rev().find(|&j| s.steps[j].compensation.is_some());
    for i in 0..s.steps.len() {
        let target = undo_below(i).map_or("compensated([compensated])".to_string(), |j| {
            format!("u{j}")
        });
        out.push(format!("    {} -.->|fails| {target}", node(i)));
    }
    for (j, step) in s.steps.iter().enumerate() {
        if step.compensation.is_none() {
            continue;
        }
        let target = undo_below(j).map_or("compensated([compensated])".to_string(), |k| {
            format!("u{k}")
        });
        out.push(format!("    u{j} -.-> {target}"));
    }
    out.join("\n")
}

fn graph(config: &Config, name: &str) -> anyhow::Result<Outcome> {
    let Some(s) = definition(config, name) else {
        let names: Vec<&str> = config.sagas.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "there is no saga {name:?}; the configuration declares: {}",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
    };
    output::line(mermaid(s))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_shows_steps_and_compensations_in_reverse() {
        let g = mermaid(&SagaConfig::upload_example());
        for line in [
            "start([upload.created]) --> s0",
            "s0 -->|done| s1",
            "s2 -->|done| completed([completed])",
            "s0 -.->|fails| compensated([compensated])",
            "s1 -.->|fails| u0",
            "s2 -.->|fails| u1",
            "u1 -.-> u0",
            "u0 -.-> compensated([compensated])",
        ] {
            assert!(g.contains(line), "{line} missing from\n{g}");
        }
    }
}
