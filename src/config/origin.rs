//! Where a setting's value comes from and what is said when it is wrong:
//! the names of the sources (file, `OUTBOX_*` variable, flag), the error
//! every check of the configuration returns. `resolve` and `validate` both
//! use these; this file uses neither.

use std::fmt;
use std::path::PathBuf;

/// Name of the file looked up in the working directory when no `--config`
/// (or `OUTBOX_CONFIG`) is given.
pub const DEFAULT_FILE: &str = "outbox.toml";
pub const ENV_PREFIX: &str = "OUTBOX_";
pub const CONFIG_ENV: &str = "OUTBOX_CONFIG";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Env(name) => write!(f, "env {name}"),
            Self::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A configuration that cannot be used: one line saying what is wrong and
/// how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

pub(super) fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// The environment variable of setting `section.key`.
pub fn env_name(section: &str, key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

/// The environment variable of a dotted setting path (`relay.batch_size`).
pub(super) fn env_of(path: &str) -> String {
    let (section, key) = path.split_once('.').unwrap_or((path, ""));
    env_name(section, key)
}

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a plausible typo.
pub(super) fn closest(word: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    let word = word.to_ascii_lowercase();
    candidates
        .map(|c| (strsim::levenshtein(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
