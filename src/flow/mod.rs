//! The pipeline: the only layer that uses both the store and the broker.

pub mod consume;
pub mod openapi;
pub mod produce;
pub mod relay;
pub mod up;
