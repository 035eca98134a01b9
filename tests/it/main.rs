//! One integration-test binary against the real PostgreSQL and RabbitMQ.
//! Each test gets its own database (`#[sqlx::test]`) and its own exchanges
//! and queues, so the tests run in parallel.

mod api;
mod bench;
mod cluster;
mod consume;
mod contract;
mod deployment;
mod doctor;
mod faults;
mod handlers;
mod liveness;
mod observability;
mod oncall;
mod ops;
mod participant;
mod pgbouncer;
mod relay;
mod saga_safety;
mod sagas;
mod setup;
mod support;
mod webhooks;
