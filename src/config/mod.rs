//! The effective configuration, resolved once: built-in defaults < the config
//! file < `OUTBOX_*` environment variables < command-line flags.
//!
//! Every setting `section.key` has the environment variable
//! `OUTBOX_SECTION_KEY` (e.g. `relay.batch_size` → `OUTBOX_RELAY_BATCH_SIZE`).
//! `schema` says what can be set and the defaults, `resolve` layers the
//! sources (and renders `config show`), `validate` checks the result. This
//! module reads the files and the environment it is handed; it knows nothing
//! of clap, the store or the broker.

mod resolve;
mod schema;
mod validate;

pub use crate::secret::{Secret, SecretUrl};
pub use resolve::{
    CONFIG_ENV, ConfigError, DEFAULT_FILE, ENV_PREFIX, Inputs, Resolved, Setting, Source, env_name,
    resolve, settings,
};
pub use schema::*;
