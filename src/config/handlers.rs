//! `[[handlers]]`: what the consumer does with messages. An entry is the
//! fields every handler has (name, queue, topics, limits) and the spec of
//! its kind — an internally tagged enum, so serde parses `kind = "…"` and
//! refuses a field another kind owns. Each spec checks its own values.
//!
//! A new kind is a variant here with its spec type, a line in [`KINDS`] and
//! its check, and its runner in `flow::handlers`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, SecretUrl};

/// One `[[handlers]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandlerConfig {
    /// Unique; shown in logs, metrics, dead-letter reasons.
    pub name: String,
    /// The queue whose messages it handles; default: the first of broker.queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Topic patterns it handles (`*` one word, `#` any words); the queue is
    /// bound to them.
    pub topics: Vec<String>,
    /// `http`, `exec`: an attempt still running after this long failed and is
    /// retried.
    #[serde(default = "HandlerConfig::default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// `http`, `exec`: attempts in flight at once; default: consumer.concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// What it does: `kind` and that kind's own fields.
    #[serde(flatten)]
    pub spec: HandlerSpec,
}

/// What a handler does, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HandlerSpec {
    /// A statement in the consumer's transaction: the effect happens once.
    Sql(SqlSpec),
    /// A webhook: at least once, with a stable idempotency key.
    Http(HttpSpec),
    /// A command: at least once.
    Exec(ExecSpec),
    /// Compiled into outboxctl (the upload example).
    Builtin(BuiltinSpec),
}

/// `kind = "sql"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlSpec {
    /// Parameters: $1 payload (jsonb), $2 headers (jsonb), $3 message id
    /// (uuid), $4 topic, $5 partition key (text, null without one), $6
    /// attempt (int).
    pub statement: String,
}

/// `kind = "http"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// Where to POST the payload.
    pub url: SecretUrl,
    /// How a request is signed with `secret`; unset means the scheme of
    /// earlier versions (Stripe's, see [`Signature::Stripe`]), with a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// The HMAC-SHA256 key, or several during a key rotation (each request
    /// then carries a signature by each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secrets>,
}

/// A webhook signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signature {
    /// standardwebhooks.com: `webhook-id`, `webhook-timestamp` and
    /// `webhook-signature: v1,<base64 HMAC of "id.timestamp.body">`, keyed
    /// by the bytes a `whsec_<base64>` secret encodes — what Svix, Zapier,
    /// Twilio, Supabase and the `standardwebhooks` libraries verify.
    StandardWebhooks,
    /// Stripe's: `Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body">`,
    /// keyed by the secret string as written; also sent as
    /// `Outbox-Signature`, the header earlier versions used.
    Stripe,
}

impl Signature {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard-webhooks",
            Self::Stripe => "stripe",
        }
    }
}

/// `secret = "…"` or `secret = ["new…", "old…"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Secrets {
    One(Secret),
    Many(Vec<Secret>),
}

impl Secrets {
    pub fn all(&self) -> &[Secret] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for Secrets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Secrets;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a secret string, or a list of them during a key rotation")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Secrets, E> {
                Ok(Secrets::One(Secret::new(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Secrets, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = a.next_element::<String>()? {
                    all.push(Secret::new(s));
                }
                Ok(Secrets::Many(all))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `kind = "exec"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// The program and its arguments (no shell).
    pub command: Vec<String>,
}

/// `kind = "builtin"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSpec {
    pub builtin: Builtin,
}

/// The handlers compiled into outboxctl: the upload example's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    InspectUpload,
    MakeThumbnail,
    RemoveThumbnail,
    PublishUpload,
    RejectUpload,
}

impl Builtin {
    pub const ALL: [Self; 5] = [
        Self::InspectUpload,
        Self::MakeThumbnail,
        Self::RemoveThumbnail,
        Self::PublishUpload,
        Self::RejectUpload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InspectUpload => "inspect-upload",
            Self::MakeThumbnail => "make-thumbnail",
            Self::RemoveThumbnail => "remove-thumbnail",
            Self::PublishUpload => "publish-upload",
            Self::RejectUpload => "reject-upload",
        }
    }

    /// The topics of the events its effect writes to the outbox.
    pub fn publishes(self) -> &'static [&'static str] {
        match self {
            Self::PublishUpload => &["upload.available"],
            Self::RejectUpload => &["upload.rejected"],
            _ => &[],
        }
    }

    /// The topic its step of the upload saga goes out on.
    fn topic(self) -> &'static str {
        match self {
            Self::InspectUpload => "upload.inspect",
            Self::MakeThumbnail => "upload.thumbnail",
            Self::RemoveThumbnail => "upload.thumbnail.remove",
            Self::PublishUpload => "upload.publish",
            Self::RejectUpload => "upload.reject",
        }
    }
}

/// A kind, the fields of its own, and an example of the one it needs.
pub struct Kind {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub example: &'static str,
}

/// Every kind, for the messages that say which kind owns a field.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "sql",
        fields: &["statement"],
        example: "statement = \"SELECT billing.apply_payment($1, $2)\"",
    },
    Kind {
        name: "http",
        fields: &["url", "signature", "secret"],
        example: "url = \"https://billing.internal/hooks\"",
    },
    Kind {
        name: "exec",
        fields: &["command"],
        example: "command = [\"/usr/local/bin/on-order\", \"--verbose\"]",
    },
    Kind {
        name: "builtin",
        fields: &["builtin"],
        example: "builtin = \"inspect-upload\"",
    },
];

/// The fields every kind has.
const COMMON: &[&str] = &["name", "kind", "queue", "topics", "timeout", "concurrency"];

impl HandlerSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sql(_) => "sql",
            Self::Http(_) => "http",
            Self::Exec(_) => "exec",
            Self::Builtin(_) => "builtin",
        }
    }

    /// Whether its effect happens outside the database (at least once).
    pub fn calls_out(&self) -> bool {
        matches!(self, Self::Http(_) | Self::Exec(_))
    }

    /// What it runs, for people: the statement, the URL (password masked),
    /// the command line, the built-in's name.
    pub fn target(&self) -> String {
        match self {
            Self::Sql(s) => s.statement.clone(),
            Self::Http(h) => h.url.masked(),
            Self::Exec(e) => e.command.join(" "),
            Self::Builtin(b) => b.builtin.as_str().to_string(),
        }
    }

    /// The scheme it signs what it sends with, if it does.
    pub fn signature(&self) -> Option<Signature> {
        match self {
            Self::Http(h) => h.scheme(),
            _ => None,
        }
    }

    /// What the operator should change though it works, if anything.
    pub fn advice(&self) -> Option<String> {
        match self {
            Self::Http(h) => h.advice(),
            _ => None,
        }
    }

    /// The secrets it holds, to be masked wherever they would be printed.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::Http(h) => h
                .url
                .passwords()
                .into_iter()
                .chain(
                    h.secret
                        .iter()
                        .flat_map(Secrets::all)
                        .map(|s| s.expose().to_string()),
                )
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Put the secrets `entry` (this spec serialised, masked) hides back in
    /// clear.
    pub(super) fn expose_in(&self, entry: &mut toml::Value) {
        if let Self::Http(h) = self {
            entry["url"] = toml::Value::String(h.url.expose().into());
            let clear = |s: &Secret| toml::Value::String(s.expose().into());
            match &h.secret {
                Some(Secrets::One(s)) => entry["secret"] = clear(s),
                Some(Secrets::Many(all)) => {
                    entry["secret"] = toml::Value::Array(all.iter().map(clear).collect());
                }
                None => {}
            }
        }
    }

    /// The spec's own values: what is wrong and the fix, if anything.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Sql(s) if s.statement.trim().is_empty() => Err(format!(
                "kind = \"sql\" needs a statement, e.g. {}",
                KINDS[0].example
            )),
            Self::Http(h) => {
                let example = "e.g. url = \"https://billing.internal/hooks\"";
                match h.url.parsed() {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                    Ok(u) => {
                        return Err(format!(
                            "url {} must be http:// or https:// with a host, not {}:// — {example}",
                            h.url.masked(),
                            u.scheme()
                        ));
                    }
                    Err(e) => {
                        return Err(format!(
                            "url {} is not a URL ({e}) — {example}",
                            h.url.masked()
                        ));
                    }
                }
                h.check_signing()
            }
            Self::Exec(e) if e.command.first().is_none_or(|p| p.trim().is_empty()) => Err(format!(
                "kind = \"exec\" needs a command, e.g. {}",
                KINDS[2].example
            )),
            _ => Ok(()),
        }
    }
}

impl HttpSpec {
    /// The scheme requests are signed with, if any.
    pub fn scheme(&self) -> Option<Signature> {
        self.secret
            .as_ref()
            .map(|_| self.signature.unwrap_or(Signature::Stripe))
    }

    /// What an operator should change, though it works: a secret without a
    /// `signature` signs as earlier versions did.
    pub fn advice(&self) -> Option<String> {
        (self.secret.is_some() && self.signature.is_none()).then(|| {
            "signature is not set, so requests are signed as by earlier versions (Stripe's \
             scheme, headers Stripe-Signature and Outbox-Signature) — set signature = \
             \"standard-webhooks\" (secret whsec_<base64>; what Svix, Zapier, Twilio, Supabase \
             and the standardwebhooks libraries verify), or signature = \"stripe\" to keep \
             this scheme"
                .to_string()
        })
    }

    fn check_signing(&self) -> Result<(), String> {
        const GENERATE: &str = "generate one: echo \"whsec_$(openssl rand -base64 32)\"";
        let secrets = self.secret.as_ref().map_or(&[][..], Secrets::all);
        if let (Some(scheme), None) = (self.signature, &self.secret) {
            return Err(format!(
                "signature = \"{}\" needs a secret to sign with — {GENERATE}",
                scheme.as_str()
            ));
        }
        if self.secret.is_some() && secrets.is_empty() {
            return Err(format!(
                "secret is an empty list — give at least one; {GENERATE}"
            ));
        }
        for (i, s) in secrets.iter().enumerate() {
            let which = if secrets.len() > 1 {
                format!("secret #{}", i + 1)
            } else {
                "secret".to_string()
            };
            match self.scheme() {
                Some(Signature::StandardWebhooks) => {
                    if let Err(e) = standard_webhooks_key(s.expose()) {
                        return Err(format!(
                            "{which} is not a Standard Webhooks secret: {e} — {GENERATE}"
                        ));
                    }
                }
                _ if s.expose().len() < 16 => {
                    return Err(format!(
                        "{which} must be at least 16 characters — {GENERATE}"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The key a Standard Webhooks secret encodes: the bytes of the base64 after
/// `whsec_`, 24 to 64 of them (the specification's bounds).
pub fn standard_webhooks_key(secret: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or("it must start with whsec_")?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("what follows whsec_ is not base64 ({e})"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "it encodes {} bytes; a key has 24 to 64",
            key.len()
        ));
    }
    Ok(key)
}

impl HandlerConfig {
    fn default_timeout() -> Duration {
        Duration::from_secs(10)
    }

    /// A handler for `topics` on the first queue, every other field at its
    /// default.
    pub fn new(name: &str, topics: &[&str], spec: HandlerSpec) -> Self {
        Self {
            name: name.into(),
            queue: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            timeout: Self::default_timeout(),
            concurrency: None,
            spec,
        }
    }

    /// An `sql` handler of `topics` on the first queue.
    pub fn sql(name: &str, topics: &[&str], statement: &str) -> Self {
        Self::new(
            name,
            topics,
            HandlerSpec::Sql(SqlSpec {
                statement: statement.into(),
            }),
        )
    }

    /// An `http` handler of `topics` on the first queue, unsigned.
    pub fn http(name: &str, topics: &[&str], url: &str) -> Self {
        Self::new(
            name,
            topics,
            HandlerSpec::Http(HttpSpec {
                url: SecretUrl::new(url),
                signature: None,
                secret: None,
            }),
        )
    }

    /// An `exec` handler of `topics` on the first queue.
    pub fn exec(name: &str, topics: &[&str], command: &[&str]) -> Self {
        Self::new(
            name,
            topics,
            HandlerSpec::Exec(ExecSpec {
                command: command.iter().map(|c| c.to_string()).collect(),
            }),
        )
    }

    /// A built-in handler of its step's topic on the upload example's queue.
    pub fn builtin(builtin: Builtin) -> Self {
        Self {
            queue: Some("uploads.process".into()),
            ..Self::new(
                builtin.as_str(),
                &[builtin.topic()],
                HandlerSpec::Builtin(BuiltinSpec { builtin }),
            )
        }
    }

    /// The upload example's inspection alone (tests of the engine).
    pub fn inspect_upload() -> Self {
        Self::builtin(Builtin::InspectUpload)
    }

    /// The handlers serving the upload saga's steps and compensations.
    pub fn upload_example() -> Vec<Self> {
        Builtin::ALL.into_iter().map(Self::builtin).collect()
    }
}

/// A `[[handlers]]` entry serde could not read, said like every other
/// configuration error: which handler, what is wrong, the fix. `entry` is
/// the entry as written, `field` the field serde was reading (if it got to
/// one), `message` serde's complaint.
pub(super) fn explain(entry: Option<&toml::Value>, field: &str, message: &str) -> String {
    let written = |key: &str| entry.and_then(|e| e.get(key)).and_then(|v| v.as_str());
    let name = written("name").map_or_else(|| "(unnamed)".to_string(), |n| format!("{n:?}"));
    let kind = written("kind").and_then(|k| KINDS.iter().find(|x| x.name == k));
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('`'))
            .and_then(|rest| rest.split_once('`'))
            .map(|(f, _)| f.to_string())
    };
    let kinds = KINDS
        .iter()
        .map(|k| format!("\"{}\"", k.name))
        .collect::<Vec<_>>()
        .join(", ");
    let what = if let Some(unknown) = quoted("unknown field ") {
        let owner = KINDS.iter().find(|k| k.fields.contains(&unknown.as_str()));
        match (owner, kind) {
            (Some(owner), Some(kind)) => format!(
                "`{unknown}` belongs to kind = \"{}\", not \"{}\" — remove it or change kind",
                owner.name, kind.name
            ),
            _ => {
                let own = kind.map_or(&[][..], |k| k.fields);
                let known = COMMON.iter().chain(own).map(|f| f.to_string());
                match super::origin::closest(&unknown, known) {
                    Some(near) => format!("unknown field `{unknown}` — did you mean {near}?"),
                    None => format!(
                        "unknown field `{unknown}` — a handler takes {}{}",
                        COMMON.join(", "),
                        own.iter().map(|f| format!(", {f}")).collect::<String>()
                    ),
                }
            }
        }
    } else if let Some(missing) = quoted("missing field ") {
        // A field written with a typo is missing under its real name.
        let typo = entry.and_then(|e| e.as_table()).and_then(|t| {
            let mut strays = t.keys().filter(|k| {
                !COMMON.contains(&k.as_str())
                    && !KINDS.iter().any(|x| x.fields.contains(&k.as_str()))
            });
            strays
                .find(|k| super::origin::closest(k, std::iter::once(missing.clone())).is_some())
                .cloned()
        });
        match kind {
            _ if let Some(typo) = typo => {
                format!("unknown field `{typo}` — did you mean {missing}?")
            }
            _ if missing == "kind" => format!("has no kind — add kind = one of {kinds}"),
            Some(k) if k.fields.contains(&missing.as_str()) => {
                format!("kind = \"{}\" needs {missing}, e.g. {}", k.name, k.example)
            }
            _ => format!("needs {missing} — see outbox.toml for an example"),
        }
    } else if message.starts_with("unknown variant") && written("kind").is_some() && kind.is_none()
    {
        format!(
            "kind = {:?} is not a kind — use one of {kinds}",
            written("kind").unwrap_or_default()
        )
    } else {
        let at = if field.is_empty() {
            String::new()
        } else {
            format!("{field}: ")
        };
        format!(
            "{at}{} — see the [[handlers]] examples in outbox.toml",
            message.trim_end_matches('.')
        )
    };
    format!("handler {name}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<HandlerConfig, String> {
        let entry: toml::Value = toml::from_str(text).unwrap();
        HandlerConfig::deserialize(entry.clone()).map_err(|e| {
            let message = e.message().to_string();
            explain(Some(&entry), "", &message)
        })
    }

    #[test]
    fn each_kind_reads_its_own_fields_and_refuses_another_kinds() {
        let sql = read("name = 'a'\ntopics = ['x']\nkind = 'sql'\nstatement = 'SELECT 1'").unwrap();
        assert_eq!(sql.spec.kind(), "sql");
        assert_eq!(sql.timeout, Duration::from_secs(10));
        let e = read("name = 'a'\ntopics = ['x']\nkind = 'sql'\nstatement = 'S'\nurl = 'http://h'")
            .unwrap_err();
        assert_eq!(
            e,
            "handler \"a\": `url` belongs to kind = \"http\", not \"sql\" — remove it or change kind"
        );
        let e = read("name = 'h'\ntopics = ['x']\nkind = 'http'").unwrap_err();
        assert!(e.contains("kind = \"http\" needs url, e.g. url ="), "{e}");
        let e = read("name = 'h'\ntopics = ['x']\nkind = 'webhook'").unwrap_err();
        assert!(e.contains("kind = \"webhook\" is not a kind"), "{e}");
        let e = read("name = 'h'\ntopics = ['x']\nstatement = 'S'").unwrap_err();
        assert!(e.contains("has no kind"), "{e}");
        let e = read("name = 'h'\ntopicz = ['x']\nkind = 'sql'\nstatement = 'S'").unwrap_err();
        assert!(e.contains("did you mean topics?"), "{e}");
        let e =
            read("name = 'b'\ntopics = ['x']\nkind = 'builtin'\nbuiltin = 'resize'").unwrap_err();
        assert!(e.contains("inspect-upload"), "{e}");
    }

    #[test]
    fn a_spec_checks_its_own_values() {
        let blank = HandlerConfig::sql("a", &["x"], " ");
        assert!(
            blank
                .spec
                .check()
                .unwrap_err()
                .contains("needs a statement")
        );
        let ftp = HandlerConfig::http("h", &["x"], "ftp://u:hunter2@h/x");
        let e = ftp.spec.check().unwrap_err();
        assert!(e.contains("must be http:// or https://"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let none = HandlerConfig::exec("e", &["x"], &[]);
        assert!(none.spec.check().unwrap_err().contains("needs a command"));
        for b in Builtin::ALL {
            assert!(HandlerConfig::builtin(b).spec.check().is_ok());
        }
    }

    #[test]
    fn a_webhook_signature_needs_a_secret_of_its_scheme() {
        let http = |rest: &str| {
            read(&format!(
                "name = 'h'\ntopics = ['x']\nkind = 'http'\nurl = 'https://h/x'\n{rest}"
            ))
            .map(|h| match h.spec {
                HandlerSpec::Http(spec) => spec,
                _ => unreachable!(),
            })
        };
        let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let rotated = http(&format!(
            "signature = 'standard-webhooks'\nsecret = ['{key}', 'whsec_{}']",
            "A".repeat(32)
        ))
        .unwrap();
        assert_eq!(rotated.scheme(), Some(Signature::StandardWebhooks));
        assert_eq!(rotated.secret.as_ref().unwrap().all().len(), 2);
        assert_eq!(rotated.advice(), None);
        rotated.check_signing().unwrap();
        assert_eq!(standard_webhooks_key(key).unwrap().len(), 24);

        let legacy = http("secret = '0123456789abcdef'").unwrap();
        assert_eq!(legacy.scheme(), Some(Signature::Stripe));
        legacy.check_signing().unwrap();
        assert!(legacy.advice().unwrap().contains("standard-webhooks"));
        assert_eq!(http("").unwrap().scheme(), None);

        for (rest, says) in [
            ("signature = 'standard-webhooks'", "needs a secret"),
            (
                "signature = 'standard-webhooks'\nsecret = 'hunter2hunter2hunter2'",
                "whsec_",
            ),
            (
                "signature = 'standard-webhooks'\nsecret = 'whsec_!!!'",
                "not base64",
            ),
            (
                "signature = 'standard-webhooks'\nsecret = 'whsec_AAAA'",
                "3 bytes",
            ),
            ("signature = 'stripe'\nsecret = []", "empty list"),
            (
                "signature = 'stripe'\nsecret = ['0123456789abcdef', 'short']",
                "secret #2",
            ),
        ] {
            let e = http(rest).unwrap().check_signing().unwrap_err();
            assert!(
                e.contains(says) && e.contains("openssl rand"),
                "{rest}: {e}"
            );
            assert!(!e.contains("hunter2"), "{e}");
        }
        let e = http("signature = 'hmac'\nsecret = '0123456789abcdef'").unwrap_err();
        assert!(
            e.contains("standard-webhooks") && e.contains("stripe"),
            "{e}"
        );
        let e = http("secret = 3").unwrap_err();
        assert!(e.contains("list of them"), "{e}");
    }

    #[test]
    fn the_kinds_table_names_every_field_of_every_kind() {
        // Serialising one handler of each kind shows exactly the fields
        // KINDS lists for it (besides the common ones).
        let mut signed = HandlerConfig::http("h", &["x"], "https://h/x");
        if let HandlerSpec::Http(h) = &mut signed.spec {
            h.signature = Some(Signature::Stripe);
            h.secret = Some(Secrets::One(Secret::new("0123456789abcdef")));
        }
        for h in [
            HandlerConfig::sql("s", &["x"], "SELECT 1"),
            signed,
            HandlerConfig::exec("e", &["x"], &["/bin/true"]),
            HandlerConfig::inspect_upload(),
        ] {
            let table = toml::Table::try_from(&h).unwrap();
            let kind = KINDS.iter().find(|k| k.name == h.spec.kind()).unwrap();
            let mut own: Vec<&str> = table
                .keys()
                .map(String::as_str)
                .filter(|k| !COMMON.contains(k))
                .collect();
            own.sort_unstable();
            let mut listed = kind.fields.to_vec();
            listed.sort_unstable();
            assert_eq!(own, listed, "{}", kind.name);
        }
    }
}
