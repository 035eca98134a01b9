//! `outboxctl saga ls|show|why|abort|retry|plan|graph`: see every
//! instance, its timeline and what it waits for (or, finished, how it
//! ended); steer one that is stuck; check a changed definition before it is
//! deployed. An instance is named by its id or by its business key
//! (`order:42`).
//!
//! `read` lists and shows, `why` explains, `act` aborts and retries,
//! `plan` checks definitions.

mod act;
mod instances;
mod plan;
mod read;
mod why;

use crate::cli::SagaCommand;
use crate::config::Config;
use crate::flow::saga::Action;
use crate::ops::Outcome;

pub use read::mermaid;

pub async fn command(config: &Config, cmd: SagaCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SagaCommand::Run(_) => unreachable!("`saga run` is the orchestrator (flow::saga)"),
        SagaCommand::Ls(args) => read::ls(config, &args).await,
        SagaCommand::Show { id, wide, output } => {
            read::show(config, &id, wide.wide, output.output).await
        }
        SagaCommand::Why { id } => why::why(config, &id).await,
        SagaCommand::Abort(args) => act::act(config, &args, Action::Abort).await,
        SagaCommand::Retry(args) => act::act(config, &args, Action::Retry).await,
        SagaCommand::Plan { output } => plan::plan(config, output.output).await,
        SagaCommand::Graph { name } => read::graph(config, &name),
    }
}
