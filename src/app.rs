//! One match: command → `<module>::command`. Resolves the configuration once
//! (for the commands that need one) and sets up logging; each command owns
//! its report and its [`Outcome`]; `main` turns that into an exit code.

use crate::cli::{Cli, Command, ConfigCommand, LanesCommand, SagaCommand, TopologyCommand};
use crate::config::{self, Inputs, Resolved};
use crate::flow::{consume, produce, relay, saga, up};
use crate::ops::{dlq, docs, doctor, handlers, lag, outbox, sagas, setup, status, top};
use crate::{bench, output, shutdown};

pub use crate::output::Outcome;

pub async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let (flags, flag_names) = cli.settings();
    let file = cli.global.config.clone();
    let load = move || -> anyhow::Result<Resolved> {
        let resolved = config::resolve(Inputs {
            flags,
            flag_names,
            ..Inputs::from_process(file)
        })?;
        output::init_logging(&resolved.config.log)?;
        Ok(resolved)
    };
    match cli.command {
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out_dir } => docs::man(out_dir.as_deref()),
        Command::Migrate { output } => setup::migrate(&load()?.config, output.output).await,
        Command::Topology(TopologyCommand::Apply { output }) => {
            setup::topology_apply(&load()?.config, output.output).await
        }
        Command::Lanes(LanesCommand::Show { output }) => {
            setup::lanes_show(&load()?.config, output.output).await
        }
        Command::Lanes(LanesCommand::Set {
            lanes,
            wait,
            change,
        }) => setup::lanes_set(&load()?.config, lanes, wait, &change).await,
        Command::Config(ConfigCommand::Show { output }) => {
            setup::config_show(&load()?, output.output)
        }
        Command::Config(ConfigCommand::Check { output }) => {
            setup::config_check(&load()?, output.output).await
        }
        Command::Relay(args) => {
            // Under cron every line is a mail: `--once` logs it at debug.
            let config = if args.once {
                let resolved = load()?;
                tracing::debug!(file = %resolved.file_origin(), "configuration");
                resolved.config
            } else {
                running(load()?)
            };
            relay::command(&config, args.once, shutdown::on_signal()).await
        }
        Command::Serve(_) => produce::command(&running(load()?), shutdown::on_signal()).await,
        Command::Consume(_) => consume::command(&running(load()?), shutdown::on_signal()).await,
        Command::Up(_) => up::command(&running(load()?), shutdown::on_signal()).await,
        Command::Outbox(cmd) => outbox::command(&load()?.config, cmd).await,
        Command::Lag(args) => lag::command(&load()?.config, args, shutdown::on_signal()).await,
        Command::Status { output } => status::command(&load()?.config, output.output).await,
        Command::Doctor { long_after, output } => {
            doctor::command(&load()?.config, long_after, output.output).await
        }
        Command::Top => top::command(&load()?.config).await,
        Command::Dlq(cmd) => dlq::command(&load()?.config, cmd).await,
        Command::Handlers(cmd) => handlers::command(&load()?.config, cmd),
        Command::Saga(SagaCommand::Run(_)) => {
            saga::command(&running(load()?), shutdown::on_signal()).await
        }
        Command::Saga(cmd) => sagas::command(&load()?.config, cmd).await,
        Command::Bench(args) => bench::run(&load()?.config, &args).await,
        Command::Verify(args) => bench::verify::command(&load()?.config, &args).await,
    }
}

/// The configuration of a long-running part, after saying which file it
/// came from (an `outbox.toml` picked up from the working directory is not
/// a surprise to find out about later).
fn running(resolved: Resolved) -> crate::config::Config {
    tracing::info!(file = %resolved.file_origin(), "configuration");
    resolved.config
}

/// Whether an error is a closed stdout (`outboxctl … | head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
