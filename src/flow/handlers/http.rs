//! `kind = "http"`: a webhook. The payload is POSTed as it arrived, with
//! `Idempotency-Key: <message id>` (the same on every redelivery), the
//! topic, the attempt, the trace context, the row's own headers (each as
//! `Outbox-Header-<name>`) and — when a secret is set — a signature by the
//! configured scheme ([`Signature`]): Standard Webhooks' `webhook-id`,
//! `webhook-timestamp` and `webhook-signature`, or Stripe's
//! `Stripe-Signature` (also as `Outbox-Signature`). At least once: a
//! receiver that saw the key before answers as it did then.
//!
//! 2xx: done. 408, 429 (after its `Retry-After`), 5xx, a time-out or a
//! connection error: retried later. Any other status: dead-lettered with the
//! status and the start of the body.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use sha2::Sha256;
use tokio::sync::Semaphore;

use super::handler::{Call, HandlerError, HandlerFuture, Limits, Message};
use crate::config::{HttpSpec, SecretUrl, Signature, standard_webhooks_key};

/// The prefix a row's own headers are forwarded under.
pub const HEADER_PREFIX: &str = "Outbox-Header-";

pub struct Webhook {
    url: SecretUrl,
    signer: Option<Signer>,
    client: reqwest::Client,
    timeout: Duration,
    permits: Arc<Semaphore>,
}

/// A scheme and its keys (several during a rotation: one signature each).
struct Signer {
    scheme: Signature,
    keys: Vec<Vec<u8>>,
}

impl Webhook {
    pub fn new(spec: &HttpSpec, limits: Limits) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            // A webhook that moved is a configuration to fix, not a GET to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("outboxctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let signer = match (spec.scheme(), &spec.secret) {
            (Some(scheme), Some(secrets)) => Some(Signer {
                scheme,
                keys: secrets
                    .all()
                    .iter()
                    .map(|s| match scheme {
                        Signature::StandardWebhooks => standard_webhooks_key(s.expose()),
                        Signature::Stripe => Ok(s.expose().as_bytes().to_vec()),
                    })
                    .collect::<Result<_, _>>()?,
            }),
            _ => None,
        };
        Ok(Self {
            url: spec.url.clone(),
            signer,
            client,
            timeout: limits.timeout,
            permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
        })
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Stripe's `t=<timestamp>,v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`,
/// one `v1` per key.
pub fn stripe_signature(keys: &[Vec<u8>], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let mut out = format!("t={t}");
    for key in keys {
        out.push_str(",v1=");
        out.push_str(&hex::encode(hmac(key, &[t.as_bytes(), b".", body])));
    }
    out
}

/// Standard Webhooks' `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
/// space-separated, one per key.
pub fn standard_signature(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    keys.iter()
        .map(|key| {
            let mac = hmac(key, &[id.as_bytes(), b".", t.as_bytes(), b".", body]);
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Signer {
    fn headers(&self, id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let now = chrono::Utc::now().timestamp();
        match self.scheme {
            Signature::StandardWebhooks => vec![
                ("webhook-id", id.to_string()),
                ("webhook-timestamp", now.to_string()),
                (
                    "webhook-signature",
                    standard_signature(&self.keys, id, now, body),
                ),
            ],
            Signature::Stripe => {
                let sig = stripe_signature(&self.keys, now, body);
                vec![("Stripe-Signature", sig.clone()), ("Outbox-Signature", sig)]
            }
        }
    }
}

/// Headers outboxctl, RabbitMQ or the saga engine set; the rest are the
/// row's own.
fn is_own(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !(n.starts_with("x-outbox-")
        || n.starts_with("x-saga-")
        || n.starts_with("x-death")
        || n.starts_with("x-first-death-")
        || n.starts_with("x-last-death-")
        || n == "x-delivery-count"
        || n == crate::model::headers::TRACEPARENT)
}

/// The row's own headers as HTTP headers under [`HEADER_PREFIX`]: text as
/// it is, other values as JSON. A name or value HTTP cannot carry is left
/// out, and so are hop-by-hop names, which proxies would act on.
pub fn forwarded(headers: &serde_json::Value) -> Vec<(HeaderName, HeaderValue)> {
    const HOP_BY_HOP: &[&str] = &[
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    ];
    let Some(map) = headers.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, _)| is_own(k) && !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()))
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some((
                HeaderName::try_from(format!("{HEADER_PREFIX}{k}")).ok()?,
                HeaderValue::try_from(text).ok()?,
            ))
        })
        .collect()
}

impl Call for Webhook {
    fn call<'a>(&'a self, m: &'a Message) -> HandlerFuture<'a> {
        Box::pin(async move {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|_| HandlerError::Retry("the handler is shutting down".into()))?;
            let mut request = self
                .client
                .post(self.url.expose())
                .header(CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", m.message_id.to_string())
                .header("Outbox-Message-Id", m.message_id.to_string())
                .header("Outbox-Topic", &m.topic)
                .header("Outbox-Attempt", m.attempt.to_string())
                .body(m.body.clone());
            if let Some(tp) = &m.traceparent {
                request = request.header("traceparent", tp);
            }
            if let Some(key) = &m.partition_key {
                request = request.header("Outbox-Partition-Key", key);
            }
            for (name, value) in forwarded(&m.headers) {
                request = request.header(name, value);
            }
            if let Some(signer) = &self.signer {
                for (name, value) in signer.headers(&m.message_id.to_string(), &m.body) {
                    request = request.header(name, value);
                }
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => {
                    return Err(HandlerError::Retry(format!(
                        "no answer from {} within {}",
                        self.url,
                        humantime::format_duration(self.timeout)
                    )));
                }
                Err(e) => {
                    return Err(HandlerError::Retry(format!(
                        "cannot reach {}: {}",
                        self.url,
                        crate::secret::scrub(&error_chain(&e))
                    )));
                }
            };
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            verdict(status, retry_after, &body)
        })
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// What an answer means for the message.
fn verdict(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<super::handler::Done, HandlerError> {
    if status.is_success() {
        return Ok(super::handler::Done {
            output: serde_json::from_slice(body).ok(),
            ..super::handler::Done::default()
        });
    }
    let reason = format!("HTTP {status}: {}", start_of(body));
    match status.as_u16() {
        408 | 429 | 500..=599 => Err(match retry_after {
            Some(after) => HandlerError::RetryAfter(reason, after),
            None => HandlerError::Retry(reason),
        }),
        _ => Err(HandlerError::Reject(reason)),
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

/// The first 200 characters of a body, on one line.
fn start_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push('…');
    }
    if out.is_empty() {
        "(empty body)".into()
    } else {
        out
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_done_retry_or_dead_letter() {
        assert!(
            verdict(StatusCode::OK, None, b"{\"ok\": true}")
                .unwrap()
                .output
                .is_some()
        );
        assert!(
            verdict(StatusCode::NO_CONTENT, None, b"")
                .unwrap()
                .output
                .is_none()
        );
        for retry in [408, 429, 500, 503] {
            let s = StatusCode::from_u16(retry).unwrap();
            assert!(
                matches!(verdict(s, None, b"busy"), Err(HandlerError::Retry(_))),
                "{retry}"
            );
        }
        let after = verdict(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
            b"",
        );
        assert!(
            matches!(after, Err(HandlerError::RetryAfter(_, d)) if d == Duration::from_secs(3))
        );
        let e = verdict(StatusCode::BAD_REQUEST, None, b"field amount is missing").unwrap_err();
        assert!(
            matches!(&e, HandlerError::Reject(r) if r.contains("400") && r.contains("amount is missing")),
            "{e}"
        );
        assert!(matches!(
            verdict(StatusCode::MOVED_PERMANENTLY, None, b""),
            Err(HandlerError::Reject(_))
        ));
    }

    #[test]
    fn the_stripe_signature_is_hmac_sha256_over_timestamp_and_body() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
        let key = b"whsec_0123456789abcdef".to_vec();
        let one = "v1=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2";
        assert_eq!(
            stripe_signature(std::slice::from_ref(&key), 1_700_000_000, b"{\"a\":1}"),
            format!("t=1700000000,{one}")
        );
        let two = stripe_signature(&[key.clone(), key], 1_700_000_000, b"{\"a\":1}");
        assert_eq!(two, format!("t=1700000000,{one},{one}"));
    }

    #[test]
    fn the_standard_signature_matches_the_specifications_example() {
        // The example of standard-webhooks' own test suite (python/tests).
        let key = standard_webhooks_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = standard_signature(
            &[key.clone(), key],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        let one = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(sig, format!("{one} {one}"));
    }

    #[test]
    fn a_rows_own_headers_are_forwarded_under_the_prefix() {
        let headers = serde_json::json!({
            "tenant": "acme",
            "priority": 3,
            "connection": "close",
            "bad name": "x",
            "x-outbox-id": 7,
            "x-saga-id": "s",
            "traceparent": "00-a-b-01",
            "x-death": [],
            "x-delivery-count": 2,
            "newline": "a\nb",
        });
        let mut got: Vec<(String, String)> = forwarded(&headers)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("outbox-header-priority".to_string(), "3".to_string()),
                ("outbox-header-tenant".to_string(), "acme".to_string()),
            ]
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        h.insert(RETRY_AFTER, later.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
    }
}
