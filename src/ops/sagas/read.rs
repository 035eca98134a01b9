//! Reading sagas: `saga ls` (instances, newest first, cut to the
//! terminal), `saga show` (one instance's timeline) and `saga graph` (a
//! saga's steps and compensations as a Mermaid flowchart).

use chrono::Utc;

use super::instances::{definition, find, step_name};
use crate::cli::{Output, SagaLsArgs};
use crate::config::{Config, SagaConfig};
use crate::model::saga::InstanceRef;
use crate::ops::{Outcome, connect, cut_short};
use crate::output::{self, Column, age, when};
use crate::store::saga as db;

pub async fn ls(config: &Config, args: &SagaLsArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let filter = db::Filter {
        saga: args.saga.clone(),
        state: args.state,
        correlation: args.correlation.clone(),
        started_before: args
            .older_than
            .map(|d| Utc::now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
        limit: args.limit,
    };
    let rows = db::list(&pool, &filter).await?;
    // A listing cut short says so, and by how much (counted up to 100,000).
    let more = if rows.len() as u32 == args.limit {
        db::count_beyond(&pool, &filter, 100_000).await?
    } else {
        0
    };
    if args.output.output == Output::Json {
        for r in &rows {
            output::json_line(r)?;
        }
    } else if rows.is_empty() {
        eprintln!("outboxctl: no saga instances match");
    } else {
        let now = Utc::now();
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let step = if r.state.is_terminal() {
                    "-".into()
                } else {
                    step_name(config, r)
                };
                vec![
                    r.id.to_string(),
                    r.saga.clone(),
                    r.correlation.clone(),
                    r.state.as_str().to_string(),
                    step,
                    r.attempt.to_string(),
                    age(now - r.started_at),
                    r.reason.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        output::fitted(
            &[
                Column::fixed("id"),
                Column::optional("saga"),
                Column::flex("key", 6),
                Column::fixed("state"),
                Column::optional("step"),
                Column::optional("attempt"),
                Column::fixed("age"),
                Column::flex("reason", 10),
            ],
            &cells,
            args.wide.wide,
            "--wide shows every column in full, -o json every field",
        )?;
    }
    cut_short(
        rows.len(),
        "instances (newest first)",
        more,
        "--saga, --state, --correlation, --older-than",
    );
    Ok(Outcome::Success)
}

pub async fn show(
    config: &Config,
    r: &InstanceRef,
    wide: bool,
    format: Output,
) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let i = find(config, &pool, r).await?;
    let timeline = db::timeline(&pool, i.id).await?;
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
    output::line(format!("key          {}", i.correlation))?;
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
    if definition(config, &i.saga).is_none() {
        output::line(format!(
            "note         this configuration declares no saga {}: nothing runs it",
            i.saga
        ))?;
    }
    output::line("")?;
    let mut sent_at = None;
    let rows: Vec<Vec<String>> = timeline
        .iter()
        .map(|e| {
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
                (Some(d), _) if !d.is_null() => d.to_string(),
                (_, Some(a)) => format!("by {a}"),
                _ => "-".into(),
            };
            vec![
                e.at.format("%H:%M:%S%.3f").to_string(),
                e.kind.clone(),
                e.step.clone().unwrap_or_else(|| "-".into()),
                e.attempt.map_or("-".into(), |a| a.to_string()),
                took,
                detail,
            ]
        })
        .collect();
    output::fitted(
        &[
            Column::fixed("at"),
            Column::fixed("event"),
            Column::flex("step", 6),
            Column::optional("attempt"),
            Column::fixed("took"),
            Column::flex("output or reason", 16),
        ],
        &rows,
        wide,
        "--wide shows every column in full, -o json every field",
    )?;
    Ok(Outcome::Success)
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

pub fn graph(config: &Config, name: &str) -> anyhow::Result<Outcome> {
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
