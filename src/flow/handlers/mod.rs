//! What the consumer does with a message: the [`Handler`] interface the
//! engine (`flow::consume`) calls inside its transaction (`handler`), the
//! handlers of a queue and the routing of topic patterns to them
//! (`registry`), and a runner per kind an operator declares in
//! `[[handlers]]`: `sql` (a statement in the consumer's transaction), `http`
//! (a webhook), `exec` (a command), and `upload` (the built-in example).
//!
//! Depends on `config`, `model` and `store`; never on the broker or the
//! engine.

pub mod exec;
mod handler;
pub mod http;
mod registry;
pub mod sql;
pub mod upload;

pub use handler::{
    Call, CheckFuture, Done, Handler, HandlerError, HandlerFuture, HandlersFuture, Limits, Measure,
    Message,
};
pub use registry::{Effect, Handlers, Route, SetupError};
