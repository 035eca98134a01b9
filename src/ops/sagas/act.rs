//! `saga abort` and `saga retry`: an operator's transition, on each
//! instance named. A dry run asks the state machine what it would do, so it
//! refuses exactly what the real command refuses.

use super::instances::{find, step_name};
use crate::cli::SagaActArgs;
use crate::config::Config;
use crate::flow::saga::{self, Action, Transition};
use crate::ops::{Outcome, connect, declined};
use crate::output;

pub async fn act(config: &Config, args: &SagaActArgs, action: Action) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let verb = match action {
        Action::Abort => "abort (compensate now)",
        Action::Retry => "retry (send the waited-for command again)",
    };
    let mut found = Vec::new();
    for r in &args.ids {
        let i = find(config, &pool, r)
            .await
            .map_err(|e| e.context("nothing changed"))?;
        found.push(i);
    }
    if args.dry_run {
        let mut refused = 0;
        for i in &found {
            // What the transition would do to a copy of the instance.
            let mut copy = i.clone();
            let applies = match config.sagas.iter().find(|s| s.name == i.saga) {
                Some(def) => Transition::new(def, Some("dry run"), chrono::Utc::now())
                    .act(&mut copy, action, true),
                None => Err(format!(
                    "instance {} belongs to saga {}, which the configuration no longer declares",
                    i.id, i.saga
                )),
            };
            match applies {
                Ok(()) => output::line(format!(
                    "would {verb}: {} ({}:{}, {} at step {}; then {} at step {})",
                    i.id,
                    i.saga,
                    i.correlation,
                    i.state.as_str(),
                    step_name(config, i),
                    copy.state.as_str(),
                    step_name(config, &copy)
                ))?,
                Err(why) => {
                    refused += 1;
                    eprintln!("outboxctl: would refuse: {why}");
                }
            }
        }
        return Ok(if refused > 0 {
            Outcome::CheckFailed
        } else {
            Outcome::Success
        });
    }
    if !output::confirm(
        &format!("{verb} {} saga instances", found.len()),
        found.len(),
        args.yes,
    )? {
        return declined();
    }
    let actor = crate::identity::actor();
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
