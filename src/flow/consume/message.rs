//! A delivery as handlers see it, and the reply a saga command gets.

use serde_json::Value;

use crate::broker::Delivery;
use crate::broker::consume::headers;
use crate::flow::handlers::Message;
use crate::model::saga;
use crate::model::{MessageId, headers as outbox_headers};
use crate::store::{self, StoreError};

/// The saga a delivery's headers name, if they name one.
pub(super) fn saga_of(d: &Delivery) -> Option<saga::Ref> {
    Some(saga::Ref {
        saga_id: d.header_str(saga::ID)?.parse().ok()?,
        saga: d.header_str(saga::NAME)?,
        step: d.header_str(saga::STEP)?,
        phase: saga::Phase::parse(&d.header_str(saga::PHASE)?)?,
        attempt: u32::try_from(d.header_i64(saga::ATTEMPT)?).ok()?,
        reply_to: d.header_str(saga::REPLY_TO)?,
    })
}

/// The reply to the saga of `m`, if `m` is a saga's command: for the
/// transaction that records `m` to write.
pub(super) fn reply(
    m: &Message,
    result: Result<Option<serde_json::Value>, String>,
) -> Option<saga::Outgoing> {
    m.saga.as_ref().map(|s| reply_to(s, result))
}

/// Answer saga command `s` in the caller's transaction.
pub(super) async fn write_reply(
    tx: &mut sqlx::PgConnection,
    s: &saga::Ref,
    result: Result<Option<serde_json::Value>, String>,
) -> Result<(), StoreError> {
    store::saga::send(tx, &[reply_to(s, result)]).await
}

fn reply_to(s: &saga::Ref, result: Result<Option<serde_json::Value>, String>) -> saga::Outgoing {
    let (ok, output, reason) = match result {
        Ok(output) => (true, output, None),
        Err(reason) => (false, None, Some(reason)),
    };
    let reply = saga::Reply {
        saga_id: s.saga_id,
        step: s.step.clone(),
        phase: s.phase,
        attempt: s.attempt,
        ok,
        output,
        reason,
    };
    saga::Outgoing {
        message_id: uuid::Uuid::now_v7(),
        topic: s.reply_to.clone(),
        partition_key: Some(s.saga_id.to_string()),
        payload: serde_json::to_value(&reply).expect("a reply serializes"),
        headers: serde_json::json!({}),
        available_at: None,
    }
}

/// Attempt number of a delivery: 1, or what our retry header says. Only a
/// handler's own failure moves it on; a redelivery after a crash or a lost
/// connection is the same attempt again.
pub(super) fn attempt_of(d: &Delivery) -> u32 {
    let n = d.header_i64(headers::ATTEMPT).unwrap_or(1).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn decode(d: &Delivery, attempt: u32) -> Result<Message, String> {
    let raw_id = d.message_id().ok_or("no message-id property")?;
    let message_id = raw_id
        .parse::<MessageId>()
        .map_err(|_| format!("message-id {raw_id:?} is not a UUID"))?;
    let payload: Value =
        serde_json::from_slice(&d.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let topic = d.message_type().unwrap_or(&d.routing_key).to_string();
    if topic.is_empty() {
        return Err("no topic (type property or routing key)".into());
    }
    Ok(Message {
        message_id,
        topic,
        payload,
        body: d.body.clone(),
        headers: d.headers_json(),
        saga: saga_of(d),
        attempt,
        redelivered: d.redelivered,
        partition_key: d.header_str(outbox_headers::PARTITION_KEY),
        traceparent: d
            .header_str(outbox_headers::TRACEPARENT)
            .filter(|t| crate::telemetry::TraceContext::parse(t).is_some()),
        created_at_ms: d.header_i64(outbox_headers::CREATED_AT_MS),
    })
}
