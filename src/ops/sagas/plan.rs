//! `outboxctl saga plan`: the configuration's saga definitions against
//! the instances in flight — per change that would strand some, the
//! instances and the way out. Exit 0 when none would be stranded.

use serde::Serialize;

use crate::cli::Output;
use crate::config::Config;
use crate::flow::saga::{self, SagaPlan};
use crate::ops::{Outcome, connect};
use crate::output;

/// `saga plan -o json`.
#[derive(Debug, Serialize)]
struct Report {
    safe: bool,
    sagas: Vec<SagaPlan>,
}

pub async fn plan(config: &Config, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let sagas = saga::plan(config, &pool).await?;
    pool.close().await;
    let safe = sagas.iter().all(|p| p.findings.is_empty());
    if format == Output::Json {
        output::json_line(&Report { safe, sagas })?;
    } else {
        say(&sagas, safe)?;
    }
    Ok(if safe {
        Outcome::Success
    } else {
        Outcome::CheckFailed
    })
}

fn say(sagas: &[SagaPlan], safe: bool) -> anyhow::Result<()> {
    if sagas.is_empty() {
        output::line("no sagas are configured and none are in flight; nothing to check")?;
        return Ok(());
    }
    for p in sagas {
        let flight = match p.in_flight {
            0 => "none in flight".to_string(),
            n => format!(
                "{n} in flight under {}",
                match p.running.as_slice() {
                    [] => "a definition not recorded".to_string(),
                    [one] => format!("definition {one}"),
                    many => format!("definitions {}", many.join(", ")),
                }
            ),
        };
        let now = match &p.version {
            Some(v) if p.running.iter().all(|r| r == v) && p.unknown == 0 => {
                format!("the configuration's definition {v} is the one running")
            }
            Some(v) => format!("the configuration's definition is {v}"),
            None => "the configuration no longer declares it".into(),
        };
        let verdict = if p.findings.is_empty() {
            "ok"
        } else {
            "STRANDS"
        };
        output::line(format!("saga {} — {verdict}: {flight}; {now}", p.saga))?;
        if p.unknown > 0 {
            output::line(format!(
                "  {} started before definitions were recorded and are not judged (the \
                 orchestrator records its definition when it starts)",
                p.unknown
            ))?;
        }
        for f in &p.findings {
            output::line(format!("  ✗ {}", f.change))?;
            output::line(format!("    way out: {}", f.way_out))?;
            for s in &f.instances {
                output::line(format!("    {}  {}  {}", s.id, s.key, s.at))?;
            }
        }
    }
    if safe {
        output::line("safe: no instance in flight would be stranded")?;
    } else {
        eprintln!(
            "outboxctl: `saga run` and `up` refuse these definitions until the instances listed \
             finish or are aborted, or renamed steps are mapped; run `saga plan` again after the \
             change"
        );
    }
    Ok(())
}
