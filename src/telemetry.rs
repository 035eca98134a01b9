//! Metrics (one Prometheus recorder per process) and W3C trace context.

use std::future::IntoFuture;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rand::Rng;
use tokio_util::sync::CancellationToken;

/// The process's Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let seconds = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0,
        ];
        let rows = [
            1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
        ];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_rows".into()), &rows))
            .expect("bucket lists are not empty");
        match builder.install_recorder() {
            Ok(handle) => {
                // Without the exporter's own HTTP listener, upkeep is ours.
                let upkeep = handle.clone();
                std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        }
                    })
                    .expect("spawn metrics upkeep thread");
                describe();
                handle
            }
            // Another recorder is installed (e.g. by an embedding program):
            // render from a private one rather than fail.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// The text exposition of every metric recorded so far.
pub fn render() -> String {
    prometheus().render()
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn metrics_response() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        render(),
    )
}

/// The `/metrics` endpoint of `relay`, `consume` and `up` (`serve` has the
/// route on its own port). It stops with the command's shutdown, or when
/// [`stop`](Self::stop)ped because the command ended by itself.
pub struct MetricsEndpoint {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    grace: Duration,
}

impl MetricsEndpoint {
    /// Serve on `metrics.listen`, when set. Binding happens before this
    /// returns, so a taken address is reported at start-up.
    pub async fn start(
        config: &crate::config::Config,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Option<Self>> {
        let Some(addr) = config.metrics.listen else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot serve metrics on {addr}: {e} — choose another address with \
                 --metrics-listen, OUTBOX_METRICS_LISTEN or metrics.listen"
            )
        })?;
        prometheus();
        let addr = listener.local_addr().unwrap_or(addr);
        tracing::info!(address = %addr, "metrics at /metrics");
        let app = axum::Router::new()
            .route("/metrics", axum::routing::get(metrics_response))
            .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "only /metrics is here\n") });
        let stop = shutdown.child_token();
        let task = tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.clone().cancelled_owned())
                .into_future(),
        );
        Ok(Some(Self {
            stop,
            task,
            grace: config.shutdown.grace,
        }))
    }

    /// Stop taking scrapes, let the one in flight finish, and wait for that.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(self.grace, self.task).await;
    }

    /// Run `work` with the endpoint of `metrics.listen` up (if set), then
    /// stop and drain it, whatever `work` returned.
    pub async fn around<T>(
        config: &crate::config::Config,
        shutdown: &CancellationToken,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let metrics = Self::start(config, shutdown).await?;
        let done = work.await;
        if let Some(m) = metrics {
            m.stop().await;
        }
        done
    }
}

/// HELP texts for the metrics outboxctl exports.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "outbox_relay_published_total",
        "Outbox rows published and confirmed by the broker, by topic"
    );
    describe_counter!(
        "outbox_relay_failed_total",
        "Publish attempts that failed, by reason: nack, returned, timeout, connection, invalid"
    );
    describe_counter!(
        "outbox_relay_dead_total",
        "Outbox rows that became dead after their last attempt"
    );
    describe_histogram!("outbox_relay_batch_rows", "Rows claimed per relay batch");
    describe_histogram!(
        "outbox_relay_batch_duration_seconds",
        Unit::Seconds,
        "Claim, publish, confirm and record, per batch"
    );
    describe_histogram!(
        "outbox_relay_stage_seconds",
        Unit::Seconds,
        "Time per stage of a relay batch: claim, publish (a wave handed to the connection), \
         confirm (waiting for that wave's confirms), mark (record and commit)"
    );
    describe_histogram!(
        "outbox_relay_confirm_latency_seconds",
        Unit::Seconds,
        "From publishing a wave to its last confirm"
    );
    describe_gauge!("outbox_pending_rows", "Outbox rows waiting to be published");
    describe_gauge!(
        "outbox_oldest_pending_age_seconds",
        Unit::Seconds,
        "Age of the oldest pending outbox row: the outbox lag"
    );
    describe_gauge!(
        "outbox_dead_rows",
        "Outbox rows that gave up and wait for an operator"
    );
    describe_gauge!(
        "outbox_pg_dead_rows",
        "Dead rows of outboxctl's tables, by table (vacuum keeping up or not)"
    );
    describe_gauge!(
        "outbox_pg_xmin_horizon_held_seconds",
        Unit::Seconds,
        "Longest a transaction or prepared transaction of this database has held the xmin horizon"
    );
    describe_gauge!(
        "outbox_pg_connections_used_ratio",
        "Share of PostgreSQL's usable connection slots in use"
    );
    describe_gauge!(
        "outbox_broker_blocked",
        "1 while RabbitMQ blocks this process's publishers (a resource alarm), by reason"
    );
    describe_gauge!(
        "outbox_relay_heartbeat_timestamp_seconds",
        Unit::Seconds,
        "Last time a relay worker went round its loop"
    );
    describe_gauge!(
        "outbox_stage_seconds_since_progress",
        Unit::Seconds,
        "How long a stage that holds work has made no progress (0 when idle), by stage"
    );
    describe_counter!(
        "outbox_consumer_messages_total",
        "Messages handled by the consumer, by queue, topic and outcome: processed, duplicate, retried, dead_lettered"
    );
    describe_histogram!(
        "outbox_consumer_handler_duration_seconds",
        Unit::Seconds,
        "From receiving a message to committing its effect"
    );
    describe_histogram!(
        "outbox_consumer_end_to_end_seconds",
        Unit::Seconds,
        "From the outbox row's creation to the consumer's commit"
    );
    describe_counter!(
        "outbox_handler_messages_total",
        "Messages a handler finished, by handler, kind and outcome: processed, retried, dead_lettered"
    );
    describe_histogram!(
        "outbox_handler_duration_seconds",
        Unit::Seconds,
        "Time one handler spent on one message, by handler"
    );
    describe_counter!(
        "outbox_sagas_total",
        "Saga instances by saga and outcome: started, completed, compensated, failed"
    );
    describe_counter!(
        "outbox_saga_starts_ignored_total",
        "Start messages for a correlation that has an instance already, by saga"
    );
    describe_counter!(
        "outbox_saga_replies_ignored_total",
        "Replies that did not match the wait of their instance (duplicates, late replies), by saga"
    );
    describe_histogram!(
        "outbox_saga_step_duration_seconds",
        Unit::Seconds,
        "From sending a step's command to its successful reply, by saga and step"
    );
    describe_histogram!(
        "outbox_saga_duration_seconds",
        Unit::Seconds,
        "From a saga's start to its end, by saga and outcome"
    );
    describe_gauge!(
        "outbox_sagas",
        "Saga instances not finished (running, compensating) or failed, by saga and state"
    );
    describe_gauge!(
        "outbox_sagas_overdue",
        "Saga instances past their deadline and not finished, by saga and state"
    );
    describe_counter!(
        "outbox_api_requests_total",
        "API requests by method, route and status"
    );
    describe_histogram!(
        "outbox_api_request_duration_seconds",
        Unit::Seconds,
        "API request latency by method and route"
    );
    describe_counter!(
        "outbox_api_events_written_total",
        "Outbox rows the API wrote, by topic"
    );
}

/// A W3C `traceparent`: version 00, trace id, parent span id, flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    pub flags: String,
}

impl TraceContext {
    /// Parse a `traceparent` header; `None` if it is not valid.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let valid = hex(version, 2)
            && version != "ff"
            && (version != "00" || parts.next().is_none())
            && hex(trace_id, 32)
            && trace_id.bytes().any(|b| b != b'0')
            && hex(span_id, 16)
            && span_id.bytes().any(|b| b != b'0')
            && hex(flags, 2);
        valid.then(|| Self {
            trace_id: trace_id.into(),
            span_id: span_id.into(),
            flags: flags.into(),
        })
    }

    /// A new trace, sampled.
    pub fn new_root() -> Self {
        let mut rng = rand::rng();
        Self {
            trace_id: format!("{:032x}", rng.random::<u128>().max(1)),
            span_id: format!("{:016x}", rng.random::<u64>().max(1)),
            flags: "01".into(),
        }
    }

    /// The same trace with a new span of ours as the parent.
    pub fn child(&self) -> Self {
        Self {
            trace_id: self.trace_id.clone(),
            span_id: format!("{:016x}", rand::rng().random::<u64>().max(1)),
            flags: self.flags.clone(),
        }
    }

    pub fn header(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trip_and_rejects() {
        let h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let t = TraceContext::parse(h).unwrap();
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.header(), h);
        let c = t.child();
        assert_eq!(c.trace_id, t.trace_id);
        assert_ne!(c.span_id, t.span_id);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad}");
        }
        assert!(TraceContext::parse(&TraceContext::new_root().header()).is_some());
    }
}
