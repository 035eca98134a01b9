//! The pipeline: the only layer that uses both the store and the broker.
//! `produce` (the API) writes events, `relay` publishes them, `consume` (the
//! engine) delivers them once to `handlers`; `up` runs all of it together.

pub mod consume;
pub mod handlers;
pub mod produce;
pub mod relay;
pub mod saga;
pub mod up;
