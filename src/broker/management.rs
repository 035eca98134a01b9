//! The RabbitMQ management HTTP API, for what AMQP does not tell: how many
//! messages are delivered but not yet acknowledged.

use std::time::Duration;

use serde::Deserialize;

use crate::config::{BrokerConfig, SecretUrl};

/// A queue's message counts as the management API reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct QueueCounts {
    #[serde(rename = "messages_ready", default)]
    pub ready: u64,
    #[serde(rename = "messages_unacknowledged", default)]
    pub unacked: u64,
    #[serde(default)]
    pub consumers: u64,
}

/// The management API's base URL: `broker.management_url`, else the broker's
/// host on port 15672 with the broker URL's credentials.
pub fn base_url(cfg: &BrokerConfig) -> Option<SecretUrl> {
    if let Some(u) = &cfg.management_url {
        return Some(u.clone());
    }
    let amqp = cfg.url.parsed().ok()?;
    let scheme = if amqp.scheme() == "amqps" {
        "https"
    } else {
        "http"
    };
    let mut url = url::Url::parse(&format!("{scheme}://{}:15672/", amqp.host_str()?)).ok()?;
    let user = if amqp.username().is_empty() {
        "guest"
    } else {
        amqp.username()
    };
    url.set_username(user).ok()?;
    url.set_password(Some(amqp.password().unwrap_or("guest")))
        .ok()?;
    Some(SecretUrl::new(url.to_string()))
}

/// The vhost of the broker URL (`/` when the path is empty or `%2f`).
pub fn vhost(cfg: &BrokerConfig) -> String {
    let path = cfg
        .url
        .parsed()
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let raw = path.strip_prefix('/').unwrap_or(&path);
    if raw.is_empty() {
        "/".into()
    } else {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    }
}

/// The broker's version, from the management API's overview.
pub async fn server_version(cfg: &BrokerConfig) -> Option<String> {
    #[derive(Deserialize)]
    struct Overview {
        rabbitmq_version: String,
    }
    let o: Overview = get_json(cfg, "/api/overview").await.ok()?;
    Some(format!("RabbitMQ {}", o.rabbitmq_version))
}

/// A path segment of the management API, percent-encoded.
fn enc(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Counts of `queue`, or why they are unknown.
pub async fn queue_counts(cfg: &BrokerConfig, queue: &str) -> Result<QueueCounts, String> {
    get_json(
        cfg,
        &format!("/api/queues/{}/{}", enc(&vhost(cfg)), enc(queue)),
    )
    .await
}

/// The routing keys `queue` is bound to `exchange` with, or why they are
/// unknown (AMQP cannot list bindings; the management API can).
pub async fn bindings(
    cfg: &BrokerConfig,
    exchange: &str,
    queue: &str,
) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Binding {
        routing_key: String,
    }
    let found: Vec<Binding> = get_json(
        cfg,
        &format!(
            "/api/bindings/{}/e/{}/q/{}",
            enc(&vhost(cfg)),
            enc(exchange),
            enc(queue)
        ),
    )
    .await?;
    Ok(found.into_iter().map(|b| b.routing_key).collect())
}

/// The resource alarms of each node that has one: (node, `memory`/`disk`).
/// While any is raised, RabbitMQ blocks every publishing connection.
pub async fn alarms(cfg: &BrokerConfig) -> Result<Vec<(String, &'static str)>, String> {
    #[derive(Deserialize)]
    struct Node {
        name: String,
        #[serde(default)]
        mem_alarm: bool,
        #[serde(default)]
        disk_free_alarm: bool,
    }
    let nodes: Vec<Node> =
        get_json(cfg, "/api/nodes?columns=name,mem_alarm,disk_free_alarm").await?;
    Ok(nodes
        .into_iter()
        .flat_map(|n| {
            let mut out = Vec::new();
            if n.mem_alarm {
                out.push((n.name.clone(), "memory"));
            }
            if n.disk_free_alarm {
                out.push((n.name.clone(), "disk"));
            }
            out
        })
        .collect())
}

/// A node's memory and disk against the limits that raise an alarm.
#[derive(Debug, Clone, Deserialize)]
pub struct Headroom {
    pub name: String,
    #[serde(default)]
    pub mem_used: u64,
    #[serde(default)]
    pub mem_limit: u64,
    #[serde(default)]
    pub disk_free: u64,
    #[serde(default)]
    pub disk_free_limit: u64,
}

pub async fn headroom(cfg: &BrokerConfig) -> Result<Vec<Headroom>, String> {
    get_json(
        cfg,
        "/api/nodes?columns=name,mem_used,mem_limit,disk_free,disk_free_limit",
    )
    .await
}

/// Connections the broker blocks or is about to (`blocked`, `blocking`):
/// (connection name as the client gave it, or its address; state).
pub async fn blocked_connections(cfg: &BrokerConfig) -> Result<Vec<(String, String)>, String> {
    #[derive(Deserialize)]
    struct Connection {
        name: String,
        #[serde(default)]
        state: String,
        #[serde(default)]
        client_properties: serde_json::Value,
    }
    let all: Vec<Connection> =
        get_json(cfg, "/api/connections?columns=name,state,client_properties").await?;
    Ok(all
        .into_iter()
        .filter(|c| matches!(c.state.as_str(), "blocked" | "blocking"))
        .map(|c| {
            let name = c.client_properties["connection_name"]
                .as_str()
                .map_or(c.name.clone(), str::to_string);
            (name, c.state)
        })
        .collect())
}

/// The names of the vhost's queues.
pub async fn queue_names(cfg: &BrokerConfig) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    let all: Vec<Named> = get_json(
        cfg,
        &format!("/api/queues/{}?columns=name", enc(&vhost(cfg))),
    )
    .await?;
    Ok(all.into_iter().map(|q| q.name).collect())
}

/// What the management API knows of a queue beyond its counts: its
/// arguments and the policy in force.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueInfo {
    #[serde(default)]
    pub messages: u64,
    #[serde(default)]
    pub consumers: u64,
    #[serde(default)]
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// The policy applied, if any.
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub effective_policy_definition: serde_json::Value,
    /// `quorum`, `classic`, `stream`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `running`, …; absent until the queue's first statistics round, and
    /// so are its policy and counts.
    #[serde(default)]
    pub state: Option<String>,
    /// A quorum queue's members, and those of them online.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub online: Vec<String>,
}

impl QueueInfo {
    /// A limit or setting by its policy key (`max-length`), from the queue's
    /// arguments (`x-max-length`) or the policy in force; the lower number
    /// when both set one (RabbitMQ applies the stricter).
    pub fn setting(&self, key: &str) -> Option<serde_json::Value> {
        let arg = self.arguments.get(&format!("x-{key}")).cloned();
        let pol = self.effective_policy_definition.get(key).cloned();
        match (arg, pol) {
            (Some(a), Some(p)) => match (a.as_f64(), p.as_f64()) {
                (Some(x), Some(y)) => Some(if x <= y { a } else { p }),
                _ => Some(a),
            },
            (a, p) => a.or(p),
        }
    }
}

impl QueueInfo {
    /// Where a setting comes from: the queue's argument, or the policy.
    pub fn source(&self, key: &str) -> String {
        match (
            &self.policy,
            self.arguments.contains_key(&format!("x-{key}")),
        ) {
            (_, true) => format!("queue argument x-{key}"),
            (Some(p), false) => format!("policy {p}"),
            (None, false) => "policy".to_string(),
        }
    }
}

/// A setting of a queue that discards messages the publisher was already
/// told are safe.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LossRisk {
    pub queue: String,
    /// The setting and where it comes from, e.g. `max-length 100 with
    /// overflow drop-head (policy cap)`.
    pub setting: String,
    /// What it does to messages.
    pub means: String,
    pub fix: String,
}

/// The settings of `queue` that lose messages: a length limit that drops
/// (any overflow but `reject-publish`), a `message-ttl` (except on a retry
/// queue, whose TTL is how its messages return), an `expires`.
pub fn loss_risks(queue: &str, retry: bool, info: &QueueInfo) -> Vec<LossRisk> {
    let mut out = Vec::new();
    let overflow = info
        .setting("overflow")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "drop-head".into());
    for key in ["max-length", "max-length-bytes"] {
        let Some(limit) = info.setting(key).and_then(|v| v.as_u64()) else {
            continue;
        };
        if overflow != "reject-publish" {
            out.push(LossRisk {
                queue: queue.to_string(),
                setting: format!(
                    "{key} {limit} with overflow {overflow} ({})",
                    info.source(key)
                ),
                means: "once a backlog reaches it, RabbitMQ discards messages the publisher was \
                        told are safe"
                    .into(),
                fix: format!(
                    "remove the limit from {queue}, or set overflow = reject-publish so a full \
                     queue refuses new messages instead (the relay retries them)"
                ),
            });
        }
    }
    let expiring = [
        (
            "message-ttl",
            "a message waiting longer leaves the queue unprocessed",
        ),
        (
            "expires",
            "the queue, and what it holds, is deleted when unused that long",
        ),
    ];
    for (key, means) in expiring {
        let Some(ms) = info.setting(key) else {
            continue;
        };
        if key == "message-ttl" && retry {
            continue;
        }
        out.push(LossRisk {
            queue: queue.to_string(),
            setting: format!("{key} {ms} ms ({})", info.source(key)),
            means: means.into(),
            fix: format!("remove {key} from {queue}"),
        });
    }
    out
}

/// `queue`'s arguments, policy and counts, or why they are unknown
/// (`Ok(None)`: no such queue).
pub async fn queue_info(cfg: &BrokerConfig, queue: &str) -> Result<Option<QueueInfo>, String> {
    let path = format!("/api/queues/{}/{}", enc(&vhost(cfg)), enc(queue));
    match get_json(cfg, &path).await {
        Ok(info) => Ok(Some(info)),
        Err(e) if e.ends_with("answered 404 Not Found") => Ok(None),
        Err(e) => Err(e),
    }
}

/// GET `path` from the management API with the configured credentials.
async fn get_json<T: serde::de::DeserializeOwned>(
    cfg: &BrokerConfig,
    path: &str,
) -> Result<T, String> {
    let base = base_url(cfg).ok_or("no management URL could be derived from broker.url")?;
    let parsed = base.parsed().map_err(|e| e.to_string())?;
    let mut url = parsed.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let endpoint = format!("{}{path}", url.as_str().trim_end_matches('/'));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .get(&endpoint)
        .basic_auth(decode(parsed.username()), parsed.password().map(decode))
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_connect() {
                "cannot connect".to_string()
            } else if e.is_timeout() {
                "no answer in 3s".to_string()
            } else {
                e.without_url().to_string()
            };
            format!(
                "management API at {base} unreachable ({why}); enable the rabbitmq_management \
                 plugin or set broker.management_url"
            )
        })?;
    if !response.status().is_success() {
        return Err(format!(
            "management API at {base} answered {}",
            response.status()
        ));
    }
    response
        .json()
        .await
        .map_err(|e| format!("management API answer not understood: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_management_url_from_the_broker_url() {
        let mut cfg = BrokerConfig {
            url: SecretUrl::new("amqp://app:s%40cret@mq.internal:5672/prod"),
            ..BrokerConfig::default()
        };
        assert_eq!(
            base_url(&cfg).unwrap().expose(),
            "http://app:s%40cret@mq.internal:15672/"
        );
        assert_eq!(vhost(&cfg), "prod");
        cfg.url = SecretUrl::new("amqps://mq/%2f");
        assert_eq!(
            base_url(&cfg).unwrap().expose(),
            "https://guest:guest@mq:15672/"
        );
        assert_eq!(vhost(&cfg), "/");
    }
}
