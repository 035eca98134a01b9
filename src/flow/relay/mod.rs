//! The relayer: pending outbox rows → RabbitMQ, marked sent only once the
//! broker confirmed them.
//!
//! Each worker repeats one step, [`Relay::relay_batch`]:
//!
//! 1. BEGIN; claim a batch: lock the ready lanes (a key's rows share a lane;
//!    only a share of them while the worker's last batch came back full, so
//!    workers drain a backlog side by side) and their due rows, oldest first;
//! 2. publish in waves: a wave holds at most one row per key, and a key whose
//!    row failed sends nothing more in this batch, so per-key order survives
//!    any failure; all rows of a wave are in flight together;
//! 3. mark confirmed rows sent; record failures (attempts+1, error, backoff
//!    with jitter, dead after `max_attempts`); COMMIT.
//!
//! The claim transaction stays open across publish and confirm: a relayer
//! that dies releases its rows with its connection, and PostgreSQL's
//! `idle_in_transaction_session_timeout` releases those of a hung one.
//!
//! Waking up: right after work, the workers poll every 10 ms for a second;
//! then the relay sets `outbox_relay_state.listening`, and the outbox
//! trigger starts to NOTIFY on inserts. Workers sleep until a NOTIFY, the poll
//! interval, or the next row's backoff, whichever comes first. Notifying only
//! while a relayer sleeps keeps NOTIFY's commit serialization off the writers'
//! hot path.

mod batch;
mod relayer;
mod settings;
mod wake;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::output;
use crate::output::Outcome;
use crate::presence::Presence;
use crate::store::{self, outbox};
use crate::telemetry::MetricsEndpoint;
use crate::watchdog::Watchdog;
pub use relayer::{BatchReport, RelayError, RelaySummary};
use relayer::{Relay, db};
pub use settings::{Settings, pool_size};
use wake::{listen, refresh_gauges, report_progress};

/// `outboxctl relay [--once]`: relay until `shutdown`, serving metrics on
/// `metrics.listen`; with `--once`, say what the run did and exit 1 when
/// rows are left failing or dead.
pub async fn command(
    config: &Config,
    once: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let metrics = if once {
        None
    } else {
        MetricsEndpoint::start(config, &shutdown).await?
    };
    let summary = run(&Settings::new(config, once), shutdown).await;
    if let Some(m) = metrics {
        m.stop().await;
    }
    let summary = summary?;
    if !once {
        return Ok(Outcome::Success);
    }
    // Under cron every line printed is a mail: a run that had nothing to do
    // and left nothing in trouble prints nothing.
    let t = summary.trouble;
    let did_something = summary.sent + summary.failed + summary.dead > 0;
    if !did_something && t.failing + t.dead == 0 {
        return Ok(Outcome::Success);
    }
    output::line(format!(
        "sent {}, failed {}, dead {} (this run); the outbox now has {} failing and {} dead rows",
        summary.sent, summary.failed, summary.dead, t.failing, t.dead
    ))?;
    if t.failing + t.dead == 0 {
        return Ok(Outcome::Success);
    }
    // Exit 1 says which rows and why.
    let pool = store::connect(&config.database, "outboxctl relay", &[]).await?;
    for g in outbox::trouble_groups(&pool, 10).await? {
        let ids: Vec<String> = g.ids.iter().map(i64::to_string).collect();
        eprintln!(
            "outboxctl: {} {} row(s) of {}: {} (rows {}{}) — `outboxctl outbox why {}`",
            g.rows,
            if g.dead { "dead" } else { "failing" },
            g.topic,
            g.last_error.as_deref().unwrap_or("no error recorded"),
            ids.join(", "),
            if g.rows > ids.len() as i64 {
                ", …"
            } else {
                ""
            },
            ids.first().map_or("", String::as_str)
        );
    }
    pool.close().await;
    Ok(Outcome::CheckFailed)
}

/// Run the relayer until `shutdown` is cancelled — or, with `once`, until
/// the rows that are ready now are drained. On shutdown the batches in flight
/// get `shutdown.grace` to finish; a batch abandoned after that rolls back
/// and its rows go out again later.
///
/// A long-running relay waits for servers that are down or drop the
/// connection, at start-up too; `--once` fails at once. A stage that holds
/// work without progress for `watchdog.exit_after` ends the run with an error.
pub async fn run(
    settings: &Settings,
    shutdown: CancellationToken,
) -> Result<RelaySummary, RelayError> {
    let watchdog = Watchdog::new(&settings.watchdog);
    let work = relay(settings, &shutdown, &watchdog);
    if settings.once {
        return work.await;
    }
    // A stall drops `work`, which rolls back the batches in flight.
    watchdog.guard(work).await
}

async fn relay(
    settings: &Settings,
    shutdown: &CancellationToken,
    watchdog: &Watchdog,
) -> Result<RelaySummary, RelayError> {
    let once = settings.once;
    let starting = watchdog.stage("relay start-up");
    let Some(relay) = Relay::start_when_ready(settings, &starting, shutdown).await? else {
        return Ok(RelaySummary::default());
    };
    let relay = Arc::new(relay);
    let presence = {
        let r = relay.clone();
        Presence::start(
            &relay.pool,
            "relay",
            None,
            Arc::new(move || {
                let t = r.totals();
                let relaying = format!(
                    "relaying: {} sent, {} failed, {} dead since start",
                    t.sent, t.failed, t.dead
                );
                match crate::broker::pressure::current() {
                    Some(block) => format!("{block}; {relaying}"),
                    None => relaying,
                }
            }),
        )
    };
    let token = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for n in 0..settings.workers {
        let relay = relay.clone();
        let token = token.clone();
        let stage = watchdog.stage(format!("relay worker {n}"));
        tasks.spawn(async move { relay.worker(n, once, token, stage).await });
    }
    if !once {
        if settings.database.transaction_pooling {
            info!(interval = %humantime::format_duration(settings.interval),
                "database.transaction_pooling: LISTEN does not work through the pooler; \
                 polling every relay.interval");
        }
        if !settings.polls_only {
            tasks.spawn(listen(
                relay.pool.clone(),
                relay.wake.clone(),
                token.clone(),
            ));
        }
        tasks.spawn(report_progress(relay.clone(), token.clone()));
        tasks.spawn(refresh_gauges(relay.pool.clone(), token.clone()));
    }

    let started = Instant::now();
    let mut first_error = None;
    let grace = settings.grace;
    let mut deadline = std::pin::pin!(tokio::time::sleep(Duration::MAX));
    loop {
        tokio::select! {
            _ = shutdown.cancelled(), if !token.is_cancelled() => {
                info!("shutting down: finishing the batches in flight");
                token.cancel();
                deadline.as_mut().reset(tokio::time::Instant::now() + grace);
            }
            _ = &mut deadline => {
                warn!(grace = %humantime::format_duration(grace),
                    "batches still in flight after shutdown.grace are abandoned; they roll back \
                     and their rows go out again");
                tasks.shutdown().await;
                break;
            }
            joined = tasks.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => {
                    first_error.get_or_insert(e);
                    token.cancel();
                }
                Some(Err(join_error)) => {
                    token.cancel();
                    std::panic::resume_unwind(join_error.into_panic());
                }
            }
        }
    }
    relay.broker.close().await;
    presence.stop().await;
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut summary = relay.totals();
    if once {
        // `command` prints what the run did, and nothing when it did
        // nothing: under cron every line is a mail.
        summary.trouble = db(outbox::trouble(&relay.pool)).await?;
        return Ok(summary);
    }
    info!(
        sent = summary.sent,
        failed = summary.failed,
        dead = summary.dead,
        elapsed = %humantime::format_duration(Duration::from_secs(started.elapsed().as_secs())),
        "relay stopped"
    );
    Ok(summary)
}
