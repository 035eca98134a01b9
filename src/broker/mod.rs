//! The only module that speaks AMQP (lapin): connecting (one reconnecting,
//! topology-healing [`Link`] per process), declaring the topology, publishing
//! with confirms, taking and forwarding deliveries. Every request to the
//! broker is bounded: a dead or frozen connection fails, it never hangs.
//!
//! Depends on `model` and `config` only; never on the store.

pub mod bench;
mod connection;
pub mod consume;
mod error;
pub mod link;
pub mod management;
pub mod observe;
pub mod pressure;
pub mod publish;
pub mod topology;

pub use connection::{Broker, QueueStats};
pub use consume::{Delivery, Forwarder, Subscription};
pub use error::BrokerError;
pub use link::Link;
pub use publish::Publisher;
pub use topology::Topology;
