//! outboxctl: the transactional outbox for PostgreSQL and RabbitMQ.
//!
//! The layers, in the order a request flows through them:
//!
//! ```text
//! main → app (one match: command → <module>::command(config, args, shutdown) → Outcome)
//!   cli      every clap type; setting flags are typed groups (cli::settings)
//!   config   schema + defaults, resolve (defaults < file < env < flags), validate
//!   secret   Secret / SecretUrl, masking, scrubbing of stderr
//!   shutdown SIGINT/SIGTERM → one CancellationToken
//!   flow     produce/ (the API) → relay/ → consume/ (the engine) → handlers/
//!   ops      operator commands over the same store and broker functions
//!   store    all SQL (outbox, inbox, uploads; LISTEN, ping, session settings)
//!   broker   all AMQP (one reconnecting link, topology, confirms, deliveries)
//!   model    plain types shared by the layers, event payloads as structs
//! ```
//!
//! `store` and `broker` never import each other; `flow` is the only layer
//! that uses both. Beside them: `backoff` (the one retry policy),
//! `watchdog` (stalled stages end the process), `telemetry` (metrics and
//! trace context), `output` (what commands print, and their `Outcome`),
//! `presence` (the process registry's beats), `proxy` (a fault-injecting TCP
//! proxy for tests and `verify`), `bench` (and `verify`).

pub mod app;
pub mod backoff;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod config;
pub mod flow;
pub mod identity;
pub mod model;
pub mod ops;
pub mod output;
pub mod presence;
pub mod proxy;
pub mod secret;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod watchdog;
