//! The pipeline: the only layer that uses both the store and the broker.

pub mod openapi;
pub mod produce;
pub mod relay;
