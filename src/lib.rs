//! outboxctl: the transactional outbox for PostgreSQL and RabbitMQ.
//!
//! The layers, in the order a request flows through them:
//! `cli` (arguments) → `config` (resolved settings) → `app` (one match:
//! command → flow or ops) → `flow` (produce, relay, consume) and `ops`
//! (operator commands) → `store` (all SQL) and `broker` (all AMQP), which
//! never import each other. `model` holds the plain types they share;
//! `output` formats what commands print.

pub mod app;
pub mod backoff;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod config;
pub mod flow;
pub mod model;
pub mod ops;
pub mod output;
pub mod proxy;
pub mod secret;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod watchdog;
