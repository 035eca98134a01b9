//! Secrets: a password in a URL or an API token is never printed. [`Secret`]
//! and [`SecretUrl`] mask themselves in `Display`, `Debug` and `Serialize`;
//! every password the configuration holds is also registered, and whatever
//! goes to stderr passes through [`scrub`], so a driver error that echoes a
//! URL cannot leak one.
//!
//! Depends on nothing else in the crate.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

    /// The URL parsed; of a URL that lists several hosts, its first node.
    pub fn parsed(&self) -> Result<url::Url, url::ParseError> {
        match self.hosts() {
            Some(parts) if parts.hosts.contains(',') => url::Url::parse(&parts.node(0)),
            _ => url::Url::parse(&self.0),
        }
    }

    /// One URL per host of a URL that lists several, comma-separated, as
    /// libpq and RabbitMQ clients do (`amqp://u:p@h1:5672,h2:5672/%2f`): the
    /// same user, password, path and query on each. A plain URL is its own
    /// only node.
    pub fn nodes(&self) -> Vec<SecretUrl> {
        match self.hosts() {
            Some(parts) if parts.hosts.contains(',') => (0..parts.hosts.split(',').count())
                .map(|i| SecretUrl(parts.node(i)))
                .collect(),
            _ => vec![self.clone()],
        }
    }

    fn hosts(&self) -> Option<Parts<'_>> {
        let (scheme, rest) = self.0.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        Some(Parts {
            scheme,
            userinfo,
            hosts,
            tail,
        })
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
        if let Some(parts) = self.hosts()
            && parts.hosts.contains(',')
        {
            // The first node masked, with every host listed again.
            let first = SecretUrl(SecretUrl(parts.node(0)).masked());
            let Some(masked) = first.hosts() else {
                return mask_unparsed(&self.0);
            };
            return format!(
                "{}://{}{}{}",
                masked.scheme, masked.userinfo, parts.hosts, parts.tail
            );
        }
        match url::Url::parse(&self.0) {
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

/// A URL cut at its host list.
struct Parts<'a> {
    scheme: &'a str,
    /// `user:password@`, or empty.
    userinfo: &'a str,
    /// `host:port`, or several of them separated by commas.
    hosts: &'a str,
    /// The path, query and fragment.
    tail: &'a str,
}

impl Parts<'_> {
    fn node(&self, i: usize) -> String {
        let host = self.hosts.split(',').nth(i).unwrap_or_default().trim();
        format!("{}://{}{host}{}", self.scheme, self.userinfo, self.tail)
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

/// Passwords seen in the configuration.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_url_may_list_several_hosts() {
        let url = SecretUrl::new("amqp://app:s3cret@a:5681,b:5682, c:5683/%2f?heartbeat=5");
        let nodes: Vec<String> = url.nodes().iter().map(|n| n.expose().to_string()).collect();
        assert_eq!(
            nodes,
            [
                "amqp://app:s3cret@a:5681/%2f?heartbeat=5",
                "amqp://app:s3cret@b:5682/%2f?heartbeat=5",
                "amqp://app:s3cret@c:5683/%2f?heartbeat=5"
            ]
        );
        assert_eq!(
            url.masked(),
            "amqp://app:****@a:5681,b:5682, c:5683/%2f?heartbeat=5"
        );
        assert_eq!(url.passwords(), ["s3cret"]);
        assert_eq!(url.parsed().unwrap().host_str(), Some("a"));
        let one = SecretUrl::new("amqp://h/%2f");
        assert_eq!(one.nodes(), std::slice::from_ref(&one));
        assert_eq!(SecretUrl::new("amqp://h1,h2").nodes().len(), 2);
    }
}
