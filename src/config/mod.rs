//! The effective configuration, resolved once: built-in defaults < the config
//! file < `OUTBOX_*` environment variables < command-line flags.
//!
//! Every setting `section.key` has the environment variable
//! `OUTBOX_SECTION_KEY` (e.g. `relay.batch_size` → `OUTBOX_RELAY_BATCH_SIZE`).
//! `schema` says what can be set and the defaults (`handlers` and `sagas`
//! the lists of tables), `resolve` layers the sources (and renders `config
//! show`), `validate` checks the result; both use `origin` for where a value
//! came from and the error they return. The command line hands `resolve` its
//! flags as a plain TOML table: this module reads files and the environment,
//! and knows nothing of clap, the store or the broker.

mod handlers;
mod origin;
mod resolve;
mod sagas;
mod schema;
mod validate;

pub use crate::secret::{Secret, SecretUrl};
pub use handlers::{
    Builtin, BuiltinSpec, ExecSpec, HandlerConfig, HandlerSpec, HttpSpec, KINDS, Secrets,
    Signature, SqlSpec, standard_webhooks_key,
};
pub use origin::{CONFIG_ENV, ConfigError, DEFAULT_FILE, ENV_PREFIX, Source, env_name};
pub use resolve::{Inputs, Resolved, Setting, resolve, settings};
pub use sagas::{OrchestratorConfig, Renamed, SagaConfig, StepConfig};
pub use schema::*;
