//! The relay's helpers beside its workers: LISTEN for the outbox trigger's
//! notifications, the backlog gauges, the progress line every 30 s.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::relayer::{Relay, RelayError, db};
use crate::backoff::Backoff;
use crate::store::{StoreError, outbox};

/// Turn NOTIFYs from the outbox trigger into worker wake-ups. Notifications
/// are best effort: after a lost connection every worker is woken once, and
/// the poll interval covers the rest.
pub(super) async fn listen(
    pool: PgPool,
    wake: Arc<Notify>,
    token: CancellationToken,
) -> Result<(), RelayError> {
    let mut retry = Backoff::reconnect();
    let mut warned = false;
    while !token.is_cancelled() {
        let mut notifications = match db(outbox::Notifications::listen(&pool)).await {
            Ok(n) => n,
            Err(e) => {
                warn_listen(&mut warned, &e);
                token
                    .run_until_cancelled(tokio::time::sleep(retry.next_delay()))
                    .await;
                continue;
            }
        };
        debug!("listening for outbox notifications");
        retry.reset();
        loop {
            tokio::select! {
                _ = token.cancelled() => return Ok(()),
                received = notifications.next() => match received {
                    Ok(true) => wake.notify_one(),
                    Ok(false) => {
                        // Connection lost; it reconnects on the next call.
                        // Anything committed meanwhile went unannounced.
                        debug!("notification connection lost; reconnecting");
                        wake.notify_waiters();
                        wake.notify_one();
                    }
                    Err(e) => {
                        warn_listen(&mut warned, &e);
                        break;
                    }
                }
            }
        }
        token
            .run_until_cancelled(tokio::time::sleep(retry.next_delay()))
            .await;
    }
    Ok(())
}

/// Say once why notifications do not arrive. Only a server that refuses
/// LISTEN hints at PgBouncer; a dropped connection is just that.
fn warn_listen(warned: &mut bool, e: &StoreError) {
    if *warned {
        return;
    }
    *warned = true;
    if matches!(e, StoreError::Database(_)) {
        warn!(error = %e, "PostgreSQL refused LISTEN; polling every relay.interval instead \
            (behind PgBouncer in transaction pooling, set relay.poll_only = true)");
    } else {
        warn!(error = %e, "cannot LISTEN for outbox notifications; polling every \
            relay.interval until it works again");
    }
}

/// The backlog gauges (pending rows, the outbox lag, dead rows), every 5 s;
/// the server's pressure gauges (what `outboxctl doctor` looks at), every 30 s.
pub(super) async fn refresh_gauges(
    pool: PgPool,
    token: CancellationToken,
) -> Result<(), RelayError> {
    let mut round = 0u32;
    while !token.is_cancelled() {
        if let Ok(b) = db(outbox::backlog(&pool)).await {
            metrics::gauge!("outbox_pending_rows").set(b.pending as f64);
            metrics::gauge!("outbox_oldest_pending_age_seconds").set(b.oldest_pending_seconds);
            metrics::gauge!("outbox_dead_rows").set(b.dead as f64);
        }
        if round.is_multiple_of(6) {
            server_gauges(&pool).await;
        }
        round = round.wrapping_add(1);
        token
            .run_until_cancelled(tokio::time::sleep(Duration::from_secs(5)))
            .await;
    }
    Ok(())
}

/// Dead rows of outboxctl's tables, how long the xmin horizon has been held
/// in this database, the share of connection slots in use.
async fn server_gauges(pool: &PgPool) {
    use crate::store::health;
    if let Ok(tables) = health::tables(pool).await {
        for t in tables {
            metrics::gauge!("outbox_pg_dead_rows", "table" => t.table).set(t.dead as f64);
        }
    }
    if let Ok(holders) = health::horizon_holders(pool).await {
        let held = holders.iter().filter_map(|h| h.seconds).fold(0.0, f64::max);
        metrics::gauge!("outbox_pg_xmin_horizon_held_seconds").set(held);
    }
    if let Ok(slots) = health::slots(pool).await {
        let usable = (slots.max_connections - slots.reserved).max(1);
        metrics::gauge!("outbox_pg_connections_used_ratio")
            .set(slots.used() as f64 / usable as f64);
    }
}

/// Every `log.summary_interval`: an info line when rows moved, and a warn
/// line per topic and reason whose publishes failed — with how many rows,
/// some of their ids and the last error — so a failing topic shows at the
/// default level without one line per row.
pub(super) async fn report_progress(
    relay: Arc<Relay>,
    token: CancellationToken,
) -> Result<(), RelayError> {
    let every = relay.summary_interval;
    let mut last = relay.totals();
    loop {
        token.run_until_cancelled(tokio::time::sleep(every)).await;
        if token.is_cancelled() {
            return Ok(());
        }
        let now = relay.totals();
        let sent = now.sent - last.sent;
        let failed = now.failed - last.failed;
        let dead = now.dead - last.dead;
        let span = humantime::format_duration(every).to_string();
        if sent + failed + dead > 0 {
            info!(
                sent,
                failed,
                dead,
                per_second = format!("{:.1}", sent as f64 / every.as_secs_f64()),
                "relayed in the last {span}"
            );
        }
        let failing = std::mem::take(&mut *relay.failing.lock().unwrap_or_else(|e| e.into_inner()));
        for ((topic, reason), f) in failing {
            let rows: Vec<String> = f.rows.iter().map(i64::to_string).collect();
            // The first time a topic is unroutable, the line says the fix.
            let hint = if reason == "returned" && relay.first_unroutable(&topic) {
                format!(
                    " — no queue is bound to {topic}: bind it to a queue (bindings in \
                     [[broker.queues]], or a handler's topics); its rows are tried again with \
                     backoff, and die after relay.max_attempts"
                )
            } else {
                String::new()
            };
            warn!(
                topic = %topic,
                reason,
                failed = f.count,
                rows = %rows.join(","),
                error = %f.last_error,
                "publishes failed in the last {span}; `outboxctl outbox why {}` explains{hint}",
                rows.first().map_or("<row>", String::as_str)
            );
        }
        last = now;
    }
}
