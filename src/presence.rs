//! A long-running part says it is alive: it registers in the process
//! registry (`store::processes`), beats every [`BEAT`] with what it is doing,
//! and signs off at a clean exit. A process that dies keeps its stale beat,
//! which is how `outboxctl status` tells it is gone. A database that cannot be
//! reached only delays the beats; the part itself never waits on them.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use uuid::Uuid;

use crate::store::{self, processes};

/// How often a process beats.
pub const BEAT: Duration = Duration::from_secs(5);
/// Silent for longer than this, a process counts as gone.
pub const GONE_AFTER: Duration = Duration::from_secs(15);

/// What a part is doing, asked at each beat.
pub type Doing = Arc<dyn Fn() -> String + Send + Sync>;

pub struct Presence {
    pool: PgPool,
    id: Uuid,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Presence {
    /// Register `role` (with `detail`, e.g. the queue it takes) and beat
    /// until [`stop`](Self::stop).
    pub fn start(pool: &PgPool, role: &'static str, detail: Option<String>, doing: Doing) -> Self {
        let id = Uuid::now_v7();
        let stop = CancellationToken::new();
        let (pool2, token) = (pool.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let host = crate::identity::host();
            let version = env!("CARGO_PKG_VERSION");
            let registration = processes::Registration {
                id,
                role,
                host: &host,
                pid: std::process::id() as i32,
                version,
                detail: detail.as_deref(),
                pool_size: pool2.options().get_max_connections(),
            };
            let mut registered = false;
            let mut complained = false;
            while !token.is_cancelled() {
                let result = if registered {
                    store::bounded(BEAT, processes::beat(&pool2, id, &doing())).await
                } else {
                    store::bounded(BEAT, processes::register(&pool2, &registration, &doing())).await
                };
                match result {
                    Ok(()) => registered = true,
                    // Unregistered, `status` says nobody serves this stage:
                    // say why once, then keep trying quietly.
                    Err(e) if !registered && !complained => {
                        complained = true;
                        warn!(error = %e, role,
                            "cannot register in outbox_processes (`outboxctl status` will not \
                             list this process until it can); retrying every 5s")
                    }
                    Err(e) => {
                        debug!(error = %e, role, "process registry not reachable; beating later")
                    }
                }
                token.run_until_cancelled(tokio::time::sleep(BEAT)).await;
            }
        });
        Self {
            pool: pool.clone(),
            id,
            stop,
            task,
        }
    }

    /// Stop beating and sign off (a clean exit: `status` no longer lists it).
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
        let _ = store::bounded(
            Duration::from_secs(2),
            processes::sign_off(&self.pool, self.id),
        )
        .await;
    }
}
