//! One match: command → flow or ops. Resolves the configuration once, sets up
//! logging, and turns results into an [`Outcome`]; `main` picks exit codes.

use clap::ArgMatches;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ConfigCommand, DlqCommand, OutboxCommand, TopologyCommand};
use crate::config::{self, Inputs};
use crate::flow::{consume, produce, relay, up};
use crate::ops::{dlq, docs, lag, outbox, setup};
use crate::{output, shutdown};

pub use crate::ops::Outcome;

pub async fn run(cli: Cli, matches: &ArgMatches) -> anyhow::Result<Outcome> {
    // Commands that need no configuration.
    match &cli.command {
        Command::Completions { shell } => {
            docs::print(&docs::completions(*shell))?;
            return Ok(Outcome::Success);
        }
        Command::Man { out_dir: None } => {
            docs::print(&docs::man_page()?)?;
            return Ok(Outcome::Success);
        }
        Command::Man { out_dir: Some(dir) } => {
            docs::write_man_pages(dir)?;
            return Ok(Outcome::Success);
        }
        _ => {}
    }

    let flag_env: Vec<String> = crate::cli::flag_env_names()
        .into_iter()
        .filter(|name| !config::settings().iter().any(|s| s.env_name() == *name))
        .collect();
    let resolved = config::resolve(Inputs {
        flag_env,
        overrides: cli.overrides(matches),
        ..Inputs::from_process(cli.global.config.clone())
    })?;
    output::init_logging(&resolved.config.log)?;
    let config = &resolved.config;

    match cli.command {
        Command::Completions { .. } | Command::Man { .. } => unreachable!("handled above"),
        Command::Migrate => setup::migrate(config).await?,
        Command::Topology(TopologyCommand::Apply) => setup::topology_apply(config).await?,
        Command::Config(ConfigCommand::Show) => setup::config_show(&resolved)?,
        Command::Config(ConfigCommand::Check) => setup::config_check(&resolved).await?,
        Command::Serve(_) => {
            let shutdown = shutdown::on_signal();
            let listener = produce::bind(config).await?;
            produce::serve(config, listener, shutdown).await?;
        }
        Command::Consume(_) => {
            let shutdown = shutdown::on_signal();
            let metrics = serve_metrics(config, &shutdown).await?;
            consume::run(config, consume::Handlers::standard(), shutdown).await?;
            drop(metrics);
        }
        Command::Up(_) => {
            let shutdown = shutdown::on_signal();
            let metrics = serve_metrics(config, &shutdown).await?;
            up::run(config, shutdown).await?;
            drop(metrics);
        }
        Command::Outbox(cmd) => {
            return match cmd {
                OutboxCommand::Ls(args) => outbox::ls(config, &args).await,
                OutboxCommand::Show { row, output } => {
                    outbox::show(config, row, output.output).await
                }
                OutboxCommand::Why { row } => outbox::why(config, row).await,
                OutboxCommand::Replay(args) => outbox::replay(config, &args).await,
                OutboxCommand::Requeue(args) => outbox::requeue(config, &args).await,
                OutboxCommand::Purge(args) => {
                    outbox::purge(config, args.older_than, args.batch, args.dry_run).await
                }
            };
        }
        Command::Lag(args) => return lag::run(config, &args).await,
        Command::Bench(args) => return crate::bench::run(config, &args).await,
        Command::Dlq(cmd) => {
            return match cmd {
                DlqCommand::Ls {
                    queue,
                    limit,
                    output,
                } => dlq::ls(config, queue.queue.as_deref(), limit, output.output).await,
                DlqCommand::Show {
                    message_id,
                    queue,
                    output,
                } => dlq::show(config, queue.queue.as_deref(), &message_id, output.output).await,
                DlqCommand::Replay {
                    message_ids,
                    all,
                    queue,
                    dry_run,
                    yes,
                } => {
                    dlq::replay(
                        config,
                        queue.queue.as_deref(),
                        &message_ids,
                        all,
                        dry_run,
                        yes,
                    )
                    .await
                }
                DlqCommand::Purge { queue, yes } => {
                    dlq::purge(config, queue.queue.as_deref(), yes).await
                }
            };
        }
        Command::Relay(args) => {
            let shutdown = shutdown::on_signal();
            let metrics = if args.once {
                None
            } else {
                serve_metrics(config, &shutdown).await?
            };
            let summary = relay::run(config, args.once, shutdown).await?;
            drop(metrics);
            if args.once {
                let t = summary.trouble;
                output::line(format!(
                    "sent {}, failed {}, dead {} (this run); the outbox now has {} failing and {} dead rows",
                    summary.sent, summary.failed, summary.dead, t.failing, t.dead
                ))?;
                if t.failing + t.dead > 0 {
                    return Ok(Outcome::CheckFailed);
                }
            }
        }
    }
    Ok(Outcome::Success)
}

/// The `/metrics` endpoint on `metrics.listen`, when set; it stops with `stop`.
async fn serve_metrics(
    config: &crate::config::Config,
    stop: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    match config.metrics.listen {
        Some(addr) => Ok(Some(
            crate::telemetry::serve_metrics(addr, stop.clone()).await?,
        )),
        None => Ok(None),
    }
}

/// Whether an error is a closed stdout (`outboxctl … | head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
