//! The broker's flow control: RabbitMQ blocks publishing connections while a
//! resource alarm (memory, disk) is raised, and says so with
//! `connection.blocked` (its reason) and `connection.unblocked`. Every
//! connection of the process is watched; the process logs the block once at
//! warn and its end once at info, exports `outbox_broker_blocked{reason}`,
//! and names the block wherever a request waits on it (see [`current`]).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use lapin::{Connection, Event};
use tracing::{info, warn};

/// A block the broker announced, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The broker's words, e.g. `low on memory`.
    pub reason: String,
    pub since: DateTime<Utc>,
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RabbitMQ blocks publishers: {} (since {})",
            self.reason,
            self.since.format("%H:%M:%S")
        )
    }
}

/// Blocked connections of this process, by connection name.
static BLOCKED: Mutex<Vec<(String, Block)>> = Mutex::new(Vec::new());

/// The block in force on any connection of this process, if one is.
pub fn current() -> Option<Block> {
    let blocked = BLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    blocked.first().map(|(_, b)| b.clone())
}

/// Follow `conn`'s blocks until it closes.
pub(super) fn watch(conn: &Connection, name: &str) {
    // Exported from the start (at 0), so that a rule on it has a series.
    metrics::gauge!("outbox_broker_blocked", "reason" => "").set(0.0);
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut events = conn.events_listener();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{name}#{n}");
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Event::ConnectionBlocked(reason) => blocked(&name, reason),
                Event::ConnectionUnblocked => unblocked(&name),
                _ => {}
            }
        }
        unblocked(&name);
    });
}

fn blocked(name: &str, reason: String) {
    let mut all = BLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    let first = all.is_empty();
    all.retain(|(n, _)| n != name);
    let block = Block {
        reason: reason.clone(),
        since: Utc::now(),
    };
    all.push((name.to_string(), block.clone()));
    drop(all);
    metrics::gauge!("outbox_broker_blocked", "reason" => reason.clone()).set(1.0);
    if first {
        warn!(reason = %reason, "{block} — it raised a resource alarm; rows wait (no attempt \
            used) and go out once it clears; `outboxctl doctor` shows the alarm");
    }
}

fn unblocked(name: &str) {
    let mut all = BLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    let Some(at) = all.iter().position(|(n, _)| n == name) else {
        return;
    };
    let (_, block) = all.remove(at);
    let last = all.is_empty();
    drop(all);
    if last {
        metrics::gauge!("outbox_broker_blocked", "reason" => block.reason.clone()).set(0.0);
        let lasted = (Utc::now() - block.since)
            .to_std()
            .unwrap_or(Duration::ZERO);
        info!(reason = %block.reason, "RabbitMQ unblocked publishers after {}",
            humantime::format_duration(Duration::from_millis(lasted.as_millis() as u64)));
    }
}
