//! The effective configuration, resolved once: built-in defaults < the config
//! file < `OUTBOX_*` environment variables < command-line flags.
//!
//! Every setting `section.key` has the environment variable
//! `OUTBOX_SECTION_KEY` (e.g. `relay.batch_size` → `OUTBOX_RELAY_BATCH_SIZE`).
//! This module reads files and the environment it is handed; it knows nothing
//! of clap, the store or the broker.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Name of the file looked up in the working directory when no `--config`
/// (or `OUTBOX_CONFIG`) is given.
pub const DEFAULT_FILE: &str = "outbox.toml";
pub const ENV_PREFIX: &str = "OUTBOX_";
pub const CONFIG_ENV: &str = "OUTBOX_CONFIG";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub broker: BrokerConfig,
    pub relay: RelayConfig,
    pub api: ApiConfig,
    pub consumer: ConsumerConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub watchdog: WatchdogConfig,
    pub shutdown: ShutdownConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: SecretUrl,
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("postgres://postgres@127.0.0.1:5432/outbox"),
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    Quorum,
    Classic,
}

impl QueueType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quorum => "quorum",
            Self::Classic => "classic",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The work queue consumers read from.
    pub name: String,
    /// Topic patterns bound to the exchange (`*` one word, `#` any words).
    pub bindings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    pub url: SecretUrl,
    pub exchange: String,
    pub dead_letter_exchange: String,
    pub queue_type: QueueType,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub confirm_timeout: Duration,
    /// RabbitMQ management API, for unacknowledged counts in `lag`. Default:
    /// http://<broker host>:15672 with the broker's user and password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_url: Option<SecretUrl>,
    pub queues: Vec<QueueConfig>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
            exchange: "outbox".into(),
            dead_letter_exchange: "outbox.dlx".into(),
            queue_type: QueueType::Quorum,
            connect_timeout: Duration::from_secs(5),
            confirm_timeout: Duration::from_secs(10),
            management_url: None,
            queues: vec![QueueConfig {
                name: "uploads.process".into(),
                bindings: vec!["upload.#".into()],
            }],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    pub poll_only: bool,
    pub batch_size: u32,
    pub workers: u32,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    pub apply_topology: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            poll_only: false,
            batch_size: 1000,
            workers: 2,
            max_attempts: 10,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            apply_topology: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: std::net::SocketAddr,
    /// Bearer token every route but the health checks requires; none = open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Largest file `POST /uploads` accepts.
    pub max_upload_size: ByteSize,
    /// Content types an uploaded file may have.
    pub content_types: Vec<String>,
    /// A request still running after this long is answered 408.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            max_upload_size: ByteSize(10 * 1024 * 1024),
            content_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
                "application/octet-stream",
            ]
            .map(String::from)
            .to_vec(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Queue to consume; default: the first of `broker.queues`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Name recorded in `consumed_messages`, the scope of deduplication:
    /// every instance of one service uses the same. Default: the queue name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Deliveries RabbitMQ sends ahead of acknowledgements.
    pub prefetch: u16,
    /// Messages processed at once (messages of one partition key never are).
    pub concurrency: u32,
    /// Attempts (the first delivery included) before a message is dead-lettered.
    pub max_attempts: u32,
    /// Wait before a failed message is delivered again.
    #[serde(with = "humantime_serde")]
    pub retry_delay: Duration,
    /// Dead-letter messages of topics without a handler instead of recording them.
    pub reject_unknown_topics: bool,
    /// Declare the topology on start.
    pub apply_topology: bool,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            queue: None,
            name: None,
            prefetch: 512,
            concurrency: 4,
            max_attempts: 5,
            retry_delay: Duration::from_secs(5),
            reject_unknown_topics: false,
            apply_topology: true,
        }
    }
}

impl Config {
    /// The queue `consume` reads: `consumer.queue`, else the first configured queue.
    pub fn consumer_queue(&self) -> &str {
        self.consumer
            .queue
            .as_deref()
            .or_else(|| self.broker.queues.first().map(|q| q.name.as_str()))
            .unwrap_or("uploads.process")
    }

    /// The consumer's name in `consumed_messages`.
    pub fn consumer_name(&self) -> &str {
        self.consumer
            .name
            .as_deref()
            .unwrap_or_else(|| self.consumer_queue())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve Prometheus metrics on this address (`relay`, `consume`, `up`);
    /// `serve` has them on its own port at `/metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<std::net::SocketAddr>,
}

/// When a stage that holds work and makes no progress is reported and when
/// it ends the process (see `crate::watchdog`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchdogConfig {
    #[serde(with = "humantime_serde")]
    pub warn_after: Duration,
    /// `0s`: never exit.
    #[serde(with = "humantime_serde")]
    pub exit_after: Duration,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self {
            warn_after: Duration::from_secs(30),
            exit_after: Duration::from_secs(300),
        }
    }
}

/// How long work in hand may take to finish after SIGTERM or SIGINT.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(3),
        }
    }
}

/// A secret string (e.g. an API token): never displayed, serialised as `****`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

/// A size in bytes, written `10MiB`, `512KiB`, `1GB` or a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{s:?} is not a size; write it like 10MiB, 512KiB or 1048576"))?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            other => {
                return Err(format!(
                    "unknown size unit {other:?} in {s:?}; use KiB, MiB or GiB"
                ));
            }
        };
        n.checked_mul(factor)
            .map(Self)
            .ok_or_else(|| format!("{s:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= size && n.is_multiple_of(size) {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Self(n)),
            Raw::Text(t) => Self::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `outboxctl=debug,sqlx=warn`, …
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Settings that have no default value, so serialising the defaults does not
/// reveal them: `(section, key)`.
const OPTIONAL_SETTINGS: &[(&str, &str)] = &[
    ("broker", "management_url"),
    ("api", "token"),
    ("consumer", "queue"),
    ("consumer", "name"),
    ("metrics", "listen"),
];

/// A URL that may hold a password. `Display`, `Debug` and `Serialize` mask the
/// password; only [`SecretUrl::expose`] gives the real string, for connecting.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn parsed(&self) -> Result<url::Url, url::ParseError> {
        url::Url::parse(&self.0)
    }

    /// The password, raw and percent-decoded, if the URL has one.
    pub fn passwords(&self) -> Vec<String> {
        let Ok(url) = self.parsed() else {
            return Vec::new();
        };
        let Some(raw) = url.password() else {
            return Vec::new();
        };
        let mut out = vec![raw.to_string()];
        if let Ok(decoded) = percent_encoding::percent_decode_str(raw).decode_utf8()
            && decoded != raw
        {
            out.push(decoded.into_owned());
        }
        out
    }

    pub fn masked(&self) -> String {
        match self.parsed() {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("****"));
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            // An unparseable URL could still hold a password after "://user:".
            Err(_) => mask_unparsed(&self.0),
        }
    }
}

/// Mask an unparseable URL: everything between the scheme and the last '@'
/// could be a password, so none of it is shown.
fn mask_unparsed(s: &str) -> String {
    let Some(at) = s.rfind('@') else {
        return s.to_string();
    };
    let prefix_end = s[..at].find("//").map_or(0, |i| i + 2);
    format!("{}****{}", &s[..prefix_end], &s[at..])
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.masked())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// Passwords seen in the configuration. Everything printed to stderr (errors
/// and logs) goes through [`scrub`], so a driver error that echoes a URL
/// cannot leak one.
fn secrets() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

pub fn register_secret(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut list = secrets().lock().unwrap_or_else(|e| e.into_inner());
    if !list.iter().any(|s| s == secret) {
        list.push(secret.to_string());
        // Longest first, so a password containing another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Replace every registered secret in `text` with `****`.
pub fn scrub(text: &str) -> String {
    let list = secrets().lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in list.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "****");
        }
    }
    out
}

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

/// A value given on the command line for a setting.
#[derive(Debug, Clone)]
pub struct Override {
    /// `section.key`
    pub path: &'static str,
    pub value: toml::Value,
    /// How the user wrote it, e.g. `--interval` (for messages).
    pub flag: String,
    /// `true` when clap took the value from the environment, not the command line.
    pub from_env: bool,
}

/// Everything [`resolve`] needs, gathered by the caller.
#[derive(Debug, Default)]
pub struct Inputs {
    /// `--config PATH` / `OUTBOX_CONFIG`: must exist.
    pub explicit_file: Option<PathBuf>,
    /// Looked up when there is no explicit file: `./outbox.toml`.
    pub default_file: Option<PathBuf>,
    /// The process environment (only `OUTBOX_*` matters).
    pub env: Vec<(String, String)>,
    /// Environment variables owned by command-line flags that are not
    /// settings (e.g. `OUTBOX_OUTPUT`): accepted, not applied here.
    pub flag_env: Vec<String>,
    pub overrides: Vec<Override>,
}

impl Inputs {
    pub fn from_process(explicit_file: Option<PathBuf>) -> Self {
        Self {
            explicit_file,
            default_file: Some(PathBuf::from(DEFAULT_FILE)),
            env: std::env::vars().collect(),
            ..Self::default()
        }
    }
}

/// The resolved configuration and where each non-default value came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Config,
    pub file: Option<PathBuf>,
    /// `section.key` → source, for values that are not the default.
    pub sources: BTreeMap<String, Source>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    String,
    Integer,
    Boolean,
    Float,
    Table,
}

impl Kind {
    fn of(v: &toml::Value) -> Self {
        match v {
            toml::Value::Integer(_) => Self::Integer,
            toml::Value::Boolean(_) => Self::Boolean,
            toml::Value::Float(_) => Self::Float,
            toml::Value::Array(_) | toml::Value::Table(_) => Self::Table,
            _ => Self::String,
        }
    }

    fn parse(self, raw: &str) -> Result<toml::Value, String> {
        match self {
            Self::String => Ok(toml::Value::String(raw.to_string())),
            Self::Integer => raw
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| format!("expected a whole number, got {raw:?}")),
            Self::Float => raw
                .trim()
                .parse::<f64>()
                .map(toml::Value::Float)
                .map_err(|_| format!("expected a number, got {raw:?}")),
            Self::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
                "false" | "0" | "no" | "off" | "" => Ok(toml::Value::Boolean(false)),
                _ => Err(format!("expected true or false, got {raw:?}")),
            },
            Self::Table => Err("lists can only be set in the config file".into()),
        }
    }
}

/// One setting: its dotted path, environment variable and value kind.
#[derive(Debug, Clone)]
pub struct Setting {
    pub section: String,
    pub key: String,
    kind: Kind,
}

impl Setting {
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    pub fn env_name(&self) -> String {
        env_name(&self.section, &self.key)
    }
}

pub fn env_name(section: &str, key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

/// Every setting there is, derived from the defaults.
pub fn settings() -> Vec<Setting> {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
    let mut out = Vec::new();
    for (section, table) in &defaults {
        let toml::Value::Table(table) = table else {
            continue;
        };
        for (key, value) in table {
            out.push(Setting {
                section: section.clone(),
                key: key.clone(),
                kind: Kind::of(value),
            });
        }
    }
    for (section, key) in OPTIONAL_SETTINGS {
        out.push(Setting {
            section: (*section).into(),
            key: (*key).into(),
            kind: Kind::String,
        });
    }
    out
}

/// Resolve the configuration from defaults, file, environment and flags.
pub fn resolve(inputs: Inputs) -> Result<Resolved, ConfigError> {
    let known = settings();
    let mut sources = BTreeMap::new();
    let mut table = toml::Table::new();

    // 1. The file.
    let file = match (&inputs.explicit_file, &inputs.default_file) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(path)) if path.is_file() => Some(path.clone()),
        _ => None,
    };
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(format!(
                "cannot read config file {}: {e} — check --config / {CONFIG_ENV}",
                path.display()
            ))
        })?;
        table = parse_file(path, &text)?;
        check_known_keys(path, &table, &known)?;
        for (section, value) in &table {
            if let toml::Value::Table(t) = value {
                for key in t.keys() {
                    sources.insert(format!("{section}.{key}"), Source::File(path.clone()));
                }
            }
        }
    }

    // 2. The environment.
    let mut env: Vec<_> = inputs
        .env
        .iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect();
    env.sort();
    for (name, raw) in env {
        if name == CONFIG_ENV || inputs.flag_env.iter().any(|f| f == name) {
            continue;
        }
        let Some(setting) = known.iter().find(|s| &s.env_name() == name) else {
            let hint = closest(name, known.iter().map(|s| s.env_name()))
                .map(|s| format!("did you mean {s}?"))
                .unwrap_or_else(|| "see outbox.toml for every setting".into());
            return Err(err(format!(
                "unknown environment variable {name} — {hint} (unset it otherwise)"
            )));
        };
        let value = setting.kind.parse(raw).map_err(|e| {
            err(format!(
                "{name} (setting {}): {e} — fix or unset {name}",
                setting.path()
            ))
        })?;
        set(&mut table, &setting.section, &setting.key, value);
        sources.insert(setting.path(), Source::Env(name.clone()));
    }

    // 3. The flags.
    for o in inputs.overrides {
        let (section, key) = o
            .path
            .split_once('.')
            .expect("override path is section.key");
        set(&mut table, section, key, o.value);
        let source = if o.from_env {
            Source::Env(env_name(section, key))
        } else {
            Source::Flag(o.flag)
        };
        sources.insert(o.path.to_string(), source);
    }

    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let source = sources
                .get(&path)
                .map(|s| format!(" (from {s})"))
                .unwrap_or_default();
            err(format!(
                "{path}: {}{source} — {}",
                e.inner().message().trim_end_matches('.'),
                fix_hint(&path)
            ))
        })?;
    validate(&config, &sources)?;

    for url in [&config.database.url, &config.broker.url]
        .into_iter()
        .chain(config.broker.management_url.as_ref())
    {
        for password in url.passwords() {
            register_secret(&password);
        }
    }
    if let Some(token) = &config.api.token {
        register_secret(token.expose());
    }
    Ok(Resolved {
        config,
        file,
        sources,
    })
}

fn fix_hint(path: &str) -> &'static str {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    if [
        "interval", "timeout", "backoff", "delay", "age", "after", "grace",
    ]
    .iter()
    .any(|w| leaf.contains(w))
    {
        "write a duration like 5s, 250ms or 2m"
    } else {
        "see outbox.toml for the expected form"
    }
}

fn parse_file(path: &Path, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let (line, col) = line_col(text, span.start);
                format!(" at line {line}, column {col}")
            })
            .unwrap_or_default();
        err(format!(
            "{}{at}: {} — fix the TOML syntax (see outbox.toml in the project for an example)",
            path.display(),
            e.message().trim().trim_end_matches('.').replace('\n', " ")
        ))
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn check_known_keys(
    path: &Path,
    table: &toml::Table,
    known: &[Setting],
) -> Result<(), ConfigError> {
    let sections: Vec<&str> = {
        let mut s: Vec<&str> = known.iter().map(|s| s.section.as_str()).collect();
        s.dedup();
        s
    };
    for (section, value) in table {
        if !sections.contains(&section.as_str()) {
            let hint = closest(section, sections.iter().map(|s| s.to_string()))
                .map(|s| format!("did you mean [{s}]?"))
                .unwrap_or_else(|| format!("the sections are {}", sections.join(", ")));
            return Err(err(format!(
                "{}: unknown section [{section}] — {hint}",
                path.display()
            )));
        }
        let toml::Value::Table(t) = value else {
            return Err(err(format!(
                "{}: `{section}` must be a table ([{section}]) — see outbox.toml for the layout",
                path.display()
            )));
        };
        for key in t.keys() {
            if !known.iter().any(|s| s.section == *section && s.key == *key) {
                let candidates = known
                    .iter()
                    .filter(|s| s.section == *section)
                    .map(|s| s.key.clone());
                let hint = closest(key, candidates)
                    .map(|s| format!("did you mean {section}.{s}?"))
                    .unwrap_or_else(|| "see outbox.toml for every setting".into());
                return Err(err(format!(
                    "{}: unknown setting {section}.{key} — {hint}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

fn set(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = entry {
        t.insert(key.to_string(), value);
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to
/// be a plausible typo.
fn closest(word: &str, candidates: impl Iterator<Item = String>) -> Option<String> {
    let word = word.to_ascii_lowercase();
    candidates
        .map(|c| (levenshtein(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn validate(c: &Config, sources: &BTreeMap<String, Source>) -> Result<(), ConfigError> {
    let from = |path: &str| {
        sources
            .get(path)
            .map(|s| format!(" (from {s})"))
            .unwrap_or_default()
    };
    check_url(
        &c.database.url,
        &["postgres", "postgresql"],
        "database.url",
        &from("database.url"),
        "postgres://user:password@host:5432/dbname",
    )?;
    check_url(
        &c.broker.url,
        &["amqp", "amqps"],
        "broker.url",
        &from("broker.url"),
        "amqp://user:password@host:5672/%2f",
    )?;
    if let Some(m) = &c.broker.management_url {
        check_url(
            m,
            &["http", "https"],
            "broker.management_url",
            &from("broker.management_url"),
            "http://user:password@host:15672",
        )?;
    }

    let positive = |path: &str, v: u64, max: u64| -> Result<(), ConfigError> {
        if v == 0 || v > max {
            return Err(err(format!(
                "{path} must be between 1 and {max}, got {v}{} — change {path} or {}",
                from(path),
                env_of(path)
            )));
        }
        Ok(())
    };
    positive(
        "database.max_connections",
        c.database.max_connections.into(),
        1000,
    )?;
    positive("relay.batch_size", c.relay.batch_size.into(), 10_000)?;
    positive("relay.workers", c.relay.workers.into(), 64)?;
    positive("relay.max_attempts", c.relay.max_attempts.into(), 1000)?;

    let nonzero = |path: &str, d: Duration| -> Result<(), ConfigError> {
        if d.is_zero() {
            return Err(err(format!(
                "{path} must be longer than 0{} — write a duration like 5s or 250ms",
                from(path)
            )));
        }
        Ok(())
    };
    nonzero("database.connect_timeout", c.database.connect_timeout)?;
    nonzero("broker.connect_timeout", c.broker.connect_timeout)?;
    nonzero("broker.confirm_timeout", c.broker.confirm_timeout)?;
    nonzero("relay.interval", c.relay.interval)?;
    nonzero("relay.backoff_initial", c.relay.backoff_initial)?;
    if c.relay.backoff_max < c.relay.backoff_initial {
        return Err(err(format!(
            "relay.backoff_max ({}) is shorter than relay.backoff_initial ({}) — raise relay.backoff_max",
            humantime::format_duration(c.relay.backoff_max),
            humantime::format_duration(c.relay.backoff_initial)
        )));
    }

    for (path, name) in [
        ("broker.exchange", &c.broker.exchange),
        (
            "broker.dead_letter_exchange",
            &c.broker.dead_letter_exchange,
        ),
    ] {
        check_name(path, name, &from(path))?;
    }
    if c.broker.exchange == c.broker.dead_letter_exchange {
        return Err(err(
            "broker.exchange and broker.dead_letter_exchange must differ — rename one of them",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for q in &c.broker.queues {
        check_name("broker.queues.name", &q.name, "")?;
        // The retry and dead-letter queues are named after the work queue.
        if q.name.len() > 255 - ".retry".len() {
            return Err(err(format!(
                "broker.queues: queue name {:?} is too long — keep it under 250 bytes",
                q.name
            )));
        }
        if !seen.insert(q.name.as_str()) {
            return Err(err(format!(
                "broker.queues: queue {:?} is listed twice — remove one entry",
                q.name
            )));
        }
        if q.bindings.is_empty() {
            return Err(err(format!(
                "broker.queues: queue {:?} has no bindings — add topic patterns, e.g. bindings = [\"upload.#\"]",
                q.name
            )));
        }
        for b in &q.bindings {
            if b.is_empty() || b.len() > 255 {
                return Err(err(format!(
                    "broker.queues: queue {:?} has an empty or over-long binding — use topic patterns like \"upload.#\"",
                    q.name
                )));
            }
        }
    }
    if c.api.max_upload_size.0 == 0 {
        return Err(err(
            "api.max_upload_size must be more than 0 — write a size like 10MiB",
        ));
    }
    if let Some(token) = &c.api.token
        && (token.expose().len() < 16 || token.expose().chars().any(char::is_whitespace))
    {
        return Err(err(format!(
            "api.token must be at least 16 characters without spaces{} — generate one, e.g. \
             `openssl rand -hex 32`",
            from("api.token")
        )));
    }
    for t in &c.api.content_types {
        if !t.contains('/') || t.chars().any(|c| c.is_whitespace() || c == ';') {
            return Err(err(format!(
                "api.content_types: {t:?} is not a media type — write them like \"image/png\""
            )));
        }
    }
    nonzero("api.request_timeout", c.api.request_timeout)?;
    positive("consumer.prefetch", c.consumer.prefetch.into(), 65_535)?;
    positive("consumer.concurrency", c.consumer.concurrency.into(), 1024)?;
    positive(
        "consumer.max_attempts",
        c.consumer.max_attempts.into(),
        1000,
    )?;
    nonzero("consumer.retry_delay", c.consumer.retry_delay)?;
    if c.broker.queues.is_empty() && c.consumer.queue.is_none() {
        return Err(err(
            "broker.queues is empty — declare at least one [[broker.queues]] in the config file",
        ));
    }
    if let Some(q) = &c.consumer.queue
        && !c.broker.queues.iter().any(|b| b.name == *q)
    {
        return Err(err(format!(
            "consumer.queue {q:?} is not one of broker.queues ({}) — add it there or pick one of those",
            c.broker
                .queues
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(name) = &c.consumer.name
        && (name.is_empty() || name.len() > 200)
    {
        return Err(err(
            "consumer.name must be 1 to 200 characters — e.g. the service's name",
        ));
    }
    nonzero("watchdog.warn_after", c.watchdog.warn_after)?;
    if !c.watchdog.exit_after.is_zero() && c.watchdog.exit_after <= c.watchdog.warn_after {
        return Err(err(format!(
            "watchdog.exit_after ({}) must be longer than watchdog.warn_after ({}), or 0s to \
             never exit — raise watchdog.exit_after",
            humantime::format_duration(c.watchdog.exit_after),
            humantime::format_duration(c.watchdog.warn_after)
        )));
    }
    nonzero("shutdown.grace", c.shutdown.grace)?;
    if c.log.level.trim().is_empty() {
        return Err(err(
            "log.level is empty — use info, debug, warn or a filter like outboxctl=debug",
        ));
    }
    Ok(())
}

fn env_of(path: &str) -> String {
    let (section, key) = path.split_once('.').unwrap_or((path, ""));
    env_name(section, key)
}

fn check_url(
    url: &SecretUrl,
    schemes: &[&str],
    path: &str,
    from: &str,
    example: &str,
) -> Result<(), ConfigError> {
    let env = env_of(path);
    let parsed = url.parsed().map_err(|e| {
        err(format!(
            "{path} is not a valid URL ({e}){from}: {} — expected {example} ({env} / --{})",
            url.masked(),
            path.replace(['.', '_'], "-")
        ))
    })?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(err(format!(
            "{path} must start with {}://, got {}://{from} — expected {example}",
            schemes[0],
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err(format!(
            "{path} has no host{from}: {} — expected {example}",
            url.masked()
        )));
    }
    Ok(())
}

fn check_name(path: &str, name: &str, from: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok && !name.starts_with("amq.") {
        Ok(())
    } else {
        Err(err(format!(
            "{path} {name:?} is not a usable name{from} — use letters, digits, '.', '-', '_' or ':' (up to 255, not starting with amq.)"
        )))
    }
}

impl Resolved {
    /// The effective configuration as commented TOML, passwords masked: each
    /// value that is not a default says where it came from.
    pub fn render_toml(&self) -> String {
        let text = toml::to_string(&self.config).expect("config serialises");
        let mut out = String::new();
        match &self.file {
            Some(f) => out.push_str(&format!("# config file: {}\n", f.display())),
            None => out.push_str("# config file: none (built-in defaults)\n"),
        }
        let mut section = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("[[") {
                // A list of tables lives only in the file.
            } else if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((key, _)) = trimmed.split_once(" = ")
                && let Some(source) = self.sources.get(&format!("{section}.{key}"))
            {
                out.push_str(&format!("{line}  # {source}\n"));
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile_lite::TempFile {
        let f = tempfile_lite::TempFile::new();
        std::fs::File::create(&f.path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        f
    }

    /// A self-deleting file in the system temp directory.
    mod tempfile_lite {
        pub struct TempFile {
            pub path: std::path::PathBuf,
        }
        impl TempFile {
            pub fn new() -> Self {
                let path =
                    std::env::temp_dir().join(format!("outboxctl-{}.toml", uuid::Uuid::new_v4()));
                Self { path }
            }
        }
        impl Drop for TempFile {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }

    fn inputs(file: Option<&std::path::Path>, env: &[(&str, &str)]) -> Inputs {
        Inputs {
            explicit_file: file.map(Path::to_path_buf),
            default_file: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flag_env: vec![],
            overrides: vec![],
        }
    }

    #[test]
    fn defaults_file_env_flags_in_that_order() {
        let f = file("[relay]\ninterval = \"7s\"\nbatch_size = 10\nworkers = 3\n");
        let mut i = inputs(
            Some(&f.path),
            &[
                ("OUTBOX_RELAY_BATCH_SIZE", "20"),
                ("OUTBOX_RELAY_WORKERS", "4"),
            ],
        );
        i.overrides.push(Override {
            path: "relay.workers",
            value: toml::Value::Integer(5),
            flag: "--workers".into(),
            from_env: false,
        });
        let r = resolve(i).unwrap();
        // default (untouched)
        assert_eq!(r.config.relay.max_attempts, 10);
        assert!(!r.sources.contains_key("relay.max_attempts"));
        // file
        assert_eq!(r.config.relay.interval, Duration::from_secs(7));
        assert_eq!(r.sources["relay.interval"], Source::File(f.path.clone()));
        // env beats file
        assert_eq!(r.config.relay.batch_size, 20);
        assert_eq!(
            r.sources["relay.batch_size"],
            Source::Env("OUTBOX_RELAY_BATCH_SIZE".into())
        );
        // flag beats env
        assert_eq!(r.config.relay.workers, 5);
        assert_eq!(r.sources["relay.workers"], Source::Flag("--workers".into()));
    }

    #[test]
    fn unknown_key_names_the_setting_and_a_suggestion() {
        let f = file("[relay]\nintervall = \"5s\"\n");
        let e = resolve(inputs(Some(&f.path), &[])).unwrap_err().to_string();
        assert!(e.contains("unknown setting relay.intervall"), "{e}");
        assert!(e.contains("did you mean relay.interval?"), "{e}");
    }

    #[test]
    fn unknown_env_var_is_an_error_with_a_suggestion() {
        let e = resolve(inputs(None, &[("OUTBOX_DATABSE_URL", "postgres://x/y")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("OUTBOX_DATABSE_URL"), "{e}");
        assert!(e.contains("did you mean OUTBOX_DATABASE_URL?"), "{e}");
    }

    #[test]
    fn syntax_error_has_a_line_and_is_one_line() {
        let f = file("[relay]\ninterval = 5s\n");
        let e = resolve(inputs(Some(&f.path), &[])).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn bad_duration_names_setting_and_source() {
        let e = resolve(inputs(None, &[("OUTBOX_RELAY_INTERVAL", "5 parsecs")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("relay.interval:"), "{e}");
        assert!(e.contains("OUTBOX_RELAY_INTERVAL"), "{e}");
        assert!(e.contains("5s"), "{e}");
    }

    #[test]
    fn bad_url_is_rejected_without_the_password() {
        let e = resolve(inputs(
            None,
            &[("OUTBOX_DATABASE_URL", "mysql://u:hunter2@h/db")],
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("database.url must start with postgres://"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let e = resolve(inputs(None, &[("OUTBOX_BROKER_URL", "amqp//u:s3cret@h")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("broker.url is not a valid URL"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn passwords_are_masked_and_scrubbed() {
        let url = SecretUrl::new("postgres://app:p%40ss@db:5432/x");
        assert_eq!(url.masked(), "postgres://app:****@db:5432/x");
        assert_eq!(
            format!("{url} {url:?}"),
            "postgres://app:****@db:5432/x SecretUrl(postgres://app:****@db:5432/x)"
        );
        register_secret("p@ss");
        for p in url.passwords() {
            register_secret(&p);
        }
        assert_eq!(scrub("login p@ss and p%40ss"), "login **** and ****");
        assert_eq!(mask_unparsed("amqp//u:pw@h"), "amqp//****@h");
        assert_eq!(mask_unparsed("u:p/w:x@h"), "****@h");
        assert_eq!(mask_unparsed("no-at-sign"), "no-at-sign");
    }

    #[test]
    fn render_marks_sources_and_masks() {
        let r = resolve(inputs(
            None,
            &[("OUTBOX_BROKER_URL", "amqp://u:topsecret@h:5672/%2f")],
        ))
        .unwrap();
        let text = r.render_toml();
        assert!(!text.contains("topsecret"), "{text}");
        assert!(
            text.contains("url = \"amqp://u:****@h:5672/%2f\"  # env OUTBOX_BROKER_URL"),
            "{text}"
        );
    }

    #[test]
    fn byte_sizes_parse_and_print() {
        assert_eq!(ByteSize::parse("10MiB").unwrap(), ByteSize(10 << 20));
        assert_eq!(ByteSize::parse("512 KiB").unwrap(), ByteSize(512 << 10));
        assert_eq!(ByteSize::parse("1000").unwrap(), ByteSize(1000));
        assert_eq!(ByteSize::parse("2MB").unwrap(), ByteSize(2_000_000));
        assert!(ByteSize::parse("10 parsecs").is_err());
        assert!(ByteSize::parse("MiB").is_err());
        assert_eq!(ByteSize(10 << 20).to_string(), "10MiB");
        assert_eq!(ByteSize(1500).to_string(), "1500");
        let r = resolve(inputs(None, &[("OUTBOX_API_MAX_UPLOAD_SIZE", "1KiB")])).unwrap();
        assert_eq!(r.config.api.max_upload_size, ByteSize(1024));
    }

    #[test]
    fn api_token_is_masked_everywhere() {
        let r = resolve(inputs(
            None,
            &[("OUTBOX_API_TOKEN", "0123456789abcdef-token")],
        ))
        .unwrap();
        assert_eq!(
            r.config.api.token.as_ref().unwrap().expose(),
            "0123456789abcdef-token"
        );
        let shown = r.render_toml();
        assert!(!shown.contains("0123456789abcdef-token"), "{shown}");
        assert!(
            shown.contains("token = \"****\"  # env OUTBOX_API_TOKEN"),
            "{shown}"
        );
        assert_eq!(scrub("Bearer 0123456789abcdef-token"), "Bearer ****");
        let e = resolve(inputs(None, &[("OUTBOX_API_TOKEN", "short")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("api.token must be at least 16 characters"),
            "{e}"
        );
    }

    #[test]
    fn every_setting_has_an_env_name() {
        let names: Vec<String> = settings().iter().map(Setting::env_name).collect();
        assert!(names.contains(&"OUTBOX_RELAY_BATCH_SIZE".to_string()));
        assert!(names.contains(&"OUTBOX_BROKER_CONFIRM_TIMEOUT".to_string()));
        assert!(names.contains(&"OUTBOX_DATABASE_URL".to_string()));
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// `outbox.toml` in the repository documents every setting at its default.
    #[test]
    fn example_config_lists_every_setting_at_its_default() {
        let text = include_str!("../outbox.toml");
        let table: toml::Table = text.parse().expect("outbox.toml parses");
        for s in settings() {
            let present = table
                .get(&s.section)
                .and_then(|t| t.as_table())
                .is_some_and(|t| t.contains_key(&s.key));
            let optional = OPTIONAL_SETTINGS.contains(&(s.section.as_str(), s.key.as_str()));
            assert!(
                present || optional || text.contains(&format!("# {} =", s.key)),
                "outbox.toml does not mention {}",
                s.path()
            );
        }
        let from_file: Config = toml::from_str(text).expect("outbox.toml is a valid config");
        assert_eq!(
            toml::Table::try_from(&from_file).unwrap(),
            toml::Table::try_from(Config::default()).unwrap(),
            "outbox.toml values differ from the built-in defaults"
        );
    }
}
