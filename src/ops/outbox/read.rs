//! Reading rows: `outbox ls` (every row, with why a pending one waits),
//! `show` (one row in full, its consumers and audit) and `why` (one
//! paragraph on where a row stands and what to do). `explain` is the public
//! surface `top` uses.

use std::collections::HashMap;

use chrono::Utc;
use serde::Serialize;
use sqlx::PgPool;

use super::select::gone;
use crate::cli::{LsArgs, Output};
use crate::config::Config;
use crate::model::{EventState, OutboxRow, OutboxStatus, RowRef};
use crate::ops::fenced;
use crate::ops::reasons::{self, Failure};
use crate::ops::{Outcome, connect, cut_short, empty};
use crate::output::{self, age, cut, when};
use crate::store::inbox;
use crate::store::outbox::{self, ListFilter};

/// Where a pending row stands in detail, for `ls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// Goes out with the next batch.
    Due,
    /// A relayer has it in a batch now.
    InFlight,
    /// Waits out a backoff after a failed attempt.
    Retrying,
    /// `available_at` is in the future and it never failed.
    Scheduled,
    /// An older pending row of its key goes first.
    Held,
}

/// A row as `outbox ls` shows it.
#[derive(Debug, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub row: EventState,
    /// For pending rows: due, in_flight, retrying, scheduled or held.
    pub state: Option<Waiting>,
    /// For held rows: the older row of the key that goes first.
    pub held_by: Option<i64>,
}

impl Listed {
    /// The status column: `sent`, `dead`, or the pending row's detail.
    fn status_text(&self) -> String {
        let now = Utc::now();
        match self.state {
            None => self.row.status.to_string(),
            Some(Waiting::Due) => "due".into(),
            Some(Waiting::InFlight) => "in flight".into(),
            Some(Waiting::Retrying) => {
                format!("retry in {}", age(self.row.available_at - now))
            }
            Some(Waiting::Scheduled) => format!("sched. in {}", age(self.row.available_at - now)),
            Some(Waiting::Held) => format!("held by {}", self.held_by.unwrap_or_default()),
        }
    }
}

pub async fn ls(config: &Config, args: &LsArgs) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let status = if args.pending {
        Some(OutboxStatus::Pending)
    } else if args.sent {
        Some(OutboxStatus::Sent)
    } else if args.dead {
        Some(OutboxStatus::Dead)
    } else {
        None
    };
    let filter = ListFilter {
        status,
        topic: args.topic.clone(),
        key: args.key.clone(),
        since: args.since,
        until: args.until,
        limit: Some(args.limit),
        oldest_first: args.oldest_first,
        ..ListFilter::default()
    };
    if args.by.is_some() {
        return by_reason(&pool, filter, args.output.output).await;
    }
    let rows = outbox::list(&pool, &filter).await?;
    // A listing cut short says so, and by how much (counted up to 100,000).
    let more = if rows.len() as u32 == args.limit {
        outbox::count_beyond(&pool, &filter, args.limit, 100_000).await?
    } else {
        0
    };
    let pending: Vec<i64> = rows
        .iter()
        .filter(|r| r.status == OutboxStatus::Pending)
        .map(|r| r.id)
        .collect();
    let details = if pending.is_empty() {
        HashMap::new()
    } else {
        outbox::pending_details(&pool, &pending).await?
    };
    let now = Utc::now();
    let listed: Vec<Listed> = rows
        .into_iter()
        .map(|row| {
            let (held_by, in_flight) = details.get(&row.id).copied().unwrap_or((None, false));
            let state = (row.status == OutboxStatus::Pending).then(|| {
                if in_flight {
                    Waiting::InFlight
                } else if row.available_at > now && row.attempts > 0 {
                    Waiting::Retrying
                } else if row.available_at > now {
                    Waiting::Scheduled
                } else if held_by.is_some() {
                    Waiting::Held
                } else {
                    Waiting::Due
                }
            });
            Listed {
                held_by: held_by.filter(|_| state == Some(Waiting::Held)),
                row,
                state,
            }
        })
        .collect();
    if listed.is_empty() {
        return empty(args.output.output, "no outbox rows match");
    }
    match args.output.output {
        Output::Json => {
            for r in &listed {
                output::json_line(r)?;
            }
        }
        Output::Table => print_rows(&listed)?,
    }
    cut_short(listed.len(), "rows", more, "--topic, --key, --since");
    Ok(Outcome::Success)
}

/// `outbox ls --dead --by reason`: every dead row matching the filter (its
/// limit aside), one line per cause.
async fn by_reason(pool: &PgPool, filter: ListFilter, format: Output) -> anyhow::Result<Outcome> {
    let rows = outbox::list(
        pool,
        &ListFilter {
            limit: None,
            oldest_first: true,
            ..filter
        },
    )
    .await?;
    let failures: Vec<Failure> = rows
        .iter()
        .map(|r| Failure {
            reason: r
                .last_error
                .clone()
                .unwrap_or_else(|| "(no error recorded)".into()),
            place: r.topic.clone(),
            at: r.dead_at,
            id: r.id.to_string(),
        })
        .collect();
    let groups = reasons::group(&failures);
    if groups.is_empty() {
        return empty(format, "no dead rows match");
    }
    match format {
        Output::Json => {
            for g in &groups {
                output::json_line(g)?;
            }
        }
        Output::Table => {
            reasons::print(&groups, "topics", false)?;
            output::line(
                "`outboxctl outbox requeue ROW…` puts rows back once the cause is fixed; \
                `outboxctl outbox why ROW` tells one row's story",
            )?;
        }
    }
    Ok(Outcome::Success)
}

/// The rows as a table that fits the terminal: ids never wrap, the message
/// id column goes first when room is short, and the error gets what is left
/// (its start, cut with an ellipsis).
fn print_rows(rows: &[Listed]) -> anyhow::Result<()> {
    let now = Utc::now();
    let width = output::terminal_width();
    // Columns besides the error, at their widest here.
    let widest = |f: &dyn Fn(&Listed) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let id_w = widest(&|r| r.row.id.to_string().len()).max(2);
    let topic_w = widest(&|r| r.row.topic.chars().count()).clamp(5, 30);
    let key_w = widest(&|r| {
        r.row
            .partition_key
            .as_deref()
            .map_or(1, |k| k.chars().count())
    })
    .clamp(3, 24);
    let status_w = widest(&|r| r.status_text().len()).max(6);
    // Gaps of two between eight columns, attempts and age at most 8 each.
    let without_mid = id_w + topic_w + key_w + status_w + 8 + 8 + 2 * 7;
    let with_mid = without_mid + 36 + 2;
    let show_mid = width.is_none_or(|w| w >= with_mid + 30);
    let used = if show_mid { with_mid } else { without_mid };
    let room = width.map_or(usize::MAX, |w| w.saturating_sub(used + 2).max(12));
    let mut header = vec!["id"];
    if show_mid {
        header.push("message id");
    }
    header.extend(["topic", "key", "status", "att", "age", "last error"]);
    let mut t = output::table(&header);
    for r in rows {
        let mut cells = vec![comfy_table::Cell::new(r.row.id)];
        if show_mid {
            cells.push(comfy_table::Cell::new(r.row.message_id));
        }
        cells.extend([
            comfy_table::Cell::new(cut(&r.row.topic, topic_w)),
            comfy_table::Cell::new(cut(r.row.partition_key.as_deref().unwrap_or("-"), key_w)),
            output::status_cell(&r.status_text()),
            comfy_table::Cell::new(r.row.attempts),
            comfy_table::Cell::new(age(now - r.row.created_at)),
            comfy_table::Cell::new(
                r.row
                    .last_error
                    .as_deref()
                    .map_or("-".into(), |e| cut(e, room)),
            ),
        ]);
        t.add_row(cells);
    }
    if let Some(id) = t.column_mut(0) {
        id.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    output::print_table(&t)?;
    Ok(())
}

pub async fn show(config: &Config, row: RowRef, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return gone(&pool, row).await;
    };
    let consumed = inbox::history(&pool, r.state.message_id).await?;
    let dead_lettered = inbox::dead_lettered(&pool, r.state.message_id).await?;
    let audit = outbox::audit(&pool, r.state.id, r.state.message_id).await?;
    if format == Output::Json {
        let mut v = serde_json::to_value(&r)?;
        v["consumed"] = serde_json::to_value(&consumed)?;
        v["dead_lettered"] = serde_json::to_value(&dead_lettered)?;
        v["audit"] = serde_json::to_value(&audit)?;
        output::json_line(&v)?;
        return Ok(Outcome::Success);
    }
    let opt = |t: Option<chrono::DateTime<Utc>>| t.map_or("-".to_string(), when);
    let mut lines = vec![
        format!(
            "row {}  message {}  {}",
            r.state.id, r.state.message_id, r.state.status
        ),
        format!("topic          {}", r.state.topic),
        format!(
            "partition key  {}",
            r.state.partition_key.as_deref().unwrap_or("-")
        ),
        format!("attempts       {}", r.state.attempts),
        format!("created        {}", when(r.state.created_at)),
        format!("available      {}", when(r.state.available_at)),
        format!("sent           {}", opt(r.state.sent_at)),
        format!("dead           {}", opt(r.state.dead_at)),
        format!(
            "last error     {}",
            r.state.last_error.as_deref().unwrap_or("-")
        ),
        format!("traceparent    {}", r.traceparent.as_deref().unwrap_or("-")),
        format!("lane           {}", r.lane),
    ];
    if let Some(orig) = r.replay_of {
        lines.push(format!("replay of      row {orig}"));
    }
    if r.replay_count > 0 {
        lines.push(format!(
            "replayed       {} time(s), last {} by {}",
            r.replay_count,
            opt(r.replayed_at),
            r.replayed_by.as_deref().unwrap_or("?")
        ));
    }
    if let Some(at) = r.requeued_at {
        lines.push(format!(
            "requeued       {} by {}",
            when(at),
            r.requeued_by.as_deref().unwrap_or("?")
        ));
    }
    for a in &audit {
        lines.push(format!("{:<14} {} by {}", a.action, when(a.at), a.actor));
    }
    lines.push(format!("headers        {}", r.headers));
    lines.push("payload".into());
    for l in serde_json::to_string_pretty(&r.payload)?.lines() {
        lines.push(format!("  {l}"));
    }
    if consumed.is_empty() {
        lines.push("consumed by    nobody yet".into());
    } else {
        lines.push("consumed by".into());
        for c in &consumed {
            lines.push(format!(
                "  {}  {}  attempt {}{}  {:.1} ms  duplicates {}",
                c.consumer,
                when(c.committed_at),
                c.delivery_attempt,
                if c.redelivered { " (redelivered)" } else { "" },
                c.processing_ms,
                c.duplicates
            ));
        }
    }
    for d in &dead_lettered {
        lines.push(format!(
            "dead-lettered  by {} at {} after {} attempt(s): {}",
            d.consumer,
            when(d.dead_at),
            d.attempts,
            d.reason
        ));
    }
    for l in lines {
        output::line(l)?;
    }
    Ok(Outcome::Success)
}

/// `outbox why` as JSON.
#[derive(Debug, Serialize)]
struct Why {
    id: i64,
    message_id: String,
    status: OutboxStatus,
    explanation: String,
}

pub async fn why(config: &Config, row: RowRef, format: Output) -> anyhow::Result<Outcome> {
    let pool = connect(config).await?;
    let Some(r) = outbox::find(&pool, row).await? else {
        return gone(&pool, row).await;
    };
    let text = explain(config, &pool, &r).await?;
    if format == Output::Json {
        output::json_line(&Why {
            id: r.state.id,
            message_id: r.state.message_id.to_string(),
            status: r.state.status,
            explanation: text,
        })?;
    } else {
        output::line(text)?;
    }
    Ok(Outcome::Success)
}

/// Where a sent row went, as it happened: consumed, dead-lettered by a
/// consumer, its dead letter replayed, dropped or purged by an operator —
/// in time order, ending on what is true now and what to do.
async fn after_sending(
    pool: &PgPool,
    r: &OutboxRow,
    moved_on: Option<&str>,
) -> anyhow::Result<String> {
    let mid = r.state.message_id;
    let dead = inbox::dead_lettered(pool, mid).await?;
    let consumed = inbox::history(pool, mid).await?;
    let actions: Vec<outbox::AuditEntry> = outbox::audit(pool, r.state.id, mid)
        .await?
        .into_iter()
        .filter(|a| a.action.starts_with("dlq "))
        .collect();
    let fenced_at = crate::store::saga::fenced(pool, mid.0).await?;
    let mut story: Vec<(chrono::DateTime<Utc>, String)> = Vec::new();
    for (at, consumer) in &fenced_at {
        story.push((
            *at,
            format!(
                "Consumer {consumer} fenced a delivery of it as stale {}: its saga no longer \
                 waited for it, so its effect did not run.",
                when(*at)
            ),
        ));
    }
    for c in &consumed {
        story.push((
            c.committed_at,
            format!(
                "Consumer {} processed it {} (delivery attempt {}).",
                c.consumer,
                when(c.committed_at),
                c.delivery_attempt
            ),
        ));
    }
    // In several dead-letter queues, the id alone does not say which.
    let name = |queue: &str| {
        if dead.len() > 1 {
            format!("{queue}/{mid}")
        } else {
            mid.to_string()
        }
    };
    for d in &dead {
        // Sending back a command its saga has moved past would have its
        // effect after the saga decided otherwise.
        let advice = match moved_on {
            Some(why) => format!(
                "Do not send it back: {why}, and its effect must not happen now — `outboxctl \
                 dlq drop {}` removes it",
                name(&d.queue)
            ),
            None => format!(
                "Fix the cause, then `outboxctl dlq replay {}` sends it back",
                name(&d.queue)
            ),
        };
        story.push((
            d.dead_at,
            format!(
                "Consumer {} gave up on it {} after {} attempt(s) and put it in the dead-letter \
                 queue of {}: {}. {advice} (`outboxctl dlq show {}` shows it in full).",
                d.consumer,
                when(d.dead_at),
                d.attempts,
                d.queue,
                d.reason,
                name(&d.queue)
            ),
        ));
    }
    for a in &actions {
        let dlq = a.detail["dead_letter_queue"]
            .as_str()
            .unwrap_or("its dead-letter queue");
        let did = match a.action.as_str() {
            "dlq replay" => format!(
                "replayed it from {dlq} to {}",
                a.detail["queue"].as_str().unwrap_or("its queue")
            ),
            "dlq drop" => format!("dropped its dead letter from {dlq} for good"),
            _ => format!("purged {dlq}, its dead letter with it"),
        };
        story.push((a.at, format!("Operator {} {did} {}.", a.actor, when(a.at))));
    }
    story.sort_by_key(|(at, _)| *at);
    let mut parts: Vec<String> = story.into_iter().map(|(_, s)| s).collect();
    let last_action = actions.last();
    let consumed_after = |t: chrono::DateTime<Utc>| consumed.iter().any(|c| c.committed_at > t);
    match last_action {
        Some(a) if a.action != "dlq replay" && dead.is_empty() && !consumed_after(a.at) => {
            parts.push(format!(
                "No consumer has it now: its dead letter is gone. If it should still happen, \
                 `outboxctl outbox replay {}` publishes it again.",
                r.state.id
            ));
        }
        Some(a) if a.action == "dlq replay" && dead.is_empty() && !consumed_after(a.at) => {
            parts.push(
                "No consumer has recorded it since: it waits in its queue, or no consumer runs \
                 (`outboxctl status` tells)."
                    .into(),
            );
        }
        _ if parts.is_empty() => parts.push(
            "No consumer has recorded it yet: it waits in its queue, or no consumer runs \
             (`outboxctl status` tells)."
                .into(),
        ),
        _ => {}
    }
    if let (Some(why), true) = (moved_on, dead.is_empty()) {
        parts.push(format!(
            "Do not send it again: {why}, and its effect must not happen now (`outbox replay` \
             refuses it without --force)."
        ));
    }
    if !consumed.is_empty() {
        parts.push(format!(
            "`outboxctl outbox show {}` lists every consumer that has it.",
            r.state.id
        ));
    }
    Ok(parts.join(" "))
}

/// Where row `id` stands and why, in one paragraph (for `top`).
pub async fn why_row(config: &Config, pool: &PgPool, id: i64) -> anyhow::Result<String> {
    Ok(match outbox::find(pool, RowRef::Id(id)).await? {
        Some(r) => explain(config, pool, &r).await?,
        None => format!("Row {id} is gone (sent and purged, or discarded)."),
    })
}

/// One paragraph on where a row stands and why.
async fn explain(config: &Config, pool: &PgPool, r: &OutboxRow) -> anyhow::Result<String> {
    let name = format!("Row {} ({})", r.state.id, r.state.topic);
    // A saga command its saga has moved past must not have its effect now.
    let moved_on = match fenced::For::of_json(&r.headers) {
        Some(c) => fenced::moved_on(config, pool, &c).await?,
        None => None,
    };
    let text = match r.state.status {
        OutboxStatus::Sent => {
            let at = r.state.sent_at.map_or("-".into(), when);
            format!(
                "{name} went out at {at}: the broker confirmed it on attempt {}. {}",
                r.state.attempts,
                after_sending(pool, r, moved_on.as_deref()).await?
            )
        }
        OutboxStatus::Dead => format!(
            "{name} is dead since {} after {} attempts; the last error was: {}. It stays here until \
             you act: fix the cause, then `outboxctl outbox requeue {id}` (or fix its payload first \
             with `outboxctl outbox edit {id}`); if it should never go out, `outboxctl outbox \
             discard {id}`.",
            r.state.dead_at.map_or("-".into(), when),
            r.state.attempts,
            r.state.last_error.as_deref().unwrap_or("(none recorded)"),
            id = r.state.id
        ),
        OutboxStatus::Pending => {
            let state = &r.state;
            let own = pending_reason(pool, state, r.lane).await?;
            match (&own, r.state.partition_key.as_deref()) {
                (Pending::Due, Some(key)) => match outbox::blocker(pool, key, r.state.id).await? {
                    Some(b) => {
                        let theirs = pending_reason(pool, &b, r.lane).await?;
                        format!(
                            "{name} is held back by row {}, an older pending row of the same key {key:?}: \
                             rows of a key go out in id order. Row {} {}",
                            b.id,
                            b.id,
                            theirs.sentence(pool, &b).await?
                        )
                    }
                    None => format!("{name} {}", own.sentence(pool, state).await?),
                },
                _ => format!("{name} {}", own.sentence(pool, state).await?),
            }
        }
    };
    Ok(match moved_on {
        Some(why) if r.state.status != OutboxStatus::Sent => format!(
            "{text} Careful: {why}. Its effect must not happen now: consumers fence it as \
             stale, and `outbox requeue`, `retry` and `replay` refuse it without --force."
        ),
        _ => text,
    })
}

/// Why a pending row is where it is, on its own (without its key).
enum Pending {
    Claimed(Option<outbox::LaneHolder>),
    Backoff,
    Scheduled,
    Due,
}

async fn pending_reason(pool: &PgPool, r: &EventState, lane: i16) -> anyhow::Result<Pending> {
    if outbox::is_claimed(pool, r.id).await? {
        return Ok(Pending::Claimed(outbox::lane_holder(pool, lane).await?));
    }
    if r.available_at > Utc::now() {
        return Ok(if r.attempts > 0 {
            Pending::Backoff
        } else {
            Pending::Scheduled
        });
    }
    Ok(Pending::Due)
}

impl Pending {
    async fn sentence(&self, pool: &PgPool, r: &EventState) -> anyhow::Result<String> {
        Ok(match self {
            Self::Claimed(holder) => {
                let who = holder.as_ref().map_or("a relayer".to_string(), |h| {
                    format!(
                        "a relayer (database session {}, {}{}) in a batch that started {}",
                        h.pid,
                        h.application_name,
                        h.client
                            .as_deref()
                            .map(|c| format!(" from {c}"))
                            .unwrap_or_default(),
                        h.batch_started.map_or("-".into(), when)
                    )
                });
                format!(
                    "is being published right now by {who}; it is marked sent when the broker confirms it."
                )
            }
            Self::Backoff => format!(
                "waits for its backoff until {}: attempt {} failed with: {}. It is tried again then, \
                 and becomes dead after relay.max_attempts attempts; once the cause is fixed, \
                 `outboxctl outbox retry {}` sends it now.",
                when(r.available_at),
                r.attempts,
                r.last_error.as_deref().unwrap_or("(no error recorded)"),
                r.id
            ),
            Self::Scheduled => format!(
                "is scheduled: its available_at is {}, and it does not go out before then.",
                when(r.available_at)
            ),
            Self::Due => {
                let relayers = outbox::relayers_connected(pool).await?;
                if relayers == 0 {
                    format!(
                        "has been due since {}, but no relayer is connected to the database: start \
                         `outboxctl relay` (or `outboxctl up`).",
                        when(r.available_at)
                    )
                } else {
                    format!(
                        "has been due since {} and {relayers} relayer session(s) are connected: it goes \
                         out with the next batch, within relay.interval at most. If it stays, look at \
                         the relay's log.",
                        when(r.available_at)
                    )
                }
            }
        })
    }
}
