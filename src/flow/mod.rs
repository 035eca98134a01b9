//! The pipeline: the only layer that uses both the store and the broker.

pub mod relay;
