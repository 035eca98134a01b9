//! Operator commands: set-up (migrate, topology, config) and generated docs.
//! They go through the same store and broker functions as the pipeline.

pub mod docs;
pub mod setup;
