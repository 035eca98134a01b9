//! `outboxctl bench`: each stage of the pipeline measured next to the limit
//! of the servers underneath it, in the same run.
//!
//! A run works in a database of its own (`outbox_bench_<id>`, created and
//! dropped on the configured server) and exchange and queues of its own
//! (`bench-<id>.*`), and runs the relayer, consumer and API as child
//! processes of this very binary, so their peak memory is their own. Figures
//! are printed as a table or JSON; targets are reported, never enforced, but
//! a run whose counts do not add up (an event lost or doubled) exits 1.

mod api;
mod consume;
mod cpu;
mod drain;
mod e2e;
mod lab;
mod ops;
mod report;
mod saga;
mod soak;
mod start;
pub mod verify;

use crate::cli::{BenchArgs, Scenario};
use crate::config::Config;
use crate::ops::Outcome;
use lab::Lab;

pub async fn run(base: &Config, args: &BenchArgs) -> anyhow::Result<Outcome> {
    let mut lab = Lab::create(base, "bench", args.queue_type, |config, prefix| {
        if args.scenario == Scenario::Saga {
            saga::prepare(config, prefix);
        }
    })
    .await?;
    let result = match args.scenario {
        Scenario::Drain => drain::run(&lab, args).await,
        Scenario::E2e => e2e::run(&mut lab, args).await,
        Scenario::Api => api::run(&lab, args).await,
        Scenario::Consume => consume::run(&mut lab, args).await,
        Scenario::Saga => saga::run(&lab, args).await,
        Scenario::Ops => ops::run(&lab, args).await,
        Scenario::Start => start::run(&lab, args).await,
        Scenario::Soak => soak::run(&lab, args).await,
    };
    lab.cleanup().await;
    let mut report = result?;
    report.machine = report::machine(base).await;
    report.print(args.output.output)?;
    if report.problems.is_empty() {
        Ok(Outcome::Success)
    } else {
        for p in &report.problems {
            eprintln!("outboxctl: {p}");
        }
        Ok(Outcome::CheckFailed)
    }
}
