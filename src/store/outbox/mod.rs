//! The outbox table: `pipeline` has what the API, the relayer and the
//! gauges do with it (write events, claim, mark sent, record failures, wake
//! the relayer); `operator` has the operators' queries (list, explain,
//! replay, requeue, purge).

mod operator;
mod pipeline;

pub use operator::*;
pub use pipeline::*;
