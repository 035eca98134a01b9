//! `kind = "http"`: a webhook. The payload is POSTed as it arrived, with
//! `Idempotency-Key: <message id>` (the same on every redelivery), the
//! topic, the attempt and the trace context, and — when a secret is set —
//! `Outbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
//! the scheme webhook receivers already verify. At least once: a receiver
//! that saw the key before answers as it did then.
//!
//! 2xx: done. 408, 429 (after its `Retry-After`), 5xx, a time-out or a
//! connection error: retried later. Any other status: dead-lettered with the
//! status and the start of the body.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use sha2::Sha256;
use tokio::sync::Semaphore;

use super::handler::{Call, HandlerError, HandlerFuture, Limits, Message};
use crate::config::{HttpSpec, Secret, SecretUrl};

pub const SIGNATURE_HEADER: &str = "Outbox-Signature";

pub struct Webhook {
    url: SecretUrl,
    secret: Option<Secret>,
    client: reqwest::Client,
    timeout: Duration,
    permits: Arc<Semaphore>,
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
        Ok(Self {
            url: spec.url.clone(),
            secret: spec.secret.clone(),
            client,
            timeout: limits.timeout,
            permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
        })
    }
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
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
            if let Some(secret) = &self.secret {
                let now = chrono::Utc::now().timestamp();
                request = request.header(
                    SIGNATURE_HEADER,
                    signature(secret.expose().as_bytes(), now, &m.body),
                );
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
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
        assert_eq!(
            signature(b"whsec_0123456789abcdef", 1_700_000_000, b"{\"a\":1}"),
            "t=1700000000,v1=9f5e37cdc7ea587c7c02062d93283cad000d66a831b2a1676418696db47ed6c2"
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
