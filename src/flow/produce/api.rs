//! What every route of the API shares: the pool, the token, the limits of
//! an upload, and the topic and saga of the events it writes.

use sqlx::PgPool;

use crate::config::Secret;
use crate::model::Topic;

/// The state every route shares.
pub struct Api {
    pub pool: PgPool,
    pub token: Option<Secret>,
    pub max_upload: u64,
    pub content_types: Vec<String>,
    pub topic: Topic,
    /// The saga an upload starts, if one is declared (its timeline is shown
    /// with the upload).
    pub saga: Option<String>,
}
