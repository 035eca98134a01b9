//! One connection's worth of consuming: subscribe to the queue, hand each
//! delivery to the lane of its key, and end on shutdown (the lanes get
//! `grace` to finish what they hold) or when the connection is lost (the
//! lanes drop what they hold at once: the broker redelivers it).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::consumer::{Consumer, Lost};
use super::lane::{lane, lane_of};
use crate::broker::{Broker, BrokerError, Delivery, Forwarder, Link};
use crate::watchdog::Stage;

/// Why a session ended.
pub(super) enum SessionEnd {
    Shutdown,
    Lost(String),
}

/// One connection's worth of consuming.
pub(super) struct Session {
    broker: Arc<Broker>,
    subscription: crate::broker::Subscription,
    forwarder: Arc<Forwarder>,
}

impl Session {
    pub async fn open(consumer: &Arc<Consumer>, link: &Link) -> Result<Self, BrokerError> {
        let settings = &consumer.settings;
        let tag = format!(
            "outboxctl-{}-{:08x}",
            std::process::id(),
            rand::rng().random::<u32>()
        );
        let broker = link.connection().await?;
        let forwarder = broker
            .forwarder(
                &settings.queue,
                &settings.broker.dead_letter_exchange,
                settings.broker.confirm_timeout,
            )
            .await?;
        let subscription = broker
            .subscribe(&settings.queue, settings.prefetch, &tag)
            .await?;
        Ok(Self {
            broker,
            subscription,
            forwarder: Arc::new(forwarder),
        })
    }

    /// Dispatch deliveries to the lanes until shutdown or until the
    /// connection is lost. On shutdown the lanes get `grace` to finish what
    /// they hold; on a lost connection they drop it at once (the broker
    /// redelivers it) so that a new session can start.
    pub async fn run(
        mut self,
        consumer: &Arc<Consumer>,
        link: &Link,
        stages: &[Stage],
        shutdown: &CancellationToken,
        grace: Duration,
    ) -> SessionEnd {
        let lost = Arc::new(Lost::default());
        let mut senders = Vec::with_capacity(stages.len());
        let mut lanes = tokio::task::JoinSet::new();
        for stage in stages {
            let (tx, rx) = mpsc::unbounded_channel::<Delivery>();
            senders.push(tx);
            lanes.spawn(lane(
                consumer.clone(),
                self.forwarder.clone(),
                rx,
                stage.clone(),
                lost.clone(),
            ));
        }
        let end = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break SessionEnd::Shutdown,
                _ = lost.token.cancelled() => break SessionEnd::Lost(lost.reason()),
                next = self.subscription.next() => match next {
                    Some(Ok(delivery)) => {
                        let lane = lane_of(&delivery, senders.len());
                        let _ = senders[lane].send(delivery);
                    }
                    Some(Err(e)) => break SessionEnd::Lost(e.to_string()),
                    None => break SessionEnd::Lost(
                        "the broker ended the subscription (the queue was deleted, or the \
                         connection closed)".into(),
                    ),
                },
            }
        };
        drop(senders);
        match &end {
            SessionEnd::Shutdown => {
                info!("shutting down: finishing the messages in hand");
                let drained = tokio::time::timeout(grace, async {
                    self.subscription.cancel().await;
                    while lanes.join_next().await.is_some() {}
                })
                .await;
                if drained.is_err() {
                    warn!(grace = %humantime::format_duration(grace),
                        "messages still in hand after shutdown.grace are abandoned; \
                         the broker delivers them again");
                }
            }
            SessionEnd::Lost(why) => lost.raise(why),
        }
        lanes.shutdown().await;
        for stage in stages {
            stage.idle();
        }
        let Session {
            broker,
            subscription,
            forwarder,
        } = self;
        // Each close is bounded; together they take at most one bound.
        let close = async move {
            let forwarder = async {
                if let Ok(f) = Arc::try_unwrap(forwarder) {
                    f.close().await;
                }
            };
            tokio::join!(subscription.close(), forwarder);
        };
        match end {
            // Exiting: say goodbye to the broker (bounded).
            SessionEnd::Shutdown => {
                tokio::join!(close, link.close());
            }
            // Reconnect at once, on a new connection even if this one still
            // looks alive (an ack that timed out on a frozen link); what is
            // left of it closes meanwhile.
            SessionEnd::Lost(_) => {
                link.discard(&broker).await;
                drop(tokio::spawn(close));
            }
        }
        end
    }
}
