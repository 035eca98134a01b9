//! Resolving the configuration once: built-in defaults < the config file <
//! `OUTBOX_*` environment variables < command-line flags, remembering where
//! each value came from, with a typo hint for unknown keys and variables.
//! This is the one reader of `OUTBOX_*`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::origin::{
    CONFIG_ENV, ConfigError, DEFAULT_FILE, ENV_PREFIX, Source, closest, env_name, err,
};
use super::schema::{Config, OPTIONAL_SETTINGS};
use super::{handlers, validate};
use crate::secret::register_secret;

/// Top-level lists of tables (`[[handlers]]`): file-only, checked by serde.
const LISTS: &[&str] = &["handlers", "sagas"];

/// Everything [`resolve`] needs, gathered by the caller.
#[derive(Debug, Default)]
pub struct Inputs {
    /// `--config PATH` / `OUTBOX_CONFIG`: must exist.
    pub explicit_file: Option<PathBuf>,
    /// Looked up when there is no explicit file: `./outbox.toml`.
    pub default_file: Option<PathBuf>,
    /// The process environment (only `OUTBOX_*` matters).
    pub env: Vec<(String, String)>,
    /// Settings given as command-line flags: `{section: {key: value}}`, the
    /// top layer.
    pub flags: toml::Table,
    /// How each flag is written, `relay.batch_size` → `--batch-size`, for
    /// messages and `config show`.
    pub flag_names: BTreeMap<String, String>,
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
    /// `file` was found in the working directory, not named by `--config`
    /// or `OUTBOX_CONFIG`.
    pub file_from_working_directory: bool,
    /// `section.key` → source, for values that are not the default.
    pub sources: BTreeMap<String, Source>,
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
        // The example handler comes with the example queue: a file that
        // declares its own queues declares its own handlers (or none).
        let own_queues = table.get("broker").and_then(|b| b.get("queues")).is_some();
        for list in ["handlers", "sagas"] {
            if own_queues && !table.contains_key(list) {
                table.insert(list.into(), toml::Value::Array(Vec::new()));
            }
        }
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
        if name == CONFIG_ENV {
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
    for (section, value) in inputs.flags {
        let toml::Value::Table(keys) = value else {
            continue;
        };
        for (key, value) in keys {
            let path = format!("{section}.{key}");
            let flag = inputs
                .flag_names
                .get(&path)
                .cloned()
                .unwrap_or_else(|| format!("--{}", key.replace('_', "-")));
            set(&mut table, &section, &key, value);
            sources.insert(path, Source::Flag(flag));
        }
    }

    let written = table.get("handlers").cloned();
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().message();
            // `handlers[2]` or `handlers[2].queue`: say which handler.
            if let Some((n, field)) = path
                .strip_prefix("handlers[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(n, field)| Some((n.parse::<usize>().ok()?, field)))
            {
                let entry = written.as_ref().and_then(|h| h.get(n));
                let field = field.trim_start_matches('.');
                return err(handlers::explain(entry, field, message));
            }
            let source = sources
                .get(&path)
                .map(|s| format!(" (from {s})"))
                .unwrap_or_default();
            err(format!(
                "{path}: {}{source} — {}",
                message.trim_end_matches('.'),
                fix_hint(&path)
            ))
        })?;
    validate::validate(&config, &sources)?;

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
    for secret in config.handlers.iter().flat_map(|h| h.spec.secrets()) {
        register_secret(&secret);
    }
    Ok(Resolved {
        config,
        file_from_working_directory: file.is_some() && inputs.explicit_file.is_none(),
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
        if LISTS.contains(&section.as_str()) {
            // Lists of tables: serde names an unknown key with its position.
            if !value.is_array() {
                return Err(err(format!(
                    "{}: `{section}` is a list of tables ([[{section}]]) — see outbox.toml",
                    path.display()
                )));
            }
            continue;
        }
        if !sections.contains(&section.as_str()) {
            let hint = closest(section, sections.iter().chain(LISTS).map(|s| s.to_string()))
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

impl Resolved {
    /// Which configuration file was read and how it was found, for logs and
    /// `config show`.
    pub fn file_origin(&self) -> String {
        match &self.file {
            Some(f) if self.file_from_working_directory => format!(
                "{} (found in the working directory; --config or {CONFIG_ENV} names another)",
                f.display()
            ),
            Some(f) => format!("{} (named by --config or {CONFIG_ENV})", f.display()),
            None => format!(
                "none — no --config, no {CONFIG_ENV} and no ./{DEFAULT_FILE}: built-in defaults, \
                 OUTBOX_* variables and flags"
            ),
        }
    }

    /// The effective configuration as commented TOML, passwords masked: each
    /// value that is not a default says where it came from.
    pub fn render_toml(&self) -> String {
        let text = toml::to_string(&self.config).expect("config serialises");
        let mut out = format!("# config file: {}\n", self.file_origin());
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

    use crate::secret::scrub;
    use std::time::Duration;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn inputs(file: Option<&std::path::Path>, env: &[(&str, &str)]) -> Inputs {
        Inputs {
            explicit_file: file.map(Path::to_path_buf),
            default_file: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flags: toml::Table::new(),
            flag_names: BTreeMap::new(),
        }
    }

    #[test]
    fn defaults_file_env_flags_in_that_order() {
        let f = file("[relay]\ninterval = \"7s\"\nbatch_size = 10\nworkers = 3\n");
        let mut i = inputs(
            Some(f.path()),
            &[
                ("OUTBOX_RELAY_BATCH_SIZE", "20"),
                ("OUTBOX_RELAY_WORKERS", "4"),
            ],
        );
        i.flags = toml::toml! { [relay]
        workers = 5 };
        i.flag_names
            .insert("relay.workers".into(), "--workers".into());
        let r = resolve(i).unwrap();
        // default (untouched)
        assert_eq!(r.config.relay.max_attempts, 10);
        assert!(!r.sources.contains_key("relay.max_attempts"));
        // file
        assert_eq!(r.config.relay.interval, Duration::from_secs(7));
        assert_eq!(
            r.sources["relay.interval"],
            Source::File(f.path().to_path_buf())
        );
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
        let e = resolve(inputs(Some(f.path()), &[]))
            .unwrap_err()
            .to_string();
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
        let e = resolve(inputs(Some(f.path()), &[]))
            .unwrap_err()
            .to_string();
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
        // Several nodes: each must be a URL; a database is one server.
        let e = resolve(inputs(
            None,
            &[("OUTBOX_BROKER_URL", "amqp://u:s3cret@a:5672,b:x/%2f")],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("broker.url is not a valid URL"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let cluster = "amqp://u:s3cret@a:5672,b:5673/%2f";
        assert!(resolve(inputs(None, &[("OUTBOX_BROKER_URL", cluster)])).is_ok());
        let e = resolve(inputs(
            None,
            &[("OUTBOX_DATABASE_URL", "postgres://u:s3cret@a,b/db")],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("database.url lists several hosts"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
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
    use super::super::schema::{Config, OPTIONAL_SETTINGS};
    use super::settings;

    /// `outbox.toml` in the repository documents every setting at its default.
    #[test]
    fn example_config_lists_every_setting_at_its_default() {
        let text = include_str!("../../outbox.toml");
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
