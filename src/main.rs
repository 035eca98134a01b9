use std::process::ExitCode;

use clap::FromArgMatches;
use outboxctl::{app, cli, secret};

fn main() -> ExitCode {
    let matches = cli::command().get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(app::run(cli)));
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) if app::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let line = format!("{e:#}")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("outboxctl: {}", secret::scrub(&line));
            ExitCode::from(2)
        }
    }
}
